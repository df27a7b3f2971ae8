"""Property: whatever the consent states and link outcomes, no NPD data sits in a row without permission."""

from __future__ import annotations

import pandas as pd
from _worlddata import KEY, npd_frame, write_holdings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendlink.consent import permitted_ids
from sendlink.deidentify import LinkRule, dfe_side, researcher_file, survey_side

N = 8
IDS = [f"S{i:02d}" for i in range(N)]
UPNS = [f"U{i:02d}" for i in range(N)]
STATES = ["granted", "refused", "withdrawn", "no_answer", "not_asked"]

case = st.fixed_dictionaries({
    "may_parent": st.booleans(), "may_child": st.booleans(), "restricted": st.booleans(), "objected": st.booleans(),
    "erased": st.booleans(), "status": st.sampled_from(["matched", "clerical_review", "unmatched"]),
    "p": st.floats(0, 1), "parent_state": st.sampled_from(STATES), "child_state": st.sampled_from(STATES),
})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(case, min_size=N, max_size=N), loose=st.booleans())
def test_no_npd_data_without_permission(tmp_path_factory, cases, loose):
    folder = tmp_path_factory.getbasetemp() / "holdings"
    if not (folder / "sample.parquet").is_file():
        write_holdings(folder, {sid: (None,) * 7 + (True,) for sid in IDS})
    status = pd.DataFrame({
        "survey_id": IDS,
        "consent_parent_answers": [c["parent_state"] for c in cases], "consent_child_answers": [c["child_state"] for c in cases],
        "may_link_parent_answers": [c["may_parent"] for c in cases], "may_link_child_answers": [c["may_child"] for c in cases],
        "restricted": [c["restricted"] for c in cases], "objected": [c["objected"] for c in cases], "erased": [False] * N,
        "may_analyse": [not (c["restricted"] or c["objected"]) for c in cases],
    })
    status = status[[not c["erased"] for c in cases]]  # an erased case is missing from the status table
    links = pd.DataFrame({
        "survey_id": IDS, "upn": UPNS, "match_probability": [c["p"] for c in cases], "match_weight": 0.0,
        "link_status": [c["status"] for c in cases],
    })
    rule = LinkRule("loose", review_min_probability=0.5) if loose else LinkRule()
    dfe = dfe_side(links, permitted_ids(status, "linkage"), folder, KEY, 2022, rule, attributes=npd_frame(UPNS))
    survey = survey_side(status, folder, dfe.mapping, KEY)
    out = researcher_file(survey.answers, dfe.npd)
    out.index = survey.cases.to_numpy()
    by_id = {sid: c for sid, c in zip(IDS, cases, strict=True)}
    for sid, row in out.iterrows():
        c = by_id[sid]
        assert not c["erased"] and not c["restricted"] and not c["objected"], "a case that may not be analysed has a row"
        has_npd = pd.notna(row["npd_attainment8"])
        assert has_npd == bool(row["npd_linked"])
        if has_npd:
            assert c["may_parent"] or c["may_child"], "NPD data without any permission"
            assert c["status"] == "matched" or (loose and c["status"] == "clerical_review" and c["p"] >= 0.5)
            if not c["may_parent"]:
                assert pd.isna(row["p1_unmet_need"]) and row["parent_answers_withheld"]
            if not c["may_child"]:
                assert pd.isna(row["yp1_life_satisfaction"]) and row["child_answers_withheld"]
        else:
            assert not row["parent_answers_withheld"] and not row["child_answers_withheld"]
            assert row["p1_unmet_need"] == True  # noqa: E712  (kept, unlinked)

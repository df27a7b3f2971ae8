"""A small synthetic world: contracts, determinism, internal consistency."""

from __future__ import annotations

import filecmp
import json

import pandas as pd
import pytest

from sendlink.schema import catalogue, truth, validate
from sendlink.synth.generate import generate, write
from tests.conftest import small_synth_params

#: Every file of the synthetic world, keyed as the generator keys its tables, with its contract.
ALL_TABLES = {f.relative_to(catalogue.SYNTHETIC): f.contract for f in (*catalogue.NPD, *catalogue.SURVEY, *truth.FILES)}


def test_every_file_has_a_contract_and_meets_it(small_dataset):
    assert set(small_dataset.tables) == set(ALL_TABLES)
    for rel, frame in small_dataset.tables.items():
        validate(frame, ALL_TABLES[rel], rel)


def test_same_parameters_give_byte_identical_files(project_params, tmp_path):
    synth = small_synth_params(project_params, pupils=600)
    for name in ("a", "b"):
        write(generate(synth, 99, as_of=synth.consent.events_until), tmp_path / name)
    compared = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == len(ALL_TABLES) + 1
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert not compared.diff_files


def test_another_seed_gives_other_data(project_params):
    synth = small_synth_params(project_params, pupils=600)
    a = generate(synth, 1, as_of=synth.consent.events_until).tables["npd/spine.parquet"]
    b = generate(synth, 2, as_of=synth.consent.events_until).tables["npd/spine.parquet"]
    assert not a["forename"].equals(b["forename"])


def test_upns_are_well_formed_and_unique(small_dataset):
    spine = small_dataset.tables["npd/spine.parquet"]
    assert spine["upn"].is_unique
    assert spine["upn"].str.fullmatch(r"[A-HJ-NP-RT-Z]\d{12}").all()


def test_true_links_point_at_real_npd_records(small_dataset):
    t = small_dataset.tables
    links = t["truth/links.parquet"]
    spine_upns = set(t["npd/spine.parquet"]["upn"])
    in_npd = links[links["in_npd"]]
    assert in_npd["upn"].isin(spine_upns).all()
    assert links.loc[~links["in_npd"], "upn"].isna().all()
    # "A few percent of surveyed children are not in the NPD at all."
    assert 0 < (~links["in_npd"]).mean() < 0.1


def test_survey_files_agree_on_who_responded(small_dataset):
    t = small_dataset.tables
    sample = t["survey/sample.parquet"]
    responders = set(sample.loc[sample["w1_responded"], "survey_id"])
    assert set(t["survey/contacts.parquet"]["survey_id"]) == responders
    assert set(t["survey/parent_w1.parquet"]["survey_id"]) == responders
    assert set(t["survey/young_person_w2.parquet"]["survey_id"]) <= set(sample.loc[sample["w2_responded"], "survey_id"])
    assert set(t["survey/consent_events.csv"]["survey_id"]) <= responders
    # Respondents have a wave 1 weight; non-respondents do not.
    assert sample.loc[sample["w1_responded"], "w1_weight"].gt(0).all()
    assert sample.loc[~sample["w1_responded"], "w1_weight"].isna().all()


def test_weights_reproduce_the_issued_sample_total(small_dataset):
    # Non-response adjustment within classes preserves the design-weighted total.
    sample = small_dataset.tables["survey/sample.parquet"]
    assert sample["w1_weight"].sum() == pytest.approx(sample["design_weight"].sum(), rel=1e-4)


def test_breakoff_means_no_answer_to_consent(small_dataset):
    t = small_dataset.tables
    sample = t["survey/sample.parquet"]
    broke = set(sample.loc[sample["w1_breakoff_before_consent"], "survey_id"])
    events = t["survey/consent_events.csv"]
    w1 = events[(events["contact"] == "wave1")]
    assert set(w1.loc[w1["decision"] == "no_answer", "survey_id"]) == broke


def test_young_people_are_asked_from_sixteen_and_may_say_no_before(small_dataset):
    t = small_dataset.tables
    events = t["survey/consent_events.csv"]
    yp = events[events["person"] == "young_person"].merge(t["truth/links.parquet"], on="survey_id")
    yp = yp.merge(t["npd/spine.parquet"][["upn", "date_of_birth"]], on="upn", how="left")
    known = yp.dropna(subset=["date_of_birth"])
    assert len(known) > 0
    sixteen = pd.to_datetime(known["event_date"]) >= pd.to_datetime(known["date_of_birth"]) + pd.DateOffset(years=16)
    assert (known.loc[sixteen, "contact"] == "wave3").all()
    early = known[~sixteen]
    # before 16: only refusals, recorded at the wave the young person answered their own questionnaire
    assert set(early["decision"]) <= {"refused"} and set(early["contact"]) <= {"wave1", "wave2"}
    sample = t["survey/sample.parquet"].set_index("survey_id")
    answered = sample["w1_young_person_responded"] | sample["w2_young_person_responded"]
    assert answered.loc[early["survey_id"]].all()


def test_withdrawal_levels_and_recorded_decisions(small_dataset):
    t = small_dataset.tables
    events = t["survey/consent_events.csv"]
    withdrawn = events["decision"] == "withdrawn"
    assert events.loc[withdrawn, "withdrawal_level"].isin(["no_contact", "no_linkage", "no_use"]).all()
    assert events.loc[~withdrawn, "withdrawal_level"].isna().all()
    requests = t["survey/rights_requests.csv"]
    assert requests["identity_check"].notna().all()
    decided = requests[requests["outcome"].notna()]
    assert set(decided["request"] + ":" + decided["outcome"]) <= {"objection:refused", "access:extended"}
    assert (decided["outcome_date"] >= decided["request_date"]).all()


def test_withdrawals_follow_a_grant_of_the_same_scope(small_dataset):
    events = small_dataset.tables["survey/consent_events.csv"].sort_values(["event_date", "event_id"])
    for (sid, scope), group in events[events["person"] == "parent"].groupby(["survey_id", "scope"]):
        decisions = group["decision"].tolist()
        if "withdrawn" in decisions:
            assert "granted" in decisions[: decisions.index("withdrawn")], (sid, scope)


def test_recorded_differences_are_real(small_dataset):
    t = small_dataset.tables
    diff = t["truth/identifier_differences.parquet"]
    contacts = t["survey/contacts.parquet"].set_index("survey_id")
    links = t["truth/links.parquet"].set_index("survey_id")
    spine = t["npd/spine.parquet"].set_index("upn")
    checked = 0
    for row in diff[diff["difference"].isin(["nickname", "typo", "spelling_variant"]) & (diff["field"] != "names")].itertuples():
        upn = links.loc[row.survey_id, "upn"]
        if upn is None or pd.isna(upn):
            continue
        reported = contacts.loc[row.survey_id, row.field]
        if isinstance(reported, str):
            assert reported.strip().lower() != str(spine.loc[upn, row.field]).lower(), row
            checked += 1
    assert checked > 0


def test_cohort_has_no_ks2_but_the_older_group_does(small_dataset):
    t = small_dataset.tables
    census = t["npd/census.parquet"]
    cohort = set(census.loc[(census["academic_year"] == "2021/22") & (census["ncyear"] == 8), "upn"])
    older = set(census.loc[(census["academic_year"] == "2021/22") & (census["ncyear"] == 9), "upn"])
    ks2 = set(t["npd/ks2.parquet"]["upn"])
    assert not (cohort & ks2)
    assert older & ks2
    assert set(t["npd/ks2.parquet"]["academic_year"]) == {"2018/19"}


def test_planted_persistent_absence_matches_the_absence_records(small_dataset):
    t = small_dataset.tables
    frame = t["truth/frame.parquet"]
    frame = frame[frame["persistent_absence_y10_11"].notna()]
    absence = t["npd/absence.parquet"]
    y1011 = absence[absence["academic_year"].isin(["2023/24", "2024/25"])].groupby("upn")[
        ["sessions_possible", "sessions_authorised", "sessions_unauthorised"]].sum()
    rate = (y1011["sessions_authorised"] + y1011["sessions_unauthorised"]) / y1011["sessions_possible"]
    recorded = rate.reindex(frame["upn"]).to_numpy() >= 0.10
    assert (recorded == frame["persistent_absence_y10_11"].to_numpy(dtype=bool)).all()


def test_planted_suspensions_match_the_exclusion_records(small_dataset):
    t = small_dataset.tables
    frame = t["truth/frame.parquet"].dropna(subset=["suspensions_y10_11"])
    ex = t["npd/exclusions.parquet"]
    total = ex[ex["academic_year"].isin(["2023/24", "2024/25"])].groupby("upn")["suspensions"].sum()
    recorded = total.reindex(frame["upn"]).fillna(0).astype(int).to_numpy()
    assert (recorded == frame["suspensions_y10_11"].to_numpy(dtype=int)).all()


def test_twins_share_surname_birthday_and_postcode_but_not_forename(small_dataset):
    spine = small_dataset.tables["npd/spine.parquet"]
    groups = spine.groupby(["surname", "date_of_birth", "postcode"])["forename"]
    pairs = groups.filter(lambda s: len(s) == 2)
    assert len(pairs) > 0
    dup = spine.duplicated(["surname", "date_of_birth", "postcode", "forename"], keep=False)
    # Twins never share a forename (the generator redraws clashes).
    assert dup.mean() < 0.001


def test_manifest_records_parameters(small_dataset):
    m = small_dataset.manifest
    assert len(m["params_sha256"]) == 64
    assert m["rows"]["npd/spine.parquet"] == len(small_dataset.tables["npd/spine.parquet"])
    json.dumps(m)


def test_postcodes_are_synthetic(small_dataset):
    pcs = small_dataset.tables["npd/spine.parquet"]["postcode"]
    assert pcs.str.fullmatch(r"Q[A-Z]{0,2}\d{1,2} \d[A-Z]{2}").all()

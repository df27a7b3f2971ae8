"""The consent and linkage rules of the extract, on the hand-written world of ``_worlddata``."""

from __future__ import annotations

import pandas as pd
import pytest
from _worlddata import ALL_UPNS, CASES, KEY, links_frame, npd_frame, status_frame, write_holdings

from sendlink.deidentify import LinkRule, dfe_side, research_ids, researcher_file, survey_side
from sendlink.errors import InputError

MAIN = LinkRule()


def build(tmp_path, rule=MAIN, cases=CASES):
    holdings = write_holdings(tmp_path / "holdings", cases)
    status = status_frame(cases)
    from sendlink.consent import permitted_ids

    dfe = dfe_side(links_frame(cases), permitted_ids(status, "linkage"), tmp_path / "npd", KEY, 2022, rule, attributes=npd_frame(ALL_UPNS))
    survey = survey_side(status, holdings, dfe.mapping, KEY)
    joined = researcher_file(survey.answers, dfe.npd)
    joined.index = survey.cases.to_numpy()
    return dfe, survey, joined


@pytest.fixture
def main(tmp_path):
    return build(tmp_path)


def test_rows_are_analysable_wave1_cases(main):
    _, _, out = main
    # S08 restricted, S09 erased, S11 no wave-1 answers: no row.
    assert sorted(out.index) == ["S01", "S02", "S03", "S04", "S05", "S06", "S07", "S10"]


def test_npd_attached_only_to_accepted_permitted_links(main):
    _, _, out = main
    assert out["npd_linked"].to_dict() == {
        "S01": True, "S02": True, "S03": True, "S04": False, "S05": False, "S06": False, "S07": False, "S10": True,
    }
    assert out.loc[~out["npd_linked"], "npd_attainment8"].isna().all()
    assert out.loc[out["npd_linked"], "npd_attainment8"].notna().all()


def test_link_status_of_unlinked_cases(main):
    _, _, out = main
    assert out.loc["S04", "link_status"] == "not_sent"  # refused both scopes
    assert out.loc["S05", "link_status"] == "unmatched"
    assert out.loc["S06", "link_status"] == "clerical_review"  # not linked until a reviewer decides
    assert out.loc["S07", "link_status"] == "not_sent"  # withdrawn: its old link is not used


def test_answers_withheld_per_scope(main):
    _, _, out = main
    # S02: child scope refused -> young person's answers removed, parent's kept.
    assert bool(out.loc["S02", "child_answers_withheld"]) and not bool(out.loc["S02", "parent_answers_withheld"])
    assert pd.isna(out.loc["S02", "yp1_life_satisfaction"]) and out.loc["S02", "p1_unmet_need"] == True  # noqa: E712
    assert pd.isna(out.loc["S02", "p2_unmet_need"]) is False
    # S03: parent scope refused -> parent's answers (both waves) removed.
    assert bool(out.loc["S03", "parent_answers_withheld"]) and not bool(out.loc["S03", "child_answers_withheld"])
    assert pd.isna(out.loc["S03", "p1_unmet_need"]) and pd.isna(out.loc["S03", "p1_satisfaction_support"])
    assert out.loc["S03", "yp1_life_satisfaction"] == 8
    # Whether a questionnaire was answered is design information, kept.
    assert bool(out.loc["S03", "p1_responded"])


def test_unlinked_permitted_cases_keep_all_answers(main):
    _, _, out = main
    for sid in ("S04", "S05", "S06", "S07"):
        assert out.loc[sid, "p1_unmet_need"] == True  # noqa: E712
        assert out.loc[sid, "yp1_life_satisfaction"] == 8
        assert not out.loc[sid, "parent_answers_withheld"] and not out.loc[sid, "child_answers_withheld"]


def test_research_ids_from_upn_when_linked_and_survey_id_otherwise(main):
    _, _, out = main
    assert out.loc["S01", "research_id"] == research_ids(KEY, pd.Series(["U01"]), "upn").iloc[0]
    assert out.loc["S04", "research_id"] == research_ids(KEY, pd.Series(["S04"]), "survey_id").iloc[0]
    assert out["research_id"].is_unique


def test_no_identifier_reaches_the_parts(main):
    dfe, survey, out = main
    assert "upn" not in dfe.npd.columns and "survey_id" not in dfe.npd.columns
    assert "survey_id" not in survey.answers.columns
    assert not {"survey_id", "upn", "interview_date"} & set(out.columns)
    assert not {"S01", "U01"} & set(out.astype(str).to_numpy().ravel())


def test_erased_case_link_is_ignored(main):
    dfe, _, _ = main
    assert "S09" not in set(dfe.mapping["survey_id"])
    assert research_ids(KEY, pd.Series(["U09"]), "upn").iloc[0] not in set(dfe.npd["research_id"])


def test_strict_rule_drops_less_probable_matches(tmp_path):
    _, _, out = build(tmp_path, LinkRule("strict", min_matched_probability=0.99))
    assert not out.loc["S10", "npd_linked"] and out.loc["S10", "link_status"] == "matched"
    assert out.loc["S01", "npd_linked"]


def test_loose_rule_accepts_probable_review_candidates(tmp_path):
    _, _, out = build(tmp_path, LinkRule("loose", review_min_probability=0.5))
    assert out.loc["S06", "npd_linked"]
    _, _, out = build(tmp_path, LinkRule("loose", review_min_probability=0.8))
    assert not out.loc["S06", "npd_linked"]


def test_one_upn_is_accepted_for_one_case_only(tmp_path):
    cases = dict(CASES)
    cases["S06"] = (*CASES["S06"][:9], "U01", 0.7)  # a review candidate pointing at S01's pupil
    _, _, out = build(tmp_path, LinkRule("loose", review_min_probability=0.5), cases)
    assert out.loc["S01", "npd_linked"] and not out.loc["S06", "npd_linked"]


def test_links_must_cover_every_case_sent(tmp_path):
    status = status_frame()
    links = links_frame()
    with pytest.raises(InputError, match="no result for 1 case"):
        dfe_side(links[links["survey_id"] != "S01"], ["S01", "S02"], tmp_path, KEY, 2022, attributes=npd_frame(ALL_UPNS), links_path="links.parquet")
    with pytest.raises(InputError, match="link_status"):
        dfe_side(links.assign(link_status="maybe"), status["survey_id"], tmp_path, KEY, 2022, attributes=npd_frame(ALL_UPNS))


def test_an_objection_withholds_only_the_objectors_answers(tmp_path):
    # consent rule own-requests: S01's parent objected after the young person took over (the
    # young person's answers stay, linked); S04's young person objected (not linked: the parent's
    # answers stay, unlinked). Written out by hand as the consent stage would.
    holdings = write_holdings(tmp_path / "holdings", CASES)
    status = status_frame(CASES)
    status["may_analyse_parent_answers"] = True
    status["may_analyse_child_answers"] = True
    s01, s04 = status["survey_id"] == "S01", status["survey_id"] == "S04"
    status.loc[s01, ["may_analyse_parent_answers", "may_link_parent_answers", "objected"]] = [False, False, True]
    status.loc[s04, ["may_analyse_child_answers", "objected"]] = [False, True]
    from sendlink.consent import permitted_ids

    dfe = dfe_side(links_frame(CASES), permitted_ids(status, "linkage"), tmp_path / "npd", KEY, 2022, MAIN, attributes=npd_frame(ALL_UPNS))
    survey = survey_side(status, holdings, dfe.mapping, KEY)
    out = researcher_file(survey.answers, dfe.npd)
    out.index = survey.cases.to_numpy()
    assert bool(out.loc["S01", "npd_linked"]) and bool(out.loc["S01", "parent_answers_withheld"]) and not bool(out.loc["S01", "child_answers_withheld"])
    assert pd.isna(out.loc["S01", "p1_unmet_need"]) and pd.notna(out.loc["S01", "yp1_life_satisfaction"])
    assert not bool(out.loc["S04", "npd_linked"]) and bool(out.loc["S04", "child_answers_withheld"]) and not bool(out.loc["S04", "parent_answers_withheld"])
    assert pd.isna(out.loc["S04", "yp1_life_satisfaction"]) and pd.notna(out.loc["S04", "p1_unmet_need"])

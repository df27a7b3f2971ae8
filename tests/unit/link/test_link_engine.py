"""The linker end to end on small hand-made populations: twins, reviewer
decisions, corrupted records, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _linkdata import LINKAGE, PROJECT, SEED, make_population, survey_from

from sendlink.errors import InputError
from sendlink.link import link, link_files
from sendlink.link.clerical import build_review, read_decisions
from sendlink.link.engine import decide
from sendlink.params import override


@pytest.fixture
def population(rng) -> pd.DataFrame:
    npd = make_population(400, rng)
    # Twins: same surname, birth date, postcode, school and sex; forenames differ.
    twin = npd.iloc[0].to_dict()
    npd.loc[len(npd)] = {**twin, "upn": "TWIN_A", "forename": "Rowan", "middle_names": "", "surname": "Quartermaine"}
    npd.loc[len(npd)] = {**twin, "upn": "TWIN_B", "forename": "Ezra", "middle_names": "", "surname": "Quartermaine"}
    return npd


def test_clean_copies_link_to_themselves(population):
    survey = survey_from(population, range(50))
    result = link(survey, population, LINKAGE, seed=SEED)
    links = result.links
    assert (links["link_status"] == "matched").all()
    assert links["upn"].tolist() == population["upn"].iloc[:50].tolist()
    assert not result.model.diagnostics["degenerate"]


def test_twins_are_not_matched_twice(population):
    npd = population
    rows = [len(npd) - 2, len(npd) - 1, *range(1, 40)]
    survey = survey_from(npd, rows)
    result = link(survey, npd, LINKAGE, seed=SEED)
    links = result.links.set_index("survey_id")
    assert links.loc["S000000", "upn"] == "TWIN_A" and links.loc["S000000", "link_status"] == "matched"
    assert links.loc["S000001", "upn"] == "TWIN_B" and links.loc["S000001", "link_status"] == "matched"
    matched = result.links[result.links["upn"] != ""]
    assert matched["upn"].is_unique


def test_twin_without_forename_goes_to_review_not_a_guess(population):
    npd = population
    survey = survey_from(npd, [len(npd) - 2, *range(1, 40)])
    survey.loc[0, "forename"] = ""  # which twin? nothing says
    result = link(survey, npd, LINKAGE, seed=SEED)
    row = result.links.set_index("survey_id").loc["S000000"]
    assert row["link_status"] == "clerical_review"
    assert row["upn"] in {"TWIN_A", "TWIN_B"}
    # two equally good candidates: the same probability each, at most one half (the household
    # model leaves some for "a third child of this household, not in the NPD")
    twins = result.pairs[(result.pairs["survey_id"].astype(str) == "S000000") & result.pairs["upn"].astype(str).isin(["TWIN_A", "TWIN_B"])]
    assert twins["match_probability"].nunique() == 1 and len(twins) == 2
    assert 0.25 <= row["match_probability"] <= 0.5


def test_equal_candidates_are_chosen_by_their_keys_in_a_run_and_a_re_read(population, tmp_path):
    # The twins are equally good candidates for a child without a forename: the one whose UPN comes
    # first as text is put to review, whatever the order of the rows or of the keys' categories.
    survey = survey_from(population, [len(population) - 1, *range(1, 40)])
    survey.loc[0, "forename"] = ""
    picks = []
    for npd in (population, population.iloc[::-1].reset_index(drop=True), population.sample(frac=1, random_state=3)):
        result = link(survey, npd, LINKAGE, seed=SEED)
        picks.append(result.links.set_index("survey_id").loc["S000000", "upn"])
        path = tmp_path / "pairs.parquet"
        result.pairs.assign(survey_id=result.pairs["survey_id"].astype(str), upn=result.pairs["upn"].astype(str)).to_parquet(path)
        again = decide(pd.read_parquet(path), survey["survey_id"], LINKAGE.thresholds)
        pd.testing.assert_frame_equal(again[["survey_id", "upn", "link_status"]], result.links[["survey_id", "upn", "link_status"]])
    assert picks == ["TWIN_A", "TWIN_A", "TWIN_A"]


def test_reviewer_decisions_are_honoured(population, tmp_path):
    npd = population
    survey = survey_from(npd, [len(npd) - 2, 5, *range(10, 40)])
    survey.loc[0, "forename"] = ""
    first = link(survey, npd, LINKAGE, seed=SEED)
    review = build_review(first.links, first.pairs, survey, npd)
    assert review["survey_id"].tolist() == ["S000000"]
    assert {"survey_surname", "npd_surname", "level_forename", "decision", "reviewer", "date"} <= set(review.columns)
    # The reviewer phones the family: it is twin B. And S000001 is *not* the pupil it matched.
    wrong = first.links.set_index("survey_id").loc["S000001", "upn"]
    decisions_file = tmp_path / "decisions.csv"
    pd.DataFrame({
        "survey_id": ["S000000", "S000001"], "upn": ["TWIN_B", wrong], "decision": ["Match", "non_match"],
        "reviewer": ["A. Reviewer"] * 2, "date": ["2024-05-01"] * 2,
    }).to_csv(decisions_file, index=False)
    second = link(survey, npd, LINKAGE, seed=SEED, decisions=read_decisions(decisions_file))
    links = second.links.set_index("survey_id")
    assert (links.loc["S000000", "upn"], links.loc["S000000", "link_status"], links.loc["S000000", "decided_by"]) == ("TWIN_B", "matched", "reviewer")
    assert links.loc["S000001", "upn"] != wrong


def test_contradictory_decisions_are_refused(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"survey_id": ["s1", "s1"], "upn": ["n1", "n2"], "decision": ["match", "match"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="more than one record"):
        read_decisions(path)
    pd.DataFrame({"survey_id": ["s1"], "upn": ["n1"], "decision": ["maybe"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="decision"):
        read_decisions(path)


def test_corrupted_records_still_link(population, rng):
    npd = population
    survey = survey_from(npd, range(60))
    survey.loc[0, "forename"] = "Bob" if False else survey.loc[0, "forename"].upper()
    survey.loc[1, "date_of_birth"] = pd.Timestamp(survey.loc[1, "date_of_birth"]).strftime("%d/%m/%Y")
    y, m, d = survey.loc[2, "date_of_birth"].split("-")
    if int(d) <= 12 and d != m:
        survey.loc[2, "date_of_birth"] = f"{y}-{d}-{m}"  # day and month swapped
    survey.loc[3, "postcode"] = "ZZ9 9ZZ"  # moved house
    survey.loc[4, "surname"] = survey.loc[4, "surname"] + "-Okonkwo"  # double-barrelled now
    survey.loc[5, "forename"] = survey.loc[5, "forename"][:-1]  # a slip
    survey.loc[6, "date_of_birth"] = None
    survey.loc[7, ["forename", "surname"]] = survey.loc[7, ["surname", "forename"]].to_numpy()  # transposed
    result = link(survey, npd, LINKAGE, seed=SEED)
    links = result.links
    correct = links["upn"] == npd["upn"].iloc[:60].to_numpy()
    assert (links.loc[correct, "link_status"] != "unmatched").all()
    assert correct.iloc[:8].all(), links.iloc[:8]


def test_bad_keys_name_file_column_and_rows(population):
    survey = survey_from(population, range(3))
    survey.loc[2, "survey_id"] = survey.loc[0, "survey_id"]
    with pytest.raises(InputError, match=r"survey\.csv, column 'survey_id': duplicate key \(data rows, from 1: 1: 'S000000', 3: 'S000000'\)"):
        link(survey, population, LINKAGE, seed=SEED, survey_source="survey.csv")
    with pytest.raises(InputError, match="missing key column 'upn'"):
        link(survey_from(population, range(3)), population.drop(columns="upn"), LINKAGE, seed=SEED)
    empty_key = survey_from(population, range(3))
    empty_key.loc[1, "survey_id"] = " "
    with pytest.raises(InputError, match="empty key.*data rows, from 1: 2"):
        link(empty_key, population, LINKAGE, seed=SEED)


def test_a_semicolon_file_gets_a_hint_about_its_delimiter(tmp_path):
    path = tmp_path / "npd.csv"
    path.write_text("upn;forename;surname;date_of_birth\nA;Ann;Smith;2009-01-02\n")
    survey = tmp_path / "survey.csv"
    survey.write_text("survey_id,forename,surname,date_of_birth\n1,Ann,Smith,2009-01-02\n")
    with pytest.raises(InputError, match="npd.csv, column 'upn': missing key column.*delimited by something other than commas"):
        link_files(survey, path, tmp_path / "links.csv", PROJECT)
    assert not (tmp_path / "links.csv").exists()


def test_deterministic(population):
    survey = survey_from(population, range(30))
    a = link(survey, population, LINKAGE, seed=SEED)
    b = link(survey, population, LINKAGE, seed=SEED)
    pd.testing.assert_frame_equal(a.links, b.links)


def test_thresholds_come_from_params(population):
    survey = survey_from(population, range(20))
    strict = link(survey, population, override(PROJECT, {"linkage": {"thresholds": {"match": 1.0, "review": 0.9}}}).linkage, seed=SEED)
    # No probability reaches exactly 1 in floating point unless overwhelming; every clean copy is at least reviewed.
    assert (strict.links["link_status"] != "unmatched").all()
    assert np.all(strict.links["match_probability"] >= 0.9)

"""Linking on encodings: levels as the linker's Level objects, the linker's EM and decisions, pseudonyms, the one-sided queue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendlink.errors import InputError
from sendlink.link import compare
from sendlink.pprl.encode import encode_spine, encoding_params
from sendlink.pprl.levels import (
    compare_encoded,
    encoded_comparisons,
    filter_frequencies,
    level_tests,
)
from sendlink.pprl.linker import check_compatible, link_encoded, review_queue
from sendlink.pprl.pseudonyms import PSEUDONYM, map_back, pseudonymise

SECRET = b"test secret for encoded linkage"


def _spine(key: str, rows: list[tuple]) -> pd.DataFrame:
    cols = [key, "forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn"]
    return pd.DataFrame(rows, columns=cols)


SURVEY = _spine("survey_id", [
    ("S1", "Zoe", None, "Smith", "2009-03-17", "F", "SW1A 1AA", "100001"),
    ("S2", "Bob", None, "O'Neill", "2009-03-17", "M", "SW1A 1AB", "100002"),
    ("S3", "Khan", None, "Amir", "2008-12-03", "M", "E1 6AN", "100003"),   # names transposed
    ("S4", "Layla", None, "Hussain", "2010-05-04", "F", None, None),      # date with day and month swapped
])
NPD = _spine("upn", [
    ("U1", "Zoe", None, "Smyth", "2009-03-17", "F", "SW1A 1AA", "100001"),
    ("U2", "Robert", None, "ONeill", "2009-03-18", "M", "SW1A 1AB", "100002"),
    ("U3", "Amir", None, "Khan", "2008-12-03", "M", "E1 6AN", "100003"),
    ("U4", "Layla", None, "Hussain", "2010-04-05", "F", "N1 9GU", "100004"),
])


@pytest.fixture(scope="module")
def encoded(project_params):
    params = encoding_params(project_params.pprl)
    return encode_spine(SURVEY, "survey_id", SECRET, params), encode_spine(NPD, "upn", SECRET, params)


def _level(levels: pd.DataFrame, comparisons, field: str, row: int) -> str:
    spec = next(c for c in comparisons if c.name == field)
    code = int(levels[field].iloc[row])
    return "missing" if code < 0 else spec.labels[code]


def test_comparisons_are_the_linkers_levels(project_params):
    comparisons = encoded_comparisons(project_params.pprl.bands)
    plain = {c.name: c for c in compare.FIELDS}
    for spec in comparisons:
        assert isinstance(spec, compare.Comparison)
        assert all(isinstance(level, compare.Level) for level in spec.levels)
        assert spec.labels == plain[spec.name].labels  # same order: the model's m/u arrays line up
        assert spec.m_start == plain[spec.name].m_start and spec.agrees == plain[spec.name].agrees


def test_levels_on_encodings_by_hand(project_params, encoded):
    s, n = encoded
    comparisons = encoded_comparisons(project_params.pprl.bands)
    rows = np.arange(4)
    levels = compare_encoded(s, n, rows, rows, comparisons)
    # Same standardised forename: identical filters.
    assert _level(levels, comparisons, "forename", 0) == "exact"
    # Smith/Smyth: 4 of 6 padded bigrams shared, bigram Dice 2*4/12 = 0.67 (a couple of chance bits more
    # in the filters): below "close" (0.75), above "similar" (0.55).
    assert _level(levels, comparisons, "surname", 0) == "similar"
    # Bob ~ Robert: a shared keyed nickname-group token.
    assert _level(levels, comparisons, "forename", 1) == "variant"
    # 17 vs 18 March: year and month tokens agree, the day does not (about 2/3).
    assert _level(levels, comparisons, "date_of_birth", 1) == "one_off"
    # Forename and surname swapped: the unordered-pair token agrees; the surname is then no evidence.
    assert _level(levels, comparisons, "forename", 2) == "transposed"
    assert _level(levels, comparisons, "surname", 2) == "missing"
    # Day and month swapped.
    assert _level(levels, comparisons, "date_of_birth", 3) == "swapped"
    # Missing postcode and school on one side: no evidence.
    assert _level(levels, comparisons, "postcode", 3) == "missing"
    assert _level(levels, comparisons, "postcode", 1) == "unit"
    assert _level(levels, comparisons, "school", 0) == "agree"
    # Unrelated records disagree.
    far = compare_encoded(s, n, np.array([0]), np.array([2]), comparisons)
    assert _level(far, comparisons, "forename", 0) == "different"
    assert _level(far, comparisons, "date_of_birth", 0) == "different"


def test_filter_frequencies_count_identical_filters(project_params):
    npd = _spine("upn", [("U1", "Ann", None, "Lee", None, None, None, None), ("U2", "Ann", None, "Low", None, None, None, None),
                         ("U3", "Bea", None, None, None, None, None, None)])
    enc = encode_spine(npd, "upn", SECRET, encoding_params(project_params.pprl))
    freq = filter_frequencies(enc)
    assert freq["forename"].tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 3])
    assert freq["surname"].tolist() == pytest.approx([1 / 3, 1 / 3, 0.0])  # missing: 0


def test_link_encoded_uses_the_linkers_model_and_decisions(project_params, encoded):
    s, n = encoded
    result = link_encoded(s, n, project_params.linkage, project_params.pprl, seed=1)
    assert list(result.links.columns[:5]) == ["survey_id", "upn", "match_probability", "match_weight", "link_status"]
    assert result.model is not None and set(result.model.fields) <= {c.name for c in compare.FIELDS}
    # Every candidate is found by a keyed blocking key, and each child's best candidate is its own record.
    best = result.pairs.sort_values("match_weight", ascending=False).drop_duplicates("survey_id")
    assert dict(zip(best["survey_id"].astype(str), best["upn"].astype(str), strict=True)) == {
        "S1": "U1", "S2": "U2", "S3": "U3", "S4": "U4"}
    # A reviewer's non-match removes the pair; a match is linked whatever the model says.
    decisions = pd.DataFrame({"survey_id": ["S1", "S2"], "upn": ["U1", "U3"], "decision": ["non-match", "match"]})
    again = link_encoded(s, n, project_params.linkage, project_params.pprl, seed=1, decisions=decisions)
    links = again.links.set_index("survey_id")
    assert links.loc["S1", "upn"] != "U1"
    assert links.loc["S2", "upn"] == "U3" and links.loc["S2", "link_status"] == "matched"
    assert links.loc["S2", "decided_by"] == "reviewer"


def test_review_queue_holds_no_identifier(project_params, encoded):
    s, n = encoded
    strict = project_params.linkage.model_copy(update={"thresholds": project_params.linkage.thresholds.model_copy(
        update={"match": 1.0, "review": 0.01})})
    result = link_encoded(s, n, strict, project_params.pprl, seed=1)
    queue = review_queue(result)
    assert len(queue) >= 1
    assert not set(queue.columns) & {"forename", "surname", "date_of_birth", "postcode", "survey_forename", "npd_surname"}
    assert {"level_forename", "dice_forename", "w_forename", "decision"} <= set(queue.columns)
    assert set(queue["level_date_of_birth"]) <= set(compare.level_names("date_of_birth")) | {"missing"}


def test_incompatible_files_are_refused(project_params):
    params = encoding_params(project_params.pprl)
    s = encode_spine(SURVEY, "survey_id", SECRET, params)
    other_secret = encode_spine(NPD, "upn", b"another secret", params)
    with pytest.raises(InputError, match="another secret"):
        check_compatible(s, other_secret)
    from dataclasses import replace
    other_params = encode_spine(NPD, "upn", SECRET, replace(params, length=512))
    with pytest.raises(InputError, match="other parameters"):
        check_compatible(s, other_params)
    with pytest.raises(InputError, match="sides swapped"):
        check_compatible(encode_spine(NPD, "upn", SECRET, params), s)


def test_pseudonyms_are_random_per_run_and_map_back():
    frame = pd.DataFrame({"upn": [f"A{i:012d}" for i in range(50)], "forename": ["x"] * 50})
    a, map_a = pseudonymise(frame, "upn", np.random.default_rng(1))
    b, map_b = pseudonymise(frame, "upn", np.random.default_rng(2))
    assert a["upn"].str.fullmatch(PSEUDONYM.pattern).all() and a["upn"].is_unique
    assert not set(a["upn"]) & set(b["upn"])  # another run, other pseudonyms
    assert a["upn"].tolist() != map_a.set_index("upn").loc[frame["upn"], "pseudonym"].tolist()  # rows shuffled
    links = pd.DataFrame({"survey_id": ["S1", "S2"], "upn": [a["upn"].iloc[3], ""]})
    back = map_back(links, map_a)
    assert back["upn"].tolist() == [map_a.set_index("pseudonym").loc[a["upn"].iloc[3], "upn"], ""]
    with pytest.raises(InputError, match="not in this mapping"):
        map_back(links, map_b)


def test_level_tests_say_which_levels_encodings_can_take(project_params):
    tests = level_tests(project_params.pprl.bands)["test on encodings"]
    # The date's "different" takes every pair no stronger level took: "far" needs the days
    # between two dates, which the filters do not give, so it is never taken.
    assert tests[("date_of_birth", "different")] == "every pair left"
    assert tests[("date_of_birth", "far")] == "not testable: never taken"
    assert tests[("forename", "initial")] == "not testable: never taken"
    assert tests[("forename", "close")] == f"Dice >= {project_params.pprl.bands.name_close}"
    # Each field has exactly one level taking what is left.
    assert (tests == "every pair left").groupby(level="field").sum().eq(1).all()

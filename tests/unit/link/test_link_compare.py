"""Every comparison level, on pairs of hand-written records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendlink.link.compare import compare, level_names
from sendlink.link.features import encode_frames

BASE = {"forename": "Oliver", "middle_names": "", "surname": "Smith", "date_of_birth": "2009-03-12",
        "sex": "M", "postcode": "M14 5AB", "school_urn": "100001"}


def level(field: str, survey: dict, npd: dict) -> str | None:
    """The level of ``field`` for one survey record against one NPD record."""
    s = pd.DataFrame([{"survey_id": "s1", **BASE, **survey}])
    n = pd.DataFrame([{"upn": "n1", **BASE, **npd}])
    features = encode_frames(s, n)
    code = int(compare(features, np.array([0]), np.array([0]))[field].iloc[0])
    return None if code < 0 else level_names(field)[code]


@pytest.mark.parametrize(
    ("survey", "npd", "expected"),
    [
        ({"forename": "Oliver"}, {"forename": "OLIVER"}, "exact"),
        ({"forename": "Mary Jane"}, {"forename": "Mary"}, "exact"),  # first given name agrees
        ({"forename": "Maryjane"}, {"forename": "Mary-Jane"}, "exact"),  # run together
        ({"forename": "Bob"}, {"forename": "Robert"}, "variant"),
        ({"forename": "Muhammad"}, {"forename": "Mohammed"}, "variant"),
        ({"forename": "Jon"}, {"forename": "Jom"}, "close"),  # one slip
        ({"forename": "Oliver"}, {"forename": "Olvier"}, "close"),  # two letters swapped
        ({"forename": "Jane", "middle_names": ""}, {"forename": "Mary", "middle_names": "Jane"}, "middle_name"),
        ({"forename": "Smith", "surname": "Oliver"}, {"forename": "Oliver", "surname": "Smith"}, "transposed"),
        ({"forename": "Smyth", "surname": "Oliver"}, {"forename": "Oliver", "surname": "Smith"}, "transposed"),  # with a slip
        ({"forename": "Karim", "surname": "Saleh"}, {"forename": "Hussain", "surname": "Karim"}, "cross"),  # one side only
        ({"forename": "J"}, {"forename": "James"}, "initial"),  # an initial for a name
        ({"forename": "Amelia"}, {"forename": "A."}, "initial"),
        ({"forename": "J"}, {"forename": "Oliver"}, "different"),  # an initial, but not this name's
        ({"forename": "Christopher"}, {"forename": "Christine"}, "similar"),
        ({"forename": "Oliver"}, {"forename": "Harry"}, "different"),
        ({"forename": ""}, {"forename": "Harry"}, None),
        ({"forename": None}, {"forename": None}, None),
    ],
)
def test_forename_levels(survey, npd, expected):
    assert level("forename", survey, npd) == expected


@pytest.mark.parametrize(
    ("survey", "npd", "expected"),
    [
        ({"surname": "O'Brien"}, {"surname": "OBRIEN"}, "exact"),
        ({"surname": "Smith-Jones"}, {"surname": "Jones"}, "part"),
        ({"surname": "Jones"}, {"surname": "Smith Jones"}, "part"),
        ({"surname": "de Souza"}, {"surname": "Souza"}, "part"),
        ({"surname": "Smyth"}, {"surname": "Smith"}, "close"),
        # A swap is one event, counted once on the forename: the surname is no evidence.
        ({"forename": "Smith", "surname": "Oliver"}, {"forename": "Oliver", "surname": "Smith"}, None),
        ({"forename": "Karim", "surname": "Saleh"}, {"forename": "Hussain", "surname": "Karim"}, "different"),
        ({"surname": "Fairweather"}, {"surname": "Fairbairn"}, "similar"),
        ({"surname": "Smith"}, {"surname": "Okafor"}, "different"),
        ({"surname": None}, {"surname": "Okafor"}, None),
    ],
)
def test_surname_levels(survey, npd, expected):
    assert level("surname", survey, npd) == expected


@pytest.mark.parametrize(
    ("survey", "npd", "expected"),
    [
        ("2009-03-12", "2009-03-12", "exact"),
        ("12/03/2009", "2009-03-12", "exact"),
        ("2009-12-03", "2009-03-12", "swapped"),
        ("2009-03-13", "2009-03-12", "one_off"),  # day mistyped
        ("2008-03-12", "2009-03-12", "one_off"),  # year mistyped
        ("2009-04-12", "2009-03-12", "one_off"),
        ("2009-05-05", "2009-05-05", "exact"),  # same day and month: a swap is no change
        ("2008-07-30", "2009-03-12", "different"),
        ("2009-02-30", "2009-03-12", None),  # impossible date is missing
        (None, "2009-03-12", None),
    ],
)
def test_dob_levels(survey, npd, expected):
    assert level("date_of_birth", {"date_of_birth": survey}, {"date_of_birth": npd}) == expected


@pytest.mark.parametrize(
    ("survey", "npd", "expected"),
    [
        ("m14 5ab", "M14 5AB", "unit"),
        ("M14 5AD", "M14 5AB", "sector"),
        ("M14 7ZZ", "M14 5AB", "district"),
        ("M41 5AB", "M14 5AB", "typo"),  # two characters swapped in the district
        ("LS6 3QE", "M14 5AB", "different"),
        ("4223", "4223", "unit"),  # not a UK postcode: can still agree exactly
        ("4223", "4232", "typo"),
        ("4223", "7000", "different"),
        ("", "M14 5AB", None),
    ],
)
def test_postcode_levels(survey, npd, expected):
    assert level("postcode", {"postcode": survey}, {"postcode": npd}) == expected


@pytest.mark.parametrize(("survey", "npd", "expected"), [("F", "f", "agree"), ("F", "M", "disagree"), ("", "M", None), ("U", "M", None)])
def test_sex_levels(survey, npd, expected):
    assert level("sex", {"sex": survey}, {"sex": npd}) == expected


@pytest.mark.parametrize(("survey", "npd", "expected"), [("100001", "100001.0", "agree"), ("100001", "100002", "disagree"), (None, "100002", None)])
def test_school_levels(survey, npd, expected):
    assert level("school", {"school_urn": survey}, {"school_urn": npd}) == expected


def test_compare_is_vectorised_over_many_pairs():
    s = pd.DataFrame([{"survey_id": f"s{i}", **BASE} for i in range(3)])
    n = pd.DataFrame([{"upn": "n0", **BASE}, {"upn": "n1", **BASE, "forename": "Harry"}])
    features = encode_frames(s, n)
    levels = compare(features, np.array([0, 1, 2, 0]), np.array([0, 1, 1, 1]))
    different = level_names("forename").index("different")
    assert different == len(level_names("forename")) - 1  # the last level
    assert levels["forename"].tolist() == [0, different, different, different]
    assert (levels["surname"] == 0).all()


def test_empty_pairs():
    s = pd.DataFrame([{"survey_id": "s", **BASE}])
    features = encode_frames(s, s.rename(columns={"survey_id": "upn"}))
    levels = compare(features, np.array([], dtype=int), np.array([], dtype=int))
    assert len(levels) == 0 and list(levels.columns) == ["forename", "surname", "date_of_birth", "postcode", "sex", "school", "postcode_history", "school_history"]


def test_both_jaro_winkler_bands_are_cut_in_double_precision():
    # Similarities just below each band's edge in double precision (found by search; both are
    # two edits apart, so only Jaro-Winkler decides): in single precision 0.9199999999999999
    # rounds up to 0.92, while rapidfuzz's cut-off sees 0.7999999999999999 as below 0.80.
    from rapidfuzz import distance

    from sendlink.link.compare import JW_CLOSE, JW_SIMILAR, _string_scores

    strings = np.array(["ffdbcfhceahb", "fdcfhceahb", "ehccch", "eecdch"], dtype=object)
    assert distance.JaroWinkler.similarity(*strings[:2]) < JW_CLOSE <= np.float32(distance.JaroWinkler.similarity(*strings[:2]))
    jw, osa = _string_scores(strings, np.array([0, 2]), np.array([1, 3]))
    assert list(osa) == [2, 2]
    assert not (jw[0] >= JW_CLOSE)  # not close: the same side of 0.92 as the SQL in double precision
    assert not (jw[1] >= JW_SIMILAR)
    assert jw.dtype == np.float64

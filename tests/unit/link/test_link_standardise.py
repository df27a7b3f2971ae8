"""Every standardisation rule, on hand-written values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sendlink.link.standardise import (
    clean_name,
    name_groups,
    parse_dates,
    postcode_levels,
    standardise_spine,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  SMITH ", "smith"),
        ("Zoë", "zoe"),
        ("Siân", "sian"),
        ("O'Brien", "obrien"),
        ("O\u2019Neill", "oneill"),
        ("Smith-Jones", "smith jones"),
        ("St. John", "st john"),
        ("mary   jane", "mary jane"),
        ("R2D2", "r d"),
        (None, ""),
        (float("nan"), ""),
        ("", ""),
        ("---", ""),
    ],
)
def test_clean_name(raw, expected):
    assert clean_name(raw) == expected


def _std(**columns) -> pd.DataFrame:
    frame = pd.DataFrame({"survey_id": ["a"], **{k: [v] for k, v in columns.items()}})
    return standardise_spine(frame, "survey_id").iloc[0]


def test_forename_field_with_several_names_is_split():
    row = _std(forename="Mary Jane", middle_names="Ann")
    assert (row["forename"], row["forename_full"], row["middle"]) == ("mary", "maryjane", "jane ann")


def test_hyphenated_forename_is_split_like_spaces():
    row = _std(forename="Mary-Jane")
    assert (row["forename"], row["forename_full"], row["middle"]) == ("mary", "maryjane", "jane")


def test_double_barrelled_surname_keeps_each_part():
    row = _std(surname="Smith-Jones")
    assert (row["surname"], row["surname_parts"]) == ("smithjones", "smith jones")


def test_surname_particle_is_not_a_part():
    row = _std(surname="de Souza")
    assert (row["surname"], row["surname_parts"]) == ("desouza", "souza")
    row = _std(surname="van der Berg")
    assert (row["surname"], row["surname_parts"]) == ("vanderberg", "berg")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sw1a1aa", ("SW1A 1AA", "SW1A 1", "SW1A", "SW")),
        (" M1 1ae ", ("M1 1AE", "M1 1", "M1", "M")),
        ("LS6-3QE", ("LS6 3QE", "LS6 3", "LS6", "LS")),
        ("B12 9XY", ("B12 9XY", "B12 9", "B12", "B")),
        ("4223", ("4223", None, None, None)),
        ("", (None, None, None, None)),
        (None, (None, None, None, None)),
    ],
)
def test_postcode_levels(raw, expected):
    assert postcode_levels(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2009-03-12", (2009, 3, 12)),
        ("2009-3-5", (2009, 3, 5)),
        ("20090312", (2009, 3, 12)),
        ("2009/03/12", (2009, 3, 12)),
        ("12/03/2009", (2009, 3, 12)),  # day first, as England writes dates
        ("12.03.2009", (2009, 3, 12)),
        ("12-03-2009", (2009, 3, 12)),
        ("2009-03-12T00:00:00", (2009, 3, 12)),
        ("12/03/2009 00:00", (2009, 3, 12)),  # a spreadsheet export with a time of day
        ("2009/03/12 00:00:00", (2009, 3, 12)),
        ("12 Mar 2009", (2009, 3, 12)),  # month written out, as on forms and letters
        ("12-MAR-2009", (2009, 3, 12)),
        ("12th March 2009", (2009, 3, 12)),
        ("1 Sept. 2009", (2009, 9, 1)),
        ("March 12, 2009", (2009, 3, 12)),
        ("12 Mars 2009", (-1, -1, -1)),  # not an English month
        ("31 Feb 2009", (-1, -1, -1)),
        (pd.Timestamp("2009-03-12"), (2009, 3, 12)),
        (dt.date(2009, 3, 12), (2009, 3, 12)),
        ("2009-02-30", (-1, -1, -1)),  # impossible
        ("2009-13-01", (-1, -1, -1)),
        ("12/03/09", (-1, -1, -1)),  # two-digit year: which century?
        ("yesterday", (-1, -1, -1)),
        ("", (-1, -1, -1)),
        (None, (-1, -1, -1)),
        (float("nan"), (-1, -1, -1)),
    ],
)
def test_parse_dates(raw, expected):
    parsed = parse_dates(pd.Series([raw], dtype=object)).iloc[0]
    assert tuple(int(v) for v in parsed) == expected


def test_dates_in_a_frame_become_iso_or_missing():
    frame = pd.DataFrame({"upn": ["a", "b"], "date_of_birth": ["12/03/2009", "2009-02-30"]})
    std = standardise_spine(frame, "upn")
    assert std["dob"].tolist()[0] == "2009-03-12"
    assert std["dob"].isna().tolist() == [False, True]


@pytest.mark.parametrize(("raw", "expected"), [("F", "F"), ("f", "F"), ("Female", "F"), ("girl", "F"), ("M", "M"), (" male ", "M"), ("boy", "M"), ("U", None), ("X", None), ("", None), (None, None)])
def test_sex(raw, expected):
    assert _std(sex=raw)["sex"] == expected


@pytest.mark.parametrize(("raw", "expected"), [("100000", "100000"), ("100000.0", "100000"), ("0123", "123"), (" 12 ", "12"), ("", None), (None, None)])
def test_school_urn(raw, expected):
    assert _std(school_urn=raw)["school"] == expected


@pytest.mark.parametrize(
    ("a", "b", "equivalent"),
    [
        ("robert", "bob", True),
        ("bob", "rob", True),  # both nicknames of robert
        ("mohammed", "muhammad", True),  # spelling variant table
        ("mohamed", "mohammad", True),
        ("isobel", "isabelle", True),
        ("aaliyah", "aliyah", True),
        ("zoe", "zoey", True),
        ("edward", "edmund", False),  # both have "ed" as nickname, but are different names
        ("amelia", "emilia", False),  # different names, not spellings of one
        ("oliver", "harry", False),
    ],
)
def test_nickname_and_variant_groups(a, b, equivalent):
    assert bool(name_groups(a) & name_groups(b)) is equivalent


def test_absent_and_extra_columns():
    frame = pd.DataFrame({"upn": ["1", "2"], "surname": ["Smith", None], "shoe_size": [5, 6]})
    std = standardise_spine(frame, "upn")
    assert std["forename"].isna().all() and std["postcode"].isna().all()
    assert std["surname"].tolist()[0] == "smith"
    assert (std["dob_year"] == -1).all()
    assert "shoe_size" not in std.columns


def test_many_rows_map_through_distinct_values():
    frame = pd.DataFrame({"upn": [str(i) for i in range(1000)], "forename": ["Amy", "Zoë"] * 500, "postcode": ["m11ae", None] * 500})
    std = standardise_spine(frame, "upn")
    assert std["forename"].tolist()[:2] == ["amy", "zoe"]
    assert std["postcode"].isna().sum() == 500
    assert np.array_equal(std.index, np.arange(1000))

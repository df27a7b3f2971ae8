"""Naming conventions of England's communities, the far date of birth, the census history, and when the model may link alone.

Each case is a pair of records written by hand as two systems really write
them (docs/DOMAIN.md, "Names in England's communities"); the expected level
is the one the comparison was designed to give, not read off its output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendlink.errors import InputError
from sendlink.link.compare import compare, level_names
from sendlink.link.history import attach_history, read_history
from sendlink.link.model import automatic_match
from sendlink.link.spine import RawSpine
from sendlink.link.standardise import clean_name

BASE = {"forename": "Oliver", "middle_names": "", "surname": "Smith", "date_of_birth": "2009-03-12",
        "sex": "M", "postcode": "M14 5AB", "school_urn": "100001"}


def levels_of(survey: dict, npd: dict, history: pd.DataFrame | None = None) -> dict[str, str | None]:
    s = pd.DataFrame([{"survey_id": "s1", **BASE, **survey}])
    n = pd.DataFrame([{"upn": "n1", **BASE, **npd}])
    s_raw, n_raw = RawSpine.from_frame(s, "survey_id", "survey"), RawSpine.from_frame(n, "upn", "npd")
    from sendlink.link.features import encode

    features = encode(s_raw, n_raw)
    if history is not None:
        attach_history(features, s_raw, n_raw, history, 5)
    row = compare(features, np.array([0]), np.array([0])).iloc[0]
    return {f: (None if int(v) < 0 else level_names(f)[int(v)]) for f, v in row.items()}


@pytest.mark.parametrize(
    ("survey", "npd", "expected"),
    [
        # Muhammad as the first of several given names; the child goes by the next one.
        ({"forename": "Yusuf"}, {"forename": "Muhammad", "middle_names": "Yusuf"}, "prefix"),
        ({"forename": "Md Yusuf"}, {"forename": "Yusuf"}, "prefix"),  # Md: Muhammad abbreviated
        ({"forename": "Yousuf"}, {"forename": "Mohammed Yusuf"}, "prefix"),  # and spelt another way
        ({"forename": "Muhammad"}, {"forename": "Mohammed"}, "variant"),
        # Yoruba short forms: the name without its prefix.
        ({"forename": "Seun"}, {"forename": "Oluwaseun"}, "variant"),
        ({"forename": "Tunde"}, {"forename": "Babatunde"}, "variant"),
        ({"forename": "Bayo"}, {"forename": "Adebayo"}, "variant"),
        ({"forename": "Funmi"}, {"forename": "Olufunmilayo"}, "variant"),  # the start of the stem
        ({"forename": "Ade"}, {"forename": "Adebayo"}, "similar"),  # a prefix is not a short form
        # An English given name beside the pinyin one.
        ({"forename": "David"}, {"forename": "Wei", "middle_names": "David"}, "middle_name"),
        # Diacritics and letters Unicode does not decompose.
        ({"forename": "Michal"}, {"forename": "Michał"}, "exact"),
        ({"forename": "Yildiz"}, {"forename": "Yıldız"}, "exact"),
        ({"forename": "Stefania"}, {"forename": "Ștefania"}, "exact"),
    ],
)
def test_forename_conventions(survey, npd, expected):
    assert levels_of(survey, npd)["forename"] == expected


@pytest.mark.parametrize(
    ("survey", "npd", "expected"),
    [
        ({"surname": "Choudhury"}, {"surname": "Chowdhury"}, "variant"),
        ({"surname": "Hossain"}, {"surname": "Hussain"}, "variant"),
        ({"surname": "ap Rhys"}, {"surname": "Price"}, "variant"),  # a Welsh patronymic and the surname it became
        ({"surname": "Mc Donald"}, {"surname": "MacDonald"}, "variant"),
        ({"surname": "O Neill"}, {"surname": "O'Neill"}, "exact"),
        # Begum, Kaur: a title beside the family name, or instead of it.
        ({"surname": "Begum Rahman"}, {"surname": "Rahman"}, "part"),
        ({"surname": "Kaur Gill"}, {"surname": "Gill"}, "part"),
        ({"surname": "Begum"}, {"surname": "Rahman"}, "title"),
        ({"surname": "Begum"}, {"surname": "Begum Rahman"}, "title"),  # a title is no shared family part
        # Somali names: given name + father's given name + grandfather's given name.
        ({"forename": "Ahmed", "surname": "Mohamed"}, {"forename": "Ahmed", "middle_names": "Mohamed", "surname": "Abdi"},
         "other_names"),
        ({"forename": "Ahmed", "middle_names": "Mohamed", "surname": "Abdi"}, {"forename": "Ahmed", "surname": "Mohamed"},
         "other_names"),
        ({"surname": "Smith"}, {"surname": "Okafor"}, "different"),
    ],
)
def test_surname_conventions(survey, npd, expected):
    assert levels_of(survey, npd)["surname"] == expected


@pytest.mark.parametrize(
    ("survey", "npd", "expected"),
    [
        ("2008-07-30", "2009-03-12", "different"),  # every part differs, but within a year: a slip is possible
        ("2010-08-17", "2009-03-10", "far"),  # 17 months apart, no part in common: another child
        ("2011-03-17", "2009-03-10", "different"),  # two years apart but the month agrees: one part in common
        ("2010-01-01", "2010-08-17", "default"),  # 1 January: a placeholder for an unknown day and month
        ("2010-08-17", "2010-01-01", "default"),
        ("2009-01-01", "2010-08-17", "far"),  # a placeholder, but of another year and far off
    ],
)
def test_far_date_of_birth(survey, npd, expected):
    assert levels_of({"date_of_birth": survey}, {"date_of_birth": npd})["date_of_birth"] == expected


def test_clean_name_transliterates_what_nfkd_leaves_whole():
    assert clean_name("Łukasz Michał") == "lukasz michal"
    assert clean_name("Øyvind Straße") == "oyvind strasse"


HISTORY = pd.DataFrame({"upn": ["n1", "n1", "n1", "n1"], "year": [2017.0, 2021.0, 2022.0, 2024.0],
                        "postcode": ["B1 1AA", "LS6 3QE", "LS6 3QE", "M14 5AB"], "school_urn": ["100009", "100002", "100002", "100001"]})


def test_history_levels_compare_past_postcodes_and_schools():
    moved = {"postcode": "LS6 3QE", "school_urn": "100002"}
    got = levels_of(moved, {}, HISTORY)
    assert got["postcode"] == "different" and got["postcode_history"] == "past"
    assert got["school"] == "disagree" and got["school_history"] == "past"
    # A census outside the window (2017: seven years before the latest) is not compared.
    old = levels_of({"postcode": "B1 1AA", "school_urn": "100009"}, {}, HISTORY)
    assert old["postcode_history"] == "none" and old["school_history"] == "none"
    # Agreement on the current field is counted once, there: the history is then no evidence.
    same = levels_of({}, {}, HISTORY)
    assert same["postcode_history"] is None and same["school_history"] is None


def test_without_history_the_history_levels_are_missing():
    got = levels_of({"postcode": "LS6 3QE"}, {})
    assert got["postcode_history"] is None and got["school_history"] is None


def test_read_history_accepts_years_or_dates_and_names_bad_rows(tmp_path):
    good = tmp_path / "history.csv"
    pd.DataFrame({"upn": ["n1", "n2"], "census_date": ["2022-01-20", "2023-01-19"], "postcode": ["M14 5AB", ""],
                  "school_urn": ["100001", "100002"]}).to_csv(good, index=False)
    table = read_history(good)
    assert table["year"].round(1).tolist() == [2022.1, 2023.0]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"upn": ["n1", "n2"], "academic_year": ["2022", "last year"], "postcode": ["M14 5AB", ""]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match="academic_year"):
        read_history(bad)
    none = tmp_path / "none.csv"
    pd.DataFrame({"upn": ["n1"], "postcode": ["M14 5AB"]}).to_csv(none, index=False)
    with pytest.raises(InputError, match="census column"):
        read_history(none)


def _levels(**fields: list[str]) -> pd.DataFrame:
    return pd.DataFrame({f: [level_names(f).index(v) if v else -1 for v in values] for f, values in fields.items()})


def test_a_name_and_a_school_alone_are_not_linked_without_a_person():
    levels = _levels(
        forename=["exact", "exact", "exact", "different"],
        surname=["exact", "exact", "exact", "exact"],
        date_of_birth=["", "", "exact", "different"],
        postcode=["different", "unit", "different", "unit"],
        sex=["agree", "agree", "agree", "agree"],
        school=["agree", "agree", "agree", "agree"],
    )
    allowed = automatic_match(levels, ["postcode"], 2)
    # namesake at the same school, no date / the child, no date but the address / a date agrees / a sibling:
    # the rule leaves the sibling to the weights (forename and date of birth disagree)
    assert allowed.tolist() == [False, True, True, True]
    strict = automatic_match(levels, ["forename", "postcode"], 3)
    assert strict.tolist() == [False, True, True, False]


def test_a_past_address_counts_as_the_address_for_the_rule():
    levels = _levels(forename=["exact"], surname=["exact"], date_of_birth=[""], postcode=["different"], sex=["agree"],
                     school=["disagree"], postcode_history=["past"], school_history=["none"])
    assert automatic_match(levels, ["postcode"], 2).tolist() == [True]


def test_a_district_is_not_an_address_for_the_rule():
    levels = _levels(forename=["exact"], surname=["exact"], date_of_birth=["far"], postcode=["district"], sex=["agree"],
                     school=["agree"])
    assert automatic_match(levels, ["postcode"], 2).tolist() == [False]


def test_the_data_dictionary_documents_the_history_contract_the_reader_accepts():
    """The dictionary's npd_history columns are exactly the columns read_history reads (no drift)."""
    from sendlink.link.history import HISTORY_COLUMNS
    from sendlink.schema.dictionary import render
    from sendlink.schema.spine import NPD_HISTORY

    assert tuple(NPD_HISTORY.columns) == HISTORY_COLUMNS
    assert "--history NPD_HISTORY" in render()

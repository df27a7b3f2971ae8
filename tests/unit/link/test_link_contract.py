"""Every linker variant through the same edge cases (as recordlinkage does
for its indexers): the model, the rule cascade and the ECM baseline must all
return one row per survey record in the links format, whatever the input."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from _linkdata import LINKAGE, SEED, make_population, survey_from

from sendlink.errors import InputError
from sendlink.link import link, link_ecm, link_rules
from sendlink.link.engine import LINK_COLUMNS

LINKERS = pytest.mark.parametrize(
    "linker",
    [partial(link, params=LINKAGE, seed=SEED), partial(link_rules, params=LINKAGE), partial(link_ecm, params=LINKAGE)],
    ids=["model", "rules", "ecm"],
)


def check_links(links: pd.DataFrame, survey: pd.DataFrame) -> None:
    assert list(links.columns[:5]) == LINK_COLUMNS
    assert links["survey_id"].tolist() == survey["survey_id"].astype(str).tolist()
    assert set(links["link_status"]) <= {"matched", "clerical_review", "unmatched"}
    assert (links.loc[links["link_status"] == "unmatched", "upn"] == "").all()
    assert (links.loc[links["link_status"] != "unmatched", "upn"] != "").all()
    linked = links.loc[links["upn"] != "", "upn"]
    assert linked.is_unique, "one-to-one"
    p = links["match_probability"].dropna()
    assert ((p >= 0) & (p <= 1)).all()


@pytest.fixture
def npd(rng) -> pd.DataFrame:
    return make_population(200, rng)


@LINKERS
def test_typical(linker, npd):
    survey = survey_from(npd, range(40))
    result = linker(survey, npd)
    check_links(result.links, survey)
    assert (result.links["upn"].iloc[:40] == npd["upn"].iloc[:40]).mean() > 0.9


@LINKERS
def test_empty_survey(linker, npd):
    survey = survey_from(npd, [])
    result = linker(survey, npd)
    assert result.links.empty and list(result.links.columns[:5]) == LINK_COLUMNS


@LINKERS
def test_empty_npd(linker, npd):
    survey = survey_from(npd, range(5))
    result = linker(survey, npd.iloc[0:0])
    check_links(result.links, survey)
    assert (result.links["link_status"] == "unmatched").all()


@LINKERS
def test_key_only(linker, npd):
    survey = survey_from(npd, range(5))[["survey_id"]]
    result = linker(survey, npd[["upn"]])
    check_links(result.links, survey)
    assert (result.links["link_status"] == "unmatched").all()


@LINKERS
def test_missing_optional_columns(linker, npd):
    survey = survey_from(npd, range(30))[["survey_id", "surname", "date_of_birth", "forename"]]
    result = linker(survey, npd.drop(columns=["postcode", "school_urn", "middle_names"]))
    check_links(result.links, survey)


@LINKERS
def test_all_missing_fields(linker, npd):
    survey = survey_from(npd, range(10))
    for column in survey.columns[1:]:
        survey[column] = None
    result = linker(survey, npd)
    check_links(result.links, survey)
    assert (result.links["link_status"] == "unmatched").all()


@LINKERS
def test_extra_columns_ignored(linker, npd):
    survey = survey_from(npd, range(10)).assign(favourite_colour="blue")
    check_links(linker(survey, npd.assign(notes="x")).links, survey)


@LINKERS
def test_duplicate_keys(linker, npd):
    survey = survey_from(npd, range(3))
    survey.loc[1, "survey_id"] = survey.loc[0, "survey_id"]
    with pytest.raises(InputError, match="duplicate key"):
        linker(survey, npd)
    dup_npd = npd.copy()
    dup_npd.loc[5, "upn"] = dup_npd.loc[4, "upn"]
    with pytest.raises(InputError, match="duplicate key"):
        linker(survey_from(npd, range(3)), dup_npd)


@LINKERS
def test_numeric_keys_and_dates_from_parquet_types(linker, npd):
    survey = survey_from(npd, range(10))
    survey["survey_id"] = np.arange(10)
    survey["date_of_birth"] = pd.to_datetime(survey["date_of_birth"])
    result = linker(survey, npd)
    check_links(result.links, survey)


def test_unrecognised_columns_are_named_in_a_warning(npd, caplog):
    """A file whose columns are named otherwise (dob, first_name) still gives a result, but says why it is empty."""
    survey = survey_from(npd, range(5)).rename(columns={"date_of_birth": "dob", "forename": "first_name", "surname": "last_name"})
    survey = survey[["survey_id", "first_name", "last_name", "dob"]]
    with caplog.at_level("WARNING", logger="sendlink.link"):
        result = link(survey, npd, LINKAGE, seed=SEED)
    assert (result.links["link_status"] == "unmatched").all()
    text = caplog.text
    assert "first_name, last_name, dob are not spine columns" in text
    assert "no spine column to compare" in text


def test_unreadable_dates_and_sex_are_counted_in_a_warning(npd, caplog):
    survey = survey_from(npd, range(4))
    survey["date_of_birth"] = ["2009-13-01", "someday", "", survey["date_of_birth"].iloc[3]]
    survey["sex"] = ["1", "2", "F", ""]
    with caplog.at_level("WARNING", logger="sendlink.link"):
        link(survey, npd, LINKAGE, seed=SEED)
    assert "2 of 4 record(s) have a date_of_birth that cannot be read" in caplog.text  # the blank one is missing, not unreadable
    assert "2 of 4 record(s) have a sex that cannot be read" in caplog.text


def test_dates_with_month_names_link_like_iso_dates(npd):
    survey = survey_from(npd, range(20))
    iso = link(survey, npd, LINKAGE, seed=SEED).links
    written = survey.assign(date_of_birth=pd.to_datetime(survey["date_of_birth"]).dt.strftime("%d %B %Y"))
    assert link(written, npd, LINKAGE, seed=SEED).links["upn"].tolist() == iso["upn"].tolist()

"""Every linker variant through the same edge cases (as recordlinkage does
for its indexers): the model, the rule cascade and the ECM baseline must all
return one row per survey record in the links format, whatever the input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _linkdata import make_population, survey_from

from sendlink.errors import InputError
from sendlink.link import link, link_ecm, link_rules
from sendlink.link.engine import LINK_COLUMNS

LINKERS = pytest.mark.parametrize("linker", [link, link_rules, link_ecm], ids=["model", "rules", "ecm"])


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

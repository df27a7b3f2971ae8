"""Spines the linker must refuse or correct: list columns, empty files, dates of birth in the future."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _linkdata import LINKAGE, SEED, make_population, survey_from

from sendlink.errors import InputError
from sendlink.link import link
from sendlink.link.spine import RawSpine, read_spine, require_records, without_future_dates


def test_a_parquet_list_column_is_refused_naming_file_and_column(tmp_path):
    table = pa.table({"upn": ["A1", "A2"], "forename": [["Amira"], ["Jack", "Jo"]], "surname": ["Khan", "Smith"]})
    pq.write_table(table, tmp_path / "npd.parquet")
    with pytest.raises(InputError, match=r"npd.parquet, column 'forename': holds list<.*not one value per record"):
        read_spine(tmp_path / "npd.parquet", "upn")
    pq.write_table(pa.table({"upn": [["A1"], ["A2"]]}), tmp_path / "key.parquet")
    with pytest.raises(InputError, match="column 'upn'"):
        read_spine(tmp_path / "key.parquet", "upn")


def test_a_frame_of_lists_is_refused_too():
    frame = pd.DataFrame({"upn": ["A1", "A2"], "surname": [["Khan"], "Smith"]})
    with pytest.raises(InputError, match=r"column 'surname'.*data rows, from 1: 1"):
        RawSpine.from_frame(frame, "upn", "npd frame")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_of_0_bytes_is_refused(tmp_path, suffix):
    path = tmp_path / f"npd{suffix}"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty \(0 bytes\)"):
        read_spine(path, "upn")


def test_an_npd_spine_without_records_is_refused(tmp_path):
    (tmp_path / "npd.csv").write_text("upn,forename,surname\n")
    spine = read_spine(tmp_path / "npd.csv", "upn")
    with pytest.raises(InputError, match="npd.csv: the NPD spine has no records"):
        require_records(spine, "NPD spine")


def test_future_dates_of_birth_are_missing_for_the_comparison_with_a_warning(caplog):
    spine = RawSpine.from_frame(pd.DataFrame({
        "survey_id": ["S1", "S2", "S3", "S4"],
        "date_of_birth": ["2031-01-01", "2009-02-03", "2030-12-31", None],
    }), "survey_id", "survey.csv")
    with caplog.at_level(logging.WARNING):
        out = without_future_dates(spine, today=dt.date(2026, 1, 1))
    assert "survey.csv: 2 record(s) have a date of birth after today (2026-01-01)" in caplog.text
    assert "S1 (2031-01-01)" in caplog.text and "S3 (2030-12-31)" in caplog.text
    assert out.frame()["date_of_birth"].tolist() == [None, "2009-02-03", None, None]
    assert spine.frame()["date_of_birth"].tolist()[0] == "2031-01-01"  # the caller's spine is unchanged
    assert without_future_dates(spine, today=dt.date(2031, 6, 1)) is spine  # nothing in the future: nothing changes


def test_a_future_date_of_birth_does_not_count_against_the_true_match(caplog):
    rng = np.random.default_rng(3)
    npd = make_population(200, rng)
    survey = survey_from(npd, range(20))
    wrong = survey.copy()
    wrong.loc[0, "date_of_birth"] = "2099-01-01"  # a typing error
    with caplog.at_level(logging.WARNING):
        result = link(wrong, npd, LINKAGE, seed=SEED)
    assert "date of birth after today" in caplog.text
    row = result.links.set_index("survey_id").loc["S000000"]
    assert row["upn"] == "N000000"
    dob_level = result.pairs.loc[(result.pairs["survey_id"] == "S000000") & (result.pairs["upn"] == "N000000"), "date_of_birth"]
    assert dob_level.isna().all()  # compared as missing, not as a disagreement

"""Analysis variables from extract columns, checked row by row by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _outcomesdata import blank_extract, replicate_world

from sendlink.errors import InputError
from sendlink.outcomes.analysis import read_extract
from sendlink.outcomes.variables import COVARIATES, analysis_variables


def _rows() -> pd.DataFrame:
    frame = blank_extract(3)
    frame["npd_sen_provision"] = ["E", "K", "N"]
    frame["npd_primary_need"] = ["PMLD", "SP", None]
    frame["npd_sex"] = ["F", None, "M"]
    frame["npd_ethnicity"] = ["Asian", None, "Unknown"]
    frame["npd_fsm"] = pd.array([True, False, pd.NA], dtype="boolean")
    frame["npd_idaci_quintile"] = pd.array([1, pd.NA, 5], dtype="Int64")
    frame["npd_eyfsp_total_points"] = pd.array([25, pd.NA, 30], dtype="Int64")
    frame["npd_ks1_reading"] = ["EXS", None, "2A"]
    frame["npd_ks1_writing"] = ["WTS", None, None]
    frame["npd_ks1_maths"] = ["GDS", None, "1"]
    frame["p1_unmet_need"] = pd.array([True, True, False], dtype="boolean")
    frame["p1_satisfaction_support"] = pd.array([5, 1, pd.NA], dtype="Int64")
    frame["p1_school_experience"] = pd.array([2, 4, 3], dtype="Int64")
    frame["npd_suspensions_y10_11"] = pd.array([3, pd.NA, 0], dtype="Int64")
    return frame


def test_exposures_and_modifiers():
    v = analysis_variables(_rows())
    assert v["in_frame"].tolist() == [True, True, False]
    assert v["ehc"].iloc[:2].tolist() == [1.0, 0.0] and np.isnan(v["ehc"].iloc[2])
    assert v["satisfaction"].iloc[:2].tolist() == [2.0, -2.0] and np.isnan(v["satisfaction"].iloc[2])
    assert v["school_experience"].tolist() == [-1.0, 1.0, 0.0]
    assert v["unmet_need_x_school_experience"].tolist() == [-1.0, 1.0, 0.0]
    assert v["unmet_need_x_fsm"].iloc[:2].tolist() == [1.0, 0.0]


def test_covariates_with_blanked_quasi_identifiers():
    v = analysis_variables(_rows())
    assert v[["need_CL", "need_SP", "need_unknown"]].to_numpy().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    # Sex and IDACI blanked for k-anonymity are missing, to be imputed (row 3 is outside the frame).
    np.testing.assert_array_equal(v["male"].to_numpy(), [0.0, np.nan, np.nan])
    assert v["ethnicity_Asian"].tolist() == [1.0, 0.0, 0.0]
    assert v["ethnicity_Unknown"].tolist() == [0.0, 1.0, 1.0]  # blanked ethnicity keeps a category of its own
    np.testing.assert_array_equal(v["idaci_quintile"].to_numpy(), [1.0, np.nan, np.nan])
    assert not {"sex_unknown", "idaci_unknown", "eyfsp_missing"} & set(v.columns)


def test_prior_attainment_scales_and_is_missing_where_not_assessed():
    v = analysis_variables(_rows())
    np.testing.assert_array_equal(v["eyfsp"].to_numpy(), [2.5, np.nan, 3.0])
    # KS1 points: EXS 3, WTS 2, GDS 4 -> mean 3; 2A 3 and 1 -> mean 2 (writing missing).
    np.testing.assert_array_equal(v["ks1"].to_numpy(), [3.0, np.nan, 2.0])
    assert v["phonics"].isna().all()
    assert set(COVARIATES) <= set(v.columns)


def test_persistent_absence_is_the_share_of_years_persistently_absent():
    rows = _rows()
    rows["npd_persistent_absence_y10"] = pd.array([True, False, pd.NA], dtype="boolean")
    rows["npd_persistent_absence_y11"] = pd.array([False, False, True], dtype="boolean")
    v = analysis_variables(rows)
    np.testing.assert_array_equal(v["persistent_absence"].to_numpy(), [0.5, 0.0, np.nan])


def test_outcomes_are_numbers_with_missing_as_nan():
    v = analysis_variables(_rows())
    assert v["suspensions"].iloc[[0, 2]].tolist() == [3.0, 0.0] and np.isnan(v["suspensions"].iloc[1])


def test_missing_extract_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="research extract not found"):
        read_extract(tmp_path / "extract.parquet")


def test_extract_without_a_needed_column_names_it(tmp_path):
    extract, _ = replicate_world()
    path = tmp_path / "extract.parquet"
    extract.drop(columns=["p1_school_experience"]).to_parquet(path)
    with pytest.raises(InputError, match="p1_school_experience") as err:
        read_extract(path)
    assert str(path) in str(err.value)


def test_malformed_extract_names_file_and_column(tmp_path):
    extract, _ = replicate_world()
    extract["p1_satisfaction_support"] = pd.array([9] * len(extract), dtype="Int64")
    path = tmp_path / "extract.parquet"
    extract.to_parquet(path)
    with pytest.raises(InputError, match="p1_satisfaction_support") as err:
        read_extract(path)
    assert str(path) in str(err.value)


def test_valid_extract_reads(tmp_path):
    extract, _ = replicate_world()
    path = tmp_path / "extract.parquet"
    extract.to_parquet(path)
    assert len(read_extract(path)) == len(extract)

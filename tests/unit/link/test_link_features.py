"""Spines read and held as codes: Parquet read dictionary-encoded, keys checked, vectorised rules equal to the reference rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sendlink.errors import InputError
from sendlink.link.features import clean_names, encode_frames, postcode_codes, postcode_text
from sendlink.link.spine import RawSpine, read_spine
from sendlink.link.standardise import clean_name, postcode_levels

AWKWARD_NAMES = ["  SMITH ", "Zoë", "Siân", "O'Brien", "O\u2019Neill", "Smith-Jones", "St. John", "mary   jane", "R2D2",
                 None, "", "---", "Łukasz", "Søren", "Ægir", "Nguyễn", "José María", "D´Arcy", "ﬁona", "Chloé-Zoë"]
AWKWARD_POSTCODES = ["sw1a1aa", " M1 1ae ", "LS6-3QE", "B12 9XY", "4223", "x", "", None, "EC1A1BB", "M1A 1AA",
                     "9A 1AA", "M11AA1", "QA22  7YA", "1234567890AB", "Zoë 12"]


def test_vectorised_name_cleaning_equals_the_reference_rule():
    assert clean_names(np.array(AWKWARD_NAMES, dtype=object)) == [clean_name(v) for v in AWKWARD_NAMES]


def test_numeric_postcodes_keep_unit_sector_and_district():
    long_codes: dict[str, int] = {}
    codes = postcode_codes(pa.array(AWKWARD_POSTCODES, type=pa.string()), len(AWKWARD_POSTCODES), long_codes)
    for value, unit, sector, district in zip(AWKWARD_POSTCODES, postcode_text(codes.unit, long_codes),
                                             postcode_text(codes.sector, long_codes), postcode_text(codes.district, long_codes), strict=True):
        expected = [None if v is None else v.replace(" ", "") for v in postcode_levels(value)[:3]]
        assert [unit, sector, district] == expected, value


def test_parquet_row_groups_with_their_own_dictionaries(tmp_path):
    path = tmp_path / "npd.parquet"
    frame = pd.DataFrame({"upn": [f"A{i:012d}" for i in range(6)], "forename": ["Amy", "Bob", "Amy", "Cai", None, "Bob"],
                          "surname": ["Khan"] * 6, "date_of_birth": ["2009-01-05"] * 6, "postcode": ["M1 1AA"] * 6})
    writer = pq.ParquetWriter(path, pa.Table.from_pandas(frame.iloc[:3], preserve_index=False).schema)
    writer.write_table(pa.Table.from_pandas(frame.iloc[:3], preserve_index=False))
    writer.write_table(pa.Table.from_pandas(frame.iloc[3:], preserve_index=False))
    writer.close()
    spine = read_spine(path, "upn")
    assert pq.ParquetFile(path).num_row_groups == 2
    values = np.append(spine.values["forename"], None)[spine.codes["forename"]]
    assert values.tolist() == frame["forename"].tolist()
    assert len(set(spine.values["forename"])) == len(spine.values["forename"])  # merged dictionaries are distinct
    pd.testing.assert_frame_equal(spine.frame(np.array([4, 1])).reset_index(drop=True),
                                  frame.iloc[[4, 1]].astype(object).reset_index(drop=True).where(frame.iloc[[4, 1]].notna().reset_index(drop=True), None),
                                  check_dtype=False)


@pytest.mark.parametrize("keys", [["A0000000000001", "A0000000000002", "A0000000000001"], ["1", "22", "1"]])
def test_duplicate_keys_in_parquet_are_named(tmp_path, keys):
    path = tmp_path / "npd.parquet"
    pd.DataFrame({"upn": keys, "surname": ["x", "y", "z"]}).to_parquet(path, index=False)
    with pytest.raises(InputError, match="duplicate key") as caught:
        read_spine(path, "upn")
    assert caught.value.rows == [0, 2] and caught.value.values == [keys[0], keys[0]]


def _parquet_in_row_groups(path, frame, size):
    writer = pq.ParquetWriter(path, pa.Schema.from_pandas(frame, preserve_index=False))
    for start in range(0, len(frame), size):
        writer.write_table(pa.Table.from_pandas(frame.iloc[start:start + size], preserve_index=False))
    writer.close()


def test_keys_checked_across_row_groups_and_trimmed(tmp_path):
    path = tmp_path / "npd.parquet"
    keys = [f"K{i:012d}" for i in range(2000)]
    _parquet_in_row_groups(path, pd.DataFrame({"upn": keys, "surname": ["x"] * 2000}), 300)
    spine = read_spine(path, "upn")
    assert spine.key_list(np.array([0, 1999])).tolist() == [keys[0], keys[1999]]
    # The same key in two row groups, once with white space around it: a duplicate once trimmed.
    keys[1500] = f" {keys[10]}\t"
    _parquet_in_row_groups(path, pd.DataFrame({"upn": keys, "surname": ["x"] * 2000}), 300)
    with pytest.raises(InputError, match="duplicate key") as caught:
        read_spine(path, "upn")
    assert caught.value.rows == [10, 1500]
    # Keys of one length whose bytes differ only in order are not duplicates.
    _parquet_in_row_groups(path, pd.DataFrame({"upn": ["AB12", "BA21", "12AB", "21BA"], "surname": ["x"] * 4}), 2)
    assert len(read_spine(path, "upn")) == 4


def test_empty_and_missing_keys(tmp_path):
    path = tmp_path / "npd.parquet"
    pd.DataFrame({"upn": ["a", " ", None], "surname": ["x", "y", "z"]}).to_parquet(path, index=False)
    with pytest.raises(InputError, match="empty key") as caught:
        read_spine(path, "upn")
    assert caught.value.rows == [1, 2]
    pd.DataFrame({"id": ["a"]}).to_parquet(path, index=False)
    with pytest.raises(InputError, match="missing key column 'upn'"):
        read_spine(path, "upn")


def test_dates_stored_as_dates_and_numbers_as_numbers(tmp_path):
    path = tmp_path / "survey.parquet"
    pd.DataFrame({"survey_id": [1, 2], "date_of_birth": pd.to_datetime(["2009-03-12", None]),
                  "school_urn": [100001.0, np.nan]}).to_parquet(path, index=False)
    spine = read_spine(path, "survey_id")
    assert spine.key_list().tolist() == ["1", "2"]
    features = encode_frames(pd.DataFrame({"survey_id": ["s"], "date_of_birth": ["2009-03-12"], "school_urn": ["100001"]}),
                             pd.DataFrame({"upn": ["n"], "date_of_birth": ["2009-03-12"], "school_urn": ["100001"]}))
    assert features.survey.year().tolist() == [2009]
    from sendlink.link.features import encode
    both = encode(spine, RawSpine.from_frame(pd.DataFrame({"upn": ["n"], "school_urn": ["100001"]}), "upn"))
    assert both.survey.year().tolist() == [2009, -1]
    assert both.survey.school()[0] == both.npd.school()[0] >= 0  # 100001.0 read as the URN 100001

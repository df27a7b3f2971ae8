"""Atomic, deterministic reading and writing of tables."""

import pandas as pd
import pytest

from sendlink.errors import InputError
from sendlink.io import StagedWrites, read_table, write_table


def test_csv_round_trip_keeps_leading_zeros_and_empty_cells(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("upn,postcode\n0012,QA1 2BD\n0034,\n")
    frame = read_table(path, dtype_str=True)
    assert frame["upn"].tolist() == ["0012", "0034"]
    assert pd.isna(frame.loc[1, "postcode"])


def test_write_is_deterministic(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    for name in ("one.parquet", "two.parquet", "one.csv", "two.csv"):
        write_table(frame, tmp_path / name)
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
    assert (tmp_path / "one.csv").read_text() == "a,b\n1,x\n2,\n"


def test_unknown_suffix_and_missing_file_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="unsupported file type"):
        read_table(tmp_path / "t.xlsx")
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "absent.csv")


def test_unreadable_parquet_names_the_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="broken.parquet.*cannot be read"):
        read_table(path)


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n")
    with pytest.raises(InputError, match="missing required column\\(s\\): b"):
        read_table(path, columns=["a", "b"])


def test_staged_writes_leave_nothing_when_the_stage_fails(tmp_path):
    old = tmp_path / "kept.csv"
    old.write_text("old\n")
    with pytest.raises(RuntimeError):
        with StagedWrites() as out:
            out.table(pd.DataFrame({"a": [1]}), tmp_path / "new.csv")
            out.text("new\n", old)
            raise RuntimeError("the stage failed half-way")
    assert old.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv"]


def test_staged_writes_put_everything_in_place_on_success(tmp_path):
    with StagedWrites() as out:
        out.table(pd.DataFrame({"a": [1]}), tmp_path / "sub" / "t.parquet")
        out.json({"b": 2, "a": 1}, tmp_path / "m.json")
    assert read_table(tmp_path / "sub" / "t.parquet")["a"].tolist() == [1]
    assert (tmp_path / "m.json").read_text() == '{\n  "a": 1,\n  "b": 2\n}\n'

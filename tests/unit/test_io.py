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


# --- permissions: owner-only unless published ------------------------------------------


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_files_are_owner_only_by_default_and_published_files_follow_the_umask(tmp_path):
    import os

    from sendlink.io import write_json, write_text

    umask = os.umask(0o022)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "new" / "deeper" / "private.csv")
        write_text("x", tmp_path / "private.txt")
        write_json({}, tmp_path / "public.json", private=False)
        with StagedWrites() as out:
            out.table(pd.DataFrame({"a": [1]}), tmp_path / "staged.parquet")
            out.text("x", tmp_path / "staged_public.md", private=False)
        with StagedWrites(private=False) as out:
            out.json({}, tmp_path / "published" / "summary.json")
    finally:
        os.umask(umask)
    assert _mode(tmp_path / "new" / "deeper" / "private.csv") == 0o600
    assert _mode(tmp_path / "new") == 0o700 and _mode(tmp_path / "new" / "deeper") == 0o700  # created for a private file
    assert _mode(tmp_path / "private.txt") == 0o600 and _mode(tmp_path / "staged.parquet") == 0o600
    assert _mode(tmp_path / "public.json") == 0o644 and _mode(tmp_path / "staged_public.md") == 0o644
    assert _mode(tmp_path / "published" / "summary.json") == 0o644 and _mode(tmp_path / "published") == 0o755


def test_rewriting_a_published_file_privately_makes_it_private(tmp_path):
    from sendlink.io import write_text

    write_text("x", tmp_path / "f.txt", private=False)
    write_text("y", tmp_path / "f.txt")
    assert _mode(tmp_path / "f.txt") == 0o600


def test_private_file_creates_owner_only_and_tightens_an_existing_file(tmp_path):
    from sendlink.io import private_file

    created = private_file(tmp_path / "reg" / "consent.sqlite")
    assert created.stat().st_size == 0 and _mode(created) == 0o600 and _mode(tmp_path / "reg") == 0o700
    wal = tmp_path / "reg" / "consent.sqlite-wal"
    wal.write_text("")
    wal.chmod(0o644)
    created.chmod(0o664)
    private_file(created, "-wal", "-shm")
    assert _mode(created) == 0o600 and _mode(wal) == 0o600


# --- temporaries: named for their writer, removed when their writer is gone ----------------


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temporaries_carry_the_writers_pid_and_stale_ones_are_removed(tmp_path, caplog):
    import os

    from sendlink.io import remove_stale_temporaries, stale_temporaries, temporary_file

    final = tmp_path / "links.csv"
    live = temporary_file(final)
    assert live.name.startswith(f".links.csv.{os.getpid()}.") and live.suffix == ".csv" and _mode(live) == 0o600
    dead = tmp_path / f".links.csv.{_dead_pid()}.abcd1234.csv"
    dead.write_text("survey_id\nS1\n")
    legacy = tmp_path / ".links.csv.k2j4h6g8.csv"  # the name before writers' ids were recorded
    legacy.write_text("old")
    unrelated = [tmp_path / ".links.csv.backup.csv", tmp_path / ".other.csv.12.abcd1234.csv", tmp_path / "links.csv.1.abcd1234.csv"]
    for path in unrelated:
        path.write_text("keep me")
    assert stale_temporaries(final) == sorted([dead, legacy])
    with caplog.at_level("WARNING"):
        assert remove_stale_temporaries([final]) == sorted([dead, legacy])
    assert not dead.exists() and not legacy.exists() and live.exists() and all(p.exists() for p in unrelated)
    assert "left by a run that was stopped" in caplog.text and dead.name in caplog.text


def test_temporaries_in_a_folder_are_found_below_it(tmp_path):
    from sendlink.io import temporaries_in

    (tmp_path / "npd").mkdir()
    (tmp_path / "npd" / ".spine.parquet.123.abcd1234.parquet").write_text("x")
    (tmp_path / ".manifest.json.abcdefgh.json").write_text("x")
    (tmp_path / ".hidden_notes.txt").write_text("x")
    assert temporaries_in(tmp_path) == [tmp_path / "manifest.json", tmp_path / "npd" / "spine.parquet"]


def test_a_failed_write_leaves_no_temporary(tmp_path):
    class Unwritable:
        def to_csv(self, *args, **kwargs):
            raise OSError("disk full")

    frame = pd.DataFrame({"a": [1]})
    frame.to_csv = Unwritable().to_csv  # type: ignore[method-assign]
    with pytest.raises(OSError):
        write_table(frame, tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


# --- spreadsheet formulas -------------------------------------------------------------------------

INJECTIONS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1)",
              "\t=1+1", "\r=1+1"]


def test_csv_cells_that_would_run_as_formulas_get_a_leading_quote(tmp_path):
    frame = pd.DataFrame({
        "text": [*INJECTIONS, "Khan", "-", "'=already quoted"],
        "number": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0, -8.0, 9.0],
        "text_number": ["-1.5", "+44", "1e-3", "-12", ".5", "-0,5", "x", "y", "z"],
    })
    path = tmp_path / "t.csv"
    write_table(frame, path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)  # as a spreadsheet would see the cells
    assert raw["text"].tolist()[:6] == ["'" + v for v in INJECTIONS]
    assert raw["text"].tolist()[6:] == ["Khan", "'-", "''=already quoted"]
    assert not any(v[0] in "=+-@\t\r" for v in raw["text"])  # nothing a spreadsheet would run
    assert raw["number"].tolist()[0] == "-1.5" and pd.read_csv(path)["number"].dtype == float  # numbers stay numbers
    assert raw["text_number"].tolist()[:6] == ["-1.5", "+44", "1e-3", "-12", ".5", "-0,5"]  # plain numbers untouched
    back = read_table(path)
    pd.testing.assert_frame_equal(back[["text", "number"]], frame[["text", "number"]])  # read back exactly
    assert read_table(path, dtype_str=True)["text"].tolist() == frame["text"].tolist()


def test_parquet_is_not_changed_and_column_names_are_cells_too(tmp_path):
    frame = pd.DataFrame({"=1+1": ["=2+2"]})
    write_table(frame, tmp_path / "t.parquet")
    assert pd.read_parquet(tmp_path / "t.parquet").equals(frame)
    write_table(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == "'=1+1\n'=2+2\n"
    assert read_table(tmp_path / "t.csv").equals(frame)


# --- outputs that would destroy an input ------------------------------------------------------------


def test_check_paths_refuses_an_output_that_is_an_input_or_another_output(tmp_path):
    import os

    from sendlink.errors import ParameterError
    from sendlink.io import check_paths

    survey = tmp_path / "survey.csv"
    survey.write_text("survey_id\nS1\n")
    (tmp_path / "link.csv").symlink_to(survey)
    os.link(survey, tmp_path / "hard.csv")
    check_paths({"--out": tmp_path / "links.csv", "--review-out": tmp_path / "review.csv"}, {"SURVEY": survey}, tables=("--out",))
    for out in (survey, tmp_path / "sub" / ".." / "survey.csv", tmp_path / "link.csv", tmp_path / "hard.csv"):
        with pytest.raises(ParameterError, match="same file as SURVEY"):
            check_paths({"--out": out}, {"SURVEY": survey})
    with pytest.raises(ParameterError, match="--out and --review-out are the same file"):
        check_paths({"--out": tmp_path / "x.csv", "--review-out": tmp_path / "x.csv"})
    with pytest.raises(ParameterError, match="unsupported file type '.xlsx'"):
        check_paths({"--out": tmp_path / "x.xlsx"}, tables=("--out",))
    with pytest.raises(ParameterError, match="is a folder"):
        check_paths({"--out": tmp_path})
    assert survey.read_text() == "survey_id\nS1\n"

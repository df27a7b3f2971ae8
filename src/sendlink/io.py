"""Reading and writing tables: CSV or Parquet by extension, never half-written.

Five promises hold for every file the project writes:

* **Atomic.** A file is written to a temporary name in the same folder and
  renamed into place, so a crash never leaves a truncated file behind.
  :class:`StagedWrites` extends this to a stage that writes several files:
  nothing is renamed into place until every file has been written.
* **No orphans.** A temporary file is named ``.<name>.<pid>.<random><suffix>``
  (hidden, beside its destination, with the writing process's id). A run
  killed between writing and renaming leaves one behind, a complete copy of
  what it was writing; every stage calls :func:`remove_stale_temporaries`
  on its outputs when it starts, which deletes the temporaries whose writer
  is no longer running (and says so in the log), never those of a run still
  in progress.
* **Private unless published.** Files are written owner-only (``0600``; a
  folder created for them ``0700``), the mode a temporary file starts with:
  identifiers, consent and keys are never readable by other users of the
  machine. Files meant for everyone (the research extract, the analysis
  tables, the summary, the reports) are written with ``private=False`` and
  get the ordinary permissions a plain ``open()`` would give (``0666``
  less the umask).
* **Safe in a spreadsheet.** In a CSV, a text cell that a spreadsheet would
  run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return: OWASP's "CSV injection") is written with a leading
  ``'``, which spreadsheets show as text and hide; numbers, and text that
  is a plain number (``-1.5``), are left alone (:func:`neutralise_formulas`).
  :func:`read_table` removes the quote again, so a CSV written here reads
  back to the same values.
* **Deterministic.** The same frame gives the same bytes: no index is
  written, CSV uses ``\\n`` line endings and ISO dates, Parquet uses fixed
  options.

:func:`check_paths` refuses, before any work, an output that is one of a
command's inputs or another of its outputs.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.errors import InputError, ParameterError

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".parquet")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(path, f"unsupported file type '{suffix}'; use .csv or .parquet")
    return suffix


def read_table(
    path: str | Path,
    *,
    columns: list[str] | None = None,
    dtype_str: bool = False,
) -> pd.DataFrame:
    """Read a CSV or Parquet table, choosing the reader by the file's extension.

    Parameters
    ----------
    path
        ``.csv`` or ``.parquet`` file.
    columns
        Read only these columns (all must exist).
    dtype_str
        Read every CSV column as text, so identifiers such as UPNs and
        postcodes keep leading zeros and dates are not guessed. Ignored for
        Parquet, which stores types.

    Raises
    ------
    InputError
        If the file is missing, unreadable, of an unknown type, or lacks a
        requested column.
    """
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(
                path,
                dtype=str if dtype_str else None,
                keep_default_na=not dtype_str,
                na_values=[""] if dtype_str else None,
                encoding="utf-8",
            )
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot be read as {suffix[1:].upper()}: {exc}") from exc
    except Exception as exc:  # pyarrow raises its own error types
        raise InputError(path, f"cannot be read as {suffix[1:].upper()}: {exc}") from exc
    if suffix == ".csv":
        frame = restore_formulas(frame)
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(path, f"missing required column(s): {', '.join(missing)}")
        frame = frame[columns]
    return frame


#: First characters that make a spreadsheet treat a cell as a formula (OWASP, "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def _needs_quote(value: str) -> bool:
    if not value:
        return False
    if value[0] == "'":  # already starts with the escape: quote it again, so reading back is exact
        return len(value) > 1 and (value[1] in FORMULA_TRIGGERS or value[1] == "'")
    return value[0] in FORMULA_TRIGGERS and not _PLAIN_NUMBER.fullmatch(value)


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns
            if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])
            or isinstance(frame[c].dtype, pd.CategoricalDtype)]


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell a spreadsheet would run as a formula made harmless.

    The OWASP rule for CSV injection: a text cell starting with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``
    (spreadsheets show the cell as text and hide the quote). Numeric
    columns are never changed, nor is text that is a plain number
    (``-1.5``, ``+44``), which a spreadsheet reads as a number and never
    runs. A cell that already starts with ``'`` followed by a trigger (or
    by another ``'``) gets one more, so :func:`restore_formulas` gives back
    exactly the original values. Column names are text cells too.

    Examples
    --------
    >>> frame = pd.DataFrame({"v": ["=HYPERLINK(1)", "@SUM(1)", "-1.5", "Khan"], "n": [-1, 2, 3, 4]})
    >>> neutralise_formulas(frame).to_dict("list")
    {'v': ["'=HYPERLINK(1)", "'@SUM(1)", '-1.5', 'Khan'], 'n': [-1, 2, 3, 4]}
    >>> restore_formulas(neutralise_formulas(frame)).equals(frame)
    True
    """
    columns = _text_columns(frame)
    renamed = {c: "'" + c for c in frame.columns if isinstance(c, str) and _needs_quote(c)}
    if not columns and not renamed:
        return frame
    out = frame.copy()
    for column in columns:
        values = out[column].astype(object)
        first = values.map(lambda v: v[:1] if isinstance(v, str) else "")
        candidates = first.isin([*FORMULA_TRIGGERS, "'"])
        if not candidates.any():
            continue
        flags = np.zeros(len(values), dtype=bool)
        flags[candidates.to_numpy()] = [_needs_quote(v) for v in values[candidates]]
        mask = pd.Series(flags, index=values.index)
        if mask.any():
            values = values.where(~mask, "'" + values[mask].astype(str))
            out[column] = values
    return out.rename(columns=renamed) if renamed else out


def _unquote(value: object) -> object:
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and (value[1] in FORMULA_TRIGGERS or value[1] == "'"):
        return value[1:]
    return value


def _quoted(values: pd.Series) -> pd.Series:
    """Cells starting with ``'`` (vectorised where the column is text)."""
    try:
        return values.str.startswith("'", na=False).astype(bool)
    except (AttributeError, TypeError):  # not a text column
        return values.map(lambda v: isinstance(v, str) and v[:1] == "'").astype(bool)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_formulas` on a CSV just read (the leading ``'`` it added goes)."""
    columns = [c for c in _text_columns(frame) if _quoted(frame[c]).any()]
    renamed = {c: _unquote(c) for c in frame.columns if isinstance(c, str) and _unquote(c) != c}
    if not columns and not renamed:
        return frame
    out = frame.copy()
    for column in columns:
        quoted = _quoted(out[column])
        out[column] = out[column].where(~quoted, out.loc[quoted, column].map(_unquote))
    return out.rename(columns=renamed) if renamed else out


def _has_carriage_return(frame: pd.DataFrame) -> bool:
    return any(frame[c].map(lambda v: isinstance(v, str) and "\r" in v).any() for c in _text_columns(frame))


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    suffix = _suffix(path)
    if suffix == ".csv":
        frame = neutralise_formulas(frame)
        # Lines end in "\n", so Python's csv writer would leave a cell holding a
        # carriage return unquoted, and readers would split the row there:
        # such (rare) files quote every cell.
        quoting = csv.QUOTE_ALL if _has_carriage_return(frame) else csv.QUOTE_MINIMAL
        frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8", date_format="%Y-%m-%d", quoting=quoting)
    else:
        frame.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


def _publishable(tmp: Path) -> None:
    # mkstemp creates files readable by the owner only; published files get
    # the ordinary permissions a plain open() would give them.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)


def make_folder(folder: Path, *, private: bool = True) -> Path:
    """Create ``folder`` and any missing parents; the ones created are ``0700`` when ``private``.

    Folders that exist already keep their mode (someone may have set it on
    purpose, e.g. a group-readable folder in a secure environment).
    """
    folder = Path(folder)
    missing = []
    for parent in (folder, *folder.parents):
        if parent.is_dir():
            break
        missing.append(parent)
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700 if private else 0o777)
        except FileExistsError:
            continue
        if private:
            os.chmod(path, 0o700)  # mkdir's mode is masked by the umask; be exact
    return folder


def private_file(path: str | Path, *companions: str) -> Path:
    """Make sure ``path`` (and ``path`` + each companion suffix, if present) is owner-only.

    For files written by a library rather than through this module (the
    consent register, which SQLite writes): a missing file is created empty
    with mode ``0600`` (SQLite then gives its ``-wal`` and ``-shm`` files the
    same mode), an existing one has group and other permissions removed.
    """
    path = Path(path)
    make_folder(path.parent, private=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for target in (path, *(path.with_name(path.name + c) for c in companions)):
        try:
            mode = target.stat().st_mode & 0o777
            if mode & 0o077:
                os.chmod(target, mode & 0o700)
        except FileNotFoundError:
            continue
    return path


def temporary_file(path: Path, *, private: bool = True) -> Path:
    """Create an empty temporary file for ``path`` (owner-only), named so it can be recognised.

    The name is ``.<name>.<pid>.<random><suffix>`` in the destination's
    folder: hidden, tied to the process writing it (see
    :func:`remove_stale_temporaries`), and with the destination's suffix so
    writers that pick a format from the name (pandas, pyarrow) write the
    right one.
    """
    make_folder(path.parent, private=private)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp_name)


#: The middle of a temporary's name: ``<pid>.<random>`` (:func:`temporary_file`) or, from older
#: versions, ``<random>`` alone; ``<random>`` is what :func:`tempfile.mkstemp` draws.
_TEMPORARY_MIDDLE = re.compile(r"(?:(\d+)\.)?([a-z0-9_]{8})")


def _temporary_of(candidate: Path, final: Path) -> tuple[bool, int | None]:
    """(whether ``candidate`` is a temporary of ``final``, its writer's process id or None)."""
    name, prefix, suffix = candidate.name, f".{final.name}.", final.suffix
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return False, None
    middle = name[len(prefix): len(name) - len(suffix)] if suffix else name[len(prefix):]
    match = _TEMPORARY_MIDDLE.fullmatch(middle)
    if match is None:
        return False, None
    return True, int(match.group(1)) if match.group(1) else None


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        # (os.kill(pid, 0) only asks on POSIX; on Windows it would end the
        # process, so there a temporary is never taken to be stale.)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def stale_temporaries(path: str | Path) -> list[Path]:
    """Temporary copies of ``path`` left by a writer that is no longer running.

    Names as :func:`temporary_file` makes them (and the older
    ``.<name>.<random><suffix>`` without a process id, always stale).
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        return []
    found = []
    for candidate in folder.iterdir():
        ours, pid = _temporary_of(candidate, path)
        if not ours or candidate.is_symlink() or not candidate.is_file():
            continue
        if pid is None or not _running(pid):
            found.append(candidate)
    return sorted(found)


_RANDOM = re.compile(r"[a-z0-9_]{8}")


def _destination_name(name: str) -> str | None:
    """The file a temporary named ``name`` stands for (None if ``name`` is not a temporary's name)."""
    if not name.startswith("."):
        return None
    body = name[1:]
    for suffix in dict.fromkeys((Path(body).suffix, "")):
        stem = body[: len(body) - len(suffix)] if suffix else body
        rest, dot, random = stem.rpartition(".")
        if not dot or not _RANDOM.fullmatch(random):
            continue
        head, dot, pid = rest.rpartition(".")
        for final in ((head,) if dot and pid.isdigit() else ()) + (rest,):
            if final and final.endswith(suffix) and final != suffix:
                return final
    return None


def temporaries_in(folder: str | Path) -> list[Path]:
    """The destinations of the temporaries below ``folder`` (for a stage whose outputs are a whole folder).

    Every hidden file named as :func:`temporary_file` names them gives the
    file it was a copy of; :func:`remove_stale_temporaries` on that list
    then removes those whose writer has stopped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    finals = set()
    for candidate in folder.rglob(".*"):
        final = _destination_name(candidate.name) if candidate.is_file() else None
        if final is not None:
            finals.add(candidate.with_name(final))
    return sorted(finals)


def remove_stale_temporaries(outputs: Iterable[str | Path]) -> list[Path]:
    """Delete the stale temporary copies of ``outputs`` (:func:`stale_temporaries`); return them.

    Each stage calls this on its outputs when it starts. A stale temporary
    is a complete copy of what a killed run was writing: after an erasure it
    may be the last file holding the erased person, so it is deleted, not
    kept, and each deletion is logged with the file's name.
    """
    removed = []
    for output in outputs:
        for tmp in stale_temporaries(output):
            try:
                tmp.unlink()
            except FileNotFoundError:  # another process removed it first
                continue
            log.warning("removed %s: a temporary copy of %s left by a run that was stopped before it finished", tmp, Path(output).name)
            removed.append(tmp)
    return removed


def _atomic(path: Path, writer: Callable[[Path], None], *, private: bool) -> None:
    tmp = temporary_file(path, private=private)
    try:
        writer(tmp)
        if not private:
            _publishable(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_table(frame: pd.DataFrame, path: str | Path, *, private: bool = True) -> Path:
    """Write ``frame`` to ``path`` (CSV or Parquet by extension), atomically; owner-only unless ``private=False``."""
    path = Path(path)
    _suffix(path)
    _atomic(path, lambda tmp: _write_frame(frame, tmp), private=private)
    log.debug("wrote %s (%d rows)", path, len(frame))
    return path


def write_text(text: str, path: str | Path, *, private: bool = True) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line endings, atomically; owner-only unless ``private=False``."""
    path = Path(path)
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"), private=private)
    return path


def write_json(obj: object, path: str | Path, *, private: bool = True) -> Path:
    """Write ``obj`` as indented, key-sorted JSON, atomically; owner-only unless ``private=False``."""
    return write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", path, private=private)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hexadecimal."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def check_paths(outputs: Mapping[str, str | Path | None], inputs: Mapping[str, str | Path | None] = {}, *,
                tables: Iterable[str] = ()) -> None:
    """Refuse, before any work, outputs that would destroy an input or each other.

    Parameters
    ----------
    outputs, inputs
        What each path is for (an option such as ``--out``, or a name) ->
        the path (``None`` entries are ignored).
    tables
        Names of ``outputs`` that must be tables (``.csv`` or ``.parquet``):
        their extension is checked here, not after the work.

    Raises
    ------
    ParameterError
        If an output is an input or another output (the same path once
        symbolic links and ``..`` are resolved, or a hard link to the same
        file), is an existing folder, or has the wrong extension.
    """
    outs = {k: Path(v) for k, v in outputs.items() if v is not None}
    ins = {k: Path(v) for k, v in inputs.items() if v is not None}
    for name in tables:
        if name in outs and outs[name].suffix.lower() not in TABLE_SUFFIXES:
            raise ParameterError(f"{name} {outs[name]}: unsupported file type '{outs[name].suffix}'; use .csv or .parquet")
    names = list(outs)
    for i, name in enumerate(names):
        path = outs[name]
        if path.is_dir():
            raise ParameterError(f"{name} {path} is a folder; give a file name")
        for other, source in ins.items():
            if _same_file(path, source):
                what = other if str(source) in (other, str(Path(other))) or Path(other).name == Path(source).name else f"{other} {source}"
                raise ParameterError(f"{name} {path} is the same file as {what}: writing it would destroy "
                                     "that input; choose another output file")
        for other in names[i + 1:]:
            if _same_file(path, outs[other]):
                raise ParameterError(f"{name} and {other} are the same file ({path}): one would replace the other; "
                                     "choose two different files")


class StagedWrites:
    """Collect a stage's outputs and put them in place only if all succeed.

    Use as a context manager. Each ``table``/``text``/``json`` call writes to
    a temporary file next to its destination; leaving the block normally
    renames them all into place, leaving it with an exception deletes them,
    so a failing stage leaves the previous outputs untouched. Files are
    owner-only unless ``private=False`` (for the whole block, or per call).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with StagedWrites() as out:
    ...     _ = out.table(pd.DataFrame({"survey_id": ["S1"], "upn": ["A1"]}), folder / "links.csv")
    ...     _ = out.json({"rows": 1}, folder / "summary.json")
    >>> sorted(p.name for p in folder.iterdir())
    ['links.csv', 'summary.json']
    >>> with StagedWrites() as out:  # a failure half way: nothing is put in place
    ...     _ = out.json({"rows": 2}, folder / "summary.json")
    ...     raise RuntimeError("the stage failed")
    Traceback (most recent call last):
    RuntimeError: the stage failed
    >>> json.loads((folder / "summary.json").read_text())  # the earlier file, untouched
    {'rows': 1}
    """

    def __init__(self, *, private: bool = True) -> None:
        self.private = private
        self._pending: list[tuple[Path, Path, bool]] = []

    def __enter__(self) -> StagedWrites:
        return self

    def _stage(self, path: str | Path, writer: Callable[[Path], None], private: bool | None) -> Path:
        path = Path(path)
        private = self.private if private is None else private
        tmp = temporary_file(path, private=private)
        self._pending.append((tmp, path, private))
        writer(tmp)
        return path

    def temporary(self, path: str | Path) -> Path:
        """Where ``path`` is staged (to read back what was written, e.g. to hash it)."""
        final = Path(path)
        for tmp, target, _ in self._pending:
            if target == final:
                return tmp
        raise KeyError(f"{path} is not staged")

    def table(self, frame: pd.DataFrame, path: str | Path, *, private: bool | None = None) -> Path:
        """Stage a table (CSV or Parquet by the destination's extension)."""
        _suffix(Path(path))
        return self._stage(path, lambda tmp: _write_frame(frame, tmp), private)

    def text(self, text: str, path: str | Path, *, private: bool | None = None) -> Path:
        """Stage a UTF-8 text file."""
        return self._stage(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"), private)

    def json(self, obj: object, path: str | Path, *, private: bool | None = None) -> Path:
        """Stage a JSON file (indented, keys sorted)."""
        text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        return self.text(text, path, private=private)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            for tmp, final, private in self._pending:
                if not private:
                    _publishable(tmp)
                os.replace(tmp, final)
                log.debug("wrote %s", final)
        else:
            for tmp, _, _ in self._pending:
                tmp.unlink(missing_ok=True)
        self._pending.clear()


@contextlib.contextmanager
def staged(*, private: bool = True) -> Iterator[StagedWrites]:
    """Functional spelling of :class:`StagedWrites`."""
    with StagedWrites(private=private) as out:
        yield out

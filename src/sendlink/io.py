"""Reading and writing tables: CSV or Parquet by extension, never half-written.

Two promises hold for every file the project writes:

* **Atomic.** A file is written to a temporary name in the same folder and
  renamed into place, so a crash never leaves a truncated file behind.
  :class:`StagedWrites` extends this to a stage that writes several files:
  nothing is renamed into place until every file has been written.
* **Deterministic.** The same frame gives the same bytes: no index is
  written, CSV uses ``\\n`` line endings and ISO dates, Parquet uses fixed
  options.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from sendlink.errors import InputError

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
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(path, f"missing required column(s): {', '.join(missing)}")
        frame = frame[columns]
    return frame


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    suffix = _suffix(path)
    if suffix == ".csv":
        frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8", date_format="%Y-%m-%d")
    else:
        frame.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


def _publishable(tmp: Path) -> None:
    # mkstemp creates files readable by the owner only; published files get
    # the ordinary permissions a plain open() would give them.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)


def _atomic(path: Path, writer: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file keeps the destination's suffix so writers that pick
    # a format from the name (pandas, pyarrow) write the right one.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        _publishable(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` (CSV or Parquet by extension), atomically."""
    path = Path(path)
    _suffix(path)
    _atomic(path, lambda tmp: _write_frame(frame, tmp))
    log.debug("wrote %s (%d rows)", path, len(frame))
    return path


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line endings, atomically."""
    path = Path(path)
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))
    return path


def write_json(obj: object, path: str | Path) -> Path:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    return write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", path)


class StagedWrites:
    """Collect a stage's outputs and put them in place only if all succeed.

    Use as a context manager. Each ``table``/``text``/``json`` call writes to
    a temporary file next to its destination; leaving the block normally
    renames them all into place, leaving it with an exception deletes them,
    so a failing stage leaves the previous outputs untouched.

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

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def __enter__(self) -> StagedWrites:
        return self

    def _stage(self, path: str | Path, writer: Callable[[Path], None]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        self._pending.append((tmp, path))
        writer(tmp)
        return path

    def table(self, frame: pd.DataFrame, path: str | Path) -> Path:
        """Stage a table (CSV or Parquet by the destination's extension)."""
        _suffix(Path(path))
        return self._stage(path, lambda tmp: _write_frame(frame, tmp))

    def text(self, text: str, path: str | Path) -> Path:
        """Stage a UTF-8 text file."""
        return self._stage(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))

    def json(self, obj: object, path: str | Path) -> Path:
        """Stage a JSON file (indented, keys sorted)."""
        text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        return self.text(text, path)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            for tmp, final in self._pending:
                _publishable(tmp)
                os.replace(tmp, final)
                log.debug("wrote %s", final)
        else:
            for tmp, _ in self._pending:
                tmp.unlink(missing_ok=True)
        self._pending.clear()


@contextlib.contextmanager
def staged() -> Iterator[StagedWrites]:
    """Functional spelling of :class:`StagedWrites`."""
    with StagedWrites() as out:
        yield out

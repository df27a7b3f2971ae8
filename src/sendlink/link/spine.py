"""The linkage spine: reading it, checking it, holding it as codes (docs/DESIGN.md section 4).

A spine is one file per side: the survey side keyed by ``survey_id``, the
NPD side by ``upn``, each with any of the identifier columns
(``forename, middle_names, surname, date_of_birth, sex, postcode,
school_urn``; CSV or Parquet, by extension). :func:`read_spine` reads one
into a :class:`RawSpine` and :func:`check_spine` checks a DataFrame's key;
both raise :class:`~sendlink.errors.InputError` naming the file, the key
column and example rows when the key is missing, empty or duplicated.
:func:`check_columns` warns, loudly, when the two sides have nothing to
compare.

A :class:`RawSpine` holds one ``int32`` code per record and column into the
column's *distinct* raw values, exactly what Parquet's dictionary encoding
stores, so a 9.1-million-row NPD spine is read without creating a Python
string per cell; :mod:`sendlink.link.features` standardises and encodes
those distinct values.

Assumptions: a spine's key column is text (numbers are turned into text)
and unique; identifier columns are text, except ``date_of_birth``, which may
also be a date or timestamp column (Parquet ``date32``, pandas datetimes).
A column of lists, structures or maps (one value per record is the
contract) and a file of 0 bytes are refused, naming the file and column; an
NPD spine with no records is refused by :func:`require_records` (nothing
could ever match); a date of birth after today is impossible, and is
treated as missing, with a warning (:func:`without_future_dates`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sendlink.errors import InputError
from sendlink.link.arrays import map_chunks, threads, use_arrow_pool
from sendlink.schema.spine import IDENTIFIER_COLUMNS, NPD_KEY, SURVEY_KEY

__all__ = ["NPD_KEY", "PLAIN_COLUMNS", "SURVEY_KEY", "RawSpine", "as_array", "check_columns", "check_spine", "read_spine",
           "require_records", "without_future_dates"]

log = logging.getLogger(__name__)

#: Identifier columns kept as one string per record rather than dictionary-encoded.
PLAIN_COLUMNS = ("postcode",)


def _nested(kind: pa.DataType) -> bool:
    return pa.types.is_nested(kind) or (pa.types.is_dictionary(kind) and pa.types.is_nested(kind.value_type))


def _refuse_nested_frame(frame: pd.DataFrame, columns: list[str], source: str | Path) -> None:
    for column in columns:
        if column not in frame.columns or frame[column].dtype != object:
            continue
        values = frame[column]
        bad = values.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray))).to_numpy(dtype=bool)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise InputError(source, "holds lists or records, not one value per record (the spine contract: "
                             "one text value per cell)", column=column, rows=rows.tolist(),
                             values=[values.iloc[r] for r in rows[:5]])


def check_spine(frame: pd.DataFrame, key: str, source: str | Path) -> pd.DataFrame:
    """Check a spine's key column: present, no empty values, no duplicates.

    Raises
    ------
    InputError
        Naming ``source``, the key column and example rows.
    """
    if key not in frame.columns:
        if frame.columns.empty and frame.empty:
            return pd.DataFrame({key: pd.Series(dtype=str)})
        hint = ""
        if len(frame.columns) == 1 and any(sep in str(frame.columns[0]) for sep in ";\t|"):
            hint = "; the file looks delimited by something other than commas: save it as comma-separated CSV"
        raise InputError(source, f"missing key column '{key}' (columns: {', '.join(map(str, frame.columns))}){hint}", column=key)
    frame = frame.reset_index(drop=True)
    _refuse_nested_frame(frame, [key, *IDENTIFIER_COLUMNS], source)
    keys = frame[key]
    text = keys.astype(str).str.strip()
    empty = np.flatnonzero(keys.isna().to_numpy() | (text == "").to_numpy())
    if len(empty):
        raise InputError(source, "empty key", column=key, rows=empty.tolist())
    dup = np.flatnonzero(text.duplicated(keep=False).to_numpy())
    if len(dup):
        raise InputError(source, "duplicate key", column=key, rows=dup.tolist(), values=text.iloc[dup].tolist())
    frame = frame.copy()
    frame[key] = text
    return frame



@dataclass
class RawSpine:
    """A spine as recorded: its keys and, per identifier column, codes into distinct values.

    Attributes
    ----------
    key
        Name of the key column (``survey_id`` or ``upn``).
    keys
        The record keys as text (Arrow strings, in the chunks they were
        read in: 9.1 M keys cost ~150 MB this way, several times more as
        Python strings).
    codes
        Per identifier column present: ``int32`` code of each record's value
        into ``values[column]``, ``-1`` where missing.
    values
        Per identifier column: the distinct raw values (object array).
    plain
        Columns kept as Arrow strings, one per record (``postcode``: nearly
        one distinct value per household, so a dictionary would not save
        anything; it is standardised with vectorised byte operations).
    source
        Where the spine came from (named in error messages).
    ignored
        Columns of the file that are neither the key nor a spine column.
    """

    key: str
    keys: pa.Array | pa.ChunkedArray
    codes: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    plain: dict[str, pa.Array | pa.ChunkedArray] = field(default_factory=dict)
    source: str = "spine"
    ignored: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.keys)

    def present(self) -> tuple[str, ...]:
        """The spine's identifier columns present in this file, in contract order."""
        return tuple(c for c in IDENTIFIER_COLUMNS if c in self.codes or c in self.plain)

    def key_list(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Keys of the given rows (all when ``None``) as an object array of ``str``."""
        keys = self.keys if rows is None else self.keys.take(pa.array(np.asarray(rows, dtype=np.int64)))
        return np.asarray(keys.to_pylist(), dtype=object)

    def frame(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """The records at ``rows`` (all when ``None``) as recorded, missing as ``None``."""
        rows_ = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        out = {self.key: self.key_list(rows_)}
        take = pa.array(rows_, type=pa.int64())
        for column in IDENTIFIER_COLUMNS:
            if column in self.codes:
                table = np.append(self.values[column].astype(object), None)
                out[column] = table[self.codes[column][rows_]]
            elif column in self.plain:
                out[column] = np.asarray(self.plain[column].take(take).to_pylist(), dtype=object)
        return pd.DataFrame(out)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, key: str, source: str | Path = "spine") -> RawSpine:
        """Encode a DataFrame spine (its key is checked: present, non-empty, unique)."""
        frame = check_spine(frame, key, source)
        keys = pa.array(frame[key].astype(str).tolist(), type=pa.string())
        codes, values, plain = {}, {}, {}
        for column in IDENTIFIER_COLUMNS:
            if column not in frame.columns:
                continue
            series = frame[column]
            if column in PLAIN_COLUMNS:
                text = series.astype(object).where(series.notna(), None)
                plain[column] = pa.array([None if v is None else str(v) for v in text], type=pa.string())
                continue
            if series.dtype == object or pd.api.types.is_string_dtype(series):
                series = series.where(series.notna(), None)
            code, uniques = pd.factorize(series, use_na_sentinel=True)
            codes[column] = code.astype(np.int32)
            values[column] = np.asarray(uniques, dtype=object)
        return cls(key=key, keys=keys, codes=codes, values=values, plain=plain, source=str(source),
                   ignored=tuple(str(c) for c in frame.columns if c != key and c not in IDENTIFIER_COLUMNS))

    @classmethod
    def from_arrow(cls, table: pa.Table, key: str, source: str | Path = "spine") -> RawSpine:
        """Encode an Arrow table spine without creating a Python object per cell."""
        if key not in table.column_names:
            if table.num_columns == 0 and table.num_rows == 0:
                return cls(key=key, keys=pa.array([], pa.string()), codes={}, values={}, source=str(source))
            raise InputError(source, f"missing key column '{key}' (columns: {', '.join(table.column_names)})", column=key)
        for column in (key, *IDENTIFIER_COLUMNS):
            if column in table.column_names and _nested(table.schema.field(column).type):
                raise InputError(source, f"holds {table.schema.field(column).type} values, not one value per record "
                                 "(the spine contract: one text value per cell)", column=column)
        codes, values, plain = {}, {}, {}
        coded = [c for c in IDENTIFIER_COLUMNS if c in table.column_names and c not in PLAIN_COLUMNS]

        def unreadable(column: str, exc: Exception) -> InputError:
            return InputError(source, f"cannot be read as text ({table.schema.field(column).type}): {exc}", column=column)

        # The key check and each column's dictionary merge in threads (Arrow and numpy release the
        # interpreter lock): on a 9.1 M-pupil spine they would otherwise run one after another.
        with ThreadPoolExecutor(max_workers=min(threads(), len(coded) + 1)) as pool:
            merged = {c: pool.submit(_dictionary, table.column(c)) for c in coded}
            keys = _check_keys(table.column(key), key, source)
            for column in coded:
                try:
                    codes[column], values[column] = merged[column].result()
                except (pa.ArrowException, ValueError, TypeError) as exc:
                    raise unreadable(column, exc) from exc
        for column in IDENTIFIER_COLUMNS:
            if column in PLAIN_COLUMNS and column in table.column_names:
                try:
                    plain[column] = _text(table.column(column))  # kept in its chunks: coded chunk by chunk
                except (pa.ArrowException, ValueError, TypeError) as exc:
                    raise unreadable(column, exc) from exc
        return cls(key=key, keys=keys, codes=codes, values=values, plain=plain, source=str(source),
                   ignored=tuple(str(c) for c in table.column_names if c != key and c not in IDENTIFIER_COLUMNS))


def _text(array: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A column as Arrow strings (dates as ISO text, numbers as text)."""
    if isinstance(array, pa.ChunkedArray) and array.num_chunks == 0:
        return pa.array([], pa.string())
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return pc.strftime(array, format="%Y-%m-%d")
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return array.cast(pa.string())
    if not pa.types.is_string(kind):
        if pa.types.is_floating(kind):
            # Identifiers stored as floats (a URN read as a number): whole numbers as integers.
            whole = pc.equal(array, pc.floor(array))
            array = pc.if_else(whole, array.cast(pa.int64(), safe=False).cast(pa.string()), array.cast(pa.string()))
            return array
        return array.cast(pa.string())
    return array


def as_array(array: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One Arrow array from a chunked one (without copying when there is one chunk)."""
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array


def _dictionary(array: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """int32 codes (-1 = null) and distinct values of a column.

    A column read dictionary-encoded from Parquet has one dictionary per
    row group; they are merged here by encoding their concatenation (small:
    distinct values per row group), not by decoding the column.
    """
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    if chunks and all(pa.types.is_dictionary(c.type) for c in chunks):
        dictionaries = [_text(c.dictionary) for c in chunks]
        sizes = np.array([len(d) for d in dictionaries], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        merged = pc.dictionary_encode(pa.concat_arrays(dictionaries)) if len(dictionaries) else None
        mapping = merged.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
        codes = np.empty(sum(len(c) for c in chunks), dtype=np.int32)
        position = 0
        for i, chunk in enumerate(chunks):
            local = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            codes[position:position + len(local)] = np.where(local >= 0, mapping[np.clip(local, 0, None) + offsets[i]], -1)
            position += len(local)
        return codes, np.asarray(merged.dictionary.to_pylist(), dtype=object)
    array = as_array(_text(array))
    encoded = pc.dictionary_encode(array)
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return indices, np.asarray(encoded.dictionary.to_pylist(), dtype=object)


#: Bytes a value may start or end with if it has white space to trim: ASCII white space, and any
#: byte of a multi-byte character (Unicode has other spaces; such values are simply trimmed).
_EDGE_BYTES = np.zeros(256, dtype=bool)
_EDGE_BYTES[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_EDGE_BYTES[128:] = True
_HASH_PRIME = np.uint64(0x100000001B3)  # FNV-1 64-bit prime: mixes one byte at a time


def _buffers(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's offsets (one more than values) and data bytes, without copying."""
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
    data = chunk.buffers()[2]
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


def _needs_trim(chunk: pa.Array) -> bool:
    """Whether any value may start or end with white space (looks at two bytes per value)."""
    offsets, data = _buffers(chunk)
    filled = np.flatnonzero(np.diff(offsets) > 0)
    return bool(len(filled)) and bool(_EDGE_BYTES[data[offsets[filled]]].any() or _EDGE_BYTES[data[offsets[filled + 1] - 1]].any())


def _digests(chunk: pa.Array, width: int) -> np.ndarray:
    """A 64-bit hash of each value of a string array whose values are all ``width`` bytes long."""
    offsets, data = _buffers(chunk)
    grid = data[offsets[0]:offsets[-1]].reshape(-1, width)
    digest = np.zeros(len(grid), dtype=np.uint64)
    for j in range(width):
        digest *= _HASH_PRIME
        digest ^= grid[:, j]
    return digest


def _duplicated(chunks: list[pa.Array]) -> bool | None:
    """Whether keys of one byte length hold a duplicate (None when they are not all one length).

    Each key is hashed from its bytes in place (no copy of the strings) and
    the hashes sorted; only keys with colliding hashes are compared as text.
    For 9.1 million UPNs this takes a fraction of a second, where a hash
    table of Arrow or Python strings takes several.
    """
    widths = set()
    for chunk in chunks:
        lengths = np.diff(_buffers(chunk)[0])
        if len(lengths):
            widths.update({int(lengths.min()), int(lengths.max())})
    if len(widths) != 1 or widths == {0}:
        return None if widths else False
    width = widths.pop()
    digest = np.concatenate(map_chunks(lambda a, b: _digests(chunks[a], width), len(chunks), chunk=1))
    ordered = np.sort(digest)
    collided = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(collided):
        return False
    rows = np.flatnonzero(np.isin(digest, collided))  # rare: compare the colliding keys as text
    values = pa.chunked_array(chunks).take(pa.array(rows)).to_pylist()
    return len(set(values)) < len(values)


def _check_keys(column: pa.ChunkedArray, key: str, source: str | Path) -> pa.ChunkedArray:
    """Keys as trimmed text; empty or duplicated keys raise :class:`InputError`."""
    text = _text(column)
    chunks = [pc.utf8_trim_whitespace(c) if _needs_trim(c) else c
              for c in (text.chunks if isinstance(text, pa.ChunkedArray) else [text])]
    text = pa.chunked_array(chunks, type=pa.string())
    if any(c.null_count or (len(c) and (np.diff(_buffers(c)[0]) == 0).any()) for c in chunks):
        empty = pc.or_(pc.is_null(text), pc.equal(text, "")).fill_null(True)
        rows = np.flatnonzero(empty.to_numpy(zero_copy_only=False))
        raise InputError(source, "empty key", column=key, rows=rows.tolist())
    duplicated = _duplicated(chunks)
    if duplicated is None:
        duplicated = pc.count_distinct(text).as_py() != len(text)
    if duplicated:
        codes = pc.dictionary_encode(text).combine_chunks().indices.to_numpy(zero_copy_only=False)
        counts = np.bincount(codes)
        dup = np.flatnonzero(counts[codes] > 1)
        raise InputError(source, "duplicate key", column=key, rows=dup.tolist(), values=text.take(pa.array(dup)).to_pylist())
    return text


def read_spine(path: str | Path, key: str) -> RawSpine:
    """Read a spine file (CSV or Parquet, by extension) as a :class:`RawSpine`.

    Parquet is read with Arrow, only the key and identifier columns, each
    dictionary-encoded as it is read, into Arrow's jemalloc pool
    (:func:`~sendlink.link.arrays.use_arrow_pool`); CSV through
    :func:`sendlink.io.read_table` (every column as text).

    Raises
    ------
    InputError
        Missing, unreadable or empty-keyed file, missing key column,
        duplicate keys.
    """
    from sendlink.io import read_table

    use_arrow_pool()
    path = Path(path)
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(path, "the file is empty (0 bytes): not even a header row; was it cut short when copied?")
    if path.suffix.lower() != ".parquet":
        return RawSpine.from_frame(read_table(path, dtype_str=True), key, path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        schema = pq.read_schema(path)
        wanted = [c for c in (key, *IDENTIFIER_COLUMNS) if c in schema.names]
        dictionary = [c for c in wanted if c != key and c not in PLAIN_COLUMNS
                      and (pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type))]
        table = pq.read_table(path, columns=wanted, read_dictionary=dictionary)
    except Exception as exc:  # pyarrow raises its own error types
        raise InputError(path, f"cannot be read as PARQUET: {exc}") from exc
    spine = RawSpine.from_arrow(table, key, path)
    spine.ignored = tuple(c for c in schema.names if c != key and c not in IDENTIFIER_COLUMNS)
    return spine


def require_records(spine: RawSpine, what: str) -> RawSpine:
    """Refuse a spine with no records (an NPD spine: nothing could ever be matched to it).

    Raises
    ------
    InputError
        Naming the spine's file.
    """
    if not len(spine):
        raise InputError(spine.source, f"the {what} has no records: nothing can be linked to it "
                         "(every survey record would come out unmatched)")
    return spine


def without_future_dates(spine: RawSpine, today: dt.date | None = None) -> RawSpine:
    """The spine with every date of birth after ``today`` treated as missing, with a warning.

    A date of birth in the future is impossible: a typing error (2031 for
    2013), a date of the survey entered in the wrong box, a corrupted file.
    Comparing it would only add noise, so it becomes missing for the
    comparison (as an impossible date such as 30 February already does);
    the warning gives the count and example records so someone can fix the
    source. The file and the clerical-review queue keep the value as
    recorded.

    Returns
    -------
    RawSpine
        ``spine`` itself when no date is in the future, else a copy with
        those records' date codes set to missing.
    """
    from sendlink.link.standardise import parse_dates

    column = "date_of_birth"
    if column not in spine.codes or not len(spine.values[column]):
        return spine
    today = today or dt.date.today()
    parsed = parse_dates(pd.Series(spine.values[column], dtype=object))
    valid = parsed["year"].to_numpy() >= 0
    ordinal = parsed["year"].to_numpy() * 10000 + parsed["month"].to_numpy() * 100 + parsed["day"].to_numpy()
    future = valid & (ordinal > today.year * 10000 + today.month * 100 + today.day)
    if not future.any():
        return spine
    codes = spine.codes[column]
    hit = np.flatnonzero((codes >= 0) & future[np.clip(codes, 0, None)])
    examples = ", ".join(f"{k} ({spine.values[column][codes[r]]})" for k, r in zip(spine.key_list(hit[:5]), hit[:5], strict=True))
    log.warning("%s: %d record(s) have a date of birth after today (%s), impossible: treated as missing for the "
                "comparison (e.g. %s%s)", spine.source, len(hit), today.isoformat(), examples,
                f", and {len(hit) - 5} more" if len(hit) > 5 else "")
    new_codes = codes.copy()
    new_codes[hit] = -1
    return dataclasses.replace(spine, codes={**spine.codes, column: new_codes})


def check_columns(survey: RawSpine, npd: RawSpine) -> list[str]:
    """Say which columns are ignored, and warn loudly when nothing can be compared.

    Any spine column may be absent (the linker is then less sure), and the
    contract says a key-only file gives a correct result: every record
    unmatched. But that result then says nothing about the people, so a file
    with rows and no spine column, or two files with no spine column in
    common, gets a warning naming the file, the columns it has and the ones
    expected (often the cause is a column called ``dob`` or ``first_name``).

    Returns
    -------
    list of str
        The warnings given (also logged).
    """
    expected = ", ".join(IDENTIFIER_COLUMNS)
    warnings = []
    for side in (survey, npd):
        missing = [c for c in IDENTIFIER_COLUMNS if c not in side.present()]
        if side.ignored and missing:
            warnings.append(f"{side.source}: column(s) {', '.join(side.ignored)} are not spine columns and are ignored; "
                            f"spine column(s) {', '.join(missing)} are absent (rename them if they hold the same thing)")
        elif side.ignored:
            log.info("%s: column(s) %s are not spine columns and are ignored", side.source, ", ".join(side.ignored))
        if len(side) and not side.present():
            warnings.append(f"{side.source}: no spine column to compare (expected any of: {expected}; found: "
                            f"{', '.join(side.ignored) or 'only the key'}); every record will be unmatched")
    if len(survey) and len(npd) and survey.present() and npd.present() and not set(survey.present()) & set(npd.present()):
        warnings.append(f"{survey.source} and {npd.source} have no spine column in common ({', '.join(survey.present())} "
                        f"against {', '.join(npd.present())}); every record will be unmatched")
    for message in warnings:
        log.warning("%s", message)
    return warnings

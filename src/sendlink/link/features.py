"""Spines as integer codes: read once, standardise each distinct value once.

Blocking and comparison never touch strings row by row. A spine is held as
one ``int32`` code per record and column into the column's *distinct* raw
values (:class:`RawSpine`), exactly what Parquet's dictionary encoding
stores, so a 9.1-million-row NPD spine is read without creating a Python
string per cell. Standardisation (:mod:`sendlink.link.standardise`) then runs
once per distinct value, and its results are small lookup tables indexed by
those codes (:class:`Side`); a record's standardised forename is
``table[code]``, computed only for the rows that need it.

Both sides share vocabularies (:class:`Features`): equal standardised names,
postcodes and schools get equal codes, so blocking is a join on integers and
string similarity is computed once per distinct pair of values. Missing is
code ``-1`` throughout.

Assumptions: a spine's key column is text (numbers are turned into text)
and unique; identifier columns are text, except ``date_of_birth``, which may
also be a date or timestamp column (Parquet ``date32``, pandas datetimes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import sparse

from sendlink.errors import InputError
from sendlink.link import standardise
from sendlink.link.standardise import IDENTIFIER_COLUMNS, SURNAME_PARTICLES, name_groups

__all__ = ["MAX_TOKENS", "Features", "Postcodes", "RawSpine", "Side", "encode", "encode_frames", "postcode_codes",
           "postcode_text", "read_spine"]

log = logging.getLogger(__name__)

#: How many middle names and surname parts are kept per record (more are
#: very rare; the extra ones are ignored).
MAX_TOKENS = 3

#: Dates of birth are coded as days since this date (small integers for blocking keys).
EPOCH = np.datetime64("1900-01-01", "D")

#: Identifier columns kept as one string per record rather than dictionary-encoded.
PLAIN_COLUMNS = ("postcode",)


# --------------------------------------------------------------------------- raw spines


@dataclass
class RawSpine:
    """A spine as recorded: its keys and, per identifier column, codes into distinct values.

    Attributes
    ----------
    key
        Name of the key column (``survey_id`` or ``upn``).
    keys
        The record keys as text (an Arrow string array: 9.1 M keys cost
        ~150 MB this way, several times more as Python strings).
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
    keys: pa.Array
    codes: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    plain: dict[str, pa.Array] = field(default_factory=dict)
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
        from sendlink.link.engine import check_spine

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
        keys = _check_keys(table.column(key), key, source)
        codes, values, plain = {}, {}, {}
        for column in IDENTIFIER_COLUMNS:
            if column not in table.column_names:
                continue
            if column in PLAIN_COLUMNS:
                text = _text(table.column(column))
                plain[column] = _single(text)
            else:
                codes[column], values[column] = _dictionary(table.column(column))
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


def _single(array: pa.ChunkedArray | pa.Array) -> pa.Array:
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
    array = _single(_text(array))
    encoded = pc.dictionary_encode(array)
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return indices, np.asarray(encoded.dictionary.to_pylist(), dtype=object)


def _duplicated_fixed_width(text: pa.Array) -> bool | None:
    """Whether short ASCII keys hold a duplicate (None when they cannot be checked this way).

    The keys are padded to a multiple of 8 bytes, read as 64-bit words,
    hashed and sorted; only colliding hashes are compared word by word. For
    9 million UPNs this takes under a second, where a hash table of Python
    or Arrow strings takes several.
    """
    if len(text) < 2 or text.null_count:
        return None
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset:text.offset + len(text) + 1]
    width = int(np.diff(offsets).max())
    if width == 0 or width > 64:
        return None
    width = -(-width // 8) * 8
    # Keys are trimmed, so never end in a space: padding with spaces keeps them distinct.
    padded = pc.utf8_rpad(text, width=width, padding=" ")
    offsets = np.frombuffer(padded.buffers()[1], dtype=np.int32)[padded.offset:padded.offset + len(padded) + 1]
    if (np.diff(offsets) != width).any():  # not ASCII: padding by characters is not by bytes
        return None
    words = np.frombuffer(padded.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].view(np.uint64).reshape(len(padded), -1)
    digest = words[:, 0].copy()
    for j in range(1, words.shape[1]):
        digest = digest * np.uint64(0x9E3779B97F4A7C15) ^ words[:, j]
    ordered = np.sort(digest)  # a plain sort of 64-bit integers is fast (radix); argsort is not
    collided = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(collided):
        return False
    rows = np.flatnonzero(np.isin(digest, collided))  # rare: check the colliding keys exactly
    rows = rows[np.lexsort((*(words[rows, j] for j in range(words.shape[1] - 1, -1, -1)), digest[rows]))]
    return bool((words[rows[1:]] == words[rows[:-1]]).all(axis=1).any())


def _check_keys(column: pa.ChunkedArray, key: str, source: str | Path) -> pa.Array:
    """Keys as trimmed text; empty or duplicated keys raise :class:`InputError`."""
    text = _single(_text(column))
    text = pc.utf8_trim_whitespace(text)
    empty = pc.or_(pc.is_null(text), pc.equal(text, "")).fill_null(True)
    if pc.any(empty).as_py():
        rows = np.flatnonzero(empty.to_numpy(zero_copy_only=False))
        raise InputError(source, "empty key", column=key, rows=rows.tolist())
    duplicated = _duplicated_fixed_width(text)
    if duplicated is None:
        duplicated = pc.count_distinct(text).as_py() != len(text)
    if duplicated:
        codes = pc.dictionary_encode(text).indices.to_numpy(zero_copy_only=False)
        counts = np.bincount(codes)
        dup = np.flatnonzero(counts[codes] > 1)
        raise InputError(source, "duplicate key", column=key, rows=dup.tolist(), values=text.take(pa.array(dup)).to_pylist())
    return text


def read_spine(path: str | Path, key: str) -> RawSpine:
    """Read a spine file (CSV or Parquet, by extension) as a :class:`RawSpine`.

    Parquet is read with Arrow, only the key and identifier columns, each
    dictionary-encoded as it is read; CSV through
    :func:`sendlink.io.read_table` (every column as text).

    Raises
    ------
    InputError
        Missing, unreadable or empty-keyed file, missing key column,
        duplicate keys.
    """
    from sendlink.io import read_table

    path = Path(path)
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


# --------------------------------------------------------------------------- standardised sides


def _sentinel(table: np.ndarray) -> np.ndarray:
    """The table with a row of ``-1`` appended, so that code ``-1`` looks up ``-1``."""
    if table.ndim == 1:
        return np.append(table, np.array([-1], dtype=table.dtype))
    return np.vstack([table, np.full((1, table.shape[1]), -1, dtype=table.dtype)])


@dataclass
class Side:
    """One side's standardised identifiers: per-record codes into small tables.

    ``codes[column]`` holds each record's code into the column's distinct raw
    values (``-1`` missing); the ``t_*`` tables map those distinct values to
    standardised codes (with a final ``-1`` row for missing). Methods give a
    standardised attribute for given rows (all rows when ``rows`` is None).
    """

    keys: pa.Array
    n: int
    codes: dict[str, np.ndarray]
    t_fn: np.ndarray  # forename value -> first given name (name code)
    t_fnfull: np.ndarray  # forename value -> all given names run together
    t_ftail: np.ndarray  # (U, MAX_TOKENS) forename value -> later given names
    t_mid: np.ndarray  # (U, MAX_TOKENS) middle_names value -> names
    t_sn: np.ndarray  # surname value -> surname run together
    t_snparts: np.ndarray  # (U, MAX_TOKENS) surname value -> parts without particles
    t_dob: np.ndarray  # date value -> days since 1900-01-01
    t_year: np.ndarray
    t_month: np.ndarray
    t_day: np.ndarray
    t_sex: np.ndarray  # 0 = F, 1 = M
    t_school: np.ndarray
    postcodes: Postcodes  # per record (not per distinct value)

    def __len__(self) -> int:
        return self.n

    def _get(self, column: str, table: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        codes = self.codes.get(column)
        if codes is None:
            size = self.n if rows is None else len(rows)
            return np.full((size, *table.shape[1:]), -1, dtype=table.dtype)
        return table[codes if rows is None else codes[rows]]

    def fn(self, rows=None):
        return self._get("forename", self.t_fn, rows)

    def fnfull(self, rows=None):
        return self._get("forename", self.t_fnfull, rows)

    def mid(self, rows=None):
        """Other given names: the forename field's later names and the middle names (n, 2 x MAX_TOKENS)."""
        return np.hstack([self._get("forename", self.t_ftail, rows), self._get("middle_names", self.t_mid, rows)])

    def sn(self, rows=None):
        return self._get("surname", self.t_sn, rows)

    def snparts(self, rows=None):
        return self._get("surname", self.t_snparts, rows)

    def dob(self, rows=None):
        return self._get("date_of_birth", self.t_dob, rows)

    def year(self, rows=None):
        return self._get("date_of_birth", self.t_year, rows)

    def month(self, rows=None):
        return self._get("date_of_birth", self.t_month, rows)

    def day(self, rows=None):
        return self._get("date_of_birth", self.t_day, rows)

    def sex(self, rows=None):
        return self._get("sex", self.t_sex, rows)

    def pc(self, rows=None):
        return self.postcodes.unit if rows is None else self.postcodes.unit[rows]

    def sector(self, rows=None):
        return self.postcodes.sector if rows is None else self.postcodes.sector[rows]

    def district(self, rows=None):
        return self.postcodes.district if rows is None else self.postcodes.district[rows]

    def school(self, rows=None):
        return self._get("school_urn", self.t_school, rows)

    def present(self, attribute: str) -> bool:
        """Whether any record has a value for this attribute (``fn``, ``pc``...)."""
        values = getattr(self, attribute)()
        return bool(len(values)) and bool((values >= 0).any())


@dataclass
class Features:
    """Both sides standardised, with shared vocabularies and per-name tables.

    Attributes
    ----------
    survey, npd
        The two sides.
    names
        Standardised name strings (given names, surnames and their parts),
        indexed by name codes.
    long_postcodes
        Compact postcodes too long to be coded as numbers, and their codes
        (see :func:`postcode_codes`).
    groups
        names x nickname/variant groups incidence matrix (0/1).
    name_sound
        Metaphone code of each name (``-1`` when it has none).
    name_initial
        First letter of each name, 0-25 (``-1`` otherwise).
    name_blocks
        CSR (``indptr``, ``indices``) from each name to its *forename blocking
        groups*: its nickname/variant groups, or a group of its own when it
        is in none.
    n_schools, n_sounds, n_name_blocks
        Vocabulary sizes (for combining blocking keys into integers).
    name_length
        Length of each name in characters (a forename of length 1 is an
        initial).
    """

    survey: Side
    npd: Side
    names: np.ndarray
    long_postcodes: dict[str, int]
    groups: sparse.csr_matrix
    name_sound: np.ndarray
    name_initial: np.ndarray
    name_blocks: tuple[np.ndarray, np.ndarray]
    n_schools: int = 0
    n_sounds: int = 0
    n_name_blocks: int = 0
    name_length: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    cache: dict = field(default_factory=dict)  # derived tables, computed once when first needed


def clean_names(values: np.ndarray) -> list[str]:
    """:func:`sendlink.link.standardise.clean_name` of each value, vectorised with Arrow.

    The same rules in the same order (NFKD, combining marks dropped, lower
    case, apostrophes removed, anything but a-z turned into one space); a
    test checks it against ``clean_name`` on awkward names.
    """
    if len(values) == 0:
        return []
    text = pa.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values], type=pa.string())
    text = pc.utf8_normalize(text, form="NFKD")
    text = pc.replace_substring_regex(text, pattern=r"\p{Mn}", replacement="")
    text = pc.utf8_lower(text)
    text = pc.replace_substring_regex(text, pattern="['\u2018\u2019\u02bc`\u00b4]", replacement="")
    text = pc.replace_substring_regex(text, pattern="[^a-z]+", replacement=" ")
    text = pc.utf8_trim_whitespace(text).fill_null("")
    return text.to_pylist()


def _name_tokens(values: np.ndarray) -> list[list[str]]:
    return [v.split() for v in clean_names(values)]


def _pad(rows: list[list[str]]) -> list[list[str | None]]:
    return [(r[:MAX_TOKENS] + [None] * MAX_TOKENS)[:MAX_TOKENS] for r in rows]


def _standard_names(raw: RawSpine) -> dict[str, object]:
    """Per distinct value: the standardised name strings (None = missing)."""
    out = {}
    fore = _name_tokens(raw.values.get("forename", np.array([], dtype=object)))
    out["fn"] = [t[0] if t else None for t in fore]
    out["fnfull"] = ["".join(t) or None for t in fore]
    out["ftail"] = _pad([t[1:] for t in fore])
    out["mid"] = _pad(_name_tokens(raw.values.get("middle_names", np.array([], dtype=object))))
    sur = _name_tokens(raw.values.get("surname", np.array([], dtype=object)))
    out["sn"] = ["".join(t) or None for t in sur]
    parts = []
    for tokens in sur:
        kept = [t for t in tokens if t not in SURNAME_PARTICLES] or tokens
        parts.append(kept)
    out["snparts"] = _pad(parts)
    return out


def _standard_dates(values: np.ndarray) -> tuple[np.ndarray, ...]:
    parsed = np.array([standardise._parse_date(v) for v in values] + [(-1, -1, -1)], dtype=np.int32).reshape(-1, 3)
    parsed = parsed[:-1]
    year, month, day = parsed[:, 0], parsed[:, 1], parsed[:, 2]
    ok = year >= 0
    days = np.full(len(values), -1, dtype=np.int32)
    if ok.any():
        stamp = (
            (year[ok] - 1970).astype("datetime64[Y]").astype("datetime64[M]")
            + (month[ok] - 1).astype("timedelta64[M]")
        ).astype("datetime64[D]") + (day[ok] - 1).astype("timedelta64[D]")
        days[ok] = (stamp - EPOCH).astype(np.int32)
    return days, year, month, day


#: Postcodes are coded as numbers: each character of the compact form
#: (letters and digits only, upper case) is a base-37 digit (0-9 -> 1-10,
#: A-Z -> 11-36), so the code of a unit is unique, its sector is the code
#: without the last two characters (``code // 37**2``) and its district
#: without the last three (``code // 37**3``). No hash table of millions of
#: strings is ever built. Compact forms longer than seven characters (not UK
#: postcodes) get codes from ``PC_LONG`` upwards, shared by both sides.
PC_BASE = 37
PC_WIDTH = 7
PC_LONG = PC_BASE ** PC_WIDTH
_PC_LUT = np.zeros(256, dtype=np.int64)
_PC_LUT[48:58] = np.arange(1, 11)
_PC_LUT[65:91] = np.arange(11, 37)
_PC_LUT8 = _PC_LUT.astype(np.int8)
_PC_CHARS = np.array(list(" 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


@dataclass
class Postcodes:
    """Postcode codes of one side: unit, sector and district per record (-1 = missing or not UK)."""

    unit: np.ndarray
    sector: np.ndarray
    district: np.ndarray


def postcode_codes(array: pa.Array | None, n: int, long_codes: dict[str, int]) -> Postcodes:
    """Standardise and code postcodes, one per record (vectorised over the string bytes).

    The rules of :func:`sendlink.link.standardise.postcode_levels`: upper
    case, everything but letters and digits dropped, then the UK pattern
    (``[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}``) gives the sector and the
    district; a value that is not a UK postcode keeps its compact form as the
    unit and has no sector or district. ``long_codes`` collects compact forms
    longer than :data:`PC_WIDTH` characters (rare) so both sides share them.
    """
    missing = np.full(n, -1, dtype=np.int64)
    if array is None or n == 0:
        return Postcodes(missing, missing.copy(), missing.copy())
    # ASCII upper case is enough: every other character is dropped below.
    text = _single(pc.ascii_upper(_single(array).cast(pa.string())))
    unit, uk = missing.copy(), np.zeros(n, dtype=bool)
    # Fast path, nearly every value: letters, digits and spaces only, 1-7 of
    # them once spaces are gone. Left-padded to 7 bytes they form an (n, 7)
    # byte matrix, coded without any per-byte index arrays.
    squeezed = pc.replace_substring(text, " ", "")
    length = pc.utf8_length(squeezed).fill_null(0).to_numpy(zero_copy_only=False)
    plain = pc.and_(pc.ascii_is_alnum(squeezed).fill_null(False), pc.less_equal(pc.utf8_length(squeezed), PC_WIDTH).fill_null(False))
    fast = np.flatnonzero(plain.to_numpy(zero_copy_only=False) & (length > 0))
    if len(fast):
        chosen = squeezed if len(fast) == n else squeezed.take(pa.array(fast))
        padded = _single(pc.utf8_lpad(chosen, width=PC_WIDTH, padding=" "))
        start = np.frombuffer(padded.buffers()[1], dtype=np.int32)[padded.offset]
        grid_bytes = np.frombuffer(padded.buffers()[2], dtype=np.uint8)[start:start + PC_WIDTH * len(fast)].reshape(-1, PC_WIDTH)
        if len(fast) == n:
            unit, uk = _postcode_grid(_PC_LUT8[grid_bytes])
        else:
            unit[fast], uk[fast] = _postcode_grid(_PC_LUT8[grid_bytes])
    if len(fast) == n:
        return Postcodes(unit, np.where(uk, unit // PC_BASE ** 2, -1), np.where(uk, unit // PC_BASE ** 3, -1))
    rest = np.flatnonzero(~(plain.to_numpy(zero_copy_only=False) & (length > 0)) & text.is_valid().to_numpy(zero_copy_only=False))
    step = 1 << 18  # records per batch: bounds the memory of the byte arrays
    for begin in range(0, len(rest), step):
        rows = rest[begin:begin + step]
        unit[rows], uk[rows] = _postcode_batch(text.take(pa.array(rows)))
    long_rows = np.flatnonzero(unit == -2)
    if len(long_rows):
        for row, value in zip(long_rows, text.take(pa.array(long_rows)).to_pylist(), strict=True):
            compact = "".join(ch for ch in value if ch.isascii() and ch.isalnum())
            unit[row] = PC_LONG + long_codes.setdefault(compact, len(long_codes))
    sector = np.where(uk, unit // PC_BASE ** 2, -1)
    district = np.where(uk, unit // PC_BASE ** 3, -1)
    return Postcodes(unit, sector, district)


def _postcode_batch(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Unit codes (-1 missing, -2 too long for a number) and UK-pattern flags of upper-cased strings."""
    n = len(text)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset:text.offset + n + 1].astype(np.int64)
    lengths = np.diff(offsets)
    if text.null_count:
        lengths = np.where(text.is_null().to_numpy(zero_copy_only=False), 0, lengths)
    data_buffer = text.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    total = int(lengths.sum())
    owner = np.repeat(np.arange(n, dtype=np.int32), lengths)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    values = _PC_LUT[data[np.repeat(offsets[:-1], lengths) + within]].astype(np.int8) if total else np.zeros(0, np.int8)
    keep = values > 0
    owner, values = owner[keep], values[keep]
    size = np.bincount(owner, minlength=n)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(size) - size, size)
    from_end = size[owner] - 1 - rank
    short = size[owner] <= PC_WIDTH
    weights = values[short].astype(np.float64) * np.float64(PC_BASE) ** from_end[short]
    unit = np.bincount(owner[short], weights=weights, minlength=n).astype(np.int64)
    unit = np.where(size == 0, -1, np.where(size > PC_WIDTH, -2, unit))
    # Right-aligned characters of short forms, to check the UK pattern.
    grid = np.zeros((n, PC_WIDTH), dtype=np.int8)
    grid[owner[short], PC_WIDTH - 1 - from_end[short]] = values[short]
    _, uk = _postcode_grid(grid)
    return unit, uk & (size <= PC_WIDTH)


def _postcode_grid(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit codes and UK-pattern flags of right-aligned base-37 digits (0 = padding)."""
    unit = grid[:, 0].astype(np.int64)
    for j in range(1, PC_WIDTH):
        unit *= PC_BASE
        unit += grid[:, j]
    size = PC_WIDTH - np.argmax(grid > 0, axis=1)  # right-aligned: the first non-padding column
    size = np.where(unit > 0, size, 0)
    unit = np.where(size > 0, unit, -1)

    def digit(j: int) -> np.ndarray:
        return (grid[:, j] >= 1) & (grid[:, j] <= 10)

    def letter(j: int) -> np.ndarray:
        return grid[:, j] >= 11

    alnum3 = grid[:, 3] >= 1
    inward = digit(4) & letter(5) & letter(6)
    uk = inward & (
        ((size == 5) & letter(2) & digit(3))
        | ((size == 6) & letter(1) & ((letter(2) & digit(3)) | (digit(2) & alnum3)))
        | ((size == 7) & letter(0) & letter(1) & digit(2) & alnum3)
    )
    return unit, uk


def postcode_text(codes: np.ndarray, long_codes: dict[str, int]) -> list[str | None]:
    """The compact postcode of each code (inverse of :func:`postcode_codes`), vectorised."""
    codes = np.asarray(codes, dtype=np.int64)
    digits = np.zeros((len(codes), PC_WIDTH), dtype=np.int64)
    rest = np.where((codes >= 0) & (codes < PC_LONG), codes, 0)
    for j in range(PC_WIDTH - 1, -1, -1):
        digits[:, j] = rest % PC_BASE
        rest //= PC_BASE
    # Left-align (drop the leading padding) so that the text is the postcode's own characters.
    lead = np.argmax(digits > 0, axis=1)
    column = np.arange(PC_WIDTH)[None, :] + lead[:, None]
    aligned = np.where(column < PC_WIDTH, np.take_along_axis(digits, np.minimum(column, PC_WIDTH - 1), axis=1), 0)
    ascii_bytes = np.frombuffer(("\0" + "".join(_PC_CHARS[1:])).encode(), dtype=np.uint8)
    text = ascii_bytes[aligned].astype(np.uint8).view(f"S{PC_WIDTH}").ravel().astype(f"U{PC_WIDTH}").tolist()
    out: list[str | None] = text
    special = np.flatnonzero((codes < 0) | (codes >= PC_LONG))
    if len(special):
        long_values = {v: k for k, v in long_codes.items()}
        for i in special.tolist():
            out[i] = None if codes[i] < 0 else long_values.get(int(codes[i]) - PC_LONG)
    return out


def _vocab(*arrays: list) -> tuple[np.ndarray, list[np.ndarray]]:
    """Shared vocabulary of several lists of strings (None = missing) and each list's codes."""
    flat = pd.Series([v for arr in arrays for v in arr], dtype=object)
    codes, uniques = pd.factorize(flat, use_na_sentinel=True)
    out, start = [], 0
    for arr in arrays:
        out.append(codes[start:start + len(arr)].astype(np.int32))
        start += len(arr)
    return np.asarray(uniques, dtype=object), out


def _letter(name: str) -> int:
    c = ord(name[0]) - 97 if name else -1
    return c if 0 <= c < 26 else -1


def warn_unreadable(raw: RawSpine, column: str, unreadable: np.ndarray, expected: str) -> int:
    """Log how many records hold a value of ``column`` that standardises to missing.

    A blank cell is missing on purpose; a value that is there but cannot be
    read (a date in an unexpected format, a sex coded 1/2) is evidence lost,
    and nobody should lose it without being told.

    Parameters
    ----------
    unreadable
        Per distinct raw value of the column (``raw.values[column]``): True
        where it standardised to missing.

    Returns
    -------
    int
        The number of records affected.
    """
    codes = raw.codes.get(column)
    if codes is None or not len(unreadable) or not unreadable.any():
        return 0
    values = raw.values[column]
    bad = unreadable & np.array([str(v).strip() != "" for v in values], dtype=bool)
    if not bad.any():
        return 0
    records = int(np.append(bad, False)[codes].sum())
    examples = ", ".join(repr(str(v)) for v in values[bad][:3])
    log.warning("%s: %d of %d record(s) have a %s that cannot be read as %s (for example %s); "
                "they count as missing", raw.source, records, len(raw), column, expected, examples)
    return records


def encode(survey: RawSpine, npd: RawSpine) -> Features:
    """Standardise two raw spines and encode them with shared vocabularies.

    Every standardisation rule of :mod:`sendlink.link.standardise` runs once
    per distinct raw value of each side; nothing here loops over records.
    """
    sides = (survey, npd)
    names = [_standard_names(raw) for raw in sides]
    name_lists = []
    for std in names:
        name_lists += [std["fn"], std["fnfull"], [t for row in std["ftail"] for t in row],
                       [t for row in std["mid"] for t in row], std["sn"], [t for row in std["snparts"] for t in row]]
    vocab, coded = _vocab(*name_lists)
    per_side = [coded[0:6], coded[6:12]]

    long_postcodes: dict[str, int] = {}
    pcs = [postcode_codes(raw.plain.get("postcode"), len(raw), long_postcodes) for raw in sides]
    schools = [[standardise._clean_urn(v) for v in raw.values.get("school_urn", [])] for raw in sides]
    _, (sch_s, sch_n) = _vocab(*schools)
    n_schools = int(max(sch_s.max(initial=-1), sch_n.max(initial=-1)) + 1)
    sex_map = {"F": 0, "M": 1}

    built = []
    for raw, codes6, postcodes, sch_c in zip(sides, per_side, pcs, (sch_s, sch_n), strict=True):
        fn, fnfull, ftail, mid, sn, snparts = codes6
        days, year, month, day = _standard_dates(raw.values.get("date_of_birth", np.array([], dtype=object)))
        sex = np.array([sex_map.get(standardise._clean_sex(v), -1) for v in raw.values.get("sex", [])], dtype=np.int8)
        warn_unreadable(raw, "date_of_birth", year < 0, "a date (YYYY-MM-DD, YYYYMMDD, DD/MM/YYYY or 5 Jan 2009)")
        warn_unreadable(raw, "sex", sex < 0, "F or M (or female/male, girl/boy)")
        built.append(Side(
            keys=raw.keys, n=len(raw), codes=raw.codes,
            t_fn=_sentinel(fn), t_fnfull=_sentinel(fnfull), t_ftail=_sentinel(ftail.reshape(-1, MAX_TOKENS)),
            t_mid=_sentinel(mid.reshape(-1, MAX_TOKENS)), t_sn=_sentinel(sn), t_snparts=_sentinel(snparts.reshape(-1, MAX_TOKENS)),
            t_dob=_sentinel(days), t_year=_sentinel(year), t_month=_sentinel(month), t_day=_sentinel(day),
            t_sex=_sentinel(sex), t_school=_sentinel(sch_c), postcodes=postcodes,
        ))

    # Per-name tables: phonetic code, initial, nickname/variant groups.
    sounds = pd.Series([jellyfish.metaphone(str(n)) or None for n in vocab], dtype=object)
    sound_codes, sound_uniques = pd.factorize(sounds, use_na_sentinel=True)
    initials = np.array([_letter(str(n)) for n in vocab], dtype=np.int32)
    rows, cols, labels = [], [], {}
    for i, name in enumerate(vocab):
        for label in sorted(name_groups(str(name))):
            rows.append(i)
            cols.append(labels.setdefault(label, len(labels)))
    groups = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int8), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(vocab), max(len(labels), 1)),
    )
    # Forename blocking groups: a name's nickname/variant groups, or its own group.
    in_none = np.flatnonzero(np.diff(groups.indptr) == 0)
    own = sparse.csr_matrix(
        (np.ones(len(in_none), dtype=np.int8), (in_none, np.arange(len(in_none)))),
        shape=(len(vocab), len(in_none)),
    )
    blocks = sparse.hstack([groups[:, :len(labels)], own], format="csr")
    blocks.sort_indices()
    return Features(
        survey=built[0], npd=built[1], names=vocab, long_postcodes=long_postcodes, groups=groups,
        name_sound=sound_codes.astype(np.int32), name_initial=initials,
        name_length=np.array([len(str(n)) for n in vocab], dtype=np.int32),
        name_blocks=(blocks.indptr.astype(np.int64), blocks.indices.astype(np.int64)),
        n_schools=n_schools,
        n_sounds=len(sound_uniques), n_name_blocks=int(blocks.shape[1]),
    )


def encode_frames(survey: pd.DataFrame, npd: pd.DataFrame, survey_key: str = "survey_id", npd_key: str = "upn") -> Features:
    """Encode two DataFrame spines (a convenience for tests and small data)."""
    return encode(RawSpine.from_frame(survey, survey_key, "survey spine"), RawSpine.from_frame(npd, npd_key, "NPD spine"))

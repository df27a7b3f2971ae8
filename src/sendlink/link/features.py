"""Spines as integer codes: standardise each distinct value once.

Blocking and comparison never touch strings row by row. A spine is read as
one ``int32`` code per record and column into the column's *distinct* raw
values (:class:`~sendlink.link.spine.RawSpine`, :mod:`sendlink.link.spine`).
Standardisation (:mod:`sendlink.link.standardise`) then runs
once per distinct value, and its results are small lookup tables indexed by
those codes (:class:`Side`); a record's standardised forename is
``table[code]``, computed only for the rows that need it.

Both sides share vocabularies (:class:`Features`): equal standardised names,
postcodes and schools get equal codes, so blocking is a join on integers and
string similarity is computed once per distinct pair of values. Missing is
code ``-1`` throughout.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from sendlink.link import standardise
from sendlink.link.arrays import map_chunks
from sendlink.link.spine import RawSpine, as_array
from sendlink.link.standardise import SURNAME_PARTICLES, TRANSLITERATE, name_groups

__all__ = ["MAX_TOKENS", "Features", "Postcodes", "Side", "encode", "encode_frames", "postcode_codes", "postcode_digits", "postcode_text"]

log = logging.getLogger(__name__)

#: How many middle names and surname parts are kept per record (more are
#: very rare; the extra ones are ignored).
MAX_TOKENS = 3

#: Dates of birth are coded as days since this date (small integers for blocking keys).
EPOCH = np.datetime64("1900-01-01", "D")

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

    The same rules in the same order (letters NFKD leaves whole transliterated, NFKD, combining marks dropped, lower
    case, apostrophes removed, anything but a-z turned into one space); a
    test checks it against ``clean_name`` on awkward names.
    """
    if len(values) == 0:
        return []
    text = pa.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values], type=pa.string())
    for letter, latin in TRANSLITERATE.items():  # letters NFKD leaves whole (Polish ł, Turkish ı)
        text = pc.replace_substring(text, letter, latin)
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
_PC_POWERS = PC_BASE ** np.arange(PC_WIDTH + 1, dtype=np.int64)


@dataclass
class Postcodes:
    """Postcode codes of one side: unit, sector and district per record (-1 = missing or not UK)."""

    unit: np.ndarray
    sector: np.ndarray
    district: np.ndarray


def postcode_codes(array: pa.Array | pa.ChunkedArray | None, n: int, long_codes: dict[str, int]) -> Postcodes:
    """Standardise and code postcodes, one per record (vectorised over the string bytes).

    The rules of :func:`sendlink.link.standardise.postcode_levels`: upper
    case, everything but letters and digits dropped, then the UK pattern
    (``[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}``) gives the sector and the
    district; a value that is not a UK postcode keeps its compact form as the
    unit and has no sector or district. ``long_codes`` collects compact forms
    longer than :data:`PC_WIDTH` characters (rare) so both sides share them.
    The chunks the column was read in are coded in threads.
    """
    if array is None or n == 0:
        missing = np.full(n, -1, dtype=np.int64)
        return Postcodes(missing, missing.copy(), missing.copy())
    chunks = [c for c in (array.chunks if isinstance(array, pa.ChunkedArray) else [array]) if len(c)]
    parts = map_chunks(lambda a, b: _postcode_units(chunks[a].cast(pa.string())), len(chunks), chunk=1)
    unit = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    uk = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, bool)
    long_rows = np.flatnonzero(unit == -2)
    if len(long_rows):  # in record order, one after another: both sides share the codes
        text = pa.chunked_array(chunks, type=pa.string()) if chunks else pa.array([], pa.string())
        for row, value in zip(long_rows, text.take(pa.array(long_rows)).to_pylist(), strict=True):
            compact = "".join(ch for ch in value.upper() if ch.isascii() and ch.isalnum())
            unit[row] = PC_LONG + long_codes.setdefault(compact, len(long_codes))
    sector = np.where(uk, unit // PC_BASE ** 2, -1)
    district = np.where(uk, unit // PC_BASE ** 3, -1)
    return Postcodes(unit, sector, district)


def _postcode_units(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Unit codes (-1 missing, -2 too long for a number) and UK-pattern flags of one array of postcodes."""
    n = len(array)
    # ASCII upper case is enough: every other character is dropped below.
    text = pc.ascii_upper(array)
    unit, uk = np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)
    # Fast path, nearly every value: letters, digits and spaces only, 1-7 of
    # them once spaces are gone. Left-padded to 7 bytes they form an (n, 7)
    # byte matrix, coded without any per-byte index arrays.
    squeezed = pc.replace_substring(text, " ", "")
    length = pc.utf8_length(squeezed).fill_null(0).to_numpy(zero_copy_only=False)
    plain = pc.ascii_is_alnum(squeezed).fill_null(False).to_numpy(zero_copy_only=False) & (length > 0) & (length <= PC_WIDTH)
    fast = np.flatnonzero(plain)
    if len(fast):
        chosen = squeezed if len(fast) == n else squeezed.take(pa.array(fast))
        padded = as_array(pc.utf8_lpad(chosen, width=PC_WIDTH, padding=" "))
        start = np.frombuffer(padded.buffers()[1], dtype=np.int32)[padded.offset]
        grid_bytes = np.frombuffer(padded.buffers()[2], dtype=np.uint8)[start:start + PC_WIDTH * len(fast)].reshape(-1, PC_WIDTH)
        if len(fast) == n:
            unit, uk = _postcode_grid(_PC_LUT8[grid_bytes])
        else:
            unit[fast], uk[fast] = _postcode_grid(_PC_LUT8[grid_bytes])
    if len(fast) == n:
        return unit, uk
    rest = np.flatnonzero(~plain & text.is_valid().to_numpy(zero_copy_only=False))
    step = 1 << 18  # records per batch: bounds the memory of the byte arrays
    for begin in range(0, len(rest), step):
        rows = rest[begin:begin + step]
        unit[rows], uk[rows] = _postcode_batch(as_array(text.take(pa.array(rows))))
    return unit, uk


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
    # Right-aligned with no padding inside: the number of characters is the number of base-37 digits.
    size = np.searchsorted(_PC_POWERS, unit, side="right")
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


def postcode_digits(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The characters of each code's compact postcode as base-37 digits, left-aligned, and its length.

    Returns ``(digits, length)``: ``digits`` an ``(n, PC_WIDTH)`` ``int8``
    array (0 after the last character), ``length`` the number of
    characters. Missing codes and codes of long (non-UK) forms have length
    0: their text is not held in the number (see :func:`postcode_text`).
    """
    codes = np.asarray(codes, dtype=np.int64)
    digits = np.zeros((len(codes), PC_WIDTH), dtype=np.int8)
    rest = np.where((codes >= 0) & (codes < PC_LONG), codes, 0)
    for j in range(PC_WIDTH - 1, -1, -1):
        digits[:, j] = rest % PC_BASE
        rest //= PC_BASE
    # Left-align: drop the leading padding, so that column j is the postcode's j-th character.
    length = (digits > 0).sum(axis=1).astype(np.int8)
    lead = PC_WIDTH - length
    column = np.arange(PC_WIDTH)[None, :] + lead[:, None]
    aligned = np.where(column < PC_WIDTH, np.take_along_axis(digits, np.minimum(column, PC_WIDTH - 1), axis=1), 0)
    return aligned.astype(np.int8), length


def postcode_text(codes: np.ndarray, long_codes: dict[str, int]) -> list[str | None]:
    """The compact postcode of each code (inverse of :func:`postcode_codes`), vectorised."""
    codes = np.asarray(codes, dtype=np.int64)
    aligned, _ = postcode_digits(codes)
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
    Postcodes (one per record, coded by Arrow and numpy) are coded in a
    thread of their own while the names (per distinct value, in Python)
    are standardised.
    """
    sides = (survey, npd)
    long_postcodes: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Both sides in one thread, survey first: codes of long (non-UK) forms are shared and in order.
        postcodes = pool.submit(lambda: [postcode_codes(raw.plain.get("postcode"), len(raw), long_postcodes) for raw in sides])
        names = [_standard_names(raw) for raw in sides]
        pcs = postcodes.result()
    name_lists = []
    for std in names:
        name_lists += [std["fn"], std["fnfull"], [t for row in std["ftail"] for t in row],
                       [t for row in std["mid"] for t in row], std["sn"], [t for row in std["snparts"] for t in row]]
    vocab, coded = _vocab(*name_lists)
    per_side = [coded[0:6], coded[6:12]]

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

"""Blocking: which pairs are worth comparing at all?

Stage ``link``, run by DfE. **In:** both sides encoded. **Out:** candidate
pairs (survey row, NPD row, which passes found them) and statistics per
pass.

Comparing every survey record with every NPD record is 10,000 x 9.1 M =
91 billion pairs; almost all are obvious non-matches. A *blocking pass*
pairs records that share a *key* (the same date of birth and surname sound;
the same forename group and surname part ...). One pass misses a true pair
whenever its key holds an error, so several passes on different fields are
run and their pairs *unioned*: a true pair is missed only if every pass
misses it. How many true pairs survive is the *blocking recall*
(measured against the truth in :mod:`sendlink.evaluate.blocking`), the
ceiling on the linker's recall.

Designing passes
----------------
Each pass should be *selective* (a survey record meets few NPD records:
pairs cost time and, worse, every extra pair is one more rival for the true
one) and the passes together should be *robust* (each kind of error a parent
makes is survived by some pass that does not use the erroneous field). A key
on date of birth alone is not selective: in a national NPD about 2,000
pupils share each birthday (14 year groups), so a survey of 10,000 meets 20
million pairs. Date of birth *and* surname sound, or date of birth *and*
forename group, meet one or two. The default passes (``params.yaml``) pair
each field that a parent gets wrong with passes that do not depend on it:

========================  ==================================================
error                     survived by passes that key on
========================  ==================================================
nickname, variant         forename *group* (Bob ~ Robert) + date of birth;
                          surname + date of birth
forename typo, middle     surname part + date of birth, + school; initials +
name used as forename     date of birth; postcode
new surname, typo         forename group + date of birth, + school; postcode
one part of a             surname *part* (Smith-Jones ~ Jones)
double-barrelled surname
names transposed          the unordered pair of names
date of birth slips       names (any date), their sounds; postcode; school;
                          date swapped + surname sound
moved house, new school   names + date of birth
several at once           one field alone, where its value is *rare* (a
                          block of at most 50): heavily corrupted records
names in the other box    date of birth + the survey's surname against the
with another difference   NPD's forename, or its forename against the NPD's
                          surname (family name first and a new surname)
known by a later given    date of birth + any given name of the forename
name (Muhammad Zaakir,    field, or a given name against the NPD's middle
Wei with middle David)    names
========================  ==================================================

Measured on the default cohort (3,372 children, 252,610 pupils) the first
version's passes proposed 2.5 million pairs: a date of birth alone (about
230 pupils share each birthday in three year groups: 800,000 pairs), a
surname or forename *sound* with the birth year (Metaphone codes are coarse:
575,000 and 750,000) and the swapped date alone (273,000). The passes above
propose about 52,000 with every true pair still found (blocking recall
1.000, against 0.999 before); see ``benchmarks/link_cohort.py``.

Mechanics
---------
Each pass is a join on integer keys (no Python loop per pair, no survey x
NPD matrix). Each key's values are numbered by the distinct values the
*survey* side holds, and each key has one NPD-side index, built once and
shared by every pass and split that uses it (:class:`_KeyIndex`): keys
that are functions of one dictionary-encoded column (names, dates,
schools) are evaluated once per distinct value, so a record's code for a
key is one lookup through its column code; postcodes and the unordered
pair of names are coded per record once. A pass is then one scan of the
NPD records in chunks, spread over the cores (:func:`~sendlink.link.arrays.map_chunks`):
per chunk, the keys' codes are combined in place and the combinations
some survey record holds are picked out with a hashed bitmap. Nothing as
long as the NPD is sorted, and a pass costs about the same for 10,000
survey children as for 100,000 (measured in ``benchmarks/scale_benchmark.py``).

Some keys are *multi-valued*: a forename belongs to several nickname groups
(``al`` to Albert, Alfred and Alan), a double-barrelled surname has two
parts; a record then takes part in the join once per value. The survey
side lists a nickname group's few raw spellings, so each NPD record is
looked up once by its own spelling; a surname part is held by hundreds of
raw surnames, so there each NPD record takes part with its first part and
the few with several parts once more for each of the others.

A block that explodes (a popular birth date in a national NPD, a common
surname) is counted before anything is sorted, then *split* by the pass's
``split_by`` keys, one after another (looking only at the NPD records of
the oversized blocks), and a block still too large after every split is
*capped*: skipped for that pass and reported in the log and the statistics,
never allowed to run the machine out of memory.

Keys available to passes (:data:`KEYS`): ``dob``, ``dob_swapped`` (the
survey's date with day and month swapped, joined to the NPD's date),
``birth_year``, ``birth_month_day``, ``forename``, ``forename_group``
(multi), ``forename_sound``, ``forename_initial``, ``surname``,
``surname_part`` (multi), ``surname_sound``, ``surname_initial``,
``names_unordered`` (forename and surname as an unordered pair: a key for
transposed names), ``postcode``, ``pc_sector``, ``pc_district``, ``sex``,
``school``; ``surname_as_forename`` (the survey's surname against the NPD's
forename groups) and ``forename_as_surname`` (the survey's forename against
the NPD's surname parts): names in the other box together with another
difference, as family-name-first order and patronymic names give them;
``given_names`` (every given name in the forename field: Muhammad Zaakir
is muhammad and zaakir) and ``given_in_middle`` (the survey's given names
against the NPD's middle names): a child known by a
later given name, Muhammad registered first, an English name beside a
pinyin one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sendlink.link.arrays import map_chunks, unique
from sendlink.link.features import EPOCH, Features, Side

__all__ = ["BlockingResult", "KEYS", "PassStats", "block"]

log = logging.getLogger(__name__)

KEYS = (
    "dob", "dob_swapped", "birth_year", "birth_month_day", "forename", "forename_group", "forename_sound",
    "forename_initial", "surname", "surname_part", "surname_sound", "surname_initial", "names_unordered",
    "postcode", "pc_sector", "pc_district", "sex", "school", "surname_as_forename", "forename_as_surname",
    "given_names", "given_in_middle",
)
#: Keys with several values per record.
MULTI_KEYS = ("forename_group", "surname_part", "surname_as_forename", "forename_as_surname", "given_names", "given_in_middle")

#: Days from 1900-01-01 to the last date a key can hold (dates later are missing).
_MAX_DAY = int((np.datetime64("2100-01-01", "D") - EPOCH).astype(int))


@dataclass
class _Key:
    """Survey-side key values: one per record (``values``) or several (CSR ``indptr`` + ``values``)."""

    values: np.ndarray
    indptr: np.ndarray | None = None


def _swap_days(side: Side, rows=None) -> np.ndarray:
    """The date with day and month swapped, as days since 1900 (-1 when not a valid other date)."""
    year, month, day = side.year(rows), side.month(rows), side.day(rows)
    ok = (year >= 1900) & (day <= 12) & (day != month) & (month >= 1)
    out = np.full(len(year), -1, dtype=np.int64)
    if ok.any():
        y, m, d = year[ok], day[ok], month[ok]  # swapped
        months = (y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (m - 1).astype("timedelta64[M]")
        stamp = months.astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
        # 31 April does not exist: the swap is only valid if the day stays in its month.
        valid = stamp.astype("datetime64[M]") == months
        out[np.flatnonzero(ok)[valid]] = (stamp - EPOCH).astype(np.int64)[valid]
    return out


#: The raw column each key is a function of, on the NPD side (``names_unordered`` uses two).
_COLUMN = {
    "dob": "date_of_birth", "dob_swapped": "date_of_birth", "birth_year": "date_of_birth", "birth_month_day": "date_of_birth",
    "forename": "forename", "forename_group": "forename", "forename_sound": "forename", "forename_initial": "forename",
    "surname": "surname", "surname_part": "surname", "surname_sound": "surname", "surname_initial": "surname",
    "postcode": "postcode", "pc_sector": "postcode", "pc_district": "postcode", "sex": "sex", "school": "school_urn",
    "names_unordered": "forename+surname",
    # Names in the other box (family name first, or a surname that is a given name on
    # the other side): the survey's surname against the NPD's forename groups, and the
    # survey's forename against the NPD's surname parts.
    "surname_as_forename": "forename", "forename_as_surname": "surname",
    # Every given name of the forename field (Muhammad Zaakir: muhammad and zaakir), against the
    # same on the NPD side, or against the NPD's middle names (a child known by a later name).
    "given_names": "forename", "given_in_middle": "middle_names",
}


def _lookup(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return np.append(table, -1).astype(np.int64)[np.where(codes < 0, len(table), codes)]


def _token_groups(features: Features, tokens: np.ndarray) -> _Key:
    """Each record's distinct name tokens ((n, k) codes, -1 none) as a CSR key.

    The names themselves, not their nickname groups: a child known by a later
    given name is rarely also written as a nickname, and exact names keep the
    blocks (and the time, at national scale) small.
    """
    n, k = tokens.shape if tokens.ndim == 2 else (len(tokens), 1)
    tokens = tokens.reshape(n, k).astype(np.int64)
    dup = np.zeros(tokens.shape, dtype=bool)  # a name repeated within one record counts once
    for j in range(1, k):
        dup[:, j] = (tokens[:, :j] == tokens[:, j:j + 1]).any(axis=1)
    keep = (tokens >= 0) & ~dup
    return _Key(tokens[keep], np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64))


def _given_tokens(side: Side, rows=None) -> np.ndarray:
    """Every given name of the forename field: the first and the later ones ((n, 1 + MAX_TOKENS) codes)."""
    return np.hstack([side.fn(rows)[:, None], side._get("forename", side.t_ftail, rows)])


def _value(features: Features, side: Side, name: str, rows=None) -> _Key:
    """A key's values for ``rows`` of ``side`` (all rows when None): one per record, or a CSR list.

    ``forename_group`` lists the name's nickname/variant groups (or a group
    of its own); ``surname_part`` the parts of the surname. The NPD side is
    never keyed record by record: see :class:`_KeyIndex`.
    """
    if name in ("dob", "dob_swapped"):
        days = side.dob(rows).astype(np.int64)
        return _Key(np.where((days >= 0) & (days < _MAX_DAY), days, -1))
    if name == "birth_year":
        year = side.year(rows).astype(np.int64)
        return _Key(np.where((year >= 1900) & (year < 2100), year - 1900, -1))
    if name == "birth_month_day":
        year = side.year(rows)
        return _Key(np.where(year >= 0, side.month(rows).astype(np.int64) * 32 + side.day(rows), -1))
    if name == "forename":
        return _Key(side.fn(rows).astype(np.int64))
    if name == "surname":
        return _Key(side.sn(rows).astype(np.int64))
    if name in ("forename_group", "surname_as_forename"):  # the NPD side of surname_as_forename is its forename
        indptr, blocks = features.name_blocks
        rec_ptr, values = _expand_csr(indptr, blocks, side.fn(rows).astype(np.int64))
        return _Key(values, rec_ptr)
    if name == "given_names":
        return _token_groups(features, _given_tokens(side, rows))
    if name == "given_in_middle":  # the NPD side: its middle names (the survey side: _survey_key)
        return _token_groups(features, side._get("middle_names", side.t_mid, rows))
    if name in ("surname_part", "forename_as_surname"):  # the NPD side of forename_as_surname is its surname
        parts = side.snparts(rows).astype(np.int64)
        dup = np.zeros(parts.shape, dtype=bool)  # a part repeated within one surname counts once
        for j in range(1, parts.shape[1]):
            dup[:, j] = (parts[:, :j] == parts[:, j:j + 1]).any(axis=1)
        keep = (parts >= 0) & ~dup
        return _Key(parts[keep], np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64))
    if name in ("forename_sound", "surname_sound"):
        return _Key(_lookup(features.name_sound, side.fn(rows) if name == "forename_sound" else side.sn(rows)))
    if name in ("forename_initial", "surname_initial"):
        return _Key(_lookup(features.name_initial, side.fn(rows) if name == "forename_initial" else side.sn(rows)))
    if name == "names_unordered":
        a, b = side.fn(rows).astype(np.int64), side.sn(rows).astype(np.int64)
        n_names = max(len(features.names), 1)
        return _Key(np.where((a >= 0) & (b >= 0), np.minimum(a, b) * n_names + np.maximum(a, b), -1))
    getters = {"postcode": side.pc, "pc_sector": side.sector, "pc_district": side.district, "sex": side.sex, "school": side.school}
    if name in getters:
        return _Key(getters[name](rows).astype(np.int64))
    raise ValueError(f"unknown blocking key {name!r}; known: {', '.join(KEYS)}")


def _expand_csr(indptr: np.ndarray, values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each code (-1 = none), the CSR list ``values[indptr[c]:indptr[c+1]]``; returns (record indptr, values)."""
    ok = codes >= 0
    if len(indptr) < 2:  # an empty list of lists
        return np.zeros(len(codes) + 1, dtype=np.int64), values[:0]
    safe = np.clip(codes, 0, None)
    counts = np.where(ok, indptr[safe + 1] - indptr[safe], 0)
    rec_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    starts = np.repeat(indptr[safe], counts)
    offsets = np.arange(int(rec_ptr[-1])) - np.repeat(rec_ptr[:-1], counts)
    return rec_ptr, values[starts + offsets]


def _survey_key(features: Features, name: str, rows: np.ndarray) -> _Key:
    """A key's values for survey ``rows`` (``dob_swapped``: the survey's date swapped)."""
    if name == "dob_swapped":
        days = _swap_days(features.survey, rows)
        return _Key(np.where((days >= 0) & (days < _MAX_DAY), days, -1))
    if name == "surname_as_forename":
        indptr, blocks = features.name_blocks
        rec_ptr, values = _expand_csr(indptr, blocks, features.survey.sn(rows).astype(np.int64))
        return _Key(values, rec_ptr)
    if name == "forename_as_surname":
        return _Key(features.survey.fn(rows).astype(np.int64))
    if name == "given_in_middle":
        return _token_groups(features, _given_tokens(features.survey, rows))
    return _value(features, features.survey, name, rows)


_HASH = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: multiply, keep the top bits
_HASH_BITS = 22
_DENSE_LIMIT = 1 << 22  # codes below this are looked up in a table (16 MB at most, usually far less)


class _Lookup:
    """Where each value is in a sorted array of wanted values (``-1``: not there); built once, asked often.

    Many values against a few wanted ones (millions of NPD records against
    the codes of 10,000 survey records): a small code space (dates, names,
    districts) is one table and one gather; otherwise a bitmap of the
    wanted codes' hashes rules out nearly every value with one
    multiplication and one lookup, and only the rest are binary-searched.
    Read-only once built, so threads share it.
    """

    def __init__(self, wanted: np.ndarray) -> None:
        self.wanted = np.asarray(wanted, dtype=np.int64)
        self.table = self.bitmap = None
        if not len(self.wanted):
            return
        self.top = int(self.wanted[-1])
        if self.wanted[0] >= 0 and self.top < _DENSE_LIMIT:
            self.table = np.full(self.top + 2, -1, dtype=np.int32)  # the last entry answers "not there"
            self.table[self.wanted] = np.arange(len(self.wanted), dtype=np.int32)
        elif len(self.wanted) < (1 << _HASH_BITS) // 8:
            self.bitmap = np.zeros(1 << _HASH_BITS, dtype=bool)
            self.bitmap[(self.wanted.view(np.uint64) * _HASH) >> np.uint64(64 - _HASH_BITS)] = True

    def find(self, values: np.ndarray) -> np.ndarray:
        """The position of each value (int64 array) among the wanted ones, or -1."""
        values = np.asarray(values, dtype=np.int64)
        if not len(self.wanted) or not len(values):
            return np.full(len(values), -1, dtype=np.int64)
        if self.table is not None:
            return self.table[np.clip(values, -1, self.top + 1)].astype(np.int64)
        out = np.full(len(values), -1, dtype=np.int64)
        candidates = np.arange(len(values))
        if self.bitmap is not None:
            candidates = np.flatnonzero(self.bitmap[(values.view(np.uint64) * _HASH) >> np.uint64(64 - _HASH_BITS)])
        found = values[candidates]
        pos = np.minimum(np.searchsorted(self.wanted, found), len(self.wanted) - 1)
        hit = (found >= 0) & (self.wanted[pos] == found)
        out[candidates[hit]] = pos[hit]
        return out


def _positions(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of each value in the sorted array ``wanted``, or -1 (see :class:`_Lookup`)."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) <= 100_000 or not len(wanted):  # few values: a binary search each
        out = np.full(len(values), -1, dtype=np.int64)
        if len(wanted) and len(values):
            pos = np.minimum(np.searchsorted(wanted, values), len(wanted) - 1)
            hit = (values >= 0) & (wanted[pos] == values)
            out[hit] = pos[hit]
        return out
    return _Lookup(wanted).find(values)


#: The per-distinct-value table of each dictionary-encoded column a key can be a function of.
_TABLE = {"forename": "t_fn", "surname": "t_sn", "date_of_birth": "t_dob", "sex": "t_sex", "school_urn": "t_school",
          "middle_names": "t_mid"}


def _value_side(side: Side, column: str) -> Side:
    """A view of ``side`` whose records are the distinct raw values of ``column``."""
    size = len(getattr(side, _TABLE[column])) - 1
    return replace(side, n=size, codes={column: np.arange(size, dtype=np.int32)})


def npd_value_counts(features: Features, column: str) -> np.ndarray:
    """NPD records holding each distinct raw value of a dictionary-encoded ``column`` (computed once).

    Shared by every blocking key on the column and by the term frequencies
    (:mod:`sendlink.link.engine`): one pass over the records, in threads.
    """
    cached = features.cache.get(("value_counts", column))
    if cached is not None:
        return cached
    npd = features.npd
    distinct = len(getattr(npd, _TABLE[column])) - 1
    codes = npd.codes.get(column)
    if codes is None:
        counts = np.zeros(distinct, dtype=np.int64)
    else:
        parts = map_chunks(lambda a, b: np.bincount(codes[a:b].astype(np.int64) + 1, minlength=distinct + 1), len(codes))
        counts = np.sum(parts, axis=0)[1:].astype(np.int64)  # missing (code -1) is counted first, and dropped
    features.cache[("value_counts", column)] = counts
    return counts


@dataclass
class _KeyIndex:
    """One blocking key on the NPD side, built once and shared by every pass and split that uses it.

    Each wanted value (a value some survey record holds) is numbered by its
    position in :attr:`wanted`. A key that is a function of one
    dictionary-encoded column (names, dates, schools) is held per distinct
    raw value of the column (a few thousand entries, looked up through the
    records' codes); a key of a per-record column (postcodes, the unordered
    pair of names) per record.

    A multi-valued key is matched in one of two ways, whichever makes fewer
    entries (:attr:`mode`): ``raw`` when each wanted value is held by a few
    raw NPD values (a nickname group by a handful of spellings): the
    survey side lists those raw values (:attr:`raw_ptr`,
    :attr:`raw_values`) and every NPD record takes part once, by its raw
    value; ``npd`` when a value is held by many raw values (a surname part
    by hundreds of double-barrelled surnames): every NPD record takes part
    with its first wanted value, and the few records holding several
    (:attr:`value_len`) once more for each of the others.
    """

    name: str
    wanted: np.ndarray  # sorted distinct values the survey side holds
    counts: np.ndarray  # NPD records holding each wanted value
    column: str | None  # the NPD column whose codes index ``first`` (None: ``first`` is per record)
    first: np.ndarray  # per distinct value (last entry: missing) or record, its code for this key; -1 none
    mode: str = "single"  # "single", or for a multi-valued key "raw" or "npd" (see above)
    raw_ptr: np.ndarray | None = None  # "raw": per wanted value, the raw NPD values holding it (CSR)
    raw_values: np.ndarray | None = None
    value_ptr: np.ndarray | None = None  # "npd": per raw value, the wanted values it holds (CSR)
    value_pos: np.ndarray | None = None
    value_len: np.ndarray | None = None  # "npd": wanted values per raw value (last entry: 0 for missing)

    @property
    def size(self) -> int:
        """How many codes the NPD side's values can take (the radix of a combined key)."""
        return max(len(self.first) - 1, 1) if self.mode == "raw" else max(len(self.wanted), 1)

    def values(self, npd: Side, rows) -> np.ndarray:
        """Column keys: each record's code into the column's distinct values (``-1`` missing)."""
        codes = npd.codes.get(self.column)
        if codes is None:
            return np.full(len(range(npd.n)[rows]) if isinstance(rows, slice) else len(rows), -1, dtype=np.int32)
        return codes[rows]

    def positions(self, npd: Side, rows) -> np.ndarray:
        """Each record's code for this key (its first, in ``npd`` mode), ``-1`` when no survey record wants it."""
        if self.column is None:
            return self.first[rows]
        return self.first[self.values(npd, rows)]  # code -1 (missing) picks the final -1

    def expand(self, npd: Side, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``npd`` mode: one entry per record and wanted value, as (index into ``rows``, position)."""
        value = self.values(npd, rows)
        counts = self.value_len[value]
        owner = np.repeat(np.arange(len(value)), counts)
        starts = np.repeat(self.value_ptr[np.maximum(value, 0)], counts)
        offsets = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        return owner, self.value_pos[starts + offsets]


#: A multi-valued key is matched by raw NPD values when they are at most this many per wanted value.
_RAW_PER_VALUE = 4


def _key_index(features: Features, name: str) -> _KeyIndex:
    """The shared NPD index of one key (see :class:`_KeyIndex`), built on first use."""
    cached = features.cache.get(("key", name))
    if cached is not None:
        return cached
    survey_key = _survey_key(features, name, np.arange(len(features.survey), dtype=np.int64))
    wanted = unique(survey_key.values[survey_key.values >= 0])
    npd = features.npd
    column = _COLUMN[name]
    if column in ("postcode", "forename+surname"):
        lookup = _Lookup(wanted)
        first = np.concatenate(map_chunks(
            lambda a, b: lookup.find(_value(features, npd, name, np.arange(a, b)).values).astype(np.int32), len(npd)))
        counts = np.sum(map_chunks(lambda a, b: np.bincount(first[a:b].astype(np.int64) + 1, minlength=len(wanted) + 1),
                                   len(first)), axis=0)[1:]
        index = _KeyIndex(name, wanted, counts.astype(np.int64), None, first)
    elif column not in npd.codes:
        index = _KeyIndex(name, wanted, np.zeros(len(wanted), np.int64), column, np.full(1, -1, np.int32))
    else:
        key = _value(features, _value_side(npd, column), name)
        frequency = npd_value_counts(features, column)
        pos = _positions(key.values, wanted)
        if key.indptr is None:
            present = pos >= 0
            counts = np.bincount(pos[present], weights=frequency[present], minlength=len(wanted))
            index = _KeyIndex(name, wanted, counts.astype(np.int64), column, np.append(pos, -1).astype(np.int32))
        else:
            owner = np.repeat(np.arange(len(key.indptr) - 1), np.diff(key.indptr))  # raw value of each listed value
            present = pos >= 0
            owner, pos = owner[present], pos[present]
            counts = np.bincount(pos, weights=frequency[owner], minlength=len(wanted)).astype(np.int64)
            if len(owner) <= _RAW_PER_VALUE * max(len(wanted), 1):
                order = np.argsort(pos, kind="stable")
                first = np.full(len(key.indptr), -1, dtype=np.int32)  # one entry per raw value, then the missing one
                first[owner] = owner  # a raw value takes part, as itself, when it holds a wanted value
                index = _KeyIndex(name, wanted, counts, column, first, "raw",
                                  raw_ptr=np.concatenate([[0], np.cumsum(np.bincount(pos, minlength=len(wanted)))]).astype(np.int64),
                                  raw_values=owner[order].astype(np.int64))
            else:
                value_len = np.bincount(owner, minlength=len(key.indptr) - 1)
                value_ptr = np.concatenate([[0], np.cumsum(value_len)]).astype(np.int64)
                first = np.full(len(value_len) + 1, -1, dtype=np.int32)  # each raw value's first wanted position
                first[:-1][value_len > 0] = pos[value_ptr[:-1][value_len > 0]]
                index = _KeyIndex(name, wanted, counts, column, first, "npd", value_ptr=value_ptr,
                                  value_pos=pos.astype(np.int32), value_len=np.append(value_len, 0))
    features.cache[("key", name)] = index
    return index


def key_counts(features: Features, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The survey side's distinct values of a key and how many NPD records hold each (from the shared index)."""
    kept = features.cache.get(("key_counts", name))
    if kept is not None:
        return kept
    index = _key_index(features, name)
    return index.wanted, index.counts


@dataclass
class _Entries:
    """Join entries of one side: record rows and the index of their combined key among the survey's."""

    rows: np.ndarray
    code: np.ndarray


def _survey_entries(features: Features, indexes: list[_KeyIndex], s_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Survey entries of a pass, one per combination of the record's wanted values.

    Returns ``(entry, key_code, group, code)``: per entry, its index into
    ``s_rows`` and its combined code over the wanted values; then the
    entries as the NPD side is matched (:class:`_KeyIndex`: a multi-valued
    key's value stands for each raw NPD value holding it): per such
    sub-entry, the entry it belongs to and its combined code.
    """
    entry = np.arange(len(s_rows), dtype=np.int64)
    key_code = np.zeros(len(s_rows), dtype=np.int64)
    for index in indexes:
        key = _survey_key(features, index.name, s_rows)
        if key.indptr is None:
            values = key.values[entry]
        else:
            counts = key.indptr[entry + 1] - key.indptr[entry]
            starts = np.repeat(key.indptr[entry], counts)
            offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            entry, key_code = np.repeat(entry, counts), np.repeat(key_code, counts)
            values = key.values[starts + offsets]
        if len(index.wanted):
            at = np.minimum(np.searchsorted(index.wanted, values), len(index.wanted) - 1)
            keep = (values >= 0) & (index.wanted[at] == values)
        else:
            at, keep = np.zeros(len(values), np.int64), np.zeros(len(values), bool)
        entry, key_code = entry[keep], key_code[keep] * max(len(index.wanted), 1) + at[keep]
    radix = np.array([max(len(index.wanted), 1) for index in indexes], dtype=np.int64)
    place = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]]) if len(radix) else radix
    group = np.arange(len(entry), dtype=np.int64)
    code = np.zeros(len(entry), dtype=np.int64)
    for index, at_place, size in zip(indexes, place, radix, strict=True):
        position = key_code[group] // at_place % size
        if index.mode != "raw":
            code = code * index.size + position
            continue
        counts = index.raw_ptr[position + 1] - index.raw_ptr[position]
        owner = np.repeat(np.arange(len(group)), counts)
        offsets = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        group, code = group[owner], code[owner] * index.size + index.raw_values[np.repeat(index.raw_ptr[position], counts) + offsets]
    return entry, key_code, group, code


def _npd_hits(features: Features, indexes: list[_KeyIndex], codes: np.ndarray, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """NPD entries whose combined key is one of ``codes`` (sorted): (NPD row, index into ``codes``).

    A scan of the NPD records (``rows``, or all of them) in chunks, in
    threads: each key's shared index gives the records' wanted positions
    with one lookup through their codes, records without a wanted value
    drop out key by key, and the combined code is looked up among the
    survey's. Nothing is sorted and no array as long as the NPD is made.
    """
    npd = features.npd
    total = len(npd) if rows is None else len(rows)
    lookup = _Lookup(codes)

    def chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        where = slice(start, stop) if rows is None else rows[start:stop]
        code, ok = np.zeros(stop - start, dtype=np.int64), np.ones(stop - start, dtype=bool)
        more = np.zeros(stop - start, dtype=bool)
        for index in indexes:  # in place over the chunk: one lookup per record and key
            value = index.values(npd, where) if index.column is not None else None
            p = index.first[value] if value is not None else index.first[where]
            code *= index.size
            code += p
            ok &= p >= 0
            if index.mode == "npd":
                more |= index.value_len[value] > 1
        kept = np.flatnonzero(ok)
        rows_of = (lambda local: local + start) if rows is None else (lambda local: where[local])
        here, code = rows_of(kept), code[kept]
        extra = np.flatnonzero(more & ok)
        if len(extra):
            # Records holding several wanted values of a key: every other combination too.
            x_rows, x_of, x_code = rows_of(extra), np.arange(len(extra)), np.zeros(len(extra), dtype=np.int64)
            for index in indexes:
                if index.mode == "npd":
                    owner, p = index.expand(npd, x_rows)
                    x_rows, x_of, x_code = x_rows[owner], x_of[owner], x_code[owner]
                else:
                    p = index.positions(npd, x_rows)
                x_code = x_code * index.size + p
            new = x_code != code[np.searchsorted(kept, extra)][x_of]  # the first values' combination is in already
            here, code = np.concatenate([here, x_rows[new]]), np.concatenate([code, x_code[new]])
        at = lookup.find(code)
        hit = at >= 0
        return here[hit], at[hit]

    parts = map_chunks(chunk, total) if total and len(codes) else []
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@dataclass
class _Survey:
    """A pass's survey side: entries (record row, combined code) and the sub-entries the NPD side is matched by."""

    rows: np.ndarray  # per entry: the survey record
    group: np.ndarray  # per sub-entry: its entry
    code: np.ndarray  # per sub-entry: index of its combined code among the pass's distinct codes


def _pass_entries(features: Features, keys: tuple[str, ...], s_rows: np.ndarray, n_rows: np.ndarray | None = None,
                  max_block: int | None = None) -> tuple[_Survey, _Entries, np.ndarray, int]:
    """Join entries of both sides for a tuple of keys.

    The survey side is limited to ``s_rows``, the NPD side to ``n_rows``
    (all records when None: a split only re-blocks the records of the
    oversized blocks). Codes are indexes into the pass's distinct combined
    codes (the last value returned: how many).

    With one key over the whole NPD, block sizes are known from the key's
    counts: survey records in oversized blocks are returned as the third
    value without the NPD records being touched.
    """
    indexes = [_key_index(features, k) for k in keys]
    product = 1
    for index in indexes:
        product *= index.size
    if product >= 1 << 62:
        raise ValueError(f"blocking keys {', '.join(keys)}: too many combinations of values to combine into one code; "
                         "use fewer keys in the pass")
    entry, key_code, group, code = _survey_entries(features, indexes, s_rows)
    oversized = np.zeros(0, dtype=np.int64)
    if len(keys) == 1 and n_rows is None and max_block is not None:
        big = indexes[0].counts[key_code] > max_block
        oversized = unique(s_rows[entry[big]])
        keep = ~np.isin(s_rows[entry], oversized)
        renumber = np.cumsum(keep) - 1
        entry = entry[keep]
        sub = keep[group]
        group, code = renumber[group[sub]], code[sub]
    if len(keys) == 1 and n_rows is None and not indexes[0].counts[key_code].any():
        group, code = group[:0], code[:0]  # no NPD record holds any value left: nothing to scan for
    codes = unique(code)
    n_rows_hit, n_code = _npd_hits(features, indexes, codes, n_rows)
    return _Survey(s_rows[entry], group, np.searchsorted(codes, code)), _Entries(n_rows_hit, n_code), oversized, len(codes)


def _join(s: _Survey, n: _Entries, n_codes: int, max_block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The size of each survey entry's NPD block; for each sub-entry its part of the block (``start``,
    ``stop`` into the returned NPD rows, empty where the part's code is oversized); and the NPD
    rows of the oversized codes (a split only needs to look at them).

    Blocks are counted before anything is sorted, so an exploding block (all
    the pupils born on one day) costs a count, not a sort of its records.
    """
    sizes_by_code = np.bincount(n.code, minlength=n_codes)
    sub_sizes = sizes_by_code[s.code] if n_codes else np.zeros(0, np.int64)
    sizes = np.bincount(s.group, weights=sub_sizes, minlength=len(s.rows)).astype(np.int64)
    # Codes used by an oversized entry give the rows a split looks at; codes used by an entry
    # within bounds are sorted into blocks (a code can be both: two entries can share it).
    over = sizes[s.group] > max_block
    in_big, in_small = np.zeros(n_codes + 1, dtype=bool), np.zeros(n_codes + 1, dtype=bool)
    in_big[s.code[over]] = True
    in_small[s.code[~over]] = True
    big_rows = unique(n.rows[in_big[n.code]])
    keep = np.flatnonzero(in_small[n.code])
    order = keep[np.argsort(n.code[keep], kind="stable")]
    ptr = np.concatenate([[0], np.cumsum(np.where(in_small[:n_codes], sizes_by_code, 0))]).astype(np.int64)
    return sizes, ptr[s.code], ptr[s.code + 1], n.rows[order], big_rows


def _expand(s_rows: np.ndarray, start: np.ndarray, stop: np.ndarray, npd_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ragged expansion: each survey row against its NPD block (vectorised)."""
    counts = stop - start
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    survey = np.repeat(s_rows, counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return survey, npd_rows[np.repeat(start, counts) + offsets]


@dataclass
class PassStats:
    """What one blocking pass did."""

    name: str
    keys: tuple[str, ...]
    pairs: int = 0  # distinct pairs this pass found
    new_pairs: int = 0  # pairs no earlier pass had found
    survey_records: int = 0  # survey records with at least one candidate in this pass
    survey_records_split: int = 0  # survey records whose block was split
    survey_records_capped: int = 0  # survey records skipped: block too large after every split
    largest_block: int = 0  # NPD records in the largest block used
    max_block_size: int = 0  # the pass's limit on a block
    seconds: float = 0.0


@dataclass
class BlockingResult:
    """Candidate pairs and how they were found.

    Attributes
    ----------
    survey_rows, npd_rows
        Aligned row positions of the candidate pairs, sorted, no duplicates.
    passes
        Bit mask per pair: bit ``k`` is set when pass ``k`` found the pair.
    stats
        One :class:`PassStats` per pass, in order.
    """

    survey_rows: np.ndarray
    npd_rows: np.ndarray
    passes: np.ndarray
    stats: list[PassStats] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.survey_rows)

    def table(self) -> pd.DataFrame:
        """The per-pass statistics as a table (for logs, notebooks and model.json)."""
        columns = ["name", "keys", "pairs", "new_pairs", "survey_records", "survey_records_split",
                   "survey_records_capped", "largest_block", "max_block_size", "seconds"]
        return pd.DataFrame([vars(s) | {"keys": "+".join(s.keys)} for s in self.stats], columns=columns)


def _run_pass(features: Features, name: str, keys: tuple[str, ...], split_by: tuple[str, ...], max_block: int) -> tuple[np.ndarray, np.ndarray, PassStats]:
    stats = PassStats(name=name, keys=keys)
    started = time.perf_counter()
    found_s, found_n = [], []
    pending = np.arange(len(features.survey), dtype=np.int64)  # survey rows still to block
    level_keys = keys
    split_rows: set[int] = set()
    n_rows: np.ndarray | None = None  # NPD records still in play (all at first)
    for depth in range(len(split_by) + 1):
        s, n, oversized, n_codes = _pass_entries(features, level_keys, pending, n_rows, max_block)
        if depth > 0:
            missing = pending[_survey_key(features, level_keys[-1], pending).values < 0]
            if len(missing):
                stats.survey_records_capped += len(missing)
                log.warning("blocking pass %s: %d survey record(s) in an oversized block have no %s to split by; capped",
                            name, len(missing), level_keys[-1])
        sizes, start, stop, npd_rows, big_rows = _join(s, n, n_codes, max_block)
        # A record's block is too large when any of its entries' blocks is.
        too_big = unique(np.concatenate([s.rows[sizes > max_block], oversized]))
        ok = ~np.isin(s.rows, too_big)
        sub_ok = ok[s.group]
        survey, npd = _expand(s.rows[s.group[sub_ok]], start[sub_ok], stop[sub_ok], npd_rows)
        found_s.append(survey)
        found_n.append(npd)
        if ok.any():
            stats.largest_block = max(stats.largest_block, int(sizes[ok].max()))
        # The next level looks only at the NPD records of oversized blocks (all of them when
        # block sizes were known from counts without reading the records).
        n_rows = None if len(oversized) else big_rows
        if not len(too_big):
            break
        if depth < len(split_by):
            split_rows.update(too_big.tolist())
            log.info("blocking pass %s: %d survey record(s) in blocks over %d NPD records (largest %d); splitting by %s",
                     name, len(too_big), max_block, int(sizes.max(initial=0)), split_by[depth])
            level_keys = (*level_keys, split_by[depth])
            pending = too_big
        else:
            stats.survey_records_capped += len(too_big)
            # A pass without split keys is meant to block only where its value
            # is rare: skipping the common values is its design, not an
            # explosion, so it is reported at INFO; a pass that still
            # explodes after splitting is worth a warning.
            report = log.warning if split_by else log.info
            report(
                "blocking pass %s: %d survey record(s) still in blocks over %d NPD records after splitting by %s; "
                "capped (this pass skips them; other passes may still find their matches)",
                name, len(too_big), max_block, ", ".join(split_by) or "nothing",
            )
    survey = np.concatenate(found_s) if found_s else np.zeros(0, np.int64)
    npd = np.concatenate(found_n) if found_n else np.zeros(0, np.int64)
    stats.survey_records_split = len(split_rows)
    stats.seconds = time.perf_counter() - started
    return survey, npd, stats


def block(features: Features, passes: list[tuple], max_block_size: int) -> BlockingResult:
    """Run the blocking passes and union their pairs.

    Parameters
    ----------
    features
        Both sides, encoded.
    passes
        ``(name, keys, split_by)`` or ``(name, keys, split_by,
        max_block_size)`` per pass, in order (see :data:`KEYS`).
    max_block_size
        Largest NPD block one survey record may be paired with in one pass
        before the block is split (then capped), unless the pass sets its own.
    """
    passes = [(p[0], tuple(p[1]), tuple(p[2]), p[3] if len(p) > 3 and p[3] is not None else max_block_size) for p in passes]
    for name, keys, split_by, _ in passes:
        unknown = [k for k in (*keys, *split_by) if k not in KEYS]
        if unknown:
            raise ValueError(f"blocking pass {name}: unknown key(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
        if any(k in MULTI_KEYS for k in split_by):
            raise ValueError(f"blocking pass {name}: split_by cannot use a multi-valued key ({', '.join(MULTI_KEYS)})")
    if len(passes) > 64:
        raise ValueError(f"at most 64 blocking passes, got {len(passes)}")
    n_npd = max(len(features.npd), 1)
    all_keys, stats = [], []
    for bit, (name, keys, split_by, max_block) in enumerate(passes):
        survey, npd, pass_stats = _run_pass(features, name, keys, split_by, max_block)
        pass_stats.max_block_size = max_block
        key = unique(survey.astype(np.int64) * n_npd + npd)
        pass_stats.pairs = len(key)
        pass_stats.survey_records = len(unique(key // n_npd))
        all_keys.append(key * 64 + bit)  # pass number in the low bits: one sort below does the union
        stats.append(pass_stats)
    if all_keys:
        tagged = np.sort(np.concatenate(all_keys))
        keys_, bits = tagged >> 6, np.left_shift(1, tagged & 63)
        first = np.flatnonzero(np.concatenate([[True], keys_[1:] != keys_[:-1]])) if len(keys_) else np.zeros(0, np.int64)
        uniq = keys_[first]
        passes_mask = np.bitwise_or.reduceat(bits, first) if len(first) else np.zeros(0, np.int64)
        # A pair is new to the first pass (in order) that found it: the lowest bit of its mask.
        finder = np.bincount((tagged & 63)[first], minlength=len(passes)) if len(first) else np.zeros(len(passes), np.int64)
    else:
        uniq, passes_mask, finder = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(len(passes), np.int64)
    for pass_stats, new in zip(stats, finder, strict=True):
        pass_stats.new_pairs = int(new)
        log.info("blocking pass %-24s %9d pairs (%d new), largest block %d, %.2f s",
                 pass_stats.name, pass_stats.pairs, pass_stats.new_pairs, pass_stats.largest_block, pass_stats.seconds)
    for key in [k for k, v in features.cache.items() if isinstance(k, tuple) and k[0] == "key" and v.column is None]:
        # Per-record positions (postcodes, pairs of names) are as long as the NPD: free them, keep the counts.
        index = features.cache.pop(key)
        features.cache[("key_counts", index.name)] = (index.wanted, index.counts)
    log.info("blocking: %d candidate pairs from %d passes", len(uniq), len(passes))
    return BlockingResult(
        survey_rows=(uniq // n_npd).astype(np.int64),
        npd_rows=(uniq % n_npd).astype(np.int64),
        passes=passes_mask,
        stats=stats,
    )

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
NPD matrix). Each key's values are renumbered by the distinct values the
*survey* side holds, so the NPD records that could meet any survey record
are found with one lookup per record and key, never by keying every NPD
record in Python: keys that are functions of one dictionary-encoded column
(names, dates, schools) are evaluated once per distinct value and gathered;
per-record positions are cached and shared by every pass that uses the key.
Some keys are *multi-valued*: a forename belongs to several nickname groups
(``al`` to Albert, Alfred and Alan), a double-barrelled surname has two
parts; a record then takes part in the join once per value.

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

from sendlink.link.arrays import unique, unique_inverse
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
    never keyed record by record: see :func:`_npd_entries`.
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
_DENSE_LIMIT = 1 << 24  # codes below this are looked up in a table (64 MB at most, usually far less)


def _positions(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of each value in the sorted array ``wanted``, or -1.

    Many values against a few wanted ones (millions of NPD records against
    the codes of 10,000 survey records): a bitmap of the wanted codes'
    hashes first rules out nearly every value with one multiplication and
    one lookup, and only the rest are binary-searched.
    """
    out = np.full(len(values), -1, dtype=np.int64)
    if len(wanted) == 0 or len(values) == 0:
        return out
    top = int(wanted[-1])
    if len(values) > 100_000 and 0 <= top < _DENSE_LIMIT:
        # Small code space (dates, names, districts): one lookup table, one gather.
        table = np.full(top + 2, -1, dtype=np.int32)
        table[wanted] = np.arange(len(wanted), dtype=np.int32)
        return table[np.where((values >= 0) & (values <= top), values, top + 1)].astype(np.int64)
    candidates = np.arange(len(values))
    if len(values) > 100_000 and len(wanted) < (1 << _HASH_BITS) // 8:
        shift = np.uint64(64 - _HASH_BITS)
        bitmap = np.zeros(1 << _HASH_BITS, dtype=bool)
        bitmap[(wanted.astype(np.uint64) * _HASH) >> shift] = True
        candidates = np.flatnonzero(bitmap[(values.astype(np.uint64) * _HASH) >> shift])
    found = values[candidates]
    pos = np.minimum(np.searchsorted(wanted, found), len(wanted) - 1)
    hit = (found >= 0) & (wanted[pos] == found)
    out[candidates[hit]] = pos[hit]
    return out


def _value_side(side: Side, column: str) -> Side:
    """A view of ``side`` whose records are the distinct raw values of ``column``."""
    table = {"forename": side.t_fn, "surname": side.t_sn, "date_of_birth": side.t_dob, "sex": side.t_sex,
             "school_urn": side.t_school, "middle_names": side.t_mid}[column]
    return replace(side, n=len(table) - 1, codes={column: np.arange(len(table) - 1, dtype=np.int32)})


def _npd_key(features: Features, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Every NPD record's values of a key, as positions among the values the survey side holds.

    Returns ``(wanted, positions, indptr)``: ``wanted`` the sorted distinct
    values of the key over all survey records; ``positions`` per NPD record
    (``indptr`` None) or per CSR entry (``indptr`` over records) the index
    into ``wanted``, ``-1`` when no survey record holds the value. Computed
    once per key and shared by every pass and split that uses the key.
    Keys that are functions of one dictionary-encoded column are evaluated
    on the column's distinct values and looked up per record (one gather),
    so a 9-million-row NPD is never keyed record by record.
    """
    cached = features.cache.get(("npd_key", name))
    if cached is not None:
        return cached
    survey_key = _survey_key(features, name, np.arange(len(features.survey), dtype=np.int64))
    wanted = unique(survey_key.values[survey_key.values >= 0])
    npd = features.npd
    column = _COLUMN[name]
    if column in ("postcode", "forename+surname"):
        result = (wanted, _positions(_value(features, npd, name).values, wanted).astype(np.int32), None)
    elif column not in npd.codes:
        result = (wanted, np.full(len(npd), -1, dtype=np.int32), None)
    else:
        codes = npd.codes[column]
        key = _value(features, _value_side(npd, column), name)
        pos = _positions(key.values, wanted)
        if key.indptr is None:
            result = (wanted, np.append(pos, -1).astype(np.int32)[codes], None)
        else:
            # Per distinct value: its first wanted position, and the rare others apart.
            owner = np.repeat(np.arange(len(key.indptr) - 1), np.diff(key.indptr))
            keep = pos >= 0
            counts = np.bincount(owner[keep], minlength=len(key.indptr) - 1)
            value_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            hits = pos[keep]
            first_by_value = np.full(len(counts) + 1, -1, dtype=np.int32)
            first_by_value[:-1][counts > 0] = hits[value_ptr[:-1][counts > 0]]
            first = first_by_value[codes]
            has_extra = np.append(counts > 1, False)
            extra_rows = np.flatnonzero(has_extra[codes])
            extra_values_of = codes[extra_rows].astype(np.int64)
            extra_counts = counts[extra_values_of] - 1
            extra_ptr = np.concatenate([[0], np.cumsum(extra_counts)]).astype(np.int64)
            offsets = np.arange(int(extra_ptr[-1])) - np.repeat(extra_ptr[:-1], extra_counts)
            extra_values = hits[np.repeat(value_ptr[extra_values_of] + 1, extra_counts) + offsets]
            result = (wanted, first, (extra_rows, extra_ptr, extra_values.astype(np.int32)))
    features.cache[("npd_key", name)] = result
    return result


def _npd_entries(features: Features, name: str, wanted: np.ndarray, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """NPD entries for one key: (index into ``rows`` (all records when None), position in ``wanted``).

    ``wanted`` is a subset of the key's survey values (a split re-blocks
    some survey records only); positions are remapped from the cached ones.
    """
    full, positions, extra = _npd_key(features, name)
    identity = len(wanted) == len(full) and bool((wanted == full).all())
    if identity and rows is None:
        # Every survey value wanted, every NPD record: the same for every pass with this key.
        cached = features.cache.get(("npd_entries", name))
        if cached is None:
            hit = np.flatnonzero(positions >= 0).astype(np.int32)
            cached = features.cache[("npd_entries", name)] = (hit, positions[hit])
        index, found = cached
    else:
        remap = np.append(_positions(full, wanted), -1).astype(np.int32)
        pos = positions if rows is None else positions[rows]
        if not identity:
            pos = remap[pos]
        hit = np.flatnonzero(pos >= 0)
        index, found = hit, pos[hit]
    if extra is not None and len(extra[0]):
        remap = np.append(_positions(full, wanted), -1)
        extra_rows, extra_ptr, extra_values = extra
        if rows is None:
            where, owners = np.arange(len(extra_rows)), extra_rows
        else:
            at = np.minimum(np.searchsorted(extra_rows, rows), len(extra_rows) - 1)
            inside = np.flatnonzero(extra_rows[at] == rows)
            where, owners = at[inside], inside
        rec_ptr, values = _expand_csr(extra_ptr, extra_values, where.astype(np.int64))
        more = remap[values]
        owner = np.repeat(owners, np.diff(rec_ptr))
        keep = more >= 0
        index = np.concatenate([index, owner[keep]])
        found = np.concatenate([found, more[keep]])
    return index, found


def _npd_survivors(features: Features, name: str, wanted: np.ndarray) -> int:
    """How many NPD records hold a wanted value of this key (for ordering the keys of a pass)."""
    full, positions, _ = _npd_key(features, name)
    counts = features.cache.get(("npd_key_counts", name))
    if counts is None:
        counts = np.bincount(positions[positions >= 0], minlength=len(full))
        features.cache[("npd_key_counts", name)] = counts
    where = _positions(wanted, full)
    return int(counts[where[where >= 0]].sum()) if len(full) else 0



@dataclass
class _Entries:
    """Join entries of one side: record rows and their combined key code."""

    rows: np.ndarray
    code: np.ndarray


def _pass_entries(features: Features, keys: tuple[str, ...], s_rows: np.ndarray, n_rows: np.ndarray | None = None,
                  max_block: int | None = None) -> tuple[_Entries, _Entries, np.ndarray]:
    """Join entries of both sides for a tuple of keys.

    The survey side is limited to ``s_rows``, the NPD side to ``n_rows``
    (all records when None: a split only re-blocks the records of the
    oversized blocks). Each key's values are renumbered by the distinct
    values the survey side holds, so the combined code of an entry is a
    small integer and every NPD record without a wanted value drops out at
    once. Keys are applied most selective first (counted on distinct
    values), so later keys only touch the NPD records still in play.

    With one key over the whole NPD, block sizes are known from counts of
    the key's values: survey records in oversized blocks are returned as
    the third value without the NPD records being touched.
    """
    s_keys = {k: _survey_key(features, k, s_rows) for k in keys}
    wanted = {k: unique(v.values[v.values >= 0]) for k, v in s_keys.items()}
    order = sorted(keys, key=lambda k: _npd_survivors(features, k, wanted[k]))
    s_entry = np.arange(len(s_rows), dtype=np.int64)  # positions into s_rows
    s_code = np.zeros(len(s_rows), dtype=np.int64)
    n_code = np.zeros(len(features.npd) if n_rows is None else len(n_rows), dtype=np.int64)
    oversized = np.zeros(0, dtype=np.int64)
    for k in order:
        key, w = s_keys[k], wanted[k]
        if len(keys) == 1 and n_rows is None and max_block is not None:
            full, _, _ = _npd_key(features, k)
            where = _positions(w, full)
            sizes = np.where(where >= 0, features.cache[("npd_key_counts", k)][np.clip(where, 0, None)], 0)
            big = w[sizes > max_block]
            w = w[sizes <= max_block]
        else:
            big = np.zeros(0, dtype=np.int64)
        size = max(len(w), 1)
        if key.indptr is None:
            values = key.values[s_entry]
        else:
            counts = key.indptr[s_entry + 1] - key.indptr[s_entry]
            starts = np.repeat(key.indptr[s_entry], counts)
            offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            s_entry, s_code = np.repeat(s_entry, counts), np.repeat(s_code, counts)
            values = key.values[starts + offsets]
        if len(big):
            oversized = unique(s_entry[_positions(values, big) >= 0])
        pos = _positions(values, w)
        keep = (pos >= 0) & ~np.isin(s_entry, oversized)
        s_entry, s_code = s_entry[keep], s_code[keep] * size + pos[keep]
        index, n_pos = _npd_entries(features, k, w, n_rows)
        n_rows = index if n_rows is None else n_rows[index]
        n_code = n_code[index] * size + n_pos
        if k is not order[0]:
            # Keep only NPD entries whose combination some survey entry has, and the codes small.
            uniq = unique(s_code)
            s_code = np.searchsorted(uniq, s_code)
            n_pos = _positions(n_code, uniq)
            hit = np.flatnonzero(n_pos >= 0)
            n_rows, n_code = n_rows[hit], n_pos[hit]
    if n_rows is None:
        n_rows = np.zeros(0, dtype=np.int64)
    return _Entries(s_rows[s_entry], s_code), _Entries(n_rows.astype(np.int64), n_code), s_rows[oversized]


def _join(s: _Entries, n: _Entries, max_block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each survey entry: the size of its NPD block and, where that is at most ``max_block``,
    the block itself (``start``, ``stop`` into the returned NPD rows); and the NPD rows of the
    oversized blocks (a split only needs to look at them).

    Blocks are counted before anything is sorted, so an exploding block (all
    the pupils born on one day) costs a count, not a sort of its records.
    """
    codes = unique(s.code)
    pos = _positions(n.code, codes)
    sizes_by_code = np.bincount(pos[pos >= 0], minlength=len(codes))
    small = sizes_by_code <= max_block
    in_play = pos >= 0
    keep = np.flatnonzero(in_play & small[np.clip(pos, 0, None)])
    big_rows = unique(n.rows[in_play & ~small[np.clip(pos, 0, None)]]) if len(codes) else np.zeros(0, np.int64)
    order = keep[np.argsort(pos[keep], kind="stable")]
    ptr = np.concatenate([[0], np.cumsum(np.where(small, sizes_by_code, 0))]).astype(np.int64)
    s_pos = np.searchsorted(codes, s.code)
    sizes = sizes_by_code[s_pos] if len(codes) else np.zeros(0, np.int64)
    return sizes, ptr[s_pos], ptr[s_pos + 1], n.rows[order], big_rows


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
        s, n, oversized = _pass_entries(features, level_keys, pending, n_rows, max_block)
        if depth > 0:
            missing = pending[_survey_key(features, level_keys[-1], pending).values < 0]
            if len(missing):
                stats.survey_records_capped += len(missing)
                log.warning("blocking pass %s: %d survey record(s) in an oversized block have no %s to split by; capped",
                            name, len(missing), level_keys[-1])
        sizes, start, stop, npd_rows, big_rows = _join(s, n, max_block)
        # A record's block is too large when any of its entries' blocks is.
        too_big = unique(np.concatenate([s.rows[sizes > max_block], oversized]))
        ok = ~np.isin(s.rows, too_big)
        survey, npd = _expand(s.rows[ok], start[ok], stop[ok], npd_rows)
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
    n_npd = max(len(features.npd), 1)
    all_keys, all_bits, stats = [], [], []
    seen = np.zeros(0, dtype=np.int64)
    for bit, (name, keys, split_by, max_block) in enumerate(passes):
        survey, npd, pass_stats = _run_pass(features, name, keys, split_by, max_block)
        pass_stats.max_block_size = max_block
        key = unique(survey.astype(np.int64) * n_npd + npd)
        pass_stats.pairs = len(key)
        pass_stats.survey_records = len(unique(key // n_npd))
        pass_stats.new_pairs = int(len(key) - np.isin(key, seen, assume_unique=True).sum())
        seen = unique(np.concatenate([seen, key]))
        all_keys.append(key)
        all_bits.append(np.full(len(key), 1 << bit, dtype=np.int64))
        stats.append(pass_stats)
        log.info("blocking pass %-24s %9d pairs (%d new), largest block %d, %.2f s",
                 name, pass_stats.pairs, pass_stats.new_pairs, pass_stats.largest_block, pass_stats.seconds)
    if all_keys:
        keys_ = np.concatenate(all_keys)
        bits = np.concatenate(all_bits)
        order = np.argsort(keys_, kind="stable")
        keys_, bits = keys_[order], bits[order]
        uniq, first, _ = unique_inverse(keys_)
        passes_mask = np.bitwise_or.reduceat(bits, first) if len(first) else np.zeros(0, np.int64)
    else:
        uniq, passes_mask = np.zeros(0, np.int64), np.zeros(0, np.int64)
    for key in [k for k in features.cache if isinstance(k, tuple) and k[0] in ("npd_key", "npd_entries", "npd_key_counts")]:
        del features.cache[key]  # per-record caches of this run's survey values: free them
    log.info("blocking: %d candidate pairs from %d passes", len(uniq), len(passes))
    return BlockingResult(
        survey_rows=(uniq // n_npd).astype(np.int64),
        npd_rows=(uniq % n_npd).astype(np.int64),
        passes=passes_mask,
        stats=stats,
    )

"""Comparison: how far do two records agree, field by field?

Stage ``link``, run by DfE. **In:** the encoded identifiers of both sides and
candidate pairs (survey row, NPD row). **Out:** one *comparison level* per
field and pair: an ordered category, strongest agreement first, or ``-1``
when either side is missing the field. Levels, rather than a plain
agree/disagree, let the model learn that a nickname is weaker evidence than
the same name, and a moved-within-the-sector postcode stronger than a
different one.

The levels (:data:`FIELDS`), first matching level wins:

forename
    ``exact`` (first given name, or all given names run together, equal) /
    ``variant`` (nickname or spelling variant: Bob~Robert, Mohammed~Muhammad)
    / ``close`` (one typing slip: optimal string alignment distance 1, or
    Jaro-Winkler >= 0.92) / ``middle_name`` (one side's forename is among the
    other side's middle names: a child known by a middle name) /
    ``transposed`` (forename and surname swapped: each is equal or close to
    the other side's other name) / ``cross`` (one of them is: a surname
    given as a forename, or the other way round, on one side only) /
    ``initial`` (one side gives only an initial, and it is the other side's
    first letter: J ~ James) / ``similar`` (Jaro-Winkler >= 0.80) /
    ``different``.
surname
    ``exact`` / ``part`` (a part of a double-barrelled name or a name
    without its particle: Smith-Jones~Jones, de Souza~Souza) / ``close`` /
    ``similar`` / ``different``. When the names are transposed the surname
    is *missing* (no evidence): the swap is one event, counted once, on the
    forename. (Scoring it on both fields, as an earlier version did, also
    rewarded a one-sided coincidence twice: a child called Karim Saleh
    against a pupil whose surname is Karim got about 10 bits.)
date_of_birth
    ``exact`` / ``swapped`` (day and month swapped: 2009-03-12 ~
    2009-12-03) / ``one_off`` (two of year, month, day agree: one component
    mistyped) / ``different``.
postcode
    ``unit`` (full postcode) / ``sector`` / ``district`` / ``typo`` (one
    character wrong or two swapped, anywhere) / ``different``.
sex, school
    ``agree`` / ``disagree``.

*Missing* is not a level: it is "no evidence", weight 0, whatever the
other fields say. String similarity is computed with
``rapidfuzz.process.cpdist`` (vectorised C++), once per distinct pair of
values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import distance, process

from sendlink.link.arrays import unique_inverse
from sendlink.link.features import Features, Side, postcode_text

__all__ = ["FIELDS", "FieldSpec", "compare", "level_names"]

#: Jaro-Winkler bands for "close" and "similar" names.
JW_CLOSE = 0.92
JW_SIMILAR = 0.80


@dataclass(frozen=True)
class FieldSpec:
    """A compared field: its levels (strongest first) and modelling facts.

    Attributes
    ----------
    levels
        Level names, strongest agreement first; the last is disagreement.
    m_start
        Starting values for m = P(level | match) in EM: expert guesses that
        say "true matches mostly agree" (not fitted, only a start).
    agrees
        Which levels count as *agreement* for the rule that a match must
        agree on at least two fields (see :mod:`sendlink.link.model`).
    term_frequency
        Whether the ``exact`` level is adjusted for how common the value is.
    """

    name: str
    levels: tuple[str, ...]
    m_start: tuple[float, ...]
    agrees: tuple[bool, ...]
    term_frequency: bool = False


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "forename",
        ("exact", "variant", "close", "middle_name", "transposed", "cross", "initial", "similar", "different"),
        (0.85, 0.03, 0.04, 0.01, 0.005, 0.005, 0.005, 0.015, 0.04),
        (True, True, True, True, True, True, False, False, False),
        term_frequency=True,
    ),
    FieldSpec(
        "surname",
        ("exact", "part", "close", "similar", "different"),
        (0.85, 0.02, 0.04, 0.015, 0.075),
        (True, True, True, False, False),
        term_frequency=True,
    ),
    FieldSpec(
        "date_of_birth",
        ("exact", "swapped", "one_off", "different"),
        (0.90, 0.01, 0.06, 0.03),
        (True, True, True, False),
    ),
    FieldSpec(
        "postcode",
        ("unit", "sector", "district", "typo", "different"),
        (0.75, 0.04, 0.04, 0.02, 0.15),
        (True, True, True, True, False),
        term_frequency=True,
    ),
    FieldSpec("sex", ("agree", "disagree"), (0.97, 0.03), (True, False)),
    FieldSpec("school", ("agree", "disagree"), (0.80, 0.20), (True, False)),
)


#: Index of the forename's ``transposed`` level.
TRANSPOSED = FIELDS[0].levels.index("transposed")


def level_names(field: str) -> tuple[str, ...]:
    """The level names of a field, strongest first."""
    return next(f.levels for f in FIELDS if f.name == field)


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) code pairs and the inverse mapping back to rows."""
    if len(a) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty, empty
    a, b = a.astype(np.int64), b.astype(np.int64)
    top = int(max(a.max(), b.max())) + 2
    if top < 3_000_000_000:
        uniq, first, inverse = unique_inverse(a * top + b)
        return a[first], b[first], inverse
    order = np.lexsort((b, a))  # codes too large to combine into one int64 (postcodes)
    sa, sb = a[order], b[order]
    flag = np.concatenate([[True], (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1])])
    inverse = np.empty(len(a), dtype=np.int64)
    inverse[order] = np.cumsum(flag) - 1
    return sa[flag], sb[flag], inverse


def _string_scores(strings, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Jaro-Winkler similarity and OSA distance for code pairs (both present).

    ``strings`` is an array of strings indexed by the codes, or a function
    from codes to strings.
    """
    ua, ub, inverse = _unique_pairs(a, b)
    if len(ua) == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int32)
    if callable(strings):
        left, right = strings(ua), strings(ub)
    else:
        left, right = strings[ua].tolist(), strings[ub].tolist()
    # Only the bands matter (JW >= JW_SIMILAR, OSA <= 1): cut-offs let rapidfuzz stop early.
    jw = process.cpdist(left, right, scorer=distance.JaroWinkler.similarity, dtype=np.float32, workers=-1, score_cutoff=JW_SIMILAR)
    osa = process.cpdist(left, right, scorer=distance.OSA.distance, dtype=np.int32, workers=-1, score_cutoff=1)
    return jw[inverse], osa[inverse]


def _any_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise: does any present code of ``a`` (n, k) equal any of ``b`` (n, j)?"""
    out = np.zeros(len(a), dtype=bool)
    for i in range(a.shape[1]):
        ai = a[:, i]
        for j in range(b.shape[1]):
            out |= (ai >= 0) & (ai == b[:, j])
    return out


def _variant(features: Features, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Do the names share a nickname/spelling-variant group?"""
    ua, ub, inverse = _unique_pairs(a, b)
    if len(ua) == 0:
        return np.zeros(0, dtype=bool)
    shared = np.asarray(features.groups[ua].multiply(features.groups[ub]).sum(axis=1)).ravel() > 0
    return shared[inverse]


def _assign(levels: np.ndarray, conditions: list[np.ndarray]) -> np.ndarray:
    """Give each still-unassigned row the first level whose condition holds."""
    for index, condition in enumerate(conditions):
        levels[(levels == -2) & condition] = index
    return levels


def _near(f: Features, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise: are the names equal or close (one slip, or Jaro-Winkler >= JW_CLOSE)?"""
    out = (a >= 0) & (a == b)
    rest = np.flatnonzero((a >= 0) & (b >= 0) & ~out)
    if len(rest):
        jw, osa = _string_scores(f.names, a[rest], b[rest])
        out[rest] = (osa <= 1) | (jw >= JW_CLOSE)
    return out


def _forename(f: Features, s: Side, n: Side, si: np.ndarray, ni: np.ndarray) -> np.ndarray:
    a, b = s.fn(si), n.fn(ni)
    af, bf = s.fnfull(si), n.fnfull(ni)
    levels = np.where((a < 0) | (b < 0), -1, -2).astype(np.int8)
    todo = levels == -2
    exact = todo & ((a == b) | ((af >= 0) & (af == bf)))
    levels[exact] = 0
    todo = levels == -2
    idx = np.flatnonzero(todo)
    if len(idx):
        variant = _variant(f, a[idx], b[idx])
        jw, osa = _string_scores(f.names, a[idx], b[idx])
        multi = (af[idx] != a[idx]) | (bf[idx] != b[idx])
        if multi.any():  # several given names: also compare them run together
            jw_full, osa_full = _string_scores(f.names, af[idx][multi], bf[idx][multi])
            jw[multi] = np.maximum(jw[multi], jw_full)
            osa[multi] = np.minimum(osa[multi], osa_full)
        middle = _any_equal(a[idx, None], n.mid(ni[idx])) | _any_equal(b[idx, None], s.mid(si[idx]))
        sn_a, sn_b = s.sn(si[idx]), n.sn(ni[idx])
        given_to_surname = _near(f, af[idx], sn_b)  # the survey's given names are the NPD's surname
        surname_to_given = _near(f, sn_a, bf[idx])
        transposed = given_to_surname & surname_to_given
        cross = given_to_surname | surname_to_given
        # An initial for a forename ("J Smith") is common in records keyed
        # from forms; to string measures J and James are far apart.
        first_a, first_b = f.name_initial[a[idx]], f.name_initial[b[idx]]
        one_letter = (f.name_length[a[idx]] == 1) | (f.name_length[b[idx]] == 1)
        initial = one_letter & (first_a >= 0) & (first_a == first_b)
        sub = np.full(len(idx), -2, dtype=np.int8)
        _assign(sub, [np.zeros(len(idx), bool), variant, (osa <= 1) | (jw >= JW_CLOSE), middle, transposed, cross,
                      initial, jw >= JW_SIMILAR, np.ones(len(idx), bool)])
        levels[idx] = sub
    return levels


def _surname(f: Features, s: Side, n: Side, si: np.ndarray, ni: np.ndarray) -> np.ndarray:
    a, b = s.sn(si), n.sn(ni)
    levels = np.where((a < 0) | (b < 0), -1, -2).astype(np.int8)
    levels[(levels == -2) & (a == b)] = 0
    idx = np.flatnonzero(levels == -2)
    if len(idx):
        sp, np_ = s.snparts(si[idx]), n.snparts(ni[idx])
        part = _any_equal(sp, np_) | _any_equal(a[idx, None], np_) | _any_equal(b[idx, None], sp)
        jw, osa = _string_scores(f.names, a[idx], b[idx])
        sub = np.full(len(idx), -2, dtype=np.int8)
        _assign(sub, [np.zeros(len(idx), bool), part, (osa <= 1) | (jw >= JW_CLOSE), jw >= JW_SIMILAR, np.ones(len(idx), bool)])
        levels[idx] = sub
    return levels


def _dob(s: Side, n: Side, si: np.ndarray, ni: np.ndarray) -> np.ndarray:
    ys, ms, ds = s.year(si), s.month(si), s.day(si)
    yn, mn, dn = n.year(ni), n.month(ni), n.day(ni)
    levels = np.where((ys < 0) | (yn < 0), -1, -2).astype(np.int8)
    same = (ys == yn).astype(np.int8) + (ms == mn) + (ds == dn)
    swapped = (ys == yn) & (ms == dn) & (ds == mn) & (ms != ds)
    return _assign(levels, [same == 3, swapped, same == 2, np.ones(len(si), bool)])


def _postcode(f: Features, s: Side, n: Side, si: np.ndarray, ni: np.ndarray) -> np.ndarray:
    a, b = s.pc(si), n.pc(ni)
    levels = np.where((a < 0) | (b < 0), -1, -2).astype(np.int8)
    sec_a, sec_b = s.sector(si), n.sector(ni)
    dis_a, dis_b = s.district(si), n.district(ni)
    _assign(levels, [a == b, (sec_a >= 0) & (sec_a == sec_b), (dis_a >= 0) & (dis_a == dis_b)])
    idx = np.flatnonzero(levels == -2)
    if len(idx):
        _, osa = _string_scores(lambda codes: postcode_text(codes, f.long_postcodes), a[idx], b[idx])
        levels[idx] = np.where(osa <= 1, 3, 4)
    return levels


def _agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where((a < 0) | (b < 0), -1, np.where(a == b, 0, 1)).astype(np.int8)


def compare(features: Features, survey_rows: np.ndarray, npd_rows: np.ndarray) -> pd.DataFrame:
    """Comparison levels of each pair, one ``int8`` column per field of :data:`FIELDS`.

    Parameters
    ----------
    features
        Both sides, encoded (:func:`sendlink.link.features.encode`).
    survey_rows, npd_rows
        Aligned row positions of the pairs to compare.

    Returns
    -------
    DataFrame
        Columns ``forename, surname, date_of_birth, postcode, sex, school``
        holding the index of the level in the field's ``levels`` (0 =
        strongest agreement), or ``-1`` when either side is missing.
    """
    s, n = features.survey, features.npd
    si = np.asarray(survey_rows, dtype=np.int64)
    ni = np.asarray(npd_rows, dtype=np.int64)
    forename = _forename(features, s, n, si, ni)
    surname = _surname(features, s, n, si, ni)
    surname[forename == TRANSPOSED] = -1  # the swap is one event, counted once, on the forename
    return pd.DataFrame(
        {
            "forename": forename,
            "surname": surname,
            "date_of_birth": _dob(s, n, si, ni),
            "postcode": _postcode(features, s, n, si, ni),
            "sex": _agree(s.sex(si), n.sex(ni)),
            "school": _agree(s.school(si), n.school(ni)),
        }
    )

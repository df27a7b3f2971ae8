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
    ``variant`` (nickname or spelling variant: Bob~Robert, Mohammed~Muhammad;
    or a Yoruba short form: Seun~Oluwaseun, Tunde~Babatunde, Funmi~
    Olufunmilayo, the name without its prefix or the start of what is left,
    :data:`YORUBA_PREFIXES`) / ``close`` (one typing
    slip: optimal string alignment distance 1, or Jaro-Winkler >= 0.92) /
    ``prefix`` (the names agree once a Muhammad/Mohammed prefix is set aside:
    Muhammad Yusuf~Yusuf, Md Yusuf~Yusuf) / ``middle_name`` (one side's forename is among the
    other side's middle names: a child known by a middle name) /
    ``transposed`` (forename and surname swapped: each is equal or close to
    the other side's other name) / ``cross`` (one of them is: a surname
    given as a forename, or the other way round, on one side only) /
    ``initial`` (one side gives only an initial, and it is the other side's
    first letter: J ~ James) / ``similar`` (Jaro-Winkler >= 0.80) /
    ``different``.
surname
    ``exact`` / ``variant`` (spellings of one family name: Chowdhury~
    Choudhury, Hussain~Hossain, Price~ap Rhys; Mc~Mac folded) / ``part`` (a
    part of a double-barrelled name or a name without its particle or title:
    Smith-Jones~Jones, de Souza~Souza, Begum Rahman~Rahman, Kaur Gill~Gill)
    / ``close`` / ``other_names`` (one side's surname is among the other's
    given or middle names: a Somali child's second name is the father's
    given name, and one record keeps it as the surname, the other the
    grandfather's) / ``title`` (one side's surname is only a title name,
    Begum or Kaur, the other's a family name: no agreement, but not the
    disagreement of two family names either) / ``similar`` / ``different``. When the names are transposed the surname
    is *missing* (no evidence): the swap is one event, counted once, on the
    forename. (Scoring it on both fields, as an earlier version did, also
    rewarded a one-sided coincidence twice: a child called Karim Saleh
    against a pupil whose surname is Karim got about 10 bits.)
date_of_birth
    ``exact`` / ``swapped`` (day and month swapped: 2009-03-12 ~
    2009-12-03) / ``one_off`` (two of year, month, day agree: one component
    mistyped) / ``default`` (the years agree and one side is 1 January: the
    placeholder some systems record when the day and month of a birth are
    unknown, common among children born abroad) / ``different`` (one part
    agrees, or within a year) / ``far``
    (every part differs and more than a year apart: another child, far more
    often than a slip; its own m and u make it evidence *against*, not
    merely missing agreement).
postcode
    ``unit`` (full postcode) / ``sector`` / ``district`` / ``typo`` (one
    character wrong or two swapped, anywhere) / ``different``.
sex, school
    ``agree`` / ``disagree``.
postcode_history, school_history (only with the NPD's census history)
    ``past`` (the survey's postcode, or school, is one the pupil had at a
    census within the history window) / ``none``. *Missing* when there is
    no history for the pupil, the survey lacks the field, or the current
    field already agrees (the agreement is counted once, on the current
    field). Without a history input both are missing for every pair, and
    the model leaves them out: the linker behaves as without them.

*Missing* is not a level: it is "no evidence", weight 0, whatever the
other fields say. String similarity is computed with
``rapidfuzz.process.cpdist`` (vectorised C++), once per distinct pair of
values.

Each compared field is one :class:`Comparison` holding its levels, and each
:class:`Level` holds everything about itself in one place, as Splink's
comparison levels do: its label, the condition that puts a pair at it (a
function of the :class:`Pairs`, evaluated only on the pairs no stronger
level took), its starting m for EM, whether it counts as agreement, and the
same condition in Splink's SQL (:mod:`sendlink.link.splink_export`).
Reordering or adding a level is one edit here; nothing elsewhere is
matched by position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import distance, process

from sendlink.link.arrays import unique_inverse
from sendlink.link.features import PC_BASE, PC_LONG, PC_WIDTH, Features, postcode_text
from sendlink.link.sql import Sql
from sendlink.link.standardise import PREFIX_NAMES, TITLE_NAMES

__all__ = ["FIELDS", "Comparison", "Level", "Pairs", "compare", "given_name_core", "level_names"]

#: Jaro-Winkler bands for "close" and "similar" names.
JW_CLOSE = 0.92
JW_SIMILAR = 0.80


# --------------------------------------------------------------------------- string measures


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
        return np.zeros(0, np.float64), np.zeros(0, np.int32)
    if callable(strings):
        left, right = strings(ua), strings(ub)
    else:
        left, right = strings[ua].tolist(), strings[ub].tolist()
    # Only the bands matter (JW >= JW_SIMILAR, OSA <= 1): cut-offs let rapidfuzz stop early.
    # Double precision, as rapidfuzz applies the cut-off: in single precision a similarity of
    # 0.9199999999999999 rounds up to 0.92 and would be "close" while 0.7999999999999999 is cut off.
    jw = process.cpdist(left, right, scorer=distance.JaroWinkler.similarity, dtype=np.float64, workers=-1, score_cutoff=JW_SIMILAR)
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


def _near(f: Features, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise: are the names equal or close (one slip, or Jaro-Winkler >= JW_CLOSE)?"""
    out = (a >= 0) & (a == b)
    rest = np.flatnonzero((a >= 0) & (b >= 0) & ~out)
    if len(rest):
        jw, osa = _string_scores(f.names, a[rest], b[rest])
        out[rest] = (osa <= 1) | (jw >= JW_CLOSE)
    return out


#: Yoruba given names often begin with a theophoric or family element that the short
#: form drops: Oluwaseun -> Seun, Babatunde -> Tunde, Adebayo -> Bayo, Temitope -> Tope.
YORUBA_PREFIXES = ("oluwa", "olu", "ade", "baba", "ayo", "akin", "ola", "omo", "temi", "ibi", "funmi", "oyin")
_YORUBA_BY_LENGTH = tuple(sorted(YORUBA_PREFIXES, key=len, reverse=True))
_YORUBA_SQL = "^(" + "|".join(_YORUBA_BY_LENGTH) + ")"


def _short_form_pair(a: str, b: str) -> bool:
    """Is one name the other without a Yoruba prefix, or the start of what is left (at least three letters)?"""
    if not a or not b or a == b:
        return False
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if len(short) < 3 or len(short) == len(long_):
        return False
    # The longest prefix the long name starts with is the one dropped (as the SQL's regexp does);
    # the short form is the stem that is left, or its first syllables (Funmi for Olufunmilayo).
    prefix = next((pre for pre in _YORUBA_BY_LENGTH if long_.startswith(pre)), None)
    return prefix is not None and long_[len(prefix):].startswith(short)


def _short_form(features: Features, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Only names that start with a Yoruba prefix can have a short form (a table over the vocabulary).
    prefixed = _name_table(features, "yoruba", lambda n: n.startswith(YORUBA_PREFIXES), bool)
    ok = (a >= 0) & (b >= 0) & (prefixed[np.where(a < 0, -1, a)] | prefixed[np.where(b < 0, -1, b)])
    out = np.zeros(len(a), dtype=bool)
    rows = np.flatnonzero(ok)
    if len(rows):
        ua, ub, inverse = _unique_pairs(a[rows], b[rows])
        names = features.names
        hit = np.array([_short_form_pair(str(names[x]), str(names[y])) for x, y in zip(ua.tolist(), ub.tolist(), strict=True)], dtype=bool)
        out[rows] = hit[inverse]
    return out


def _name_table(features: Features, name: str, function: Callable[[str], object], dtype) -> np.ndarray:
    """A per-name table over the shared vocabulary (with a ``-1`` slot at the end), computed once."""
    key = ("compare_table", name)
    table = features.cache.get(key)
    if table is None:
        table = np.array([function(str(v)) for v in features.names] + [function("")], dtype=dtype)
        features.cache[key] = table
    return table


def _mac_folded(features: Features) -> np.ndarray:
    """Each name's code with a leading ``mac`` folded into ``mc`` (its own code when there is none)."""
    key = ("compare_table", "mac")
    table = features.cache.get(key)
    if table is None:
        names = [str(v) for v in features.names]
        index = {n: i for i, n in enumerate(names)}
        folded = {}
        table = np.arange(len(names) + 1, dtype=np.int64)
        for i, n in enumerate(names):
            if n.startswith("mac") and len(n) > 4:
                target = "mc" + n[3:]
                table[i] = index.get(target, folded.setdefault(target, len(names) + 1 + len(folded)))
        table[-1] = -1
        features.cache[key] = table
    return table


# --------------------------------------------------------------------------- the pairs being compared


@dataclass
class Pairs:
    """Candidate pairs being given a level: both records' encoded values, with per-pair evidence computed once.

    A level's condition is evaluated only on the pairs no stronger level
    took (:meth:`take`); evidence several levels use (a Jaro-Winkler score,
    whether two names are near) is computed for the pairs that first need it
    and looked up by the later, smaller sets (:meth:`evidence`).
    """

    features: Features
    survey_rows: np.ndarray
    npd_rows: np.ndarray
    positions: np.ndarray | None = None  # into the pairs first given; None: all of them
    _cache: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.survey_rows)

    @property
    def s(self):
        return self.features.survey

    @property
    def n(self):
        return self.features.npd

    @property
    def history(self):
        """The NPD's census history (:class:`sendlink.link.history.History`), or None."""
        return self.features.cache.get("history")

    def take(self, positions: np.ndarray) -> Pairs:
        """The pairs at ``positions`` (sorted), sharing this set's evidence."""
        base = np.arange(len(self)) if self.positions is None else self.positions
        return Pairs(self.features, self.survey_rows[positions], self.npd_rows[positions], base[positions], self._cache)

    def evidence(self, name: str, compute: Callable[[Pairs], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
        """Per-pair evidence ``name`` (a tuple of arrays), computed once and reused by smaller sets of the same pairs."""
        here = np.arange(len(self)) if self.positions is None else self.positions
        cached = self._cache.get(name)
        if cached is not None:
            positions, values = cached
            at = np.searchsorted(positions, here)
            if len(here) == 0 or (at.max() < len(positions) and np.array_equal(positions[at], here)):
                return tuple(v[at] for v in values)
        values = tuple(compute(self))
        self._cache[name] = (here, values)
        return values


# --------------------------------------------------------------------------- levels and comparisons


@dataclass(frozen=True)
class Level:
    """One comparison level: its label, when it applies, and how the model treats it.

    Attributes
    ----------
    label
        The level's name (``exact``, ``variant``...), as the pairs file and
        the model report show it.
    when
        Which of the given pairs are at this level (a boolean per pair); it
        is asked only about pairs that no stronger level took. ``None`` for
        the last level: every pair left.
    m_start
        Starting value of m = P(level | match) in EM: an expert guess that
        says "true matches mostly agree" (not fitted, only a start; the
        field's values are normalised to sum to 1).
    agrees
        Whether the level counts as *agreement* for the rule that a match
        must agree on at least two fields (see :mod:`sendlink.link.model`).
    sql
        The same condition in Splink's SQL over the prepared columns
        (:func:`sendlink.link.splink_export.splink_records`), written by a
        :class:`~sendlink.link.sql.Sql` for the engine and string measures
        wanted (``level.sql(Sql("spark"))``); ``None`` for the last level
        (``ELSE``).
    """

    label: str
    when: Callable[[Pairs], np.ndarray] | None
    m_start: float
    agrees: bool
    sql: Callable[[Sql], str] | None


@dataclass(frozen=True)
class Comparison:
    """One compared field: when it is missing, its levels (strongest first), term-frequency adjustment.

    Attributes
    ----------
    name
        The field (a column of the pairs file).
    missing
        Pairs where the field is no evidence (either side lacks it).
    levels
        The levels, strongest agreement first; the last is disagreement and
        takes every pair left.
    term_frequency
        Whether the first (exact) level is adjusted for how common the
        value is (:mod:`sendlink.link.model`).
    missing_sql
        The missing condition in Splink's SQL (the null level), written by
        a :class:`~sendlink.link.sql.Sql` as :attr:`Level.sql` is.
    """

    name: str
    missing: Callable[[Pairs], np.ndarray]
    levels: tuple[Level, ...]
    missing_sql: Callable[[Sql], str]
    term_frequency: bool = False

    def __post_init__(self) -> None:
        if not self.levels or self.levels[-1].when is not None or any(level.when is None for level in self.levels[:-1]):
            raise ValueError(f"{self.name}: every level but the last needs a condition; the last takes the rest")
        labels = self.labels
        if len(set(labels)) != len(labels):
            raise ValueError(f"{self.name}: level labels must be distinct, got {labels}")

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(level.label for level in self.levels)

    @property
    def m_start(self) -> tuple[float, ...]:
        return tuple(level.m_start for level in self.levels)

    @property
    def agrees(self) -> tuple[bool, ...]:
        return tuple(level.agrees for level in self.levels)

    def index(self, label: str) -> int:
        """The position of the level called ``label``."""
        return self.labels.index(label)

    def level_of(self, pairs: Pairs) -> np.ndarray:
        """Each pair's level (its position in :attr:`levels`), ``-1`` where the field is missing."""
        levels = np.where(self.missing(pairs), -1, -2).astype(np.int8)
        for index, level in enumerate(self.levels):
            todo = np.flatnonzero(levels == -2)
            if not len(todo):
                break
            hit = todo if level.when is None else todo[np.asarray(level.when(pairs.take(todo)), dtype=bool)]
            levels[hit] = index
        return levels


# --------------------------------------------------------------------------- forename


def _fn(p: Pairs) -> tuple[np.ndarray, np.ndarray]:
    return p.s.fn(p.survey_rows), p.n.fn(p.npd_rows)


def _fnfull(p: Pairs) -> tuple[np.ndarray, np.ndarray]:
    return p.s.fnfull(p.survey_rows), p.n.fnfull(p.npd_rows)


def _close(scores: Callable[[Pairs], tuple[np.ndarray, np.ndarray]]) -> Callable[[Pairs], np.ndarray]:
    """One typing slip apart (OSA distance at most 1) or Jaro-Winkler at least :data:`JW_CLOSE`, by ``scores``."""
    def close(p: Pairs) -> np.ndarray:
        jw, osa = p.evidence(scores.__name__, scores)
        return (osa <= 1) | (jw >= JW_CLOSE)
    return close


def _similar(scores: Callable[[Pairs], tuple[np.ndarray, np.ndarray]]) -> Callable[[Pairs], np.ndarray]:
    """Jaro-Winkler at least :data:`JW_SIMILAR`, by ``scores``."""
    def similar(p: Pairs) -> np.ndarray:
        jw, _ = p.evidence(scores.__name__, scores)
        return jw >= JW_SIMILAR
    return similar


def _missing(values: Callable[[Pairs], tuple[np.ndarray, np.ndarray]]) -> Callable[[Pairs], np.ndarray]:
    """Either side lacks the field."""
    def missing(p: Pairs) -> np.ndarray:
        a, b = values(p)
        return (a < 0) | (b < 0)
    return missing


def _forename_exact(p: Pairs) -> np.ndarray:
    """The first given names, or all given names run together, are equal."""
    (a, b), (af, bf) = _fn(p), _fnfull(p)
    return (a == b) | ((af >= 0) & (af == bf))


def _forename_scores(p: Pairs) -> tuple[np.ndarray, np.ndarray]:
    """Jaro-Winkler and OSA of the first given names; with several given names, also of all of them run together."""
    (a, b), (af, bf) = _fn(p), _fnfull(p)
    jw, osa = _string_scores(p.features.names, a, b)
    multi = (af != a) | (bf != b)
    if multi.any():  # several given names: also compare them run together
        jw_full, osa_full = _string_scores(p.features.names, af[multi], bf[multi])
        jw[multi] = np.maximum(jw[multi], jw_full)
        osa[multi] = np.minimum(osa[multi], osa_full)
    return jw, osa


def _given_to_surname(p: Pairs) -> np.ndarray:
    """The survey's given names are (near) the NPD's surname."""
    return p.evidence("given_to_surname", lambda q: (_near(q.features, _fnfull(q)[0], q.n.sn(q.npd_rows)),))[0]


def _surname_to_given(p: Pairs) -> np.ndarray:
    """The survey's surname is (near) the NPD's given names."""
    return p.evidence("surname_to_given", lambda q: (_near(q.features, q.s.sn(q.survey_rows), _fnfull(q)[1]),))[0]


def _middle_name(p: Pairs) -> np.ndarray:
    a, b = _fn(p)
    return _any_equal(a[:, None], p.n.mid(p.npd_rows)) | _any_equal(b[:, None], p.s.mid(p.survey_rows))


def _initial(p: Pairs) -> np.ndarray:
    # An initial for a forename ("J Smith") is common in records keyed from
    # forms; to string measures J and James are far apart.
    a, b = _fn(p)
    f = p.features
    first_a, first_b = f.name_initial[a], f.name_initial[b]
    one_letter = (f.name_length[a] == 1) | (f.name_length[b] == 1)
    return one_letter & (first_a >= 0) & (first_a == first_b)


def given_name_core(features: Features, spine, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The given name a child is known by, once a Muhammad/Mohammed prefix (:data:`PREFIX_NAMES`)
    is set aside, and whether there was one (name codes; ``-1`` when none is left)."""
    f = features
    is_prefix = _name_table(f, "prefix", lambda n: n in PREFIX_NAMES, bool)
    first = spine.fn(rows).astype(np.int64)
    core = first.copy()
    prefixed = is_prefix[np.where(first < 0, len(is_prefix) - 1, first)] & (first >= 0)
    if prefixed.any():
        others = spine.mid(rows)[prefixed].astype(np.int64)
        pick = np.full(len(others), -1, dtype=np.int64)
        for j in range(others.shape[1] - 1, -1, -1):  # the first later name that is not a prefix itself
            value = others[:, j]
            ok = (value >= 0) & ~is_prefix[np.where(value < 0, len(is_prefix) - 1, value)]
            pick = np.where(ok, value, pick)
        core[prefixed] = pick
    return core, prefixed


def _prefix(p: Pairs) -> np.ndarray:
    """Either side's first given name is a prefix name, and the names the child is known by agree (or are variants)."""
    (a, pa_), (b, pb) = given_name_core(p.features, p.s, p.survey_rows), given_name_core(p.features, p.n, p.npd_rows)
    ok = (pa_ | pb) & (a >= 0) & (b >= 0)
    out = ok & (a == b)
    rest = np.flatnonzero(ok & ~out)
    if len(rest):
        out[rest] = _variant(p.features, a[rest], b[rest])
    return out


def _sql_near(q: Sql, a: str, b: str) -> str:
    """SQL: names equal, or one slip apart, or Jaro-Winkler >= JW_CLOSE (both present)."""
    return f"({a} IS NOT NULL AND {b} IS NOT NULL AND ({a} = {b} OR {q.osa(a, b)} <= 1 OR {q.jw(a, b)} >= {JW_CLOSE}))"


FORENAME = Comparison(
    "forename",
    missing=_missing(_fn),
    missing_sql=lambda q: "fn_l IS NULL OR fn_r IS NULL",
    term_frequency=True,
    levels=(
        Level("exact", _forename_exact, 0.85, True, lambda q: "(fn_l = fn_r OR fnfull_l = fnfull_r)"),
        Level("variant", lambda p: _variant(p.features, *_fn(p)) | _short_form(p.features, *_fn(p)), 0.03, True,
              lambda q: (f"({q.overlap('fn_groups_l', 'fn_groups_r')} OR (length(fn_l) < length(fn_r) AND length(fn_l) >= 3 "
                         f"AND {q.matches('fn_r', _YORUBA_SQL)} AND {q.starts_with(q.without('fn_r', _YORUBA_SQL), 'fn_l')}) "
                         f"OR (length(fn_r) < length(fn_l) AND length(fn_r) >= 3 AND {q.matches('fn_l', _YORUBA_SQL)} "
                         f"AND {q.starts_with(q.without('fn_l', _YORUBA_SQL), 'fn_r')}))")),
        Level("close", _close(_forename_scores), 0.04, True,
              lambda q: (f"({q.osa('fn_l', 'fn_r')} <= 1 OR {q.jw('fn_l', 'fn_r')} >= {JW_CLOSE} "
                         f"OR {q.osa('fnfull_l', 'fnfull_r')} <= 1 OR {q.jw('fnfull_l', 'fnfull_r')} >= {JW_CLOSE})")),
        Level("prefix", _prefix, 0.01, True,
              lambda q: ("((fncore_prefixed_l OR fncore_prefixed_r) AND fncore_l IS NOT NULL AND fncore_r IS NOT NULL "
                         f"AND (fncore_l = fncore_r OR {q.overlap('fncore_groups_l', 'fncore_groups_r')}))")),
        Level("middle_name", _middle_name, 0.01, True, lambda q: f"({q.contains('mid_r', 'fn_l')} OR {q.contains('mid_l', 'fn_r')})"),
        Level("transposed", lambda p: _given_to_surname(p) & _surname_to_given(p), 0.005, True,
              lambda q: f"({_sql_near(q, 'fnfull_l', 'sn_r')} AND {_sql_near(q, 'sn_l', 'fnfull_r')})"),
        Level("cross", lambda p: _given_to_surname(p) | _surname_to_given(p), 0.005, True,
              lambda q: f"({_sql_near(q, 'fnfull_l', 'sn_r')} OR {_sql_near(q, 'sn_l', 'fnfull_r')})"),
        Level("initial", _initial, 0.005, False,
              lambda q: f"((length(fn_l) = 1 OR length(fn_r) = 1) AND left(fn_l, 1) = left(fn_r, 1) AND {q.is_letter('left(fn_l, 1)')})"),
        Level("similar", _similar(_forename_scores), 0.015, False,
              lambda q: f"({q.jw('fn_l', 'fn_r')} >= {JW_SIMILAR} OR {q.jw('fnfull_l', 'fnfull_r')} >= {JW_SIMILAR})"),
        Level("different", None, 0.04, False, None),
    ),
)


# --------------------------------------------------------------------------- surname


def _sn(p: Pairs) -> tuple[np.ndarray, np.ndarray]:
    return p.s.sn(p.survey_rows), p.n.sn(p.npd_rows)


def _without_titles(f: Features, codes: np.ndarray) -> np.ndarray:
    """Name codes with title names (Begum, Kaur...) set to missing: a shared title is no shared family name."""
    title = _name_table(f, "title", lambda n: n in TITLE_NAMES, bool)
    return np.where((codes >= 0) & title[np.where(codes < 0, len(title) - 1, codes)], -1, codes)


def _surname_part(p: Pairs) -> np.ndarray:
    f = p.features
    (a, b), sp, np_ = _sn(p), p.s.snparts(p.survey_rows), p.n.snparts(p.npd_rows)
    a, b, sp, np_ = (_without_titles(f, x) for x in (a, b, sp, np_))
    return _any_equal(sp, np_) | _any_equal(a[:, None], np_) | _any_equal(b[:, None], sp)


def _surname_scores(p: Pairs) -> tuple[np.ndarray, np.ndarray]:
    return _string_scores(p.features.names, *_sn(p))


def _surname_variant(p: Pairs) -> np.ndarray:
    """Spellings of one family name (a shared surname group), or equal once Mac is folded into Mc."""
    a, b = _sn(p)
    fold = _mac_folded(p.features)
    fa, fb = fold[np.where(a < 0, len(fold) - 1, a)], fold[np.where(b < 0, len(fold) - 1, b)]
    return ((fa >= 0) & (fa == fb)) | _variant(p.features, a, b)


def _surname_in_other_names(p: Pairs) -> np.ndarray:
    """One side's surname (or a part of it) is among the other side's given or middle names."""
    (a, b), sp, np_ = _sn(p), p.s.snparts(p.survey_rows), p.n.snparts(p.npd_rows)
    s_given = np.hstack([p.s.fn(p.survey_rows)[:, None], p.s.mid(p.survey_rows)])
    n_given = np.hstack([p.n.fn(p.npd_rows)[:, None], p.n.mid(p.npd_rows)])
    # The first given names are compared by the forename field: only later names count here.
    return (_any_equal(np.hstack([a[:, None], sp]), n_given[:, 1:]) | _any_equal(np.hstack([b[:, None], np_]), s_given[:, 1:]))


def _surname_title(p: Pairs) -> np.ndarray:
    """One side's surname is a title name only (Begum, Kaur), the other's is not."""
    a, b = _sn(p)
    title = _name_table(p.features, "title", lambda n: n in TITLE_NAMES, bool)
    ta = title[np.where(a < 0, len(title) - 1, a)] & (a >= 0)
    tb = title[np.where(b < 0, len(title) - 1, b)] & (b >= 0)
    return ta ^ tb


#: When the names are transposed the surname is no evidence: the swap is one
#: event, counted once, on the forename. In SQL: the forename's transposed
#: condition holds and no stronger forename level does.
_TRANSPOSED = FORENAME.index("transposed")


def _transposed_sql(q: Sql) -> str:
    stronger = " OR ".join(level.sql(q) for level in FORENAME.levels[:_TRANSPOSED])
    return f"(fn_l IS NOT NULL AND fn_r IS NOT NULL AND NOT ({stronger}) AND {FORENAME.levels[_TRANSPOSED].sql(q)})"


SURNAME = Comparison(
    "surname",
    missing=_missing(_sn),
    missing_sql=lambda q: f"sn_l IS NULL OR sn_r IS NULL OR {_transposed_sql(q)}",
    term_frequency=True,
    levels=(
        Level("exact", lambda p: _sn(p)[0] == _sn(p)[1], 0.85, True, lambda q: "sn_l = sn_r"),
        Level("variant", _surname_variant, 0.01, True, lambda q: f"(snmc_l = snmc_r OR {q.overlap('sn_groups_l', 'sn_groups_r')})"),
        Level("part", _surname_part, 0.02, True,
              lambda q: (f"({q.overlap('snparts_nt_l', 'snparts_nt_r')} OR (NOT sn_title_l AND {q.contains('snparts_nt_r', 'sn_l')}) "
                         f"OR (NOT sn_title_r AND {q.contains('snparts_nt_l', 'sn_r')}))")),
        Level("close", _close(_surname_scores), 0.04, True,
              lambda q: f"({q.osa('sn_l', 'sn_r')} <= 1 OR {q.jw('sn_l', 'sn_r')} >= {JW_CLOSE})"),
        Level("other_names", _surname_in_other_names, 0.005, True,
              lambda q: f"({q.overlap(q.prepend('sn_l', 'snparts_l'), 'mid_r')} OR {q.overlap(q.prepend('sn_r', 'snparts_r'), 'mid_l')})"),
        Level("title", _surname_title, 0.005, False, lambda q: "(sn_title_l <> sn_title_r)"),
        Level("similar", _similar(_surname_scores), 0.015, False, lambda q: f"{q.jw('sn_l', 'sn_r')} >= {JW_SIMILAR}"),
        Level("different", None, 0.06, False, None),
    ),
)


# --------------------------------------------------------------------------- date of birth


def _same_parts(p: Pairs) -> np.ndarray:
    """How many of year, month and day agree."""
    def count(q: Pairs) -> tuple[np.ndarray]:
        s, n, si, ni = q.s, q.n, q.survey_rows, q.npd_rows
        return ((s.year(si) == n.year(ni)).astype(np.int8) + (s.month(si) == n.month(ni)) + (s.day(si) == n.day(ni)),)
    return p.evidence("dob_same_parts", count)[0]


def _swapped(p: Pairs) -> np.ndarray:
    s, n, si, ni = p.s, p.n, p.survey_rows, p.npd_rows
    ys, ms, ds, yn, mn, dn = s.year(si), s.month(si), s.day(si), n.year(ni), n.month(ni), n.day(ni)
    return (ys == yn) & (ms == dn) & (ds == mn) & (ms != ds)


#: Dates more than this many days apart, with no part in common, are ``far``.
FAR_DAYS = 366


def _default_date(p: Pairs) -> np.ndarray:
    """The years agree and one side is 1 January: a placeholder for an unknown day and month."""
    s, n, si, ni = p.s, p.n, p.survey_rows, p.npd_rows
    jan1 = ((s.month(si) == 1) & (s.day(si) == 1)) | ((n.month(ni) == 1) & (n.day(ni) == 1))
    return (s.year(si) >= 0) & (s.year(si) == n.year(ni)) & jan1


def _dob_not_far(p: Pairs) -> np.ndarray:
    """One part agrees, or the dates are at most :data:`FAR_DAYS` apart."""
    gap = np.abs(p.s.dob(p.survey_rows).astype(np.int64) - p.n.dob(p.npd_rows).astype(np.int64))
    return (_same_parts(p) >= 1) | (gap <= FAR_DAYS)



def _same_sql(q: Sql) -> str:
    return f"({q.as_int('dob_y_l = dob_y_r')} + {q.as_int('dob_m_l = dob_m_r')} + {q.as_int('dob_d_l = dob_d_r')})"


DATE_OF_BIRTH = Comparison(
    "date_of_birth",
    missing=_missing(lambda p: (p.s.year(p.survey_rows), p.n.year(p.npd_rows))),
    missing_sql=lambda q: "dob_y_l IS NULL OR dob_y_r IS NULL",
    levels=(
        Level("exact", lambda p: _same_parts(p) == 3, 0.90, True, lambda q: f"{_same_sql(q)} = 3"),
        Level("swapped", _swapped, 0.01, True,
              lambda q: "(dob_y_l = dob_y_r AND dob_m_l = dob_d_r AND dob_d_l = dob_m_r AND dob_m_l <> dob_d_l)"),
        Level("one_off", lambda p: _same_parts(p) == 2, 0.06, True, lambda q: f"{_same_sql(q)} = 2"),
        Level("default", _default_date, 0.005, True,
              lambda q: "(dob_y_l = dob_y_r AND ((dob_m_l = 1 AND dob_d_l = 1) OR (dob_m_r = 1 AND dob_d_r = 1)))"),
        Level("different", _dob_not_far, 0.025, False,
              lambda q: (f"({_same_sql(q)} >= 1 OR "
                         f"{q.days_apart(('dob_y_l', 'dob_m_l', 'dob_d_l'), ('dob_y_r', 'dob_m_r', 'dob_d_r'))} <= {FAR_DAYS})")),
        Level("far", None, 0.005, False, None),
    ),
)


# --------------------------------------------------------------------------- postcode


def _pc(p: Pairs) -> tuple[np.ndarray, np.ndarray]:
    return p.s.pc(p.survey_rows), p.n.pc(p.npd_rows)


def _postcode_typo(p: Pairs) -> np.ndarray:
    """One character wrong or two swapped, anywhere in the compact postcode.

    Nearly every pair asked holds two unrelated postcodes (they already
    differ in district), so those are ruled out on the numeric codes, with
    integer arithmetic and no text: two strings one edit apart (a
    substitution, insertion, deletion or swap of neighbours) differ in
    length by at most one, and their common prefix and common suffix
    together cover all but at most two characters of the shorter. The few
    pairs that pass are decoded to text once per distinct postcode and
    measured by OSA distance.
    """
    a, b = (np.asarray(v, dtype=np.int64) for v in _pc(p))
    typo = np.zeros(len(a), dtype=bool)
    maybe = np.flatnonzero((a >= PC_LONG) | (b >= PC_LONG))  # long forms are not held in the number: always measured
    short = np.flatnonzero((a >= 0) & (b >= 0) & (a < PC_LONG) & (b < PC_LONG))
    if len(short):
        ca, cb = a[short], b[short]
        # A code holds its characters right-aligned as base-37 digits (0 = padding).
        powers = PC_BASE ** np.arange(PC_WIDTH + 1, dtype=np.int64)
        la, lb = np.searchsorted(powers, ca, side="right"), np.searchsorted(powers, cb, side="right")
        shorter = np.minimum(la, lb)
        # Only pairs whose first or last characters agree can get far enough: look at the others no further.
        first_or_last = ((ca - cb) % PC_BASE == 0) | (ca // powers[la - 1] == cb // powers[lb - 1]) | (shorter <= 2)
        short, ca, cb, la, lb, shorter = (v[first_or_last] for v in (short, ca, cb, la, lb, shorter))
        left_a, left_b = ca * powers[PC_WIDTH - la], cb * powers[PC_WIDTH - lb]  # left-aligned
        difference = ca - cb
        suffix, prefix = np.zeros(len(short), np.int8), np.zeros(len(short), np.int8)
        same_suffix, same_prefix = np.ones(len(short), bool), np.ones(len(short), bool)
        for j in range(1, PC_WIDTH + 1):  # divisions by one number at a time: fast in numpy
            same_suffix &= difference // powers[j] * powers[j] == difference  # the last j characters agree
            same_prefix &= left_a // powers[PC_WIDTH - j] == left_b // powers[PC_WIDTH - j]  # the first j agree
            suffix += same_suffix
            prefix += same_prefix
        prefix, suffix = np.minimum(prefix, shorter), np.minimum(suffix, shorter)  # padding agrees with padding
        close = (np.abs(la - lb) <= 1) & (prefix + suffix >= shorter - 2)
        maybe = np.concatenate([maybe, short[close]])
    if len(maybe):
        codes, at = np.unique(np.concatenate([a[maybe], b[maybe]]), return_inverse=True)
        text = np.asarray(postcode_text(codes, p.features.long_postcodes), dtype=object)
        left, right = text[at[:len(maybe)]].tolist(), text[at[len(maybe):]].tolist()
        typo[maybe] = process.cpdist(left, right, scorer=distance.OSA.distance, dtype=np.int32, workers=-1, score_cutoff=1) <= 1
    return typo


POSTCODE = Comparison(
    "postcode",
    missing=_missing(_pc),
    missing_sql=lambda q: "pc_l IS NULL OR pc_r IS NULL",
    term_frequency=True,
    levels=(
        Level("unit", lambda p: _pc(p)[0] == _pc(p)[1], 0.75, True, lambda q: "pc_l = pc_r"),
        Level("sector", lambda p: (p.s.sector(p.survey_rows) >= 0) & (p.s.sector(p.survey_rows) == p.n.sector(p.npd_rows)), 0.04, True,
              lambda q: "(pc_sector_l IS NOT NULL AND pc_sector_l = pc_sector_r)"),
        Level("district", lambda p: (p.s.district(p.survey_rows) >= 0) & (p.s.district(p.survey_rows) == p.n.district(p.npd_rows)), 0.04, True,
              lambda q: "(pc_district_l IS NOT NULL AND pc_district_l = pc_district_r)"),
        Level("typo", _postcode_typo, 0.02, True, lambda q: f"{q.osa('pc_l', 'pc_r')} <= 1"),
        Level("different", None, 0.15, False, None),
    ),
)


# --------------------------------------------------------------------------- sex and school


def _agreement(name: str, values: Callable[[Pairs], tuple[np.ndarray, np.ndarray]], m_agree: float, m_disagree: float) -> Comparison:
    """A field compared for equality only: ``agree`` / ``disagree``."""
    return Comparison(
        name,
        missing=_missing(values),
        missing_sql=lambda q: f"{name}_l IS NULL OR {name}_r IS NULL",
        levels=(
            Level("agree", lambda p: np.equal(*values(p)), m_agree, True, lambda q: f"{name}_l = {name}_r"),
            Level("disagree", None, m_disagree, False, None),
        ),
    )


def _history_missing(current: Callable[[Pairs], tuple[np.ndarray, np.ndarray]], field: str) -> Callable[[Pairs], np.ndarray]:
    """No history for the pupil, the survey lacks the field, or the current field already agrees."""
    def missing(p: Pairs) -> np.ndarray:
        a, b = current(p)
        history = p.history
        if history is None:
            return np.ones(len(p), dtype=bool)
        return (a < 0) | (a == b) | ~history.has(field, p.npd_rows)
    return missing


def _history_past(current: Callable[[Pairs], tuple[np.ndarray, np.ndarray]], field: str) -> Callable[[Pairs], np.ndarray]:
    def past(p: Pairs) -> np.ndarray:
        return p.history.contains(field, p.npd_rows, current(p)[0])
    return past


def _history(name: str, field: str, current: Callable[[Pairs], tuple[np.ndarray, np.ndarray]], column: str) -> Comparison:
    """A current field compared with the pupil's census history: ``past`` / ``none``."""
    return Comparison(
        name,
        missing=_history_missing(current, field),
        missing_sql=lambda q: (f"{column}_l IS NULL OR {column}_hist_r IS NULL OR {q.size(f'{column}_hist_r')} = 0 "
                               f"OR {column}_l = {column}_r"),
        levels=(
            Level("past", _history_past(current, field), 0.3, True, lambda q: q.contains(f"{column}_hist_r", f"{column}_l")),
            Level("none", None, 0.7, False, None),
        ),
    )


SEX = _agreement("sex", lambda p: (p.s.sex(p.survey_rows), p.n.sex(p.npd_rows)), 0.97, 0.03)
SCHOOL = _agreement("school", lambda p: (p.s.school(p.survey_rows), p.n.school(p.npd_rows)), 0.80, 0.20)

POSTCODE_HISTORY = _history("postcode_history", "postcode", _pc, "pc")
SCHOOL_HISTORY = _history("school_history", "school", lambda p: (p.s.school(p.survey_rows), p.n.school(p.npd_rows)), "school")

#: The compared fields, in the order of the pairs file's columns.
FIELDS: tuple[Comparison, ...] = (FORENAME, SURNAME, DATE_OF_BIRTH, POSTCODE, SEX, SCHOOL, POSTCODE_HISTORY, SCHOOL_HISTORY)


def level_names(field: str) -> tuple[str, ...]:
    """The level names of a field, strongest first."""
    return next(f.labels for f in FIELDS if f.name == field)


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
        Columns ``forename, surname, date_of_birth, postcode, sex, school,
        postcode_history, school_history`` holding the index of the level in the field's ``levels`` (0 =
        strongest agreement), or ``-1`` when either side is missing.
    """
    pairs = Pairs(features, np.asarray(survey_rows, dtype=np.int64), np.asarray(npd_rows, dtype=np.int64))
    out = {spec.name: spec.level_of(pairs) for spec in FIELDS}
    out["surname"][out["forename"] == _TRANSPOSED] = -1  # the swap is one event, counted once, on the forename
    return pd.DataFrame(out)

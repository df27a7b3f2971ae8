"""Comparison levels on encodings: the linker's :class:`~sendlink.link.compare.Comparison` objects, rebuilt from filters and keyed tokens.

Run by the linkage unit. **In:** two encoded spines and candidate pairs.
**Out:** one comparison level per field and pair, exactly the shape
:func:`sendlink.link.compare.compare` returns, so the linker's own u
estimation, EM, term-frequency adjustment, scoring, one-to-one assignment
and clerical review (:mod:`sendlink.link.model`, :func:`sendlink.link.engine.decide`)
run on them unchanged.

Each field is a :class:`~sendlink.link.compare.Comparison` of
:class:`~sendlink.link.compare.Level` objects, evaluated by the linker's
own :meth:`~sendlink.link.compare.Comparison.level_of` on a
:class:`~sendlink.link.compare.Pairs` whose two sides are
:class:`~sendlink.pprl.encode.EncodedSpine` objects (:class:`EncodedSides`).
The levels keep the plain linker's labels, in its order, with their
starting m and "counts as agreement" flags, and each is tested on what the
encodings hold:

forename
    ``exact`` (identical filters: Dice 1) / ``variant`` (a shared keyed
    nickname-group token) / ``close`` (Dice >= ``bands.name_close``) /
    ``transposed`` (the keyed token of the unordered pair of names is equal:
    forename and surname swapped) / ``similar`` (Dice >= ``bands.name_similar``)
    / ``different``.
surname
    ``exact`` / ``part`` (a shared keyed surname-part token) / ``close`` /
    ``similar`` / ``different``; missing when the names are transposed (as
    in the plain linker: one event, counted once).
date_of_birth
    ``exact`` (equal keyed date tokens) / ``swapped`` (one side's
    day-month-swapped date token equals the other's date) / ``one_off``
    (Dice of the year/month/day filters >= ``bands.dob_one_off``: two of
    three components agree) / ``different``.
postcode
    ``unit`` (Dice 1) / ``sector`` / ``district`` (keyed tokens) /
    ``typo`` (Dice >= ``bands.postcode_typo``) / ``different``.
sex, school
    ``agree`` / ``disagree`` on keyed tokens.

A plain level with no test on encodings (``middle_name``, ``cross``,
``initial``: they need the other names, or a single letter, in a shared
token the encoding does not make; the date's ``default`` and ``far``, which
need the date's parts or the days between two dates) is kept with a condition that never
holds, so the level list, and everything keyed by it, is the plain
linker's; its m stays at the start value and its u at the half count
every unseen level gets (:func:`sendlink.link.model.estimate_u`). Levels
added to the plain linker later are handled the same way, by label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sendlink.link import compare
from sendlink.link.compare import Comparison, Level, Pairs
from sendlink.pprl.encode import EncodedSpine, field_similarity

__all__ = ["EncodedSides", "compare_encoded", "encoded_comparisons", "filter_frequencies", "level_tests"]

#: Fields the encodings support, and the plain field each stands for.
FILTER_FIELDS = ("forename", "surname", "date_of_birth", "postcode")
TOKEN_FIELDS = ("sex", "school")


@dataclass
class EncodedSides:
    """The two encoded spines of a comparison (what :class:`~sendlink.link.compare.Pairs` calls ``features``)."""

    survey: EncodedSpine
    npd: EncodedSpine


def _dice(name: str) -> Callable[[Pairs], np.ndarray]:
    """Per pair: Dice of the field's filters (computed once per set of pairs, reused by later levels)."""
    def similarity(p: Pairs) -> np.ndarray:
        return p.evidence(f"dice_{name}", lambda q: (field_similarity(q.s, q.n, name, q.survey_rows, q.npd_rows),))[0]
    return similarity


def _at_least(name: str, bound: float) -> Callable[[Pairs], np.ndarray]:
    sim = _dice(name)
    return lambda p: sim(p) >= bound


def _identical(name: str) -> Callable[[Pairs], np.ndarray]:
    return _at_least(name, 1.0 - 1e-12)


def _any_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    out = np.zeros(len(a), dtype=bool)
    for i in range(a.shape[1]):
        for j in range(b.shape[1]):
            out |= (a[:, i] >= 0) & (a[:, i] == b[:, j])
    return out


def _token_equal(survey_token: str, npd_token: str | None = None) -> Callable[[Pairs], np.ndarray]:
    """Per pair: do the keyed tokens agree (any of several, for multi-valued ones)?"""
    def equal(p: Pairs) -> np.ndarray:
        return _any_equal(p.s.tokens[survey_token][p.survey_rows], p.n.tokens[npd_token or survey_token][p.npd_rows])
    return equal


def _filter_missing(name: str) -> Callable[[Pairs], np.ndarray]:
    return lambda p: ~(p.s.present[name][p.survey_rows] & p.n.present[name][p.npd_rows])


def _token_missing(name: str) -> Callable[[Pairs], np.ndarray]:
    return lambda p: (p.s.tokens[name][p.survey_rows] < 0) | (p.n.tokens[name][p.npd_rows] < 0)


def _never(p: Pairs) -> np.ndarray:
    return np.zeros(len(p), dtype=bool)


def _always(p: Pairs) -> np.ndarray:
    return np.ones(len(p), dtype=bool)


def _conditions(bands) -> dict[str, tuple[Callable[[Pairs], np.ndarray], dict[str, Callable[[Pairs], np.ndarray]]]]:
    """Per field: when it is missing, and the encoded test of each plain level it can test."""
    return {
        "forename": (_filter_missing("forename"), {
            "exact": _identical("forename"),
            "variant": _token_equal("forename_groups"),
            "close": _at_least("forename", bands.name_close),
            "transposed": _token_equal("names_unordered"),
            "similar": _at_least("forename", bands.name_similar),
        }),
        "surname": (_filter_missing("surname"), {
            "exact": _identical("surname"),
            "part": _token_equal("surname_parts"),
            "close": _at_least("surname", bands.name_close),
            "similar": _at_least("surname", bands.name_similar),
        }),
        "date_of_birth": (_filter_missing("date_of_birth"), {
            "exact": _token_equal("dob"),
            "swapped": _token_equal("dob_swapped", "dob"),
            "one_off": _at_least("date_of_birth", bands.dob_one_off),
            # The plain linker's "far" (no part in common and over a year apart) needs the
            # distance between the dates, which the filters do not give: every other date
            # is "different" here, and "far" is never taken on encodings.
            "different": _always,
        }),
        "postcode": (_filter_missing("postcode"), {
            "unit": _identical("postcode"),
            "sector": _token_equal("pc_sector"),
            "district": _token_equal("pc_district"),
            "typo": _at_least("postcode", bands.postcode_typo),
        }),
        "sex": (_token_missing("sex"), {"agree": _token_equal("sex")}),
        "school": (_token_missing("school"), {"agree": _token_equal("school")}),
    }


def encoded_comparisons(bands) -> tuple[Comparison, ...]:
    """The linker's comparisons (:data:`sendlink.link.compare.FIELDS`), each level tested on encodings.

    Parameters
    ----------
    bands
        The Dice bounds (:class:`sendlink.params.pprl.Bands`).

    Returns
    -------
    tuple of Comparison
        One per plain field the encodings can compare, same labels, order,
        starting m and agreement flags; ``sql`` is ``None`` (no Splink export).
    """
    tests = _conditions(bands)
    out = []
    for plain in compare.FIELDS:
        if plain.name not in tests:
            continue
        missing, known = tests[plain.name]
        levels = tuple(
            Level(level.label, None if index == len(plain.levels) - 1 else known.get(level.label, _never),
                  level.m_start, level.agrees, None)
            for index, level in enumerate(plain.levels)
        )
        out.append(Comparison(plain.name, missing=missing, levels=levels, missing_sql="",
                              term_frequency=plain.term_frequency))
    return tuple(out)


def level_tests(bands) -> pd.DataFrame:
    """How each of the linker's levels is tested on encodings, for the reader (chapter 7).

    Parameters
    ----------
    bands
        The Dice bounds (:class:`sendlink.params.pprl.Bands`).

    Returns
    -------
    pandas.DataFrame
        Indexed by field and level, one column ``test on encodings``. A level
        after one that takes every remaining pair, or with no test on
        encodings, is ``not testable: never taken``.
    """
    described = {
        "exact": "identical filters (Dice 1) / equal keyed tokens",
        "variant": "shared nickname-group token",
        "close": f"Dice >= {bands.name_close}",
        "similar": f"Dice >= {bands.name_similar}",
        "transposed": "unordered pair of names: equal token",
        "part": "shared surname-part token",
        "swapped": "swapped-date token equals the other date",
        "one_off": f"Dice of date tokens >= {bands.dob_one_off}",
        "unit": "identical filters",
        "sector": "equal keyed token",
        "district": "equal keyed token",
        "typo": f"Dice >= {bands.postcode_typo}",
        "agree": "equal keyed token",
    }
    rows = []
    for spec in encoded_comparisons(bands):
        exhausted = False
        for level in spec.levels:
            if exhausted or level.when is _never:
                test = "not testable: never taken"
            elif level.when is None or level.when is _always:
                test, exhausted = "every pair left", True
            else:
                test = described.get(level.label, level.label)
            rows.append({"field": spec.name, "level": level.label, "test on encodings": test})
    return pd.DataFrame(rows).set_index(["field", "level"])


def compare_encoded(survey: EncodedSpine, npd: EncodedSpine, survey_rows: np.ndarray, npd_rows: np.ndarray,
                    comparisons: tuple[Comparison, ...]) -> pd.DataFrame:
    """Comparison levels of the pairs, one ``int8`` column per field (``-1`` missing), as :func:`sendlink.link.compare.compare`."""
    pairs = Pairs(EncodedSides(survey, npd), np.asarray(survey_rows, dtype=np.int64), np.asarray(npd_rows, dtype=np.int64))
    out = {spec.name: spec.level_of(pairs) for spec in comparisons}
    if "forename" in out and "surname" in out:
        transposed = next(c for c in comparisons if c.name == "forename").index("transposed")
        out["surname"][out["forename"] == transposed] = -1  # one event, counted once, on the forename
    return pd.DataFrame(out)


def _fingerprints(words: np.ndarray) -> np.ndarray:
    """One ``int64`` per filter, equal for identical filters (a fixed odd-multiplier hash of the 64-bit words).

    Two different filters share a fingerprint with probability about 2**-64:
    cheaper than sorting the filters themselves (128 bytes each) at 9 million rows.
    """
    multipliers = (np.arange(1, words.shape[1] + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    out = np.zeros(len(words), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(words.shape[1]):
            out = (out ^ (words[:, j] * multipliers[j])) * np.uint64(0xBF58476D1CE4E5B9)
    return out.view(np.int64)


def filter_frequencies(npd: EncodedSpine, fields: tuple[str, ...] = ("forename", "surname", "postcode")) -> dict[str, np.ndarray]:
    """Per NPD record and field: the share of NPD records with an identical filter (0 where missing).

    The encoded counterpart of the plain linker's term frequencies: an
    identical filter is the same value (same key, same tokens), so its
    frequency is the value's, counted without seeing it.
    """
    out = {}
    size = max(len(npd), 1)
    for name in fields:
        if name not in npd.filters:
            continue
        prints = _fingerprints(npd.filters[name])
        _, inverse, counts = np.unique(prints, return_inverse=True, return_counts=True)
        out[name] = np.where(npd.present[name], counts[inverse.ravel()] / size, 0.0)
    return out

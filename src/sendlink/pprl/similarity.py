"""Dice similarity of Bloom filters, and similarity bands.

The Dice coefficient of two filters ``a`` and ``b`` is
``2 |a AND b| / (|a| + |b|)`` (``|x|`` = bits set): 1 for identical
filters, near 0 for filters of unrelated values. Filters are packed
``uint64`` rows (:func:`sendlink.pprl.bloom.pack`), so a pair costs one
AND and one popcount per 64 bits; :func:`dice_pairs` does this for
millions of candidate pairs at once, in chunks that bound memory.

Bands (:func:`band`) turn a similarity into an ordered comparison level,
strongest first, as the Fellegi-Sunter model wants them (phase 2 maps
them to the linker's levels). The default thresholds
(:data:`DEFAULT_BANDS`) come from what one slip does to bigrams, not from
any data: a padded value of ``n`` characters has ``n + 1`` bigrams and one
wrong letter changes up to two of them, so its bigram Dice is
``(n - 1) / (n + 1)``: 0.67 for a five-letter name, 0.75 for seven, 0.8
for nine. ``close`` (>= 0.75) is therefore "one slip in a name of seven
letters or more, or identical", ``similar`` (>= 0.55) "about two slips";
Bloom-filter Dice runs a little above q-gram Dice (bits shared by
chance), which widens both bands slightly.
"""

from __future__ import annotations

import numpy as np

from sendlink.pprl.bloom import popcount

__all__ = ["DEFAULT_BANDS", "band", "dice", "dice_pairs", "hamming_pairs"]

#: Lower bounds of the bands after ``exact`` (Dice = 1): ``close``, ``similar``.
DEFAULT_BANDS = (0.75, 0.55)

#: Pairs per chunk in :func:`dice_pairs` (a chunk of 1 M pairs of 1,024-bit filters is 128 MB per side).
CHUNK = 500_000


def dice(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Dice of two aligned stacks of packed filters (0 where both are empty)."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    both = popcount(a & b)
    total = popcount(a) + popcount(b)
    return np.divide(2.0 * both, total, out=np.zeros(len(total)), where=total > 0)


def dice_pairs(a: np.ndarray, b: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray, *,
               counts_a: np.ndarray | None = None, counts_b: np.ndarray | None = None) -> np.ndarray:
    """Dice of the pairs ``(a[rows_a[i]], b[rows_b[i]])``, vectorised and chunked.

    ``counts_a``/``counts_b`` (the filters' popcounts) may be passed when
    computed already (they are per filter, not per pair).
    """
    rows_a = np.asarray(rows_a, dtype=np.int64)
    rows_b = np.asarray(rows_b, dtype=np.int64)
    ca = popcount(a) if counts_a is None else counts_a
    cb = popcount(b) if counts_b is None else counts_b
    out = np.zeros(len(rows_a))
    for start in range(0, len(rows_a), CHUNK):
        ia, ib = rows_a[start:start + CHUNK], rows_b[start:start + CHUNK]
        both = popcount(a[ia] & b[ib])
        total = ca[ia] + cb[ib]
        out[start:start + CHUNK] = np.divide(2.0 * both, total, out=np.zeros(len(total)), where=total > 0)
    return out


def hamming_pairs(a: np.ndarray, b: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    """Hamming distance (bits that differ) of the pairs, chunked as :func:`dice_pairs`."""
    rows_a = np.asarray(rows_a, dtype=np.int64)
    rows_b = np.asarray(rows_b, dtype=np.int64)
    out = np.zeros(len(rows_a), dtype=np.int64)
    for start in range(0, len(rows_a), CHUNK):
        out[start:start + CHUNK] = popcount(a[rows_a[start:start + CHUNK]] ^ b[rows_b[start:start + CHUNK]])
    return out


def band(similarity: np.ndarray, present: np.ndarray | None = None,
         thresholds: tuple[float, ...] = DEFAULT_BANDS) -> np.ndarray:
    """Ordered levels: 0 ``exact`` (similarity 1), then one per threshold, last ``different``; -1 missing.

    >>> band(np.array([1.0, 0.8, 0.6, 0.2]))
    array([0, 1, 2, 3], dtype=int8)
    """
    similarity = np.asarray(similarity, dtype=float)
    levels = np.full(len(similarity), len(thresholds) + 1, dtype=np.int8)
    for index, bound in reversed(list(enumerate(thresholds, start=1))):
        levels[similarity >= bound] = index
    levels[similarity >= 1.0 - 1e-12] = 0
    if present is not None:
        levels[~np.asarray(present, dtype=bool)] = -1
    return levels

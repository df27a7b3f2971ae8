"""One-to-one assignment: each child gets at most one NPD record, and back.

Stage ``link``, run by DfE. **In:** scored candidate pairs. **Out:** at most
one pair per survey record and per NPD record.

Two steps, both explainable on a whiteboard:

1. **Competing candidates** (:func:`competing_probability`). A pairwise
   probability judges each pair alone. But a survey child is at most one
   NPD pupil: if two NPD records both fit (twins sharing surname, date of
   birth, postcode and school, with the forename missing), each can be the
   child only if the other is not. The hypotheses "child i is NPD record j"
   (one per candidate j) and "child i is in none of them" are mutually
   exclusive, so
   ``P(i is j) = 2**w_ij / (1 + sum over candidates k of 2**w_ik)``
   where ``w`` is the match weight, its prior being the odds that record j
   is child i before comparing (:attr:`FittedModel.prior_weight`). With one
   plausible candidate this is ``1 / (1 + 2**-w)``; with two equally good
   ones each gets about one half, which sends the pair to a person instead
   of guessing. Non-candidates are left out of the sum: blocking exists
   because their weights are negligible.
2. **Greedy assignment by weight** (:func:`assign_greedy`). Pairs are taken
   in decreasing match weight (ties broken by survey key then NPD key, so
   the result never depends on row order); a pair is kept if neither record
   is already taken. Only pairs that could be linked or reviewed (probability
   at or above the review threshold) take part, so a weak pair never blocks
   a better-supported one. Greedy was chosen over an optimal bipartite
   matching (``scipy.optimize.linear_sum_assignment``): after step 1 the
   pairs that matter rarely conflict, greedy is what a reviewer would do by
   hand, and it runs in ``O(P log P)`` on a few thousand pairs, whereas an
   optimal matching maximises a *sum* of weights and can trade one certain
   link for two doubtful ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendlink.link.arrays import unique_inverse

__all__ = ["assign_greedy", "competing_probability", "greedy"]


def competing_probability(survey_rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Probability of each pair given its survey record's competing candidates.

    ``P(i is j) = 2**w_ij / (1 + sum_k 2**w_ik)``, computed stably in log space.
    Pairs sorted by survey record (as blocking gives them) are grouped
    without sorting; the sums are the same either way.
    """
    survey_rows = np.asarray(survey_rows)
    weights = np.asarray(weights, dtype=float)
    if len(weights) == 0:
        return np.zeros(0)
    if (survey_rows[1:] >= survey_rows[:-1]).all():  # groups are runs already
        first = np.concatenate([[True], survey_rows[1:] != survey_rows[:-1]])
        inverse = np.cumsum(first) - 1
        starts = np.flatnonzero(first)
        top = np.maximum(np.maximum.reduceat(weights, starts), 0.0)  # the "no match" term has weight 0
    else:
        groups, _, inverse = unique_inverse(survey_rows)
        order = np.argsort(inverse, kind="stable")
        sorted_groups = inverse[order]
        starts = np.flatnonzero(np.concatenate([[True], sorted_groups[1:] != sorted_groups[:-1]]))
        top = np.zeros(len(groups))
        top[sorted_groups[starts]] = np.maximum(np.maximum.reduceat(weights[order], starts), 0.0)
    total = np.bincount(inverse, weights=np.exp2(weights - top[inverse]), minlength=len(top)) + np.exp2(-top)
    return np.exp2(weights - top[inverse] - np.log2(total)[inverse])


def greedy(order: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Positions kept when pairs are taken in ``order`` and kept if neither record is taken yet.

    ``left`` and ``right`` are small integer codes of the two records of
    each pair. Returns the kept positions, in ``order``.
    """
    used_left = np.zeros(int(left.max(initial=-1)) + 1, dtype=bool)
    used_right = np.zeros(int(right.max(initial=-1)) + 1, dtype=bool)
    kept = []
    for position, a, b in zip(order.tolist(), left[order].tolist(), right[order].tolist(), strict=True):
        if not (used_left[a] or used_right[b]):
            used_left[a] = used_right[b] = True
            kept.append(position)
    return np.asarray(kept, dtype=np.int64)


def assign_greedy(pairs: pd.DataFrame, *, weight: str = "match_weight", left: str = "survey_id", right: str = "upn") -> pd.DataFrame:
    """Keep pairs greedily by decreasing ``weight`` so each key is used once.

    Ties are broken by ``left`` then ``right`` (as text), so the result is
    the same whatever the input order. Returns the kept rows, in that order.
    """
    if pairs.empty:
        return pairs.iloc[0:0]
    order = pairs.assign(_l=pairs[left].astype(str), _r=pairs[right].astype(str)).sort_values(
        [weight, "_l", "_r"], ascending=[False, True, True], kind="mergesort"
    )
    left_code, right_code = pd.factorize(order["_l"])[0], pd.factorize(order["_r"])[0]
    keep = greedy(np.arange(len(order)), left_code, right_code)
    return order.iloc[keep].drop(columns=["_l", "_r"])

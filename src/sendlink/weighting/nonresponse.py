"""The survey's non-response adjustment: weighting classes, collapsed where thin.

The survey organisation adjusts the design weights for non-response within
weighting classes: each eligible case's weight is carried by the
respondents of its class,

    respondent weight = base weight x (eligible total / respondent total),

with totals of the base weight. Classes with fewer than
:data:`MIN_CLASS_RESPONDENTS` respondents are merged into the coarser class
got by dropping the last class variable, until every class is large
enough, so classes stay disjoint and the weighted total of respondents
equals the base-weighted total of the eligible cases.

Wave 1 (:data:`W1_CLASSES`) adjusts the design weight for the parent's
response; wave 2 (:data:`W2_CLASSES`) adjusts the wave-1 weight for the
young person's wave-2 response among wave-1 respondents. The generator
makes the survey's weights with :func:`class_adjusted`
(:mod:`sendlink.synth.survey`). The bootstrap does not redo it: the
released replicates resample responding households only, with the survey
weights held fixed, which leaves the class totals free to vary and so errs
on the wide side (:mod:`sendlink.outcomes.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Fewest respondents a weighting class may have before it is merged into a
#: coarser one (an assumption; small classes give extreme weights).
MIN_CLASS_RESPONDENTS = 20
#: Wave-1 weighting classes: strand x provision x FSM x EAL x minority ethnic group.
W1_CLASSES = ("strand", "provision", "fsm", "eal", "minority")
#: Wave-2 (young person) weighting classes, among wave-1 respondents.
W2_CLASSES = ("provision", "fsm", "eal")


@dataclass(frozen=True)
class Classes:
    """The weighting classes of the eligible cases, at every level of coarsening.

    Attributes
    ----------
    rows
        Positions of the eligible cases.
    keys
        (eligible cases, levels + 1) class labels: column ``l`` is the class
        formed by the first ``len(classes) - l`` variables (column 0 the
        finest, the last column everyone).
    level
        Per eligible case, the column of ``keys`` the full-sample collapse
        settled on.
    """

    rows: np.ndarray
    keys: np.ndarray
    level: np.ndarray

    def labels(self, level: np.ndarray | None = None) -> np.ndarray:
        """The class of each eligible case at ``level`` (default: the full sample's)."""
        level = self.level if level is None else level
        return self.keys[np.arange(len(self.rows)), level]


def form_classes(frame: pd.DataFrame, classes: Sequence[str], responded: np.ndarray, eligible: np.ndarray | None = None) -> Classes:
    """The weighting classes, collapsed until each has :data:`MIN_CLASS_RESPONDENTS` respondents (see the module docstring)."""
    eligible = np.ones(len(frame), bool) if eligible is None else np.asarray(eligible, bool)
    rows = np.flatnonzero(eligible)
    columns = [frame[c].astype(str).to_numpy()[rows] for c in classes]
    depth = len(classes)
    keys = np.empty((len(rows), depth + 1), dtype=object)
    for j in range(depth + 1):
        used = depth - j
        parts = [np.full(len(rows), f"L{used}", dtype=object)] + columns[:used]
        keys[:, j] = np.array(["|".join(t) for t in zip(*parts, strict=True)], dtype=object)
    level = np.zeros(len(rows), dtype=int)
    resp = np.asarray(responded, bool)[rows]
    while True:
        current = keys[np.arange(len(rows)), level]
        counts = pd.Series(resp.astype(int)).groupby(current).sum()
        small = counts.index[(counts < MIN_CLASS_RESPONDENTS).to_numpy()]
        move = np.isin(current, small) & (level < depth)
        if not move.any():
            break
        level[move] += 1
    return Classes(rows, keys, level)


def _factors(classes: Classes, base: np.ndarray, responded: np.ndarray, level: np.ndarray) -> np.ndarray:
    labels = classes.labels(level)
    w = base[classes.rows]
    resp = responded[classes.rows]
    totals = pd.Series(w).groupby(labels).sum()
    resp_totals = pd.Series(np.where(resp, w, 0.0)).groupby(labels).sum()
    return (totals / resp_totals.replace(0, np.nan)).reindex(labels).to_numpy()


def class_adjusted(frame: pd.DataFrame, base: str, responded: np.ndarray, classes: Sequence[str], within: np.ndarray | None = None) -> np.ndarray:
    """Respondents' non-response-adjusted weights (NaN for everyone else); see the module docstring.

    Parameters
    ----------
    frame
        The issued sample, with the base weight and the class variables.
    base
        Column of the base weight (the design weight, or the wave-1 weight).
    responded
        Boolean per row: responded (the cases that carry the weight).
    classes
        Class variables in the order they are kept: the last is dropped
        first when a class is thin.
    within
        Boolean per row: the eligible cases (default: every row).
    """
    responded = np.asarray(responded, bool)
    formed = form_classes(frame, classes, responded, within)
    base_w = frame[base].to_numpy(dtype=float)
    factor = _factors(formed, base_w, responded, formed.level)
    weight = np.full(len(frame), np.nan)
    resp = responded[formed.rows]
    weight[formed.rows[resp]] = (base_w[formed.rows] * factor)[resp]
    return weight


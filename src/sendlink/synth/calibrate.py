"""Small numerical helpers that calibrate generated rates to published ones.

Rates in the synthetic data come from latent-variable models (logit-normal
absence rates, thresholds on a latent propensity). To hit a published
average, an intercept is solved for numerically; these helpers do that,
deterministically and without random draws.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def logit_normal_mean(mu: np.ndarray, sd: float) -> np.ndarray:
    """E[expit(mu + sd * Z)] for standard normal Z, by Gauss-Hermite quadrature."""
    mu = np.asarray(mu, dtype=float)
    return expit(mu[..., None] + sd * _NODES) @ _WEIGHTS


def _binned(offsets: np.ndarray, width: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
    """Offsets rounded to ``width`` with their counts: the mean of a smooth
    function over many offsets, to well within calibration tolerance, at a
    fraction of the cost."""
    keys, counts = np.unique(np.rint(np.asarray(offsets, dtype=float) / width), return_counts=True)
    return keys * width, counts / counts.sum()


def solve_intercept(offsets: np.ndarray, sd: float, target: float) -> float:
    """Find ``c`` with mean(E[expit(c + offsets + sd Z)]) == target."""
    if not 0 < target < 1:
        raise ValueError(f"target rate must be in (0, 1), got {target}")
    if len(offsets) == 0:
        return float(np.log(target / (1 - target)))
    values, weights = _binned(offsets)
    return float(brentq(lambda c: logit_normal_mean(c + values, sd) @ weights - target, -30, 30, xtol=1e-10))


def solve_logistic_intercept(offsets: np.ndarray, target: float) -> float:
    """Find ``c`` with mean(expit(c + offsets)) == target."""
    offsets = np.asarray(offsets, dtype=float)
    if len(offsets) == 0:
        return float(np.log(target / (1 - target)))
    return float(brentq(lambda c: expit(c + offsets).mean() - target, -30, 30, xtol=1e-10))


def top_share(score: np.ndarray, eligible: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask of the ``share`` of eligible rows with the highest score.

    Scores are continuous, so ties have probability zero; the selection is
    deterministic for the same input.
    """
    out = np.zeros(len(score), dtype=bool)
    rows = np.flatnonzero(eligible)
    k = int(round(share * len(rows)))
    if k <= 0:
        return out
    if k >= len(rows):
        out[rows] = True
        return out
    # A partial sort is enough (and deterministic for the same input).
    top = np.argpartition(-score[rows], k - 1)[:k]
    out[rows[top]] = True
    return out

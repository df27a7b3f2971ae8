"""Replicate weights: Rao-Wu rescaling bootstrap multipliers within the survey's strata.

Made by the survey organisation (which refits its consent model with them
at the extract stage, :mod:`sendlink.deidentify.analysis_support`) and
reused by the researchers (:mod:`sendlink.outcomes.bootstrap`), so both
sides resample the same households. The method and its assumptions are
described in :mod:`sendlink.outcomes.bootstrap`. Hand-written (a few lines):
the survey libraries that make replicate weights (R's ``survey``,
``svrep``) have no Python counterpart we can depend on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Replicate-file column names.
MULTIPLIER = "multiplier_{:03d}"
CONSENT = "{column}_{r:03d}"


def rao_wu_multipliers(strata: pd.Series | np.ndarray, frame_sizes: Mapping[str, float] | None, replicates: int,
                       rng: np.random.Generator, *, fpc: bool = True) -> np.ndarray:
    """Rao-Wu rescaling bootstrap multipliers, one column per replicate.

    Parameters
    ----------
    strata
        Stratum of each sampled unit.
    frame_sizes
        Stratum -> N_h, the frame's units in the stratum (for the
        finite-population correction); a stratum without one gets f_h = 0.
    replicates
        Number of replicates B.
    rng
        The generator (seeded by the caller).
    fpc
        Apply the finite-population correction (False: f_h = 0 everywhere).

    Returns
    -------
    numpy.ndarray
        (n, B) multipliers a_i (mean 1 within each stratum in expectation;
        never negative since m_h = n_h - 1).

    A stratum with a single unit cannot be resampled; its unit keeps the
    multiplier 1 (it adds no variance), with a warning.
    """
    strata = pd.Series(np.asarray(strata, dtype=object))
    out = np.ones((len(strata), replicates))
    for h, idx in strata.groupby(strata, sort=True).indices.items():
        n = len(idx)
        if n < 2:
            log.warning("bootstrap: stratum %s has one unit; it adds no variance", h)
            continue
        N = (frame_sizes or {}).get(h)
        f = min(n / N, 1.0) if (fpc and N and np.isfinite(N) and N > 0) else 0.0
        m = n - 1
        lam = np.sqrt(m * (1.0 - f) / (n - 1))
        draws = rng.integers(0, n, size=(replicates, m))
        counts = np.zeros((replicates, n))
        np.add.at(counts, (np.repeat(np.arange(replicates), m), draws.ravel()), 1.0)
        out[idx, :] = (1.0 - lam + lam * (n / m) * counts).T
    return out


def sampling_fractions(strata: pd.Series, frame_sizes: Mapping[str, float]) -> dict[str, float]:
    """f_h = n_h / N_h per stratum (NaN where N_h is unknown)."""
    n = pd.Series(np.asarray(strata, dtype=object)).value_counts()
    return {str(h): (float(n[h] / frame_sizes[h]) if frame_sizes.get(h) else float("nan")) for h in sorted(n.index)}


def effective_fractions(strata: pd.Series | np.ndarray, weights: np.ndarray, frame_sizes: Mapping[str, float]) -> dict[str, float]:
    """Per stratum, the finite-population fraction of a weighted analysis set: n_eff,h / N_h.

    The Horvitz-Thompson variance carries the factor (1 - pi_i) of each
    unit's *final* inclusion probability, pi_i = 1 / w_i (sampled, responded,
    consented, linked). Within a stratum the variance is dominated by the
    units with the largest weights, and the weighted mean of pi_i with the
    variance's weights w_i^2 is sum(w) / sum(w^2); with the weights scaled to
    the stratum's N_h frame units this is (sum w)^2 / (N_h sum w^2) = n_eff,h /
    N_h, Kish's effective sample size over the frame. With equal weights it
    is n_h / N_h; after non-response, consent and linkage it is much smaller
    than the share of the frame that responded, which is why a correction
    with that share makes the bootstrap too narrow. A stratum without N_h
    gets 0 (no correction).
    """
    strata = pd.Series(np.asarray(strata, dtype=object))
    w = np.asarray(weights, dtype=float)
    out = {}
    for h, idx in strata.groupby(strata, sort=True).indices.items():
        N = frame_sizes.get(h)
        wh = w[idx][np.isfinite(w[idx])]
        if not N or not np.isfinite(N) or N <= 0 or not len(wh) or np.sum(wh**2) <= 0:
            out[str(h)] = 0.0
            continue
        out[str(h)] = float(min(np.sum(wh) ** 2 / np.sum(wh**2) / N, 1.0))
    return out


def with_fpc(multipliers: np.ndarray, strata: pd.Series | np.ndarray, fractions: Mapping[str, float]) -> np.ndarray:
    """Multipliers made without the correction, rescaled to fraction f_h: a' = 1 + sqrt(1 - f_h) (a - 1).

    Rao-Wu multipliers are 1 - lambda + lambda (n/m) r with lambda =
    sqrt(1 - f) when m = n - 1, so a replicate's deviation from 1 scales with
    sqrt(1 - f): the released uncorrected multipliers (lambda = 1) become
    those of any fraction without redrawing, and each analysis can use the
    fraction of its own analysis set (:func:`effective_fractions`).
    """
    strata = np.asarray(strata, dtype=object)
    scale = np.array([np.sqrt(1.0 - fractions.get(str(h), 0.0)) for h in strata])
    return 1.0 + scale[:, None] * (np.asarray(multipliers, dtype=float) - 1.0)

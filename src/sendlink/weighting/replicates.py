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

"""Weighted GLMs: the design matrix, fits with a cluster-robust covariance, and point estimates for replicates.

The statistical core shared by the survey organisation (its consent model,
fitted at the extract stage) and the researchers (the link step and the
outcome models of :mod:`sendlink.outcomes`), so that both sides fit the
same model the same way.

statsmodels warns that robust covariances are "not fully supported" with
``var_weights``: for the canonical links used here (logit, log for Poisson,
identity) the result equals the textbook sandwich (checked against a closed
form in the tests), so the warning is silenced where these helpers fit.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    PerfectSeparationWarning,
    SpecificationWarning,
)

log = logging.getLogger(__name__)


#: A column is dropped as collinear when the share of its sum of squares not
#: explained by the columns before it is below this.
RANK_TOLERANCE = 1e-10


def design(frame: pd.DataFrame, terms: list[str] | tuple[str, ...], *, min_count: int = 0,
           keep: tuple[str, ...] = ()) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Design matrix: an intercept ``const`` and ``terms``, unestimable columns dropped.

    An indicator (a 0/1 column) not in ``keep`` that is set, or unset, in
    fewer than ``min_count`` rows is dropped too: a category that rare adds
    almost nothing to the adjustment and, in a logistic model, is often
    perfectly predicted, so its rows join the reference category instead.

    A term that takes one value only in ``frame`` (a category nobody in the
    sample has, a missing-value flag that is never set), or that is a linear
    combination of the intercept and the terms before it (two flags that are
    always set together), cannot be estimated and would make the model
    singular: it is dropped and named in the second return value. Terms are
    considered in the order given, so list the ones that matter first.
    """
    X = frame.loc[:, list(terms)].astype(float)
    sparse = []
    if min_count > 0:
        for term in terms:
            column = X[term]
            if term not in keep and column.isin([0.0, 1.0]).all():
                ones = int(column.sum())
                if 0 < ones < min_count or 0 < len(column) - ones < min_count:
                    sparse.append(term)
        X = X.drop(columns=sparse)
    X.insert(0, "const", 1.0)
    # Greedy Gram-Schmidt on the cross-product matrix (k x k, cheap): a
    # column is kept when the part of it not explained by the columns kept
    # before it is more than a rounding error.
    gram = X.T.to_numpy() @ X.to_numpy()
    kept: list[int] = []
    chol = np.zeros_like(gram)
    for j in range(gram.shape[0]):
        row = np.zeros(len(kept))
        for i, k in enumerate(kept):
            row[i] = (gram[k, j] - chol[i, :i] @ row[:i]) / chol[i, i]
        residual = gram[j, j] - row @ row
        if residual > RANK_TOLERANCE * max(gram[j, j], 1e-300):
            chol[len(kept), : len(kept)] = row
            chol[len(kept), len(kept)] = np.sqrt(residual)
            kept.append(j)
    names = list(X.columns)
    dropped = tuple(sparse) + tuple(names[j] for j in range(1, len(names)) if j not in kept)
    return X.iloc[:, kept], tuple(t for t in terms if t in dropped)


def cluster_codes(groups, n: int) -> np.ndarray:
    """Integer cluster codes; no groups, or a missing group, makes a row its own cluster."""
    if groups is None:
        return np.arange(n)
    labels = pd.Series(np.asarray(groups, dtype=object))
    if len(labels) != n:
        raise ValueError("groups must have one value per row")
    codes = pd.factorize(labels)[0]  # missing labels get -1
    # A row without a cluster (a school too small to be given a pseudonym)
    # is a cluster of its own.
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def fit_glm(y, X: pd.DataFrame, family, weights=None, groups=None):
    """Fit a GLM with probability weights and a cluster-robust covariance.

    Parameters
    ----------
    y, X
        Outcome and design (an intercept column included, see :func:`design`).
    family
        A statsmodels family instance.
    weights
        Probability weights (``var_weights``), or None for unweighted.
    groups
        Cluster of each row (the school), or None for each row its own
        cluster (the HC1 variance).
    """
    y = np.asarray(y, dtype=float)
    w = None if weights is None else np.asarray(weights, dtype=float)
    if w is not None:
        if (w < 0).any() or not np.isfinite(w).all():
            raise ValueError("weights must be finite and non-negative")
        # Scale to mean 1: estimates and robust variances do not depend on
        # the scale, but a Gaussian model's scale parameter would.
        w = w / w.mean()
    codes = cluster_codes(groups, len(y))
    model = sm.GLM(y, X, family=family, var_weights=w)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(cov_type="cluster", cov_kwds={"groups": codes})
    for w in caught:
        if issubclass(w.category, SpecificationWarning) and "cov_type not fully supported" in str(w.message):
            continue
        if issubclass(w.category, PerfectSeparationWarning | ConvergenceWarning):
            log.warning("%s model: %s", type(family).__name__, w.message)
        # Numerical warnings from a model on the edge of separation add
        # nothing to the message above.
    return result


def fit_params(y: np.ndarray, X: np.ndarray, family, weights: np.ndarray | None = None, *, start: np.ndarray | None = None) -> np.ndarray:
    """Point estimates only, for replicate refits (no covariance is computed).

    ``weights`` are case weights (``var_weights``): a bootstrap replicate's
    multipliers, or replicate analysis weights.
    """
    model = sm.GLM(np.asarray(y, dtype=float), X, family=family, var_weights=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(start_params=start, maxiter=100)
    return np.asarray(result.params, dtype=float)


def expit(eta: np.ndarray) -> np.ndarray:
    """The logistic function, safe for extreme and infinite arguments."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isposinf(eta), 1.0, 1.0 / (1.0 + np.exp(-np.clip(eta, -35, 35))))

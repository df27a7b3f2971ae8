"""Model helpers: weighted GLMs with cluster-robust standard errors.

Every outcome model is a generalised linear model fitted by statsmodels:

* :func:`fit_logistic` (binary outcome; effects are odds ratios),
* :func:`fit_count` (counts: Poisson with robust errors, or a
  pre-specified negative binomial; effects are rate ratios),
* :func:`fit_linear` (continuous outcome; effects are differences).

Weights and standard errors
---------------------------
Analysis weights are *probability* weights (survey weight x inverse
probability of consent and link), not frequency weights: they change which
population the estimate describes, not how many people were observed. They
enter statsmodels' GLM as ``var_weights`` (the point estimates solve the
weighted score equations sum_i w_i x_i (y_i - mu_i) / (V(mu_i) g'(mu_i)) = 0,
the pseudo-maximum-likelihood estimator of survey statistics) and the
variance is the sandwich (linearisation) estimator clustered by school:
``cov_type="cluster"`` with the usual small-sample factor
G/(G-1) x (N-1)/(N-K). Assumptions: schools are independent of each other;
the weights are treated as fixed (the estimation of the consent model is
ignored: the simulation in ``benchmarks/`` found these standard errors up
to about 15% too small for some effects, so the headline intervals come
from the replicate-weight bootstrap, :mod:`sendlink.outcomes.bootstrap`,
which re-estimates the weights); with no cluster given, each row is its
own cluster (HC1).

The design matrix and the weighted fit (:func:`design`, :func:`fit_glm`)
live in :mod:`sendlink.weighting.glm`, shared with the survey
organisation's consent model, and are re-exported here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

# The design matrix and the weighted fit are shared with the survey
# organisation's consent model (sendlink.weighting); re-exported here.
from sendlink.weighting.glm import RANK_TOLERANCE, cluster_codes, design, fit_glm, fit_params

__all__ = [
    "FITTERS", "RANK_TOLERANCE", "SCALES", "ModelFit", "Overdispersion", "cluster_codes", "design", "fit_count", "fit_glm",
    "fit_linear", "fit_logistic", "fit_params", "overdispersion",
]

log = logging.getLogger(__name__)

#: Model family -> (how an effect is reported, whether it is exponentiated).
SCALES = {
    "logistic": ("odds ratio", True),
    "poisson": ("rate ratio", True),
    "negative_binomial": ("rate ratio", True),
    "linear": ("difference", False),
}


@dataclass(frozen=True)
class Overdispersion:
    """Evidence on whether counts vary more than a Poisson model allows.

    Attributes
    ----------
    alpha
        Moment estimate of the NB2 overdispersion parameter (Var = mu +
        alpha mu^2): the slope of the Cameron-Trivedi auxiliary regression
        of ((y - mu)^2 - y) / mu on mu without intercept, weighted.
    se, z, p_value
        Its standard error, z statistic and one-sided p-value for alpha > 0.
    pearson_ratio
        Pearson chi-square over residual degrees of freedom of the Poisson
        fit (about 1 for Poisson counts).
    """

    alpha: float
    se: float
    z: float
    p_value: float
    pearson_ratio: float


@dataclass
class ModelFit:
    """A fitted outcome model.

    Attributes
    ----------
    family
        ``logistic``, ``poisson``, ``negative_binomial`` or ``linear``.
    result
        The statsmodels results object.
    n, clusters
        Rows used, and schools (clusters) among them.
    weighted
        Whether analysis weights were used.
    alpha
        The negative binomial's overdispersion parameter (None otherwise).
    overdispersion
        The test that chose between Poisson and negative binomial (counts only).
    dropped_terms
        Terms left out because they were constant in the data (a category
        nobody in the sample has).
    """

    family: str
    result: object
    n: int
    clusters: int
    weighted: bool
    alpha: float | None = None
    overdispersion: Overdispersion | None = None
    dropped_terms: tuple[str, ...] = field(default_factory=tuple)

    @property
    def scale(self) -> str:
        return SCALES[self.family][0]

    def effects(self, terms: list[str] | tuple[str, ...] | None = None, confidence: float = 0.95) -> pd.DataFrame:
        """Coefficients with confidence intervals, on both scales.

        Returns one row per term: ``coef``, ``se``, ``ci_low``, ``ci_high``
        on the model's scale (log-odds, log-rate, points) and ``effect``,
        ``effect_low``, ``effect_high`` as reported (odds or rate ratios by
        exponentiating, differences as they are). Intervals are Wald
        intervals from the normal distribution.
        """
        params = self.result.params
        bse = self.result.bse
        terms = list(params.index) if terms is None else list(terms)
        z = stats.norm.ppf(0.5 + confidence / 2)
        rows = []
        exponentiate = SCALES[self.family][1]
        for term in terms:
            if term not in params.index:
                coef = se = np.nan
            else:
                coef, se = float(params[term]), float(bse[term])
            low, high = coef - z * se, coef + z * se
            f = np.exp if exponentiate else (lambda v: v)
            with np.errstate(over="ignore"):
                rows.append({"term": term, "coef": coef, "se": se, "ci_low": low, "ci_high": high,
                             "effect": f(coef), "effect_low": f(low), "effect_high": f(high), "scale": self.scale})
        return pd.DataFrame(rows)


def _clusters(groups, n: int) -> int:
    return int(np.unique(cluster_codes(groups, n)).size)


def fit_logistic(y, X: pd.DataFrame, weights=None, groups=None) -> ModelFit:
    """Logistic regression of a 0/1 outcome; effects are odds ratios.

    Assumes the log-odds are linear in the terms; under misspecification the
    estimate is the (weighted) population's best logistic approximation.
    """
    result = fit_glm(y, X, sm.families.Binomial(), weights, groups)
    return ModelFit("logistic", result, len(X), _clusters(groups, len(X)), weights is not None)


def fit_linear(y, X: pd.DataFrame, weights=None, groups=None) -> ModelFit:
    """Linear regression (Gaussian GLM, identity link); effects are differences.

    No normality is assumed for the intervals beyond the central limit
    theorem: the variance is the cluster-robust sandwich, so heteroscedastic
    and bounded outcomes (Attainment 8 is clipped to 0-90, life
    satisfaction is 0-10) are fine.
    """
    result = fit_glm(y, X, sm.families.Gaussian(), weights, groups)
    return ModelFit("linear", result, len(X), _clusters(groups, len(X)), weights is not None)


def overdispersion(y, mu, n_params: int, weights=None, groups=None) -> Overdispersion:
    """Cameron-Trivedi test of Poisson equidispersion against NB2.

    Under a Poisson model E[(y - mu)^2 - y] = 0; under NB2 it is alpha mu^2.
    The auxiliary regression of ((y - mu)^2 - y) / mu on mu without an
    intercept estimates alpha by

        alpha = sum_i w_i ((y_i - mu_i)^2 - y_i) / sum_i w_i mu_i^2,

    (the weighted least-squares slope, since mu_i times the response is
    (y_i - mu_i)^2 - y_i), with a cluster-robust standard error.

    Parameters
    ----------
    y, mu
        Counts and the Poisson model's fitted means.
    n_params
        Parameters of the Poisson model (for the Pearson ratio's degrees of
        freedom).
    weights, groups
        As in :func:`fit_glm`.
    """
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float) / np.mean(weights)
    response = ((y - mu) ** 2 - y) / mu
    aux = fit_glm(response, pd.DataFrame({"mu": mu}), sm.families.Gaussian(), w if weights is not None else None, groups)
    alpha, se = float(aux.params["mu"]), float(aux.bse["mu"])
    z = alpha / se if se > 0 else np.inf
    pearson = float(np.sum(w * (y - mu) ** 2 / mu) / (np.sum(w) - n_params)) if np.sum(w) > n_params else np.nan
    return Overdispersion(alpha=alpha, se=se, z=z, p_value=float(stats.norm.sf(z)), pearson_ratio=pearson)


def fit_count(y, X: pd.DataFrame, weights=None, groups=None, model: str = "poisson") -> ModelFit:
    """Count model for a non-negative integer outcome; effects are rate ratios.

    The model is fixed in advance (``model``), never chosen by a test on the
    same data:

    * ``poisson``: Poisson regression with the robust (sandwich) variance.
      The rate ratios are consistent whenever the log-mean model is right,
      whatever the variance, and the target does not depend on a
      dispersion parameter;
    * ``negative_binomial``: NB2 with alpha fixed at its moment estimate
      (:func:`overdispersion`), estimated afresh in every fit. More
      efficient when counts are overdispersed, but its weights depend on
      alpha, so under a misspecified mean model so does its target.

    The Cameron-Trivedi overdispersion test is computed either way and
    reported as a diagnostic (:attr:`ModelFit.overdispersion`).
    """
    if model not in ("poisson", "negative_binomial"):
        raise ValueError(f"count model must be 'poisson' or 'negative_binomial', got {model!r}")
    poisson = fit_glm(y, X, sm.families.Poisson(), weights, groups)
    test = overdispersion(y, poisson.fittedvalues, X.shape[1], weights, groups)
    n, k = len(X), _clusters(groups, len(X))
    if model == "negative_binomial":
        alpha = max(test.alpha, 1e-8)
        nb = fit_glm(y, X, sm.families.NegativeBinomial(alpha=alpha), weights, groups)
        return ModelFit("negative_binomial", nb, n, k, weights is not None, alpha=alpha, overdispersion=test)
    return ModelFit("poisson", poisson, n, k, weights is not None, overdispersion=test)


FITTERS = {"logistic": fit_logistic, "count": fit_count, "linear": fit_linear}

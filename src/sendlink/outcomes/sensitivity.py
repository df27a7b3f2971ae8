"""How much would consent have to depend on the unseen outcome to overturn a conclusion?

Weighting assumes that, given what the survey knows, families who consent
and link have outcomes like those who do not (missing at random). Nothing
in the data can check that. A **delta-adjustment** sensitivity analysis
(a pattern-mixture model; Carpenter and Kenward 2013, ch. 10) asks instead:
suppose the families who are *not* analysable differ from analysable
families like them by delta on the model's scale, for every unit of the
term studied; how large must delta be before the conclusion changes? That
value is the **tipping point** (Yan, Lee and Li 2009; Liublinska and Rubin
2014).

How (exact for these models, no imputation draws)
--------------------------------------------------
An analysable family i with survey weight b_i and analysis weight w_i
stands for itself (b_i) and for w_i - b_i non-analysable families like it
(that is what the inverse-probability weight means). The delta-adjusted
fit keeps the family with weight b_i and adds a *clone* with weight
w_i - b_i whose outcome is shifted:

* linear outcomes (Attainment 8, wellbeing): y + delta x_i;
* counts (log link): y exp(delta x_i), so the clone's mean is multiplied
  by exp(delta x_i);
* persistent absence (logit link; the outcome is a share of years): the
  clone's chance of persistent absence moves from mu_i to
  expit(logit(mu_i) + delta x_i), by moving part of the family's own
  outcome towards 1 (delta > 0) or 0 (delta < 0); mu_i is the weighted
  model's fitted value.

x_i is the family's value of the term (1 or 0 for unmet need, the centred
rating for satisfaction). At delta = 0 the fit is exactly the weighted
estimate. The estimate moves almost linearly in delta; the tipping points
are found by root-finding: ``delta_estimate_zero`` (the estimate reaches
no difference) and ``delta_interval_zero`` (the 95% interval first
includes no difference, with the bootstrap standard error held at its
delta = 0 value). Only main-model effects whose interval excludes no
difference are examined: they are the conclusions. The shift of the
estimate from delta is computed on the first imputed data set and added to
the pooled estimate (it hardly differs between imputations).

Reading a tipping point: delta is on the model's scale (log odds, log
rate, points), per unit of the term: a delta of -3 points for unmet need
and Attainment 8 says "non-analysable families reporting unmet need would
have to score 3 points lower than analysable families like them (relative
to those without unmet need) for the association to vanish". Whether that
is plausible is a judgement the analyst must argue, for instance against
the size of the effect itself or the gap between the naive and weighted
estimates.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats

from sendlink.outcomes.analysis import LINKS, MODELS, OUTCOMES, model_terms
from sendlink.outcomes.models import design
from sendlink.params.outcomes import OutcomesParams

log = logging.getLogger(__name__)

FAMILIES = {"logistic": sm.families.Binomial, "poisson": sm.families.Poisson, "linear": sm.families.Gaussian}


def shifted_outcome(y: np.ndarray, mu: np.ndarray, shift: np.ndarray, family: str) -> np.ndarray:
    """The clones' outcomes under a shift of ``shift`` on the model scale (see the module docstring)."""
    if family == "linear":
        return y + shift
    if family in ("poisson", "negative_binomial"):
        return y * np.exp(shift)
    mu = np.clip(mu, 1e-9, 1 - 1e-9)
    target = 1.0 / (1.0 + np.exp(-(np.log(mu / (1 - mu)) + shift)))
    up = np.where(shift > 0, (target - mu) / (1 - mu), 0.0)  # share of the gap to 1 moved up
    keep = np.where(shift < 0, target / mu, 1.0)  # share of y kept
    return np.clip(y * keep + (1 - y) * up, 0.0, 1.0)


class DeltaModel:
    """The stacked (family + clone) fit of one weighted model, as a function of delta."""

    def __init__(self, extract: pd.DataFrame, analysis, outcome: str, model: str = "main"):
        self.outcome = OUTCOMES[outcome]
        self.model = model
        fit = analysis.fits[(outcome, model, "weighted")]
        rows = analysis.samples[(outcome, model)].to_numpy()
        data = analysis.datasets(outcome)[0].loc[rows]
        X, _ = design(data, model_terms(model), min_count=0, keep=MODELS[model])
        self.columns = list(fit.result.params.index)
        self.X = X.reindex(columns=self.columns, fill_value=0.0).to_numpy(dtype=float)
        self.data = data
        self.y = data[outcome].to_numpy(dtype=float)
        w = analysis.weights[(outcome, model)].weight.to_numpy(dtype=float)[rows]
        b = extract[self.outcome.base_weight].to_numpy(dtype=float)[rows]
        self.b, self.c = b, np.clip(w - b, 0.0, None)
        self.family = fit.family
        self.mu = np.asarray(fit.result.fittedvalues, dtype=float)
        self.start = fit.result.params.to_numpy()
        self.alpha = fit.alpha

    def share(self) -> float:
        """Share of the weight carried by the clones (the non-analysable families)."""
        return float(self.c.sum() / (self.b.sum() + self.c.sum()))

    def estimate(self, term: str, shift: np.ndarray) -> float:
        """The term's coefficient with the clones' outcomes shifted by ``shift`` (per row)."""
        y_clone = shifted_outcome(self.y, self.mu, shift, self.family)
        family = sm.families.NegativeBinomial(alpha=self.alpha) if self.family == "negative_binomial" else FAMILIES[self.family]()
        X = np.vstack([self.X, self.X])
        y = np.concatenate([self.y, y_clone])
        w = np.concatenate([self.b, self.c])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = sm.GLM(y, X, family=family, var_weights=w / w.mean()).fit(start_params=self.start)
        except (ValueError, np.linalg.LinAlgError):  # a shift so large the model cannot be fitted
            return float("nan")
        return float(result.params[self.columns.index(term)])

    def term_values(self, term: str) -> np.ndarray:
        return self.data[term].to_numpy(dtype=float)


def _root(f, step: float, limit: float) -> float:
    """Smallest |delta| with f(delta) = 0, searching outwards in both directions; NaN beyond ``limit``."""
    f0 = f(0.0)
    best = np.nan
    for direction in (1.0, -1.0):
        lo, hi = 0.0, direction * step
        while abs(hi) <= limit:
            fh = f(hi)
            if not np.isfinite(fh):
                break
            if np.sign(fh) != np.sign(f0):
                root = optimize.brentq(f, min(lo, hi), max(lo, hi), xtol=1e-4 * step)
                if np.isnan(best) or abs(root) < abs(best):
                    best = root
                break
            lo, hi = hi, hi * 2
    return float(best)


def tipping_points(extract: pd.DataFrame, analysis, params: OutcomesParams) -> pd.DataFrame:
    """Tipping points of every main-model weighted effect whose interval excludes no difference.

    Returns
    -------
    pandas.DataFrame
        ``outcome, term, estimate, se, share_not_analysable, shift_per_delta``
        (the estimate's change per unit of delta, near 0),
        ``delta_estimate_zero``, ``delta_interval_zero`` (model scale; NaN if
        no delta within a wide range overturns it) and ``scale``.
    """
    s = params
    z = stats.norm.ppf(0.5 + s.confidence / 2)
    est = analysis.estimates
    w = est[(est["estimator"] == "weighted") & (est["model"] == "main")]
    rows = []
    for outcome in dict.fromkeys(w["outcome"]):
        dm = None
        for r in w[w["outcome"] == outcome].itertuples(index=False):
            if not (np.isfinite(r.ci_low) and (r.ci_low > 0 or r.ci_high < 0)):
                continue
            dm = dm or DeltaModel(extract, analysis, outcome)
            x = dm.term_values(r.term)
            base = dm.estimate(r.term, np.zeros_like(x))
            offset = r.coef - base  # pooled estimate minus this data set's

            def est_at(delta, x=x, term=r.term, offset=offset, dm=dm):
                return dm.estimate(term, delta * x) + offset

            sign = np.sign(r.coef)
            # Search up to 4 on the log scales (a 55-fold shift in odds or
            # rate) and 16 half-effects for linear outcomes.
            step = 0.25 if r.family != "linear" else max(0.25, abs(r.coef) / 2)
            limit = 4.0 if r.family != "linear" else 16 * step
            slope = (est_at(step) - est_at(-step)) / (2 * step)
            d_est = _root(lambda d: est_at(d), step, limit)
            d_int = _root(lambda d, bound=sign * z * r.se: est_at(d) - bound, step, limit)
            rows.append({"outcome": outcome, "term": r.term, "estimate": r.coef, "se": r.se, "scale": r.scale,
                         "share_not_analysable": dm.share(), "shift_per_delta": slope,
                         "delta_estimate_zero": d_est, "delta_interval_zero": d_int})
    return pd.DataFrame(rows)


def delta_grid(extract: pd.DataFrame, analysis, outcome: str, term: str, exposed: np.ndarray, unexposed: np.ndarray) -> pd.DataFrame:
    """The estimate over a grid of deltas for the non-analysable families with and without a binary exposure.

    The two-dimensional tipping-point display (Liublinska and Rubin 2014):
    ``delta_exposed`` shifts the clones with the exposure (``term`` = 1),
    ``delta_unexposed`` those without; returns one row per pair with the
    ``estimate`` (pooled-estimate offset added).
    """
    dm = DeltaModel(extract, analysis, outcome)
    x = dm.term_values(term)
    est = analysis.estimates
    pooled = est[(est["estimator"] == "weighted") & (est["model"] == "main") & (est["outcome"] == outcome) & (est["term"] == term)].iloc[0]
    offset = pooled["coef"] - dm.estimate(term, np.zeros_like(x))
    rows = []
    for d1 in exposed:
        for d0 in unexposed:
            rows.append({"delta_exposed": d1, "delta_unexposed": d0, "estimate": dm.estimate(term, d1 * x + d0 * (1 - x)) + offset})
    out = pd.DataFrame(rows)
    out["se"] = pooled["se"]
    return out


def summary(table: pd.DataFrame) -> dict:
    """The summary's ``sensitivity`` entry: tipping points per effect."""
    out = {}
    for r in table.itertuples(index=False):
        out[f"{r.outcome}:{r.term}"] = {
            "estimate": round(float(r.estimate), 4), "share_not_analysable": round(float(r.share_not_analysable), 4),
            "shift_per_delta": round(float(r.shift_per_delta), 4),
            "delta_estimate_zero": None if not np.isfinite(r.delta_estimate_zero) else round(float(r.delta_estimate_zero), 4),
            "delta_interval_zero": None if not np.isfinite(r.delta_interval_zero) else round(float(r.delta_interval_zero), 4),
            "scale": r.scale,
        }
    return out


__all__ = ["DeltaModel", "delta_grid", "shifted_outcome", "summary", "tipping_points", "LINKS"]

"""Replicate-weight bootstrap: variance that includes the estimated weights.

The sandwich standard errors of :mod:`sendlink.outcomes.models` treat the
analysis weights as known. They are not: each is a survey weight over an
estimated probability of consent and of linkage, trimmed at an estimated
quantile. The bootstrap redoes all of it in every replicate.

Replicates (Rao-Wu rescaling bootstrap)
---------------------------------------
Within each stratum h of the survey (``stratum``), m_h = n_h - 1 of the n_h
responding households are drawn with replacement; household i, drawn r_i
times, gets the multiplier

    a_i = 1 - lambda_h + lambda_h (n_h / m_h) r_i,   lambda_h = sqrt(m_h (1 - f_h) / (n_h - 1)),

The survey organisation releases the multipliers without a
finite-population correction (lambda_h = 1). The correction belongs to each
analysis: the target is the census value of *this* frame, and the
Horvitz-Thompson variance carries (1 - pi_i) for each unit's final inclusion
probability (sampled, responded, consented and linked), so the fraction is
that of the analysis set, f_h = n_eff,h / N_h with Kish's effective size
of the model's weighted rows in stratum h
(:func:`sendlink.weighting.replicates.effective_fractions`), applied by
rescaling, a' = 1 + sqrt(1 - f_h)(a - 1)
(:func:`sendlink.weighting.replicates.with_fpc`); the link step and the
consent model keep the uncorrected multipliers (further random phases
among respondents). The first edition used f_h = respondents / N_h for every
model, about four times the analysis sets' effective fractions, and its
intervals were 10-15% too narrow against the census value
(``benchmarks/results/simulation.md``). (Rao and Wu 1988; Rao, Wu and Yue
1992.) Households are the resampling units: the survey sampled pupils one
by one, not schools. Multipliers are hand-written (a few lines) because
they must be made by the survey organisation, which refits its consent
model with them (:mod:`sendlink.deidentify.analysis_support`), and reused
by the researchers. With ``finite_population_correction: false`` the
variance is that around a super-population value.

In each replicate r the analysis (:func:`replicate_estimates`):

1. takes the survey organisation's consent probabilities refitted with the
   replicate's multipliers;
2. refits the link step with them as case weights;
3. forms the analysis weights (survey weight x multiplier / probability),
   trimming at the replicate's own quantile;
4. refits each outcome model (and, for a negative binomial, its
   dispersion) and the marginal effects.

The bootstrap standard error is the standard deviation of the replicate
estimates around the full-sample estimate. With multiple imputation the
replicates are shared out among the imputations and combined by Rubin's
rules (:func:`combine`). The survey's own non-response adjustment is not
redone in each replicate (its classes and the non-respondents are not in
the extract): the survey weights are taken as given while the responding
households are resampled, so the class totals vary from replicate to
replicate, which errs on the wide side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The multipliers are made by the survey organisation and shared
# (sendlink.weighting.replicates); re-exported here.
from sendlink.weighting.replicates import (
    CONSENT,
    MULTIPLIER,
    effective_fractions,
    rao_wu_multipliers,
    sampling_fractions,
)

__all__ = ["CONSENT", "MULTIPLIER", "Combined", "combine", "rao_wu_multipliers", "replicate_matrix", "run_replicates",
           "sampling_fractions", "weighted_quantile"]

log = logging.getLogger(__name__)


@dataclass
class Combined:
    """A replicate-based variance, possibly pooled over imputations.

    Attributes
    ----------
    se
        Standard error.
    within, between
        Rubin's within-imputation (bootstrap) and between-imputation
        variances (between is 0 with one imputation).
    replicates
        Replicates used.
    """

    se: float
    within: float
    between: float
    replicates: int


def combine(estimates: np.ndarray, replicate_estimates: np.ndarray, imputation_of_replicate: np.ndarray) -> Combined:
    """Bootstrap variance of one quantity, combined over imputations by Rubin's rules.

    Parameters
    ----------
    estimates
        (M,) the full-sample estimate in each of the M imputed data sets.
    replicate_estimates
        (B,) each replicate's estimate; replicate r was computed on the
        imputed data set ``imputation_of_replicate[r]``.
    imputation_of_replicate
        (B,) integers in 0..M-1.

    Each imputation m contributes W_m, the mean squared deviation of its
    replicates from its own full-sample estimate; W is their mean, B the
    variance of the M estimates, and T = W + (1 + 1/M) B (Rubin 1987; the
    "MI Boot" scheme of Schomaker and Heumann 2018). Replicates whose
    estimate failed (NaN) are left out.
    """
    estimates = np.asarray(estimates, dtype=float)
    reps = np.asarray(replicate_estimates, dtype=float)
    which = np.asarray(imputation_of_replicate, dtype=int)
    M = len(estimates)
    w_parts = []
    used = 0
    for m in range(M):
        r = reps[(which == m) & np.isfinite(reps)]
        if len(r):
            w_parts.append(np.mean((r - estimates[m]) ** 2))
            used += len(r)
    if not w_parts:
        return Combined(float("nan"), float("nan"), float("nan"), 0)
    within = float(np.mean(w_parts))
    between = float(np.var(estimates, ddof=1)) if M > 1 else 0.0
    total = within + (1.0 + 1.0 / M) * between if M > 1 else within
    return Combined(float(np.sqrt(total)), within, between, used)


def weighted_quantile(values: np.ndarray, q: float, weights: np.ndarray | None = None) -> float:
    """The q-quantile of ``values`` with case weights (the inverted empirical CDF).

    Used for the trimming cap, so the full sample (weights 1) and a
    replicate (its multipliers) apply the same rule.
    """
    values = np.asarray(values, dtype=float)
    if weights is None:
        weights = np.ones_like(values)
    return float(np.quantile(values, q, weights=np.asarray(weights, dtype=float), method="inverted_cdf"))


def replicate_matrix(extract: pd.DataFrame, replicates: pd.DataFrame, prefix: str) -> np.ndarray:
    """Columns ``prefix_001..`` of the replicate file, aligned with the extract's rows (n, B)."""
    table = replicates.set_index(replicates["research_id"].astype(str))
    columns = sorted(c for c in table.columns if c.startswith(prefix + "_") and c[len(prefix) + 1:].isdigit())
    if not columns:
        raise ValueError(f"the replicate file has no {prefix}_NNN columns")
    ids = extract["research_id"].astype(str)
    missing = ~ids.isin(table.index)
    if missing.any():
        raise ValueError(f"{int(missing.sum())} extract row(s) have no replicate weights: the replicate file belongs to another extract")
    return table.loc[ids.to_numpy(), columns].to_numpy(dtype=float)


def run_replicates(extract: pd.DataFrame, selections: dict, samples: list, replicates: pd.DataFrame, settings,
                   frame_sizes: dict[str, float] | None = None, keep_weights: dict | None = None) -> tuple[dict, dict]:
    """Refit the link step, the weights and every weighted model in each replicate.

    ``frame_sizes`` (stratum -> frame pupils, from DfE's frame totals) gives
    each model's finite-population correction when
    ``settings.finite_population_correction`` is set; without it there is none.
    ``keep_weights``, if given, receives per (outcome, model) the rows'
    analysis weights in every replicate (rows x B).

    Returns two mappings keyed by (outcome, model, term): the coefficient in
    every replicate with the imputation it used, ``(values, imputation)``,
    and the same for the average marginal effect, ``(values, imputation,
    full-sample value per imputation)``.
    """
    import statsmodels.api as sm

    from sendlink.outcomes.margins import average_marginal_effects_matrix
    from sendlink.outcomes.models import design
    from sendlink.outcomes.variables import LINKS, MODELS, model_terms
    from sendlink.weighting.glm import fit_params
    from sendlink.weighting.steps import CONSENT_STEPS, consented

    mult = replicate_matrix(extract, replicates, "multiplier")
    B = mult.shape[1]
    M = len(samples[0].datasets)
    linked = extract["npd_linked"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    # Per population: the link step's design on its rows, and the released replicate consent probabilities.
    steps = {}
    for sel in {id(s): s for s in selections.values()}.values():
        _, column = CONSENT_STEPS[sel.respondents]
        rows = np.isfinite(sel.link)
        steps[sel.respondents] = (rows, sel.link_model.matrix(extract.loc[rows]), replicate_matrix(extract, replicates, column), sel.link_model)
        assert (rows == (consented(extract, sel.respondents).to_numpy() & np.isfinite(sel.consent))).all()
    base = {}
    prepared = []
    for s in samples:
        rows = s.rows
        per_m = []
        for v in s.datasets:
            data = v.loc[rows]
            X, _ = design(data, model_terms(s.model), min_count=0, keep=MODELS[s.model])
            X = X.reindex(columns=s.columns, fill_value=0.0)
            per_m.append((X.to_numpy(dtype=float), data[s.outcome.name].to_numpy(dtype=float), data))
        base[(s.outcome.name, s.model)] = extract[s.outcome.base_weight].to_numpy(dtype=float)[rows]
        strata = extract["stratum"].astype(str).to_numpy()[rows]
        if settings.finite_population_correction and frame_sizes:
            fractions = effective_fractions(strata, s.weight, frame_sizes)
            log.info("bootstrap: %s/%s finite-population fractions %s", s.outcome.name, s.model,
                     ", ".join(f"{h} {f:.3f}" for h, f in fractions.items()))
        else:
            fractions = {}
        scale = np.array([np.sqrt(1.0 - fractions.get(h, 0.0)) for h in strata])
        prepared.append((s, per_m, scale))
    coefs: dict = {}
    ames: dict = {}
    which = np.arange(B) % M
    for r in range(B):
        a = mult[:, r]
        probability = {}
        for respondents, (rows, X, consent_reps, step) in steps.items():
            y = linked[rows]
            p = np.full(len(extract), np.nan)
            if step.result is None:  # everyone consenting was linked: P(linked) = 1 in every replicate
                p[rows] = consent_reps[rows, r]
            else:
                params = fit_params(y, X, sm.families.Binomial(), a[rows], start=step.params.to_numpy())
                p[rows] = consent_reps[rows, r] / (1.0 + np.exp(-np.clip(X @ params, -35, 35)))
            probability[respondents] = p
        m = which[r]
        for s, per_m, scale in prepared:
            X, y, data = per_m[m]
            p = probability[s.outcome.respondents][s.rows]
            raw = base[(s.outcome.name, s.model)] / np.maximum(p, settings.min_propensity)
            a_rows = 1.0 + scale * (a[s.rows] - 1.0)
            cap = weighted_quantile(raw, settings.trim_quantile, a_rows) if settings.trim_quantile < 1 else np.inf
            w = np.minimum(raw, cap) * a_rows
            w = w / w.mean()
            if keep_weights is not None:
                keep_weights.setdefault((s.outcome.name, s.model), np.full((len(w), B), np.nan))[:, r] = w
            family = _family(s.family, y, X, w, s.params[m].to_numpy())
            try:
                params = pd.Series(fit_params(y, X, family, w, start=s.params[m].to_numpy()), index=s.columns)
            except (ValueError, np.linalg.LinAlgError):  # a degenerate replicate: left out of the variance
                params = pd.Series(np.nan, index=s.columns)
            effects = average_marginal_effects_matrix(params.to_numpy(), X, s.columns, w, LINKS[s.family], MODELS[s.model], s.outcome.name)
            for term in MODELS[s.model]:
                if term in params.index:
                    coefs.setdefault((s.outcome.name, s.model, term), np.full(B, np.nan))[r] = params[term]
                if term in effects:
                    ames.setdefault((s.outcome.name, s.model, term), np.full(B, np.nan))[r] = effects[term]
        if (r + 1) % 25 == 0:
            log.info("bootstrap: %d of %d replicates", r + 1, B)
    full_ames = {}
    for s, per_m, _ in prepared:
        for term in MODELS[s.model]:
            vals = [average_marginal_effects_matrix(s.params[m].to_numpy(), per_m[m][0], s.columns, s.weight, LINKS[s.family], (term,),
                                                    s.outcome.name).get(term, np.nan)
                    for m in range(M)]
            full_ames[(s.outcome.name, s.model, term)] = np.array(vals)
    return ({k: (v, which) for k, v in coefs.items()}, {k: (v, which, full_ames.get(k)) for k, v in ames.items()})


def _family(name: str, y: np.ndarray, X: np.ndarray, w: np.ndarray, start: np.ndarray):
    """The statsmodels family of a replicate fit; a negative binomial's alpha is re-estimated."""
    import statsmodels.api as sm

    if name == "logistic":
        return sm.families.Binomial()
    if name == "linear":
        return sm.families.Gaussian()
    if name == "poisson":
        return sm.families.Poisson()
    from sendlink.weighting.glm import fit_params

    mu = np.exp(X @ fit_params(y, X, sm.families.Poisson(), w, start=start))
    alpha = max(float(np.sum(w * ((y - mu) ** 2 - y)) / np.sum(w * mu**2)), 1e-8)
    return sm.families.NegativeBinomial(alpha=alpha)

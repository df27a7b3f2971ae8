"""Correcting for false links with the match probabilities (a Chambers-type estimator).

Missed links are a selection step, corrected by the link step's weights
(:mod:`sendlink.outcomes.selection`). False links are different: a linked
row whose NPD record is another child's carries the survey answers of one
child and the NPD covariates and outcome of another, which pulls
associations between answers and NPD outcomes towards zero. The extract
carries each link's ``match_probability``: if it is calibrated, a link is
right with probability lambda_i = ``match_probability``.

The model (after Lahiri and Larsen 2005 and Chambers 2009, "exchangeable
linkage errors", adapted to a survey linked to a register): with
probability lambda_i the row is right and E[y_i] = mu(x_i' beta); otherwise
its NPD part (covariates and, for NPD outcomes, the outcome) belongs to a
child whose survey answers are unknown and distributed like those of the
analysed families. So

    E[y_i] = lambda_i mu(x_i' beta) + (1 - lambda_i) mean_k mu(x_ik' beta),

where x_ik combines row i's NPD part with reference family k's answers
(for wellbeing, a survey outcome, the other way round: row i's answers and
outcome with family k's NPD part), interactions recomputed. The corrected
estimate solves the weighted quasi-likelihood equations

    sum_i w_i D_i (y_i - E[y_i]) / V(E[y_i]) = 0,   D_i = dE[y_i] / d beta,

by Gauss-Newton from the weighted estimate, with the usual sandwich
variance clustered by school (hand-written: no library implements this
estimator). With every lambda_i = 1 it is exactly the weighted estimate.
K reference families (evenly spaced in ``research_id`` order, 100 by
default) stand in for the mean over all families.

Assumptions (the assumptions log, A11): match probabilities are calibrated;
a wrong record's unobserved answers are independent of the surveyed
child's. Where a false match is a sibling or twin, who shares much with the
child, the correction over-corrects a little. It runs on the first imputed
data set. Its standard error is the bootstrap's where there are replicates
(:func:`one_step_replicates`: in each replicate, one Gauss-Newton step of
the corrected equations from the full-sample solution with the replicate's
analysis weights, which carry the refitted consent and link steps, the
trimming and the finite-population correction; plus Rubin's
between-imputation variance of the weighted estimate), else the sandwich.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from sendlink.outcomes.analysis import LINKS, MODELS, OUTCOMES, model_terms
from sendlink.outcomes.models import SCALES, cluster_codes, design
from sendlink.outcomes.variables import DERIVED
from sendlink.params.outcomes import OutcomesParams

log = logging.getLogger(__name__)

#: Terms from the survey answers; every other term comes from the NPD record.
SURVEY_TERMS = ("unmet_need", "satisfaction", "school_experience")


def _mean_fn(link: str):
    if link == "logit":
        return (lambda eta: 1.0 / (1.0 + np.exp(-eta))), (lambda mu: mu * (1 - mu)), (lambda mu: np.clip(mu * (1 - mu), 1e-9, None))
    if link == "log":
        return np.exp, (lambda mu: mu), (lambda mu: np.clip(mu, 1e-9, None))
    return (lambda eta: eta), (lambda mu: np.ones_like(mu)), (lambda mu: np.ones_like(mu))


def combined_design(X: np.ndarray, columns: list[str], reference: np.ndarray, swap_survey: bool) -> np.ndarray:
    """(n, K, p): row i's design with reference row k's survey part (``swap_survey``) or NPD part."""
    index = {c: j for j, c in enumerate(columns)}
    survey = [index[c] for c in SURVEY_TERMS if c in index]
    npd = [j for j, c in enumerate(columns) if c not in SURVEY_TERMS and c not in DERIVED and c != "const"]
    out = np.repeat(X[:, None, :], reference.shape[0], axis=1)
    moved = survey if swap_survey else npd
    out[:, :, moved] = reference[None, :, moved]
    for name, (a, b) in DERIVED.items():
        if name in index:
            out[:, :, index[name]] = out[:, :, index[a]] * out[:, :, index[b]]
    return out


def fit_corrected(y: np.ndarray, X: np.ndarray, columns: list[str], weights: np.ndarray, lam: np.ndarray, link: str, *,
                  swap_survey: bool, start: np.ndarray, groups=None, references: int = 100, iterations: int = 50,
                  replicate_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Solve the corrected estimating equations; returns (coefficients, sandwich covariance, replicate coefficients).

    ``replicate_weights`` (n, B): each replicate's analysis weights; the
    replicate coefficients (B, p) are one Gauss-Newton step from the
    solution with those weights (:func:`one_step_replicates`), None without.
    """
    mean, dmu, var = _mean_fn(link)
    n, p = X.shape
    ref = X[np.linspace(0, n - 1, min(references, n)).astype(int)]
    XK = combined_design(X, columns, ref, swap_survey)
    w = weights / weights.mean()
    beta = np.asarray(start, dtype=float).copy()
    # A column that is zero on every row (a category no row of this sample holds, kept to match the
    # weighted fit's columns) carries no information: its coefficient stays where the weighted fit put
    # it, and the equations are solved for the others (else the system is singular).
    active = np.flatnonzero((X != 0).any(axis=0))
    block = np.ix_(active, active)

    def linearised(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expected outcome under false links, its derivative in beta, and its variance."""
        mu, muk = mean(X @ beta), mean(XK @ beta)
        E = lam * mu + (1 - lam) * muk.mean(axis=1)
        D = lam[:, None] * dmu(mu)[:, None] * X + (1 - lam)[:, None] * (dmu(muk)[:, :, None] * XK).mean(axis=1)
        return E, D, var(E)

    for _ in range(iterations):
        E, D, V = linearised(beta)
        A = (D * (w / V)[:, None]).T @ D
        step = np.zeros(p)
        step[active] = np.linalg.solve(A[block], (D.T @ (w * (y - E) / V))[active])
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    E, D, V = linearised(beta)
    A = (D * (w / V)[:, None]).T @ D
    scores = D * (w * (y - E) / V)[:, None]
    codes = cluster_codes(groups, n)
    G = int(codes.max()) + 1
    U = np.zeros((G, p))
    np.add.at(U, codes, scores)
    Ainv = np.linalg.inv(A[block])
    factor = G / max(G - 1, 1) * (n - 1) / max(n - len(active), 1)
    cov = np.full((p, p), np.nan)
    cov[block] = factor * Ainv @ (U[:, active].T @ U[:, active]) @ Ainv
    reps = None if replicate_weights is None else one_step_replicates(beta, D, y - E, V, replicate_weights, active=active)
    return beta, cov, reps


def one_step_replicates(beta: np.ndarray, D: np.ndarray, residual: np.ndarray, V: np.ndarray, replicate_weights: np.ndarray,
                        active: np.ndarray | None = None) -> np.ndarray:
    """Replicate coefficients by one Gauss-Newton step: beta + A_r^-1 U_r(beta), (B, p).

    D, the residuals y - E[y] and V are evaluated at the full-sample
    solution ``beta`` (they do not depend on the weights), so each replicate
    costs two weighted cross-products. One step from the solution is the
    usual linearised bootstrap of an estimating equation (the estimate moves
    little between replicates); a replicate whose weights are missing or
    whose system is singular gives NaN. ``active``: the columns solved for
    (the others keep ``beta``'s value); all by default.
    """
    out = np.full((replicate_weights.shape[1], len(beta)), np.nan)
    active = np.arange(len(beta)) if active is None else np.asarray(active)
    Da = D[:, active]
    for r in range(replicate_weights.shape[1]):
        wr = replicate_weights[:, r]
        if not np.isfinite(wr).all():
            continue
        A = (Da * (wr / V)[:, None]).T @ Da
        try:
            out[r] = beta
            out[r, active] += np.linalg.solve(A, Da.T @ (wr * residual / V))
        except np.linalg.LinAlgError:
            out[r] = np.nan
            continue
    return out


def corrected_estimates(extract: pd.DataFrame, analysis, params: OutcomesParams, *, references: int = 100) -> pd.DataFrame:
    """The weighted estimates corrected for false links, beside the uncorrected ones.

    Returns one row per outcome x model x reported term: ``weighted``,
    ``corrected``, ``se_corrected`` (the bootstrap's where there are
    replicates, else the sandwich), ``se_sandwich``, ``se_bootstrap``,
    ``variance``, ``ci_low``, ``ci_high``,
    ``expected_false`` (sum of 1 - lambda over the rows) and ``family``.
    """
    s = params
    z = stats.norm.ppf(0.5 + s.confidence / 2)
    lam_all = pd.to_numeric(extract["match_probability"], errors="coerce").fillna(1.0).clip(0.0, 1.0).to_numpy()
    rows_out = []
    for (outcome, model), rows in analysis.samples.items():
        fit = analysis.fits.get((outcome, model, "weighted"))
        if fit is None:
            continue
        r = rows.to_numpy()
        data = analysis.datasets(outcome)[0].loc[r]
        X, _ = design(data, model_terms(model), min_count=0, keep=MODELS[model])
        columns = list(fit.result.params.index)
        X = X.reindex(columns=columns, fill_value=0.0).to_numpy(dtype=float)
        y = data[outcome].to_numpy(dtype=float)
        w = analysis.weights[(outcome, model)].weight.to_numpy(dtype=float)[r]
        lam = lam_all[r]
        link = LINKS[fit.family]
        if fit.family == "negative_binomial":  # the corrected equations use the Poisson variance
            link = "log"
        reps_w = getattr(analysis, "replicate_weights", {}).get((outcome, model))
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                beta, cov, reps = fit_corrected(y, X, columns, w / w.mean(), lam, link, swap_survey=OUTCOMES[outcome].source == "npd",
                                                start=fit.result.params.to_numpy(), groups=data["cluster"].to_numpy(dtype=object),
                                                references=references, replicate_weights=reps_w)
            except np.linalg.LinAlgError:
                beta = np.full(len(columns), np.nan)
        if not np.isfinite(beta).all():
            # Gauss-Newton from the weighted fit diverged (a small sample with near-separation): no
            # corrected estimate for this model rather than a wrong one.
            log.warning("false-link correction did not converge for %s (%s model): no corrected estimate", outcome, model)
            continue
        imputed = getattr(analysis, "imputed_params", {}).get((outcome, model), [])
        est = analysis.estimates
        for term in MODELS[model]:
            if term not in columns:
                continue
            j = columns.index(term)
            se_sandwich = float(np.sqrt(cov[j, j]))
            se_boot = np.nan
            if reps is not None and np.isfinite(reps[:, j]).sum() >= 2:
                within = float(np.nanmean((reps[:, j] - beta[j]) ** 2))
                values = [p_[term] for p_ in imputed if term in p_.index]
                between = float(np.var(values, ddof=1)) if len(values) > 1 else 0.0
                se_boot = float(np.sqrt(within + (1.0 + 1.0 / max(len(values), 1)) * between))
            se = se_boot if np.isfinite(se_boot) else se_sandwich
            weighted = est[(est["outcome"] == outcome) & (est["model"] == model) & (est["estimator"] == "weighted") & (est["term"] == term)]
            shift = float(beta[j] - fit.result.params[term])  # on the first imputed data set
            coef = float(weighted["coef"].iloc[0]) + shift
            exponentiate = SCALES[fit.family][1]
            f = np.exp if exponentiate else (lambda v: v)
            rows_out.append({"outcome": outcome, "model": model, "term": term, "family": fit.family, "weighted": float(weighted["coef"].iloc[0]),
                             "corrected": coef, "se_corrected": se, "se_sandwich": se_sandwich, "se_bootstrap": se_boot,
                             "variance": "bootstrap" if np.isfinite(se_boot) else "sandwich", "ci_low": coef - z * se, "ci_high": coef + z * se,
                             "effect": f(coef), "effect_low": f(coef - z * se), "effect_high": f(coef + z * se),
                             "expected_false": float((1 - lam).sum()), "n": int(r.sum())})
    return pd.DataFrame(rows_out)


def as_estimates(corrected: pd.DataFrame, analysis) -> pd.DataFrame:
    """The corrected estimates as rows of :attr:`Analysis.estimates` (estimator ``linkage_corrected``)."""
    est = analysis.estimates
    base = est[est["estimator"] == "weighted"].set_index(["outcome", "model", "term"])
    rows = []
    for r in corrected.itertuples(index=False):
        b = base.loc[(r.outcome, r.model, r.term)]
        rows.append({**b.to_dict(), "outcome": r.outcome, "model": r.model, "term": r.term, "estimator": "linkage_corrected",
                     "coef": r.corrected, "se": r.se_corrected, "ci_low": r.ci_low, "ci_high": r.ci_high, "effect": r.effect,
                     "effect_low": r.effect_low, "effect_high": r.effect_high, "se_sandwich": r.se_sandwich, "se_bootstrap": r.se_bootstrap,
                     "variance": r.variance, "ame": np.nan, "ame_se": np.nan, "ame_low": np.nan, "ame_high": np.nan})
    return pd.DataFrame(rows)


def summary(corrected: pd.DataFrame, analysis) -> dict:
    """The summary's ``linkage_correction`` entry."""
    main = corrected[corrected["model"] == "main"]
    return {
        "expected_false_links": {o: round(float(g["expected_false"].iloc[0]), 2) for o, g in main.groupby("outcome", sort=False)},
        "effects": {f"{r.outcome}:{r.term}": {"weighted": round(r.weighted, 4), "corrected": round(r.corrected, 4), "se": round(r.se_corrected, 4)}
                    for r in corrected.itertuples(index=False)},
    }

"""Analysis weights: survey weight x inverse probability of consent and link.

Second edition: the probability comes from the two selection steps of
:mod:`sendlink.outcomes.selection` (consent fitted by the survey
organisation on every respondent, linkage by the researchers), and
:func:`analysis_weights` turns it into trimmed weights. The single
researcher-side model described below (:func:`consent_propensity`) was the
first edition's; it is kept for comparison and teaching, not used by the
analysis.

Only families who gave permission, and whose child was then found in the
NPD, contribute to a linked analysis. Permission is less common among
FSM, EAL and minority-ethnic families, and among families whose child is
having a hard time at school; linkage fails more often for some groups too.
An unweighted analysis of the linked cases therefore describes a different
population from the one sampled. The correction models the probability of
being *analysable* (permission for the answers used, and linked) among all
respondents, from what the survey knows about every respondent, and weights
each analysable case by its survey weight divided by that probability.

The consent-and-link model
--------------------------
Logistic regression, fitted on every respondent of the analysis's
population (wave-1 parents for the NPD outcomes, wave-2 young people for
wellbeing), of being analysable on:

* the sampling frame's NPD information, known for every sampled case:
  strand (face-to-face), EHC plan, FSM, EAL, ethnicity group, IDACI
  quintile (categories), sex, broad area of need (a value blanked for
  k-anonymity is a category of its own);
* whether the family answered wave 2 (those without a permission were
  asked again then);
* the parent's wave-1 answers: how well school suits the child (1-5, as
  categories), unmet need, satisfaction with support (1-5, as categories),
  each with a category for an unanswered question.

Rows whose answers are withheld
-------------------------------
When a case is linked under the child's permission only, the parent's
answers are removed from the extract row (the parent did not permit joining
them to the NPD). Such a row is certainly not analysable, but its answers
cannot enter the model above. The probability is therefore factorised:

    P(analysable) = P(answers not withheld | frame) x P(analysable | not withheld, frame, answers)

the first factor fitted on everyone with the frame predictors only, the
second on rows whose answers are present. **Limitation:** this assumes
that, given the frame variables, whether a parent's answers end up withheld
does not depend on those answers. It does a little in truth (withholding
follows the permission decisions, which depend on how school is going),
so a small bias can remain; the simulation in ``benchmarks/`` measures it.

Trimming
--------
Probabilities are floored at ``min_propensity`` before inversion, and the
final weights are capped at their ``trim_quantile`` quantile within the
analysis sample (``params.yaml``, ``outcomes:``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm

from sendlink.weighting.glm import design, fit_glm
from sendlink.weighting.predictors import answer_predictors, frame_predictors

log = logging.getLogger(__name__)


@dataclass
class Propensity:
    """The fitted probability of being analysable, per row of the population.

    Attributes
    ----------
    probability
        Estimated P(analysable) for every row of the population (NaN outside).
    not_withheld, given_answers
        The two fitted logistic models (statsmodels results): P(answers not
        withheld | frame) and P(analysable | not withheld, frame, answers).
        ``not_withheld`` is None when no row is withheld.
    n_population, n_analysable, n_withheld
        Rows in the population, analysable among them, and rows whose
        answers were withheld.
    counts_not_withheld, counts_given_answers
        Per predictor of each model, the rows it was fitted on with the
        indicator set (``_n``: all rows), for disclosure checks.
    """

    probability: pd.Series
    not_withheld: object
    given_answers: object
    n_population: int
    n_analysable: int
    n_withheld: int
    counts_not_withheld: dict[str, float] = field(default_factory=dict)
    counts_given_answers: dict[str, float] = field(default_factory=dict)


def _logit(y: np.ndarray, X: pd.DataFrame, min_count: int):
    X, _ = design(X, list(X.columns), min_count=min_count)
    return fit_glm(y.astype(float), X, sm.families.Binomial())


def _predict(result, predictors: pd.DataFrame) -> np.ndarray:
    """Fitted probabilities for ``predictors`` (the model's own columns)."""
    X = predictors.loc[:, [c for c in result.params.index if c != "const"]].astype(float)
    X.insert(0, "const", 1.0)
    return np.asarray(result.predict(X), dtype=float)


def consent_propensity(extract: pd.DataFrame, population: pd.Series, analysable: pd.Series, withheld: pd.Series,
                       *, min_category_rows: int = 10) -> Propensity:
    """Estimate each respondent's probability of being analysable.

    Parameters
    ----------
    extract
        The research extract (at least :data:`CONSENT_COLUMNS`).
    population
        Boolean per row: the respondents the analysis generalises to.
    analysable
        Boolean per row: permission for the answers used, and linked.
    withheld
        Boolean per row: the parent's answers are withheld from the row (so
        it is not analysable and its answers are unknown).
    min_category_rows
        A predictor category held by fewer respondents than this (or by all
        but fewer) joins its reference category, so a handful of cases
        cannot be perfectly predicted.

    Returns
    -------
    Propensity
        See the module docstring for the model and its assumption about
        withheld rows.
    """
    population = population.astype(bool).to_numpy()
    analysable = analysable.astype(bool).to_numpy()
    withheld = withheld.astype(bool).to_numpy()
    if (analysable & withheld).any():
        raise ValueError("a row cannot be both analysable and withheld")
    frame = frame_predictors(extract)
    answers = answer_predictors(extract)
    rows = np.flatnonzero(population)
    if analysable[rows].all() or not analysable[rows].any():
        raise ValueError("the consent model needs both analysable and non-analysable respondents")
    p_kept = np.ones(len(extract))
    first = None
    if withheld[rows].any():
        first = _logit(~withheld[rows], frame.iloc[rows], min_category_rows)
        p_kept[rows] = _predict(first, frame.iloc[rows])
    kept = rows[~withheld[rows]]
    predictors = pd.concat([frame, answers], axis=1)
    second = _logit(analysable[kept], predictors.iloc[kept], min_category_rows)
    p_given = np.full(len(extract), np.nan)
    p_given[rows] = _predict(second, predictors.iloc[rows])
    probability = pd.Series(np.where(population, p_kept * p_given, np.nan), index=extract.index, name="propensity")
    counts_first = {} if first is None else {**frame.iloc[rows].sum().to_dict(), "_n": float(len(rows))}
    counts_second = {**predictors.iloc[kept].sum().to_dict(), "_n": float(len(kept))}
    log.info("consent-and-link model: %d respondents, %d analysable, %d with answers withheld", len(rows), int(analysable[rows].sum()), int(withheld[rows].sum()))
    return Propensity(probability, first, second, len(rows), int(analysable[rows].sum()), int(withheld[rows].sum()),
                      counts_first, counts_second)


@dataclass
class Weights:
    """Analysis weights of the analysable rows, with what trimming did.

    Attributes
    ----------
    weight
        Final weight per row (NaN for rows outside the analysis sample).
    untrimmed
        Survey weight / probability, before the cap.
    cap
        The cap applied (the ``trim_quantile`` quantile), or inf.
    n_trimmed
        Rows whose weight was cut down to the cap.
    n_floored
        Rows whose probability was raised to ``min_propensity``.
    """

    weight: pd.Series
    untrimmed: pd.Series
    cap: float
    n_trimmed: int
    n_floored: int


def analysis_weights(base: pd.Series, probability: pd.Series, sample: pd.Series, *, trim_quantile: float = 0.99, min_propensity: float = 0.02,
                     ) -> Weights:
    """Survey weight x inverse probability of being analysable, trimmed.

    Parameters
    ----------
    base
        The survey weight (design and non-response adjusted).
    probability
        Estimated probability of being analysable (:func:`consent_propensity`).
    sample
        Boolean per row: the rows the model is fitted on.
    trim_quantile
        Weights above this quantile (within ``sample``) are cut down to it;
        1 switches trimming off.
    min_propensity
        Floor on the probability before it is inverted.
    """
    sample = sample.astype(bool).to_numpy()
    p = probability.to_numpy(dtype=float)
    b = base.to_numpy(dtype=float)
    if np.isnan(p[sample]).any() or np.isnan(b[sample]).any():
        raise ValueError("every row of the analysis sample needs a survey weight and a probability")
    floored = sample & (p < min_propensity)
    raw = np.where(sample, b / np.maximum(p, min_propensity), np.nan)
    # The cap is the inverted empirical CDF's quantile, the rule the bootstrap
    # replicates apply with their multipliers (sendlink.outcomes.bootstrap).
    cap = float(np.quantile(raw[sample], trim_quantile, method="inverted_cdf")) if trim_quantile < 1 else np.inf
    trimmed = sample & (raw > cap)
    final = np.where(sample, np.minimum(raw, cap), np.nan)
    return Weights(pd.Series(final, index=base.index, name="weight"), pd.Series(raw, index=base.index, name="untrimmed"), cap, int(trimmed.sum()), int(floored.sum()))


def weight_summary(weights: pd.Series) -> dict[str, float]:
    """Distribution of weights: quantiles, ratio of largest to smallest, Kish's design effect.

    Kish's approximate design effect from unequal weights is
    n sum(w^2) / (sum w)^2 = 1 + CV^2; the effective sample size is n / deff.
    """
    w = weights.dropna().to_numpy(dtype=float)
    if len(w) == 0:
        return {"n": 0}
    deff = float(len(w) * np.sum(w**2) / np.sum(w) ** 2)
    q = np.quantile(w, [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0])
    return {
        "n": len(w), "min": float(q[0]), "p01": float(q[1]), "p25": float(q[2]), "median": float(q[3]),
        "p75": float(q[4]), "p99": float(q[5]), "max": float(q[6]), "max_over_min": float(q[6] / q[0]),
        "design_effect": deff, "effective_n": float(len(w) / deff),
    }

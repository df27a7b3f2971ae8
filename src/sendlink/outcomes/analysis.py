"""The outcome analysis on the research extract.

Questions: among the SEND Futures cohort (pupils with SEN in Year 8 in
spring 2022), how are an EHC plan (vs SEN support), the parent reporting
unmet need, and the parent's satisfaction with support at wave 1
associated with persistent absence and suspensions in Years 10-11, KS4
Attainment 8, and the young person's life satisfaction at wave 2?

For each outcome (:data:`OUTCOMES`) two models are fitted (:data:`MODELS`):

* ``main``: the exposures and the covariates of
  :mod:`sendlink.outcomes.variables`;
* ``modification``: adds unmet need x FSM, the parent's report of how well
  school suits the child and unmet need x that report, asking whether the
  association with unmet need differs by family circumstances.

each with three estimators (:data:`ESTIMATORS`):

* ``naive``: analysable cases, unweighted;
* ``design``: analysable cases weighted by the survey weight only;
* ``weighted``: survey weight x inverse probability of consent and link
  (:mod:`sendlink.outcomes.weights`), the main estimate.

Standard errors are cluster-robust by school; rows without every variable
a model needs are left out of that model (item non-response is rare and,
in the survey's design, unrelated to the answers).

Who is in each analysis
-----------------------
* NPD outcomes: wave-1 parents (``p1_responded``) whose case is linked
  with permission for the parent's answers (``npd_linked`` and not
  ``parent_answers_withheld``), weighted up to all wave-1 responding
  households with ``w1_weight``.
* Wellbeing: wave-2 young people (``yp2_responded``) linked with
  permission for both the parent's and the child's answers, weighted up to
  all wave-2 young people with ``w2_weight``.
* Children recruited outside the NPD (stratum ``E_independent``,
  independent special schools) cannot be linked and are outside the
  population these analyses describe; they are left out.
* A linked record whose spring 2022 provision is neither E nor K is not a
  frame pupil (most likely a false match) and is left out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink import schema
from sendlink.errors import InputError
from sendlink.outcomes.models import FITTERS, ModelFit, design
from sendlink.outcomes.variables import (
    COVARIATES,
    EXPOSURES,
    MODIFIERS,
    REQUIRED_COLUMNS,
    analysis_variables,
)
from sendlink.outcomes.weights import (
    CONSENT_COLUMNS,
    Propensity,
    Weights,
    analysis_weights,
    consent_propensity,
    weight_summary,
)
from sendlink.params.outcomes import OutcomesParams

log = logging.getLogger(__name__)

INDEPENDENT_STRATUM = "E_independent"


@dataclass(frozen=True)
class Outcome:
    """One outcome: what it is, how it is modelled, who it is about."""

    name: str
    label: str
    family: str
    source: str
    base_weight: str
    respondents: str


OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in (
        Outcome("persistent_absence", "Persistent absence, Years 10-11", "logistic", "npd", "w1_weight", "p1_responded"),
        Outcome("suspensions", "Suspensions, Years 10-11", "count", "npd", "w1_weight", "p1_responded"),
        Outcome("attainment8", "KS4 Attainment 8", "linear", "npd", "w1_weight", "p1_responded"),
        Outcome("wellbeing", "Young person's life satisfaction (0-10), wave 2", "linear", "survey", "w2_weight", "yp2_responded"),
    )
}
#: Model -> the terms it reports (then the covariates).
MODELS: dict[str, tuple[str, ...]] = {
    "main": EXPOSURES,
    "modification": (*EXPOSURES, *MODIFIERS),
}
ESTIMATORS = ("naive", "design", "weighted")
#: Planted effect (exposure name in truth/planted_effects.csv) -> (model, term).
EFFECT_TERMS = {
    "ehc": ("main", "ehc"),
    "unmet_need": ("main", "unmet_need"),
    "satisfaction": ("main", "satisfaction"),
    "unmet_need_x_fsm": ("modification", "unmet_need_x_fsm"),
    "unmet_need_x_school_experience": ("modification", "unmet_need_x_school_experience"),
}


def read_extract(path: str | Path) -> pd.DataFrame:
    """Read and validate the research extract.

    Raises
    ------
    InputError
        If the file is missing, unreadable, breaks the research contract
        (:data:`sendlink.schema.research.EXTRACT`), or lacks a column the
        analysis needs; the message names the file and the column.
    """
    from sendlink.io import read_table
    from sendlink.schema.research import EXTRACT

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "research extract not found; run `sendlink extract` first")
    frame = read_table(path)
    needed = {*REQUIRED_COLUMNS, *CONSENT_COLUMNS, "research_id", "stratum", "npd_linked", "parent_answers_withheld",
              "child_answers_withheld", "w1_weight", "w2_weight", "p1_responded", "yp2_responded"}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise InputError(path, f"the research extract lacks {len(missing)} column(s) the analysis needs: {', '.join(missing)}", column=missing[0])
    return schema.validate(frame, EXTRACT, path)


def _flag(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("boolean").fillna(False).astype(bool)


def masks(extract: pd.DataFrame, outcome: Outcome) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(population, analysable, withheld) rows of the extract for ``outcome``.

    ``population``: the respondents the analysis generalises to;
    ``analysable``: linked, with permission for every answer the model uses;
    ``withheld``: the parent's answers are withheld from the row.
    """
    population = _flag(extract, outcome.respondents) & (extract["stratum"].astype("object") != INDEPENDENT_STRATUM)
    parent_ok = ~_flag(extract, "parent_answers_withheld")
    analysable = _flag(extract, "npd_linked") & parent_ok
    if outcome.source == "survey":
        analysable &= ~_flag(extract, "child_answers_withheld")
    withheld = _flag(extract, "parent_answers_withheld")
    return population, analysable & population, withheld & population


def model_terms(model: str) -> tuple[str, ...]:
    """Every term of a model: its reported terms, then the covariates."""
    return (*MODELS[model], *COVARIATES)


def complete_rows(variables: pd.DataFrame, outcome: str, model: str) -> pd.Series:
    """Frame rows with the outcome and every term of the model.

    A missing school pseudonym does not exclude a row: the row is then a
    cluster of its own.
    """
    needed = [outcome, *model_terms(model)]
    return variables[needed].notna().all(axis=1) & variables["in_frame"]


def fit_model(variables: pd.DataFrame, outcome: Outcome, model: str, rows: pd.Series, weights: pd.Series | None = None,
              *, cluster: bool = True, test_level: float = 0.05, min_category_rows: int = 10) -> ModelFit:
    """Fit one outcome model on ``rows`` of the analysis variables.

    Parameters
    ----------
    variables
        From :func:`sendlink.outcomes.variables.analysis_variables`.
    outcome, model
        Which outcome (:data:`OUTCOMES`) and which model (:data:`MODELS`).
    rows
        Boolean mask: the analysis sample (complete on every variable).
    weights
        Probability weights aligned with ``variables`` (None: unweighted).
    cluster
        Cluster-robust by school (``variables["cluster"]``); False gives HC1.
    min_category_rows
        A covariate category with fewer rows than this (or all but fewer)
        joins the reference category (:func:`~sendlink.outcomes.models.design`).
    """
    data = variables.loc[rows.to_numpy()]
    X, dropped = design(data, model_terms(model), min_count=min_category_rows, keep=MODELS[model])
    y = data[outcome.name].to_numpy(dtype=float)
    w = None if weights is None else weights.loc[rows.to_numpy()].to_numpy(dtype=float)
    groups = data["cluster"].to_numpy(dtype=object) if cluster else None
    fitter = FITTERS[outcome.family]
    fit = fitter(y, X, w, groups, test_level) if outcome.family == "count" else fitter(y, X, w, groups)
    fit.dropped_terms = dropped
    return fit


@dataclass
class Analysis:
    """Everything the analysis of one extract produced.

    Attributes
    ----------
    estimates
        One row per outcome x model x estimator x reported term: ``outcome``,
        ``model``, ``estimator``, ``term``, ``family``, ``n``, ``clusters``,
        ``exposed`` (rows with the term's exposure present: ``ehc`` or
        ``unmet_need`` equal to 1; NaN for continuous terms), ``coef``,
        ``se``, ``ci_low``, ``ci_high`` (model scale), ``effect``,
        ``effect_low``, ``effect_high`` (odds/rate ratios or differences),
        ``scale``, ``alpha`` (negative binomial only).
    propensities
        Per outcome, the fitted consent-and-link model.
    weights
        Per (outcome, model), the analysis weights.
    fits
        Per (outcome, model, estimator), the :class:`ModelFit`.
    """

    estimates: pd.DataFrame
    propensities: dict[str, Propensity] = field(default_factory=dict)
    weights: dict[tuple[str, str], Weights] = field(default_factory=dict)
    fits: dict[tuple[str, str, str], ModelFit] = field(default_factory=dict)
    samples: dict[tuple[str, str], pd.Series] = field(default_factory=dict)

    def weight_summaries(self) -> pd.DataFrame:
        """The distribution of the final weights per (outcome, model)."""
        rows = []
        for (outcome, model), w in self.weights.items():
            rows.append({"outcome": outcome, "model": model, **weight_summary(w.weight), "cap": w.cap, "n_trimmed": w.n_trimmed, "n_floored": w.n_floored})
        return pd.DataFrame(rows)


def _exposed(variables: pd.DataFrame, rows: pd.Series, term: str) -> float:
    base = {"ehc": "ehc", "unmet_need": "unmet_need", "unmet_need_x_fsm": "unmet_need_x_fsm"}.get(term)
    if base is None:
        return np.nan
    return float((variables.loc[rows.to_numpy(), base] == 1).sum())


def estimates_rows(fit: ModelFit, variables: pd.DataFrame, rows: pd.Series, outcome: str, model: str, estimator: str, confidence: float) -> pd.DataFrame:
    """The reported terms of one fit as rows of :attr:`Analysis.estimates`."""
    table = fit.effects(MODELS[model], confidence)
    table.insert(0, "outcome", outcome)
    table.insert(1, "model", model)
    table.insert(2, "estimator", estimator)
    table["family"] = fit.family
    table["n"] = fit.n
    table["clusters"] = fit.clusters
    table["exposed"] = [_exposed(variables, rows, t) for t in table["term"]]
    table["alpha"] = fit.alpha if fit.alpha is not None else np.nan
    return table


def analyse(extract: pd.DataFrame, params: OutcomesParams, *, outcomes: tuple[str, ...] | None = None,
            models: tuple[str, ...] = tuple(MODELS), estimators: tuple[str, ...] = ESTIMATORS) -> Analysis:
    """Fit every outcome model on a (validated) research extract.

    Parameters
    ----------
    extract
        The research extract (:func:`read_extract`).
    params
        The ``outcomes:`` settings.
    outcomes, models, estimators
        Subsets to fit (default: everything).
    """
    variables = analysis_variables(extract)
    names = tuple(OUTCOMES) if outcomes is None else outcomes
    out = Analysis(pd.DataFrame())
    tables = []
    by_population: dict[tuple[str, str], Propensity] = {}
    for name in names:
        outcome = OUTCOMES[name]
        population, analysable, withheld = masks(extract, outcome)
        key = (outcome.respondents, outcome.source)
        if key not in by_population:
            by_population[key] = consent_propensity(extract, population, analysable, withheld,
                                                    min_category_rows=params.min_category_rows)
        propensity = by_population[key]
        out.propensities[name] = propensity
        for model in models:
            rows = analysable & complete_rows(variables, name, model)
            n_left = int((analysable & ~variables["in_frame"]).sum())
            if n_left:
                log.info("%s/%s: %d linked row(s) outside the frame population (provision not E or K) left out", name, model, n_left)
            weights = analysis_weights(extract[outcome.base_weight], propensity.probability, rows,
                                       trim_quantile=params.trim_quantile, min_propensity=params.min_propensity)
            out.weights[(name, model)] = weights
            out.samples[(name, model)] = rows
            for estimator in estimators:
                w = None if estimator == "naive" else (extract[outcome.base_weight].astype(float) if estimator == "design" else weights.weight)
                fit = fit_model(variables, outcome, model, rows, w, test_level=params.overdispersion_alpha,
                                min_category_rows=params.min_category_rows)
                out.fits[(name, model, estimator)] = fit
                tables.append(estimates_rows(fit, variables, rows, name, model, estimator, params.confidence))
    out.estimates = pd.concat(tables, ignore_index=True)
    return out

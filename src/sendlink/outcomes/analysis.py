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
* ``weighted``: survey weight / (P(consent) x P(linked | consent)), the
  two selection steps of :mod:`sendlink.outcomes.selection`, trimmed
  (:mod:`sendlink.outcomes.weights`): the main estimate.

Models are fixed in advance (counts: ``outcomes.count_model``). Missing
covariates are multiply imputed (:mod:`sendlink.outcomes.imputation`) and
estimates pooled by Rubin's rules. Standard errors: the sandwich,
cluster-robust by school, for every estimator; for ``weighted``, also the
replicate-weight bootstrap (:mod:`sendlink.outcomes.bootstrap`) when the
survey organisation's replicates are given, which then gives the headline
intervals (column ``variance`` says which). Average marginal effects on the
natural scale (:mod:`sendlink.outcomes.margins`) accompany every main-model
and modification term.

The estimand is an **adjusted association**: the difference in outcomes
between children who differ in the exposure and are alike in the
covariates, in the population of the frame. Nothing here identifies what
changing the exposure would do.

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
from scipy import stats

from sendlink import schema
from sendlink.errors import InputError
from sendlink.outcomes.imputation import Imputed, impute, pool
from sendlink.outcomes.margins import UNITS, average_marginal_effects
from sendlink.outcomes.models import FITTERS, SCALES, ModelFit, design
from sendlink.outcomes.selection import Selection, selection
from sendlink.outcomes.variables import (
    LINKS,
    MODELS,
    REQUIRED_COLUMNS,
    analysis_variables,
    model_terms,
)
from sendlink.outcomes.weights import (
    Weights,
    analysis_weights,
    weight_summary,
)
from sendlink.params.outcomes import OutcomesParams
from sendlink.weighting.predictors import CONSENT_COLUMNS, INDEPENDENT_STRATUM

log = logging.getLogger(__name__)


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
        Outcome("persistent_absence", "Persistent absence in a year (DfE definition), Years 10-11", "logistic", "npd", "w1_weight", "p1_responded"),
        Outcome("suspensions", "Suspensions, Years 10-11", "count", "npd", "w1_weight", "p1_responded"),
        Outcome("attainment8", "KS4 Attainment 8", "linear", "npd", "w1_weight", "p1_responded"),
        Outcome("wellbeing", "Young person's life satisfaction (0-10), wave 2", "linear", "survey", "w2_weight", "yp2_responded"),
    )
}
ESTIMATORS = ("naive", "design", "weighted")
#: Estimators the analysis can fit beyond the published ones: ``consent_weighted``
#: weights by the survey weight over P(consent) only, treating the linked rows
#: as if linkage had neither missed nor falsely linked anyone (how large the
#: bias of ignoring linkage error is; benchmarks/simulation.py).
EXTRA_ESTIMATORS = ("consent_weighted",)
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
              "child_answers_withheld", "w1_weight", "w2_weight", "p1_responded", "yp2_responded",
              "consent_parent_answers", "consent_child_answers", "consent_propensity_parent", "consent_propensity_both"}
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


def complete_rows(variables: pd.DataFrame, outcome: str, model: str) -> pd.Series:
    """Frame rows with the outcome and every term of the model.

    A missing school pseudonym does not exclude a row: the row is then a
    cluster of its own.
    """
    needed = [outcome, *model_terms(model)]
    return variables[needed].notna().all(axis=1) & variables["in_frame"]


def outcome_rows(variables: pd.DataFrame, outcome: str) -> pd.Series:
    """Frame rows whose outcome is known (the sample once covariates are imputed)."""
    return variables[outcome].notna() & variables["in_frame"]


def fit_model(variables: pd.DataFrame, outcome: Outcome, model: str, rows: pd.Series, weights: pd.Series | None = None,
              *, cluster: bool = True, count_model: str = "poisson", min_category_rows: int = 10) -> ModelFit:
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
    count_model
        ``poisson`` or ``negative_binomial`` (counts only; fixed in advance).
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
    fit = fitter(y, X, w, groups, count_model) if outcome.family == "count" else fitter(y, X, w, groups)
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
        ``se``, ``ci_low``, ``ci_high`` (model scale; the headline interval),
        ``effect``, ``effect_low``, ``effect_high`` (odds/rate ratios or
        differences), ``scale``, ``alpha`` (negative binomial only),
        ``se_sandwich`` (cluster-robust, pooled over imputations),
        ``se_bootstrap`` (replicate-weight bootstrap; weighted only, NaN
        otherwise), ``variance`` (which of the two ``se`` is:
        ``bootstrap`` or ``sandwich``), ``fmi`` (fraction of missing
        information from imputation), ``imputations``, and the average
        marginal effect ``ame``, ``ame_se``, ``ame_low``, ``ame_high``
        (natural scale, ``ame_unit``; its standard error from the bootstrap
        where there is one, else NaN).
    selections
        Per outcome, the selection steps (:class:`~sendlink.outcomes.selection.Selection`).
    weights
        Per (outcome, model), the analysis weights.
    fits
        Per (outcome, model, estimator), the :class:`ModelFit` on the first
        imputed data set.
    samples
        Per (outcome, model), the rows analysed.
    imputations
        Per outcome source (``npd``, ``survey``), the imputation
        (:class:`~sendlink.outcomes.imputation.Imputed`).
    replicates
        Per (outcome, model, term), the weighted estimate in every bootstrap
        replicate (empty without replicates).
    replicate_weights
        Per (outcome, model), the analysis weights of the rows in every
        replicate (rows x B; empty without replicates), for estimators built
        on the weighted one (the false-link correction's bootstrap).
    imputed_params
        Per (outcome, model), the weighted fit's coefficients on each imputed
        data set.
    consent_weights
        Per (outcome, model), the weights of the ``consent_weighted``
        estimator when it was asked for (:data:`EXTRA_ESTIMATORS`).
    """

    estimates: pd.DataFrame
    selections: dict[str, Selection] = field(default_factory=dict)
    weights: dict[tuple[str, str], Weights] = field(default_factory=dict)
    fits: dict[tuple[str, str, str], ModelFit] = field(default_factory=dict)
    samples: dict[tuple[str, str], pd.Series] = field(default_factory=dict)
    imputations: dict[str, Imputed] = field(default_factory=dict)
    replicates: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)
    replicate_weights: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    consent_weights: dict[tuple[str, str], Weights] = field(default_factory=dict)
    imputed_params: dict[tuple[str, str], list[pd.Series]] = field(default_factory=dict)

    @property
    def imputed(self) -> Imputed | None:
        """The NPD outcomes' imputation (or the first there is)."""
        return self.imputations.get("npd") or next(iter(self.imputations.values()), None)

    def datasets(self, outcome: str) -> list[pd.DataFrame]:
        """The imputed data sets ``outcome``'s models were fitted on."""
        return self.imputations[OUTCOMES[outcome].source].datasets

    @property
    def propensities(self) -> dict[str, Selection]:
        """The selection steps per outcome (the first edition's name)."""
        return self.selections

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
    """The reported terms of one fit as rows of :attr:`Analysis.estimates` (sandwich variance, one data set)."""
    table = fit.effects(MODELS[model], confidence)
    table.insert(0, "outcome", outcome)
    table.insert(1, "model", model)
    table.insert(2, "estimator", estimator)
    table["family"] = fit.family
    table["n"] = fit.n
    table["clusters"] = fit.clusters
    table["exposed"] = [_exposed(variables, rows, t) for t in table["term"]]
    table["alpha"] = fit.alpha if fit.alpha is not None else np.nan
    table["se_sandwich"] = table["se"]
    table["se_bootstrap"] = np.nan
    table["variance"] = "sandwich"
    return table


def _interval(coef: float, se: float, z: float, exponentiate: bool) -> dict[str, float]:
    low, high = coef - z * se, coef + z * se
    f = np.exp if exponentiate else (lambda v: v)
    with np.errstate(over="ignore"):
        return {"coef": coef, "se": se, "ci_low": low, "ci_high": high, "effect": f(coef), "effect_low": f(low), "effect_high": f(high)}


@dataclass
class _Sample:
    """What the bootstrap needs about one (outcome, model) sample."""

    outcome: Outcome
    model: str
    rows: np.ndarray
    columns: list[str]
    family: str
    datasets: list[pd.DataFrame]
    alpha: float | None
    params: list[pd.Series]  # full-sample weighted fit per imputation
    weight: np.ndarray  # the full-sample analysis weights of the rows


def analyse(extract: pd.DataFrame, params: OutcomesParams, *, seed: int, outcomes: tuple[str, ...] | None = None,
            models: tuple[str, ...] = tuple(MODELS), estimators: tuple[str, ...] = ESTIMATORS,
            replicates: pd.DataFrame | None = None, frame_sizes: dict[str, float] | None = None) -> Analysis:
    """Fit every outcome model on a (validated) research extract.

    Parameters
    ----------
    extract
        The research extract (:func:`read_extract`).
    params
        The ``outcomes:`` settings.
    seed
        Seed of the imputations (the project seed).
    outcomes, models, estimators
        Subsets to fit (default: everything).
    replicates
        The survey organisation's replicate file (``replicates.parquet``,
        rows keyed by ``research_id``); None: no bootstrap (sandwich only).
    frame_sizes
        Stratum -> frame pupils (DfE's frame totals), for the bootstrap's
        finite-population correction; None: no correction.
    """
    variables = analysis_variables(extract)
    names = tuple(OUTCOMES) if outcomes is None else outcomes
    out = Analysis(pd.DataFrame())
    z = stats.norm.ppf(0.5 + params.confidence / 2)

    # 1. Selection, per analysis population: consent (released) x link (fitted here).
    by_population: dict[str, Selection] = {}
    masks_ = {}
    for name in names:
        outcome = OUTCOMES[name]
        population, analysable, _ = masks(extract, outcome)
        masks_[name] = (population, analysable)
        if outcome.respondents not in by_population:
            by_population[outcome.respondents] = selection(extract, population, outcome.respondents,
                                                           min_category_rows=params.min_category_rows)
        out.selections[name] = by_population[outcome.respondents]

    # 2. Samples and weights.
    for name in names:
        outcome = OUTCOMES[name]
        _, analysable = masks_[name]
        for model in models:
            rows = analysable & (outcome_rows(variables, name) if params.imputations > 0 else complete_rows(variables, name, model))
            n_left = int((analysable & ~variables["in_frame"]).sum())
            if n_left:
                log.info("%s/%s: %d linked row(s) outside the frame population (provision not E or K) left out", name, model, n_left)
            sel = out.selections[name]
            weights = analysis_weights(extract[outcome.base_weight], pd.Series(sel.probability, index=extract.index), rows,
                                       trim_quantile=params.trim_quantile, min_propensity=params.min_propensity)
            out.weights[(name, model)] = weights
            out.samples[(name, model)] = rows
            if "consent_weighted" in estimators:
                out.consent_weights[(name, model)] = analysis_weights(
                    extract[outcome.base_weight], pd.Series(sel.consent, index=extract.index), rows,
                    trim_quantile=params.trim_quantile, min_propensity=params.min_propensity)

    # 3. Multiple imputation of missing covariates: once for the rows of the
    # NPD outcomes' models (with those outcomes), once for wellbeing's.
    for k, source in enumerate(("npd", "survey")):
        names_ = [n for n in names if OUTCOMES[n].source == source]
        if not names_:
            continue
        union = pd.Series(False, index=extract.index)
        for (o, _), rows in out.samples.items():
            if o in names_:
                union |= rows
        weight = next(w.untrimmed for (o, _), w in out.weights.items() if o in names_)
        rng = np.random.default_rng([int(seed), 1606, k])
        out.imputations[source] = impute(variables, union, params.imputations, rng, weight=weight, outcomes=tuple(names_))

    # 4. Fits on every imputed data set, pooled.
    tables = []
    boot_samples: list[_Sample] = []
    for name in names:
        outcome = OUTCOMES[name]
        datasets = out.imputations[outcome.source].datasets
        for model in models:
            rows = out.samples[(name, model)]
            weights = out.weights[(name, model)]
            for estimator in estimators:
                w = (None if estimator == "naive" else extract[outcome.base_weight].astype(float) if estimator == "design"
                     else out.consent_weights[(name, model)].weight if estimator == "consent_weighted" else weights.weight)
                fits = [fit_model(v, outcome, model, rows, w, count_model=params.count_model, min_category_rows=params.min_category_rows)
                        for v in datasets]
                out.fits[(name, model, estimator)] = fits[0]
                tables.append(_pooled_rows(fits, datasets, rows, w, name, model, estimator, z))
                if estimator == "weighted":
                    out.imputed_params[(name, model)] = [f.result.params for f in fits]
                    boot_samples.append(_Sample(outcome, model, rows.to_numpy(), [c for c in fits[0].result.params.index], fits[0].family, datasets,
                                                fits[0].alpha, [f.result.params for f in fits], w.loc[rows.to_numpy()].to_numpy(dtype=float)))
    out.estimates = pd.concat(tables, ignore_index=True)

    # 5. The replicate-weight bootstrap of the weighted estimates.
    if replicates is not None and "weighted" in estimators and boot_samples:
        from sendlink.outcomes.bootstrap import run_replicates

        out.replicates, ame_reps = run_replicates(extract, out.selections, boot_samples, replicates, params, frame_sizes,
                                                    keep_weights=out.replicate_weights)
        out.estimates = _with_bootstrap(out.estimates, out.replicates, ame_reps, boot_samples, z)
    return out


def _pooled_rows(fits: list[ModelFit], datasets: list[pd.DataFrame], rows: pd.Series, w: pd.Series | None, outcome: str, model: str,
                 estimator: str, z: float) -> pd.DataFrame:
    """One row per reported term: Rubin-pooled coefficients and sandwich SEs, and marginal effects."""
    first = fits[0]
    exponentiate = SCALES[first.family][1]
    weights = None if w is None else w.loc[rows.to_numpy()].to_numpy(dtype=float)
    ames = [average_marginal_effects(f.result.params, v.loc[rows.to_numpy()], weights, LINKS[f.family], MODELS[model], outcome)
            for f, v in zip(fits, datasets, strict=True)]
    out = []
    for term in MODELS[model]:
        if term not in first.result.params.index:
            coef = se = np.nan
            pooled = None
        else:
            pooled = pool([f.result.params[term] for f in fits], [f.result.bse[term] for f in fits])
            coef, se = pooled.estimate, pooled.se
        ame = float(np.mean([a.get(term, np.nan) for a in ames]))
        out.append({"outcome": outcome, "model": model, "estimator": estimator, "term": term, **_interval(coef, se, z, exponentiate),
                    "scale": first.scale, "family": first.family, "n": first.n, "clusters": first.clusters,
                    "exposed": _exposed(datasets[0], rows, term), "alpha": first.alpha if first.alpha is not None else np.nan,
                    "se_sandwich": se, "se_bootstrap": np.nan, "variance": "sandwich",
                    "fmi": pooled.fraction_missing_information if pooled else np.nan, "imputations": len(fits),
                    "ame": ame, "ame_se": np.nan, "ame_low": np.nan, "ame_high": np.nan, "ame_unit": UNITS[outcome]})
    return pd.DataFrame(out)


def _with_bootstrap(estimates: pd.DataFrame, reps: dict, ame_reps: dict, samples: list[_Sample], z: float) -> pd.DataFrame:
    """Bootstrap standard errors for the weighted rows; they become the headline intervals."""
    from sendlink.outcomes.bootstrap import combine

    est = estimates.copy()
    for i, r in est.iterrows():
        if r["estimator"] != "weighted":
            continue
        key = (r["outcome"], r["model"], r["term"])
        sample = next(s for s in samples if (s.outcome.name, s.model) == key[:2])
        if key not in reps or r["term"] not in sample.params[0].index:
            continue
        values, which = reps[key]
        c = combine(np.array([p[r["term"]] for p in sample.params]), values, which)
        if not np.isfinite(c.se):
            continue
        exponentiate = SCALES[r["family"]][1]
        est.loc[i, ["coef", "se", "ci_low", "ci_high", "effect", "effect_low", "effect_high"]] = list(_interval(r["coef"], c.se, z, exponentiate).values())
        est.loc[i, ["se_bootstrap", "variance"]] = [c.se, "bootstrap"]
        if key in ame_reps:
            a_values, a_which, a_full = ame_reps[key]
            a = combine(a_full, a_values, a_which)
            est.loc[i, ["ame_se", "ame_low", "ame_high"]] = [a.se, r["ame"] - z * a.se, r["ame"] + z * a.se]
    return est

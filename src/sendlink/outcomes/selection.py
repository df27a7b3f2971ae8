"""Selection into the linked analysis, in its real steps: consent, then linkage.

A respondent reaches a linked analysis in two steps, each with its own
reasons and each modelled where its data are:

1. **Consent** (the survey organisation): permission for the answers the
   analysis uses. The survey organisation holds *every* respondent's
   answers, linked or not, so it fits this model on all of them
   (:func:`fit_step` on its own holdings, run at the extract stage by
   :mod:`sendlink.deidentify.analysis_support`) and releases each row's
   fitted probability with the extract (``consent_propensity_parent``:
   permission for the parent's answers, among wave-1 respondents;
   ``consent_propensity_both``: permission for the parent's and the
   child's answers, among wave-2 young people), blank where the row's
   answers are withheld, so the number reveals nothing the row does not.
2. **Linkage** (the researchers): among those who consented, was the child
   found in the NPD? Everyone who consented keeps their answers in the
   extract, linked or not, so the researchers can fit this model
   (:func:`link_step`). Linkage fails more for some families (EAL,
   minority-ethnic, those who move) for reasons unrelated to consent, so it
   is a step of its own: folding it into the consent model would mix two
   mechanisms with different predictors.

P(analysable) = P(consent | respondent) x P(linked | consented), and the
analysis weight is the survey weight over that product
(:func:`sendlink.outcomes.weights.analysis_weights`). Both steps are
logistic regressions on what is known about every respondent: the sampling
frame's NPD information, whether they answered wave 2, and the parent's
wave-1 answers (:func:`predictors`). Both assume selection at random given
those: what the survey does not observe cannot be corrected
(:mod:`sendlink.outcomes.sensitivity` asks how much that could matter).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm

from sendlink.outcomes.models import design, fit_glm
from sendlink.outcomes.weights import answer_predictors, frame_predictors

log = logging.getLogger(__name__)

#: Analysis population (``Outcome.respondents``) -> the scopes its analysis
#: needs permission for, and the extract column of the released consent
#: probability.
CONSENT_STEPS = {
    "p1_responded": (("consent_parent_answers",), "consent_propensity_parent"),
    "yp2_responded": (("consent_parent_answers", "consent_child_answers"), "consent_propensity_both"),
}
GRANTED = "granted"


def predictors(table: pd.DataFrame) -> pd.DataFrame:
    """Both steps' predictors: frame information and the parent's wave-1 answers.

    Unanswered (or withheld) answers form a category of their own; a frame
    value blanked for k-anonymity too.
    """
    return pd.concat([frame_predictors(table), answer_predictors(table)], axis=1)


def consented(table: pd.DataFrame, population: str) -> pd.Series:
    """Boolean per row: permission in force for every scope ``population``'s analysis needs."""
    scopes, _ = CONSENT_STEPS[population]
    out = pd.Series(True, index=table.index)
    for scope in scopes:
        out &= table[scope].astype(str).eq(GRANTED).to_numpy()
    return out


@dataclass
class StepModel:
    """One fitted selection step (a logistic regression).

    Attributes
    ----------
    name
        ``consent`` or ``link``.
    columns
        The design's columns (``const`` first): fixed, so that a replicate
        refit (:meth:`refit`) estimates the same model.
    params
        Coefficients (log-odds).
    result
        The statsmodels results (None for a replicate refit).
    n, n_selected
        Rows fitted, and those selected (consented, linked) among them.
    counts
        Per predictor, the rows with the indicator set (``_n``: all rows),
        for disclosure checks of published odds ratios.
    """

    name: str
    columns: list[str]
    params: pd.Series
    result: object = None
    n: int = 0
    n_selected: int = 0
    counts: dict[str, float] = field(default_factory=dict)

    def matrix(self, table: pd.DataFrame) -> np.ndarray:
        """The design matrix of ``table``'s rows (predictors computed from its columns)."""
        X = predictors(table).reindex(columns=[c for c in self.columns if c != "const"]).astype(float)
        return np.column_stack([np.ones(len(X)), X.to_numpy()])

    def predict(self, table: pd.DataFrame) -> np.ndarray:
        """Fitted probabilities for ``table``'s rows."""
        return _expit(self.matrix(table) @ self.params.to_numpy())

    def refit(self, y: np.ndarray, X: np.ndarray, weights: np.ndarray) -> StepModel:
        """The same model fitted with case weights (a bootstrap replicate), starting from these estimates."""
        params = fit_params(y, X, sm.families.Binomial(), weights, start=self.params.to_numpy())
        return StepModel(self.name, self.columns, pd.Series(params, index=self.params.index), None, self.n, self.n_selected)


def _expit(eta: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isposinf(eta), 1.0, 1.0 / (1.0 + np.exp(-np.clip(eta, -35, 35))))


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


def fit_step(name: str, table: pd.DataFrame, rows: np.ndarray, selected: np.ndarray, *, min_category_rows: int = 10,
             weights: np.ndarray | None = None) -> StepModel:
    """Fit one selection step.

    Parameters
    ----------
    name
        ``consent`` or ``link`` (for messages).
    table
        Rows with the extract's columns (the predictors' sources).
    rows
        Boolean per row: the rows the step is about (respondents for the
        consent step; the consented for the link step).
    selected
        Boolean per row: consented (consent step), linked (link step).
    min_category_rows
        A predictor category held by fewer rows than this (or all but fewer)
        joins its reference category (:func:`~sendlink.outcomes.models.design`).
    weights
        Case weights (None: unweighted).

    Raises
    ------
    ValueError
        If every row, or none, is selected: there is nothing to model.
    """
    rows = np.asarray(rows, dtype=bool)
    selected = np.asarray(selected, dtype=bool)
    if not rows.any():
        raise ValueError(f"{name} step: no rows to fit")
    y = selected[rows]
    if y.all() or not y.any():
        raise ValueError(f"{name} step: every row is {'selected' if y.all() else 'unselected'}; nothing to model")
    X_all = predictors(table.loc[rows])
    X, _ = design(X_all, list(X_all.columns), min_count=min_category_rows)
    w = None if weights is None else np.asarray(weights, dtype=float)[rows]
    result = fit_glm(y.astype(float), X, sm.families.Binomial(), w)
    counts = {**X.drop(columns="const").sum().to_dict(), "_n": float(len(X))}
    log.info("%s step: %d rows, %d selected", name, int(rows.sum()), int(y.sum()))
    return StepModel(name, list(X.columns), result.params.copy(), result, int(rows.sum()), int(y.sum()), counts)


def link_step(extract: pd.DataFrame, population: pd.Series, respondents: str, *, min_category_rows: int = 10,
              weights: np.ndarray | None = None) -> tuple[StepModel, np.ndarray]:
    """The researchers' step: P(linked | consented), fitted on the consented rows of ``population``.

    Returns the model and its probability for every row (NaN outside the
    consented rows of the population).
    """
    rows = population.to_numpy(dtype=bool) & consented(extract, respondents).to_numpy()
    linked = extract["npd_linked"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    p = np.full(len(extract), np.nan)
    if rows.any() and linked[rows].all():
        # Every consenting family was linked: nothing to model, P(linked) = 1.
        log.info("link step: every one of %d consented row(s) is linked; P(linked | consent) = 1", int(rows.sum()))
        step = StepModel("link", ["const"], pd.Series([np.inf], index=["const"]), None, int(rows.sum()), int(rows.sum()))
        p[rows] = 1.0
        return step, p
    step = fit_step("link", extract, rows, linked, min_category_rows=min_category_rows, weights=weights)
    p[rows] = step.predict(extract.loc[rows])
    return step, p


@dataclass
class Selection:
    """The two steps for one analysis population.

    Attributes
    ----------
    respondents
        The population's flag (``p1_responded`` or ``yp2_responded``).
    consent
        P(consent | respondent) per row, as released by the survey
        organisation (NaN where withheld or outside the population).
    link
        P(linked | consented) per row (NaN outside the consented rows).
    link_model
        The fitted link step.
    n_population, n_consented, n_linked
        Respondents, those who consented, and those linked among them.
    """

    respondents: str
    consent: np.ndarray
    link: np.ndarray
    link_model: StepModel
    n_population: int
    n_consented: int
    n_linked: int

    @property
    def probability(self) -> np.ndarray:
        """P(analysable) = P(consent) x P(linked | consent), per row."""
        return self.consent * self.link


def selection(extract: pd.DataFrame, population: pd.Series, respondents: str, *, min_category_rows: int = 10) -> Selection:
    """Both steps for ``population``: the released consent probabilities and a fitted link step.

    Raises
    ------
    ValueError
        If the extract lacks the survey organisation's consent probabilities
        for consented rows of the population (an extract made before the
        consent step was released, or a population the survey organisation
        did not model).
    """
    _, column = CONSENT_STEPS[respondents]
    pop = population.to_numpy(dtype=bool)
    ok = consented(extract, respondents).to_numpy() & pop
    if column not in extract.columns:
        raise ValueError(f"the extract has no {column} (the survey organisation's consent probabilities); rerun `sendlink extract`")
    consent = pd.to_numeric(extract[column], errors="coerce").to_numpy(dtype=float)
    missing = ok & np.isnan(consent)
    if missing.any():
        raise ValueError(f"{int(missing.sum())} consented row(s) of the {respondents} population have no {column}; rerun `sendlink extract`")
    step, link = link_step(extract, population, respondents, min_category_rows=min_category_rows)
    linked = extract["npd_linked"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return Selection(respondents, np.where(pop, consent, np.nan), link, step, int(pop.sum()), int(ok.sum()), int((ok & linked).sum()))

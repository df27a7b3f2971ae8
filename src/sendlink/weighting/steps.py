"""The selection steps' shared model: fitted once, refitted in every bootstrap replicate.

A selection step is a logistic regression of being selected (consented,
linked) on what is known about every respondent
(:func:`sendlink.weighting.predictors.predictors`). The survey organisation
fits the consent step on *every* respondent's answers at the extract stage
(:mod:`sendlink.deidentify.analysis_support`); the researchers fit the link
step the same way among those who consented
(:mod:`sendlink.outcomes.selection`). :class:`StepModel` keeps the design's
columns fixed, so that a bootstrap replicate (:meth:`StepModel.refit`)
estimates the same model with its own case weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm

from sendlink.weighting.glm import design, expit, fit_glm, fit_params
from sendlink.weighting.predictors import predictors

log = logging.getLogger(__name__)

#: Analysis population (``Outcome.respondents``) -> the scopes its analysis
#: needs permission for, and the extract column of the released consent
#: probability.
CONSENT_STEPS = {
    "p1_responded": (("consent_parent_answers",), "consent_propensity_parent"),
    "yp2_responded": (("consent_parent_answers", "consent_child_answers"), "consent_propensity_both"),
}
GRANTED = "granted"


#: Scope -> the extract's flag for answers withheld although permission may be in force
#: (the person objected to research use or was erased: consent rule 8 of issue 14).
WITHHELD = {"consent_parent_answers": "parent_answers_withheld", "consent_child_answers": "child_answers_withheld"}


def consented(table: pd.DataFrame, population: str) -> pd.Series:
    """Boolean per row: permission in force for every scope ``population``'s analysis needs.

    A person who objected to research use (or was erased) keeps the permission
    they gave but their answers are withheld: for the analysis they are not
    analysable, like a family that refused, so a withheld flag (when the table
    has one) counts against them here, in the survey organisation's consent
    step and in the researchers' selection alike.
    """
    scopes, _ = CONSENT_STEPS[population]
    out = pd.Series(True, index=table.index)
    for scope in scopes:
        out &= table[scope].astype(str).eq(GRANTED).to_numpy()
        flag = WITHHELD[scope]
        if flag in table.columns:
            out &= ~table[flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
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
        return expit(self.matrix(table) @ self.params.to_numpy())

    def refit(self, y: np.ndarray, X: np.ndarray, weights: np.ndarray) -> StepModel:
        """The same model fitted with case weights (a bootstrap replicate), starting from these estimates."""
        params = fit_params(y, X, sm.families.Binomial(), weights, start=self.params.to_numpy())
        return StepModel(self.name, self.columns, pd.Series(params, index=self.params.index), None, self.n, self.n_selected)


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

"""Marginal effects on the natural scale: probabilities, counts, points.

Odds ratios and rate ratios are hard to read and depend on the baseline.
Beside them the analysis reports **average marginal effects**: the
(weighted) mean over the analysis sample of the difference the model
predicts for each child between two settings of the exposure, everything
else as it is:

* a binary exposure (EHC plan, unmet need): predicted outcome with it
  minus without it, for every child;
* satisfaction with support (per point of the 1-5 scale): predicted
  outcome half a point above minus half a point below the child's own
  answer;
* unmet need x FSM (modification model): the average effect of unmet need
  among FSM children minus that among the others, both computed over all
  children (the interaction on the additive scale, which an odds ratio
  does not give);
* unmet need x school experience: the change in the average effect of
  unmet need per point of the school rating.

Scales: persistent absence in percentage points of the chance of being
persistently absent in a year; suspensions in suspensions per pupil over
Years 10-11; Attainment 8 and life satisfaction in points (for these
linear models the marginal effect of a main term equals the coefficient).
Interactions are recomputed from the settings
(:func:`sendlink.outcomes.variables.derive_terms`). Hand-written (a few
lines each) because statsmodels' ``get_margeff`` exists for its discrete
models, not for weighted GLMs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendlink.outcomes.variables import derive_terms

#: Natural-scale unit of each outcome's marginal effects.
UNITS = {
    "persistent_absence": "percentage points (chance of persistent absence in a year)",
    "suspensions": "suspensions per pupil, Years 10-11",
    "attainment8": "Attainment 8 points",
    "wellbeing": "points of life satisfaction (0-10)",
}
#: Outcomes whose natural scale is a probability, reported x 100.
PERCENT = {"persistent_absence"}


def _predict(params: pd.Series, variables: pd.DataFrame, link: str) -> np.ndarray:
    X = np.column_stack([np.ones(len(variables))] + [variables[c].to_numpy(dtype=float) for c in params.index if c != "const"])
    eta = X @ params.to_numpy()
    if link == "logit":
        return 1.0 / (1.0 + np.exp(-eta))
    if link == "log":
        return np.exp(eta)
    return eta


def _set(variables: pd.DataFrame, **values) -> pd.DataFrame:
    out = variables.copy()
    for name, value in values.items():
        out[name] = value(out[name]) if callable(value) else float(value)
    return derive_terms(out)


#: term -> list of (sign, settings) whose weighted mean prediction, summed, is the effect.
CONTRASTS = {
    "ehc": [(1, {"ehc": 1}), (-1, {"ehc": 0})],
    "unmet_need": [(1, {"unmet_need": 1}), (-1, {"unmet_need": 0})],
    "satisfaction": [(1, {"satisfaction": lambda s: s + 0.5}), (-1, {"satisfaction": lambda s: s - 0.5})],
    "unmet_need_x_fsm": [(1, {"unmet_need": 1, "fsm": 1}), (-1, {"unmet_need": 0, "fsm": 1}),
                         (-1, {"unmet_need": 1, "fsm": 0}), (1, {"unmet_need": 0, "fsm": 0})],
    "unmet_need_x_school_experience": [(1, {"unmet_need": 1, "school_experience": lambda s: s + 0.5}),
                                       (-1, {"unmet_need": 0, "school_experience": lambda s: s + 0.5}),
                                       (-1, {"unmet_need": 1, "school_experience": lambda s: s - 0.5}),
                                       (1, {"unmet_need": 0, "school_experience": lambda s: s - 0.5})],
}


def average_marginal_effects(params: pd.Series, variables: pd.DataFrame, weights: np.ndarray | None, link: str,
                             terms: tuple[str, ...], outcome: str) -> dict[str, float]:
    """Average marginal effect of each of ``terms`` (see the module docstring).

    Parameters
    ----------
    params
        The fitted coefficients (``const`` and the design's columns).
    variables
        The analysis sample's variables (one row per child).
    weights
        Analysis weights (None: unweighted mean).
    link
        ``logit``, ``log`` or ``identity``.
    outcome
        For the scale (percentage points for persistent absence).
    """
    w = np.ones(len(variables)) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    scale = 100.0 if outcome in PERCENT else 1.0
    out = {}
    for term in terms:
        if term not in CONTRASTS or term not in params.index:
            continue
        total = 0.0
        for sign, setting in CONTRASTS[term]:
            total += sign * float(w @ _predict(params, _set(variables, **setting), link))
        out[term] = scale * total
    return out


def _apply(X: np.ndarray, columns: list[str], setting: dict) -> np.ndarray:
    """``X`` with the contrast's settings applied and the interactions recomputed (numpy, for replicates)."""
    from sendlink.outcomes.variables import DERIVED

    out = X.copy()
    index = {c: i for i, c in enumerate(columns)}
    for name, value in setting.items():
        if name in index:
            j = index[name]
            out[:, j] = value(out[:, j]) if callable(value) else float(value)
    for name, (a, b) in DERIVED.items():
        if name in index and a in index and b in index:
            out[:, index[name]] = out[:, index[a]] * out[:, index[b]]
    return out


def average_marginal_effects_matrix(params: np.ndarray, X: np.ndarray, columns: list[str], weights: np.ndarray | None, link: str,
                                    terms: tuple[str, ...], outcome: str, parts: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """:func:`average_marginal_effects` on a design matrix (same results, much faster).

    ``parts`` gives the values of interaction parts that are not columns of
    ``X`` (``fsm`` is a column; ``school_experience`` is one only in the
    modification model): for a main model, the contrast of an interaction is
    not defined and is skipped anyway.
    """
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    scale = 100.0 if outcome in PERCENT else 1.0
    out = {}
    for term in terms:
        if term not in CONTRASTS or term not in columns:
            continue
        total = 0.0
        for sign, setting in CONTRASTS[term]:
            eta = _apply(X, columns, setting) @ params
            mu = 1.0 / (1.0 + np.exp(-eta)) if link == "logit" else (np.exp(eta) if link == "log" else eta)
            total += sign * float(w @ mu)
        out[term] = scale * total
    return out

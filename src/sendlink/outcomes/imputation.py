"""Multiple imputation of missing covariates by chained equations (statsmodels MICE).

What is missing in a linked row: early-years results of pupils who arrived
in a state school after the assessment (the NPD has none for them), an
IDACI quintile or sex blanked for k-anonymity, and now and then an
unanswered question. Setting a missing value to 0 with a missing-value
indicator (the first edition's approach) biases the other coefficients
unless the data are missing completely at random; multiple imputation
under missing at random does not, and carries the uncertainty about the
missing values into the standard errors.

How
---
:func:`impute` wraps :class:`statsmodels.imputation.mice.MICEData`: each
variable with missing values (of :data:`sendlink.outcomes.variables.IMPUTED`)
is regressed (OLS) on all the others, and a missing value is replaced by
the observed value of one of the ``k_pmm`` cases with the closest predicted
mean (predictive mean matching; so an imputed quintile is a quintile and an
imputed flag is 0 or 1), with the regression's parameters drawn from their
approximate posterior, cycling over the variables. After ``burn_in``
cycles, a completed data set is kept every ``skip`` cycles.

The imputation model contains every analysis term, **the outcomes** of
the models that use the rows (an imputation model without the outcome
biases its coefficients towards zero) and the log of the analysis weight
(so the imputations respect the design the weighted analysis uses). The
analysis imputes twice: the rows of the NPD outcomes' models with those
three outcomes, and the rows of the wellbeing model with wellbeing, so
every model's imputations include its own outcome; each model uses only
rows whose outcome was observed. Interactions are recomputed from the
imputed values (:func:`sendlink.outcomes.variables.derive_terms`).
statsmodels' chained equations refit each conditional model through a
formula, which takes a few seconds per cycle on a few thousand rows; the
defaults (3 burn-in cycles, 1 between imputations, 5 imputations in
``params.yaml``) keep the analysis to seconds, which the convergence of
so few, weakly related missing variables (about 5% of rows) allows; the
ethnic groups enter the imputation model as one minority-ethnic flag.

Estimates are combined by Rubin's rules (:func:`pool`). Assumption: given
everything in the imputation model, whether a value is missing does not
depend on the value (missing at random); in the synthetic world, late
arrival depends on EAL only, so it holds.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sendlink.outcomes.variables import (
    COVARIATES,
    EXPOSURES,
    IMPUTED,
    MODIFIERS,
    OUTCOME_COLUMNS,
    derive_terms,
)

log = logging.getLogger(__name__)


@dataclass
class Imputed:
    """Completed copies of the analysis variables.

    Attributes
    ----------
    datasets
        M completed copies of the variables (the rows imputed are those of
        ``rows``; other rows are unchanged).
    rows
        Boolean per row: the rows the imputation model was fitted on.
    missing
        Per imputed variable, how many of those rows had it missing.
    """

    datasets: list[pd.DataFrame]
    rows: pd.Series
    missing: dict[str, int]

    @property
    def m(self) -> int:
        return len(self.datasets)


def impute(variables: pd.DataFrame, rows: pd.Series, m: int, rng: np.random.Generator, *, weight: pd.Series | None = None,
           outcomes: tuple[str, ...] = tuple(OUTCOME_COLUMNS), burn_in: int = 3, skip: int = 1, k_pmm: int = 10) -> Imputed:
    """M completed copies of ``variables`` on ``rows`` (see the module docstring).

    Parameters
    ----------
    variables
        :func:`sendlink.outcomes.variables.analysis_variables` output.
    rows
        Boolean per row: who is imputed (the linked analysable rows).
    m
        Number of imputations (0 or 1 with nothing missing: one copy, as is).
    rng
        Generator for the draws (seeded by the caller, so results repeat).
    weight
        Analysis weights; their log enters the imputation model.
    """
    rows = rows.astype(bool)
    terms = [t for t in dict.fromkeys((*EXPOSURES, *MODIFIERS, *COVARIATES)) if t not in ("unmet_need_x_fsm", "unmet_need_x_school_experience")]
    # Outcomes enter as predictors where known on every row imputed (an
    # outcome missing on some rows would itself be imputed, at a cost, and
    # never analysed there).
    known = [o for o in outcomes if variables.loc[rows.to_numpy(), o].notna().all()]
    dropped = sorted(set(outcomes) - set(known))
    if dropped:
        log.info("imputation: outcome(s) %s not known on every imputed row; left out of the imputation model", ", ".join(dropped))
    # Ethnic groups enter the imputation model as one minority-ethnic flag:
    # each column costs statsmodels a formula term per update, and prior
    # attainment depends on them little given the rest.
    ethnic = [t for t in terms if t.startswith("ethnicity_")]
    terms = [t for t in terms if t not in ethnic]
    data = variables.loc[rows.to_numpy(), [*terms, *known]].astype(float).copy()
    data["minority_ethnic"] = variables.loc[rows.to_numpy(), [e for e in ethnic if e != "ethnicity_Unknown"]].sum(axis=1).to_numpy(dtype=float)
    if weight is not None:
        data["log_weight"] = np.log(weight.loc[rows.to_numpy()].astype(float).clip(lower=1e-9))
    # A column without variation predicts nothing and makes OLS singular.
    constant = [c for c in data.columns if data[c].nunique(dropna=True) <= 1 and data[c].notna().all()]
    data = data.drop(columns=constant)
    missing = {c: int(data[c].isna().sum()) for c in IMPUTED if c in data.columns and data[c].isna().any()}
    if not missing or m == 0:
        return Imputed([variables.copy()], rows, missing)
    from statsmodels.imputation.mice import MICEData

    data = data.reset_index(drop=True)
    datasets = []
    # Parameters are drawn from their approximate posterior ("gaussian"); in a
    # small or nearly collinear sample that covariance can be singular, and
    # the bootstrap perturbation (refit on a resample) is used instead.
    for method in ("gaussian", "boot"):
        try:
            mice = MICEData(data, k_pmm=k_pmm, perturbation_method=method, rng=rng)
            datasets = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mice.update_all(burn_in)
                for _ in range(m):
                    mice.update_all(skip)
                    done = variables.copy()
                    filled = mice.data
                    for column in missing:
                        done.loc[rows.to_numpy(), column] = filled[column].to_numpy()
                    datasets.append(derive_terms(done))
            break
        except (np.linalg.LinAlgError, ValueError) as exc:
            if method == "boot":
                raise ValueError(f"multiple imputation failed on {int(rows.sum())} rows ({exc}); set outcomes.imputations: 0 for complete cases") from exc
            log.warning("imputation: parameter draws failed (%s); perturbing by refits on resamples instead", exc)
    log.info("imputed %s on %d rows, %d times", ", ".join(f"{k} ({v})" for k, v in missing.items()), int(rows.sum()), m)
    return Imputed(datasets, rows, missing)


@dataclass(frozen=True)
class Pooled:
    """An estimate pooled over imputations by Rubin's rules."""

    estimate: float
    se: float
    within: float
    between: float
    m: int

    @property
    def fraction_missing_information(self) -> float:
        """(1 + 1/M) B / T: how much of the variance is due to the missing values."""
        total = self.se**2
        return float((1 + 1 / self.m) * self.between / total) if total > 0 and self.m > 1 else 0.0


def pool(estimates: np.ndarray, ses: np.ndarray) -> Pooled:
    """Rubin's rules: mean estimate; T = W + (1 + 1/M) B.

    W is the mean of the squared standard errors, B the variance of the
    estimates across imputations.
    """
    est = np.asarray(estimates, dtype=float)
    se = np.asarray(ses, dtype=float)
    m = len(est)
    within = float(np.mean(se**2))
    between = float(np.var(est, ddof=1)) if m > 1 else 0.0
    total = within + (1 + 1 / m) * between if m > 1 else within
    return Pooled(float(np.mean(est)), float(np.sqrt(total)), within, between, m)

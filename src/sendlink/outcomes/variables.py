"""Analysis variables: from the research extract's columns to model terms.

One function, :func:`analysis_variables`, turns rows carrying the research
extract's column names (``npd_*``, ``p1_*``, ``yp2_*``) into the numeric
terms the models use. The evaluation code builds the same columns for every
frame pupil from truth and calls the same function, so the census value and
the estimates use identical definitions.

Definitions (assumptions stated)
--------------------------------
* **Exposures.** ``ehc``: EHC plan (vs SEN support) in the spring 2022
  census (``npd_sen_provision``; rows with any other provision are outside
  the frame population and get a missing value). ``unmet_need``: the parent
  reports unmet need at wave 1. ``satisfaction``: the parent's satisfaction
  with support at wave 1, per point of the 1-5 scale, centred at 3.
* **Effect modifiers** (the second model): ``unmet_need_x_fsm``;
  ``school_experience``, the parent's wave-1 report of how well school
  suits the child, per point of the 1-5 scale centred at 3, and
  ``unmet_need_x_school_experience``.
* **Covariates.** FSM, sex (male), EAL, IDACI quintile (linear, 1 = most
  deprived; the extract may not carry deciles), primary need as its broad
  area (``NEED_GROUPS``; blanked counts as ``unknown``), ethnicity major group, and prior attainment (the
  cohort has no KS2): EYFSP total points
  per 10, phonics mark per 10, KS1 mean point score over reading, writing
  and maths (``KS1_POINTS``). What is not known is left missing (NaN) here:
  prior attainment of pupils who arrived after an assessment, an IDACI
  quintile or sex blanked for k-anonymity, an unanswered question. The
  analysis fills these by multiple imputation
  (:mod:`sendlink.outcomes.imputation`, :data:`IMPUTED`) and recomputes the
  interactions from the imputed values (:func:`derive_terms`). Ethnicity
  and area of need blanked for k-anonymity keep an "unknown" category of
  their own (a handful of rows; imputing a six-way category adds nothing).
* **Outcomes.** Persistent absence as DfE defines it, per academic year
  (10% or more of the year's possible sessions missed): the share of Years
  10 and 11 in which the pupil was persistently absent (0, 0.5 or 1), for
  pupils on roll in both years, modelled as two yearly binary outcomes (a
  binomial model with two trials); suspensions over Years 10-11 (count);
  Attainment 8 (points); the young person's life satisfaction at wave 2
  (0-10).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The need and ethnicity groupings are shared with the selection steps'
# predictors (sendlink.weighting.predictors), defined there once.
from sendlink.weighting.predictors import (
    ETHNIC_GROUPS,
    ETHNIC_REFERENCE,
    NEED_GROUPS,
    NEED_REFERENCE,
)

#: Need categories with an indicator (``unknown``: blanked for k-anonymity).
NEED_DUMMIES = (*sorted(set(NEED_GROUPS.values()) - {NEED_REFERENCE}), "unknown")
#: KS1 teacher assessment -> points (an assumed ordinal scale; the 2016
#: frameworks first, then the pre-2016 levels some records still carry).
KS1_POINTS = {
    "BLW": 0.0, "PKF": 1.0, "WTS": 2.0, "EXS": 3.0, "GDS": 4.0,
    "W": 0.0, "1": 1.0, "2C": 2.0, "2B": 3.0, "2A": 3.0, "3": 4.0,
}

EXPOSURES = ("ehc", "unmet_need", "satisfaction")
MODIFIERS = ("unmet_need_x_fsm", "school_experience", "unmet_need_x_school_experience")
COVARIATES = (
    "fsm", "male", "eal", "idaci_quintile",
    *(f"need_{g}" for g in NEED_DUMMIES),
    *(f"ethnicity_{g}" for g in sorted(set(ETHNIC_GROUPS.values()) - {ETHNIC_REFERENCE})),
    "eyfsp", "phonics", "ks1",
)
#: Model -> the terms it reports (then the covariates).
MODELS: dict[str, tuple[str, ...]] = {
    "main": EXPOSURES,
    "modification": (*EXPOSURES, *MODIFIERS),
}
#: GLM link of each family (for predictions and marginal effects).
LINKS = {"logistic": "logit", "poisson": "log", "negative_binomial": "log", "linear": "identity"}


def model_terms(model: str) -> tuple[str, ...]:
    """Every term of a model: its reported terms, then the covariates."""
    return (*MODELS[model], *COVARIATES)


#: Terms that may be missing and are imputed (everything else is known for
#: every linked row); interactions are derived from them afterwards.
IMPUTED = ("unmet_need", "satisfaction", "school_experience", "fsm", "male", "eal", "idaci_quintile", "eyfsp", "phonics", "ks1")
#: Interaction -> the two terms it multiplies.
DERIVED = {
    "unmet_need_x_fsm": ("unmet_need", "fsm"),
    "unmet_need_x_school_experience": ("unmet_need", "school_experience"),
}
#: Outcome -> the extract column(s) it is made from (several: their mean).
OUTCOME_COLUMNS = {
    "persistent_absence": ("npd_persistent_absence_y10", "npd_persistent_absence_y11"),
    "suspensions": ("npd_suspensions_y10_11",),
    "attainment8": ("npd_attainment8",),
    "wellbeing": ("yp2_life_satisfaction",),
}
#: Extract columns :func:`analysis_variables` reads.
REQUIRED_COLUMNS = (
    "npd_sen_provision", "npd_fsm", "npd_sex", "npd_eal", "npd_idaci_quintile", "npd_primary_need", "npd_ethnicity",
    "npd_eyfsp_total_points", "npd_phonics_mark", "npd_ks1_reading", "npd_ks1_writing", "npd_ks1_maths",
    "npd_school_cluster", "p1_unmet_need", "p1_satisfaction_support", "p1_school_experience",
    *(c for columns in OUTCOME_COLUMNS.values() for c in columns),
)


def _float(series: pd.Series) -> np.ndarray:
    """Numbers (booleans as 0/1) with missing values as NaN."""
    return pd.to_numeric(series.astype("object").where(series.notna(), np.nan), errors="coerce").astype(float).to_numpy()


def analysis_variables(rows: pd.DataFrame) -> pd.DataFrame:
    """The model terms of each row.

    Parameters
    ----------
    rows
        Rows with the research extract's column names (at least
        :data:`REQUIRED_COLUMNS`); values missing where the extract leaves
        them empty (not linked, not answered, withheld).

    Returns
    -------
    pandas.DataFrame
        Same index; float columns :data:`EXPOSURES`, :data:`MODIFIERS`,
        :data:`COVARIATES` and the outcomes of :data:`OUTCOME_COLUMNS` (NaN
        where unknown), plus ``cluster`` (the pseudonymous school, text) and
        ``in_frame`` (provision E or K in spring 2022).
    """
    out = pd.DataFrame(index=rows.index)
    provision = rows["npd_sen_provision"].astype("object")
    in_frame = provision.isin(["E", "K"]).to_numpy()
    out["in_frame"] = in_frame
    out["cluster"] = rows["npd_school_cluster"].astype("object")
    out["ehc"] = np.where(in_frame, (provision == "E").to_numpy(dtype=float), np.nan)
    unmet = _float(rows["p1_unmet_need"])
    out["unmet_need"] = unmet
    out["satisfaction"] = _float(rows["p1_satisfaction_support"]) - 3.0
    fsm = _float(rows["npd_fsm"])
    school = _float(rows["p1_school_experience"]) - 3.0
    out["unmet_need_x_fsm"] = unmet * fsm
    out["school_experience"] = school
    out["unmet_need_x_school_experience"] = unmet * school

    out["fsm"] = fsm
    sex = rows["npd_sex"].astype("object")
    out["male"] = np.where(sex.isin(["F", "M"]), (sex == "M").to_numpy(dtype=float), np.nan)
    out["eal"] = _float(rows["npd_eal"])
    out["idaci_quintile"] = _float(rows["npd_idaci_quintile"])
    # Need and ethnicity blanked for k-anonymity: a category of their own.
    need = rows["npd_primary_need"].astype("object").map(NEED_GROUPS).fillna("unknown")
    for group in NEED_DUMMIES:
        out[f"need_{group}"] = (need == group).to_numpy(dtype=float)
    ethnic = rows["npd_ethnicity"].astype("object").map(ETHNIC_GROUPS).fillna("Unknown")
    for group in sorted(set(ETHNIC_GROUPS.values()) - {ETHNIC_REFERENCE}):
        out[f"ethnicity_{group}"] = (ethnic == group).to_numpy(dtype=float)
    # Prior attainment (missing where the pupil was not assessed: imputed later).
    out["eyfsp"] = _float(rows["npd_eyfsp_total_points"]) / 10.0
    out["phonics"] = _float(rows["npd_phonics_mark"]) / 10.0
    ks1_parts = np.column_stack([rows[f"npd_ks1_{s}"].astype("object").map(KS1_POINTS).astype(float).to_numpy() for s in ("reading", "writing", "maths")])
    known = (~np.isnan(ks1_parts)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        out["ks1"] = np.nansum(ks1_parts, axis=1) / np.where(known > 0, known, np.nan)
    out.loc[~in_frame, ["male", "idaci_quintile"]] = np.nan

    for name, columns in OUTCOME_COLUMNS.items():
        values = np.column_stack([_float(rows[c]) for c in columns])
        out[name] = values.mean(axis=1)  # NaN unless every column is known
    return derive_terms(out)


def derive_terms(variables: pd.DataFrame) -> pd.DataFrame:
    """Recompute the interactions (:data:`DERIVED`) from their parts, in place; returns the frame.

    Called after imputation so an interaction is the product of the imputed
    values ("passive" imputation), never imputed on its own.
    """
    for name, (a, b) in DERIVED.items():
        variables[name] = variables[a].to_numpy(dtype=float) * variables[b].to_numpy(dtype=float)
    return variables

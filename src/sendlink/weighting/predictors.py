"""Predictors of the selection steps: what is known about every respondent.

The consent step (fitted by the survey organisation on every respondent)
and the link step (fitted by the researchers among those who consented)
use the same predictors, computed from the research extract's columns:
the sampling frame's NPD information, whether the family answered wave 2,
and the parent's wave-1 answers, each with a category for a value that is
missing (unanswered, or blanked for k-anonymity). The groupings
(:data:`NEED_GROUPS`, :data:`ETHNIC_GROUPS`) are those of the outcome models
(:mod:`sendlink.outcomes.variables`), defined here once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The survey's fifth stratum: independent special school pupils recruited
#: through local authorities, not in the NPD and never linked; outside every
#: analysis population.
INDEPENDENT_STRATUM = "E_independent"
#: Ethnicity major groups counted as minority ethnic (with FSM, they make a
#: pupil "seldom heard" in the sampling design).
MINORITY = ("Mixed", "Asian", "Black", "Other")

#: Primary need -> broad area of need (SEND Code of Practice 6.28-6.35):
#: communication and interaction (CI), cognition and learning (CL), social,
#: emotional and mental health (SEMH), sensory and/or physical (SP), other
#: or not assessed (OTH_NSA). Broad areas, not the 13 types, because rare
#: types have too few pupils to adjust for one by one and because the
#: extract may already show them as broad areas (k-anonymity generalises
#: rare types to their area); the area codes themselves map to themselves.
NEED_GROUPS = {
    "SLCN": "CI", "ASD": "CI", "CI": "CI",
    "SPLD": "CL", "MLD": "CL", "SLD": "CL", "PMLD": "CL", "CL": "CL",
    "SEMH": "SEMH",
    "HI": "SP", "VI": "SP", "MSI": "SP", "PD": "SP", "SP": "SP",
    "OTH": "OTH_NSA", "NSA": "OTH_NSA", "OTH_NSA": "OTH_NSA",
}
NEED_REFERENCE = "CI"
NEED_REFERENCE = "CI"
#: Ethnicity major group -> analysis group (White is the reference). A value
#: blanked for k-anonymity counts as Unknown.
ETHNIC_GROUPS = {"White": "White", "Mixed": "Mixed", "Asian": "Asian", "Black": "Black", "Other": "Other", "Unknown": "Unknown"}
ETHNIC_REFERENCE = "White"
#: Columns of the extract the consent model reads.
CONSENT_COLUMNS = (
    "strand", "frame_sen_provision", "frame_fsm", "frame_eal", "frame_ethnicity", "frame_idaci_quintile",
    "frame_sex", "frame_primary_need", "p2_responded", "p1_school_experience", "p1_unmet_need", "p1_satisfaction_support",
)
_LIKERT = (1, 2, 4, 5)  # 3 is the reference category


def _flag(series: pd.Series) -> np.ndarray:
    return series.astype("boolean").fillna(False).to_numpy(dtype=float)


def _categories(out: pd.DataFrame, prefix: str, values: pd.Series, levels: list, missing: bool = True) -> None:
    """Indicators of ``levels`` (the reference left out) and of a missing value."""
    for level in levels:
        out[f"{prefix}_{level}"] = values.eq(level).fillna(False).to_numpy(dtype=float)
    if missing:
        out[f"{prefix}_missing"] = values.isna().to_numpy(dtype=float)


def frame_predictors(extract: pd.DataFrame) -> pd.DataFrame:
    """Predictors known for every sampled case (the frame and the design).

    Values blanked for k-anonymity form a category of their own.
    """
    out = pd.DataFrame(index=extract.index)
    out["face_to_face"] = (extract["strand"].astype("object") == "face_to_face").to_numpy(dtype=float)
    _categories(out, "frame_provision", extract["frame_sen_provision"].astype("object"), ["E"])
    out["frame_fsm"] = _flag(extract["frame_fsm"])
    out["frame_eal"] = _flag(extract["frame_eal"])
    _categories(out, "frame_sex", extract["frame_sex"].astype("object"), ["M"])
    ethnic = extract["frame_ethnicity"].astype("object").map(ETHNIC_GROUPS)
    _categories(out, "frame_ethnicity", ethnic, sorted(set(ETHNIC_GROUPS.values()) - {ETHNIC_REFERENCE}))
    need = extract["frame_primary_need"].astype("object").map(NEED_GROUPS)
    _categories(out, "frame_need", need, sorted(set(NEED_GROUPS.values()) - {NEED_REFERENCE}))
    quintile = pd.to_numeric(extract["frame_idaci_quintile"], errors="coerce")
    _categories(out, "frame_idaci", quintile, [2, 3, 4, 5])
    out["answered_wave2"] = _flag(extract["p2_responded"])
    return out


def answer_predictors(extract: pd.DataFrame) -> pd.DataFrame:
    """Predictors from the parent's wave-1 answers, with unanswered as a category."""
    out = pd.DataFrame(index=extract.index)
    for name, column in (("school_experience", "p1_school_experience"), ("satisfaction", "p1_satisfaction_support")):
        _categories(out, name, pd.to_numeric(extract[column], errors="coerce"), list(_LIKERT))
    unmet = extract["p1_unmet_need"].astype("boolean")
    out["unmet_need"] = unmet.fillna(False).to_numpy(dtype=float)
    out["unmet_need_missing"] = unmet.isna().to_numpy(dtype=float)
    return out


def predictors(table: pd.DataFrame) -> pd.DataFrame:
    """Both steps' predictors: frame information and the parent's wave-1 answers.

    Unanswered (or withheld) answers form a category of their own; a frame
    value blanked for k-anonymity too.
    """
    return pd.concat([frame_predictors(table), answer_predictors(table)], axis=1)

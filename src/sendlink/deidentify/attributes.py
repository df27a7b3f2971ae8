"""NPD and survey attributes of a case, as the research extract carries them.

Two derivations, each in one place so the research extract and the
evaluation code (which computes the same variables for every frame pupil
from truth) cannot drift apart:

* :func:`npd_attributes` (run by DfE): one row per UPN with the cohort's
  characteristics in the frame year (spring census of Year 8), prior
  attainment (EYFSP, phonics, KS1; no KS2 for this cohort) and outcomes in
  Years 10-11 (persistent absence, suspensions, permanent exclusion) and
  KS4 (Attainment 8). Identifiers never leave this function: the school
  becomes a keyed pseudonym, the postcode is not read.
* :func:`survey_attributes` (run by the survey organisation): one row per
  survey case with the answers, prefixed by questionnaire and wave.

Definitions (also in the data dictionary):

* persistent absence, per academic year as DfE defines it: 10% or more of
  that year's possible sessions missed (``npd_persistent_absence_y10``,
  ``_y11``); the older two-year measure (sessions over both years pooled,
  ``npd_persistent_absence_y10_11``) is kept for comparison. All are
  defined only for pupils on roll in state schools in both years
  (otherwise missing);
* suspensions in Years 10-11: total over both years (no exclusion row
  means none), same condition;
* ``school_phase``: mainstream (primary or secondary), special, or
  alternative provision, from the school attended in the frame year.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.io import read_table
from sendlink.schema import catalogue

PA_THRESHOLD = 0.10


def year_label(ending_year: int) -> str:
    """2022 -> '2021/22'."""
    return f"{ending_year - 1}/{str(ending_year)[-2:]}"


def _read(npd_dir: Path, file: catalogue.File, upns: pd.Index, columns: list[str] | None = None) -> pd.DataFrame:
    frame = read_table(npd_dir / file.name, columns=columns)
    return frame[frame["upn"].isin(upns)]


def npd_attributes(
    npd_dir: str | Path,
    upns: Iterable[str],
    frame_year: int,
    *,
    school_pseudonym: Callable[[pd.Series], pd.Series],
) -> pd.DataFrame:
    """Derive the research variables of each pupil from the NPD modules.

    Parameters
    ----------
    npd_dir
        Folder with the NPD tables (``data/synthetic/npd``).
    upns
        The pupils to describe (linked pupils, or every frame pupil).
    frame_year
        Year the frame was drawn, labelled by its ending year (2022 for the
        spring 2022 census, Year 8). Years 10 and 11 are the two after next.
    school_pseudonym
        Maps school URNs to project-specific pseudonyms (a keyed hash), so
        analysts can cluster by school without knowing which school.

    Returns
    -------
    One row per UPN (index ``upn``), columns prefixed ``npd_``.
    """
    npd_dir = Path(npd_dir)
    index = pd.Index(pd.unique(pd.Series(list(upns), dtype=object).dropna()), name="upn")
    out = pd.DataFrame(index=index)
    fy, y10, y11 = year_label(frame_year), year_label(frame_year + 2), year_label(frame_year + 3)

    spine = _read(npd_dir, catalogue.NPD_SPINE, index, ["upn", "sex", "date_of_birth"]).set_index("upn")
    out["npd_sex"] = spine["sex"]
    out["npd_birth_year_month"] = spine["date_of_birth"].str.slice(0, 7)

    census = _read(npd_dir, catalogue.CENSUS, index)
    frame_rows = census[census["academic_year"] == fy].set_index("upn")
    schools = read_table(npd_dir / catalogue.SCHOOLS.name).set_index("school_urn")
    las = read_table(npd_dir / catalogue.LOCAL_AUTHORITIES.name).set_index("la_code")
    out["npd_on_roll_frame_year"] = out.index.isin(frame_rows.index)
    out["npd_sen_provision"] = frame_rows["sen_provision"]
    out["npd_primary_need"] = frame_rows["primary_sen_type"].replace("", np.nan)
    out["npd_fsm"] = frame_rows["fsm_eligible"]
    out["npd_ever_fsm_6"] = frame_rows["ever_fsm_6"]
    out["npd_eal"] = frame_rows["eal"]
    out["npd_ethnicity"] = frame_rows["ethnicity_major"]
    out["npd_idaci_decile"] = frame_rows["idaci_decile"]
    out["npd_idaci_quintile"] = (frame_rows["idaci_decile"] + 1) // 2
    out["npd_la_code"] = frame_rows["la_code"]
    out["npd_region"] = frame_rows["la_code"].map(las["region"])
    urn = frame_rows["school_urn"]
    phase = urn.map(schools["phase"])
    out["npd_school_phase"] = phase.map({"primary": "mainstream", "secondary": "mainstream", "special": "special", "alternative_provision": "alternative_provision"})
    out["npd_school_type"] = urn.map(schools["school_type"])
    out["npd_school_cluster"] = school_pseudonym(urn.dropna()).reindex(out.index)
    last = census[census["academic_year"] == y11].set_index("upn")
    out["npd_sen_provision_y11"] = last["sen_provision"]

    # Prior attainment: early years, phonics, KS1 (the cohort has no KS2).
    eyfsp = _read(npd_dir, catalogue.EYFSP, index).set_index("upn")
    out["npd_eyfsp_total_points"] = eyfsp["eyfsp_total_points"]
    out["npd_eyfsp_good_level"] = eyfsp["good_level_of_development"]
    phonics = _read(npd_dir, catalogue.PHONICS, index).set_index("upn")
    out["npd_phonics_mark"] = phonics["phonics_mark"]
    out["npd_phonics_met"] = phonics["phonics_met_standard"]
    ks1 = _read(npd_dir, catalogue.KS1, index).set_index("upn")
    for subject in ("reading", "writing", "maths"):
        out[f"npd_ks1_{subject}"] = ks1[f"ks1_{subject}"]

    # Outcomes in Years 10-11.
    absence = _read(npd_dir, catalogue.ABSENCE, index)
    absence = absence[absence["academic_year"].isin([y10, y11])]
    years_on_roll = absence.groupby("upn")["academic_year"].nunique()
    both = years_on_roll[years_on_roll == 2].index
    totals = absence.groupby("upn")[["sessions_possible", "sessions_authorised", "sessions_unauthorised"]].sum()
    missed = totals["sessions_authorised"] + totals["sessions_unauthorised"]
    out["npd_on_roll_y10_11"] = out.index.isin(both)
    out["npd_sessions_possible_y10_11"] = totals["sessions_possible"].where(totals.index.isin(both))
    out["npd_sessions_missed_y10_11"] = missed.where(totals.index.isin(both))
    rate = out["npd_sessions_missed_y10_11"] / out["npd_sessions_possible_y10_11"]
    out["npd_absence_rate_y10_11"] = rate.round(4)
    out["npd_persistent_absence_y10_11"] = pd.array(np.where(rate.notna(), rate >= PA_THRESHOLD, pd.NA), dtype="boolean")
    for label, year in (("y10", y10), ("y11", y11)):
        one = absence[absence["academic_year"] == year].set_index("upn")
        year_rate = ((one["sessions_authorised"] + one["sessions_unauthorised"]) / one["sessions_possible"]).reindex(out.index)
        year_rate = year_rate.where(out["npd_on_roll_y10_11"].to_numpy())
        out[f"npd_persistent_absence_{label}"] = pd.array(np.where(year_rate.notna(), year_rate >= PA_THRESHOLD, pd.NA), dtype="boolean")
    exclusions = _read(npd_dir, catalogue.EXCLUSIONS, index)
    exclusions = exclusions[exclusions["academic_year"].isin([y10, y11])]
    susp = exclusions.groupby("upn")["suspensions"].sum().reindex(out.index).fillna(0).astype(int)
    perm = exclusions.groupby("upn")["permanent_exclusion"].any().reindex(out.index, fill_value=False).astype(bool)
    on_roll = out["npd_on_roll_y10_11"].to_numpy()
    out["npd_suspensions_y10_11"] = pd.array(np.where(on_roll, susp, pd.NA), dtype="Int64")
    out["npd_permanent_exclusion_y10_11"] = pd.array(np.where(on_roll, perm, pd.NA), dtype="boolean")
    ks4 = _read(npd_dir, catalogue.KS4, index)
    out["npd_attainment8"] = ks4[ks4["academic_year"] == y11].set_index("upn")["attainment8"]

    for col in ("npd_fsm", "npd_ever_fsm_6", "npd_eal", "npd_eyfsp_good_level", "npd_phonics_met"):
        out[col] = out[col].astype("boolean")
    for col in ("npd_idaci_decile", "npd_idaci_quintile", "npd_eyfsp_total_points", "npd_phonics_mark", "npd_sessions_possible_y10_11", "npd_sessions_missed_y10_11"):
        out[col] = out[col].astype("Int64")
    return out


#: Survey answer files and the prefix their columns get in the extract.
SURVEY_FILES = {
    catalogue.PARENT_W1: "p1_",
    catalogue.YOUNG_PERSON_W1: "yp1_",
    catalogue.PARENT_W2: "p2_",
    catalogue.YOUNG_PERSON_W2: "yp2_",
}
#: Sample columns carried into the extract (design and frame information).
SAMPLE_COLUMNS = (
    "stratum", "strand", "design_weight", "w1_weight", "w2_weight",
    "frame_sen_provision", "frame_primary_need", "frame_fsm", "frame_eal", "frame_ethnicity",
    "frame_idaci_decile", "frame_sex", "frame_region",
)


def survey_attributes(holdings_dir: str | Path, survey_ids: Iterable[str]) -> pd.DataFrame:
    """The survey's design information and answers per case, without identifiers.

    Interview dates are dropped (the wave says when); every other answer is
    kept, prefixed by questionnaire and wave (``p1_`` parent wave 1,
    ``yp2_`` young person wave 2, ...). A ``*_responded`` flag says whether
    each questionnaire was answered.
    """
    holdings_dir = Path(holdings_dir)
    index = pd.Index(list(survey_ids), name="survey_id")
    sample = read_table(holdings_dir / catalogue.SAMPLE.name).set_index("survey_id")
    out = sample.reindex(index)[list(SAMPLE_COLUMNS)].copy()
    for file, prefix in SURVEY_FILES.items():
        answers = read_table(holdings_dir / file.name).set_index("survey_id").drop(columns=["interview_date"])
        out[f"{prefix}responded"] = index.isin(answers.index)
        answers = answers.add_prefix(prefix).reindex(index)
        out = out.join(answers)
    return out

"""Contract of the de-identified research extract (``data/research/``).

One row per survey case whose answers may be analysed (wave-1 responding
households, less erasures, restrictions and objections). Keyed by
``research_id``, a keyed hash no researcher can reverse. The contract is
strict: a column not listed here cannot reach the extract, and none of
:data:`DIRECT_IDENTIFIERS` is listed, so a direct identifier is stopped at
the schema before the identifier scanner ever runs.

NPD columns (``npd_*``) are filled only when the case is linked and a
permission covers it; the answers of a scope without permission are
withheld from a linked row (``*_withheld`` flags say so).

Quasi-identifiers (birth, sex, ethnicity, geography, IDACI, school phase;
:mod:`sendlink.deidentify.kanon`) are coarsened until every combination is
shared by at least k rows; their codes therefore include the coarser levels
(a term or an academic year of birth, a broad area of need), and a value
blanked for k-anonymity is named in ``qi_suppressed``. The same contract
holds for the sensitivity extracts (``extract_strict``, ``extract_loose``).
"""

from __future__ import annotations

import pandera.pandas as pa

from sendlink.schema.base import column, table
from sendlink.schema.npd import ETHNICITY, SEN_PROVISION, SEN_TYPES
from sendlink.schema.survey import PARENT_W1, PARENT_W2, SAMPLE, YOUNG_PERSON_W1, YOUNG_PERSON_W2

#: Columns that identify a person directly; none may appear in research data.
DIRECT_IDENTIFIERS = frozenset(
    {
        "upn", "survey_id", "forename", "middle_names", "surname", "date_of_birth", "postcode",
        "school_urn", "address_line", "email", "phone", "parent_forename", "parent_surname",
    }
)

CONSENT_STATES = {
    "granted": "permission in force", "refused": "refused", "withdrawn": "given, then withdrawn",
    "no_answer": "asked, no answer (break-off)", "not_asked": "never asked",
}
LINK_STATES = {
    "matched": "the linker (or a reviewer) matched an NPD record",
    "clerical_review": "a candidate awaits clerical review (linked only in the loose sensitivity extract)",
    "unmatched": "no NPD record found", "not_sent": "not sent for linkage (no permission, or withdrawn)",
}
#: Broad areas of need (SEND Code of Practice 6.28-6.35) that replace rare need types.
NEED_AREAS = {
    "CI": "communication and interaction (SLCN, ASD), grouped for k-anonymity",
    "CL": "cognition and learning (SPLD, MLD, SLD, PMLD), grouped for k-anonymity",
    "SP": "sensory and/or physical (HI, VI, MSI, PD), grouped for k-anonymity",
    "OTH_NSA": "other difficulty, or not assessed (OTH, NSA), grouped for k-anonymity",
}
#: Birth as year-month, term of an academic year, or academic year.
BIRTH_PATTERN = r"^(\d{4}-(0[1-9]|1[0-2])|\d{4}/\d{2}( autumn| spring| summer)?)$"
_SUPPRESSED = "empty: blanked for k-anonymity (see qi_suppressed)"
_KS1 = {"GDS", "EXS", "WTS", "PKF", "BLW", "3", "2A", "2B", "2C", "1", "W"}


#: Frame columns that are quasi-identifiers: they may be coarsened or blanked.
_FRAME_QI = ("frame_sen_provision", "frame_primary_need", "frame_ethnicity", "frame_idaci_decile", "frame_sex", "frame_region")


def _survey_columns() -> dict[str, pa.Column]:
    out: dict[str, pa.Column] = {}
    for name in ("stratum", "strand", "design_weight", "w1_weight", "w2_weight", "frame_sen_provision", "frame_primary_need",
                 "frame_fsm", "frame_eal", "frame_ethnicity", "frame_idaci_decile", "frame_sex", "frame_region"):
        col = SAMPLE.columns[name]
        if name in _FRAME_QI:
            meta = dict(col.metadata or {})
            codes = meta.get("codes")
            checks = col.checks
            if name == "frame_primary_need":
                codes = {**codes, **NEED_AREAS}
                checks = [pa.Check.isin(list(codes))]
            missing = meta.get("missing")
            meta.update(codes=codes, missing=f"{missing}, or {_SUPPRESSED.removeprefix('empty: ')}" if missing else _SUPPRESSED)
            col = pa.Column(col.dtype, checks=checks, nullable=True, description=col.description, metadata=meta)
        out[name] = col
    out["frame_idaci_quintile"] = column("Int64", "IDACI quintile in the frame (1 = most deprived; deciles 1-2 = 1)", checks=[pa.Check.in_range(1, 5)],
                                         missing="empty: not in the NPD frame, or " + _SUPPRESSED.removeprefix("empty: "), source="derived")
    for schema, prefix in ((PARENT_W1, "p1_"), (YOUNG_PERSON_W1, "yp1_"), (PARENT_W2, "p2_"), (YOUNG_PERSON_W2, "yp2_")):
        out[f"{prefix}responded"] = column(bool, f"Answered the {schema.name.replace('_', ' ')} questionnaire", source="design")
        for name, col in schema.columns.items():
            if name in ("survey_id", "interview_date"):
                continue
            # Answers are missing when the questionnaire was not answered or
            # the scope's answers are withheld from a linked row.
            nullable_dtype = {"bool": "boolean", "int64": "Int64"}.get(str(col.dtype), col.dtype)
            out[prefix + name] = pa.Column(
                nullable_dtype, checks=col.checks, nullable=True, description=col.description,
                metadata={**(col.metadata or {}), "missing": "empty: not answered, or withheld"},
            )
    return out


_NPD = "filled only when linked with permission"
_NPD_QI = _NPD + "; or " + _SUPPRESSED.removeprefix("empty: ")

EXTRACT = table(
    "research_extract",
    {
        "research_id": column(str, "Project-specific pseudonym (keyed hash); the key never leaves DfE and the survey organisation", source="derived", unique=True),
        "consent_parent_answers": column(str, "Permission to link the parent's answers, as of the consent date", codes=CONSENT_STATES, source="derived"),
        "consent_child_answers": column(str, "Permission to link the child's answers, as of the consent date", codes=CONSENT_STATES, source="derived"),
        "link_status": column(str, "Outcome of linkage", codes=LINK_STATES, source="derived"),
        "match_probability": column(float, "Posterior probability of the link (rounded to 3 places)", missing="empty: not linked", checks=[pa.Check.in_range(0, 1)], source="derived"),
        "npd_linked": column(bool, "NPD attributes are attached to this row", source="derived"),
        "parent_answers_withheld": column(bool, "Parent answers removed from this row: linked but no permission to link them, or the parent objected or was erased", source="derived"),
        "child_answers_withheld": column(bool, "Young person's answers removed from this row: linked but no permission to link them, or they (or, while deciding for them, the parent) objected or were erased", source="derived"),
        **_survey_columns(),
        "npd_sex": column(str, "Sex (NPD)", codes={"F": "female", "M": "male"}, missing=_NPD_QI, source="derived"),
        "npd_birth_year_month": column(str, "Year and month of birth (YYYY-MM), or, if k-anonymity required it, the term ('2008/09 autumn': Sept-Dec; spring: Jan-Apr; summer: May-Aug) or the academic year ('2008/09')", checks=[pa.Check.str_matches(BIRTH_PATTERN)], missing=_NPD_QI, source="derived"),
        "npd_on_roll_frame_year": column("boolean", "On roll in a state school at the frame census (spring 2022)", missing=_NPD, source="derived"),
        "npd_sen_provision": column(str, "SEN provision, spring 2022", codes=SEN_PROVISION, missing=_NPD_QI, source="derived"),
        "npd_primary_need": column(str, "Primary need, spring 2022 (rare types grouped into their broad area if k-anonymity required it)", codes={**{k: v for k, v in SEN_TYPES.items() if k}, **NEED_AREAS}, missing=_NPD_QI, source="derived"),
        "npd_fsm": column("boolean", "FSM eligible, spring 2022", missing=_NPD, source="derived"),
        "npd_ever_fsm_6": column("boolean", "Ever FSM in the six years to spring 2022", missing=_NPD, source="derived"),
        "npd_eal": column("boolean", "English as an additional language", missing=_NPD, source="derived"),
        "npd_ethnicity": column(str, "Ethnicity major group", codes=ETHNICITY, missing=_NPD_QI, source="derived"),
        "npd_idaci_decile": column("Int64", "IDACI decile of home postcode, spring 2022 (1 = most deprived)", checks=[pa.Check.in_range(1, 10)], missing=_NPD + "; or empty in every row when k-anonymity needed quintiles", source="derived"),
        "npd_idaci_quintile": column("Int64", "IDACI quintile of home postcode, spring 2022 (1 = most deprived; deciles 1-2 = 1)", checks=[pa.Check.in_range(1, 5)], missing=_NPD_QI, source="derived"),
        "npd_la_code": column(str, "Local authority of the school, spring 2022", missing=_NPD + "; or empty in every row when k-anonymity needed regions", source="derived"),
        "npd_region": column(str, "Region of the school, spring 2022", missing=_NPD_QI, source="derived"),
        "npd_school_phase": column(str, "Kind of school, spring 2022", codes={"mainstream": "mainstream", "special": "special school", "alternative_provision": "alternative provision"}, missing=_NPD_QI, source="derived"),
        "npd_school_type": column(str, "Academy or maintained", codes={"academy": "academy", "maintained": "maintained"}, missing=_NPD, source="derived"),
        "npd_school_cluster": column(str, "Pseudonymous school (keyed hash of the URN), for cluster-robust standard errors", missing=_NPD + "; or the school has fewer rows in the extract than deidentify.school_cluster_min_size (treat each such row as its own cluster)", source="derived"),
        "npd_sen_provision_y11": column(str, "SEN provision in Year 11 (spring 2025)", codes=SEN_PROVISION, missing=_NPD, source="derived"),
        "npd_eyfsp_total_points": column("Int64", "EYFSP total points (Reception, 2013/14)", missing=_NPD, source="derived"),
        "npd_eyfsp_good_level": column("boolean", "EYFSP good level of development", missing=_NPD, source="derived"),
        "npd_phonics_mark": column("Int64", "Phonics check mark (Year 1, 2014/15)", missing=_NPD, source="derived"),
        "npd_phonics_met": column("boolean", "Phonics expected standard met", missing=_NPD, source="derived"),
        **{f"npd_ks1_{s}": column(str, f"KS1 {s} (Year 2, 2015/16)", codes={k: k for k in sorted(_KS1)}, missing=_NPD, source="derived") for s in ("reading", "writing", "maths")},
        "npd_on_roll_y10_11": column("boolean", "On roll in state schools in both Year 10 and Year 11", missing=_NPD, source="derived"),
        "npd_sessions_possible_y10_11": column("Int64", "Sessions possible over Years 10-11", missing=_NPD + "; empty if not on roll both years", source="derived"),
        "npd_sessions_missed_y10_11": column("Int64", "Sessions missed over Years 10-11", missing=_NPD + "; empty if not on roll both years", source="derived"),
        "npd_absence_rate_y10_11": column(float, "Sessions missed / possible over Years 10-11", missing=_NPD + "; empty if not on roll both years", source="derived"),
        "npd_persistent_absence_y10_11": column("boolean", "Persistent absence: missed 10% or more over Years 10-11", missing=_NPD + "; empty if not on roll both years", source="derived"),
        "npd_suspensions_y10_11": column("Int64", "Suspensions over Years 10-11", missing=_NPD + "; empty if not on roll both years", source="derived"),
        "npd_permanent_exclusion_y10_11": column("boolean", "Permanently excluded in Year 10 or 11", missing=_NPD + "; empty if not on roll both years", source="derived"),
        "npd_attainment8": column(float, "KS4 Attainment 8 (2024/25)", checks=[pa.Check.in_range(0, 90)], missing=_NPD + "; empty if no KS4 result", source="derived"),
        "qi_suppressed": column(str, "Quasi-identifiers blanked in this row for k-anonymity, comma-separated (birth, sex, ethnicity, geography, idaci, school_phase, provision, need)", missing="empty: none blanked", source="derived"),
    },
    description="The de-identified linked file researchers receive: survey answers, consent and linkage flags, and coarsened NPD attributes.",
    holder="researchers",
    path="data/research/extract.parquet",
    key=("research_id",),
)


assert not DIRECT_IDENTIFIERS & set(EXTRACT.columns), "a direct identifier is in the research contract"

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
"""

from __future__ import annotations

import pandera.pandas as pa

from sendlink.schema._base import column, table
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
    "matched": "linked to an NPD record", "clerical_review": "awaiting clerical review (not linked)",
    "unmatched": "no NPD record found", "not_sent": "not sent for linkage (no permission, or restricted)",
}
_KS1 = {"GDS", "EXS", "WTS", "PKF", "BLW", "3", "2A", "2B", "2C", "1", "W"}


def _survey_columns() -> dict[str, pa.Column]:
    out: dict[str, pa.Column] = {}
    for name in ("stratum", "strand", "design_weight", "w1_weight", "w2_weight", "frame_sen_provision", "frame_primary_need",
                 "frame_fsm", "frame_eal", "frame_ethnicity", "frame_idaci_decile", "frame_sex", "frame_region"):
        out[name] = SAMPLE.columns[name]
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

EXTRACT = table(
    "research_extract",
    {
        "research_id": column(str, "Project-specific pseudonym (keyed hash); the key never leaves DfE and the survey organisation", source="derived", unique=True),
        "consent_parent_answers": column(str, "Permission to link the parent's answers, as of the consent date", codes=CONSENT_STATES, source="derived"),
        "consent_child_answers": column(str, "Permission to link the child's answers, as of the consent date", codes=CONSENT_STATES, source="derived"),
        "link_status": column(str, "Outcome of linkage", codes=LINK_STATES, source="derived"),
        "match_probability": column(float, "Posterior probability of the link (rounded to 3 places)", missing="empty: not linked", checks=[pa.Check.in_range(0, 1)], source="derived"),
        "npd_linked": column(bool, "NPD attributes are attached to this row", source="derived"),
        "parent_answers_withheld": column(bool, "Parent answers removed from this row: linked, but no permission for them", source="derived"),
        "child_answers_withheld": column(bool, "Young person's answers removed from this row: linked, but no permission for them", source="derived"),
        **_survey_columns(),
        "npd_sex": column(str, "Sex (NPD)", codes={"F": "female", "M": "male"}, missing=_NPD, source="derived"),
        "npd_birth_year_month": column(str, "Year and month of birth (YYYY-MM), or a coarser period if k-anonymity required it", missing=_NPD, source="derived"),
        "npd_on_roll_frame_year": column("boolean", "On roll in a state school at the frame census (spring 2022)", missing=_NPD, source="derived"),
        "npd_sen_provision": column(str, "SEN provision, spring 2022", codes=SEN_PROVISION, missing=_NPD, source="derived"),
        "npd_primary_need": column(str, "Primary need, spring 2022", codes={k: v for k, v in SEN_TYPES.items() if k}, missing=_NPD, source="derived"),
        "npd_fsm": column("boolean", "FSM eligible, spring 2022", missing=_NPD, source="derived"),
        "npd_ever_fsm_6": column("boolean", "Ever FSM in the six years to spring 2022", missing=_NPD, source="derived"),
        "npd_eal": column("boolean", "English as an additional language", missing=_NPD, source="derived"),
        "npd_ethnicity": column(str, "Ethnicity major group", codes=ETHNICITY, missing=_NPD, source="derived"),
        "npd_idaci_decile": column("Int64", "IDACI decile of home postcode, spring 2022 (1 = most deprived)", checks=[pa.Check.in_range(1, 10)], missing=_NPD, source="derived"),
        "npd_la_code": column(str, "Local authority of the school, spring 2022 (may be suppressed for k-anonymity)", missing=_NPD, source="derived"),
        "npd_region": column(str, "Region of the school, spring 2022", missing=_NPD, source="derived"),
        "npd_school_phase": column(str, "Kind of school, spring 2022", codes={"mainstream": "mainstream", "special": "special school", "alternative_provision": "alternative provision"}, missing=_NPD, source="derived"),
        "npd_school_type": column(str, "Academy or maintained", codes={"academy": "academy", "maintained": "maintained"}, missing=_NPD, source="derived"),
        "npd_school_cluster": column(str, "Pseudonymous school (keyed hash of the URN), for cluster-robust standard errors", missing=_NPD, source="derived"),
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
    },
    description="The de-identified linked file researchers receive: survey answers, consent and linkage flags, and coarsened NPD attributes.",
    holder="researchers",
    path="data/research/extract.parquet",
    key=("research_id",),
)

TABLES = {"research/extract.parquet": EXTRACT}

assert not DIRECT_IDENTIFIERS & set(EXTRACT.columns), "a direct identifier is in the research contract"

"""Contracts for the survey organisation's holdings (``data/synthetic/survey/``).

The survey design (strata, strands, weights) is described in
:mod:`sendlink.synth.survey`; answers follow the SEND Futures questionnaire
topics (support received and unmet need, satisfaction, school experience,
wellbeing, bullying, expectations). Answer items may be missing (item
non-response: "don't know" or refused).
"""

from __future__ import annotations

import pandera.pandas as pa

from sendlink.schema.base import ISO_DATE, column, table
from sendlink.schema.npd import ETHNICITY, SEN_TYPES
from sendlink.schema.spine import IDENTIFIER_COLUMNS, SURVEY_SPINE

_SID = column(str, "Survey case identifier", source="identifier", unique=True)
_DATE = column(str, "Interview date, ISO YYYY-MM-DD", checks=[pa.Check.str_matches(ISO_DATE)], source="design")
_MODE = column(str, "Mode of interview", codes={"web": "self-completed online", "face_to_face": "with an interviewer"}, source="design")
_LIKERT = {"1": "very dissatisfied / very poor", "2": "dissatisfied / poor", "3": "neither", "4": "satisfied / good", "5": "very satisfied / very good"}


def _likert(text: str) -> pa.Column:
    return column("Int64", text + " (1 = very poor / dissatisfied ... 5 = very good / satisfied)", checks=[pa.Check.in_range(1, 5)], missing="empty: don't know or refused", source="assumed")


SAMPLE = table(
    "sample",
    {
        "survey_id": _SID,
        "stratum": column(str, "Sampling stratum: provision x seldom-heard (FSM or minority ethnic), or independent special school", source="design"),
        "strand": column(str, "Fieldwork strand", codes={"web": "web strand (published response ~20%)", "face_to_face": "face-to-face strand for seldom-heard groups (published response ~46%)"}, source="published"),
        "selection_probability": column(float, "Probability of selection into the issued sample", checks=[pa.Check.in_range(0, 1)], source="design"),
        "design_weight": column(float, "1 / selection probability", checks=[pa.Check.gt(0)], source="derived"),
        "frame_sen_provision": column(str, "SEN provision in the sampling frame (spring 2022)", codes={"E": "EHC plan", "K": "SEN support"}, source="design"),
        "frame_primary_need": column(str, "Primary need in the frame", codes=SEN_TYPES, source="design"),
        "frame_fsm": column(bool, "FSM eligible in the frame", source="design"),
        "frame_eal": column(bool, "English as an additional language in the frame", source="design"),
        "frame_ethnicity": column(str, "Ethnicity major group in the frame", codes=ETHNICITY, source="design"),
        "frame_idaci_decile": column("Int64", "IDACI decile in the frame (1 = most deprived)", missing="empty: not in the NPD frame", checks=[pa.Check.in_range(1, 10)], source="design"),
        "frame_sex": column(str, "Sex in the frame", codes={"F": "female", "M": "male"}, source="design"),
        "frame_region": column(str, "Region", source="design"),
        "w1_responded": column(bool, "Parent responded at wave 1", source="published", reference="about 3,500 parents at wave 1"),
        "w1_breakoff_before_consent": column(bool, "Parent broke off before the consent questions (no answer = no permission)", source="assumed"),
        "w1_young_person_responded": column(bool, "Young person responded at wave 1", source="published", reference="about 3,000 young people at wave 1"),
        "w2_responded": column(bool, "Parent responded at wave 2", source="published", reference="wave 2: data from or about 2,457 young people"),
        "w2_young_person_responded": column(bool, "Young person responded at wave 2", source="assumed"),
        "w3_responded": column(bool, "Household responded at wave 3 (2025)", source="assumed"),
        "w1_weight": column(float, "Wave 1 weight: design weight adjusted for non-response within weighting classes", missing="empty: did not respond", source="derived"),
        "w2_weight": column(float, "Longitudinal weight for the young person's wave 2 answers", missing="empty: no wave 2 young person answers", source="derived"),
    },
    description="The issued sample with design and response information (one row per sampled child).",
    holder="survey_organisation", path="data/synthetic/survey/sample.parquet", key=("survey_id",),
)

#: How a parent's contact detail can be missing: in the survey organisation's holdings, erased at the
#: parent's request while the young person's part of the case stays (consent rule ``own-requests``).
_PARENT_ERASED = "empty: not given, or (in the holdings) erased at the parent's request while the young person's part stays"

CONTACTS = table(
    "contacts",
    {
        **{name: col for name, col in SURVEY_SPINE.columns.items() if name in ("survey_id", *IDENTIFIER_COLUMNS)},
        "parent_forename": column(str, "Parent's forename", source="identifier", missing=_PARENT_ERASED),
        "parent_surname": column(str, "Parent's surname", source="identifier", missing=_PARENT_ERASED),
        "address_line": column(str, "House number and street", source="identifier", missing=_PARENT_ERASED),
        "email": column(str, "Parent's email (example.org: reserved, never deliverable)", source="identifier", missing=_PARENT_ERASED),
        "phone": column(str, "Parent's phone (07700 900xxx: Ofcom's range reserved for fiction)", source="identifier", missing=_PARENT_ERASED),
    },
    description=(
        "Contact identifiers of wave-1 responding households. The child's identifiers are as the parent reported "
        "them, so they differ from the NPD in the ways real reports do (see truth/identifier_differences)."
    ),
    holder="survey_organisation", path="data/synthetic/survey/contacts.parquet", key=("survey_id",),
)

_SUPPORT = {
    "support_teaching_assistant": "a teaching assistant",
    "support_speech_language_therapy": "speech and language therapy",
    "support_educational_psychologist": "an educational psychologist",
    "support_counselling": "counselling or mental health support",
    "support_occupational_therapy": "occupational therapy",
    "support_specialist_teacher": "a specialist teacher",
}

PARENT_W1 = table(
    "parent_w1",
    {
        "survey_id": _SID, "interview_date": _DATE, "mode": _MODE,
        "unmet_need": column("boolean", "Parent reports the child needs support they are not getting", missing="empty: don't know or refused", source="assumed"),
        "satisfaction_support": _likert("Satisfaction with the support the child receives"),
        "school_experience": _likert("Parent's rating of the child's experience at school"),
        **{name: column(bool, f"Child receives {text}", source="assumed") for name, text in _SUPPORT.items()},
        "n_support_types": column(int, "Number of the listed kinds of support received", checks=[pa.Check.in_range(0, len(_SUPPORT))], source="derived"),
        "expectation": column(str, "What the parent expects the child to do after 16", codes={"university": "go to university", "college_or_training": "college or training", "apprenticeship_or_job": "apprenticeship or a job", "not_sure": "not sure"}, source="assumed"),
    },
    description="Parent questionnaire, wave 1 (May-Sept 2022, child in Year 8).",
    holder="survey_organisation", path="data/synthetic/survey/parent_w1.parquet", key=("survey_id",),
)

YOUNG_PERSON_W1 = table(
    "young_person_w1",
    {
        "survey_id": _SID, "interview_date": _DATE,
        "life_satisfaction": column("Int64", "How happy are you with your life as a whole? 0-10", checks=[pa.Check.in_range(0, 10)], missing="empty: refused", source="published", reference="72% of young people happy with life (NatCen findings)"),
        "happy_with_life": column("boolean", "Life satisfaction 6 or more (the cut is an assumption)", missing="empty: refused", source="derived"),
        "bullied_last_year": column("boolean", "Bullied in the last year", missing="empty: refused", source="published", reference="63% (NatCen findings)"),
        "likes_school": _likert("How much the young person likes school"),
    },
    description="Young person questionnaire, wave 1.",
    holder="survey_organisation", path="data/synthetic/survey/young_person_w1.parquet", key=("survey_id",),
)

PARENT_W2 = table(
    "parent_w2",
    {
        "survey_id": _SID, "interview_date": _DATE, "mode": _MODE,
        "unmet_need": column("boolean", "Parent reports unmet need (wave 2)", missing="empty: don't know or refused", source="assumed"),
        "satisfaction_support": _likert("Satisfaction with support (wave 2)"),
    },
    description="Parent questionnaire, wave 2 (Apr-Sept 2023, Year 9).",
    holder="survey_organisation", path="data/synthetic/survey/parent_w2.parquet", key=("survey_id",),
)

YOUNG_PERSON_W2 = table(
    "young_person_w2",
    {
        "survey_id": _SID, "interview_date": _DATE,
        "life_satisfaction": column("Int64", "Life satisfaction 0-10 at wave 2 (an outcome with planted effects)", checks=[pa.Check.in_range(0, 10)], missing="empty: refused", source="derived"),
        "happy_with_life": column("boolean", "Life satisfaction 6 or more", missing="empty: refused", source="derived"),
        "bullied_last_year": column("boolean", "Bullied in the last year (wave 2)", missing="empty: refused", source="assumed"),
    },
    description="Young person questionnaire, wave 2.",
    holder="survey_organisation", path="data/synthetic/survey/young_person_w2.parquet", key=("survey_id",),
)

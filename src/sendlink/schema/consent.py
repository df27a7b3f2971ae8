"""Contracts for the synthetic consent events and rights requests.

These are the *generated* tables the survey organisation's fieldwork
produces (``data/synthetic/survey/``). The live consent register
(``sendlink.consent``) imports them idempotently and appends rights
requests made through the command line.

Assumptions stated once: a consent question is asked at the end of each
parent questionnaire (waves 1 and 2) for two scopes, the parent's own
answers and the child's answers; from the contact after the child turns 16,
the young person is asked directly about the child scope. A break-off before
the question is recorded as ``no_answer`` and means no permission.
"""

from __future__ import annotations

import pandera.pandas as pa

from sendlink.schema._base import ISO_DATE, column, table

PERSONS = {
    "parent": "the parent or carer who answers the parent questionnaire",
    "young_person": "the child themself (asked directly from age 16)",
}

SCOPES = {
    "parent_answers": "link the parent's survey answers to the child's NPD record",
    "child_answers": "link the child's (young person's) survey answers to their NPD record",
}

DECISIONS = {
    "granted": "permission given",
    "refused": "permission refused",
    "withdrawn": "permission given earlier is withdrawn from this date",
    "no_answer": "the question was reached but not answered, or the questionnaire broke off before it; means no permission",
}

CONTACTS = {
    "wave1": "wave 1 questionnaire (May-Sept 2022, Year 8)",
    "wave2": "wave 2 questionnaire (Apr-Sept 2023, Year 9)",
    "wave3": "wave 3 contact (2025): young people aged 16 or over asked directly",
    "ad_hoc": "a letter, email or phone call outside a wave",
}

SOURCES = {
    "web": "self-completed online questionnaire",
    "face_to_face": "interviewer-administered questionnaire",
    "phone": "telephone call to the study team",
    "email": "email to the study team",
    "letter": "letter to the study team",
}

REQUESTS = {
    "access": "a copy of everything held about the person (UK GDPR Art. 15)",
    "rectification": "identifiers corrected (Art. 16); the case is re-linked on the next run",
    "erasure": "all the person's data removed from every output on the next run (Art. 17)",
    "restriction": "data kept but not processed (not linked, not analysed) until lifted (Art. 18)",
    "lift_restriction": "a restriction ends; processing may resume",
    "objection": "objection to processing for research (Art. 21): excluded from analysis",
}

CONSENT_EVENTS = table(
    "consent_events",
    {
        "event_id": column(str, "Identifier of the event in the fieldwork system", source="design", unique=True),
        "survey_id": column(str, "Survey case the event belongs to", source="identifier"),
        "person": column(str, "Who made the decision", codes=PERSONS, source="design"),
        "scope": column(str, "What the permission covers", codes=SCOPES, source="design"),
        "decision": column(str, "The decision recorded", codes=DECISIONS, source="assumed"),
        "event_date": column(str, "Date of the decision, ISO YYYY-MM-DD", checks=[pa.Check.str_matches(ISO_DATE)], source="design"),
        "contact": column(str, "The contact at which it was recorded", codes=CONTACTS, source="design"),
        "source": column(str, "How it reached the study", codes=SOURCES, source="design"),
    },
    description="Consent decisions recorded by fieldwork, one row per decision (a break-off is recorded as no_answer).",
    holder="survey_organisation",
    path="data/synthetic/survey/consent_events.csv",
    key=("event_id",),
)

RIGHTS_REQUESTS = table(
    "rights_requests",
    {
        "request_id": column(str, "Identifier of the request", source="design", unique=True),
        "survey_id": column(str, "Survey case the request is about", source="identifier"),
        "person": column(str, "Who made the request", codes=PERSONS, source="design"),
        "request": column(str, "The right exercised", codes=REQUESTS, source="assumed"),
        "request_date": column(str, "Date received, ISO YYYY-MM-DD", checks=[pa.Check.str_matches(ISO_DATE)], source="design"),
        "details": column(
            str,
            "For rectification: the corrected identifiers as JSON, e.g. {\"surname\": \"Khan\"}",
            missing="empty: not applicable",
            source="design",
        ),
    },
    description="Data-subject rights requests received by the survey organisation during fieldwork.",
    holder="survey_organisation",
    path="data/synthetic/survey/rights_requests.csv",
    key=("request_id",),
)

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

from sendlink.schema.base import ISO_DATE, column, table

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


# --- Tables the consent stage writes -------------------------------------------

#: Values of the ``consent_*`` columns of the status table: the decision in force
#: for a scope, from the person who governs it.
CONSENT_STATES = {
    "granted": "permission given and in force",
    "refused": "permission refused",
    "withdrawn": "permission given earlier, then withdrawn",
    "no_answer": "asked, but no decision recorded (a break-off): no permission",
    "not_asked": "never asked: no permission",
}

GOVERNORS = {
    "parent": "the parent decides (child under 16, or 16+ and not yet asked directly)",
    "young_person": "the young person decides (16 or over and asked directly)",
}

EVENT_KINDS = {
    "consent": "a decision about linkage for one scope",
    **REQUESTS,
}

REGISTER_ORIGINS = {
    "fieldwork_consent": f"imported from {CONSENT_EVENTS.metadata['path']}",
    "fieldwork_request": f"imported from {RIGHTS_REQUESTS.metadata['path']}",
    "cli": "recorded with `sendlink rights ...`",
}

#: How a request reached the study; the register adds ``not_recorded`` for
#: imported rights requests, whose table has no source column.
REGISTER_SOURCES = {**SOURCES, "not_recorded": "the fieldwork system did not record how the request arrived"}

_BOOL = "boolean"

CONSENT_STATUS = table(
    "consent_status",
    {
        "survey_id": column(str, "Survey case", source="identifier", unique=True),
        "consent_parent_answers": column(str, "Decision in force for linking the parent's answers (the parent decides)", codes=CONSENT_STATES),
        "consent_child_answers": column(str, "Decision in force for linking the child's answers, from whoever governs that scope", codes=CONSENT_STATES),
        "child_scope_governed_by": column(str, "Who decides about the child's answers on the as-of date", codes=GOVERNORS),
        "aged_16_or_over": column(
            _BOOL,
            "Whether the child is 16 or over on the as-of date",
            missing="empty: cannot tell (date of birth unknown and the as-of date inside the cohort's 16th birthdays)",
        ),
        "restricted": column(bool, "Processing restricted (kept, not linked, not analysed)"),
        "objected": column(bool, "Objected to processing for research (excluded from linkage and analysis)"),
        "erased": column(bool, "Erased; always false in written files, which never list an erased case"),
        "may_link_parent_answers": column(bool, "The parent's answers may be linked to the NPD record"),
        "may_link_child_answers": column(bool, "The child's answers may be linked to the NPD record"),
        "send_for_linkage": column(bool, "Identifiers are sent to DfE for linkage (either scope may be linked)"),
        "may_analyse": column(bool, "The survey answers may be analysed (linked or not)"),
        "rectified_on": column(str, "Date of the latest rectification of identifiers (re-linked on the next run)", missing="empty: never rectified"),
        "later_request_applied": column(bool, "A withdrawal, refusal, restriction, objection or erasure recorded after the as-of date was honoured"),
        "as_of": column(str, "The date consent was applied as of, ISO YYYY-MM-DD", checks=[pa.Check.str_matches(ISO_DATE)]),
        "reason": column(str, "The decision in plain words (see `sendlink consent explain ID`)"),
    },
    description=(
        "Per survey case of the issued sample (respondents and non-respondents; erased cases are never listed): "
        "who may be linked for which scope, and whether the answers may be analysed, as the pipeline applies "
        "consent as of a date. `sendlink consent explain ID` gives the events and rules behind each row."
    ),
    holder="survey_organisation",
    path="data/survey_org/consent_status.parquet",
    key=("survey_id",),
)

REGISTER_EXPORT = table(
    "consent_register",
    {
        "seq": column("int64", "Append order in the register (ties on one date are replayed in this order)", unique=True),
        "event_ref": column(str, "Opaque reference of the event (first 12 characters of its register key)"),
        "survey_id": column(str, "Survey case", source="identifier", missing="empty: the case was erased"),
        "person": column(str, "Who made the decision or request", codes=PERSONS),
        "kind": column(str, "What the event is", codes=EVENT_KINDS),
        "scope": column(str, "For a consent decision, what it covers", codes=SCOPES, missing="empty: a rights request"),
        "decision": column(str, "For a consent decision, the decision", codes=DECISIONS, missing="empty: a rights request"),
        "effective_date": column(str, "Date the event takes effect, ISO YYYY-MM-DD", checks=[pa.Check.str_matches(ISO_DATE)]),
        "contact": column(str, "The contact at which it was recorded", codes=CONTACTS),
        "source": column(str, "How it reached the study", codes=REGISTER_SOURCES),
        "origin": column(str, "How it entered the register", codes=REGISTER_ORIGINS),
        "details": column(str, "Non-personal details as JSON (for a rectification, the names of the fields corrected)"),
        "recorded_at": column(
            str,
            "When it was recorded: the event date for imported fieldwork events (so a rebuilt register is identical), "
            "the UTC time for requests recorded through the CLI. Never used to derive state.",
        ),
    },
    description="The consent register's event log, one row per event in append order, for the notebooks.",
    holder="survey_organisation",
    path="data/survey_org/consent_register.parquet",
    key=("seq",),
)

ERASURE_LOG = table(
    "erasure_log",
    {
        "erasure_ref": column(str, "Opaque reference of the erasure (first 12 characters of the erasure event's register key); holds no personal data"),
        "requested_on": column(str, "Date the erasure was requested, ISO YYYY-MM-DD", checks=[pa.Check.str_matches(ISO_DATE)]),
        "requested_by": column(str, "Who asked", codes=PERSONS),
        "file": column(str, "File (relative to the project root) the person's rows were removed from"),
        "rows_removed": column("int64", "Rows removed from that file in this run (for the register: when the erasure was recorded)", checks=[pa.Check.ge(0)]),
    },
    description="That each erasure happened and what it removed, without any personal data.",
    holder="survey_organisation",
    path="data/register/erasure_log.csv",
    key=("erasure_ref", "file"),
)

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


def _real_date(values):
    """Each value is a date that exists, written ``YYYY-MM-DD`` (``2023-02-30`` fails)."""
    import datetime as dt

    def ok(text: object) -> bool:
        try:
            return isinstance(text, str) and len(text) == 10 and dt.date.fromisoformat(text).isoformat() == text
        except ValueError:
            return False

    return values.map(ok)


#: A date column's check: the ``YYYY-MM-DD`` shape *and* a day that exists.
REAL_DATE = [pa.Check.str_matches(ISO_DATE), pa.Check(_real_date, element_wise=False, name="real_date", error="a date that exists, YYYY-MM-DD")]

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
    "erasure": "the person's data removed from every output on the next run (Art. 17); a parent's covers the child's data too while the parent decides for the child",
    "restriction": "data kept but not processed (not linked, not analysed) until lifted (Art. 18)",
    "lift_restriction": "a restriction ends; processing may resume",
    "objection": "objection to processing for research (Art. 21): the person's answers excluded from analysis and linkage",
}

#: Levels of a withdrawal (as the large cohort studies offer them).
WITHDRAWAL_LEVELS = {
    "no_contact": "no further contact: the family is not approached again; linkage and use continue as permitted",
    "no_linkage": "no further linkage: not linked from this date; data linked at a run before it may still be used",
    "no_use": "no further use (the default): not linked from this date, and linked NPD data leave the next research extract, even if the withdrawal is recorded after the consent date",
}

#: How the requester's identity was checked before a rights request was acted on.
IDENTITY_CHECKS = {
    "contact_details": "the request came from, or was confirmed through, contact details the study already holds",
    "security_questions": "the requester answered questions only the household could answer (e.g. the child's school and date of birth)",
    "in_person": "checked in person by an interviewer",
    "documents": "identity documents seen",
    "not_recorded": "how identity was checked was not recorded",
}

#: Outcomes of a rights request (UK GDPR Art. 12(3): one month from receipt, extendable by two).
OUTCOMES = {
    "granted": "the request is acted on from the decision's date",
    "refused": "the request is refused for a reason of REFUSAL_REASONS; it changes nothing",
    "extended": "the time to respond is extended by two months (a complex request); the request stays open",
}

#: The reasons a rights request may be refused (a fixed list; the law for each).
REFUSAL_REASONS = {
    "seriously_impairs_research": "acting on it would render impossible or seriously impair the research (UK GDPR Art. 17(3)(d) for erasure; DPA 2018 Sch. 2 para. 27 for access, rectification, restriction and objection)",
    "public_interest_task": "an objection to research carried out for a task in the public interest (UK GDPR Art. 21(6))",
    "identity_not_confirmed": "the requester's identity could not be confirmed (UK GDPR Art. 12(6))",
    "manifestly_unfounded": "the request is manifestly unfounded (UK GDPR Art. 12(5))",
    "manifestly_excessive": "the request is manifestly excessive, e.g. repeated (UK GDPR Art. 12(5))",
}

CONSENT_EVENTS = table(
    "consent_events",
    {
        "event_id": column(str, "Identifier of the event in the fieldwork system", source="design", unique=True),
        "survey_id": column(str, "Survey case the event belongs to", source="identifier"),
        "person": column(str, "Who made the decision", codes=PERSONS, source="design"),
        "scope": column(str, "What the permission covers", codes=SCOPES, source="design"),
        "decision": column(str, "The decision recorded", codes=DECISIONS, source="assumed"),
        "event_date": column(str, "Date of the decision, ISO YYYY-MM-DD (a day that exists)", checks=REAL_DATE, source="design"),
        "contact": column(str, "The contact at which it was recorded", codes=CONTACTS, source="design"),
        "source": column(str, "How it reached the study", codes=SOURCES, source="design"),
        "withdrawal_level": column(
            str,
            "For a withdrawal, what it stops (optional column)",
            codes=WITHDRAWAL_LEVELS,
            missing="empty: not a withdrawal, or a withdrawal at the default level no_use",
            source="design",
            required=False,
        ),
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
        "request_date": column(str, "Date received, ISO YYYY-MM-DD (a day that exists); due one month later", checks=REAL_DATE, source="design"),
        "details": column(
            str,
            "For rectification: the corrected identifiers as JSON, e.g. {\"surname\": \"Khan\"}",
            missing="empty: not applicable",
            source="design",
        ),
        "identity_check": column(
            str, "How the requester's identity was checked (optional column)", codes=IDENTITY_CHECKS,
            missing="empty: not recorded", source="design", required=False,
        ),
        "outcome": column(
            str,
            "The decision on the request (optional column)",
            codes=OUTCOMES,
            missing="empty: no decision recorded; under consent.request_decisions = grant_on_receipt the request is granted on the date received, under recorded it is open",
            source="design",
            required=False,
        ),
        "outcome_date": column(
            str, "Date of the decision, ISO YYYY-MM-DD, on or after request_date (optional column)", checks=REAL_DATE,
            missing="empty: no decision recorded (required when outcome is given)", source="design", required=False,
        ),
        "refusal_reason": column(
            str, "Why a refused request was refused (optional column; required when outcome is refused)", codes=REFUSAL_REASONS,
            missing="empty: not refused", source="design", required=False,
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
    "decision": "the study's decision on a rights request (details: the request, the outcome, a refusal reason, the due date)",
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

#: Who made the requests in force, for the ``objected_by`` and ``erased_part`` columns.
PEOPLE_IN_FORCE = {
    "parent": "the parent",
    "young_person": "the young person",
    "both": "the parent and the young person",
}

CONSENT_STATUS = table(
    "consent_status",
    {
        "survey_id": column(str, "Survey case", source="identifier", unique=True),
        "consent_parent_answers": column(str, "Decision in force for linking the parent's answers (the parent decides)", codes=CONSENT_STATES),
        "consent_child_answers": column(
            str,
            "Decision in force for linking the child's answers: from whoever governs that scope, or the young person's refusal, which counts at any age",
            codes=CONSENT_STATES,
        ),
        "child_scope_governed_by": column(str, "Who decides about the child's answers on the as-of date", codes=GOVERNORS),
        "aged_16_or_over": column(
            _BOOL,
            "Whether the child is 16 or over on the as-of date",
            missing="empty: cannot tell (date of birth unknown and the as-of date inside the cohort's 16th birthdays)",
        ),
        "restricted": column(bool, "Processing restricted (kept, not linked, not analysed)"),
        "objected": column(bool, "Someone objected to processing for research (see objected_by for whose answers it covers)"),
        "erased": column(bool, "The whole case is erased; always false in written files, which never list an erased case"),
        "may_link_parent_answers": column(bool, "The parent's answers may be linked to the NPD record"),
        "may_link_child_answers": column(bool, "The child's answers may be linked to the NPD record"),
        "send_for_linkage": column(bool, "Identifiers are sent to DfE for linkage (either scope may be linked)"),
        "may_analyse": column(bool, "Some of the case's survey answers may be analysed, linked or not (either person's)"),
        "rectified_on": column(str, "Date of the latest rectification of identifiers (re-linked on the next run)", missing="empty: never rectified"),
        "later_request_applied": column(bool, "A withdrawal, refusal, restriction, objection or erasure recorded after the as-of date was honoured"),
        "as_of": column(str, "The date consent was applied as of, ISO YYYY-MM-DD", checks=[pa.Check.str_matches(ISO_DATE)]),
        "reason": column(str, "The decision in plain words (see `sendlink consent explain ID`)"),
        "may_analyse_parent_answers": column(bool, "The parent's answers may be analysed (linked or not): no restriction, and no objection or erasure by the parent"),
        "may_analyse_child_answers": column(
            bool,
            "The young person's answers may be analysed (linked or not): no restriction, no objection or erasure by the young person, nor by the parent while the parent decides for the child",
        ),
        "objected_by": column(str, "Whose objection is in force", codes=PEOPLE_IN_FORCE, missing="empty: no objection"),
        "erased_part": column(
            str,
            "Whose part of the case was erased while the other person's stays (their answers removed, their identifiers blanked)",
            codes={k: v for k, v in PEOPLE_IN_FORCE.items() if k != "both"},
            missing="empty: nothing erased",
        ),
        "young_person_refused_on": column(
            str,
            "Date of the young person's refusal or withdrawal of linkage in force, at any age; what it stops is consent.young_person_refusal_covers",
            checks=[pa.Check.str_matches(ISO_DATE)],
            missing="empty: none in force",
        ),
        "no_further_contact": column(bool, "Someone asked not to be contacted again (a withdrawal at level no_contact); linkage and use are unchanged"),
    },
    description=(
        "Per survey case of the issued sample (respondents and non-respondents; erased cases are never listed): "
        "who may be linked for which scope, and whose answers may be analysed, as the pipeline applies "
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
        "details": column(
            str,
            "Non-personal details as JSON: a request's identity_check and due_date; a rectification's fields; a withdrawal's level; "
            "a decision's request (its register key), outcome, reason and due_date; erases (case, parent or young_person) on the event that made an erasure take effect",
        ),
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
        "erased_part": column(
            str,
            "What was erased: the whole case, or one person's part while the other person's stays",
            codes={"case": "the whole case", "parent": "the parent's answers and contact details", "young_person": "the young person's answers and identifiers"},
        ),
        "file": column(str, "File (relative to the project root) the person's rows were removed from"),
        "rows_removed": column(
            "int64",
            "Rows removed from that file in this run (for a part erasure of the contacts file: rows whose fields of that person were blanked; "
            "for the register: personal rows deleted when the erasure took effect)",
            checks=[pa.Check.ge(0)],
        ),
    },
    description="That each erasure happened and what it removed, without any personal data.",
    holder="survey_organisation",
    path="data/register/erasure_log.csv",
    key=("erasure_ref", "file"),
)

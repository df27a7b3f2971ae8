"""The consent rules: pure functions from events to each case's state.

Nothing here reads a file, the clock or the register: give it the events
(the register's log, see :data:`EVENT_COLUMNS`), the cases with the child's
date of birth, and the date to replay to, and it returns the same state every
time. Each rule below has an identifier (the keys of :data:`RULES`) that
:func:`explain` cites; ``tests/unit/consent/test_consent_rules.py`` works every rule
out by hand on a small scenario.

Replay
------
Events dated on or before ``as_of`` are replayed in the order
(``effective_date``, origin, ``seq``): on one date, fieldwork consent events
come before imported rights requests, which come before requests recorded
through the command line, and ``seq`` (the register's append order) breaks
the remaining ties. The wall clock is never consulted.

The rules, and how the privacy notice was read
----------------------------------------------
``no-answer``
    The consent question not answered (a break-off) gives no permission.
    It is not a decision: it takes away no permission given earlier (only a
    refusal or a withdrawal does), and a scope never decided has none.
``latest-decision``
    The deciding person's latest valid decision counts: a refusal or a
    withdrawal removes permission; a later permission (at a later wave)
    restores it.
``parent-under-16``
    While the child is under 16 the parent decides both scopes: linking the
    parent's own answers and linking the child's answers.
``parent-after-16``
    From the child's 16th birthday the parent can no longer *give*
    permission for the child's answers. The parent's earlier decision
    stands until the young person has been asked; a parent's refusal or
    withdrawal in that period is still honoured (it only stops processing).
``young-person-governs``
    Once the young person, aged 16 or over, has been asked (any recorded
    decision, a non-answer included), their own decisions alone govern the
    child's answers; if they did not answer there is no permission, whatever
    the parent decided.
``young-person-under-16``
    A young person's consent decision dated before their 16th birthday is
    not valid and is ignored: the parent decides for a child under 16. So is
    their lifting a restriction. A request that only stops processing
    (restriction, objection, erasure) is honoured whatever their age, as
    are a rectification and an access request: acting on them cannot harm
    the child, and the study has received them. (The command line asks
    for a parent's request for a child under 16; this rule is about
    requests already recorded.)
``parent-scope``
    Only the parent decides about linking the parent's own answers.
``withdrawal``
    A withdrawal stops processing from its date: the case is no longer sent
    for linkage and, because the research extract is rebuilt from the
    current state at every run, its linked NPD data are gone from the next
    extract even if it was linked before. Its survey answers are still used,
    unlinked, exactly as after a refusal (the privacy notice: "if
    permission is refused the survey answers are still used").
``restriction``
    A restriction keeps the data but stops all processing: not linked, not
    analysed, until the person who asked lifts it. Several people may each
    have a restriction in force; the case is processed again when none is.
``objection``
    An objection to processing for research excludes the case from
    analysis; since linkage serves only the research, the case is not sent
    for linkage either. It is not lifted (no such request exists).
``erasure``
    An erasure removes the whole survey case (the parent's and the child's
    data: the parent's answers are about the child and the child's
    identifiers are the parent's report, so removing one person's part
    would leave them identifiable in the rest) from every file on the next
    run. Events after it are ignored. The register keeps honouring it after
    the synthetic files are regenerated (see :mod:`sendlink.consent.keys`).
``rectification``
    Corrected identifiers replace the old ones in the survey organisation's
    holdings and in the file sent for linkage, so the case is re-linked on
    the next run; a corrected date of birth is used by the age rules.
``access``
    Recorded; it changes nothing.
``dob-unknown``
    If the child's date of birth is missing, malformed or outside the
    cohort's range, the 16th birthday could be any day in the cohort's
    range. Then anything that *stops* processing (a refusal, withdrawal,
    non-answer, restriction, objection, erasure) counts from the earliest
    possible 16th birthday, and anything that *allows* it (a young person's
    permission, lifting a restriction) only from the latest: when in doubt,
    do not process.
``as-of``
    Events dated after ``as_of`` are not replayed.
``later-stop``
    Enforcement only (:func:`enforced_status`): the pipeline also honours a
    refusal, withdrawal, restriction, objection or erasure recorded after
    ``as_of``. ``as_of`` fixes which permissions count, so reruns are
    reproducible; but processing today cannot rely on a permission that has
    since been taken away.

Who may do what is case-level except consent: ``may_link_parent_answers``
and ``may_link_child_answers`` need the scope's permission *and* no
restriction, objection or erasure; ``send_for_linkage`` is either;
``may_analyse`` needs no restriction, objection or erasure.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

#: Columns :func:`status` needs in the events frame (the register's
#: :meth:`~sendlink.consent.register.Register.events` frame has them all).
#: ``payload`` holds a rectification's corrected values (a dict).
EVENT_COLUMNS = ("seq", "survey_id", "person", "kind", "scope", "decision", "effective_date", "origin", "payload")

#: Optional columns shown by :func:`explain` when present.
EXPLAIN_COLUMNS = ("event_ref", "contact", "source")

#: Replay order of events on the same date (see module docstring).
ORIGIN_RANK = {"fieldwork_consent": 0, "fieldwork_request": 1, "cli": 2}

#: Rule identifier -> plain-language statement (the module docstring has the
#: reasoning). Ordered as a teaching table.
RULES: dict[str, str] = {
    "no-answer": "No answer to the consent question (a break-off) gives no permission; it takes away none given earlier.",
    "latest-decision": "The deciding person's latest valid decision counts: refusing or withdrawing removes permission, a later permission restores it.",
    "parent-under-16": "Under 16, the parent decides for both scopes: the parent's answers and the child's answers.",
    "parent-after-16": "From 16, the parent can no longer give permission for the child's answers; their earlier decision stands until the young person is asked (a refusal or withdrawal is still honoured).",
    "young-person-governs": "Once the young person (16 or over) has been asked, their own decision governs the child's answers; no answer means no permission.",
    "young-person-under-16": "A young person's consent decision (or lifting a restriction) before their 16th birthday is not valid; the parent decides for them. Requests that stop processing are honoured at any age.",
    "parent-scope": "Only the parent decides about linking the parent's own answers.",
    "withdrawal": "A withdrawal stops linkage from its date: not sent for linkage, linked NPD data leave the next research extract; the answers are still used, unlinked, as after a refusal.",
    "restriction": "Restriction: the data are kept but not processed (not linked, not analysed) until the person who asked lifts it.",
    "objection": "Objection to processing for research: excluded from analysis, and so not linked.",
    "erasure": "Erasure: the whole case is removed from every file on the next run; later events are ignored.",
    "rectification": "Rectification: corrected identifiers replace the old ones; the case is re-linked on the next run.",
    "access": "Access request: a copy of everything held is produced; it changes nothing.",
    "dob-unknown": "Date of birth unknown: a request that stops processing counts from the earliest possible 16th birthday, a permission only from the latest.",
    "as-of": "Events after the as-of date are not replayed.",
    "later-stop": "The pipeline also honours refusals, withdrawals, restrictions, objections and erasures recorded after the as-of date.",
}

PERSON = {"parent": "the parent", "young_person": "the young person"}
SCOPE_NAME = {"parent_answers": "the parent's answers", "child_answers": "the child's answers"}

#: Status columns, in order (the contract is ``sendlink.schema.consent.CONSENT_STATUS``).
STATUS_COLUMNS = (
    "survey_id",
    "consent_parent_answers",
    "consent_child_answers",
    "child_scope_governed_by",
    "aged_16_or_over",
    "restricted",
    "objected",
    "erased",
    "may_link_parent_answers",
    "may_link_child_answers",
    "send_for_linkage",
    "may_analyse",
    "rectified_on",
    "later_request_applied",
    "as_of",
    "reason",
)

_STOP_DECISIONS = {"refused", "withdrawn", "no_answer"}
_STOP_KINDS = {"restriction", "objection", "erasure"}


@dataclass(frozen=True)
class RuleParams:
    """The numbers the rules need (from ``consent:`` in ``params.yaml``)."""

    age_of_own_consent: int = 16
    cohort_first_birth_date: dt.date = dt.date(2008, 9, 1)
    cohort_last_birth_date: dt.date = dt.date(2009, 8, 31)

    @classmethod
    def from_params(cls, params: object) -> RuleParams:
        return cls(
            age_of_own_consent=params.age_of_own_consent,  # type: ignore[attr-defined]
            cohort_first_birth_date=params.cohort_first_birth_date,  # type: ignore[attr-defined]
            cohort_last_birth_date=params.cohort_last_birth_date,  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class Event:
    """One event, as the rules see it."""

    seq: int
    survey_id: str
    person: str
    kind: str
    scope: str | None
    decision: str | None
    date: dt.date
    origin: str
    payload: Mapping[str, str] | None = None
    ref: str = ""
    contact: str = ""
    source: str = ""

    @property
    def order(self) -> tuple[dt.date, int, int]:
        return (self.date, ORIGIN_RANK.get(self.origin, len(ORIGIN_RANK)), self.seq)

    def describe(self) -> str:
        who = PERSON.get(self.person, self.person)
        if self.kind == "consent":
            verb = {
                "granted": "gave permission for",
                "refused": "refused permission for",
                "withdrawn": "withdrew permission for",
                "no_answer": "did not answer the question on",
            }.get(self.decision or "", str(self.decision))
            return f"{who} {verb} linking {SCOPE_NAME.get(self.scope or '', self.scope)}"
        what = {
            "access": "asked for a copy of their data",
            "rectification": "asked for identifiers to be corrected",
            "erasure": "asked for erasure",
            "restriction": "asked for processing to be restricted",
            "lift_restriction": "lifted their restriction",
            "objection": "objected to processing for research",
        }.get(self.kind, self.kind)
        if self.kind == "rectification" and self.payload:
            what += f" ({', '.join(sorted(self.payload))})"
        return f"{who} {what}"


@dataclass(frozen=True)
class Step:
    """How one event was treated in a replay."""

    event: Event
    verdict: str  # "applied", "ignored" or "after as-of"
    rule: str
    note: str


@dataclass
class CaseState:
    """One case's state on ``as_of`` and the steps that led there."""

    survey_id: str
    as_of: dt.date
    consent_parent_answers: str = "not_asked"
    consent_child_answers: str = "not_asked"
    child_scope_governed_by: str = "parent"
    aged_16_or_over: bool | None = False
    restricted: bool = False
    objected: bool = False
    erased: bool = False
    rectified_on: str = ""
    later_request_applied: bool = False
    reason: str = ""
    steps: list[Step] = field(default_factory=list)
    rules_used: list[str] = field(default_factory=list)
    # supporting facts for the reason
    parent_answers_event: Event | None = None
    child_answers_event: Event | None = None
    restricted_by: dict[str, dt.date] = field(default_factory=dict)
    objection_event: Event | None = None
    erasure_event: Event | None = None
    #: earliest and latest possible birthday of own consent, and whether the
    #: date of birth was known (rule ``dob-unknown``)
    consent_age_from: tuple[dt.date, dt.date] | None = None
    dob_known: bool = True

    @property
    def may_analyse(self) -> bool:
        return not (self.restricted or self.objected or self.erased)

    @property
    def may_link_parent_answers(self) -> bool:
        return self.consent_parent_answers == "granted" and self.may_analyse

    @property
    def may_link_child_answers(self) -> bool:
        return self.consent_child_answers == "granted" and self.may_analyse

    @property
    def send_for_linkage(self) -> bool:
        return self.may_link_parent_answers or self.may_link_child_answers

    def row(self) -> dict[str, object]:
        return {
            "survey_id": self.survey_id,
            "consent_parent_answers": self.consent_parent_answers,
            "consent_child_answers": self.consent_child_answers,
            "child_scope_governed_by": self.child_scope_governed_by,
            "aged_16_or_over": self.aged_16_or_over,
            "restricted": self.restricted,
            "objected": self.objected,
            "erased": self.erased,
            "may_link_parent_answers": self.may_link_parent_answers,
            "may_link_child_answers": self.may_link_child_answers,
            "send_for_linkage": self.send_for_linkage,
            "may_analyse": self.may_analyse,
            "rectified_on": self.rectified_on,
            "later_request_applied": self.later_request_applied,
            "as_of": self.as_of.isoformat(),
            "reason": self.reason,
        }


# --- dates ------------------------------------------------------------------


def birthday(born: dt.date, years: int) -> dt.date:
    """The date a person born on ``born`` reaches ``years`` (29 Feb -> 1 Mar)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February, target year not a leap year
        return dt.date(born.year + years, 3, 1)


def parse_date(value: object) -> dt.date | None:
    """An ISO ``YYYY-MM-DD`` date, or ``None`` if missing or malformed."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if len(text) != 10:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def sixteenth_birthday_range(date_of_birth: object, rp: RuleParams) -> tuple[dt.date, dt.date, bool]:
    """Earliest and latest possible birthday of own consent, and whether the DOB is known.

    A date of birth that is missing, malformed or outside the cohort's range
    is treated as unknown (rule ``dob-unknown``).
    """
    born = parse_date(date_of_birth)
    if born is not None and rp.cohort_first_birth_date <= born <= rp.cohort_last_birth_date:
        day = birthday(born, rp.age_of_own_consent)
        return day, day, True
    return (
        birthday(rp.cohort_first_birth_date, rp.age_of_own_consent),
        birthday(rp.cohort_last_birth_date, rp.age_of_own_consent),
        False,
    )


# --- events -----------------------------------------------------------------


def _payload(value: object) -> Mapping[str, str] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Mapping):
        return value
    import json

    return json.loads(str(value)) if str(value).strip() else None


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text else None


def to_events(events: pd.DataFrame) -> list[Event]:
    """Convert an events frame (:data:`EVENT_COLUMNS`) into :class:`Event` objects."""
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"events frame lacks column(s) {missing}")
    out = []
    has = {c: c in events.columns for c in EXPLAIN_COLUMNS}
    for rec in events.to_dict("records"):
        when = parse_date(rec["effective_date"])
        if when is None:
            raise ValueError(f"event {rec.get('event_ref', rec['seq'])}: bad effective_date {rec['effective_date']!r}")
        out.append(
            Event(
                seq=int(rec["seq"]),
                survey_id=str(rec["survey_id"]),
                person=str(rec["person"]),
                kind=str(rec["kind"]),
                scope=_text(rec["scope"]),
                decision=_text(rec["decision"]),
                date=when,
                origin=str(rec["origin"]),
                payload=_payload(rec["payload"]),
                ref=str(rec["event_ref"]) if has["event_ref"] and _text(rec["event_ref"]) else str(rec["seq"]),
                contact=str(rec["contact"]) if has["contact"] and _text(rec["contact"]) else "",
                source=str(rec["source"]) if has["source"] and _text(rec["source"]) else "",
            )
        )
    return out


# --- the replay of one case ----------------------------------------------------


def _young_person_valid(event: Event, lo: dt.date, hi: dt.date, allows: bool) -> tuple[bool, str, str]:
    """Is a young person's event valid by age? (valid, rule, note)."""
    if event.date < lo:
        return False, "young-person-under-16", f"not valid: the young person was under 16 on {event.date} (16 on {lo})"
    if allows and event.date < hi:
        return False, "dob-unknown", f"not valid: date of birth unknown, cannot confirm they were 16 on {event.date} (certain from {hi})"
    return True, "", ""


def replay_case(
    survey_id: str,
    case_events: Iterable[Event],
    date_of_birth: object,
    as_of: dt.date,
    rp: RuleParams = RuleParams(),
) -> CaseState:
    """Replay one case's events up to ``as_of`` (see the module docstring)."""
    ordered = sorted(case_events, key=lambda e: e.order)
    state = CaseState(survey_id=str(survey_id), as_of=as_of)
    steps = state.steps
    used: list[str] = []

    def step(event: Event, verdict: str, rule: str, note: str) -> None:
        steps.append(Step(event, verdict, rule, note))
        if rule not in used:
            used.append(rule)

    # Pass 1: the date of birth as held on as_of (rectifications in order).
    dob = date_of_birth
    for event in ordered:
        if event.date > as_of:
            break
        if event.kind == "erasure":
            break
        if event.kind == "rectification" and event.payload and "date_of_birth" in event.payload:
            dob = event.payload["date_of_birth"]
    lo, hi, dob_known = sixteenth_birthday_range(dob, rp)
    state.consent_age_from = (lo, hi)
    state.dob_known = dob_known
    if not dob_known:
        used.append("dob-unknown")

    parent_pa: Event | None = None
    parent_pa_asked = False
    parent_ca: Event | None = None
    parent_ca_asked = False
    yp_ca: Event | None = None
    yp_asked: Event | None = None
    restrictions: dict[str, Event] = {}

    for event in ordered:
        if event.date > as_of:
            step(event, "after as-of", "as-of", f"dated after {as_of}: not replayed")
            continue
        if state.erased:
            step(event, "ignored", "erasure", "the case was erased earlier; nothing after it counts")
            continue
        young = event.person == "young_person"
        if event.kind == "consent":
            allows = event.decision == "granted"
            if event.scope == "parent_answers":
                if young:
                    step(event, "ignored", "parent-scope", "only the parent decides about the parent's answers")
                    continue
                parent_pa_asked = True
                if event.decision == "no_answer":
                    step(event, "applied", "no-answer", "no decision: no permission given, none taken away")
                else:
                    parent_pa = event
                    step(event, "applied", "withdrawal" if event.decision == "withdrawn" else "latest-decision", "now the decision in force for the parent's answers")
            elif event.scope == "child_answers" and not young:
                if yp_asked is not None:
                    step(event, "ignored", "young-person-governs", f"the young person decides since they were asked on {yp_asked.date}")
                    continue
                if allows and event.date >= lo:
                    why = "the child was 16" if dob_known else "the child may have been 16 (date of birth unknown)"
                    step(event, "ignored", "parent-after-16", f"not valid: {why} on {event.date}; only the young person can now give permission")
                    continue
                parent_ca_asked = True
                rule = "parent-under-16" if event.date < lo else "parent-after-16"
                if event.decision == "no_answer":
                    step(event, "applied", "no-answer", "no decision: no permission given, none taken away")
                else:
                    parent_ca = event
                    if event.decision == "withdrawn":
                        step(event, "applied", "withdrawal", "now the decision in force for the child's answers")
                    else:
                        step(event, "applied", rule, "now the decision in force for the child's answers")
            elif event.scope == "child_answers":
                if event.date < lo:
                    step(event, "ignored", "young-person-under-16", f"not valid: the young person was under 16 on {event.date} (16 on {lo})")
                    continue
                first = yp_asked is None
                if first:
                    yp_asked = event
                if allows and event.date < hi:
                    step(event, "ignored", "dob-unknown", f"permission not valid: cannot confirm 16 on {event.date}; counts as having been asked" if first else f"permission not valid: cannot confirm 16 on {event.date}")
                    continue
                note = "asked directly: from now on the young person decides" if first else "now the decision in force for the child's answers"
                if event.decision == "no_answer":
                    step(event, "applied", "no-answer" if not first else "young-person-governs", note + ("; no answer, so no permission" if first else ": no decision, none taken away"))
                else:
                    yp_ca = event
                    step(event, "applied", "withdrawal" if event.decision == "withdrawn" else "young-person-governs", note)
            else:
                step(event, "ignored", "as-of", f"unknown scope {event.scope!r}")
            continue

        # Rights requests: only lifting a restriction allows processing, so
        # only that needs the young person to be 16.
        if young and event.kind == "lift_restriction":
            valid, rule, note = _young_person_valid(event, lo, hi, allows=True)
            if not valid:
                step(event, "ignored", rule, note)
                continue
        if event.kind == "restriction":
            if event.person in restrictions:
                step(event, "applied", "restriction", f"already restricted by {PERSON[event.person]} since {restrictions[event.person].date}")
            else:
                restrictions[event.person] = event
                step(event, "applied", "restriction", "kept, not linked, not analysed until lifted")
        elif event.kind == "lift_restriction":
            if event.person in restrictions:
                del restrictions[event.person]
                rest = f"; still restricted by {PERSON[next(iter(restrictions))]}" if restrictions else ""
                step(event, "applied", "restriction", "restriction lifted" + rest)
            else:
                step(event, "ignored", "restriction", f"no restriction by {PERSON[event.person]} in force to lift")
        elif event.kind == "objection":
            if state.objection_event is None:
                state.objection_event = event
            step(event, "applied", "objection", "excluded from analysis and linkage")
        elif event.kind == "erasure":
            state.erased = True
            state.erasure_event = event
            step(event, "applied", "erasure", "the whole case is removed from every file on the next run")
        elif event.kind == "rectification":
            state.rectified_on = event.date.isoformat()
            step(event, "applied", "rectification", "corrected identifiers replace the old ones; re-linked on the next run")
        elif event.kind == "access":
            step(event, "applied", "access", "recorded; changes nothing")
        else:
            step(event, "ignored", "as-of", f"unknown kind {event.kind!r}")

    # Compose the state.
    state.parent_answers_event = parent_pa
    state.consent_parent_answers = parent_pa.decision if parent_pa else ("no_answer" if parent_pa_asked else "not_asked")  # type: ignore[assignment]
    if yp_asked is not None:
        state.child_scope_governed_by = "young_person"
        state.child_answers_event = yp_ca
        state.consent_child_answers = yp_ca.decision if yp_ca else "no_answer"  # type: ignore[assignment]
        governing_rule = "young-person-governs"
    else:
        state.child_scope_governed_by = "parent"
        state.child_answers_event = parent_ca
        state.consent_child_answers = parent_ca.decision if parent_ca else ("no_answer" if parent_ca_asked else "not_asked")  # type: ignore[assignment]
        governing_rule = "parent-under-16" if as_of < lo else "parent-after-16"
    if governing_rule not in used:
        used.append(governing_rule)
    state.aged_16_or_over = True if as_of >= hi else False if as_of < lo else None
    state.restricted_by = {p: e.date for p, e in restrictions.items()}
    state.restricted = bool(restrictions)
    state.objected = state.objection_event is not None
    state.rules_used = used
    state.reason = _reason(state)
    return state


# --- reasons --------------------------------------------------------------------


def _decision_phrase(who: str, decision: str, event: Event | None) -> str:
    person = PERSON[who]
    if decision == "granted":
        return f"{person} gave permission on {event.date}"  # type: ignore[union-attr]
    if decision == "refused":
        return f"{person} refused on {event.date}"  # type: ignore[union-attr]
    if decision == "withdrawn":
        return f"{person} withdrew permission on {event.date}"  # type: ignore[union-attr]
    if decision == "no_answer":
        return f"{person} was asked but did not answer, so there is no permission"
    return f"{person} has not been asked, so there is no permission"


def _reason(state: CaseState, *, conclusion: bool = True) -> str:
    if state.erased:
        e = state.erasure_event
        return f"Erased on {e.date} at the request of {PERSON[e.person]}: nothing is held, linked or analysed."  # type: ignore[union-attr]
    if not state.steps:
        parts = ["No consent recorded: the household has not been asked (it did not take part)."]
        if conclusion:
            parts.append(_conclusion(False, False, state.may_analyse))
        return " ".join(parts)
    parts = [f"Parent's answers: {_decision_phrase('parent', state.consent_parent_answers, state.parent_answers_event)}."]
    child = _decision_phrase(state.child_scope_governed_by, state.consent_child_answers, state.child_answers_event)
    if state.child_scope_governed_by == "young_person":
        parts.append(f"Child's answers, decided by the young person from 16: {child}.")
    elif state.aged_16_or_over is False:
        parts.append(f"Child's answers: {child} (the parent decides while the child is under 16).")
    elif state.child_answers_event is None:
        maybe = "is 16 or over" if state.aged_16_or_over else "may be 16 or over"
        parts.append(f"Child's answers: {child}; the child {maybe} and has not been asked directly yet.")
    else:
        maybe = "is 16 or over" if state.aged_16_or_over else "may be 16 or over"
        parts.append(f"Child's answers: {child}; the child {maybe} but has not been asked yet, so the parent's decision stands.")
    for who, since in sorted(state.restricted_by.items()):
        parts.append(f"Processing restricted since {since} at the request of {PERSON[who]}: kept, not linked, not analysed.")
    if state.objection_event is not None:
        e = state.objection_event
        parts.append(f"{PERSON[e.person].capitalize()} objected on {e.date} to processing for research: not linked, not analysed.")
    if conclusion:
        parts.append(_conclusion(state.may_link_parent_answers, state.may_link_child_answers, state.may_analyse))
    return " ".join(parts)


def _conclusion(link_pa: bool, link_ca: bool, analyse: bool) -> str:
    if link_pa and link_ca:
        text = "Sent for linkage for the parent's and the child's answers."
    elif link_pa:
        text = "Sent for linkage for the parent's answers only."
    elif link_ca:
        text = "Sent for linkage for the child's answers only."
    else:
        text = "Not sent for linkage."
    if not analyse:
        return text + " Answers not analysed."
    return text + (" Answers analysed." if (link_pa or link_ca) else " Answers analysed unlinked.")


# --- all cases ------------------------------------------------------------------


def _group(events: pd.DataFrame | list[Event]) -> dict[str, list[Event]]:
    items = to_events(events) if isinstance(events, pd.DataFrame) else list(events)
    grouped: dict[str, list[Event]] = {}
    for event in items:
        grouped.setdefault(event.survey_id, []).append(event)
    return grouped


def _dobs(cases: pd.DataFrame) -> dict[str, object]:
    if "survey_id" not in cases.columns:
        raise ValueError("cases frame lacks 'survey_id'")
    if "date_of_birth" not in cases.columns:
        return {str(s): None for s in cases["survey_id"]}
    return {str(s): d for s, d in zip(cases["survey_id"], cases["date_of_birth"], strict=True)}


def case_states(
    events: pd.DataFrame | list[Event],
    cases: pd.DataFrame,
    as_of: dt.date,
    rp: RuleParams = RuleParams(),
) -> dict[str, CaseState]:
    """Replay every case in ``cases`` (``survey_id``, optional ``date_of_birth``).

    Events of cases not in ``cases`` are ignored.
    """
    grouped = _group(events)
    return {sid: replay_case(sid, grouped.get(sid, []), dob, as_of, rp) for sid, dob in _dobs(cases).items()}


def states_frame(states: Iterable[CaseState]) -> pd.DataFrame:
    """Case states as the status table (columns :data:`STATUS_COLUMNS`, sorted by survey_id)."""
    rows = [s.row() for s in states]
    frame = pd.DataFrame(rows, columns=list(STATUS_COLUMNS))
    frame["aged_16_or_over"] = frame["aged_16_or_over"].astype("boolean")
    for col in ("restricted", "objected", "erased", "may_link_parent_answers", "may_link_child_answers", "send_for_linkage", "may_analyse", "later_request_applied"):
        frame[col] = frame[col].astype(bool)
    return frame.sort_values("survey_id", kind="stable").reset_index(drop=True)


def status(
    events: pd.DataFrame | list[Event],
    cases: pd.DataFrame,
    as_of: dt.date,
    rp: RuleParams = RuleParams(),
) -> pd.DataFrame:
    """The state of every case as of ``as_of``: pure replay (columns :data:`STATUS_COLUMNS`)."""
    return states_frame(case_states(events, cases, as_of, rp).values())


def enforced_states(
    events: pd.DataFrame | list[Event],
    cases: pd.DataFrame,
    as_of: dt.date,
    rp: RuleParams = RuleParams(),
) -> dict[str, CaseState]:
    """What the pipeline enforces: the state as of ``as_of`` (rule ``later-stop``).

    Permissions are those in force on ``as_of`` *and* still in force after
    every event recorded since; restrictions, objections and erasures from
    either count. The result depends on the events and ``as_of`` only.
    """
    grouped = _group(events)
    return {sid: _enforced_case(sid, grouped.get(sid, []), dob, as_of, rp)[0] for sid, dob in _dobs(cases).items()}


def _enforced_case(sid: str, evs: list[Event], dob: object, as_of: dt.date, rp: RuleParams) -> tuple[CaseState, CaseState | None]:
    """The enforced state of one case, and its replay to its last event if later than ``as_of``."""
    then = replay_case(sid, evs, dob, as_of, rp)
    latest = max((e.date for e in evs), default=as_of)
    if latest <= as_of:
        return then, None
    now = replay_case(sid, evs, dob, latest, rp)
    state = _combine(then, now)
    # The holdings carry every rectification recorded (rule
    # ``rectification``), so report the latest.
    state.rectified_on = now.rectified_on or then.rectified_on
    return state, now


def _combine(then: CaseState, now: CaseState) -> CaseState:
    """``then`` with everything ``now`` stops added (rule ``later-stop``).

    A scope keeps ``then``'s decision unless ``then`` permitted it and
    ``now`` does not; restrictions, objections and erasures of either count.
    """
    pa_later = then.consent_parent_answers == "granted" and now.consent_parent_answers != "granted"
    ca_later = then.consent_child_answers == "granted" and now.consent_child_answers != "granted"
    new_blocks = (
        (now.erased and not then.erased)
        or (now.objected and not then.objected)
        or bool(set(now.restricted_by) - set(then.restricted_by))
    )
    if not (pa_later or ca_later or new_blocks):
        return then
    restricted_by = {**now.restricted_by, **then.restricted_by}
    combined = CaseState(
        survey_id=then.survey_id,
        as_of=then.as_of,
        consent_parent_answers=now.consent_parent_answers if pa_later else then.consent_parent_answers,
        consent_child_answers=now.consent_child_answers if ca_later else then.consent_child_answers,
        child_scope_governed_by=now.child_scope_governed_by if ca_later else then.child_scope_governed_by,
        aged_16_or_over=then.aged_16_or_over,
        restricted=bool(restricted_by),
        objected=then.objected or now.objected,
        erased=then.erased or now.erased,
        rectified_on=then.rectified_on,
        later_request_applied=True,
        steps=then.steps,
        rules_used=[*then.rules_used, *(r for r in ["later-stop"] if r not in then.rules_used)],
        parent_answers_event=now.parent_answers_event if pa_later else then.parent_answers_event,
        child_answers_event=now.child_answers_event if ca_later else then.child_answers_event,
        restricted_by=restricted_by,
        objection_event=then.objection_event or now.objection_event,
        erasure_event=then.erasure_event or now.erasure_event,
        consent_age_from=then.consent_age_from,
        dob_known=then.dob_known,
    )
    if combined.erased:
        combined.reason = _reason(combined)
        return combined
    later = [s for s in now.steps if s.event.date > then.as_of and s.verdict == "applied" and _stops(s.event)]
    told = "; ".join(f"{s.event.describe()} on {s.event.date}" for s in later) or "a later decision removed permission"
    combined.reason = (
        f"As of {then.as_of}: {_reason(then, conclusion=False)} Later, {told}: honoured now. "
        + _conclusion(combined.may_link_parent_answers, combined.may_link_child_answers, combined.may_analyse)
    )
    return combined


def _stops(event: Event) -> bool:
    if event.kind == "consent":
        return event.decision in _STOP_DECISIONS
    return event.kind in _STOP_KINDS


def enforced_status(
    events: pd.DataFrame | list[Event],
    cases: pd.DataFrame,
    as_of: dt.date,
    rp: RuleParams = RuleParams(),
) -> pd.DataFrame:
    """The table the pipeline writes: :func:`enforced_states` as a frame."""
    return states_frame(enforced_states(events, cases, as_of, rp).values())


# --- the predicates the pipeline's stages share ----------------------------------------


def _flags(status_frame: pd.DataFrame, *columns: str) -> pd.Series:
    missing = [c for c in (*columns, "restricted", "objected", "erased") if c not in status_frame.columns]
    if missing:
        raise ValueError(f"consent status lacks column(s) {missing}")
    blocked = status_frame["restricted"].astype(bool) | status_frame["objected"].astype(bool) | status_frame["erased"].astype(bool)
    allowed = pd.Series(False, index=status_frame.index)
    for col in columns:
        allowed |= status_frame[col].astype(bool)
    return allowed & ~blocked


def linkage_permitted(status_frame: pd.DataFrame) -> pd.Series:
    """Boolean per row: may the case's identifiers be sent for linkage?

    The one predicate deciding who reaches ``survey_spine``; the research
    extract uses it (or the per-scope :func:`linked_data_permitted`) to
    decide whose linked NPD data it may hold. A case missing from the status
    table has no permission.
    """
    return _flags(status_frame, "may_link_parent_answers", "may_link_child_answers")


def linked_data_permitted(status_frame: pd.DataFrame, scope: str) -> pd.Series:
    """Boolean per row: may answers of ``scope`` be joined to linked NPD data?"""
    if scope not in SCOPE_NAME:
        raise ValueError(f"scope must be one of {list(SCOPE_NAME)}, got {scope!r}")
    return _flags(status_frame, f"may_link_{scope}")


def analysis_permitted(status_frame: pd.DataFrame) -> pd.Series:
    """Boolean per row: may the case's survey answers be analysed (linked or not)?"""
    return _flags(status_frame, "may_analyse")


def permitted_ids(status_frame: pd.DataFrame, purpose: str = "linkage") -> set[str]:
    """Survey ids permitted for ``purpose``: ``linkage``, ``parent_answers``, ``child_answers`` or ``analysis``."""
    if purpose == "linkage":
        mask = linkage_permitted(status_frame)
    elif purpose == "analysis":
        mask = analysis_permitted(status_frame)
    else:
        mask = linked_data_permitted(status_frame, purpose)
    return set(status_frame.loc[mask, "survey_id"].astype(str))


def rules_table() -> pd.DataFrame:
    """The rules as a table (for notebook 02)."""
    return pd.DataFrame({"rule": list(RULES), "statement": list(RULES.values())})


# --- explanations ---------------------------------------------------------------------


@dataclass
class Explanation:
    """Why a case is in its state: its events, how each was treated, the rules."""

    survey_id: str
    as_of: dt.date
    state: CaseState
    steps: list[Step]
    enforced: bool

    @property
    def events(self) -> pd.DataFrame:
        """One row per event: date, who, what, verdict, rule, note."""
        rows = [
            {
                "date": s.event.date.isoformat(),
                "event": s.event.describe(),
                "contact": s.event.contact,
                "source": s.event.source,
                "verdict": s.verdict,
                "rule": s.rule,
                "note": s.note,
                "event_ref": s.event.ref,
            }
            for s in self.steps
        ]
        return pd.DataFrame(rows, columns=["date", "event", "contact", "source", "verdict", "rule", "note", "event_ref"])

    @property
    def rules(self) -> list[tuple[str, str]]:
        return [(r, RULES[r]) for r in self.state.rules_used if r in RULES]

    def render(self) -> str:
        """Plain text for the terminal."""
        s = self.state
        lines = [f"Case {self.survey_id}, as of {self.as_of}" + (" (as the pipeline enforces it)" if self.enforced else " (replay)"), ""]
        lines.append("Events, in replay order:")
        if not self.steps:
            lines.append("  (none recorded)")
        for st in self.steps:
            lines.append(f"  {st.event.date}  {st.event.describe()}")
            lines.append(f"              -> {st.verdict} [{st.rule}]: {st.note}")
        lines += ["", "Rules that decided:"]
        lines += [f"  [{rule}] {text}" for rule, text in self.rules]
        lines += ["", "Result:"]
        row = s.row()
        for key in STATUS_COLUMNS[1:-2]:
            value = row[key]
            lines.append(f"  {key:<26} {'' if value is None else value}")
        lines += ["", "Reason: " + s.reason]
        return "\n".join(lines) + "\n"


def explain(
    survey_id: str,
    as_of: dt.date,
    events: pd.DataFrame | list[Event],
    cases: pd.DataFrame,
    rp: RuleParams = RuleParams(),
    *,
    enforced: bool = True,
) -> Explanation:
    """Explain one case's state as of ``as_of``.

    With ``enforced`` (the default) the state is the pipeline's
    (:func:`enforced_states`): events after ``as_of`` are listed with how
    they were treated in the replay to the latest event, since those that
    stop processing are honoured.
    """
    sid = str(survey_id)
    grouped = _group(events)
    evs = grouped.get(sid, [])
    one = cases[cases["survey_id"].astype(str) == sid] if "survey_id" in cases.columns else cases.iloc[0:0]
    dob = one["date_of_birth"].iloc[0] if len(one) and "date_of_birth" in one.columns else None
    if not enforced:
        then = replay_case(sid, evs, dob, as_of, rp)
        return Explanation(sid, as_of, then, then.steps, enforced=False)
    state, now = _enforced_case(sid, evs, dob, as_of, rp)
    then = replay_case(sid, evs, dob, as_of, rp)
    steps = list(then.steps)
    if now is not None:
        later = {id(s.event): s for s in now.steps if s.event.date > as_of}
        steps = []
        for s in then.steps:
            if s.verdict == "after as-of" and id(s.event) in later:
                ls = later[id(s.event)]
                honoured = ls.verdict == "applied" and _stops(ls.event)
                steps.append(
                    Step(
                        s.event,
                        "applied (later)" if honoured else "after as-of",
                        "later-stop" if honoured else "as-of",
                        ("stops processing, so honoured now; " + ls.note) if honoured else "dated after the as-of date: a permission or neutral event does not count yet",
                    )
                )
            else:
                steps.append(s)
    return Explanation(sid, as_of, state, steps, enforced=True)


def corrections(
    events: pd.DataFrame | list[Event],
    cases: pd.DataFrame,
    rp: RuleParams = RuleParams(),
) -> dict[str, dict[str, str]]:
    """Corrected identifier values per case, from every rectification recorded.

    The survey organisation's holdings are its current records, so every
    rectification in the register is applied, in replay order (later ones
    win), not only those up to ``as_of``; none after an erasure.
    """
    grouped = _group(events)
    out: dict[str, dict[str, str]] = {}
    for sid, dob in _dobs(cases).items():
        evs = grouped.get(sid, [])
        if not any(e.kind == "rectification" for e in evs):
            continue
        latest = max(e.date for e in evs)
        values: dict[str, str] = {}
        for st in replay_case(sid, evs, dob, latest, rp).steps:
            if st.verdict == "applied" and st.event.kind == "rectification" and st.event.payload:
                values.update(st.event.payload)
        if values:
            out[sid] = values
    return out

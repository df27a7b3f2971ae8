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

Two policies are parameters (``consent:`` in ``params.yaml``, see
:class:`RuleParams`): what a young person's refusal covers
(``young_person_refusal_covers``) and how rights requests are decided
(``request_decisions``).

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
    parent's own answers and linking the child's answers (the notice asks
    them to "make the decision that represents your child's wishes and best
    interests"), subject to the child's own dissent (``young-person-dissent``).
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
``young-person-dissent``
    A refusal or withdrawal by the young person themself counts at any age,
    from its date: research guidance on children (MRC, HRA) treats a child's
    dissent as decisive even where the parent consents. It stands until the
    young person changes their mind; a parent's later permission does not
    override it.
``young-person-under-16``
    A young person's *permission* dated before their 16th birthday gives no
    permission: the parent decides for a child under 16 (it does lift the
    young person's own earlier refusal). So is their lifting a restriction,
    and a non-answer before 16 (they were not asked). A request that stops
    processing (a refusal, withdrawal, restriction, objection, erasure) is
    honoured whatever their age, as are a rectification and an access
    request.
``young-person-refusal-covers``
    What a young person's refusal or withdrawal stops is the policy
    ``consent.young_person_refusal_covers``. The NPD record is the young
    person's: with ``npd_record`` (the default) their refusal stops linkage
    of the record altogether, so neither the parent's answers nor the
    child's answers are linked to it from that date; with ``child_answers``
    only the child's answers go unlinked and the parent's answers stay
    linked.
``parent-scope``
    Only the parent decides about linking the parent's own answers.
``withdrawal``
    A withdrawal (at the default level, ``no_use``) stops processing from
    its date: the case is no longer sent for linkage and, because the
    research extract is rebuilt from the current state at every run, its
    linked NPD data are gone from the next extract even if it was linked
    before. Its survey answers are still used, unlinked, exactly as after a
    refusal (the privacy notice: "if permission is refused the survey
    answers are still used").
``withdrawal-level``
    A withdrawal names its level, as the large cohort studies offer them:
    ``no_contact`` (the person is not contacted again; linkage and use
    continue as permitted), ``no_linkage`` (not linked from its date; data
    linked at a run before it may still be used, so one recorded after the
    as-of date does not undo that run's linkage) and ``no_use`` (the
    default and the behaviour of rule ``withdrawal``).
``own-requests``
    An objection or an erasure acts for the person who made it. A parent's
    covers the parent's own answers, and the child's answers while the
    parent decides for the child; a young person's covers their own answers
    and their NPD record. Neither removes the other person's own answers:
    when one person leaves, the other stays. A parent who leaves while
    deciding for the child (under 16, or 16 and not yet asked) takes the
    whole case with them; a parent who leaves after the young person has
    taken over leaves the young person's answers, identifiers and
    permission in place; a young person who leaves takes their answers,
    their identifiers and their NPD record, and the parent's answers stay,
    analysed unlinked.
``request-decision``
    A rights request is a decision, not just an event: it is recorded when
    received, with how identity was checked and its due date (one calendar
    month later, three when extended for a complex request), and takes
    effect when granted. Under the policy ``consent.request_decisions:
    grant_on_receipt`` (the default) a request with no decision recorded is
    granted on the date received; with ``recorded`` it waits for a decision.
    A refused request (for a reason of
    :data:`sendlink.schema.consent.REFUSAL_REASONS`) changes nothing; an
    extended one stays open. A request is decided once. A withdrawal of
    permission is not a rights request: it is always honoured.
``restriction``
    A restriction keeps the data but stops all processing: not linked, not
    analysed, until the person who asked lifts it. Several people may each
    have a restriction in force; the case is processed again when none is.
``objection``
    An objection to processing for research excludes the answers it covers
    (rule ``own-requests``) from analysis and, since linkage serves only the
    research, from linkage. It is not lifted (no such request exists).
``erasure``
    An erasure removes what it covers (rule ``own-requests``) from every
    file on the next run: the whole case, or one person's part (their
    answers; their identifiers are blanked). Later events of the erased
    person (of anyone, for the whole case) are ignored. The register keeps
    honouring it after the synthetic files are regenerated (see
    :mod:`sendlink.consent.keys`).
``rectification``
    Corrected identifiers replace the old ones in the survey organisation's
    holdings and in the file sent for linkage, so the case is re-linked on
    the next run; a corrected date of birth is used by the age rules.
``access``
    Recorded; it changes nothing.
``dob-unknown``
    If the child's date of birth is missing, malformed or outside the
    cohort's range, the 16th birthday could be any day in the cohort's
    range. Then anything that *stops* processing counts from the earliest
    possible 16th birthday, and anything that *allows* it (a young person's
    permission, lifting a restriction) only from the latest: when in doubt,
    do not process.
``as-of``
    Events dated after ``as_of`` are not replayed.
``later-stop``
    Enforcement only (:func:`enforced_status`): the pipeline also honours a
    refusal, withdrawal (at level ``no_use``), restriction, objection or
    erasure recorded after ``as_of``. ``as_of`` fixes which permissions
    count, so reruns are reproducible; but processing today cannot rely on
    a permission that has since been taken away.

Who may do what: ``may_link_parent_answers`` and ``may_link_child_answers``
need the scope's permission, no restriction, nothing covering those
answers (objection, erasure) and the young person's NPD record not closed
to linkage (their objection or erasure, or, under the default policy, their
refusal); ``send_for_linkage`` is either; ``may_analyse_parent_answers`` and
``may_analyse_child_answers`` need no restriction and nothing covering those
answers; ``may_analyse`` is either.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

#: Columns :func:`status` needs in the events frame (the register's
#: :meth:`~sendlink.consent.register.Register.events` frame has them all).
#: ``payload`` holds a rectification's corrected values (a dict).
EVENT_COLUMNS = ("seq", "survey_id", "person", "kind", "scope", "decision", "effective_date", "origin", "payload")

#: Optional columns: shown by :func:`explain` (``event_ref``, ``contact``,
#: ``source``), or read when present: ``event_key`` (how a decision names
#: its request) and ``details`` (a withdrawal's level, a request's due date,
#: a decision's outcome; a dict or JSON text).
EXPLAIN_COLUMNS = ("event_ref", "contact", "source", "event_key", "details")

#: Replay order of events on the same date (see module docstring).
ORIGIN_RANK = {"fieldwork_consent": 0, "fieldwork_request": 1, "cli": 2}

#: Kinds of event that are rights requests (they take effect when granted).
REQUEST_KINDS = ("access", "rectification", "erasure", "restriction", "lift_restriction", "objection")

#: The values of the two policies (``consent:`` in ``params.yaml``).
REFUSAL_COVERS = ("npd_record", "child_answers")
REQUEST_POLICIES = ("grant_on_receipt", "recorded")

#: Months to respond to a request, and when extended (UK GDPR Art. 12(3)).
DUE_MONTHS, EXTENDED_MONTHS = 1, 3

#: Rule identifier -> plain-language statement (the module docstring has the
#: reasoning). Ordered as a teaching table.
RULES: dict[str, str] = {
    "no-answer": "No answer to the consent question (a break-off) gives no permission; it takes away none given earlier.",
    "latest-decision": "The deciding person's latest valid decision counts: refusing or withdrawing removes permission, a later permission restores it.",
    "parent-under-16": "Under 16, the parent decides for both scopes (the parent's answers and the child's answers), subject to the child's own refusal.",
    "parent-after-16": "From 16, the parent can no longer give permission for the child's answers; their earlier decision stands until the young person is asked (a refusal or withdrawal is still honoured).",
    "young-person-governs": "Once the young person (16 or over) has been asked, their own decision governs the child's answers; no answer means no permission.",
    "young-person-dissent": "A refusal or withdrawal by the young person counts at any age, from its date, and stands until they change their mind; a parent's later permission does not override it.",
    "young-person-under-16": "Before 16, a young person's permission gives none (the parent decides; it does lift their own earlier refusal); neither does their lifting a restriction. Their requests that stop processing count at any age.",
    "young-person-refusal-covers": "What a young person's refusal stops is a policy (consent.young_person_refusal_covers): npd_record, the default, stops linkage of their NPD record altogether (neither person's answers are linked to it); child_answers stops only the child's answers.",
    "parent-scope": "Only the parent decides about linking the parent's own answers.",
    "withdrawal": "A withdrawal stops linkage from its date: not sent for linkage, linked NPD data leave the next research extract; the answers are still used, unlinked, as after a refusal.",
    "withdrawal-level": "A withdrawal names its level: no_contact (not contacted again; linkage and use continue), no_linkage (not linked from its date; data linked at an earlier run may still be used) or no_use (the default: as rule withdrawal).",
    "own-requests": "Objection and erasure act for the person who asked. A parent's covers the parent's answers, and the child's while the parent decides for the child; a young person's covers their answers and their NPD record. When one person leaves the other's own answers stay: a parent leaving while deciding for the child takes the whole case; a young person leaving takes their answers and NPD record, and the parent's answers stay, analysed unlinked.",
    "request-decision": "A rights request takes effect when granted: on receipt by default (consent.request_decisions: grant_on_receipt), else when a decision grants it. Due one month after receipt (three if extended); a refused request (for a listed reason) changes nothing. Withdrawals are always honoured.",
    "restriction": "Restriction: the data are kept but not processed (not linked, not analysed) until the person who asked lifts it.",
    "objection": "Objection to processing for research: the answers it covers are excluded from analysis, and so not linked.",
    "erasure": "Erasure: what it covers (the whole case, or one person's part) is removed from every file on the next run; later events of the erased person are ignored.",
    "rectification": "Rectification: corrected identifiers replace the old ones; the case is re-linked on the next run.",
    "access": "Access request: a copy of everything held is produced; it changes nothing.",
    "dob-unknown": "Date of birth unknown: a request that stops processing counts from the earliest possible 16th birthday, a permission only from the latest.",
    "as-of": "Events after the as-of date are not replayed.",
    "later-stop": "The pipeline also honours refusals, withdrawals (level no_use), restrictions, objections and erasures recorded after the as-of date.",
}

PERSON = {"parent": "the parent", "young_person": "the young person"}
SCOPE_NAME = {"parent_answers": "the parent's answers", "child_answers": "the child's answers"}
LEVEL_NAME = {"no_contact": "no further contact", "no_linkage": "no further linkage", "no_use": "no further use"}
OUTCOME_VERB = {"granted": "granted", "refused": "refused", "extended": "extended the time to answer"}

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
    "may_analyse_parent_answers",
    "may_analyse_child_answers",
    "objected_by",
    "erased_part",
    "young_person_refused_on",
    "no_further_contact",
)

#: The four permission flags a state carries (the rest are derived from them).
FLAGS = ("may_link_parent_answers", "may_link_child_answers", "may_analyse_parent_answers", "may_analyse_child_answers")

_STOP_DECISIONS = {"refused", "withdrawn", "no_answer"}
_STOP_KINDS = {"restriction", "objection", "erasure"}


@dataclass(frozen=True)
class RuleParams:
    """The numbers and policies the rules need (from ``consent:`` in ``params.yaml``).

    Attributes
    ----------
    young_person_refusal_covers
        ``npd_record`` (a young person's refusal stops linkage of their NPD
        record altogether) or ``child_answers`` (only the child's answers).
    request_decisions
        ``grant_on_receipt`` (a request with no decision recorded is granted
        on the date received) or ``recorded`` (it waits for a decision).
    """

    age_of_own_consent: int = 16
    cohort_first_birth_date: dt.date = dt.date(2008, 9, 1)
    cohort_last_birth_date: dt.date = dt.date(2009, 8, 31)
    young_person_refusal_covers: str = "npd_record"
    request_decisions: str = "grant_on_receipt"

    def __post_init__(self) -> None:
        if self.young_person_refusal_covers not in REFUSAL_COVERS:
            raise ValueError(f"young_person_refusal_covers must be one of {REFUSAL_COVERS}, got {self.young_person_refusal_covers!r}")
        if self.request_decisions not in REQUEST_POLICIES:
            raise ValueError(f"request_decisions must be one of {REQUEST_POLICIES}, got {self.request_decisions!r}")

    @classmethod
    def from_params(cls, params: object) -> RuleParams:
        return cls(
            age_of_own_consent=params.age_of_own_consent,  # type: ignore[attr-defined]
            cohort_first_birth_date=params.cohort_first_birth_date,  # type: ignore[attr-defined]
            cohort_last_birth_date=params.cohort_last_birth_date,  # type: ignore[attr-defined]
            young_person_refusal_covers=params.young_person_refusal_covers,  # type: ignore[attr-defined]
            request_decisions=params.request_decisions,  # type: ignore[attr-defined]
        )


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months; a day the month lacks becomes its last day (31 Jan + 1 month = 28/29 Feb).

    This is how the ICO counts "one month" to answer a request.

    Examples
    --------
    >>> add_months(dt.date(2024, 1, 31), 1)
    datetime.date(2024, 2, 29)
    >>> add_months(dt.date(2023, 11, 15), 3)
    datetime.date(2024, 2, 15)
    """
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(received: dt.date, *, extended: bool = False) -> dt.date:
    """When a request received on ``received`` must be answered (rule ``request-decision``)."""
    return add_months(received, EXTENDED_MONTHS if extended else DUE_MONTHS)


@dataclass(frozen=True)
class Event:
    """One event, as the rules see it.

    ``key`` is the register's key of the event (a decision names its request
    by it); ``details`` its non-personal details; ``request`` (for a
    decision) the request it decides, when that is in the same case.
    """

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
    key: str = ""
    details: Mapping[str, object] = field(default_factory=dict)
    request: Event | None = None

    @property
    def order(self) -> tuple[dt.date, int, int]:
        return (self.date, ORIGIN_RANK.get(self.origin, len(ORIGIN_RANK)), self.seq)

    @property
    def level(self) -> str:
        """A withdrawal's level (``no_use`` unless recorded); empty for anything else."""
        if self.kind == "consent" and self.decision == "withdrawn":
            return str(self.details.get("level") or "no_use")
        return ""

    @property
    def outcome(self) -> str:
        """A decision's outcome (``granted``, ``refused`` or ``extended``); empty for anything else."""
        return str(self.details.get("outcome") or "") if self.kind == "decision" else ""

    def describe(self) -> str:
        who = PERSON.get(self.person, self.person)
        if self.kind == "consent":
            verb = {
                "granted": "gave permission for",
                "refused": "refused permission for",
                "withdrawn": "withdrew permission for",
                "no_answer": "did not answer the question on",
            }.get(self.decision or "", str(self.decision))
            text = f"{who} {verb} linking {SCOPE_NAME.get(self.scope or '', self.scope)}"
            if self.level and self.level != "no_use":
                text += f" (level: {LEVEL_NAME.get(self.level, self.level)})"
            return text
        if self.kind == "decision":
            subject = f"{self.request.describe()} (received {self.request.date})" if self.request else "a request"
            verb = OUTCOME_VERB.get(self.outcome, self.outcome or "decided on")
            return f"the study {verb}: {subject}"
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
    """How one event was treated in a replay.

    ``verdict`` is ``applied``, ``ignored``, ``after as-of``, ``pending``
    (a request awaiting a decision) or ``refused`` (a request refused).
    ``effect`` names what an erasure took (``case``, ``parent`` or
    ``young_person``) on the step that made it take effect.
    """

    event: Event
    verdict: str
    rule: str
    note: str
    effect: str = ""


@dataclass
class CaseState:
    """One case's state on ``as_of`` and the steps that led there.

    The four permission flags (:data:`FLAGS`) are set when the replay
    finishes (:func:`replay_case`) or by the combination of two replays
    (rule ``later-stop``); everything else in a status row follows from them
    and the facts below.
    """

    survey_id: str
    as_of: dt.date
    consent_parent_answers: str = "not_asked"
    consent_child_answers: str = "not_asked"
    child_scope_governed_by: str = "parent"
    aged_16_or_over: bool | None = False
    restricted: bool = False
    erased: bool = False
    rectified_on: str = ""
    later_request_applied: bool = False
    reason: str = ""
    steps: list[Step] = field(default_factory=list)
    rules_used: list[str] = field(default_factory=list)
    may_link_parent_answers: bool = False
    may_link_child_answers: bool = False
    may_analyse_parent_answers: bool = True
    may_analyse_child_answers: bool = True
    # supporting facts for the reason
    parent_answers_event: Event | None = None
    child_answers_event: Event | None = None
    restricted_by: dict[str, dt.date] = field(default_factory=dict)
    objections: dict[str, Event] = field(default_factory=dict)
    erased_parts: dict[str, Event] = field(default_factory=dict)
    erasure_event: Event | None = None
    young_person_dissent: Event | None = None
    no_contact: dict[str, Event] = field(default_factory=dict)
    pending: list[Event] = field(default_factory=list)
    #: earliest and latest possible birthday of own consent, and whether the
    #: date of birth was known (rule ``dob-unknown``)
    consent_age_from: tuple[dt.date, dt.date] | None = None
    dob_known: bool = True
    refusal_covers: str = "npd_record"

    @property
    def objected(self) -> bool:
        return bool(self.objections)

    @property
    def objection_event(self) -> Event | None:
        return min(self.objections.values(), key=lambda e: e.order) if self.objections else None

    @property
    def may_analyse(self) -> bool:
        return self.may_analyse_parent_answers or self.may_analyse_child_answers

    @property
    def send_for_linkage(self) -> bool:
        return self.may_link_parent_answers or self.may_link_child_answers

    @property
    def npd_record_closed(self) -> str:
        """Why the young person's NPD record may not be linked at all ("" if it may)."""
        if "young_person" in self.erased_parts:
            return "erasure"
        if "young_person" in self.objections:
            return "objection"
        if self.young_person_dissent is not None and self.refusal_covers == "npd_record":
            return "refusal"
        return ""

    def row(self) -> dict[str, object]:
        who = sorted(self.objections)
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
            "may_analyse_parent_answers": self.may_analyse_parent_answers,
            "may_analyse_child_answers": self.may_analyse_child_answers,
            "objected_by": "both" if len(who) == 2 else (who[0] if who else None),
            "erased_part": next(iter(self.erased_parts), None) if not self.erased else None,
            "young_person_refused_on": self.young_person_dissent.date.isoformat() if self.young_person_dissent else None,
            "no_further_contact": bool(self.no_contact),
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
    return json.loads(str(value)) if str(value).strip() else None


def _details(value: object) -> Mapping[str, object]:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, Mapping):
        return value
    text = str(value).strip()
    return json.loads(text) if text else {}


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text else None


class UnreadableEvent(ValueError):
    """An event the rules cannot read (a date that does not exist, say), with its reference."""

    def __init__(self, ref: str, problem: str) -> None:
        self.ref = ref
        self.problem = problem
        super().__init__(f"event {ref}: {problem}")


def to_events(events: pd.DataFrame) -> list[Event]:
    """Convert an events frame (:data:`EVENT_COLUMNS`) into :class:`Event` objects.

    A decision is given the request it decides (``Event.request``) when the
    request is in the frame.

    Raises
    ------
    UnreadableEvent
        For an event whose date cannot be read, naming it.
    """
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"events frame lacks column(s) {missing}")
    out = []
    has = {c: c in events.columns for c in EXPLAIN_COLUMNS}
    for rec in events.to_dict("records"):
        when = parse_date(rec["effective_date"])
        ref = str(rec["event_ref"]) if has["event_ref"] and _text(rec["event_ref"]) else str(rec["seq"])
        if when is None:
            raise UnreadableEvent(ref, f"its date {rec['effective_date']!r} is not a date that exists (YYYY-MM-DD)")
        try:
            details = _details(rec["details"]) if has["details"] else {}
            payload = _payload(rec["payload"])
        except (ValueError, TypeError) as exc:
            raise UnreadableEvent(ref, f"its details cannot be read ({exc})") from None
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
                payload=payload,
                ref=ref,
                contact=str(rec["contact"]) if has["contact"] and _text(rec["contact"]) else "",
                source=str(rec["source"]) if has["source"] and _text(rec["source"]) else "",
                key=str(rec["event_key"]) if has["event_key"] and _text(rec["event_key"]) else "",
                details=details,
            )
        )
    return _attach_requests(out)


def _attach_requests(events: list[Event]) -> list[Event]:
    """Decisions with their request attached (``Event.request``), when it is among ``events``."""
    by_key = {e.key: e for e in events if e.key and e.kind in REQUEST_KINDS}
    if not by_key:
        return events
    return [
        replace(e, request=by_key[str(e.details.get("request"))])
        if e.kind == "decision" and e.request is None and str(e.details.get("request")) in by_key
        else e
        for e in events
    ]


# --- the replay of one case ----------------------------------------------------


def _final_decisions(ordered: list[Event]) -> dict[str, Event]:
    """Request key -> its first final decision (granted or refused) after it: a request is decided once.

    A decision replayed before its request (it cannot be, in files that
    pass validation) decides nothing.
    """
    out: dict[str, Event] = {}
    seen: set[str] = set()
    for e in ordered:
        if e.kind in REQUEST_KINDS:
            seen.add(e.key)
        elif e.kind == "decision" and e.outcome in ("granted", "refused") and str(e.details.get("request")) in seen:
            out.setdefault(str(e.details.get("request")), e)
    return out


def _takes_effect(request: Event, final: Mapping[str, Event], decided: set[str], rp: RuleParams) -> dt.date | None:
    """When a request takes effect (rule ``request-decision``), or None if it has not (yet)."""
    decision = final.get(request.key)
    if decision is not None:
        return decision.date if decision.outcome == "granted" else None
    if request.key in decided or rp.request_decisions == "recorded":
        return None
    return request.date


def erasure_part(person: str, governor: str, erased_parts: Iterable[str]) -> str:
    """What an erasure by ``person`` covers (rule ``own-requests``): ``case``, ``parent`` or ``young_person``.

    A parent's covers the whole case while the parent decides for the child
    (``governor`` is ``parent``); a young person's covers their part; an
    erasure that leaves nobody's part behind covers the case.
    """
    part = "case" if person == "parent" and governor == "parent" else person
    if part != "case" and (set(erased_parts) - {part}):
        return "case"
    return part


def replay_case(
    survey_id: str,
    case_events: Iterable[Event],
    date_of_birth: object,
    as_of: dt.date,
    rp: RuleParams = RuleParams(),
    *,
    erasure_parts: Mapping[str, str] | None = None,
) -> CaseState:
    """Replay one case's events up to ``as_of`` (see the module docstring).

    ``erasure_parts`` (event key -> part) fixes what an erasure takes,
    when it was worked out on a fuller history than ``case_events`` (rule
    ``later-stop`` replays without some later withdrawals, which must not
    change what an erasure covered).
    """
    ordered = sorted(_attach_requests(list(case_events)), key=lambda e: e.order)
    state = CaseState(survey_id=str(survey_id), as_of=as_of, refusal_covers=rp.young_person_refusal_covers)
    steps = state.steps
    used: list[str] = []

    def step(event: Event, verdict: str, rule: str, note: str, effect: str = "") -> None:
        steps.append(Step(event, verdict, rule, note, effect))
        if rule not in used:
            used.append(rule)

    final = _final_decisions(ordered)
    extended = {str(e.details.get("request")) for e in ordered if e.kind == "decision" and e.outcome == "extended"}
    any_decision = {str(e.details.get("request")) for e in ordered if e.kind == "decision"}  # even one replayed too early: not granted on receipt

    # Pass 1: the date of birth as held on as_of (granted rectifications in order).
    dob = date_of_birth
    for event in ordered:
        if event.date > as_of or (event.kind == "erasure" and _takes_effect(event, final, any_decision, rp) is not None):
            break
        request = event.request if event.kind == "decision" else event
        if request is None or request.kind != "rectification" or not request.payload or "date_of_birth" not in request.payload:
            continue
        if _takes_effect(request, final, any_decision, rp) == event.date and (event.kind == "decision" or request is event):
            dob = request.payload["date_of_birth"]
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
    seen: dict[str, Event] = {}

    def governor() -> str:
        return "young_person" if yp_asked is not None else "parent"

    def act(request: Event, via: Event, how: str) -> None:
        """Apply a granted request (``via``: the event that granted it, maybe the request itself)."""
        young = request.person == "young_person"
        if young and request.kind == "lift_restriction":
            if request.date < lo:
                step(via, "ignored", "young-person-under-16", f"not valid: the young person was under 16 on {request.date} (16 on {lo})")
                return
            if request.date < hi:
                step(via, "ignored", "dob-unknown", f"not valid: date of birth unknown, cannot confirm they were 16 on {request.date} (certain from {hi})")
                return
        if request.kind == "restriction":
            if request.person in restrictions:
                step(via, "applied", "restriction", f"{how}; already restricted by {PERSON[request.person]} since {restrictions[request.person].date}")
            else:
                restrictions[request.person] = via
                step(via, "applied", "restriction", f"{how}: kept, not linked, not analysed until lifted")
        elif request.kind == "lift_restriction":
            if request.person in restrictions:
                del restrictions[request.person]
                rest = f"; still restricted by {PERSON[next(iter(restrictions))]}" if restrictions else ""
                step(via, "applied", "restriction", f"{how}: restriction lifted" + rest)
            else:
                step(via, "ignored", "restriction", f"no restriction by {PERSON[request.person]} in force to lift")
        elif request.kind == "objection":
            state.objections.setdefault(request.person, via)
            if young:
                covers = "their answers are not analysed, and their NPD record is not linked (the parent's answers stay, unlinked)"
            elif governor() == "parent":
                covers = "the parent's answers, and the child's while the parent decides for them, are not analysed or linked"
            else:
                covers = "the parent's answers are not analysed or linked; the young person decides about their own"
            step(via, "applied", "own-requests" if request.person in ("parent", "young_person") else "objection", f"{how}: {covers}")
            if "objection" not in used:
                used.append("objection")
        elif request.kind == "erasure":
            part = (erasure_parts or {}).get(via.key) or erasure_part(request.person, governor(), state.erased_parts)
            if part == "case":
                state.erased = True
                state.erasure_event = via
                note = "the whole case is removed from every file on the next run"
            else:
                state.erased_parts[part] = via
                note = (
                    "the young person's answers and identifiers are removed and their NPD record is not linked; the parent's answers stay, unlinked"
                    if part == "young_person"
                    else "the parent's answers and contact details are removed; the young person's answers and permission stay"
                )
            step(via, "applied", "erasure", f"{how}: {note}", effect=part)
            if "own-requests" not in used:
                used.append("own-requests")
        elif request.kind == "rectification":
            state.rectified_on = via.date.isoformat()
            step(via, "applied", "rectification", f"{how}: corrected identifiers replace the old ones; re-linked on the next run")
        elif request.kind == "access":
            step(via, "applied", "access", f"{how}: recorded; changes nothing")
        else:
            step(via, "ignored", "as-of", f"unknown kind {request.kind!r}")

    for event in ordered:
        if event.date > as_of:
            step(event, "after as-of", "as-of", f"dated after {as_of}: not replayed")
            continue
        if state.erased:
            step(event, "ignored", "erasure", "the case was erased earlier; nothing after it counts")
            continue
        if event.kind != "decision" and event.person in state.erased_parts:
            step(event, "ignored", "erasure", f"{PERSON[event.person]}'s part was erased on {state.erased_parts[event.person].date}; nothing of theirs after it counts")
            continue
        young = event.person == "young_person"
        if event.kind == "consent":
            allows = event.decision == "granted"
            stop = event.decision in ("refused", "withdrawn")
            if event.level == "no_contact":
                state.no_contact.setdefault(event.person, event)
                step(event, "applied", "withdrawal-level", "no further contact: not approached again; linkage and use continue as permitted")
                continue
            rule_stop = "withdrawal" if event.decision == "withdrawn" else "latest-decision"
            level_note = f" (level {LEVEL_NAME[event.level]}: data linked at an earlier run may still be used)" if event.level == "no_linkage" else ""
            if event.level == "no_linkage" and "withdrawal-level" not in used:
                used.append("withdrawal-level")
            if event.scope == "parent_answers":
                if young:
                    step(event, "ignored", "parent-scope", "only the parent decides about the parent's answers")
                    continue
                parent_pa_asked = True
                if event.decision == "no_answer":
                    step(event, "applied", "no-answer", "no decision: no permission given, none taken away")
                else:
                    parent_pa = event
                    step(event, "applied", rule_stop, "now the decision in force for the parent's answers" + level_note)
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
                    note = "now the decision in force for the child's answers" + level_note
                    if allows and state.young_person_dissent is not None:
                        note += f"; the young person's refusal of {state.young_person_dissent.date} still stands"
                    step(event, "applied", rule_stop if stop else rule, note)
            elif event.scope == "child_answers":
                if event.date < lo:
                    # Under 16 (certainly, when the date of birth is unknown).
                    if stop:
                        state.young_person_dissent = event
                        step(event, "applied", "young-person-dissent", f"counts at any age: the young person's refusal stands from {event.date}" + level_note)
                        if "young-person-refusal-covers" not in used:
                            used.append("young-person-refusal-covers")
                    elif allows and state.young_person_dissent is not None:
                        state.young_person_dissent = None
                        step(event, "applied", "young-person-under-16", f"lifts their own earlier refusal; gives no permission: under 16 (16 on {lo}) the parent decides")
                    else:
                        step(event, "ignored", "young-person-under-16", f"not valid: the young person was under 16 on {event.date} (16 on {lo}); the parent decides")
                    continue
                first = yp_asked is None
                if first:
                    yp_asked = event
                if allows and event.date < hi:
                    lifted = state.young_person_dissent is not None
                    state.young_person_dissent = None
                    step(event, "ignored", "dob-unknown",
                         f"permission not valid: cannot confirm 16 on {event.date}" + ("; counts as having been asked" if first else "")
                         + ("; it lifts their own earlier refusal" if lifted else ""))
                    continue
                note = "asked directly: from now on the young person decides" if first else "now the decision in force for the child's answers"
                if event.decision == "no_answer":
                    step(event, "applied", "no-answer" if not first else "young-person-governs", note + ("; no answer, so no permission" if first else ": no decision, none taken away"))
                else:
                    yp_ca = event
                    if stop:
                        state.young_person_dissent = event
                        if "young-person-refusal-covers" not in used:
                            used.append("young-person-refusal-covers")
                    else:
                        state.young_person_dissent = None
                    step(event, "applied", rule_stop if stop else "young-person-governs", note + level_note)
            else:
                step(event, "ignored", "as-of", f"unknown scope {event.scope!r}")
            continue

        if event.kind in REQUEST_KINDS:
            seen[event.key] = event
            due = str(event.details.get("due_date") or due_date(event.date))
            if _takes_effect(event, final, any_decision, rp) == event.date and event.key not in final:
                act(event, event, "granted on receipt")
            elif event.key in final or event.key in extended or rp.request_decisions == "recorded" or event.key in any_decision:
                step(event, "pending", "request-decision", f"received; awaiting the study's decision (due {due})")
            else:  # pragma: no cover - every case is above
                step(event, "pending", "request-decision", f"received (due {due})")
            continue

        if event.kind == "decision":
            request = event.request
            key = str(event.details.get("request"))
            if request is None or key not in seen:
                step(event, "ignored", "request-decision", "no such request earlier in this case")
                continue
            outcome = event.outcome
            if outcome in ("granted", "refused") and final.get(key) is not event:
                step(event, "ignored", "request-decision", f"the request was already decided on {final[key].date}; a request is decided once")
                continue
            if outcome == "granted":
                act(request, event, f"granted on {event.date}")
            elif outcome == "refused":
                from sendlink.schema.consent import REFUSAL_REASONS

                reason = str(event.details.get("reason") or "")
                step(event, "refused", "request-decision", f"refused ({reason}: {REFUSAL_REASONS.get(reason, 'no reason recorded')}); it changes nothing")
            elif outcome == "extended":
                step(event, "applied", "request-decision", f"time to answer extended; due {event.details.get('due_date') or due_date(request.date, extended=True)}; still open")
            else:
                step(event, "ignored", "request-decision", f"unknown outcome {outcome!r}")
            continue
        step(event, "ignored", "as-of", f"unknown kind {event.kind!r}")

    # Requests still open on as_of.
    decided_by_then = {k for k, d in final.items() if d.date <= as_of}
    state.pending = [e for e in seen.values() if e.key not in decided_by_then and _takes_effect(e, final, any_decision, rp) != e.date]

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
        dissent = state.young_person_dissent
        if dissent is not None:
            # The young person's refusal is the decision in force for their answers (rule young-person-dissent).
            state.child_answers_event = dissent
            state.consent_child_answers = str(dissent.decision)
    if governing_rule not in used:
        used.append(governing_rule)
    state.aged_16_or_over = True if as_of >= hi else False if as_of < lo else None
    state.restricted_by = {p: e.date for p, e in restrictions.items()}
    state.restricted = bool(restrictions)
    _set_flags(state)
    state.rules_used = used
    state.reason = _reason(state)
    return state


def _set_flags(state: CaseState) -> None:
    """The four permission flags from the state's facts (see the module docstring)."""
    blocked = state.restricted or state.erased
    parent_objects = "parent" in state.objections
    covers_child = parent_objects and state.child_scope_governed_by == "parent"
    state.may_analyse_parent_answers = not (blocked or "parent" in state.erased_parts or parent_objects)
    state.may_analyse_child_answers = not (blocked or "young_person" in state.erased_parts or "young_person" in state.objections or covers_child)
    closed = bool(state.npd_record_closed)
    state.may_link_parent_answers = state.consent_parent_answers == "granted" and state.may_analyse_parent_answers and not closed
    state.may_link_child_answers = state.consent_child_answers == "granted" and state.may_analyse_child_answers and not closed


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
        return f"Erased on {e.date} at the request of {PERSON[(e.request or e).person]}: nothing is held, linked or analysed."  # type: ignore[union-attr]
    if not state.steps:
        parts = ["No consent recorded: the household has not been asked (it did not take part)."]
        if conclusion:
            parts.append(_conclusion(False, False, state.may_analyse_parent_answers, state.may_analyse_child_answers))
        return " ".join(parts)
    parts = [f"Parent's answers: {_decision_phrase('parent', state.consent_parent_answers, state.parent_answers_event)}."]
    dissent = state.young_person_dissent
    child_event = state.child_answers_event
    child_who = "young_person" if (dissent is not None and child_event is dissent) else state.child_scope_governed_by
    child = _decision_phrase(child_who, state.consent_child_answers, child_event)
    if state.child_scope_governed_by == "young_person":
        parts.append(f"Child's answers, decided by the young person from 16: {child}.")
    elif dissent is not None and child_event is dissent:
        parts.append(f"Child's answers: {child} (a young person's refusal counts at any age, and stands until they change their mind).")
    elif state.aged_16_or_over is False:
        parts.append(f"Child's answers: {child} (the parent decides while the child is under 16).")
    elif state.child_answers_event is None:
        maybe = "is 16 or over" if state.aged_16_or_over else "may be 16 or over"
        parts.append(f"Child's answers: {child}; the child {maybe} and has not been asked directly yet.")
    else:
        maybe = "is 16 or over" if state.aged_16_or_over else "may be 16 or over"
        parts.append(f"Child's answers: {child}; the child {maybe} but has not been asked yet, so the parent's decision stands.")
    closed = state.npd_record_closed
    if closed == "refusal" and state.consent_parent_answers == "granted":
        parts.append("The young person's refusal closes their NPD record to linkage (policy npd_record), so the parent's answers are not linked either.")
    for who, since in sorted(state.restricted_by.items()):
        parts.append(f"Processing restricted since {since} at the request of {PERSON[who]}: kept, not linked, not analysed.")
    for who, e in sorted(state.objections.items()):
        what = (
            "their answers are not analysed and their NPD record is not linked"
            if who == "young_person"
            else "the parent's answers" + (" and, while the parent decides for the child, the child's" if state.child_scope_governed_by == "parent" else "") + " are not analysed or linked"
        )
        parts.append(f"{PERSON[who].capitalize()} objected on {e.date} to processing for research: {what}.")
    for who, e in sorted(state.erased_parts.items()):
        parts.append(f"{PERSON[who].capitalize()}'s part was erased on {e.date}: their answers and identifiers are gone; the other person's own answers stay.")
    for who, e in sorted(state.no_contact.items()):
        parts.append(f"{PERSON[who].capitalize()} asked on {e.date} not to be contacted again.")
    for e in state.pending:
        parts.append(f"{PERSON[e.person].capitalize()}'s {e.kind.replace('_', ' ')} request of {e.date} awaits a decision (due {e.details.get('due_date') or due_date(e.date)}).")
    if conclusion:
        parts.append(_conclusion(state.may_link_parent_answers, state.may_link_child_answers, state.may_analyse_parent_answers, state.may_analyse_child_answers))
    return " ".join(parts)


def _conclusion(link_pa: bool, link_ca: bool, analyse_pa: bool, analyse_ca: bool = True) -> str:
    if link_pa and link_ca:
        text = "Sent for linkage for the parent's and the child's answers."
    elif link_pa:
        text = "Sent for linkage for the parent's answers only."
    elif link_ca:
        text = "Sent for linkage for the child's answers only."
    else:
        text = "Not sent for linkage."
    if not (analyse_pa or analyse_ca):
        return text + " Answers not analysed."
    if not analyse_pa:
        return text + " Only the young person's answers analysed."
    if not analyse_ca:
        return text + " Only the parent's answers analysed."
    return text + (" Answers analysed." if (link_pa or link_ca) else " Answers analysed unlinked.")


# --- all cases ------------------------------------------------------------------


def _group(events: pd.DataFrame | list[Event]) -> dict[str, list[Event]]:
    items = to_events(events) if isinstance(events, pd.DataFrame) else _attach_requests(list(events))
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
    for col in ("restricted", "objected", "erased", "may_link_parent_answers", "may_link_child_answers", "send_for_linkage", "may_analyse",
                "later_request_applied", "may_analyse_parent_answers", "may_analyse_child_answers", "no_further_contact"):
        frame[col] = frame[col].astype(bool)
    for col in ("objected_by", "erased_part", "young_person_refused_on"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
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
    every event recorded since, except withdrawals at level ``no_linkage``
    or ``no_contact`` recorded after ``as_of`` (they do not undo a run
    before them); restrictions, objections and erasures from either count.
    The result depends on the events and ``as_of`` only.
    """
    grouped = _group(events)
    return {sid: _enforced_case(sid, grouped.get(sid, []), dob, as_of, rp)[0] for sid, dob in _dobs(cases).items()}


def _later_events(evs: list[Event], as_of: dt.date) -> list[Event]:
    """The events the later replay sees: all but withdrawals after ``as_of`` that do not stop an earlier run."""
    return [e for e in evs if not (e.date > as_of and e.level in ("no_linkage", "no_contact"))]


def _enforced_case(sid: str, evs: list[Event], dob: object, as_of: dt.date, rp: RuleParams) -> tuple[CaseState, CaseState | None]:
    """The enforced state of one case, and its replay to its last event if later than ``as_of``."""
    then = replay_case(sid, evs, dob, as_of, rp)
    latest = max((e.date for e in evs), default=as_of)
    if latest <= as_of:
        return then, None
    later = _later_events(evs, as_of)
    if len(later) == len(evs):
        now = replay_case(sid, evs, dob, latest, rp)
    else:
        full = replay_case(sid, evs, dob, latest, rp)
        now = replay_case(sid, later, dob, latest, rp, erasure_parts={s.event.key: s.effect for s in full.steps if s.effect and s.event.key})
    state = _combine(then, now)
    # The holdings carry every rectification recorded (rule
    # ``rectification``), so report the latest.
    state.rectified_on = now.rectified_on or then.rectified_on
    return state, now


def _combine(then: CaseState, now: CaseState) -> CaseState:
    """``then`` with everything ``now`` stops added (rule ``later-stop``).

    Each permission flag is ``then``'s *and* ``now``'s; a scope shows
    ``now``'s decision where ``then`` permitted it and ``now`` does not;
    restrictions, objections, erasures and a young person's refusal of
    either count.
    """
    stopped = [f for f in FLAGS if getattr(then, f) and not getattr(now, f)]
    if not stopped and not (now.erased and not then.erased):
        return then
    pa_later = then.consent_parent_answers == "granted" and now.consent_parent_answers != "granted"
    ca_later = then.consent_child_answers == "granted" and now.consent_child_answers != "granted"
    restricted_by = {**now.restricted_by, **then.restricted_by}
    combined = CaseState(
        survey_id=then.survey_id,
        as_of=then.as_of,
        consent_parent_answers=now.consent_parent_answers if pa_later else then.consent_parent_answers,
        consent_child_answers=now.consent_child_answers if ca_later else then.consent_child_answers,
        child_scope_governed_by=now.child_scope_governed_by if ca_later else then.child_scope_governed_by,
        aged_16_or_over=then.aged_16_or_over,
        restricted=bool(restricted_by),
        erased=then.erased or now.erased,
        rectified_on=then.rectified_on,
        later_request_applied=True,
        steps=then.steps,
        rules_used=[*then.rules_used, *(r for r in ["later-stop"] if r not in then.rules_used)],
        parent_answers_event=now.parent_answers_event if pa_later else then.parent_answers_event,
        child_answers_event=now.child_answers_event if ca_later else then.child_answers_event,
        restricted_by=restricted_by,
        objections={**now.objections, **then.objections},
        erased_parts={**now.erased_parts, **then.erased_parts},
        erasure_event=then.erasure_event or now.erasure_event,
        young_person_dissent=then.young_person_dissent or now.young_person_dissent,
        no_contact={**now.no_contact, **then.no_contact},
        pending=then.pending,
        consent_age_from=then.consent_age_from,
        dob_known=then.dob_known,
        refusal_covers=then.refusal_covers,
    )
    for flag in FLAGS:
        setattr(combined, flag, getattr(then, flag) and getattr(now, flag))
    if combined.erased:
        for flag in FLAGS:
            setattr(combined, flag, False)
        combined.reason = _reason(combined)
        return combined
    later = [s for s in now.steps if s.event.date > then.as_of and s.verdict == "applied" and _stops(s.event)]
    told = "; ".join(f"{s.event.describe()} on {s.event.date}" for s in later) or "a later decision removed permission"
    combined.reason = (
        f"As of {then.as_of}: {_reason(then, conclusion=False)} Later, {told}: honoured now. "
        + _conclusion(combined.may_link_parent_answers, combined.may_link_child_answers, combined.may_analyse_parent_answers, combined.may_analyse_child_answers)
    )
    return combined


def _stops(event: Event) -> bool:
    """Does the event stop processing (so rule ``later-stop`` honours it)?"""
    if event.kind == "consent":
        return event.decision in _STOP_DECISIONS and event.level in ("", "no_use")
    if event.kind == "decision":
        return event.outcome == "granted" and event.request is not None and event.request.kind in _STOP_KINDS
    return event.kind in _STOP_KINDS


def enforced_status(
    events: pd.DataFrame | list[Event],
    cases: pd.DataFrame,
    as_of: dt.date,
    rp: RuleParams = RuleParams(),
) -> pd.DataFrame:
    """The table the pipeline writes: :func:`enforced_states` as a frame."""
    return states_frame(enforced_states(events, cases, as_of, rp).values())


def erasures(events: pd.DataFrame | list[Event], cases: pd.DataFrame, rp: RuleParams = RuleParams()) -> dict[str, dict[str, str]]:
    """Every erasure that has taken effect, whatever its date: survey id -> {event key: part}.

    ``part`` is ``case``, ``parent`` or ``young_person`` (rule
    ``own-requests``), and the key is that of the event that made the
    erasure take effect (the request, when granted on receipt, or the
    decision that granted it). Erased data stay erased on every later run,
    whatever the as-of date, so the survey organisation's files are built
    from this, and the register marks the same events.
    """
    grouped = _group(events)
    out: dict[str, dict[str, str]] = {}
    for sid, dob in _dobs(cases).items():
        evs = grouped.get(sid, [])
        if not any(e.kind in ("erasure", "decision") for e in evs):
            continue
        latest = max(e.date for e in evs)
        found = {s.event.key or str(s.event.seq): s.effect for s in replay_case(sid, evs, dob, latest, rp).steps if s.effect}
        if found:
            out[sid] = found
    return out


# --- the predicates the pipeline's stages share ----------------------------------------


def _flags(status_frame: pd.DataFrame, *columns: str) -> pd.Series:
    missing = [c for c in (*columns, "restricted", "erased") if c not in status_frame.columns]
    if missing:
        raise ValueError(f"consent status lacks column(s) {missing}")
    blocked = status_frame["restricted"].astype(bool) | status_frame["erased"].astype(bool)
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


def analysis_permitted(status_frame: pd.DataFrame, scope: str | None = None) -> pd.Series:
    """Boolean per row: may the case's survey answers (of ``scope``, or of either) be analysed, linked or not?

    A status table written before per-person analysis flags existed (no
    ``may_analyse_<scope>`` column) falls back on ``may_analyse``.
    """
    if scope is None:
        return _flags(status_frame, "may_analyse")
    if scope not in SCOPE_NAME:
        raise ValueError(f"scope must be one of {list(SCOPE_NAME)}, got {scope!r}")
    column = f"may_analyse_{scope}"
    return _flags(status_frame, column if column in status_frame.columns else "may_analyse")


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
        for key in (c for c in STATUS_COLUMNS[1:] if c not in ("as_of", "reason")):
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
                        ("stops processing, so honoured now; " + ls.note) if honoured else _not_yet(s.event),
                    )
                )
            else:
                steps.append(s)
    return Explanation(sid, as_of, state, steps, enforced=True)


def _not_yet(event: Event) -> str:
    if event.level in ("no_linkage", "no_contact"):
        return f"dated after the as-of date: a withdrawal at level {LEVEL_NAME[event.level]} does not undo the linkage of a run before it"
    return "dated after the as-of date: a permission or neutral event does not count yet"


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
            request = st.event.request if st.event.kind == "decision" else st.event
            if st.verdict == "applied" and request is not None and request.kind == "rectification" and request.payload:
                values.update(request.payload)
        if values:
            out[sid] = values
    return out

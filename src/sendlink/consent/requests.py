"""Data-subject rights requests: checked, recorded with their decision, appended to the register.

:func:`record_request` is what ``sendlink rights ...`` calls, :func:`record_decision`
what ``sendlink rights decide`` calls, :func:`pending` what ``sendlink rights
pending`` lists. A request is checked twice: first read-only (so a refused
request touches no file, not even to create the register), then again inside
the register's write transaction, so two requests made at the same moment
cannot both pass a check only one should (two withdrawals of the same
permission, say).

A request is a decision, not just an event (rule ``request-decision``): it
is recorded when received, with how the requester's identity was checked and
its due date (one calendar month later); its outcome is *granted*, *refused*
(for a reason of :data:`~sendlink.schema.consent.REFUSAL_REASONS`) or
*extended* (two more months, for a complex request). Under the default
policy (``consent.request_decisions: grant_on_receipt``) a request recorded
without an outcome is granted on the date received, which is the behaviour
before decisions existed; a refusal or an extension is recorded as a
decision event beside it. Under ``recorded`` a request without an outcome
stays open until ``sendlink rights decide`` records one. A withdrawal of
permission is not a rights request: it is always honoured.

A request the command line refuses to record raises
:class:`~sendlink.errors.RequestError` with the reason and changes nothing.
Reasons:

* an unknown survey id, or a case (or the person's part of it) already erased;
* a date in the future, or before the case's first contact with the study;
* a young person under 16 asking for access, a rectification or the lifting
  of a restriction (a parent makes those for a child under 16); a young
  person's withdrawal, restriction, objection and erasure count at any age;
  lifting a restriction needs a young person known to be 16;
* a withdrawal of a permission not in force, or by someone who does not
  decide that scope (only the parent decides about the parent's answers;
  once the young person has been asked, only they decide about theirs);
* restricting twice, lifting a restriction never made, objecting twice;
* a rectification of a field that cannot be corrected, a malformed value,
  or no change at all;
* an outcome that does not fit: a refusal without a reason from the list, a
  reason without a refusal, a decision on a request already decided.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from sendlink.consent import keys
from sendlink.consent import rules as R
from sendlink.consent.identifiers import check_corrections
from sendlink.consent.register import NewEvent
from sendlink.consent.stage import (
    Context,
    RawSurvey,
    apply_corrections,
    current_events,
    erased_parts,
    events_frame,
    fieldwork_events,
)
from sendlink.errors import RequestError
from sendlink.schema.consent import (
    IDENTITY_CHECKS,
    OUTCOMES,
    PERSONS,
    REFUSAL_REASONS,
    SOURCES,
    WITHDRAWAL_LEVELS,
)

#: Command-line action -> register event kind.
ACTIONS = {
    "access": "access",
    "rectify": "rectification",
    "erase": "erasure",
    "restrict": "restriction",
    "unrestrict": "lift_restriction",
    "object": "objection",
    "withdraw": "consent",
}

#: Requests a young person under 16 may not make themself (a parent makes them).
_PARENT_MAKES_UNDER_16 = {"access", "rectification", "lift_restriction"}

#: What each recorded request does, in words.
EFFECTS = {
    "access": "A copy of everything held was written.",
    "rectification": "The corrected identifiers replace the old ones and the case is re-linked on the next run.",
    "erasure": "What the erasure covers (see `sendlink consent explain`) was deleted from the register now, and is removed from every file on the next run.",
    "restriction": "The data are kept but not linked or analysed from the next run, until the restriction is lifted.",
    "lift_restriction": "Processing may resume from the next run (if no other restriction is in force).",
    "objection": "The answers the objection covers are excluded from linkage and analysis from the next run.",
    "consent": "From the next run the case is not linked for this scope, and its linked NPD data leave the research extract; the answers are still used, unlinked.",
}

#: A withdrawal's effect by level (``no_use`` is :data:`EFFECTS` ``consent``).
LEVEL_EFFECTS = {
    "no_contact": "The person will not be contacted again; linkage and use continue as permitted.",
    "no_linkage": "From the next run the case is not linked for this scope; data linked at a run before today may still be used.",
}


@dataclass(frozen=True)
class Request:
    """A rights request as made on the command line.

    ``outcome`` ``None`` means the policy's default (granted on receipt
    under ``grant_on_receipt``; open under ``recorded``).
    """

    action: str
    survey_id: str
    person: str = "parent"
    on: dt.date | None = None
    source: str = "letter"
    scope: str = "all"  # withdraw only: parent_answers, child_answers or all
    fields: Mapping[str, str] | None = None  # rectify only
    level: str = "no_use"  # withdraw only
    identity: str = "not_recorded"
    outcome: str | None = None
    reason: str | None = None
    decided_on: dt.date | None = None


@dataclass
class Recorded:
    """A request (or a decision) that was recorded."""

    request: Request
    events: list[NewEvent]
    seqs: list[int] = field(default_factory=list)
    note: str = ""

    @property
    def ref(self) -> str:
        """The request's reference (``sendlink rights decide REF``): the first 12 characters of its register key."""
        first = self.events[0]
        return str(first.key or "")[:12]

    @property
    def granted(self) -> bool:
        """Was the request granted now (on receipt, or by a decision recorded with it)?"""
        return self.note.startswith("granted")

    @property
    def message(self) -> str:
        r = self.request
        first = self.events[0]
        who = R.PERSON[r.person]
        if first.kind == "consent":
            scopes = " and ".join(R.SCOPE_NAME[e.scope] for e in self.events if e.kind == "consent")  # type: ignore[index]
            level = first.details.get("level", "no_use")
            what = f"withdrawal ({R.LEVEL_NAME[str(level)]}) by {who} of permission to link {scopes}"
            effect = LEVEL_EFFECTS.get(str(level), EFFECTS["consent"])
            if r.person == "young_person" and level != "no_contact":
                effect += " A young person's withdrawal counts at any age" + (
                    "; it closes their NPD record to linkage, so the parent's answers are not linked either."
                    if self.note == "npd_record" else "."
                )
            return f"recorded {what} for case {r.survey_id}, effective {first.effective_date}. {effect}"
        if first.kind == "rectification":
            what = f"rectification by {who} of {', '.join(sorted(first.payload or {}))}"
        else:
            what = f"{first.kind.replace('_', ' ')} request by {who}"
        head = f"recorded {what} for case {r.survey_id}, received {first.effective_date} (ref {self.ref}, due {R.due_date(dt.date.fromisoformat(first.effective_date))})"
        if self.granted:
            return f"{head}; {self.note}. {EFFECTS[first.kind]}"
        return f"{head}; {self.note}."


def _date(value: dt.date | None, today: dt.date) -> dt.date:
    on = value or today
    if on > today:
        raise RequestError(f"the date {on} is in the future (today is {today}); a request takes effect when it is received")
    return on


def _events_of(events: pd.DataFrame, survey_id: str) -> pd.DataFrame:
    return events[events["survey_id"].astype(str) == survey_id]


def _check_outcome(r: Request, ctx: Context) -> str | None:
    """The outcome to record with a request (None: leave it to the policy)."""
    if r.outcome is not None and r.outcome not in OUTCOMES:
        raise RequestError(f"outcome must be one of {', '.join(OUTCOMES)}, got {r.outcome!r}")
    if r.outcome == "refused" and r.reason not in REFUSAL_REASONS:
        raise RequestError(f"a refused request needs --reason, one of: {', '.join(REFUSAL_REASONS)}")
    if r.reason is not None and r.outcome != "refused":
        raise RequestError("--reason is for a refused request (--outcome refused)")
    if r.identity not in IDENTITY_CHECKS:
        raise RequestError(f"identity check must be one of {', '.join(IDENTITY_CHECKS)}, got {r.identity!r}")
    if r.action == "withdraw" and r.outcome is not None:
        raise RequestError("a withdrawal of permission is not a rights request that can be refused or extended: it is always honoured")
    return r.outcome


def _key_maker(ctx: Context, position: str | None):
    """How the events of one request or decision get their register keys.

    Inside the register transaction (``position``: the number of events in
    the register, which grows with every event appended and never shrinks:
    the hash chain catches a deletion) a key is a keyed hash of that
    position and the event's role in the request: unique in the register,
    unguessable without the key, and the same when the same steps are
    replayed on a register with the same events (so a notebook that records
    requests in a copy shows the same references on every run, whenever the
    register was made). For the read-only check before the transaction,
    whose events are never stored, a random key.
    """
    def new_key(role: str) -> str:
        if position is None:
            return uuid.uuid4().hex
        return keys.keyed_hash(ctx.register.key, "cli-event", f"{position}|{role}")

    return new_key


def plan(ctx: Context, request: Request, raw: RawSurvey, events: pd.DataFrame, today: dt.date, *, position: str | None = None) -> list[NewEvent]:
    """Check ``request`` against the current events; return the events to append.

    The request event comes first; a decision recorded with it (an outcome
    other than the policy's default) follows; an erasure that takes effect
    now carries ``erases`` (what the rules say it covers).

    ``position`` (inside the register transaction: the number of events
    in the register) makes the events' keys (:func:`_key_maker`).

    Raises
    ------
    RequestError
        Saying why the request is refused.
    """
    r = request
    new_key = _key_maker(ctx, position)
    sid = str(r.survey_id)
    if r.action not in ACTIONS:
        raise RequestError(f"unknown action {r.action!r}; one of {', '.join(ACTIONS)}")
    if r.person not in PERSONS:
        raise RequestError(f"person must be one of {', '.join(PERSONS)}, got {r.person!r}")
    if r.source not in SOURCES:
        raise RequestError(f"source must be one of {', '.join(SOURCES)}, got {r.source!r}")
    if r.level not in WITHDRAWAL_LEVELS:
        raise RequestError(f"level must be one of {', '.join(WITHDRAWAL_LEVELS)}, got {r.level!r}")
    outcome = _check_outcome(r, ctx)
    on = _date(r.on, today)
    decided_on = _date(r.decided_on, today) if r.decided_on else on
    if decided_on < on:
        raise RequestError(f"the decision date {decided_on} is before the request was received ({on})")
    if sid not in set(raw.survey_ids):
        raise RequestError(
            f"unknown survey id {sid!r}: no such case in {ctx.files.relative(ctx.files.contacts)} or {ctx.files.relative(ctx.files.sample)}"
        )
    case_events = _events_of(events, sid)
    cases = raw.cases()
    one = cases[cases["survey_id"] == sid]
    gone = set(erased_parts(events).get(ctx.register.case_key(sid), set()))
    for found in R.erasures(case_events, one, ctx.rule_params).values():
        gone |= set(found.values())
    if "case" in gone:
        marked = case_events[[isinstance(d, Mapping) and d.get("erases") == "case" for d in case_events["details"]]] if "details" in case_events else case_events.iloc[0:0]
        whole = [s.event.date for s in R.replay_case(sid, R.to_events(case_events), one["date_of_birth"].iloc[0] if len(one) else None,
                                                     dt.date.max, ctx.rule_params).steps if s.effect == "case"]
        when = min(whole) if whole else (marked["effective_date"].min() if len(marked) else "an earlier date")
        raise RequestError(f"case {sid} was erased on {when}: nothing about it is held, so there is nothing to act on")
    if r.person in gone:
        raise RequestError(f"{R.PERSON[r.person]}'s part of case {sid} was erased: nothing of theirs is held, so there is nothing to act on")
    if len(case_events):
        first = min(case_events["effective_date"])
        if on.isoformat() < first:
            raise RequestError(f"the date {on} is before the case's first contact with the study ({first})")
    state = R.case_states(case_events, one, on, ctx.rule_params)[sid]
    lo, hi = state.consent_age_from  # type: ignore[misc]
    kind = ACTIONS[r.action]
    if r.person == "young_person":
        if on < lo and kind in _PARENT_MAKES_UNDER_16:
            raise RequestError(
                f"the young person was under 16 on {on} (16 on {lo}): a parent makes {kind.replace('_', ' ')} requests for a child under 16 "
                "(use --person parent); a young person's withdrawal, restriction, objection or erasure counts at any age"
            )
        if kind == "lift_restriction" and on < hi:
            raise RequestError(
                f"the child's date of birth is not known, so it cannot be confirmed that the young person was 16 on {on}; "
                "correct the date of birth first (rights rectify) or ask the parent"
            )
    request_key = new_key("request")

    def event(**extra: object) -> NewEvent:
        base: dict[str, object] = dict(survey_id=sid, person=r.person, kind=kind, effective_date=on.isoformat(), contact="ad_hoc",
                                       source=r.source, origin="cli", key=request_key)
        base.update(extra)
        return NewEvent(**base)  # type: ignore[arg-type]

    if kind == "consent":
        if r.level == "no_contact":
            scope = r.scope if r.scope != "all" else ("parent_answers" if r.person == "parent" else "child_answers")
            if scope not in R.SCOPE_NAME:
                raise RequestError(f"scope must be parent_answers, child_answers or all, got {r.scope!r}")
            return [event(scope=scope, decision="withdrawn", details={"level": "no_contact"})]
        details = {"level": r.level} if r.level != "no_use" else {}
        scopes = _withdrawable(r, state)
        return [event(scope=s, decision="withdrawn", details=details, key=new_key(f"withdrawal:{s}")) for s in scopes]
    if kind == "restriction" and r.person in state.restricted_by:
        raise RequestError(f"processing is already restricted at the request of {R.PERSON[r.person]} since {state.restricted_by[r.person]}")
    if kind == "lift_restriction" and r.person not in state.restricted_by:
        others = ", ".join(f"{R.PERSON[p]} (since {d})" for p, d in state.restricted_by.items())
        raise RequestError(
            f"{R.PERSON[r.person]} has no restriction in force to lift" + (f"; restricted by {others}, who must lift it" if others else "")
        )
    if kind == "objection" and r.person in state.objections:
        raise RequestError(f"{R.PERSON[r.person]} already objected on {state.objections[r.person].date}")
    pending_same = [e for e in state.pending if e.kind == kind and e.person == r.person]
    if pending_same:
        raise RequestError(f"{R.PERSON[r.person]}'s {kind.replace('_', ' ')} request of {pending_same[0].date} is still open (ref {pending_same[0].key[:12]}): decide it with `sendlink rights decide`")
    details: dict[str, object] = {"identity_check": r.identity}
    payload = None
    if kind == "rectification":
        try:
            values = check_corrections(dict(r.fields or {}), r.person, today)
        except ValueError as exc:
            raise RequestError(f"malformed rectification: {exc}") from None
        contacts = raw.contacts[raw.contacts["survey_id"].astype(str) == sid]
        if contacts.empty:
            raise RequestError(f"case {sid} did not respond: no identifiers or contact details are held to correct")
        current = apply_corrections(contacts, R.corrections(case_events, one, ctx.rule_params)).iloc[0]
        same = [f for f, v in values.items() if f in current.index and _same(current[f], v)]
        if len(same) == len(values):
            raise RequestError(f"nothing to correct: {', '.join(same)} already held as given")
        payload = {f: v for f, v in values.items() if f not in same}
        details["fields"] = sorted(payload)
    planned = [event(details=details, payload=payload)]
    explicit = outcome is not None and not (outcome == "granted" and ctx.rule_params.request_decisions == "grant_on_receipt" and decided_on == on)
    if explicit:
        decision: dict[str, object] = {"request": request_key, "outcome": outcome}
        if outcome == "refused":
            decision["reason"] = r.reason
        if outcome == "extended":
            decision["due_date"] = R.due_date(on, extended=True).isoformat()
        planned.append(NewEvent(survey_id=sid, person=r.person, kind="decision", effective_date=decided_on.isoformat(), contact="ad_hoc",
                                source=r.source, origin="cli", details=decision, key=new_key("decision")))
    return _mark_erasures(ctx, planned, events, one)


def _mark_erasures(ctx: Context, planned: list[NewEvent], events: pd.DataFrame, one: pd.DataFrame) -> list[NewEvent]:
    """``planned`` with ``erases`` on the event that makes an erasure take effect (if one does)."""
    if not any(e.kind in ("erasure", "decision") for e in planned):
        return planned
    frame = events_frame(events, planned, ctx.register, list(one["survey_id"]))
    frame = frame[frame["survey_id"].astype(str).isin(set(one["survey_id"].astype(str)))]
    marks: dict[str, str] = {}
    for found in R.erasures(frame, one, ctx.rule_params).values():
        marks.update(found)
    return [replace(e, details={**e.details, "erases": marks[e.key]}) if e.key in marks else e for e in planned]


def _same(held: object, new: str) -> bool:
    if held is None or (isinstance(held, float) and pd.isna(held)):
        return new == ""
    return str(held).strip() == new


def _withdrawable(r: Request, state: R.CaseState) -> list[str]:
    """The scopes ``r`` withdraws, or a RequestError saying why none."""
    scopes = ["parent_answers", "child_answers"] if r.scope == "all" else [r.scope]
    if any(s not in R.SCOPE_NAME for s in scopes):
        raise RequestError(f"scope must be parent_answers, child_answers or all, got {r.scope!r}")
    ok, why = [], []
    for scope in scopes:
        if scope == "parent_answers":
            if r.person != "parent":
                why.append("only the parent decides about linking the parent's answers")
                continue
            decision, governor = state.consent_parent_answers, "parent"
        else:
            decision, governor = state.consent_child_answers, state.child_scope_governed_by
            if r.person == "parent" and governor == "young_person":
                when = state.child_answers_event.date if state.child_answers_event else "their being asked"
                why.append(f"the young person decides about linking the child's answers (asked directly; last decision {when}); the parent cannot withdraw it")
                continue
        if decision != "granted":
            phrase = R._decision_phrase(governor, decision, state.child_answers_event if scope == "child_answers" else state.parent_answers_event)
            if scope == "child_answers" and state.young_person_dissent is not None and state.child_answers_event is state.young_person_dissent:
                phrase = R._decision_phrase("young_person", decision, state.young_person_dissent)
            why.append(f"no permission to withdraw for {R.SCOPE_NAME[scope]}: {phrase}")
            continue
        ok.append(scope)
    if not ok:
        raise RequestError("; ".join(why))
    return ok


def _decision_note(ctx: Context, planned: list[NewEvent]) -> str:
    first = planned[0]
    decision = next((e for e in planned if e.kind == "decision"), None)
    if first.kind == "consent":
        return ctx.rule_params.young_person_refusal_covers
    if decision is None:
        if ctx.rule_params.request_decisions == "grant_on_receipt":
            return "granted on receipt (consent.request_decisions: grant_on_receipt)"
        return f"open until a decision is recorded (consent.request_decisions: recorded): `sendlink rights decide {str(first.key)[:12]} --grant` or --refuse REASON or --extend"
    outcome = str(decision.details["outcome"])
    if outcome == "granted":
        return f"granted on {decision.effective_date}"
    if outcome == "refused":
        reason = str(decision.details.get("reason"))
        return f"refused on {decision.effective_date} ({reason}: {REFUSAL_REASONS[reason]}); nothing changes"
    return f"time to answer extended to {decision.details.get('due_date')}; still open"


def record_request(
    ctx: Context,
    request: Request,
    *,
    today: dt.date | None = None,
    raw: RawSurvey | None = None,
    write: object = None,
) -> Recorded:
    """Check ``request`` and append its events (and any decision recorded with it) to the register.

    Parameters
    ----------
    today
        The date requests are checked against (defaults to the system date:
        only here, where "a date in the future" needs it, is the clock read).
    write
        Optional callable run inside the register transaction after the
        events are appended (the access request stages its file there), so
        that if it fails nothing is recorded. It is called only when the
        request is granted now.

    Raises
    ------
    RequestError
        If the request is refused; nothing is changed.
    """
    today = today or dt.date.today()
    raw, events = current_events(ctx, raw)
    plan(ctx, request, raw, events, today)  # read-only check first
    with ctx.register.transaction() as tx:
        locked = events_frame(tx.events(), fieldwork_events(raw, ctx.register), ctx.register, raw.survey_ids)
        planned = plan(ctx, request, raw, locked, today, position=str(tx.length))
        seqs = [tx.append(e) for e in planned]
        recorded = Recorded(request, planned, seqs, _decision_note(ctx, planned))
        if callable(write) and recorded.granted:
            write()
    return recorded


# --- decisions recorded later -------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """A decision on a request already recorded (``sendlink rights decide REF``)."""

    ref: str
    outcome: str
    on: dt.date | None = None
    reason: str | None = None
    source: str = "letter"


def find_request(events: pd.DataFrame, ref: str) -> pd.Series:
    """The request whose register key starts with ``ref`` (at least 8 characters)."""
    ref = str(ref).strip().lower()
    if len(ref) < 8:
        raise RequestError(f"a request reference has at least 8 characters (as `sendlink rights pending` shows it), got {ref!r}")
    hits = events[events["event_key"].astype(str).str.startswith(ref) & events["kind"].isin(R.REQUEST_KINDS)]
    if hits.empty:
        raise RequestError(f"no rights request with reference {ref!r} (see `sendlink rights pending`)")
    if len(hits) > 1:
        raise RequestError(f"reference {ref!r} matches {len(hits)} requests; give more characters")
    return hits.iloc[0]


def plan_decision(
    ctx: Context, decision: Decision, raw: RawSurvey, events: pd.DataFrame, today: dt.date, *, position: str | None = None
) -> tuple[list[NewEvent], pd.Series]:
    """Check a decision on an open request; return the event to append (and the request); ``position`` as for :func:`plan`."""
    if decision.outcome not in OUTCOMES:
        raise RequestError(f"outcome must be one of {', '.join(OUTCOMES)}, got {decision.outcome!r}")
    if decision.outcome == "refused" and decision.reason not in REFUSAL_REASONS:
        raise RequestError(f"a refusal needs a reason, one of: {', '.join(REFUSAL_REASONS)}")
    if decision.reason is not None and decision.outcome != "refused":
        raise RequestError("a reason is for a refusal")
    request = find_request(events, decision.ref)
    sid = str(request["survey_id"])
    on = _date(decision.on, today)
    if on.isoformat() < str(request["effective_date"]):
        raise RequestError(f"the decision date {on} is before the request was received ({request['effective_date']})")
    cases = raw.cases()
    one = cases[cases["survey_id"] == sid]
    case_events = _events_of(events, sid)
    state = R.case_states(case_events, one, on, ctx.rule_params)[sid]
    key = str(request["event_key"])
    if key not in {e.key for e in state.pending}:
        done = [s for s in state.steps if (s.event.key == key or (s.event.request is not None and s.event.request.key == key)) and s.verdict in ("applied", "refused")]
        how = done[-1].note if done else "it is not open"
        raise RequestError(f"request {key[:12]} ({request['kind']} of {request['effective_date']}) was already decided: {how}; a request is decided once")
    details: dict[str, object] = {"request": key, "outcome": decision.outcome}
    if decision.outcome == "refused":
        details["reason"] = decision.reason
    if decision.outcome == "extended":
        details["due_date"] = R.due_date(dt.date.fromisoformat(str(request["effective_date"])), extended=True).isoformat()
    planned = [NewEvent(survey_id=sid, person=str(request["person"]), kind="decision", effective_date=on.isoformat(), contact="ad_hoc",
                        source=decision.source, origin="cli", details=details, key=_key_maker(ctx, position)("decision"))]
    return _mark_erasures(ctx, planned, events, one), request


def record_decision(ctx: Context, decision: Decision, *, today: dt.date | None = None, write: object = None) -> tuple[str, pd.Series]:
    """Record a decision on an open request; return a message and the request.

    ``write`` (called inside the transaction when the request is granted)
    writes an access report.
    """
    today = today or dt.date.today()
    raw, events = current_events(ctx)
    plan_decision(ctx, decision, raw, events, today)
    with ctx.register.transaction() as tx:
        locked = events_frame(tx.events(), fieldwork_events(raw, ctx.register), ctx.register, raw.survey_ids)
        planned, request = plan_decision(ctx, decision, raw, locked, today, position=str(tx.length))
        for e in planned:
            tx.append(e)
        if callable(write) and decision.outcome == "granted":
            write(request)
    kind = str(request["kind"])
    verb = {"granted": "granted", "refused": f"refused ({decision.reason}: {REFUSAL_REASONS.get(str(decision.reason), '')})", "extended": "extended"}[decision.outcome]
    text = f"recorded: the {kind.replace('_', ' ')} request {str(request['event_key'])[:12]} of case {request['survey_id']} (received {request['effective_date']}) is {verb} on {planned[0].effective_date}."
    if decision.outcome == "granted":
        text += " " + EFFECTS[kind]
    elif decision.outcome == "extended":
        text += f" Now due {planned[0].details['due_date']}."
    else:
        text += " Nothing changes."
    return text, request


# --- open requests -------------------------------------------------------------------------------

#: Columns of :func:`pending`.
PENDING_COLUMNS = ("ref", "survey_id", "request", "person", "received", "identity_check", "due", "days_left", "status")


def pending(ctx: Context, today: dt.date) -> pd.DataFrame:
    """Every request still open on ``today``, with its due date; overdue ones flagged (``sendlink rights pending``).

    Columns :data:`PENDING_COLUMNS`, sorted by due date. ``status`` is
    ``open``, ``extended`` or ``OVERDUE``.
    """
    raw, events = current_events(ctx)
    rows = []
    for sid, st in R.case_states(events, raw.cases(), today, ctx.rule_params).items():
        for e in st.pending:
            extended = [s for s in st.steps if s.event.kind == "decision" and s.event.request is not None and s.event.request.key == e.key and s.event.outcome == "extended"]
            due = dt.date.fromisoformat(str(extended[-1].event.details.get("due_date"))) if extended else R.due_date(e.date)
            left = (due - today).days
            rows.append({
                "ref": e.key[:12], "survey_id": sid, "request": e.kind, "person": e.person, "received": e.date.isoformat(),
                "identity_check": str(e.details.get("identity_check") or "not_recorded"), "due": due.isoformat(), "days_left": left,
                "status": "OVERDUE" if left < 0 else ("extended" if extended else "open"),
            })
    frame = pd.DataFrame(rows, columns=list(PENDING_COLUMNS))
    frame["days_left"] = frame["days_left"].astype("int64")
    return frame.sort_values(["due", "ref"], kind="stable").reset_index(drop=True)

"""Data-subject rights requests: checked, then appended to the register.

:func:`record_request` is what ``sendlink rights ...`` calls. A request is
checked twice: first read-only (so a refused request touches no file, not
even to create the register), then again inside the register's write
transaction, so two requests made at the same moment cannot both pass a
check only one should (two withdrawals of the same permission, say).

A refused request raises :class:`~sendlink.errors.RequestError` with the
reason and changes nothing. Reasons to refuse:

* an unknown survey id, or a case already erased;
* a date in the future, or before the case's first contact with the study;
* a young person under 16 on the date (a parent makes requests for a child
  under 16); lifting a restriction needs a young person known to be 16;
* a withdrawal of a permission not in force, or by someone who does not
  decide that scope (only the parent decides about the parent's answers;
  once the young person has been asked, only they decide about theirs);
* restricting twice, lifting a restriction never made, objecting twice;
* a rectification of a field that cannot be corrected, a malformed value,
  or no change at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from sendlink.consent import rules as R
from sendlink.consent.identifiers import check_corrections
from sendlink.consent.register import NewEvent
from sendlink.consent.stage import (
    Context,
    RawSurvey,
    apply_corrections,
    current_events,
    erased_keys,
    events_frame,
    fieldwork_events,
)
from sendlink.errors import RequestError
from sendlink.schema.consent import PERSONS, SOURCES

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

#: What each recorded request does, in words.
EFFECTS = {
    "access": "A copy of everything held was written.",
    "rectification": "The corrected identifiers replace the old ones and the case is re-linked on the next run.",
    "erasure": "The case's personal data were deleted from the register now, and the case is removed from every file on the next run.",
    "restriction": "The data are kept but not linked or analysed from the next run, until the restriction is lifted.",
    "lift_restriction": "Processing may resume from the next run (if no other restriction is in force).",
    "objection": "The case is excluded from linkage and analysis from the next run.",
    "consent": "From the next run the case is not linked for this scope, and its linked NPD data leave the research extract; the answers are still used, unlinked.",
}


@dataclass(frozen=True)
class Request:
    """A rights request as made on the command line."""

    action: str
    survey_id: str
    person: str = "parent"
    on: dt.date | None = None
    source: str = "letter"
    scope: str = "all"  # withdraw only: parent_answers, child_answers or all
    fields: Mapping[str, str] | None = None  # rectify only


@dataclass
class Recorded:
    """A request that was recorded."""

    request: Request
    events: list[NewEvent]
    seqs: list[int] = field(default_factory=list)

    @property
    def message(self) -> str:
        r = self.request
        first = self.events[0]
        who = R.PERSON[r.person]
        if first.kind == "consent":
            what = f"withdrawal by {who} of permission to link {' and '.join(R.SCOPE_NAME[e.scope] for e in self.events)}"  # type: ignore[index]
        elif first.kind == "rectification":
            what = f"rectification by {who} of {', '.join(sorted(first.payload or {}))}"
        else:
            what = f"{first.kind.replace('_', ' ')} request by {who}"
        return f"recorded {what} for case {r.survey_id}, effective {first.effective_date}. {EFFECTS[first.kind]}"


def _date(value: dt.date | None, today: dt.date) -> dt.date:
    on = value or today
    if on > today:
        raise RequestError(f"the date {on} is in the future (today is {today}); a request takes effect when it is received")
    return on


def _events_of(events: pd.DataFrame, survey_id: str) -> pd.DataFrame:
    return events[events["survey_id"].astype(str) == survey_id]


def plan(ctx: Context, request: Request, raw: RawSurvey, events: pd.DataFrame, today: dt.date) -> list[NewEvent]:
    """Check ``request`` against the current events; return the events to append.

    Raises
    ------
    RequestError
        Saying why the request is refused.
    """
    r = request
    sid = str(r.survey_id)
    if r.action not in ACTIONS:
        raise RequestError(f"unknown action {r.action!r}; one of {', '.join(ACTIONS)}")
    if r.person not in PERSONS:
        raise RequestError(f"person must be one of {', '.join(PERSONS)}, got {r.person!r}")
    if r.source not in SOURCES:
        raise RequestError(f"source must be one of {', '.join(SOURCES)}, got {r.source!r}")
    on = _date(r.on, today)
    if sid not in set(raw.survey_ids):
        raise RequestError(
            f"unknown survey id {sid!r}: no such case in {ctx.files.relative(ctx.files.contacts)} or {ctx.files.relative(ctx.files.sample)}"
        )
    case_events = _events_of(events, sid)
    if ctx.register.case_key(sid) in erased_keys(events):
        when = case_events.loc[case_events["kind"] == "erasure", "effective_date"].min()
        raise RequestError(f"case {sid} was erased on {when}: nothing about it is held, so there is nothing to act on")
    if len(case_events):
        first = min(case_events["effective_date"])
        if on.isoformat() < first:
            raise RequestError(f"the date {on} is before the case's first contact with the study ({first})")
    cases = raw.cases()
    state = R.case_states(case_events, cases[cases["survey_id"] == sid], on, ctx.rule_params)[sid]
    lo, hi = state.consent_age_from  # type: ignore[misc]
    kind = ACTIONS[r.action]
    if r.person == "young_person":
        if on < lo:
            raise RequestError(
                f"the young person was under 16 on {on} (16 on {lo}): a parent makes requests for a child under 16 (use --person parent)"
            )
        if kind == "lift_restriction" and on < hi:
            raise RequestError(
                f"the child's date of birth is not known, so it cannot be confirmed that the young person was 16 on {on}; "
                "correct the date of birth first (rights rectify) or ask the parent"
            )

    def event(**extra: object) -> NewEvent:
        base = dict(survey_id=sid, person=r.person, kind=kind, effective_date=on.isoformat(), contact="ad_hoc", source=r.source, origin="cli")
        base.update(extra)
        return NewEvent(**base)  # type: ignore[arg-type]

    if kind == "consent":
        return [event(scope=s, decision="withdrawn") for s in _withdrawable(r, state)]
    if kind == "restriction" and r.person in state.restricted_by:
        raise RequestError(f"processing is already restricted at the request of {R.PERSON[r.person]} since {state.restricted_by[r.person]}")
    if kind == "lift_restriction" and r.person not in state.restricted_by:
        others = ", ".join(f"{R.PERSON[p]} (since {d})" for p, d in state.restricted_by.items())
        raise RequestError(
            f"{R.PERSON[r.person]} has no restriction in force to lift" + (f"; restricted by {others}, who must lift it" if others else "")
        )
    if kind == "objection":
        done = [s for s in state.steps if s.verdict == "applied" and s.event.kind == "objection" and s.event.person == r.person]
        if done:
            raise RequestError(f"{R.PERSON[r.person]} already objected on {done[0].event.date}")
    if kind == "rectification":
        try:
            values = check_corrections(dict(r.fields or {}), r.person, today)
        except ValueError as exc:
            raise RequestError(f"malformed rectification: {exc}") from None
        contacts = raw.contacts[raw.contacts["survey_id"].astype(str) == sid]
        if contacts.empty:
            raise RequestError(f"case {sid} did not respond: no identifiers or contact details are held to correct")
        current = apply_corrections(contacts, R.corrections(case_events, cases[cases["survey_id"] == sid], ctx.rule_params)).iloc[0]
        same = [f for f, v in values.items() if f in current.index and _same(current[f], v)]
        if len(same) == len(values):
            raise RequestError(f"nothing to correct: {', '.join(same)} already held as given")
        values = {f: v for f, v in values.items() if f not in same}
        return [event(details={"fields": sorted(values)}, payload=values)]
    return [event()]


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
            why.append(f"no permission to withdraw for {R.SCOPE_NAME[scope]}: {phrase}")
            continue
        ok.append(scope)
    if not ok:
        raise RequestError("; ".join(why))
    return ok


def record_request(
    ctx: Context,
    request: Request,
    *,
    today: dt.date | None = None,
    raw: RawSurvey | None = None,
    write: object = None,
) -> Recorded:
    """Check ``request`` and append its events to the register.

    Parameters
    ----------
    today
        The date requests are checked against (defaults to the system date:
        only here, where "a date in the future" needs it, is the clock read).
    write
        Optional callable run inside the register transaction after the
        events are appended (the access request stages its file there), so
        that if it fails nothing is recorded.

    Raises
    ------
    RequestError
        If the request is refused; nothing is changed.
    """
    today = today or dt.date.today()
    raw, events = current_events(ctx, raw)
    planned = plan(ctx, request, raw, events, today)  # read-only check first
    with ctx.register.transaction() as tx:
        locked = events_frame(tx.events(), fieldwork_events(raw), ctx.register, raw.survey_ids)
        planned = plan(ctx, request, raw, locked, today)
        seqs = [tx.append(e) for e in planned]
        if callable(write):
            write()
    return Recorded(request, planned, seqs)

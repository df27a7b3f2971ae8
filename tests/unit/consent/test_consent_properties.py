"""Property: no case without a valid permission on the as-of date reaches the linkage input.

Random event histories (random ages, unknown birth dates, decisions by both
people, withdrawals, restrictions and lifts, objections, erasures,
rectifications of the date of birth, same-day events, events after the
as-of date) go through the stage's own output builder. The survey spine is
compared with an independent oracle written here, in a different style from
``sendlink.consent.rules`` (filters over the history rather than a state
machine), from the privacy notice's rules:

* permission for a scope = the governing person's latest valid decision,
  ignoring non-answers, is "granted";
* the parent governs both scopes, except the child's once the young person
  (16 or over) has been asked; a parent cannot grant for a child who may be
  16, a young person's decision before 16 is void, and a young person's
  permission needs them certainly 16;
* any erasure or objection, or a restriction not lifted by whoever made it,
  blocks everything;
* the pipeline needs permission both on the as-of date and after every
  later event (stop requests recorded after the as-of date are honoured).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendlink.consent import rules as R
from sendlink.consent.register import NewEvent, Register
from sendlink.consent.stage import RawSurvey, build_outputs, erased_keys, events_frame

RP = R.RuleParams()
FIRST, LAST = RP.cohort_first_birth_date, RP.cohort_last_birth_date
END_OF_TIME = dt.date(9999, 12, 31)
ORIGINS = ["fieldwork_consent", "fieldwork_request", "cli"]


# --- the oracle --------------------------------------------------------------------


def _add_16(day: dt.date) -> dt.date:
    if day.month == 2 and day.day == 29:
        return dt.date(day.year + 16, 3, 1)
    return dt.date(day.year + 16, day.month, day.day)


def _range_of_16th(dob: object) -> tuple[dt.date, dt.date]:
    try:
        born = dt.date.fromisoformat(dob) if isinstance(dob, str) and len(dob) == 10 else None
    except ValueError:
        born = None
    if born is None or not FIRST <= born <= LAST:
        return _add_16(FIRST), _add_16(LAST)
    return _add_16(born), _add_16(born)


def oracle(history: list[dict], reported_dob: object, when: dt.date, scope: str | None = None) -> bool:
    """May the case be linked on ``when``, for ``scope`` (``None``: either scope)?"""
    if scope is None:
        return any(oracle(history, reported_dob, when, s) for s in ("parent_answers", "child_answers"))
    evs = sorted((e for e in history if e["date"] <= when), key=lambda e: (e["date"], ORIGINS.index(e["origin"]), e["seq"]))
    if any(e["kind"] in ("erasure", "objection") for e in evs):
        return False
    dobs = [e["payload"]["date_of_birth"] for e in evs if e["kind"] == "rectification" and "date_of_birth" in (e["payload"] or {})]
    lo, hi = _range_of_16th(dobs[-1] if dobs else reported_dob)
    for person in ("parent", "young_person"):
        marks = [
            e
            for e in evs
            if e["person"] == person
            and (e["kind"] == "restriction" or (e["kind"] == "lift_restriction" and (person == "parent" or e["date"] >= hi)))
        ]
        if marks and marks[-1]["kind"] == "restriction":
            return False
    consent = [e for e in evs if e["kind"] == "consent"]
    if scope == "parent_answers":
        parent_own = [e for e in consent if e["person"] == "parent" and e["scope"] == "parent_answers" and e["decision"] != "no_answer"]
        return bool(parent_own) and parent_own[-1]["decision"] == "granted"
    young = [e for e in consent if e["person"] == "young_person" and e["scope"] == "child_answers" and e["date"] >= lo]
    if young:
        counted = [e for e in young if e["decision"] != "no_answer" and not (e["decision"] == "granted" and e["date"] < hi)]
    else:
        counted = [
            e
            for e in consent
            if e["person"] == "parent" and e["scope"] == "child_answers" and e["decision"] != "no_answer" and not (e["decision"] == "granted" and e["date"] >= lo)
        ]
    return bool(counted) and counted[-1]["decision"] == "granted"


# --- random histories ------------------------------------------------------------------

# Dates cluster on a few anchors (waves, the cohort's 16th birthdays, the
# as-of date) with small offsets, so that same-day events, events on a 16th
# birthday and events either side of the as-of date are common.
ANCHORS = [dt.date(2022, 6, 10), dt.date(2023, 5, 1), dt.date(2024, 9, 1), dt.date(2025, 3, 14), dt.date(2025, 8, 31), dt.date(2025, 10, 1), dt.date(2025, 12, 1), dt.date(2026, 2, 1)]
dates = st.one_of(
    st.dates(min_value=dt.date(2022, 5, 1), max_value=dt.date(2026, 12, 31)),
    st.builds(lambda a, d: a + dt.timedelta(days=d), st.sampled_from(ANCHORS), st.integers(-3, 3)),
)
birth_dates = st.one_of(
    st.dates(min_value=FIRST, max_value=LAST).map(dt.date.isoformat),
    st.sampled_from(["2009-03-14", "2008-09-01", "2009-08-31", "2009-03-11", "2009-03-17"]),
    st.sampled_from(["", None, "2019-01-01", "2009-02-30", "not a date"]),
)


@st.composite
def event(draw) -> dict:
    kind = draw(st.sampled_from(["consent"] * 6 + ["restriction"] * 2 + ["lift_restriction"] * 2 + ["objection", "erasure", "rectification", "access"]))
    e = {
        "person": draw(st.sampled_from(["parent", "young_person"])),
        "kind": kind,
        "scope": None,
        "decision": None,
        "date": draw(dates),
        "origin": draw(st.sampled_from(ORIGINS)),
        "payload": None,
    }
    if kind == "consent":
        e["scope"] = draw(st.sampled_from(["parent_answers", "child_answers"]))
        e["decision"] = draw(st.sampled_from(["granted", "granted", "refused", "withdrawn", "no_answer"]))
    if kind == "rectification":
        e["payload"] = draw(
            st.one_of(
                st.just({"surname": "Corrected"}),
                birth_dates.filter(lambda d: isinstance(d, str) and len(d) == 10 and d[0] == "2" and d != "2009-02-30").map(lambda d: {"date_of_birth": d}),
            )
        )
    return e


@st.composite
def world(draw):
    n = draw(st.integers(1, 3))
    cases, history = [], []
    seq = 0
    for i in range(n):
        sid = f"S{i}"
        cases.append((sid, draw(birth_dates)))
        for e in draw(st.lists(event(), max_size=12)):
            seq += 1
            history.append({**e, "seq": seq, "survey_id": sid})
    # shuffle the append order so that seq and dates disagree
    order = draw(st.permutations(range(len(history))))
    history = [{**history[j], "seq": k + 1} for k, j in enumerate(order)]
    as_of = draw(dates)
    return cases, history, as_of


def raw_survey(cases) -> RawSurvey:
    ids = [sid for sid, _ in cases]
    contacts = pd.DataFrame(
        {
            "survey_id": ids,
            "forename": [f"Child{i}" for i in range(len(ids))],
            "middle_names": "",
            "surname": "Surname",
            "date_of_birth": [d for _, d in cases],
            "sex": "F",
            "postcode": "LS6 2AB",
            "school_urn": "100001",
            "parent_forename": "Parent",
            "parent_surname": "Surname",
            "address_line": "1 Road",
            "email": "p@example.org",
            "phone": "07700 900000",
        }
    )
    sample = pd.DataFrame({"survey_id": ids, "strand": "web"})
    answers = {"parent_w1.parquet": pd.DataFrame({"survey_id": ids, "q1": 1})}
    empty = pd.DataFrame()
    return RawSurvey(contacts, sample, answers, empty, empty)


def events_frame_of(history) -> pd.DataFrame:
    rows = [
        {
            "seq": e["seq"],
            "event_key": f"k{e['seq']}",
            "case_key": f"c-{e['survey_id']}",
            "survey_id": e["survey_id"],
            "person": e["person"],
            "kind": e["kind"],
            "scope": e["scope"],
            "decision": e["decision"],
            "effective_date": e["date"].isoformat(),
            "origin": e["origin"],
            "payload": e["payload"],
        }
        for e in history
    ]
    return pd.DataFrame(rows, columns=["seq", "event_key", "case_key", "survey_id", "person", "kind", "scope", "decision", "effective_date", "origin", "payload"])


def expected_spine(cases, history, as_of) -> set[str]:
    out = set()
    for sid, dob in cases:
        mine = [e for e in history if e["survey_id"] == sid]
        # A scope is in force on the as-of date and not stopped since (a later
        # grant of the *other* scope does not revive a stopped one).
        if any(oracle(mine, dob, as_of, s) and oracle(mine, dob, END_OF_TIME, s) for s in ("parent_answers", "child_answers")):
            out.add(sid)
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world())
def test_only_cases_with_valid_permission_reach_the_survey_spine(w):
    cases, history, as_of = w
    events = events_frame_of(history)
    out = build_outputs(raw_survey(cases), events, as_of, RP, erased_case_keys=erased_keys(events), case_key=lambda s: f"c-{s}")
    sent = set(out.spine["survey_id"])
    allowed = expected_spine(cases, history, as_of)
    assert sent <= allowed, f"sent without valid permission: {sorted(sent - allowed)}"
    assert sent == allowed, f"permitted but not sent: {sorted(allowed - sent)}"
    # the predicate the research extract reuses agrees with the spine
    assert R.permitted_ids(out.status, "linkage") == sent
    # an erasure at any date removes the case from every output
    erased = {e["survey_id"] for e in history if e["kind"] == "erasure"}
    assert not erased & set(out.status["survey_id"])
    for frame in out.holdings.values():
        assert not erased & set(frame["survey_id"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world())
def test_the_same_holds_through_the_register(w):
    """Events written to and read back from the register give the same spine."""
    cases, history, as_of = w
    with tempfile.TemporaryDirectory() as tmp:
        reg = Register(Path(tmp) / "consent.sqlite", b"property-key")
        for e in sorted(history, key=lambda e: e["seq"]):
            reg.append(
                [
                    NewEvent(
                        survey_id=e["survey_id"],
                        person=e["person"],
                        kind=e["kind"],
                        scope=e["scope"],
                        decision=e["decision"],
                        effective_date=e["date"].isoformat(),
                        contact="ad_hoc",
                        source="letter",
                        origin=e["origin"],
                        payload=e["payload"],
                        details={"fields": sorted(e["payload"])} if e["payload"] else {},
                    )
                ]
            )
        raw = raw_survey(cases)
        events = events_frame(reg.events(), [], reg, raw.survey_ids)
        out = build_outputs(raw, events, as_of, RP, erased_case_keys=reg.erased_case_keys(), case_key=reg.case_key)
    assert set(out.spine["survey_id"]) == expected_spine(cases, history, as_of)

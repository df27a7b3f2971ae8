"""Every consent rule on a small hand-written scenario.

The child in most scenarios was born 2009-03-14, so turns 16 on 2025-03-14.
Expected states are worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sendlink.consent import rules as R

D = dt.date.fromisoformat
DOB = "2009-03-14"  # 16 on 2025-03-14


def ev(date, person="parent", kind="consent", scope=None, decision=None, *, origin="fieldwork_consent", payload=None, sid="S1",
       details=None, key=None):
    return {
        "survey_id": sid,
        "person": person,
        "kind": kind,
        "scope": scope,
        "decision": decision,
        "effective_date": date,
        "origin": origin,
        "payload": payload,
        "details": details or {},
        "event_key": key,
    }


def decide(date, request_key, outcome, *, reason=None, person="parent", origin="cli", due=None):
    details = {"request": request_key, "outcome": outcome}
    if reason:
        details["reason"] = reason
    if due:
        details["due_date"] = due
    return ev(date, person, kind="decision", origin=origin, details=details)


def frame(*events):
    rows = [{"seq": i + 1, **e} for i, e in enumerate(events)]
    for i, row in enumerate(rows):
        row["event_key"] = row.get("event_key") or f"k{i + 1}"
    return pd.DataFrame(rows, columns=[*R.EVENT_COLUMNS, "details", "event_key"])


def grant_both(date="2022-06-10", person="parent"):
    return [ev(date, person, scope="child_answers", decision="granted"), ev(date, person, scope="parent_answers", decision="granted")]


def cases(dob=DOB, sid="S1"):
    return pd.DataFrame({"survey_id": [sid], "date_of_birth": [dob]})


DEFAULT_RULES = R.RuleParams()  # the default policies


def state(events, as_of, dob=DOB, enforced=False, rp=DEFAULT_RULES):
    fn = R.enforced_status if enforced else R.status
    out = fn(frame(*events), cases(dob), D(as_of), rp)
    assert len(out) == 1
    return out.iloc[0].to_dict()


def steps(events, as_of, dob=DOB, rp=DEFAULT_RULES):
    return R.explain("S1", D(as_of), frame(*events), cases(dob), rp, enforced=False).events


CHILD_ONLY = R.RuleParams(young_person_refusal_covers="child_answers")
RECORDED = R.RuleParams(request_decisions="recorded")


# --- no-answer --------------------------------------------------------------------


def test_break_off_gives_no_permission():
    s = state([ev("2022-06-10", scope="child_answers", decision="no_answer"), ev("2022-06-10", scope="parent_answers", decision="no_answer")], "2023-01-01")
    assert s["consent_parent_answers"] == "no_answer" and s["consent_child_answers"] == "no_answer"
    assert not s["send_for_linkage"] and not s["may_link_parent_answers"] and not s["may_link_child_answers"]
    assert s["may_analyse"]  # answers still used


def test_no_answer_takes_no_permission_away():
    # granted at wave 1, broke off before the question at wave 2: still granted
    s = state([*grant_both(), ev("2023-05-01", scope="child_answers", decision="no_answer")], "2024-01-01")
    assert s["consent_child_answers"] == "granted" and s["may_link_child_answers"]


def test_never_asked_means_no_permission():
    s = state([], "2024-01-01")
    assert s["consent_parent_answers"] == "not_asked" and not s["send_for_linkage"]
    assert "not been asked" in s["reason"]


# --- latest-decision --------------------------------------------------------------


def test_later_permission_restores_and_later_refusal_removes():
    refused_then_granted = [ev("2022-06-10", scope="parent_answers", decision="refused"), ev("2023-05-01", scope="parent_answers", decision="granted")]
    assert state(refused_then_granted, "2022-12-31")["may_link_parent_answers"] is False
    assert state(refused_then_granted, "2023-05-01")["may_link_parent_answers"] is True
    granted_then_refused = [ev("2022-06-10", scope="parent_answers", decision="granted"), ev("2023-05-01", scope="parent_answers", decision="refused")]
    assert state(granted_then_refused, "2023-05-01")["consent_parent_answers"] == "refused"


def test_scopes_are_independent():
    # parent's answers granted, child's refused: sent for the parent's answers only
    s = state([ev("2022-06-10", scope="parent_answers", decision="granted"), ev("2022-06-10", scope="child_answers", decision="refused")], "2023-01-01")
    assert s["may_link_parent_answers"] and not s["may_link_child_answers"] and s["send_for_linkage"]
    assert "parent's answers only" in s["reason"]


# --- parent-under-16 ----------------------------------------------------------------


def test_under_16_parent_decides_both_scopes():
    s = state(grant_both(), "2024-01-01")
    assert s["child_scope_governed_by"] == "parent" and s["aged_16_or_over"] is False
    assert s["may_link_parent_answers"] and s["may_link_child_answers"]


# --- young-person-dissent and young-person-under-16 ----------------------------------------


def test_young_person_refusal_the_day_before_16_counts():
    # parent granted both; the young person refuses on 2025-03-13, the day before their 16th birthday
    events = [*grant_both(), ev("2025-03-13", "young_person", scope="child_answers", decision="refused")]
    before = state(events, "2025-03-12")
    assert before["may_link_child_answers"] and before["young_person_refused_on"] is None
    s = state(events, "2025-03-13")
    assert s["consent_child_answers"] == "refused" and not s["may_link_child_answers"]
    assert s["child_scope_governed_by"] == "parent"  # under 16 the parent still decides; the dissent counts anyway
    assert s["young_person_refused_on"] == "2025-03-13"
    row = steps(events, "2025-03-13").iloc[2]
    assert row["verdict"] == "applied" and row["rule"] == "young-person-dissent"


def test_young_person_refusal_at_13_counts_and_a_later_parent_grant_does_not_override_it():
    events = [
        ev("2022-06-10", scope="child_answers", decision="refused"),
        ev("2022-06-10", "young_person", scope="child_answers", decision="refused", origin="fieldwork_request"),
        ev("2023-05-01", scope="child_answers", decision="granted"),  # the parent changes their mind at wave 2
    ]
    s = state(events, "2024-01-01")
    assert not s["may_link_child_answers"] and s["consent_child_answers"] == "refused"
    assert "the young person refused on 2022-06-10" in s["reason"]
    assert "still stands" in steps(events, "2024-01-01").iloc[2]["note"]


def test_young_person_grant_the_day_before_16_does_not_replace_the_parents_refusal():
    events = [*[ev("2022-06-10", scope=sc, decision="refused") for sc in ("child_answers", "parent_answers")],
              ev("2025-03-13", "young_person", scope="child_answers", decision="granted")]
    s = state(events, "2025-06-01")
    assert not s["may_link_child_answers"] and s["consent_child_answers"] == "refused"
    row = steps(events, "2025-06-01").iloc[2]
    assert row["verdict"] == "ignored" and row["rule"] == "young-person-under-16"
    # the same permission on the 16th birthday counts: the young person has been asked and decides
    on_birthday = [*events[:2], ev("2025-03-14", "young_person", scope="child_answers", decision="granted")]
    s = state(on_birthday, "2025-06-01")
    assert s["may_link_child_answers"] and s["child_scope_governed_by"] == "young_person"


def test_young_person_grant_before_16_lifts_their_own_refusal_but_gives_no_permission_itself():
    events = [*grant_both(), ev("2023-01-10", "young_person", scope="child_answers", decision="refused"),
              ev("2024-02-01", "young_person", scope="child_answers", decision="granted")]
    assert not state(events, "2023-12-31")["may_link_child_answers"]
    s = state(events, "2024-06-01")
    assert s["may_link_child_answers"] and s["young_person_refused_on"] is None  # the parent's permission applies again
    assert steps(events, "2024-06-01").iloc[3]["rule"] == "young-person-under-16"


def test_young_person_no_answer_before_16_is_ignored():
    events = [*grant_both(), ev("2024-05-01", "young_person", scope="child_answers", decision="no_answer")]
    s = state(events, "2024-06-01")
    assert s["may_link_child_answers"] and s["child_scope_governed_by"] == "parent"
    assert steps(events, "2024-06-01").iloc[2]["verdict"] == "ignored"


def test_young_person_under_16_may_still_stop_processing():
    # a restriction asked by a 15-year-old is honoured; lifting it at 15 is not valid
    events = [*grant_both(), ev("2024-05-01", "young_person", kind="restriction"), ev("2024-09-01", "young_person", kind="lift_restriction")]
    s = state(events, "2024-12-01")
    assert s["restricted"] and not s["send_for_linkage"]
    assert steps(events, "2024-12-01").iloc[3]["rule"] == "young-person-under-16"


# --- young-person-refusal-covers (both readings of the policy) ---------------------------


def test_by_default_a_young_persons_refusal_closes_their_npd_record():
    # parent granted both at wave 1; the young person refuses at 14 (under 16) or at 16 (asked at wave 3)
    for when in ("2023-05-01", "2025-10-01"):
        s = state([*grant_both(), ev(when, "young_person", scope="child_answers", decision="refused")], "2025-12-01")
        assert s["consent_parent_answers"] == "granted"  # the parent's own permission is untouched ...
        assert not s["may_link_parent_answers"] and not s["may_link_child_answers"] and not s["send_for_linkage"], when
        assert s["may_analyse"] and s["may_analyse_parent_answers"] and s["may_analyse_child_answers"]  # ... and the answers are still used
        assert "closes their NPD record" in s["reason"]


def test_under_the_child_answers_reading_the_parents_answers_stay_linked():
    for when in ("2023-05-01", "2025-10-01"):
        s = state([*grant_both(), ev(when, "young_person", scope="child_answers", decision="refused")], "2025-12-01", rp=CHILD_ONLY)
        assert s["may_link_parent_answers"] and not s["may_link_child_answers"] and s["send_for_linkage"], when


def test_a_young_persons_withdrawal_after_16_also_closes_the_record():
    events = [*grant_both(), ev("2025-10-01", "young_person", scope="child_answers", decision="granted"),
              ev("2025-11-01", "young_person", scope="child_answers", decision="withdrawn", origin="cli")]
    assert state(events, "2025-10-15")["send_for_linkage"]
    s = state(events, "2025-11-01")
    assert not s["send_for_linkage"] and s["young_person_refused_on"] == "2025-11-01"
    assert state(events, "2025-11-01", rp=CHILD_ONLY)["may_link_parent_answers"]


# --- parent-after-16 ----------------------------------------------------------------


def test_from_16_parent_decision_stands_until_young_person_asked():
    s = state(grant_both(), "2025-06-01")  # 16 since 2025-03-14, not asked
    assert s["aged_16_or_over"] is True and s["child_scope_governed_by"] == "parent"
    assert s["may_link_child_answers"]
    assert "has not been asked yet, so the parent's decision stands" in s["reason"]


def test_parent_cannot_grant_for_a_child_of_16():
    events = [ev("2022-06-10", scope="child_answers", decision="refused"), ev("2025-05-01", scope="child_answers", decision="granted")]
    s = state(events, "2025-06-01")
    assert s["consent_child_answers"] == "refused" and not s["may_link_child_answers"]
    assert steps(events, "2025-06-01").iloc[1]["rule"] == "parent-after-16"


def test_parent_may_still_withdraw_after_16_until_young_person_asked():
    s = state([*grant_both(), ev("2025-05-01", scope="child_answers", decision="withdrawn", origin="cli")], "2025-06-01")
    assert s["consent_child_answers"] == "withdrawn" and not s["may_link_child_answers"]


# --- young-person-governs ---------------------------------------------------------------


def test_once_asked_the_young_person_governs_the_child_scope():
    events = [*grant_both(), ev("2025-10-01", "young_person", scope="child_answers", decision="refused")]
    before = state(events, "2025-09-30")
    after = state(events, "2025-10-01", rp=CHILD_ONLY)
    assert before["may_link_child_answers"] and before["child_scope_governed_by"] == "parent"
    assert not after["may_link_child_answers"] and after["child_scope_governed_by"] == "young_person"
    assert after["may_link_parent_answers"]  # the parent still decides about their own answers (policy child_answers)
    assert "the young person refused on 2025-10-01" in after["reason"]


def test_young_person_can_grant_what_the_parent_refused():
    events = [ev("2022-06-10", scope="child_answers", decision="refused"), ev("2025-10-01", "young_person", scope="child_answers", decision="granted")]
    assert state(events, "2025-12-01")["may_link_child_answers"]


def test_young_person_not_answering_means_no_permission_whatever_the_parent_said():
    events = [*grant_both(), ev("2025-10-01", "young_person", scope="child_answers", decision="no_answer")]
    s = state(events, "2025-12-01")
    assert s["child_scope_governed_by"] == "young_person" and s["consent_child_answers"] == "no_answer"
    assert not s["may_link_child_answers"]


def test_parent_decision_after_the_young_person_was_asked_is_ignored():
    events = [*grant_both(), ev("2025-10-01", "young_person", scope="child_answers", decision="granted"), ev("2025-11-01", scope="child_answers", decision="withdrawn")]
    s = state(events, "2025-12-01")
    assert s["may_link_child_answers"]
    assert steps(events, "2025-12-01").iloc[3]["rule"] == "young-person-governs"


# --- parent-scope -------------------------------------------------------------------


def test_only_the_parent_decides_about_the_parents_answers():
    events = [*grant_both(), ev("2025-10-01", "young_person", scope="parent_answers", decision="refused")]
    s = state(events, "2025-12-01")
    assert s["may_link_parent_answers"]
    assert steps(events, "2025-12-01").iloc[2]["rule"] == "parent-scope"


# --- withdrawal -------------------------------------------------------------------


def test_withdrawal_stops_linkage_from_its_date_but_answers_still_used():
    events = [*grant_both(), ev("2024-02-01", scope="child_answers", decision="withdrawn", origin="cli"), ev("2024-02-01", scope="parent_answers", decision="withdrawn", origin="cli")]
    assert state(events, "2024-01-31")["send_for_linkage"]
    s = state(events, "2024-02-01")
    assert not s["send_for_linkage"] and s["may_analyse"]
    assert s["consent_parent_answers"] == "withdrawn"
    assert "withdrew permission on 2024-02-01" in s["reason"]


def test_same_day_grant_then_withdrawal_is_withdrawn():
    # fieldwork grant and a withdrawal recorded the same day through the CLI:
    # fieldwork events are replayed first on a date
    events = [ev("2024-02-01", scope="parent_answers", decision="withdrawn", origin="cli"), ev("2024-02-01", scope="parent_answers", decision="granted")]
    assert state(events, "2024-02-01")["consent_parent_answers"] == "withdrawn"


# --- restriction --------------------------------------------------------------------


def test_restriction_keeps_but_does_not_process_until_lifted():
    events = [*grant_both(), ev("2024-03-01", kind="restriction", origin="fieldwork_request"), ev("2024-05-01", kind="lift_restriction", origin="fieldwork_request")]
    during = state(events, "2024-04-01")
    assert during["restricted"] and not during["send_for_linkage"] and not during["may_analyse"]
    assert during["consent_parent_answers"] == "granted"  # the permission itself is untouched
    after = state(events, "2024-05-01")
    assert not after["restricted"] and after["send_for_linkage"] and after["may_analyse"]


def test_restriction_is_lifted_only_by_whoever_asked():
    events = [*grant_both(), ev("2025-06-01", kind="restriction"), ev("2025-07-01", "young_person", kind="restriction"), ev("2025-08-01", kind="lift_restriction")]
    s = state(events, "2025-09-01")
    assert s["restricted"]  # the young person's restriction is still in force
    lift_other = [*grant_both(), ev("2024-06-01", kind="restriction"), ev("2025-07-01", "young_person", kind="lift_restriction")]
    assert state(lift_other, "2025-09-01")["restricted"]


# --- objection ----------------------------------------------------------------------


def test_objection_excludes_from_analysis_and_linkage_for_good():
    s = state([*grant_both(), ev("2024-03-01", kind="objection", origin="fieldwork_request"), ev("2025-01-01", scope="child_answers", decision="granted")], "2025-12-01")
    assert s["objected"] and not s["may_analyse"] and not s["send_for_linkage"]
    assert "objected on 2024-03-01" in s["reason"]


# --- erasure --------------------------------------------------------------------------


def test_erasure_removes_everything_and_later_events_are_ignored():
    events = [*grant_both(), ev("2024-06-01", kind="erasure", origin="fieldwork_request"), ev("2025-10-01", "young_person", scope="child_answers", decision="granted")]
    assert not state(events, "2024-05-31")["erased"]
    s = state(events, "2025-12-01")
    assert s["erased"] and not s["may_analyse"] and not s["send_for_linkage"]
    assert steps(events, "2025-12-01").iloc[3]["rule"] == "erasure"
    assert s["reason"].startswith("Erased on 2024-06-01")


# --- rectification ------------------------------------------------------------------------


def test_rectification_is_recorded_and_its_values_collected():
    events = [*grant_both(), ev("2024-04-04", kind="rectification", payload={"surname": "Patel-Shah"}), ev("2024-05-05", kind="rectification", payload={"surname": "Shah", "postcode": "LE1 5WW"})]
    assert state(events, "2024-12-01")["rectified_on"] == "2024-05-05"
    assert R.corrections(frame(*events), cases()) == {"S1": {"surname": "Shah", "postcode": "LE1 5WW"}}


def test_corrected_date_of_birth_is_used_by_the_age_rules():
    # the parent refused; reported 2009-08-30 (16 on 2025-08-30): a permission on 2025-06-01 would be too early;
    # corrected to 2009-01-01 (16 on 2025-01-01): the young person's permission counts
    refused = [ev("2022-06-10", scope="child_answers", decision="refused")]
    grant = ev("2025-06-01", "young_person", scope="child_answers", decision="granted")
    assert not state([*refused, grant], "2025-07-01", dob="2009-08-30")["may_link_child_answers"]
    fix = ev("2024-01-01", kind="rectification", payload={"date_of_birth": "2009-01-01"}, origin="fieldwork_request")
    assert state([*refused, fix, grant], "2025-07-01", dob="2009-08-30")["may_link_child_answers"]


# --- dob-unknown ---------------------------------------------------------------------------


def test_unknown_date_of_birth_stop_counts_early_permission_late():
    # cohort 2008-09-01 .. 2009-08-31: 16th birthday between 2024-09-01 and 2025-08-31
    refusal = [*grant_both(), ev("2025-05-01", "young_person", scope="child_answers", decision="refused")]
    s = state(refusal, "2025-06-01", dob="")
    assert not s["may_link_child_answers"]
    assert pd.isna(s["aged_16_or_over"])  # 2025-06-01 is inside the range of possible birthdays
    grant = [ev("2022-06-10", scope="child_answers", decision="refused"), ev("2025-05-01", "young_person", scope="child_answers", decision="granted")]
    s = state(grant, "2025-06-01", dob="")
    assert not s["may_link_child_answers"]  # cannot confirm 16 on 2025-05-01
    assert s["child_scope_governed_by"] == "young_person"  # but they have been asked
    later = [ev("2022-06-10", scope="child_answers", decision="refused"), ev("2025-09-10", "young_person", scope="child_answers", decision="granted")]
    assert state(later, "2025-12-01", dob="")["may_link_child_answers"]  # 16 whatever the birthday


def test_date_of_birth_outside_the_cohort_counts_as_unknown():
    assert R.sixteenth_birthday_range("2019-01-01", R.RuleParams())[2] is False
    assert R.sixteenth_birthday_range("2009-02-30", R.RuleParams())[2] is False
    assert R.sixteenth_birthday_range("2009-02-28", R.RuleParams()) == (D("2025-02-28"), D("2025-02-28"), True)


def test_parent_grant_when_the_child_may_be_16_is_not_valid():
    events = [ev("2022-06-10", scope="child_answers", decision="refused"), ev("2024-10-01", scope="child_answers", decision="granted")]
    assert not state(events, "2024-12-01", dob="")["may_link_child_answers"]


def test_birthday_on_29_february():
    assert R.birthday(D("2008-02-29"), 16) == D("2024-02-29")
    assert R.birthday(D("2008-02-29"), 17) == D("2025-03-01")


# --- as-of -----------------------------------------------------------------------------------


def test_events_after_as_of_are_not_replayed():
    events = [*grant_both(), ev("2024-02-01", scope="child_answers", decision="withdrawn")]
    assert state(events, "2023-01-01")["may_link_child_answers"]
    assert steps(events, "2023-01-01").iloc[2]["verdict"] == "after as-of"


# --- later-stop (what the pipeline enforces) ----------------------------------------------------


def test_enforced_status_honours_a_stop_recorded_after_as_of():
    events = [*grant_both(), ev("2026-01-10", scope="child_answers", decision="withdrawn", origin="cli")]
    pure = state(events, "2025-12-01")
    enforced = state(events, "2025-12-01", enforced=True)
    assert pure["may_link_child_answers"] and not pure["later_request_applied"]
    assert not enforced["may_link_child_answers"] and enforced["may_link_parent_answers"]
    assert enforced["later_request_applied"] and enforced["consent_child_answers"] == "withdrawn"
    assert "Later, the parent withdrew permission for linking the child's answers on 2026-01-10: honoured now" in enforced["reason"]


def test_enforced_status_does_not_count_a_permission_given_after_as_of():
    events = [ev("2022-06-10", scope="parent_answers", decision="refused"), ev("2026-01-10", scope="parent_answers", decision="granted", origin="cli")]
    assert not state(events, "2025-12-01", enforced=True)["may_link_parent_answers"]


def test_enforced_status_honours_later_restriction_erasure_and_objection():
    for kind in ("restriction", "objection", "erasure"):
        s = state([*grant_both(), ev("2026-01-10", kind=kind, origin="cli")], "2025-12-01", enforced=True)
        assert not s["send_for_linkage"] and not s["may_analyse"], kind
    lifted_later = [*grant_both(), ev("2025-06-01", kind="restriction"), ev("2026-01-10", kind="lift_restriction", origin="cli")]
    assert state(lifted_later, "2025-12-01", enforced=True)["restricted"]  # a lift after as_of does not count yet


# --- explain and predicates --------------------------------------------------------------


def test_explain_lists_events_rules_and_result():
    events = [*grant_both(), ev("2025-01-01", "young_person", scope="child_answers", decision="granted"), ev("2026-01-10", kind="restriction", origin="cli")]
    ex = R.explain("S1", D("2025-12-01"), frame(*events), cases())
    table = ex.events
    assert list(table["verdict"]) == ["applied", "applied", "ignored", "applied (later)"]
    assert list(table["rule"]) == ["parent-under-16", "latest-decision", "young-person-under-16", "later-stop"]
    rules = dict(ex.rules)
    assert {"parent-under-16", "young-person-under-16", "later-stop"} <= set(rules)
    text = ex.render()
    assert "[young-person-under-16]" in text and "Reason:" in text and "restricted" in text
    assert ex.state.restricted and not ex.state.send_for_linkage


def test_predicates_refuse_blocked_cases_even_if_flags_say_otherwise():
    status = pd.DataFrame(
        {
            "survey_id": ["A", "B", "C", "D"],
            "may_link_parent_answers": [True, False, True, True],
            "may_link_child_answers": [False, True, True, False],
            "may_analyse": [True, True, True, True],
            "restricted": [False, False, True, False],
            "objected": [False, False, False, False],
            "erased": [False, False, False, True],
        }
    )
    assert list(R.linkage_permitted(status)) == [True, True, False, False]
    assert R.permitted_ids(status, "child_answers") == {"B"}
    assert R.permitted_ids(status, "parent_answers") == {"A"}
    assert R.permitted_ids(status, "analysis") == {"A", "B"}
    with pytest.raises(ValueError):
        R.linked_data_permitted(status, "everything")


def test_rules_table_covers_every_rule_cited():
    assert set(R.rules_table()["rule"]) == set(R.RULES)


# --- own-requests: objection and erasure act for the person who made them -------------------

YP_GRANTED = [*grant_both(), ev("2025-10-01", "young_person", scope="child_answers", decision="granted")]  # the young person governs from here


def test_a_parents_objection_while_deciding_for_the_child_covers_both_answers():
    s = state([*grant_both(), ev("2024-03-01", kind="objection", origin="fieldwork_request")], "2024-06-01")
    assert s["objected_by"] == "parent" and not s["may_analyse_parent_answers"] and not s["may_analyse_child_answers"]
    assert not s["send_for_linkage"] and not s["may_analyse"]


def test_a_parents_objection_after_the_young_person_took_over_covers_only_the_parents_answers():
    s = state([*YP_GRANTED, ev("2025-11-01", kind="objection", origin="cli")], "2025-12-01")
    assert not s["may_analyse_parent_answers"] and not s["may_link_parent_answers"]
    assert s["may_analyse_child_answers"] and s["may_link_child_answers"] and s["send_for_linkage"]  # the young person's own answers stay


def test_a_young_persons_objection_covers_their_answers_and_their_npd_record():
    for events in ([*grant_both(), ev("2024-03-01", "young_person", kind="objection", origin="cli")],   # at 14
                   [*YP_GRANTED, ev("2025-11-01", "young_person", kind="objection", origin="cli")]):   # at 16
        s = state(events, "2025-12-01", rp=CHILD_ONLY)  # whatever the refusal policy
        assert s["objected_by"] == "young_person" and not s["may_analyse_child_answers"]
        assert s["may_analyse_parent_answers"] and not s["may_link_parent_answers"] and not s["send_for_linkage"]
        assert "Answers analysed" not in s["reason"] and "Only the parent's answers analysed" in s["reason"]


def test_a_parents_erasure_while_deciding_for_the_child_erases_the_case():
    events = [*grant_both(), ev("2024-06-01", kind="erasure", origin="fieldwork_request", key="er")]
    assert state(events, "2024-06-01")["erased"]
    assert R.erasures(frame(*events), cases()) == {"S1": {"er": "case"}}


def test_a_parents_erasure_after_the_young_person_took_over_leaves_the_young_persons_part():
    events = [*YP_GRANTED, ev("2025-11-01", kind="erasure", origin="cli", key="er")]
    s = state(events, "2025-12-01")
    assert not s["erased"] and s["erased_part"] == "parent"
    assert not s["may_analyse_parent_answers"] and not s["may_link_parent_answers"]
    assert s["may_link_child_answers"] and s["may_analyse_child_answers"]
    assert R.erasures(frame(*events), cases()) == {"S1": {"er": "parent"}}


def test_a_young_persons_erasure_leaves_the_parents_answers_analysed_unlinked():
    events = [*grant_both(), ev("2024-06-01", "young_person", kind="erasure", origin="cli", key="er")]  # at 15
    s = state(events, "2025-12-01")
    assert s["erased_part"] == "young_person" and not s["erased"]
    assert s["may_analyse_parent_answers"] and not s["may_analyse_child_answers"]
    assert not s["send_for_linkage"] and "Answers analysed unlinked" not in s["reason"]
    # later events of the erased person are ignored; the parent's still count
    later = [*events, ev("2025-10-01", "young_person", scope="child_answers", decision="granted"), ev("2025-10-02", kind="restriction", origin="cli")]
    table = steps(later, "2025-12-01")
    assert table.iloc[3]["verdict"] == "ignored" and table.iloc[3]["rule"] == "erasure"
    assert state(later, "2025-12-01")["restricted"]


def test_when_both_people_have_left_the_case_is_erased():
    events = [*YP_GRANTED, ev("2025-11-01", kind="erasure", origin="cli", key="e1"),
              ev("2025-11-05", "young_person", kind="erasure", origin="cli", key="e2")]
    assert state(events, "2025-12-01")["erased"]
    assert R.erasures(frame(*events), cases()) == {"S1": {"e1": "parent", "e2": "case"}}


# --- request-decision ----------------------------------------------------------------------


def test_a_request_refused_for_a_reason_changes_no_permission():
    granted = state(grant_both(), "2024-12-01")
    for kind in ("objection", "erasure", "restriction"):
        events = [*grant_both(), ev("2024-03-01", kind=kind, origin="cli", key="rq"),
                  decide("2024-03-20", "rq", "refused", reason="seriously_impairs_research")]
        s = state(events, "2024-12-01")
        flags = [c for c in R.STATUS_COLUMNS if c not in ("reason",)]
        assert {c: s[c] for c in flags} == {c: granted[c] for c in flags}, kind
        row = steps(events, "2024-12-01").iloc[3]
        assert row["verdict"] == "refused" and "seriously impair the research" in row["note"]
        assert R.erasures(frame(*events), cases()) == {}


def test_a_request_takes_effect_when_granted_and_an_extended_one_stays_open():
    events = [*grant_both(), ev("2024-03-01", kind="objection", origin="cli", key="rq", details={"due_date": "2024-04-01"}),
              decide("2024-03-25", "rq", "extended", due="2024-06-01"), decide("2024-05-20", "rq", "granted")]
    open_ = state(events, "2024-04-10")
    assert open_["send_for_linkage"] and "awaits a decision" in open_["reason"]
    assert not state(events, "2024-05-20")["send_for_linkage"]
    table = steps(events, "2024-05-20")
    assert list(table["verdict"])[2:] == ["pending", "applied", "applied"]
    assert "due 2024-06-01" in table.iloc[3]["note"] and "granted on 2024-05-20" in table.iloc[4]["note"]


def test_a_request_is_decided_once():
    events = [*grant_both(), ev("2024-03-01", kind="restriction", origin="cli", key="rq"),
              decide("2024-03-10", "rq", "refused", reason="identity_not_confirmed"), decide("2024-03-20", "rq", "granted")]
    assert not state(events, "2024-04-01")["restricted"]
    assert steps(events, "2024-04-01").iloc[4]["verdict"] == "ignored"


def test_under_the_recorded_policy_a_request_waits_for_its_decision():
    events = [*grant_both(), ev("2024-03-01", kind="restriction", origin="fieldwork_request", key="rq")]
    assert state(events, "2024-04-01")["restricted"]  # default: granted on receipt
    assert not state(events, "2024-04-01", rp=RECORDED)["restricted"]
    granted = [*events, decide("2024-04-15", "rq", "granted", origin="fieldwork_request")]
    assert not state(granted, "2024-04-14", rp=RECORDED)["restricted"]
    assert state(granted, "2024-04-15", rp=RECORDED)["restricted"]


def test_a_granted_stop_decided_after_as_of_is_honoured_later():
    events = [*grant_both(), ev("2025-11-20", kind="objection", origin="cli", key="rq"), decide("2026-01-05", "rq", "granted")]
    assert state(events, "2025-12-01", rp=RECORDED)["send_for_linkage"]
    s = state(events, "2025-12-01", enforced=True, rp=RECORDED)
    assert not s["send_for_linkage"] and s["later_request_applied"]


def test_due_dates_count_calendar_months():
    assert R.due_date(D("2024-01-31")) == D("2024-02-29")
    assert R.due_date(D("2023-01-31")) == D("2023-02-28")
    assert R.due_date(D("2024-11-30"), extended=True) == D("2025-02-28")
    assert R.due_date(D("2024-03-15")) == D("2024-04-15")


# --- withdrawal-level ----------------------------------------------------------------------


def test_no_further_contact_keeps_linkage_and_use():
    events = [*grant_both(), ev("2024-02-01", scope="child_answers", decision="withdrawn", origin="cli", details={"level": "no_contact"})]
    s = state(events, "2024-06-01")
    assert s["no_further_contact"] and s["may_link_child_answers"] and s["consent_child_answers"] == "granted"


def test_no_further_linkage_stops_linkage_from_its_date_but_not_a_run_before_it():
    withdraw = ev("2026-01-10", scope="child_answers", decision="withdrawn", origin="cli", details={"level": "no_linkage"})
    events = [*grant_both(), withdraw]
    # recorded after the consent date: the run as of 2025-12-01 keeps the child's answers linked
    assert state(events, "2025-12-01", enforced=True)["may_link_child_answers"]
    # the next run after it does not link them
    assert not state(events, "2026-02-01", enforced=True)["may_link_child_answers"]
    # at the default level (no further use) the same withdrawal is honoured at once
    no_use = [*grant_both(), ev("2026-01-10", scope="child_answers", decision="withdrawn", origin="cli")]
    assert not state(no_use, "2025-12-01", enforced=True)["may_link_child_answers"]


def test_a_young_persons_withdrawal_at_level_no_linkage_recorded_later_does_not_undo_the_run():
    events = [*YP_GRANTED, ev("2026-01-10", "young_person", scope="child_answers", decision="withdrawn", origin="cli", details={"level": "no_linkage"})]
    s = state(events, "2025-12-01", enforced=True)
    assert s["may_link_parent_answers"] and s["may_link_child_answers"]

"""Consent rates, bias and consent over time on hand-made tables (values worked out by hand)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sendlink import disclosure
from sendlink.consent import rules as R
from sendlink.consent.summary import (
    bias_table,
    consent_bias,
    consent_rates,
    consent_table,
    levels,
    milestones,
    overall_rates,
    rate_table,
    status_over_time,
)
from tests.conftest import RULES

STATUS = pd.DataFrame(
    {
        "survey_id": ["A", "B", "C", "D", "E"],
        "consent_parent_answers": ["granted", "refused", "granted", "no_answer", "not_asked"],
        "consent_child_answers": ["granted", "refused", "refused", "no_answer", "not_asked"],
        "send_for_linkage": [True, False, False, False, False],  # C restricted
    }
)
SAMPLE = pd.DataFrame(
    {
        "survey_id": ["A", "B", "C", "D", "E"],
        "w1_responded": [True, True, True, True, False],
        "frame_fsm": [False, True, False, True, True],
        "w1_weight": [1.0, 3.0, 1.0, 1.0, 1.0],
    }
)
PARENT_W1 = pd.DataFrame({"survey_id": ["A", "B", "C", "D"], "unmet_need": [1, 2, None, 2]})


def table():
    return consent_table(STATUS, SAMPLE, PARENT_W1)


def test_table_keeps_respondents_with_outcomes():
    t = table()
    assert list(t["survey_id"]) == ["A", "B", "C", "D"]  # E did not respond
    assert list(t["consent_any"]) == [True, False, True, False]
    assert list(t["consent_child"]) == [True, False, False, False]


def test_rates_overall_by_group_and_weighted():
    overall = consent_rates(table())
    assert overall.loc[0, "n"] == 4 and overall.loc[0, "consenting"] == 2 and overall.loc[0, "rate"] == 0.5
    by = consent_rates(table(), "frame_fsm").set_index("frame_fsm")
    assert by.loc["False", "rate"] == 1.0 and by.loc["True", "rate"] == 0.0
    weighted = consent_rates(table(), weight="w1_weight")
    assert weighted.loc[0, "rate"] == pytest.approx(2 / 6)  # (1 + 1) / (1 + 3 + 1 + 1)
    assert consent_rates(table(), outcome="sent_for_linkage").loc[0, "rate"] == 0.25


def test_bias_compares_consenters_with_non_consenters():
    bias = consent_bias(table()).set_index(["variable", "level"])
    # consenters A, C: FSM False both; non-consenters B, D: FSM True both
    assert bias.loc[("FSM eligible", "True"), "share_consenters"] == 0.0
    assert bias.loc[("FSM eligible", "True"), "difference_pp"] == -100.0
    # unmet need: consenters A=1, C=missing; non-consenters B=2, D=2
    assert bias.loc[("unmet need (parent, wave 1)", "missing"), "share_consenters"] == 0.5
    assert bias.loc[("unmet need (parent, wave 1)", "2"), "share_non_consenters"] == 1.0


# --- levels -----------------------------------------------------------------------------------


def test_levels_order_numbers_as_numbers_and_put_missing_last():
    out = levels(pd.Series([10, 2, None, 1], dtype="Int64"))
    assert list(out.cat.categories) == ["1", "2", "10", "missing"]
    assert list(out.astype(str)) == ["10", "2", "missing", "1"]
    floats = levels(pd.Series([2.0, 1.0, np.nan]))
    assert list(floats.astype(str)) == ["2", "1", "missing"]


def test_levels_name_booleans_and_relabel_text():
    flags = levels(pd.Series([True, False, None], dtype="boolean"))
    assert list(flags.astype(str)) == ["yes", "no", "missing"]
    assert list(flags.cat.categories) == ["no", "yes", "missing"]
    assert list(levels(pd.Series([True, True])).cat.categories) == ["yes"]
    text = levels(pd.Series(["K", "E", "K"]), {"E": "EHC plan"})
    assert list(text.cat.categories) == ["EHC plan", "K"]


def test_table_keeps_who_decides_when_the_status_has_it():
    status = STATUS.assign(child_scope_governed_by=["young_person", "parent", "parent", "parent", "parent"])
    t = consent_table(status, SAMPLE)
    assert list(t["child_scope_governed_by"]) == ["young_person", "parent", "parent", "parent"]


# --- protected tables: 60 respondents, every count at least 10 -----------------------------------
# not FSM: 30 families, 20 consent; FSM: 30 families, 15 consent.
# Consenters (35): 20 not FSM, 15 FSM; non-consenters (25): 10 not FSM, 15 FSM.


def sixty(extra_missing: bool = False) -> pd.DataFrame:
    fsm = [False] * 30 + [True] * 30
    yes = [True] * 20 + [False] * 10 + [True] * 15 + [False] * 15
    if extra_missing:  # 4 more families with FSM unknown: 2 consent, 2 do not
        fsm += [None] * 4
        yes += [True, True, False, False]
    n = len(fsm)
    return pd.DataFrame(
        {
            "survey_id": [f"S{i:03d}" for i in range(n)],
            "frame_fsm": pd.array(fsm, dtype="boolean"),
            "consent_any": yes,
            "consent_parent": yes,
            "consent_child": [False] * n,
            "sent_for_linkage": yes,
        }
    )


def test_overall_rates_by_hand():
    t = overall_rates(sixty(), RULES)
    disclosure.check_published(t)
    assert t.display.loc["permission for either scope (as of the date)", "%"] == "58.3"  # 35 / 60
    assert t.display.loc["permission to link the child's answers", "%"] == "0.0"
    assert t.display.loc["permission for either scope (as of the date)", "n"] == "60"


def test_rate_table_by_hand():
    t = rate_table(sixty(), RULES, variables={"frame_fsm": "FSM"})
    disclosure.check_published(t)
    assert t.display.loc[("FSM", "no"), "% consenting"] == "66.7"  # 20 / 30
    assert t.display.loc[("FSM", "yes"), "% consenting"] == "50.0"  # 15 / 30
    assert t.display.loc[("FSM", "yes"), "n"] == "30"
    assert t.values.loc[("FSM", "no"), "% consenting"] == pytest.approx(66.7)


def test_bias_table_by_hand():
    t = bias_table(sixty(), RULES, variables={"frame_fsm": "FSM"})
    disclosure.check_published(t)
    d = t.display
    assert d.loc[("FSM", "no"), "% of consenters"] == "57.1"  # 20 / 35
    assert d.loc[("FSM", "no"), "% of non-consenters"] == "40.0"  # 10 / 25
    assert d.loc[("FSM", "no"), "% of all"] == "50.0"  # 30 / 60
    assert d.loc[("FSM", "no"), "gap (pp)"] == "17.1"  # 57.1 - 40.0
    assert d.loc[("FSM", "yes"), "gap (pp)"] == "-17.1"  # 42.9 - 60.0
    assert t.values.loc[("FSM", "yes"), "gap (pp)"] == pytest.approx(-17.1)


def test_small_groups_are_suppressed_and_their_gap_hidden():
    t = bias_table(sixty(extra_missing=True), RULES, variables={"frame_fsm": "FSM"})
    disclosure.check_published(t)
    d = t.display
    # 2 consenters and 2 non-consenters with FSM unknown: below the threshold
    assert d.loc[("FSM", "missing"), "% of consenters"] == "c"
    assert d.loc[("FSM", "missing"), "gap (pp)"] == "c"
    hidden = (d["% of consenters"] == "c") | (d["% of non-consenters"] == "c")
    assert (d.loc[hidden, "gap (pp)"] == "c").all()
    rates = rate_table(sixty(extra_missing=True), RULES, variables={"frame_fsm": "FSM"})
    assert rates.display.loc[("FSM", "missing"), "n"] == "c"  # 4 families


def test_dropping_missing_values_gives_the_table_without_them():
    dropped = bias_table(sixty(extra_missing=True), RULES, variables={"frame_fsm": "FSM"}, missing="drop")
    # the 4 unknowns (2 + 2) leave 35 consenters and 25 non-consenters with FSM known
    assert list(dropped.display.index) == [("FSM", "no"), ("FSM", "yes")]
    assert dropped.display.loc[("FSM", "no"), "gap (pp)"] == "17.1"
    assert "missing values left out" in dropped.footnote
    with pytest.raises(ValueError, match="missing"):
        rate_table(sixty(), RULES, variables={"frame_fsm": "FSM"}, missing="ignore")


def test_unknown_outcome_or_column_is_refused():
    with pytest.raises(ValueError, match="outcome"):
        rate_table(sixty(), RULES, variables={"frame_fsm": "FSM"}, outcome="linked")
    with pytest.raises(KeyError, match="frame_eal"):
        bias_table(sixty(), RULES, variables={"frame_eal": "EAL"})


# --- consent over time ----------------------------------------------------------------------------


def _event(seq, sid, person, kind, scope, decision, date, contact="wave1"):
    return {"seq": seq, "survey_id": sid, "person": person, "kind": kind, "scope": scope, "decision": decision,
            "effective_date": date, "origin": "fieldwork_consent", "payload": None, "contact": contact}


EVENTS = pd.DataFrame(
    [
        _event(1, "X", "parent", "consent", "child_answers", "granted", "2022-06-01"),
        _event(2, "X", "parent", "consent", "parent_answers", "granted", "2022-06-01"),
        _event(3, "Y", "parent", "consent", "child_answers", "no_answer", "2022-06-02"),
        _event(4, "Y", "parent", "consent", "parent_answers", "no_answer", "2022-06-02"),
        _event(5, "Y", "parent", "consent", "child_answers", "granted", "2023-05-01", "wave2"),
        _event(6, "Y", "parent", "consent", "parent_answers", "refused", "2023-05-01", "wave2"),
        _event(7, "X", "parent", "consent", "parent_answers", "withdrawn", "2024-01-10", "ad_hoc"),
        _event(8, "X", "young_person", "consent", "child_answers", "refused", "2025-10-01", "wave3"),
        _event(9, "E", "parent", "consent", "child_answers", "granted", "2022-06-03"),
        _event(10, "E", "parent", "consent", "parent_answers", "granted", "2022-06-03"),
        _event(11, "E", "parent", "erasure", None, None, "2024-06-01", "ad_hoc"),
    ]
)
CASES = pd.DataFrame({"survey_id": ["E", "X", "Y", "Z"], "date_of_birth": ["2009-05-05", "2009-01-10", "2009-03-01", "2009-06-06"]})


def test_status_over_time_by_hand():
    dates = [dt.date(2022, 12, 31), dt.date(2023, 12, 31), dt.date(2025, 12, 1)]
    out = status_over_time(EVENTS, CASES, dates).set_index("date")
    # 2022: X granted both; Y broke off (asked, no permission); E erased later, so left out; Z never asked
    assert out.loc["2022-12-31"].to_dict() == {"asked": 2, "permission_parent_answers": 1, "permission_child_answers": 1,
                                               "child_scope_young_person": 0, "sent_for_linkage": 1}
    # 2023: Y granted the child's answers at wave 2, refused the parent's
    assert out.loc["2023-12-31"].to_dict() == {"asked": 2, "permission_parent_answers": 1, "permission_child_answers": 2,
                                               "child_scope_young_person": 0, "sent_for_linkage": 2}
    # 2025: X's parent withdrew their own answers; X (16 on 2025-01-10) refused the child's answers;
    # Y (16 on 2025-03-01, never asked) keeps the parent's permission for the child's answers
    assert out.loc["2025-12-01"].to_dict() == {"asked": 2, "permission_parent_answers": 0, "permission_child_answers": 1,
                                               "child_scope_young_person": 1, "sent_for_linkage": 1}


def test_milestones_by_hand():
    events = pd.concat(
        [EVENTS, pd.DataFrame([_event(12, "Y", "parent", "access", None, None, "2022-10-15", "wave1")])], ignore_index=True
    )
    got = milestones(events, dt.date(2025, 12, 1), R.RuleParams())
    assert got == {
        "end of wave 1": dt.date(2022, 6, 3),  # the last wave-1 consent decision (the access request is not one)
        "end of wave 2": dt.date(2023, 5, 1),
        "day before the first 16th birthday": dt.date(2024, 8, 31),  # cohort born from 2008-09-01
        "every child 16 or over": dt.date(2025, 8, 31),  # the last born 2009-08-31
        "consent date (as_of)": dt.date(2025, 12, 1),
    }
    assert list(got.values()) == sorted(got.values())
    only_wave1 = milestones(EVENTS[EVENTS["contact"] == "wave1"], dt.date(2025, 12, 1))
    assert "end of wave 2" not in only_wave1

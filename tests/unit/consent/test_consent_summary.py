"""Consent rates and bias on a hand-made table (values worked out by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from sendlink.consent.summary import consent_bias, consent_rates, consent_table

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

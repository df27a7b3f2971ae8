"""Consent-and-link weights on hand-made data with answers known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _outcomesdata import SETTINGS, blank_extract, linked_frame_row_values, replicate_world

from sendlink.outcomes.analysis import OUTCOMES, analyse, complete_rows, fit_model, masks
from sendlink.outcomes.variables import analysis_variables
from sendlink.outcomes.weights import analysis_weights, consent_propensity, weight_summary


def test_weights_are_base_over_probability_floored_and_trimmed():
    base = pd.Series([1.0, 1.0, 1.0, 1.0, 1.0])
    p = pd.Series([0.5, 0.25, 0.1, 0.01, 1.0])
    sample = pd.Series([True] * 5)
    # Raw: 2, 4, 10, 1/0.02 = 50 (floored), 1. The 0.8 quantile of 1, 2, 4, 10, 50
    # by the inverted empirical CDF (the smallest value with at least 80% of the
    # weights at or below it: 4 of 5 at 10) is 10; the bootstrap applies the same rule.
    w = analysis_weights(base, p, sample, trim_quantile=0.8, min_propensity=0.02)
    assert w.untrimmed.tolist() == pytest.approx([2.0, 4.0, 10.0, 50.0, 1.0])
    assert w.cap == pytest.approx(10.0)
    assert w.weight.tolist() == pytest.approx([2.0, 4.0, 10.0, 10.0, 1.0])
    assert (w.n_trimmed, w.n_floored) == (1, 1)


def test_no_trimming_at_quantile_one_and_rows_outside_the_sample_have_no_weight():
    base = pd.Series([2.0, 3.0, 4.0])
    p = pd.Series([0.5, 0.5, np.nan])
    w = analysis_weights(base, p, pd.Series([True, True, False]), trim_quantile=1.0)
    assert w.weight.iloc[:2].tolist() == pytest.approx([4.0, 6.0])
    assert np.isnan(w.weight.iloc[2]) and w.cap == np.inf


def test_weights_need_a_probability_for_every_sampled_row():
    with pytest.raises(ValueError, match="probability"):
        analysis_weights(pd.Series([1.0]), pd.Series([np.nan]), pd.Series([True]))


def test_kish_design_effect():
    # n sum(w^2) / (sum w)^2 = 4 x 10 / 36 = 10/9.
    s = weight_summary(pd.Series([1.0, 1.0, 2.0, 2.0]))
    assert s["design_effect"] == pytest.approx(10 / 9)
    assert s["effective_n"] == pytest.approx(3.6)


def _fsm_extract() -> pd.DataFrame:
    """8 FSM families (2 withheld, 3 of the other 6 analysable) and 8 others (6 analysable)."""
    frame = blank_extract(16)
    linked_frame_row_values(frame, np.arange(16))
    fsm = np.r_[np.ones(8, bool), np.zeros(8, bool)]
    frame["frame_fsm"] = fsm
    frame["p2_responded"] = False
    frame["p1_school_experience"] = pd.array([3] * 16, dtype="Int64")
    frame["p1_satisfaction_support"] = pd.array([3] * 16, dtype="Int64")
    frame["p1_unmet_need"] = pd.array([False] * 16, dtype="boolean")
    withheld = np.zeros(16, bool)
    withheld[[0, 1]] = True
    analysable = np.zeros(16, bool)
    analysable[[2, 3, 4]] = True  # 3 of the 6 FSM rows not withheld
    analysable[[8, 9, 10, 11, 12, 13]] = True  # 6 of 8 others
    frame.loc[withheld, ["p1_school_experience", "p1_satisfaction_support", "p1_unmet_need"]] = pd.NA
    frame["parent_answers_withheld"] = withheld
    frame["npd_linked"] = analysable | withheld
    return frame


def test_two_part_consent_model_reproduces_the_observed_proportions():
    # Saturated in FSM: P(analysable | FSM) = 6/8 not withheld x 3/6 analysable = 3/8;
    # P(analysable | not FSM) = 6/8 (nothing withheld).
    frame = _fsm_extract()
    population = pd.Series(True, index=frame.index)
    analysable = frame["npd_linked"] & ~frame["parent_answers_withheld"]
    prop = consent_propensity(frame, population, analysable, frame["parent_answers_withheld"], min_category_rows=0)
    assert prop.probability.iloc[:8].tolist() == pytest.approx([3 / 8] * 8, rel=1e-6)
    assert prop.probability.iloc[8:].tolist() == pytest.approx([6 / 8] * 8, rel=1e-6)
    assert (prop.n_population, prop.n_analysable, prop.n_withheld) == (16, 9, 2)
    assert prop.not_withheld is not None


def test_consent_model_refuses_a_population_without_contrast():
    frame = _fsm_extract()
    everyone = pd.Series(True, index=frame.index)
    with pytest.raises(ValueError, match="both"):
        consent_propensity(frame, everyone, everyone, pd.Series(False, index=frame.index))


def test_rare_categories_join_the_reference():
    # With at least 10 rows per category required, the 8 FSM rows are pooled
    # with the others: one probability for all, 9 analysable of 16.
    frame = _fsm_extract()
    population = pd.Series(True, index=frame.index)
    analysable = frame["npd_linked"] & ~frame["parent_answers_withheld"]
    prop = consent_propensity(frame, population, analysable, frame["parent_answers_withheld"], min_category_rows=10)
    assert prop.probability.tolist() == pytest.approx([9 / 16] * 16, rel=1e-6)


def test_analysable_and_withheld_cannot_overlap():
    frame = _fsm_extract()
    everyone = pd.Series(True, index=frame.index)
    with pytest.raises(ValueError, match="both analysable and withheld"):
        consent_propensity(frame, everyone, frame["parent_answers_withheld"], frame["parent_answers_withheld"])


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_weighting_recovers_the_population_exactly_when_consenters_replicate_it(outcome):
    # Within each school experience s, consenters are exact copies of the
    # population; the survey organisation's consent step (saturated in s)
    # finds P = c(s)/4, everyone consenting is linked (P(link) = 1), and the
    # weighted fit on consenters is the population fit. The naive fit is not.
    extract, population = replicate_world()
    result = analyse(extract, SETTINGS, seed=0, outcomes=(outcome,), models=("main",), estimators=("naive", "weighted"))
    everyone = analysis_variables(population)
    rows = complete_rows(everyone, outcome, "main")
    truth = fit_model(everyone, OUTCOMES[outcome], "main", rows, None).result.params
    est = result.estimates.set_index(["estimator", "term"])["coef"]
    for term in ("ehc", "unmet_need", "satisfaction"):
        assert est[("weighted", term)] == pytest.approx(truth[term], rel=1e-6, abs=1e-8), term
    assert abs(est[("naive", "unmet_need")] - truth["unmet_need"]) > 1e-3


def test_population_and_analysable_rows():
    extract, _ = replicate_world()
    extract.loc[0, "stratum"] = "E_independent"
    extract.loc[1, "child_answers_withheld"] = True
    pop, ana, withheld = masks(extract, OUTCOMES["persistent_absence"])
    assert not pop[0] and not ana[0]
    assert bool(ana[1]) == bool(extract.loc[1, "npd_linked"])
    pop_w, ana_w, _ = masks(extract, OUTCOMES["wellbeing"])
    assert not ana_w[1]  # the child's answers are needed for wellbeing
    assert not withheld.any()

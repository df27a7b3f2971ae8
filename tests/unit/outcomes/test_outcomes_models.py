"""Model helpers on tiny hand-made data; every expected value worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sendlink.outcomes.models import design, fit_count, fit_linear, fit_logistic, overdispersion


def two_by_two(a: int, b: int, c: int, d: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Exposed: a events, b non-events; unexposed: c events, d non-events."""
    x = np.r_[np.ones(a + b), np.zeros(c + d)]
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    return y, pd.DataFrame({"const": 1.0, "x": x})


def test_logistic_odds_ratio_of_a_two_by_two_table():
    # OR = (a d) / (b c) = (30 x 45) / (10 x 15) = 9.
    y, X = two_by_two(30, 10, 15, 45)
    fit = fit_logistic(y, X)
    assert fit.family == "logistic" and fit.scale == "odds ratio"
    assert math.exp(fit.result.params["x"]) == pytest.approx(9.0, rel=1e-8)
    # Saturated model: the robust (HC0) variance is Woolf's 1/a + 1/b + 1/c + 1/d;
    # HC1 multiplies it by n / (n - k) = 100 / 98.
    woolf = 1 / 30 + 1 / 10 + 1 / 15 + 1 / 45
    assert fit.result.bse["x"] == pytest.approx(math.sqrt(woolf * 100 / 98), rel=1e-6)


def test_each_row_its_own_cluster_is_hc1():
    y, X = two_by_two(30, 10, 15, 45)
    hc1 = fit_logistic(y, X)
    clustered = fit_logistic(y, X, groups=np.arange(len(y)))
    # G/(G-1) x (N-1)/(N-K) with G = N is N/(N-K): the HC1 factor.
    assert clustered.result.bse["x"] == pytest.approx(hc1.result.bse["x"], rel=1e-8)
    assert clustered.clusters == len(y)


def test_missing_cluster_is_a_cluster_of_its_own():
    y, X = two_by_two(30, 10, 15, 45)
    labels = np.array([None] * len(y), dtype=object)
    fit = fit_logistic(y, X, groups=labels)
    assert fit.clusters == len(y)
    assert fit.result.bse["x"] == pytest.approx(fit_logistic(y, X).result.bse["x"], rel=1e-8)


def test_weighted_logistic_uses_weighted_cell_totals():
    # Doubling the weight of the exposed events doubles a: OR = (60 x 45) / (10 x 15) = 18.
    y, X = two_by_two(30, 10, 15, 45)
    w = np.where((X["x"] == 1) & (y == 1), 2.0, 1.0)
    fit = fit_logistic(y, X, weights=w)
    assert math.exp(fit.result.params["x"]) == pytest.approx(18.0, rel=1e-8)
    assert fit.weighted


def test_effects_table_exponentiates_and_gives_wald_intervals():
    y, X = two_by_two(30, 10, 15, 45)
    table = fit_logistic(y, X).effects(["x"], confidence=0.95).iloc[0]
    assert table["effect"] == pytest.approx(9.0, rel=1e-8)
    assert table["ci_low"] == pytest.approx(table["coef"] - 1.959964 * table["se"], rel=1e-6)
    assert table["effect_high"] == pytest.approx(math.exp(table["coef"] + 1.959964 * table["se"]), rel=1e-6)
    missing = fit_logistic(y, X).effects(["not_a_term"]).iloc[0]
    assert np.isnan(missing["coef"])


def test_weighted_mean_and_its_cluster_robust_standard_error():
    # Intercept-only regression: the weighted mean (1 + 2 + 2x3 + 2x4) / 6 = 17/6.
    # Cluster sums of w (y - 17/6): cluster a -8/3, cluster b +8/3; the
    # sandwich is G/(G-1) sum_g s_g^2 / (sum w)^2 = 2 x (128/9) / 36 = 64/81,
    # so the standard error is 8/9 (and (N-1)/(N-K) = 1 with one parameter).
    y = np.array([1.0, 2.0, 3.0, 4.0])
    X = pd.DataFrame({"const": np.ones(4)})
    fit = fit_linear(y, X, weights=np.array([1.0, 1.0, 2.0, 2.0]), groups=np.array(["a", "a", "b", "b"]))
    assert fit.result.params["const"] == pytest.approx(17 / 6)
    assert fit.result.bse["const"] == pytest.approx(8 / 9, rel=1e-8)
    # Scaling the weights changes nothing.
    scaled = fit_linear(y, X, weights=np.array([10.0, 10.0, 20.0, 20.0]), groups=np.array(["a", "a", "b", "b"]))
    assert scaled.result.bse["const"] == pytest.approx(8 / 9, rel=1e-8)


def test_weighted_mean_difference():
    # Exposed y = 5 (w 1), 7 (w 3): weighted mean 26/4 = 6.5; unexposed 1 (w 1), 2 (w 1): 1.5.
    y = np.array([5.0, 7.0, 1.0, 2.0])
    X = pd.DataFrame({"const": 1.0, "x": [1.0, 1.0, 0.0, 0.0]})
    fit = fit_linear(y, X, weights=np.array([1.0, 3.0, 1.0, 1.0]))
    assert fit.family == "linear" and fit.scale == "difference"
    assert fit.result.params["x"] == pytest.approx(5.0)
    assert fit.effects(["x"]).iloc[0]["effect"] == pytest.approx(5.0)


def test_overdispersion_moment_estimate_and_pearson_ratio():
    # Intercept-only Poisson: mu = mean = 2. alpha = sum((y - 2)^2 - y) / sum(mu^2)
    # = (80 - 12) / 24 = 17/6; Pearson ratio = sum((y - 2)^2 / 2) / (6 - 1) = 40 / 5 = 8.
    y = np.array([0, 0, 0, 0, 10, 2], dtype=float)
    test = overdispersion(y, np.full(6, 2.0), n_params=1)
    assert test.alpha == pytest.approx(17 / 6)
    assert test.pearson_ratio == pytest.approx(8.0)


def test_count_model_stays_poisson_without_overdispersion():
    # Exposed 1, 2, 3, 2 (mean 2), unexposed 1, 1, 0, 2 (mean 1): rate ratio 2.
    # alpha = sum((y - mu)^2 - y) / sum(mu^2) = ((2 - 8) + (2 - 4)) / (16 + 4) = -0.4 < 0.
    y = np.array([1, 2, 3, 2, 1, 1, 0, 2], dtype=float)
    X = pd.DataFrame({"const": 1.0, "x": [1.0] * 4 + [0.0] * 4})
    fit = fit_count(y, X)
    assert fit.family == "poisson" and fit.scale == "rate ratio"
    assert fit.overdispersion.alpha == pytest.approx(-0.4)
    assert math.exp(fit.result.params["x"]) == pytest.approx(2.0, rel=1e-8)


def test_count_model_is_fixed_in_advance_and_never_switched_by_the_test():
    # The overdispersed pattern 20 times in each group; group means 2 (exposed) and 1
    # (unexposed, the pattern halved is not integer, so 0,0,0,0,5,1). A saturated
    # model's fitted means are the group means whatever alpha: rate ratio 2.
    exposed = np.tile([0, 0, 0, 0, 10, 2], 20)
    unexposed = np.tile([0, 0, 0, 0, 5, 1], 20)
    y = np.r_[exposed, unexposed].astype(float)
    X = pd.DataFrame({"const": 1.0, "x": np.r_[np.ones(120), np.zeros(120)]})
    poisson = fit_count(y, X)
    # Clearly overdispersed, yet the pre-specified Poisson model is kept; the test is a diagnostic.
    assert poisson.family == "poisson" and poisson.overdispersion.p_value < 0.05
    nb = fit_count(y, X, model="negative_binomial")
    assert nb.family == "negative_binomial" and nb.alpha > 0
    for fit in (poisson, nb):
        assert math.exp(fit.result.params["x"]) == pytest.approx(2.0, rel=1e-6)
    with pytest.raises(ValueError, match="count model"):
        fit_count(y, X, model="zip")


def test_design_drops_constant_and_collinear_terms_in_order():
    frame = pd.DataFrame({
        "a": [1, 0, 1, 0, 1.0],
        "b": [0, 1, 0, 1, 0.0],  # 1 - a
        "never": [0, 0, 0, 0, 0.0],  # a missing-value flag never set
        "d": [1, 2, 3, 4, 5.0],
        "e": [2, 2, 4, 4, 6.0],  # d + a
    })
    X, dropped = design(frame, ["a", "b", "never", "d", "e"])
    assert list(X.columns) == ["const", "a", "d"]
    assert dropped == ("b", "never", "e")

"""The false-link correction recovers a coefficient that false links attenuate (simulated, known truth)."""

from __future__ import annotations

import numpy as np
import pytest

from sendlink.outcomes.linkage_error import combined_design, fit_corrected


def _linked_file(n: int, false_share: float, rng: np.random.Generator):
    """Survey answer s, NPD covariate x and NPD outcome y = 1 + 2 s + x + e; a false link
    carries another child's (x, y) with the surveyed child's s, and has match probability
    1 - false_share (calibrated: exactly that share of links is wrong)."""
    s = rng.binomial(1, 0.4, n).astype(float)
    x = rng.normal(0, 1, n)
    y = 1 + 2 * s + x + rng.normal(0, 1, n)
    wrong = rng.random(n) < false_share
    other = rng.permutation(n)
    x_obs, y_obs = np.where(wrong, x[other], x), np.where(wrong, y[other], y)
    X = np.column_stack([np.ones(n), s, x_obs])
    return X, y_obs, np.full(n, 1 - false_share)


def test_combined_design_swaps_the_survey_part_and_recomputes_interactions():
    columns = ["const", "unmet_need", "fsm", "unmet_need_x_fsm"]
    X = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], dtype=float)
    out = combined_design(X, columns, X, swap_survey=True)
    # Row 0 with reference 1's answers (unmet 0) keeps its own FSM (0): interaction 0.
    assert out[0, 1].tolist() == [1, 0, 0, 0]
    # Row 1 (FSM) with reference 0's answers (unmet 1): interaction 1.
    assert out[1, 0].tolist() == [1, 1, 1, 1]


def test_false_links_attenuate_and_the_correction_recovers_the_coefficient():
    rng = np.random.default_rng(7)
    X, y, lam = _linked_file(4000, 0.25, rng)
    naive = np.linalg.lstsq(X, y, rcond=None)[0]
    assert naive[1] < 1.7  # attenuated by about the false-link share (2 x 0.75 = 1.5)
    beta, cov, _ = fit_corrected(y, X, ["const", "unmet_need", "npd_x"], np.ones(len(y)), lam, "identity",
                              swap_survey=True, start=naive, references=200)
    assert beta[1] == pytest.approx(2.0, abs=3 * np.sqrt(cov[1, 1]))
    assert np.sqrt(cov[1, 1]) > 0


def test_with_every_link_right_the_correction_is_the_ordinary_fit():
    rng = np.random.default_rng(8)
    X, y, _ = _linked_file(500, 0.0, rng)
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    beta, _, _ = fit_corrected(y, X, ["const", "unmet_need", "npd_x"], np.ones(len(y)), np.ones(len(y)), "identity", swap_survey=True, start=ols)
    assert beta == pytest.approx(ols, abs=1e-8)


def test_one_step_replicates_of_a_linear_model_are_the_exact_weighted_refits():
    # With every link right and an identity link the corrected equations are
    # weighted least squares, linear in beta: one step from the solution is
    # the exact solution with the replicate's weights.
    rng = np.random.default_rng(9)
    X, y, _ = _linked_file(300, 0.0, rng)
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    reps_w = rng.gamma(2.0, 0.5, size=(len(y), 4))
    beta, _, reps = fit_corrected(y, X, ["const", "unmet_need", "npd_x"], np.ones(len(y)), np.ones(len(y)), "identity",
                                  swap_survey=True, start=ols, replicate_weights=reps_w)
    for r in range(4):
        sw = np.sqrt(reps_w[:, r])
        exact = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0]
        assert reps[r] == pytest.approx(exact, abs=1e-8)


def test_bootstrap_of_the_corrected_estimate_matches_its_sampling_spread():
    # Poisson-bootstrap weights on a file with 25% false links: the spread of
    # the one-step replicates is about the estimator's spread over samples.
    estimates, ses = [], []
    for k in range(40):
        rng = np.random.default_rng(100 + k)
        X, y, lam = _linked_file(800, 0.25, rng)
        start = np.linalg.lstsq(X, y, rcond=None)[0]
        reps_w = rng.poisson(1.0, size=(len(y), 60)).astype(float)
        beta, _, reps = fit_corrected(y, X, ["const", "unmet_need", "npd_x"], np.ones(len(y)), lam, "identity",
                                      swap_survey=True, start=start, references=100, replicate_weights=reps_w)
        estimates.append(beta[1])
        ses.append(np.sqrt(np.nanmean((reps[:, 1] - beta[1]) ** 2)))
    assert np.mean(ses) / np.std(estimates, ddof=1) == pytest.approx(1.0, abs=0.3)

"""Calibration helpers, checked against closed forms."""

import numpy as np
import pytest
from scipy.special import expit

from sendlink.synth.calibrate import (
    logit_normal_mean,
    solve_intercept,
    solve_logistic_intercept,
    top_share,
)


def test_logit_normal_mean_without_spread_is_expit():
    mu = np.array([-2.0, 0.0, 1.5])
    assert logit_normal_mean(mu, 0.0) == pytest.approx(expit(mu))


def test_logit_normal_mean_is_symmetric_around_zero():
    # E[expit(sd Z)] = 1/2 for any sd, by symmetry of Z.
    assert logit_normal_mean(np.array([0.0]), 1.7)[0] == pytest.approx(0.5)


def test_solve_intercept_hits_target():
    offsets = np.array([-1.0, 0.0, 0.5, 2.0])
    c = solve_intercept(offsets, 0.8, 0.2)
    assert logit_normal_mean(c + offsets, 0.8).mean() == pytest.approx(0.2, abs=1e-4)


def test_solve_logistic_intercept_for_constant_offsets():
    # mean(expit(c + 0)) = 0.25  <=>  c = logit(0.25) = -log(3)
    assert solve_logistic_intercept(np.zeros(5), 0.25) == pytest.approx(-np.log(3))


def test_top_share_picks_the_highest_eligible():
    score = np.array([5.0, 1.0, 4.0, 3.0, 2.0])
    eligible = np.array([True, True, False, True, True])
    mask = top_share(score, eligible, 0.5)
    # 4 eligible -> 2 chosen: scores 5 and 3 (4 is not eligible).
    assert mask.tolist() == [True, False, False, True, False]


def test_top_share_rejects_bad_target():
    with pytest.raises(ValueError):
        solve_intercept(np.zeros(3), 1.0, 1.5)

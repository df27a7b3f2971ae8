"""Unit tests of the second edition's methods on tiny hand-made data."""

from __future__ import annotations

import numpy as np
import pytest

from sendlink.config import Paths
from sendlink.errors import ParameterError
from sendlink.outcomes.bootstrap import combine, rao_wu_multipliers, weighted_quantile
from sendlink.outcomes.imputation import pool
from sendlink.outcomes.sensitivity import shifted_outcome
from sendlink.params import load_params


def test_rao_wu_bootstrap_variance_of_a_stratified_mean_matches_the_textbook_formula():
    # Stratified sample, estimator = weighted total; the bootstrap variance must
    # approach sum_h N_h^2 (1 - f_h) s_h^2 / n_h (the finite-population formula).
    rng = np.random.default_rng(1)
    y = np.concatenate([rng.normal(10, 2, 40), rng.normal(20, 5, 60)])
    strata = np.array(["a"] * 40 + ["b"] * 60)
    N = {"a": 100.0, "b": 400.0}
    w = np.where(strata == "a", N["a"] / 40, N["b"] / 60)
    mult = rao_wu_multipliers(strata, N, 4000, np.random.default_rng(2))
    totals = (w[:, None] * mult * y[:, None]).sum(axis=0)
    expected = sum(N[h] ** 2 * (1 - (strata == h).sum() / N[h]) * y[strata == h].var(ddof=1) / (strata == h).sum() for h in N)
    assert totals.var(ddof=1) == pytest.approx(expected, rel=0.08)
    # Without the correction the variance is larger by about 1 / (1 - f).
    plain = rao_wu_multipliers(strata, N, 4000, np.random.default_rng(2), fpc=False)
    assert (w[:, None] * plain * y[:, None]).sum(axis=0).var() > totals.var() * 1.1
    assert (mult >= 0).all()


def test_rubins_rules_add_the_between_imputation_variance():
    p = pool(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0]))
    assert p.estimate == 2.0
    assert p.se == pytest.approx(np.sqrt(1.0 + (1 + 1 / 3) * 1.0))
    c = combine(np.array([0.0, 1.0]), np.array([1.0, 2.0, -1.0, 0.0]), np.array([0, 1, 0, 1]))
    assert c.within == pytest.approx(1.0)
    assert c.se == pytest.approx(np.sqrt(1.0 + 1.5 * 0.5))


def test_weighted_quantile_with_unit_weights_is_the_inverted_cdf():
    x = np.arange(1.0, 11.0)
    assert weighted_quantile(x, 0.5) == np.quantile(x, 0.5, method="inverted_cdf")
    assert weighted_quantile(x, 0.5, np.r_[np.zeros(5), np.ones(5)]) == 8.0


def test_delta_shift_leaves_the_data_alone_at_zero_and_moves_the_mean_as_stated():
    y = np.array([0.0, 1.0, 0.5, 1.0, 0.0])
    mu = np.full(5, 0.4)
    assert np.allclose(shifted_outcome(y, mu, np.zeros(5), "logistic"), y)
    up = shifted_outcome(y, mu, np.full(5, 1.0), "logistic")
    target = 1 / (1 + np.exp(-(np.log(0.4 / 0.6) + 1.0)))
    # E[clone] = mu + (1 - mu) * up-share: with y ~ Bernoulli(mu) the mean moves to target.
    assert (up >= y).all() and (up <= 1).all()
    assert 0.4 + 0.6 * (target - 0.4) / 0.6 == pytest.approx(target)
    assert np.allclose(shifted_outcome(np.array([2.0]), np.array([1.0]), np.array([np.log(2)]), "poisson"), [4.0])
    assert np.allclose(shifted_outcome(np.array([2.0]), np.array([1.0]), np.array([3.0]), "linear"), [5.0])


def test_a_preset_lists_only_what_it_changes(tmp_path):
    base_file = Paths.discover().params
    base = load_params(base_file)
    (tmp_path / "preset.yaml").write_text(f"extends: {base_file}\nsynth:\n  consent:\n    base_rate: 0.5\n    effects: {{fsm: -1.0}}\n")
    params = load_params(tmp_path / "preset.yaml")
    assert params.synth.consent.base_rate == 0.5
    # A mapping updates the base's mapping key by key.
    assert params.synth.consent.effects == {**base.synth.consent.effects, "fsm": -1.0}
    assert params.synth.npd == base.synth.npd and params.seed == base.seed
    (tmp_path / "loop.yaml").write_text("extends: loop.yaml\n")
    with pytest.raises(ParameterError, match="circle"):
        load_params(tmp_path / "loop.yaml")
    (tmp_path / "typo.yaml").write_text(f"extends: {base_file}\nsynth:\n  consent:\n    base_rat: 0.5\n")
    with pytest.raises(ParameterError, match="base_rat"):
        load_params(tmp_path / "typo.yaml")
    (tmp_path / "orphan.yaml").write_text("extends: missing.yaml\n")
    with pytest.raises(ParameterError, match="extended by"):
        load_params(tmp_path / "orphan.yaml")


def test_the_project_presets_are_valid_parameters():
    root = Paths.discover().root
    base = load_params(root / "params.yaml")
    for name in ("mnar_consent", "degraded_linkage"):
        load_params(root / "presets" / f"{name}.yaml")
    mnar = load_params(root / "presets" / "mnar_consent.yaml")
    assert mnar.synth.consent.outcome_effects and not base.synth.consent.outcome_effects
    assert mnar.synth.npd == base.synth.npd

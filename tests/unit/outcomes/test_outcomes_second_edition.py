"""Unit tests of the second edition's methods on tiny hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def test_finite_population_correction_uses_the_analysis_sets_fraction_not_the_respondents():
    # Two random phases from a fixed frame: response (40%), then consent with
    # unequal probabilities. The error of the weighted (Hajek) mean around the
    # frame's own mean has variance with (1 - pi_i) of the *final* inclusion
    # probabilities: the bootstrap over respondents is about right with the
    # analysis set's effective fraction, and clearly too small with the
    # respondents' share of the frame (the first edition's correction).
    from sendlink.weighting.replicates import effective_fractions, with_fpc

    rng = np.random.default_rng(7)
    N = 2000
    x = rng.random(N) < 0.5
    y = rng.normal(0, 1, N) + 1.5 * x
    target = y.mean()
    p1, p2 = 0.4, np.where(x, 0.7, 0.3)
    errors, by_share, by_effective = [], [], []
    for _ in range(300):
        resp = np.flatnonzero(rng.random(N) < p1)
        consented = rng.random(len(resp)) < p2[resp]
        w = np.where(consented, 1.0 / (p1 * p2[resp]), 0.0)
        yr = y[resp]
        errors.append((w * yr).sum() / w.sum() - target)
        strata = np.zeros(len(resp), dtype=object)
        a = rao_wu_multipliers(strata, None, 100, rng, fpc=False)
        for fraction, out in ((len(resp) / N, by_share),
                              (effective_fractions(strata[consented], w[consented], {0: N})["0"], by_effective)):
            aa = with_fpc(a, strata, {"0": fraction})
            reps = (w[:, None] * aa * yr[:, None]).sum(axis=0) / (w[:, None] * aa).sum(axis=0)
            out.append(reps.var(ddof=1))
    truth = np.var(errors)
    assert np.mean(by_effective) / truth == pytest.approx(1.0, abs=0.17)
    assert np.mean(by_share) / truth < 0.8 * np.mean(by_effective) / truth


def test_rescaled_multipliers_equal_those_drawn_with_the_correction():
    from sendlink.weighting.replicates import with_fpc

    strata = np.array(["a"] * 30 + ["b"] * 50)
    N = {"a": 120.0, "b": 150.0}
    direct = rao_wu_multipliers(strata, N, 50, np.random.default_rng(3))
    plain = rao_wu_multipliers(strata, N, 50, np.random.default_rng(3), fpc=False)
    rescaled = with_fpc(plain, strata, {"a": 30 / 120, "b": 50 / 150})
    assert np.allclose(direct, rescaled)


def test_an_objector_with_permission_in_force_is_not_analysable():
    # Rule 8 of the consent rules: an objection withholds a person's answers while the
    # permission they gave stays recorded. The selection steps must count them out.
    from sendlink.weighting.steps import consented

    table = pd.DataFrame({
        "consent_parent_answers": ["granted", "granted", "refused", "granted"],
        "consent_child_answers": ["granted", "granted", "granted", "granted"],
        "parent_answers_withheld": [False, True, True, False],
        "child_answers_withheld": [False, False, False, True],
    })
    assert consented(table, "p1_responded").tolist() == [True, False, False, True]
    assert consented(table, "yp2_responded").tolist() == [True, False, False, False]
    # Without the flags (a table from before the rule), permission alone decides.
    plain = table[["consent_parent_answers", "consent_child_answers"]]
    assert consented(plain, "p1_responded").tolist() == [True, True, False, True]

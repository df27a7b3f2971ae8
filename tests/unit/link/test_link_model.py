"""The Fellegi-Sunter model: EM on a mixture whose m and u we chose, TF, diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendlink.link.compare import FIELDS
from sendlink.link.model import FittedModel, diagnose, estimate_u, fit, score

# A known mixture. Levels of each field, strongest first (see compare.FIELDS).
TRUE_M = {
    "forename": [0.80, 0.05, 0.05, 0.02, 0.01, 0.02, 0.05],
    "surname": [0.85, 0.03, 0.05, 0.01, 0.02, 0.04],
    "date_of_birth": [0.90, 0.02, 0.05, 0.03],
    "postcode": [0.70, 0.05, 0.05, 0.05, 0.15],
    "sex": [0.98, 0.02],
    "school": [0.85, 0.15],
}
TRUE_U = {
    "forename": [0.01, 0.005, 0.01, 0.002, 0.001, 0.05, 0.922],
    "surname": [0.005, 0.001, 0.01, 0.001, 0.03, 0.953],
    "date_of_birth": [0.003, 0.0005, 0.03, 0.9665],
    "postcode": [0.001, 0.01, 0.05, 0.01, 0.929],
    "sex": [0.5, 0.5],
    "school": [0.02, 0.98],
}


def draw(probabilities: dict[str, list[float]], n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({f: rng.choice(len(p), size=n, p=np.asarray(p) / np.sum(p)).astype(np.int8) for f, p in probabilities.items()})


def test_em_recovers_m_and_the_number_of_matches(rng):
    n_survey, n_npd, n_matches = 2000, 2000, 1800
    # Candidate pairs: every match, plus non-matches with u-distributed levels.
    levels = pd.concat([draw(TRUE_M, n_matches, rng), draw(TRUE_U, 20000, rng)], ignore_index=True)
    u = {f: np.asarray(p) for f, p in TRUE_U.items()}
    model = fit(levels, u, n_survey, n_npd, prior_strength=0.0)
    assert model.converged
    assert not model.diagnostics["degenerate"], model.diagnostics["reasons"]
    # 1,800 matches were planted; the few matches agreeing on one field or
    # none cannot count (min_agreeing_fields=2), so a little under.
    assert model.expected_matches == pytest.approx(n_matches, rel=0.03)
    for f, p in TRUE_M.items():
        # binomial sampling error with 1,800 matches: sd <= 0.012
        np.testing.assert_allclose(model.m[f], p, atol=0.03, err_msg=f)


def test_em_with_missing_fields_leaves_them_out(rng):
    levels = draw(TRUE_M, 500, rng)
    levels["sex"] = -1  # nobody recorded sex
    u = {f: np.asarray(p) for f, p in TRUE_U.items()}
    model = fit(levels, u, 500, 500)
    assert "sex" not in model.fields
    assert "forename" in model.fields


def test_estimate_u_counts_levels_with_half_a_pseudo_count():
    random = pd.DataFrame({spec.name: np.full(4, -1, dtype=np.int8) for spec in FIELDS})
    random["sex"] = np.array([0, 1, 1, -1], dtype=np.int8)  # one agree, two disagree, one missing
    u = estimate_u(random)
    # (1 + 0.5) / (3 + 1) and (2 + 0.5) / (3 + 1)
    np.testing.assert_allclose(u["sex"], [1.5 / 4, 2.5 / 4])
    assert np.isnan(u["school"]).all()


def _hand_model() -> FittedModel:
    m = {"surname": np.array([0.9, 0.02, 0.03, 0.01, 0.01, 0.03])}
    u = {"surname": np.array([0.01, 0.001, 0.01, 0.001, 0.02, 0.958])}
    return FittedModel(fields=["surname"], m=m, u=u, lam=1e-4, n_survey=100, n_npd=100, converged=True)


def test_term_frequency_rare_name_outweighs_common_name():
    model = _hand_model()
    levels = pd.DataFrame({"surname": np.array([0, 0, 5], dtype=np.int8)})
    # Among 100 NPD records, 50 are Smith and 1 is Zielinski.
    tf = {"surname": np.array([50 / 100, 1 / 100, 0.0])}
    scored = score(model, levels, tf)
    assert scored["w_surname"].iloc[0] == pytest.approx(np.log2(0.9 / 0.5))  # about 0.85 bits
    assert scored["w_surname"].iloc[1] == pytest.approx(np.log2(0.9 / 0.01))  # about 6.5 bits
    assert scored["w_surname"].iloc[2] == pytest.approx(np.log2(0.03 / 0.958))  # not exact: no TF
    without = score(model, levels)
    assert without["w_surname"].iloc[0] == without["w_surname"].iloc[1] == pytest.approx(np.log2(0.9 / 0.01))


def test_score_weights_and_probability_by_hand():
    model = _hand_model()
    # pi = (E + 1)/(n + 2) with E = 1e-4 * 100 * 100 = 1 -> 2/102
    pi = 2 / 102
    prior = np.log2(pi / (100 * (1 - pi)))
    assert model.prior_weight == pytest.approx(prior)
    levels = pd.DataFrame({"surname": np.array([0, -1], dtype=np.int8)})
    scored = score(model, levels)
    assert scored["match_weight"].iloc[0] == pytest.approx(prior + np.log2(90))
    assert scored["match_weight"].iloc[1] == pytest.approx(prior)  # missing: no evidence
    assert scored["match_probability"].iloc[0] == pytest.approx(1 / (1 + 2 ** -(prior + np.log2(90))))


def test_diagnose_flags_a_degenerate_model():
    model = _hand_model()
    assert not diagnose(model)["degenerate"]
    # The trap: "agreeing" surname is *less* likely among matches than by chance.
    model.m["surname"] = np.array([0.005, 0.02, 0.03, 0.01, 0.01, 0.925])
    result = diagnose(model)
    assert result["degenerate"]
    assert any("surname: agreement is not evidence" in r for r in result["reasons"])
    model.converged = False
    assert "EM did not converge" in diagnose(model)["reasons"]


def test_fixed_u_avoids_the_same_birthday_trap(rng):
    """Blocked on date of birth: every pair agrees on it. Estimating u from
    these pairs would make "same birthday" the match class; with u fixed from
    random pairs EM finds the real matches."""
    n = 3000
    matches = draw(TRUE_M, 300, rng)
    matches["date_of_birth"] = 0
    non = draw(TRUE_U, n, rng)
    non["date_of_birth"] = 0  # the block: same birthday, otherwise chance agreement
    levels = pd.concat([matches, non], ignore_index=True)
    model = fit(levels, {f: np.asarray(p) for f, p in TRUE_U.items()}, 1000, 10000)
    assert not model.diagnostics["degenerate"]
    assert model.expected_matches == pytest.approx(300, rel=0.1)
    assert model.m["surname"][0] > 0.7


def test_em_on_no_pairs_is_not_an_error():
    model = fit(pd.DataFrame({spec.name: pd.Series([], dtype=np.int8) for spec in FIELDS}), {f: np.asarray(p) for f, p in TRUE_U.items()}, 0, 10)
    assert model.converged
    assert model.table().empty or len(model.table()) > 0


def test_diagnose_flags_more_matches_than_children():
    model = _hand_model()  # 100 survey records
    assert not diagnose(model, unconstrained_matches=120)["degenerate"]  # twins spread mass a little
    result = diagnose(model, unconstrained_matches=2000)  # the birthday class: every same-DOB pair
    assert result["degenerate"] and "one-to-one bound of 100" in result["reasons"][0]

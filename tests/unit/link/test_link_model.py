"""The Fellegi-Sunter model: one-to-one EM on mixtures whose m and u we chose, TF, diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendlink.link.assign import competing_probability
from sendlink.link.compare import FIELDS
from sendlink.link.model import FittedModel, diagnose, estimate_u, fit, score

# A known mixture. Levels of each field, strongest first (see compare.FIELDS).
TRUE_M = {
    "forename": [0.80, 0.05, 0.05, 0.01, 0.02, 0.01, 0.01, 0.005, 0.01, 0.035],
    "surname": [0.85, 0.01, 0.03, 0.05, 0.005, 0.005, 0.02, 0.03],
    "date_of_birth": [0.90, 0.02, 0.05, 0.005, 0.015, 0.01],
    "postcode": [0.70, 0.05, 0.05, 0.05, 0.15],
    "sex": [0.98, 0.02],
    "school": [0.85, 0.15],
}
TRUE_U = {
    "forename": [0.01, 0.005, 0.01, 0.0005, 0.002, 0.0001, 0.001, 0.003, 0.05, 0.9184],
    "surname": [0.005, 0.0005, 0.001, 0.01, 0.002, 0.005, 0.03, 0.9465],
    "date_of_birth": [0.003, 0.0005, 0.03, 0.001, 0.3, 0.6655],
    "postcode": [0.001, 0.01, 0.05, 0.01, 0.929],
    "sex": [0.5, 0.5],
    "school": [0.02, 0.98],
}
U = {f: np.asarray(p) for f, p in TRUE_U.items()}


def draw(probabilities: dict[str, list[float]], n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({f: rng.choice(len(p), size=n, p=np.asarray(p) / np.sum(p)).astype(np.int8) for f, p in probabilities.items()})


def candidates(n_survey: int, in_npd: int, per_record: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Each survey record meets ``per_record`` NPD records: the first ``in_npd``
    meet their match and ``per_record - 1`` non-matches, the others only non-matches.

    With ``n_npd = per_record`` this is exactly the model's world: every NPD
    record is a candidate, non-matches agree by chance (u), the match as m.
    """
    matches = draw(TRUE_M, in_npd, rng)
    n_non = in_npd * (per_record - 1) + (n_survey - in_npd) * per_record
    non = draw(TRUE_U, n_non, rng)
    levels = pd.concat([matches, non], ignore_index=True)
    rows = np.concatenate([np.arange(in_npd), np.repeat(np.arange(in_npd), per_record - 1),
                           np.repeat(np.arange(in_npd, n_survey), per_record)])
    truth = np.concatenate([np.ones(in_npd, bool), np.zeros(n_non, bool)])
    return levels, rows, truth


def test_em_recovers_m_and_the_share_in_the_npd(rng):
    n_survey, in_npd = 3000, 2700
    levels, rows, _ = candidates(n_survey, in_npd, 8, rng)
    model = fit(levels, U, n_survey, 8, survey_rows=rows, prior_strength=0.0)
    assert model.converged
    assert not model.diagnostics["degenerate"], model.diagnostics["reasons"]
    # 2,700 of 3,000 have a record (the rare match agreeing on fewer than two
    # fields does not count: min_agreeing_fields=2).
    assert model.pi == pytest.approx(0.9, abs=0.015)
    for f, p in TRUE_M.items():
        # binomial sampling error with 2,700 matches: sd <= 0.01
        np.testing.assert_allclose(model.m[f], p, atol=0.03, err_msg=f)


def test_expected_matches_never_exceed_the_survey_records(rng):
    """Each child is at most one record: the model cannot want more matches than children."""
    levels, rows, _ = candidates(500, 500, 30, rng)
    model = fit(levels, U, 500, 1000, survey_rows=rows)
    assert model.expected_matches <= 500
    assert model.trace["expected_matches"].max() <= 500


def test_same_name_pupils_do_not_become_the_match_class(rng):
    """Every child meets 20 pupils with the same forename and surname (the name
    passes put them in the blocks). A prior per pair counts them all as matches
    (what made the old model want 14,255 matches for 3,372 children); here the
    child's candidates compete and dates of birth decide."""
    n_survey = 1000
    levels, rows, truth = candidates(n_survey, n_survey, 1, rng)
    namesakes = draw(TRUE_U, n_survey * 20, rng)
    namesakes[["forename", "surname"]] = 0  # same name, otherwise chance agreement
    levels = pd.concat([levels, namesakes], ignore_index=True)
    rows = np.concatenate([rows, np.repeat(np.arange(n_survey), 20)])
    # Common names: their frequency (TF) is the u of agreeing on them.
    tf = {"forename": np.full(len(levels), 0.01), "surname": np.full(len(levels), 0.005), "postcode": np.zeros(len(levels))}
    model = fit(levels, U, n_survey, 250_000, survey_rows=rows, tf=tf)
    assert not model.diagnostics["degenerate"], model.diagnostics["reasons"]
    assert model.expected_matches <= n_survey
    assert model.m["date_of_birth"][-1] < 0.06  # the match class is not "same name, any birthday"
    assert model.m["date_of_birth"][0] > 0.85


def test_em_posterior_is_the_competing_probability_used_to_decide(rng):
    levels, rows, _ = candidates(200, 180, 5, rng)
    model = fit(levels, U, 200, 10_000, survey_rows=rows)
    weights = score(model, levels)["match_weight"].to_numpy()
    probability = competing_probability(rows, weights)
    # By hand for one record: 2**w_j / (1 + sum_k 2**w_k)
    mine = rows == 3
    expected = np.exp2(weights[mine]) / (1 + np.exp2(weights[mine]).sum())
    np.testing.assert_allclose(probability[mine], expected, rtol=1e-9)


def test_em_with_missing_fields_leaves_them_out(rng):
    levels, rows, _ = candidates(300, 300, 3, rng)
    levels["sex"] = -1  # nobody recorded sex
    model = fit(levels, U, 300, 1000, survey_rows=rows)
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
    m = {"surname": np.array([0.9, 0.005, 0.02, 0.03, 0.005, 0.005, 0.015, 0.02])}
    u = {"surname": np.array([0.01, 0.0005, 0.001, 0.01, 0.002, 0.005, 0.02, 0.9515])}
    return FittedModel(fields=["surname"], m=m, u=u, pi=0.8, n_survey=100, n_npd=100, converged=True)


def test_term_frequency_rare_name_outweighs_common_name():
    model = _hand_model()
    levels = pd.DataFrame({"surname": np.array([0, 0, 7], dtype=np.int8)})
    # Among 100 NPD records, 50 are Smith and 1 is Zielinski.
    tf = {"surname": np.array([50 / 100, 1 / 100, 0.0])}
    scored = score(model, levels, tf)
    assert scored["w_surname"].iloc[0] == pytest.approx(np.log2(0.9 / 0.5))  # about 0.85 bits
    assert scored["w_surname"].iloc[1] == pytest.approx(np.log2(0.9 / 0.01))  # about 6.5 bits
    assert scored["w_surname"].iloc[2] == pytest.approx(np.log2(0.02 / 0.9515))  # not exact: no TF
    without = score(model, levels)
    assert without["w_surname"].iloc[0] == without["w_surname"].iloc[1] == pytest.approx(np.log2(0.9 / 0.01))


def test_score_weights_and_probability_by_hand():
    model = _hand_model()
    # Before comparing, a given NPD record is the child with odds pi / (N (1 - pi)) = 0.8 / (100 x 0.2).
    prior = np.log2(0.8 / (100 * 0.2))
    assert model.prior_weight == pytest.approx(prior)
    assert model.lam == pytest.approx(0.8 / 100)
    assert model.expected_matches == pytest.approx(80)
    levels = pd.DataFrame({"surname": np.array([0, -1], dtype=np.int8)})
    scored = score(model, levels)
    assert scored["match_weight"].iloc[0] == pytest.approx(prior + np.log2(90))
    assert scored["match_weight"].iloc[1] == pytest.approx(prior)  # missing: no evidence
    assert scored["match_probability"].iloc[0] == pytest.approx(1 / (1 + 2 ** -(prior + np.log2(90))))


def test_diagnose_flags_a_degenerate_model():
    model = _hand_model()
    assert not diagnose(model)["degenerate"]
    # The trap: "agreeing" surname is *less* likely among matches than by chance.
    model.m["surname"] = np.array([0.005, 0.005, 0.02, 0.03, 0.005, 0.005, 0.005, 0.925])
    result = diagnose(model)
    assert result["degenerate"]
    assert any("surname: agreement is not evidence" in r for r in result["reasons"])
    model.converged = False
    assert "EM did not converge" in diagnose(model)["reasons"]


def test_diagnose_flags_a_falling_likelihood():
    model = _hand_model()
    model.trace = pd.DataFrame({"iteration": [1, 2, 3], "log_likelihood": [-100.0, -90.0, -95.0]})
    assert "EM log-likelihood decreased" in diagnose(model)["reasons"]


def test_diagnose_flags_pairs_read_alone_as_matches_far_beyond_the_children():
    model = _hand_model()  # 100 survey records
    assert not diagnose(model, independent_matches=120)["degenerate"]  # twins and siblings look alike
    result = diagnose(model, independent_matches=2000)  # the birthday class: every same-DOB pair
    assert result["degenerate"] and "one-to-one bound of 100" in result["reasons"][0]


def test_fixed_u_avoids_the_same_birthday_trap(rng):
    """Blocked on date of birth: every pair agrees on it. Estimating u from
    these pairs would make "same birthday" the match class; with u fixed from
    random pairs EM finds the real matches."""
    n_survey = 1000
    levels, rows, _ = candidates(n_survey, 300, 10, rng)
    levels["date_of_birth"] = 0  # the block: same birthday, otherwise chance agreement
    model = fit(levels, U, n_survey, 10_000, survey_rows=rows)
    assert not model.diagnostics["degenerate"], model.diagnostics["reasons"]
    assert model.expected_matches == pytest.approx(300, rel=0.1)
    assert model.m["surname"][0] > 0.7


def test_em_on_no_pairs_is_not_an_error():
    empty = pd.DataFrame({spec.name: pd.Series([], dtype=np.int8) for spec in FIELDS})
    model = fit(empty, U, 0, 10, survey_rows=np.zeros(0, dtype=np.int64))
    assert model.converged
    assert not model.degenerate


def test_model_shows_its_parameters_for_notebooks(rng):
    levels, rows, _ = candidates(300, 270, 4, rng)
    model = fit(levels, U, 300, 10_000, survey_rows=rows)
    text, page = repr(model), model._repr_html_()
    for needle in ("pi=", "lambda=", "converged", "not degenerate"):
        assert needle in text
    assert "<table" in page and "lambda" in page
    table = model.table()
    assert {"field", "level", "m", "u", "bayes_factor", "weight"} <= set(table.columns)
    assert len(table) == sum(len(spec.levels) for spec in FIELDS if spec.name in levels)  # fields without evidence are left out
    as_dict = model.to_dict()
    assert as_dict["summary"]["converged"] and len(as_dict["em_trace"]) == len(model.trace)


def test_household_fields_are_scored_jointly():
    """Surname and postcode agreeing: their joint frequency replaces the product of their frequencies,
    and the school's u becomes the share of sibling pairs at one school (sendlink.link.household)."""
    from sendlink.link.model import household_log_u

    u = {"surname": U["surname"], "postcode": U["postcode"], "school": U["school"]}
    levels = pd.DataFrame({"surname": [0, 0, 1], "postcode": [0, 0, 0], "school": [0, 1, 0]})
    tf = {"surname": np.array([0.001, 0.001, 0.0]), "postcode": np.array([1e-5, 1e-5, 1e-5]),
          "household": np.array([2e-5, 2e-5, 0.0]), "school_in_household": np.array([0.6, 0.6, 0.6])}
    delta = household_log_u(levels, u, ["surname", "postcode", "school"], tf)
    # chance of both: coincidence (0.001 x 1e-5) + a sibling (2e-5)
    expected_0 = np.log(1e-8 + 2e-5) - np.log(1e-8) + np.log(0.6) - np.log(U["school"][0])
    expected_1 = np.log(1e-8 + 2e-5) - np.log(1e-8) + np.log(0.4) - np.log(U["school"][1])
    assert delta == pytest.approx([expected_0, expected_1, 0.0])
    # About 11 bits less for surname and postcode together and 5 less for the school.
    assert delta[0] / np.log(2) == pytest.approx(np.log2((1e-8 + 2e-5) / 1e-8) + np.log2(0.6 / 0.02))
    assert household_log_u(levels, u, ["surname", "postcode", "school"], None).tolist() == [0.0, 0.0, 0.0]


def test_a_former_household_is_scored_jointly_too():
    """Surname agreeing and the survey's postcode a past one of the pupil (siblings share the address
    history): the joint chance replaces surname x past-postcode, as for the current address."""
    from sendlink.link.model import household_log_u

    past_u = np.array([2e-6, 1 - 2e-6])
    u = {"surname": U["surname"], "postcode": U["postcode"], "postcode_history": past_u}
    # pair 0: current address; pair 1: a past address (the current one differs); pair 2: neither
    levels = pd.DataFrame({"surname": [0, 0, 0], "postcode": [0, 4, 4], "postcode_history": [np.nan, 0, 1]})
    tf = {"surname": np.array([0.001, 0.001, 0.001]), "postcode": np.array([1e-5, 0.0, 0.0]),
          "household": np.array([2e-5, 2e-5, 0.0])}
    delta = household_log_u(levels, u, ["surname", "postcode", "postcode_history"], tf)
    assert delta[0] == pytest.approx(np.log(1e-8 + 2e-5) - np.log(1e-8))
    assert delta[1] == pytest.approx(np.log(0.001 * 2e-6 + 2e-5) - np.log(0.001 * 2e-6))
    assert delta[2] == 0.0
    # Without the history field in the model, a past address is no household.
    assert household_log_u(levels, u, ["surname", "postcode"], tf)[1] == 0.0


def test_diagnose_judges_the_objective_em_maximises():
    """EM with priors on m and pi maximises the posterior: a likelihood that falls by a hair while the
    posterior rises is no sign of trouble; a falling posterior is."""
    model = _hand_model()
    model.trace = pd.DataFrame({"iteration": [1, 2, 3], "log_likelihood": [-100.0, -90.0, -90.01],
                                "log_posterior": [-110.0, -99.0, -98.99]})
    assert not any("decreased" in r for r in diagnose(model)["reasons"])
    model.trace["log_posterior"] = [-110.0, -99.0, -99.5]
    assert "EM log-posterior decreased" in diagnose(model)["reasons"]

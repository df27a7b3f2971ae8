"""The teaching helpers of notebooks 3 and 4, on hand-written records (expected values worked out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _linkdata import LINKAGE, make_population, survey_from

from sendlink.link import explain

# --------------------------------------------------------------------------- standardisation


def test_name_examples_split_forenames_and_surname_parts():
    table = explain.name_examples([
        {"forename": "  Zoë-Marie ", "surname": "O'Neill"},
        {"forename": "Mary Jane", "middle_names": "Anne", "surname": "Smith-Jones"},
        {"forename": "JOSÉ", "surname": "de Souza"},
    ])
    assert table.iloc[0, 0] == "  Zoë-Marie  |  | O'Neill"
    assert table.loc[0, ["forename", "forename_full", "middle", "surname", "surname_parts"]].tolist() == [
        "zoe", "zoemarie", "marie", "oneill", "oneill"]
    # The second given name joins the middle names; the surname's parts are kept apart.
    assert table.loc[1, ["forename", "forename_full", "middle", "surname", "surname_parts"]].tolist() == [
        "mary", "maryjane", "jane anne", "smithjones", "smith jones"]
    # "de" is a particle: kept in the surname, not a part of its own; no middle name is shown empty.
    assert table.loc[2, ["forename", "middle", "surname", "surname_parts"]].tolist() == ["jose", "", "desouza", "souza"]


def test_variant_examples_through_shared_groups():
    table = explain.variant_examples([("Bob", "Robert"), ("Mohammed", "MUHAMMAD"), ("Oliver", "Harry"), ("Ava", "ava")])
    assert table["equivalent"].tolist() == [True, True, False, True]
    assert "nick:robert" in table.loc[0, "shared group"]
    assert "var:mohammed" in table.loc[1, "shared group"]
    assert table.loc[2, "shared group"] == ""


def test_date_examples_parse_defensively():
    table = explain.date_examples(["2009-03-12", "12/03/2009", "20090312", "12/03/09", "2009-02-30", "", None])
    assert table["parsed"].tolist() == ["2009-03-12", "2009-03-12", "2009-03-12", "missing", "missing", "missing", "missing"]
    assert table["written"].tolist()[-1] == "None"


def test_postcode_examples_split_into_levels():
    table = explain.postcode_examples(["sw1a1aa", " QA4 0TZ", "4223", None])
    assert table.loc[0, ["unit", "sector", "district", "area"]].tolist() == ["SW1A 1AA", "SW1A 1", "SW1A", "SW"]
    assert table.loc[1, ["unit", "sector", "district", "area"]].tolist() == ["QA4 0TZ", "QA4 0", "QA4", "QA"]
    assert table.loc[2, ["unit", "sector", "district", "area"]].tolist() == ["4223", "", "", ""]  # not a UK postcode
    assert table.loc[3, "unit"] == ""


# --------------------------------------------------------------------------- blocking and comparison

BASE = {"forename": "Robert", "middle_names": "James", "surname": "Smith-Jones", "date_of_birth": "2009-03-12",
        "sex": "M", "postcode": "QA4 0TZ", "school_urn": "100001"}


def test_comparison_examples_name_each_level():
    examples = [
        ("same", BASE, BASE),
        ("nickname, sector", {**BASE, "forename": "Bob", "postcode": "QA4 0XX"}, BASE),
        ("one part, swapped date", {**BASE, "surname": "Jones", "date_of_birth": "2009-12-03"}, BASE),
        ("middle name, no sex", {**BASE, "forename": "James", "middle_names": None, "sex": None}, BASE),
    ]
    table = explain.comparison_examples(examples)
    assert table["example"].tolist() == ["same", "nickname, sector", "one part, swapped date", "middle name, no sex"]
    assert table.loc[0, ["forename", "surname", "date_of_birth", "postcode", "sex", "school"]].tolist() == [
        "exact", "exact", "exact", "unit", "agree", "agree"]
    assert table.loc[1, ["forename", "postcode"]].tolist() == ["variant", "sector"]
    assert table.loc[2, ["surname", "date_of_birth"]].tolist() == ["part", "swapped"]
    assert table.loc[3, ["forename", "sex"]].tolist() == ["middle_name", "missing"]


# --------------------------------------------------------------------------- the model


def test_mu_table_in_field_order():
    report = {"m_u_table": [
        {"field": "sex", "level": "agree", "m": 0.98, "u": 0.5, "weight": np.log2(0.98 / 0.5), "term_frequency": False},
        {"field": "sex", "level": "disagree", "m": 0.02, "u": 0.5, "weight": np.log2(0.02 / 0.5), "term_frequency": False},
        {"field": "surname", "level": "exact", "m": 0.9, "u": 0.01, "weight": np.log2(90), "term_frequency": True},
    ]}
    table = explain.mu_table(report)
    assert table[["field", "level"]].values.tolist() == [["surname", "exact"], ["sex", "agree"], ["sex", "disagree"]]
    assert table["tf"].tolist() == [True, False, False]


def test_term_frequency_weights_by_hand():
    npd = pd.Series(["Smith", "SMITH", " smith", "Jones", "Oakstead", "Patel", "Patel", "Khan", "Ali", "Ali"])
    table = explain.term_frequency_weights(npd, ["Smith", "Oakstead", "Zzyzx"], m_exact=0.9, u_exact=0.01)
    assert table["npd_records"].tolist() == [3, 1, 0]
    assert table["frequency"].tolist() == pytest.approx([0.3, 0.1, 0.0])
    # log2(m / frequency): Smith 0.9 / 0.3 = 3, Oakstead 0.9 / 0.1 = 9; absent: the average u.
    assert table["weight_with_tf"].tolist() == pytest.approx([np.log2(3), np.log2(9), np.log2(90)])
    assert table["weight_without_tf"].tolist() == pytest.approx([np.log2(90)] * 3)


def _scored_pairs() -> pd.DataFrame:
    return pd.DataFrame({
        "survey_id": ["s1", "s1", "s2"], "upn": ["n1", "n2", "n3"],
        "forename": pd.Categorical(["exact", "different", None]), "surname": ["exact", "exact", "exact"],
        "w_forename": [8.0, -7.0, 0.0], "w_surname": [9.0, 9.0, 9.0],
        "match_weight": [-12.0 + 17.0, -12.0 + 2.0, -12.0 + 9.0],
        "pairwise_probability": [1 / (1 + 2 ** -5), 1 / (1 + 2 ** 10), 1 / (1 + 2 ** 3)],
        "match_probability": [0.9, 0.01, 0.05],
    })


def test_pair_breakdown_adds_up():
    table = explain.pair_breakdown(_scored_pairs(), "s1", "n1", prior_weight=-12.0)
    assert table["part"].tolist() == ["prior", "forename", "surname", "match weight"]
    assert table["level"].tolist() == ["", "exact", "exact", ""]
    assert table["weight"].tolist() == pytest.approx([-12.0, 8.0, 9.0, 5.0])
    assert table["weight"].iloc[:-1].sum() == pytest.approx(table["weight"].iloc[-1])
    assert explain.pair_breakdown(_scored_pairs(), "s2", "n3", -12.0)["level"].tolist()[1] == "missing"
    with pytest.raises(KeyError):
        explain.pair_breakdown(_scored_pairs(), "s1", "n3", -12.0)


# --------------------------------------------------------------------------- scores against truth


def test_weight_histogram_counts_and_clips():
    weights = np.array([-30.0, -5.0, 0.0, 5.0, 12.0, 99.0])
    is_match = np.array([False, False, False, True, True, True])
    table = explain.weight_histogram(weights, is_match, [-10, 0, 10, 20])
    assert table["left"].tolist() == [-10, 0, 10]
    assert table["non_matches"].tolist() == [2, 1, 0]  # -30 clipped into the first bin; 0 opens [0, 10)
    assert table["matches"].tolist() == [0, 1, 2]  # 99 clipped into the last bin


def test_pairwise_vs_competing():
    pairs = pd.DataFrame({
        "survey_id": ["s1", "s1", "s2"],
        "pairwise_probability": [0.999, 0.99, 0.97],
        "match_probability": [0.96, 0.03, 0.97],
    })
    table = explain.pairwise_vs_competing(pairs, np.array([True, False, True]), 0.95)
    assert table.set_index("probability").loc["pair judged alone"].tolist() == [3, 2, 1, 1]
    assert table.set_index("probability").loc["candidates competing"].tolist() == [2, 2, 0, 0]


def test_candidates_best_first():
    table = explain.candidates(_scored_pairs(), "s1", n=1)
    assert table["upn"].tolist() == ["n1"]
    assert table.loc[0, "match_weight"] == pytest.approx(5.0)
    assert explain.candidates(_scored_pairs(), "s2").loc[0, "forename"] == "missing"


def test_review_side_by_side():
    review = pd.DataFrame({
        "survey_id": ["s1"], "upn": ["n1"], "survey_forename": ["Alexander"], "npd_forename": ["Callan"],
        "survey_middle_names": [""], "npd_middle_names": ["Alexander"],
        "survey_school_urn": [""], "npd_school_urn": ["136697"],
        "level_forename": ["middle_name"], "level_school": [""],
    })
    table = explain.review_side_by_side(review, "s1")
    assert table["field"].tolist() == ["forename", "middle_names", "school_urn"]
    assert table.loc[0].tolist() == ["forename", "Alexander", "Callan", "middle_name"]
    assert table.loc[1, "level"] == ""  # middle names have no comparison level of their own
    with pytest.raises(KeyError):
        explain.review_side_by_side(review, "s2")


# --------------------------------------------------------------------------- the degenerate-ECM trap


def _ecm_pairs() -> pd.DataFrame:
    # Blocked on date of birth or surname; ECM's class is the surname block.
    return pd.DataFrame({
        "dob": [1, 1, 1, 0, 0], "surname": [1, 0, 0, 1, 1], "forename": [1, 0, 0, 0, 0],
        "match": [False, False, False, True, True],
    })


def test_ecm_classes_cross_blocks_with_ecm_class():
    table = explain.ecm_classes(_ecm_pairs())
    assert table.loc[("no", "yes")].tolist() == [2, 0, 2]
    assert table.loc[("yes", "no")].tolist() == [0, 2, 2]
    assert table.loc[("yes", "yes")].tolist() == [0, 1, 1]


def test_blocked_agreement_next_to_random_u():
    table = explain.blocked_agreement(_ecm_pairs(), {"date_of_birth": 0.001, "surname": 0.0015, "forename": 0.002})
    by_field = table.set_index("field")
    assert by_field.loc["date_of_birth", "share_of_blocked_pairs_agreeing"] == pytest.approx(3 / 5)
    assert by_field.loc["surname", "share_of_blocked_pairs_agreeing"] == pytest.approx(3 / 5)
    assert by_field.loc["forename", "share_of_blocked_pairs_agreeing"] == pytest.approx(1 / 5)
    assert by_field.loc["date_of_birth", "u_from_random_pairs"] == pytest.approx(0.001)


def test_ecm_fields_from_diagnostics():
    diagnostics = {"fields": {"dob": {"m_agree": 1e-6, "u_agree": 1.0, "agreement_weight": np.log2(1e-6),
                                      "disagreement_weight": 20.0}}}
    table = explain.ecm_fields(diagnostics)
    assert table.columns.tolist() == ["field", "m_agree", "u_agree", "agreement_weight", "disagreement_weight"]
    assert table.loc[0, "agreement_weight"] == pytest.approx(np.log2(1e-6))
    assert explain.ecm_fields({}).empty


def test_ecm_demo_both_methods_see_the_sample(rng):
    npd = make_population(400, rng)
    survey = survey_from(npd, range(0, 400, 10))  # 40 exact copies: every one is its NPD record
    truth = pd.DataFrame({"survey_id": survey["survey_id"], "upn": npd["upn"].iloc[list(range(0, 400, 10))].to_numpy()})
    demo = explain.ecm_demo(survey, npd, LINKAGE, size=20, seed=1)
    assert len(demo.survey_ids) == 20 == len(set(demo.survey_ids))
    assert demo.ecm.links["survey_id"].tolist() == demo.survey_ids
    assert demo.model.links["survey_id"].tolist() == demo.survey_ids
    # Exact copies: the project's model on the same naive blocks links each to its record.
    linked = demo.model.links.merge(truth, on="survey_id", suffixes=("", "_true"))
    assert (linked["link_status"] == "matched").all()
    assert (linked["upn"] == linked["upn_true"]).all()
    assert {"dob", "surname", "match"} <= set(demo.ecm.pairs.columns)


# --------------------------------------------------------------------------- linkage quality by child


def test_rival_examples_best_and_second_best():
    table = explain.rival_examples(_scored_pairs())
    # s1 has two candidates (weights 5 and -10); s2 has one and is left out.
    assert table["survey_id"].tolist() == ["s1"]
    assert table.loc[0, ["best_upn", "rival_upn"]].tolist() == ["n1", "n2"]
    assert table.loc[0, ["best_weight", "rival_weight"]].tolist() == pytest.approx([5.0, -10.0])
    assert table.loc[0, "rival_match_probability"] == pytest.approx(0.01)
    assert explain.rival_examples(_scored_pairs(), ["s2"]).empty


def test_strong_non_matches_by_kind():
    pairs = pd.DataFrame({
        "forename": ["different", "exact", "variant", "exact", "exact", "exact"],
        "surname": ["exact", "exact", "exact", "different", "exact", "exact"],
        "postcode": ["unit", "district", "different", "unit", "unit", "unit"],
        "match_weight": [20.0, 8.0, 6.0, 5.0, 30.0, 2.0],
    })
    is_match = np.array([False, False, False, False, True, False])
    table = explain.strong_non_matches(pairs, is_match, weight=4.0)
    # Row 0: twin or sibling; rows 1-2: namesakes; row 3: other; row 4 is a match; row 5 is below the weight.
    assert table["pairs"].tolist() == [1, 2, 1]
    assert table["kind"].iloc[0].startswith("same surname and full postcode")

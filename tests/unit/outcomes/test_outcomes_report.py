"""Published tables, the summary and the truth comparison, on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _outcomesdata import SETTINGS, replicate_world

from sendlink.disclosure import check_published
from sendlink.evaluate.outcomes import comparison, without_false_matches
from sendlink.outcomes.analysis import analyse
from sendlink.outcomes.report import (
    describe_by_provision,
    forest_plot,
    publish_estimates,
    publish_weights,
)
from sendlink.outcomes.stage import summary
from tests.conftest import RULES


def _estimate(**kw) -> dict:
    row = {"outcome": "attainment8", "model": "main", "estimator": "weighted", "term": "unmet_need", "scale": "difference",
           "n": 123, "exposed": 40.0, "coef": -2.5, "se": 0.5, "effect": -2.5, "effect_low": -3.48, "effect_high": -1.52}
    row.update(kw)
    return row


def test_estimates_are_rounded_and_counts_rounded_to_five():
    table = publish_estimates(pd.DataFrame([_estimate()]), RULES)
    row = table.iloc[0]
    assert row["n"] == "125" and row["effect"] == "-2.500" and row["effect_high"] == "-1.520"


@pytest.mark.parametrize("exposed", [5.0, 118.0])
def test_estimate_is_suppressed_when_the_exposure_is_too_rare_or_too_common(exposed):
    # 5 exposed, or 123 - 118 = 5 unexposed: fewer than the threshold of 10.
    table = publish_estimates(pd.DataFrame([_estimate(exposed=exposed)]), RULES)
    assert (table.iloc[0] == "c").all()


def test_continuous_term_is_published_and_small_models_are_not():
    table = publish_estimates(pd.DataFrame([_estimate(term="satisfaction", exposed=np.nan), _estimate(n=8, exposed=np.nan)]), RULES)
    assert table.iloc[0]["effect"] == "-2.500"
    assert (table.iloc[1] == "c").all()


def test_comparison_with_census_by_hand():
    estimates = pd.DataFrame([
        {"outcome": "wellbeing", "model": "main", "estimator": "weighted", "term": "unmet_need", "coef": -0.7, "se": 0.1, "n": 500},
        {"outcome": "wellbeing", "model": "main", "estimator": "naive", "term": "unmet_need", "coef": -0.5, "se": 0.1, "n": 500},
    ])
    census = pd.DataFrame([{"outcome": "wellbeing", "model": "main", "term": "unmet_need", "census": -0.8}])
    planted = pd.DataFrame([{"effect": "wellbeing:unmet_need", "outcome": "wellbeing", "exposure": "unmet_need", "scale": "points", "generating_value": -0.9}])
    table = comparison(estimates, census, planted).set_index("estimator")
    # weighted: z = (-0.7 + 0.8) / 0.1 = 1: inside both intervals.
    assert table.loc["weighted", "z"] == pytest.approx(1.0) and table.loc["weighted", "covers"] and table.loc["weighted", "within_check"]
    # naive: z = 3: outside the 95% (1.96) and the 99% (2.576) intervals.
    assert table.loc["naive", "z"] == pytest.approx(3.0) and not table.loc["naive", "covers"] and not table.loc["naive", "within_check"]
    assert table.loc["naive", "bias"] == pytest.approx(0.3) and table.loc["naive", "generating"] == -0.9


def test_false_matches_lose_their_npd_data():
    extract, _ = replicate_world()
    false_id = extract.loc[extract["npd_linked"], "research_id"].iloc[0]
    cleaned = without_false_matches(extract, frozenset({false_id}))
    row = cleaned[cleaned["research_id"] == false_id].iloc[0]
    assert not row["npd_linked"] and row["link_status"] == "unmatched"
    assert pd.isna(row["npd_attainment8"]) and pd.isna(row["npd_sen_provision"])
    assert cleaned["npd_linked"].sum() == extract["npd_linked"].sum() - 1


@pytest.fixture(scope="module")
def replicate_analysis():
    extract, _ = replicate_world()
    return extract, analyse(extract, SETTINGS, seed=0)


def test_summary_keys_without_truth(replicate_analysis):
    extract, analysis = replicate_analysis
    s = summary(extract, analysis, SETTINGS)
    assert set(s) == {"version", "consent", "linkage", "samples", "weights", "effects", "estimand", "variance", "imputation", "settings"}
    assert s["version"] == 2 and "association" in s["estimand"]
    assert s["variance"]["headline"] == "sandwich" and s["variance"]["replicates"] == 0  # no replicates given
    assert s["imputation"]["npd"]["imputations"] == 0  # nothing missing in this world
    assert s["consent"]["households"] == len(extract)
    assert s["consent"]["parent_answers_granted"] == pytest.approx(extract["npd_linked"].mean(), abs=1e-4)
    assert s["linkage"]["match_rate"] == 1.0 and s["linkage"]["precision"] is None
    assert {e["effect"] for e in s["effects"]} >= {"persistent_absence:unmet_need", "wellbeing:unmet_need_x_fsm"}
    entry = next(e for e in s["effects"] if e["effect"] == "attainment8:unmet_need")
    assert entry["census_value"] is None and entry["weighted"]["ci_low"] < entry["weighted"]["estimate"] < entry["weighted"]["ci_high"]


def test_published_tables_pass_disclosure_control(replicate_analysis):
    extract, analysis = replicate_analysis
    publish_estimates(analysis.estimates, RULES)
    publish_weights(analysis.weight_summaries(), RULES)
    for table in describe_by_provision(extract, analysis, RULES).values():
        check_published(table)


def test_forest_plot_has_a_panel_per_outcome_and_marks_every_value():
    import matplotlib

    matplotlib.use("Agg")
    rows = []
    for outcome, term in (("wellbeing", "unmet_need"), ("wellbeing", "satisfaction"), ("attainment8", "unmet_need")):
        for estimator, est in (("naive", -0.5), ("weighted", -0.7)):
            rows.append({"effect": f"{outcome}:{term}", "outcome": outcome, "term": term, "scale": "points", "census": -0.8,
                         "generating": -0.9, "estimator": estimator, "estimate": est, "ci_low": est - 0.2, "ci_high": est + 0.2})
    fig = forest_plot(pd.DataFrame(rows))
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert len(panels) == 2
    assert [t.get_text() for t in panels[0].get_yticklabels()] == ["satisfaction", "unmet need"]
    labels = fig.legends[0].get_texts()
    assert {t.get_text() for t in labels} >= {"census value", "generating value"}

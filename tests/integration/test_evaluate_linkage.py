"""The linkage quality report on small hand-made truth (every number worked out by hand)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "link"))
from _linkdata import make_population, survey_from, write_linkage_inputs

from sendlink.cli import main
from sendlink.config import Paths
from sendlink.evaluate.linkage import (
    by_difference,
    by_subgroup,
    classify,
    evaluate_linkage,
    metrics,
    write_linkage_quality,
)
from sendlink.link import stage as link_stage
from sendlink.schema import catalogue
from sendlink.schema.truth import IDENTIFIER_DIFFERENCES, TRUE_LINKS

# Six children: A and B linked right, C linked to the wrong pupil, D sent to
# review with the right pupil, E unmatched though in the NPD (never blocked),
# F not in the NPD and (rightly) unmatched.
LINKS = pd.DataFrame({
    "survey_id": list("ABCDEF"),
    "upn": ["a", "b", "x", "d", "", ""],
    "match_probability": [0.99, 0.98, 0.97, 0.6, np.nan, 0.1],
    "match_weight": [20.0, 18.0, 12.0, 3.0, np.nan, -5.0],
    "link_status": ["matched", "matched", "matched", "clerical_review", "unmatched", "unmatched"],
})
TRUTH = pd.DataFrame({"survey_id": list("ABCDEF"), "upn": ["a", "b", "c", "d", "e", None],
                      "twin": [False, False, True, False, False, False]})
PAIRS = pd.DataFrame({
    "survey_id": ["A", "B", "C", "C", "D", "F"],
    "upn": ["a", "b", "x", "c", "d", "z"],
    "passes": ["p1+p2", "p2", "p1", "p1", "p2", "p1"],
    "match_weight": [20.0, 18.0, 12.0, 11.0, 3.0, -5.0],
    "reviewer_match": [False] * 6,
})


def test_classify_and_metrics_by_hand():
    c = classify(LINKS, TRUTH, PAIRS).set_index("survey_id")["outcome"].to_dict()
    assert c == {"A": "correct", "B": "correct", "C": "false_match", "D": "missed_in_review",
                 "E": "missed_not_blocked", "F": "correct_non_match"}
    m = metrics(classify(LINKS, TRUTH))
    # 3 links made, 2 right; 5 children in the NPD.
    assert (m["links_made"], m["true_positives"], m["true_links"]) == (3, 2, 5)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 5)
    assert m["f1"] == pytest.approx(2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5))
    with_review = metrics(classify(LINKS, TRUTH), ("matched", "clerical_review"))
    assert (with_review["links_made"], with_review["true_positives"]) == (4, 3)


def test_breakdowns_by_difference_and_subgroup():
    c = classify(LINKS, TRUTH)
    differences = pd.DataFrame({"survey_id": ["C", "E", "E"], "field": ["forename", "postcode", "surname"],
                                "difference": ["nickname", "moved_house", "changed"]})
    table = by_difference(c, differences, TRUTH.set_index("survey_id")["twin"]).set_index("difference")
    assert table.loc["forename: nickname", "false_matches"] == 1 and table.loc["forename: nickname", "recall"] == 0
    assert table.loc["surname: changed", "missed"] == 1
    assert table.loc["twin in the NPD", "records"] == 1  # C
    # A, B, D, F have no difference: A and B right, D missed, F not in the NPD -> recall 2/3.
    assert table.loc["none", "records"] == 4 and table.loc["none", "recall"] == pytest.approx(2 / 3)
    attributes = pd.DataFrame({"survey_id": list("ABCDEF"), "frame_eal": [False, False, True, True, True, False]})
    sub = by_subgroup(c, attributes).set_index("group")
    # EAL: C (false), D (review), E (missed) -> recall 0 of 3; others A, B right of 2 -> recall 1.
    assert sub.loc["True", "recall"] == 0 and sub.loc["False", "recall"] == 1
    assert sub.loc["True", "recall_gap"] == pytest.approx(0 - 2 / 5)


def test_report_tables_threshold_curve_and_json_without_identifiers():
    report = evaluate_linkage(LINKS, TRUTH, pairs=PAIRS, model_report={"blocking": [{"name": "p1"}, {"name": "p2"}]},
                              survey=LINKS[["survey_id"]].assign(forename=["x", None, "", "y", "z", "w"]))
    assert report.main["precision"] == pytest.approx(2 / 3)
    blocking = report.blocking.set_index("pass")
    # True pairs among candidates: A-a (p1, p2), B-b (p2), C-c (p1), D-d (p2): 4 of 5.
    assert report.extra["blocking_recall"] == pytest.approx(4 / 5)
    assert blocking.loc["p1", "true_pairs_found"] == 2 and blocking.loc["p2", "true_pairs_found"] == 3
    curve = report.thresholds.set_index("match_threshold")
    assert curve["links_made"].is_monotonic_decreasing
    provision = report.provision.set_index("field")
    assert provision.loc["forename", "survey_missing"] == 2
    text = json.dumps(report.to_dict())
    for identifier in ("\"A\"", "\"a\"", "\"x\"", "\"d\""):
        assert identifier not in text
    assert "<table" in report._repr_html_() and "precision" in repr(report)


@pytest.fixture
def project(tmp_path, project_params):
    rng = np.random.default_rng(5)
    npd = make_population(500, rng)
    survey = survey_from(npd, range(40))
    survey.loc[3, "surname"] = "Zzyzx"
    paths = Paths(tmp_path)
    write_linkage_inputs(paths, npd, survey)
    TRUE_LINKS.at(paths).parent.mkdir(parents=True)
    pd.DataFrame({"survey_id": survey["survey_id"], "upn": npd["upn"].iloc[:40].to_numpy(), "in_npd": True, "twin": False}).to_parquet(TRUE_LINKS.at(paths), index=False)
    pd.DataFrame({"survey_id": ["S000003"], "field": ["surname"], "difference": ["changed"]}).to_parquet(IDENTIFIER_DIFFERENCES.at(paths), index=False)
    link_stage.run(paths, project_params)
    return paths, project_params


def test_quality_stage_writes_the_report(project):
    paths, params = project
    report = write_linkage_quality(paths, params, baselines=False)
    written = json.loads(catalogue.LINKAGE_QUALITY.at(paths).read_text())
    assert written["main"]["precision"] == report.main["precision"] >= 0.95
    assert {"summary", "outcomes", "by_difference", "blocking", "threshold_tradeoff", "data_provision"} <= set(written)
    assert written["by_difference"][0]["difference"] in {"surname: changed", "none"}


def test_quality_stage_with_baselines_side_by_side(project):
    paths, params = project
    report = write_linkage_quality(paths, params, baselines=True)
    methods = set(report.summary["method"])
    assert {"model", "rule cascade", "recordlinkage ECM"} <= methods
    assert "recordlinkage ECM" in report.extra["baseline_diagnostics"]


def test_evaluate_command_writes_the_linkage_report(project, monkeypatch, capsys):
    paths, _ = project
    monkeypatch.setenv("SENDLINK_ROOT", str(paths.root))
    # The temporary root has no params.yaml: copy the project's.
    (paths.root / "params.yaml").write_text((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    assert main(["-q", "evaluate", "--no-baselines"]) == 0
    out = capsys.readouterr().out
    # A world made for linkage alone: the linkage report, and no outcome check.
    assert "precision" in out and "census" not in out
    assert catalogue.LINKAGE_QUALITY.at(paths).is_file()
    assert not catalogue.SUMMARY.at(paths).exists()

"""The analysis and evaluation stages on a small generated world: consent -> (links) -> extract -> analyse -> evaluate.

The small world of ``tests/conftest.py`` is written to a temporary project;
the consent and extract stages run as the pipeline runs them. In place of
the linker (tested on its own) the true links are used, with two children's
records deliberately swapped, so that the evaluation code must find exactly
those two false matches. The analysis stage then writes its tables and the
summary, all of which must pass disclosure control, and the evaluation
stage completes the summary with what the truth says.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sendlink import config
from sendlink.cli import main
from sendlink.disclosure import check_published
from sendlink.io import read_table, write_table
from sendlink.params import load_params
from sendlink.schema import catalogue, truth

ROOT = Path(__file__).resolve().parents[2]
ROOT_FILES = ("params.yaml", "pyproject.toml")


@pytest.fixture(scope="module")
def project(small_dataset, tmp_path_factory, project_params):
    from sendlink.consent import stage as consent_stage
    from sendlink.deidentify import stage as extract_stage
    from sendlink.synth.generate import write

    root = tmp_path_factory.mktemp("outcomes_project")
    for name in ROOT_FILES:
        shutil.copy(ROOT / name, root / name)
    paths = config.Paths(root)
    write(small_dataset, paths.synthetic)
    params = load_params(paths.params)
    consent_stage.run(paths, params)
    spine = read_table(catalogue.SURVEY_SPINE.at(paths))
    true = read_table(truth.TRUE_LINKS.at(paths)).set_index("survey_id")["upn"]
    links = pd.DataFrame({"survey_id": spine["survey_id"], "upn": spine["survey_id"].map(true)})
    links["match_probability"] = links["upn"].notna().astype(float)
    links["match_weight"] = links["match_probability"] * 20.0
    links["link_status"] = links["upn"].notna().map({True: "matched", False: "unmatched"})
    matched = links.index[links["upn"].notna()][:2]
    links.loc[matched, "upn"] = links.loc[matched[::-1], "upn"].to_numpy()  # two false matches
    write_table(links, catalogue.LINKS.at(paths))
    extract_stage.run(paths, params)
    return paths, params, set(links.loc[matched, "upn"])


@pytest.fixture(scope="module")
def result(project):
    from sendlink.outcomes import stage as analysis_stage

    paths, params, _ = project
    return analysis_stage.run(paths, params)


@pytest.fixture(scope="module")
def evaluated(project, result):
    from sendlink.evaluate import stage as evaluate_stage

    paths, params, _ = project
    return evaluate_stage.run(paths, params, baselines=False)


def test_stage_writes_its_tables_and_the_summary_without_truth(project, result):
    paths, _, _ = project
    names = {p.name for p in result.written}
    assert names == {"estimates.csv", "weights.csv", "consent_model.csv", "sensitivity.csv", "balance.csv", "tipping_points.csv", "summary.json"}
    assert catalogue.SUMMARY.at(paths) in result.written
    assert "evaluation" not in result.summary and result.summary["linkage"]["precision"] is None
    assert all(entry["census_value"] is None for entry in result.summary["effects"])
    assert result.summary["version"] == 2
    # The survey organisation released replicates, so the headline intervals are the bootstrap's.
    assert result.summary["variance"]["headline"] == "bootstrap" and result.summary["variance"]["replicates"] > 0
    assert {"estimand", "imputation", "selection", "balance", "sensitivity", "linkage_correction"} <= set(result.summary)
    assert result.summary["balance"]["analysable_weighted"]["categories"] > 0


def test_evaluation_completes_the_summary(project, evaluated):
    paths, _, _ = project
    summary = json.loads(catalogue.SUMMARY.at(paths).read_text())
    assert summary == evaluated.summary
    assert summary["version"] == 2
    assert summary["linkage"]["quality_report"] == catalogue.LINKAGE_QUALITY.path and summary["linkage"]["precision"] < 1
    assert len(summary["effects"]) == len(read_table(truth.TRUE_EFFECTS.at(paths)))
    for entry in summary["effects"]:
        assert entry["census_value"] is not None and entry["generating_value"] is not None
        assert {"estimate", "ci_low", "ci_high", "effect", "n", "se_sandwich", "se_bootstrap", "variance", "ame"} <= set(entry["weighted"])
        assert entry["weighted"]["variance"] == "bootstrap" and entry["weighted"]["se"] == entry["weighted"]["se_bootstrap"]


def test_published_tables_pass_disclosure_control(project, result):
    paths, params, _ = project
    balance = pd.read_csv(catalogue.BALANCE.at(paths))
    assert "families" not in balance.columns  # counts are not published, small categories blanked
    for file, counts in ((catalogue.ESTIMATES, ("n",)), (catalogue.WEIGHTS, ("n", "n_trimmed", "effective_n")), (catalogue.CONSENT_MODEL, ("n_with",))):
        table = pd.read_csv(file.at(paths), dtype=str, keep_default_na=False)
        numbers = table[[c for c in table.columns if c in counts or c in ("effect", "coef", "se", "odds_ratio", "median")]]
        check_published(numbers, params.disclosure, kind="magnitudes", count_columns=counts)


def test_evaluation_finds_the_planted_false_matches(project, evaluated):
    summary = evaluated.summary["evaluation"]
    assert summary["linkage_errors"]["main"]["false_matches"] == 2
    assert "no_false_matches" in summary["linkage_sensitivity"]


def test_rerun_gives_identical_summary(project, evaluated):
    from sendlink.evaluate import stage as evaluate_stage
    from sendlink.outcomes import stage as analysis_stage

    paths, params, _ = project
    first = catalogue.SUMMARY.at(paths).read_bytes()
    analysis_stage.run(paths, params)
    evaluate_stage.run(paths, params, baselines=False)
    assert catalogue.SUMMARY.at(paths).read_bytes() == first


def test_cli_reports_a_missing_extract_clearly(tmp_path, monkeypatch, capsys):
    for name in ROOT_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setenv("SENDLINK_ROOT", str(tmp_path))
    assert main(["analyse"]) == 2
    err = capsys.readouterr().err
    assert "extract.parquet" in err and "research extract not found" in err and "Traceback" not in err

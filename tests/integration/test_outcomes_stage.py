"""The analysis stage on a small generated world: consent -> (links) -> extract -> analyse.

The small world of ``tests/conftest.py`` is written to a temporary project;
the consent and extract stages run as the pipeline runs them. In place of
the linker (tested on its own) the true links are used, with two children's
records deliberately swapped, so that the evaluation code must find exactly
those two false matches. The analysis stage then writes its tables and the
summary, all of which must pass disclosure control.
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

ROOT = Path(__file__).resolve().parents[2]
ROOT_FILES = ("params.yaml", "pyproject.toml")


@pytest.fixture(scope="module")
def project(small_dataset, tmp_path_factory, project_params):
    from sendlink.consent import run_consent_stage
    from sendlink.deidentify import run_extract_stage
    from sendlink.synth.generate import write

    root = tmp_path_factory.mktemp("outcomes_project")
    for name in ROOT_FILES:
        shutil.copy(ROOT / name, root / name)
    paths = config.Paths(root)
    write(small_dataset, paths.synthetic)
    params = config.load_params(paths.params)
    run_consent_stage(paths, params)
    spine = read_table(paths.linkage / "incoming" / "survey_spine.parquet")
    true = read_table(paths.truth / "links.parquet").set_index("survey_id")["upn"]
    links = pd.DataFrame({"survey_id": spine["survey_id"], "upn": spine["survey_id"].map(true)})
    links["match_probability"] = links["upn"].notna().astype(float)
    links["match_weight"] = links["match_probability"] * 20.0
    links["link_status"] = links["upn"].notna().map({True: "matched", False: "unmatched"})
    matched = links.index[links["upn"].notna()][:2]
    links.loc[matched, "upn"] = links.loc[matched[::-1], "upn"].to_numpy()  # two false matches
    write_table(links, paths.linkage / "links.parquet")
    run_extract_stage(paths, params)
    return paths, params, set(links.loc[matched, "upn"])


@pytest.fixture(scope="module")
def result(project):
    from sendlink.outcomes import run_analysis_stage

    paths, params, _ = project
    return run_analysis_stage(paths, params)


def test_stage_writes_its_tables_and_the_summary(project, result):
    paths, _, _ = project
    names = {p.name for p in result.written}
    assert names == {"estimates.csv", "weights.csv", "consent_model.csv", "sensitivity.csv", "balance.csv", "tipping_points.csv", "summary.json"}
    summary = json.loads((paths.reports / "summary.json").read_text())
    assert summary["version"] == 2
    # The survey organisation released replicates, so the headline intervals are the bootstrap's.
    assert summary["variance"]["headline"] == "bootstrap" and summary["variance"]["replicates"] > 0
    assert {"estimand", "imputation", "selection", "balance", "sensitivity", "linkage_correction"} <= set(summary)
    assert summary["balance"]["analysable_weighted"]["categories"] > 0
    assert len(summary["effects"]) == len(read_table(paths.truth / "planted_effects.csv"))
    for entry in summary["effects"]:
        assert entry["census_value"] is not None and entry["generating_value"] is not None
        assert {"estimate", "ci_low", "ci_high", "effect", "n", "se_sandwich", "se_bootstrap", "variance", "ame"} <= set(entry["weighted"])
        assert entry["weighted"]["variance"] == "bootstrap" and entry["weighted"]["se"] == entry["weighted"]["se_bootstrap"]


def test_published_tables_pass_disclosure_control(project, result):
    paths, params, _ = project
    folder = paths.research / "analysis"
    balance = pd.read_csv(folder / "balance.csv")
    assert "families" not in balance.columns  # counts are not published, small categories blanked
    for name, counts in (("estimates.csv", ("n",)), ("weights.csv", ("n", "n_trimmed", "effective_n")), ("consent_model.csv", ("n_with",))):
        table = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        numbers = table[[c for c in table.columns if c in counts or c in ("effect", "coef", "se", "odds_ratio", "median")]]
        check_published(numbers, params, kind="magnitudes", count_columns=counts)


def test_evaluation_finds_the_planted_false_matches(project, result):
    summary = result.summary["evaluation"]
    assert summary["linkage_errors"]["main"]["false_matches"] == 2
    assert "no_false_matches" in summary["linkage_sensitivity"]


def test_rerun_gives_identical_summary(project, result):
    from sendlink.outcomes import run_analysis_stage

    paths, params, _ = project
    first = (paths.reports / "summary.json").read_bytes()
    run_analysis_stage(paths, params)
    assert (paths.reports / "summary.json").read_bytes() == first


def test_cli_reports_a_missing_extract_clearly(tmp_path, monkeypatch, capsys):
    for name in ROOT_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setenv("SENDLINK_ROOT", str(tmp_path))
    assert main(["analyse"]) == 2
    err = capsys.readouterr().err
    assert "extract.parquet" in err and "research extract not found" in err and "Traceback" not in err

"""The bars on the project's own data: the default cohort linked to the whole synthetic NPD.

Survey side: the child identifiers the parents of every responding household
gave (``survey/contacts.parquet``, spine columns only); NPD side: the whole
synthetic population (``npd/spine.parquet``, about 252,000 pupils). Speed is
measured in ``benchmarks/link_cohort.py``, not asserted here (the machine is
shared); these tests check quality.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from sendlink.config import Paths
from sendlink.evaluate.blocking import blocking_recall
from sendlink.evaluate.linkage import classify, metrics, write_linkage_quality
from sendlink.link import link_spines, read_spine
from sendlink.link import stage as link_stage
from sendlink.params import load_params
from sendlink.schema import catalogue

pytestmark = pytest.mark.needs_data

SPINE = ["survey_id", "forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn"]


@pytest.fixture(scope="module")
def cohort(default_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort")
    survey_path = folder / "survey_spine.parquet"
    pd.read_parquet(default_data / "survey" / "contacts.parquet", columns=SPINE).to_parquet(survey_path, index=False)
    survey = read_spine(survey_path, "survey_id")
    npd = read_spine(default_data / "npd" / "spine.parquet", "upn")
    params = load_params(Path(__file__).resolve().parents[2] / "params.yaml")
    result = link_spines(survey, npd, params.linkage, seed=params.seed)
    truth = pd.read_parquet(default_data / "truth" / "links.parquet")
    return result, truth


def test_matched_links_meet_the_bars(cohort):
    result, truth = cohort
    m = metrics(classify(result.links, truth))
    assert m["precision"] >= 0.995, m
    assert m["recall"] >= 0.985, m


def test_em_fits_properly(cohort):
    result, _ = cohort
    model = result.model
    assert model.converged
    assert not model.diagnostics["degenerate"], model.diagnostics["reasons"]
    assert not model.fallback
    assert model.expected_matches <= len(result.links)
    # Read pair by pair, the model must not call many more pairs matches than there are children.
    assert model.diagnostics["independent_matches"] < 1.5 * len(result.links)


def test_blocking_is_selective_and_loses_nothing(cohort):
    result, truth = cohort
    assert blocking_recall(result.pairs, truth) >= 0.998
    # The first version proposed 2.5 million pairs for 3,372 children.
    assert len(result.pairs) < 250_000
    assert set(result.blocking["name"]) == {p.name for p in result.params.blocking.passes}


@pytest.mark.slow
def test_stage_and_quality_report_on_the_cohort(default_data, tmp_path):
    root = tmp_path / "project"
    (root / "data" / "synthetic").mkdir(parents=True)
    for sub in ("npd", "survey", "truth"):
        os.symlink(default_data / sub, root / "data" / "synthetic" / sub)
    paths = Paths(root)
    params = load_params(Path(__file__).resolve().parents[2] / "params.yaml")
    incoming = catalogue.SURVEY_SPINE.at(paths)
    incoming.parent.mkdir(parents=True)
    pd.read_parquet(default_data / "survey" / "contacts.parquet", columns=SPINE).to_parquet(incoming, index=False)
    link_stage.run(paths, params)
    report = write_linkage_quality(paths, params, baselines=True)
    summary = report.summary.set_index(["method", "links"])
    assert summary.loc[("model", "matched"), "precision"] >= 0.995
    assert summary.loc[("model", "matched"), "recall"] >= 0.985
    # The baselines on the same data: the rule cascade misses many; ECM falls into the birthday trap and says so.
    assert summary.loc[("rule cascade", "matched"), "recall"] < summary.loc[("model", "matched"), "recall"]
    assert report.extra["baseline_diagnostics"]["recordlinkage ECM"]["degenerate"]
    assert report.extra["blocking_recall"] >= 0.998
    assert len(report.by_subgroup) and len(report.by_difference)

"""The pipeline's linkage stage on a small project folder: files, contract,
reviewer decisions, nothing half-written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "link"))
from _linkdata import make_population, survey_from, write_linkage_inputs

from sendlink.config import Paths
from sendlink.errors import InputError
from sendlink.link import stage as link_stage
from sendlink.schema import catalogue


@pytest.fixture
def project(tmp_path, project_params):
    rng = np.random.default_rng(11)
    npd = make_population(600, rng)
    survey = survey_from(npd, range(60))
    survey.loc[0, "forename"] = None  # a little less sure
    survey.loc[1, "surname"] = "Zzyzx"  # a new surname
    paths = Paths(tmp_path)
    write_linkage_inputs(paths, npd, survey)
    return paths, project_params, npd, survey


def test_stage_writes_every_file(project):
    paths, params, npd, survey = project
    result = link_stage.run(paths, params)
    folder = paths.linkage
    links = pd.read_parquet(folder / "links.parquet")
    assert list(links.columns) == ["survey_id", "upn", "match_probability", "match_weight", "link_status"]
    assert links["survey_id"].tolist() == survey["survey_id"].tolist()
    correct = links["upn"] == npd["upn"].iloc[:60].to_numpy()
    assert (correct | (links["link_status"] != "matched")).all()
    assert correct.mean() > 0.9
    pairs = pd.read_parquet(folder / "pairs.parquet")
    assert {"survey_id", "upn", "passes", "forename", "w_forename", "match_weight", "match_probability"} <= set(pairs.columns)
    assert len(pairs) == len(result.pairs)
    model = json.loads((folder / "model.json").read_text())
    assert {"model", "m_u_table", "thresholds", "blocking", "links", "timings_seconds"} <= set(model)
    assert model["model"]["summary"]["degenerate"] is False
    assert [row["name"] for row in model["blocking"]] == [p.name for p in params.linkage.blocking.passes]
    review = pd.read_csv(folder / "clerical_review.csv", dtype=str, keep_default_na=False)
    assert {"survey_forename", "npd_forename", "decision", "reviewer", "date"} <= set(review.columns)
    assert (review["review_reason"] == "uncertain").sum() == (links["link_status"] == "clerical_review").sum()
    # the audit sample of accepted links (linkage.audit_sample_size), all of them here: fewer than the sample size
    audited = review[review["review_reason"] == "audit"]
    assert len(audited) == min(params.linkage.audit_sample_size, int((links["link_status"] == "matched").sum()))
    assert set(audited["survey_id"]) <= set(links.loc[links["link_status"] == "matched", "survey_id"])
    assert model["audit"]["sample_size"] == len(audited)
    text = (folder / "model.json").read_text()
    assert not any(key in text for key in npd["upn"].iloc[:60])  # no identifiers in model.json


def test_reviewer_decisions_are_honoured_and_their_folder_kept(project):
    paths, params, npd, survey = project
    first = link_stage.run(paths, params).links.set_index("survey_id")
    wrong = first.loc["S000002", "upn"]
    decisions = catalogue.DECISIONS.at(paths)
    decisions.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"survey_id": ["S000002"], "upn": [wrong], "decision": ["non-match"], "reviewer": ["R"], "date": ["2025-01-01"]}).to_csv(decisions, index=False)
    before = decisions.read_bytes()
    second = link_stage.run(paths, params).links.set_index("survey_id")
    assert second.loc["S000002", "upn"] != wrong
    assert decisions.read_bytes() == before
    assert sorted(p.name for p in decisions.parent.iterdir()) == ["decisions.csv"]


def test_a_failing_stage_leaves_the_previous_outputs(project):
    paths, params, npd, survey = project
    link_stage.run(paths, params)
    before = {f.name: f.at(paths).read_bytes() for f in (catalogue.LINKS, catalogue.PAIRS, catalogue.MODEL, catalogue.REVIEW_QUEUE)}
    catalogue.NPD_SPINE.at(paths).write_bytes(b"not parquet")
    with pytest.raises(InputError, match="spine.parquet"):
        link_stage.run(paths, params)
    after = {f.name: f.at(paths).read_bytes() for f in (catalogue.LINKS, catalogue.PAIRS, catalogue.MODEL, catalogue.REVIEW_QUEUE)}
    assert after == before
    assert not [p for p in paths.linkage.iterdir() if p.name.startswith(".")]


def test_missing_survey_spine_is_a_clear_error(project):
    paths, params, *_ = project
    (catalogue.SURVEY_SPINE.at(paths)).unlink()
    with pytest.raises(InputError, match="survey_spine.parquet.*file not found"):
        link_stage.run(paths, params)


def test_survey_spine_is_checked_against_its_contract(project):
    paths, params, npd, survey = project
    bad = survey.copy()
    bad.loc[4, "date_of_birth"] = "12/03/2009"  # the contract says ISO dates
    bad.to_parquet(catalogue.SURVEY_SPINE.at(paths), index=False)
    with pytest.raises(InputError, match="survey_spine.parquet.*date_of_birth"):
        link_stage.run(paths, params)
    assert not catalogue.LINKS.at(paths).exists()

"""The pipeline: one shape for every stage, in data-flow order, and stage selection."""

import inspect

import pytest

from sendlink import pipeline
from sendlink.errors import SendlinkError


def test_stages_are_in_data_flow_order():
    assert [s.name for s in pipeline.STAGES] == ["synth", "consent", "link", "pprl", "extract", "analyse", "evaluate", "scan"]
    assert [s.package for s in pipeline.STAGES] == ["synth", "consent", "link", "pprl", "deidentify", "outcomes", "evaluate", "scan"]


def test_every_stage_is_its_packages_stage_module_with_run_paths_params():
    for stage in pipeline.STAGES:
        function = stage.function()
        assert function.__module__ == f"sendlink.{stage.package}.stage" and function.__name__ == "run", stage.name
        assert list(inspect.signature(function).parameters)[:2] == ["paths", "params"], stage.name


def test_every_stage_names_its_party():
    assert {s.party for s in pipeline.STAGES} >= {"survey organisation", "DfE", "researchers", "evaluation"}


def test_only_and_skip_choose_stages(monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(pipeline.Stage, "function", lambda self: (lambda paths, params: ran.append(self.name)))
    paths = pipeline.config.Paths(tmp_path)
    pipeline.run_pipeline(paths, object(), only=["link", "extract"])
    assert ran == ["link", "extract"]
    ran.clear()
    pipeline.run_pipeline(paths, object(), skip=["scan", "evaluate"])
    assert ran == ["synth", "consent", "link", "pprl", "extract", "analyse"]


def test_unknown_stage_is_refused(tmp_path):
    with pytest.raises(SendlinkError, match="unknown stage"):
        pipeline.run_pipeline(pipeline.config.Paths(tmp_path), object(), only=["link", "frobnicate"])
    with pytest.raises(SendlinkError, match="unknown stage"):
        pipeline.run_pipeline(pipeline.config.Paths(tmp_path), object(), skip=["frobnicate"])

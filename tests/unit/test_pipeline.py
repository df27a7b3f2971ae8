"""The pipeline's stage selection."""

import pytest

from sendlink import pipeline
from sendlink.errors import SendlinkError


def test_stages_are_in_data_flow_order():
    assert [s.name for s in pipeline.STAGES] == ["consent", "link", "quality", "extract", "analyse", "scan"]


def test_every_stage_resolves_to_a_function():
    for stage in pipeline.STAGES:
        assert callable(stage.function()), stage.name


def test_only_and_skip_choose_stages(monkeypatch, tmp_path):
    ran = []
    stages = tuple(
        pipeline.Stage(name, "test", "builtins:print", "test") for name in ("consent", "link", "quality", "extract", "analyse", "scan")
    )
    monkeypatch.setattr(pipeline, "STAGES", stages)
    monkeypatch.setattr(pipeline.Stage, "function", lambda self: (lambda paths, params: ran.append(self.name)))
    paths = pipeline.config.Paths(tmp_path)
    pipeline.run_pipeline(paths, {"seed": 1}, only=["link", "extract"])
    assert ran == ["link", "extract"]
    ran.clear()
    pipeline.run_pipeline(paths, {"seed": 1}, skip=["scan", "quality"])
    assert ran == ["consent", "link", "extract", "analyse"]


def test_unknown_stage_is_refused(tmp_path):
    with pytest.raises(SendlinkError, match="unknown stage"):
        pipeline.run_pipeline(pipeline.config.Paths(tmp_path), {"seed": 1}, only=["link", "frobnicate"])
    with pytest.raises(SendlinkError, match="unknown stage"):
        pipeline.run_pipeline(pipeline.config.Paths(tmp_path), {"seed": 1}, skip=["frobnicate"])

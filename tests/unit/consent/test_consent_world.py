"""A register belongs to one synthetic world; a new world archives the old register."""

import json

from sendlink.config import Paths
from sendlink.consent.stage import bind_register_to_world
from sendlink.schema import catalogue


def _world(root, fingerprint):
    (root / "data" / "synthetic").mkdir(parents=True, exist_ok=True)
    (root / "data" / "synthetic" / "manifest.json").write_text(json.dumps({"params_sha256": fingerprint}))


def test_first_run_records_the_world(tmp_path):
    _world(tmp_path, "a" * 64)
    assert bind_register_to_world(Paths(tmp_path)) is None
    assert json.loads((tmp_path / "data" / "register" / catalogue.WORLD.name).read_text())["params_sha256"] == "a" * 64


def test_same_world_keeps_the_register(tmp_path):
    _world(tmp_path, "a" * 64)
    bind_register_to_world(Paths(tmp_path))
    (tmp_path / "data" / "register" / "consent.sqlite").write_text("events")
    assert bind_register_to_world(Paths(tmp_path)) is None
    assert (tmp_path / "data" / "register" / "consent.sqlite").read_text() == "events"


def test_new_world_archives_register_and_erasure_log(tmp_path):
    _world(tmp_path, "a" * 64)
    bind_register_to_world(Paths(tmp_path))
    register = tmp_path / "data" / "register"
    (register / "consent.sqlite").write_text("old events")
    (register / "erasure_log.csv").write_text("old log")
    _world(tmp_path, "b" * 64)
    archived = bind_register_to_world(Paths(tmp_path))
    assert archived == register / "archive" / ("a" * 12)
    assert (archived / "consent.sqlite").read_text() == "old events"
    assert (archived / "erasure_log.csv").read_text() == "old log"
    assert not (register / "consent.sqlite").exists()
    assert json.loads((register / catalogue.WORLD.name).read_text())["params_sha256"] == "b" * 64
    # Going back to the first world archives again, never overwrites.
    (register / "consent.sqlite").write_text("b events")
    _world(tmp_path, "a" * 64)
    assert bind_register_to_world(Paths(tmp_path)) == register / "archive" / ("b" * 12)

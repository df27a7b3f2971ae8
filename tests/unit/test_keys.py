"""The rules for secret keys (sendlink.keys): strength, where a key may live, when the demo key is allowed."""

from __future__ import annotations

import base64
import json
import logging
import os

import pytest

from sendlink import keys
from sendlink.cli import main
from sendlink.config import Paths
from sendlink.errors import ParameterError
from sendlink.keys import (
    REGISTER_DEMO_KEY,
    file_hashes,
    new_key,
    parse_key,
    read_key,
    recognise_world,
    register_key,
)
from tests.conftest import TEST_REGISTER_KEY, stamp_world, write_params

RANDOM = bytes.fromhex(TEST_REGISTER_KEY)


# --- strength -----------------------------------------------------------------------------


def test_hex_and_base64_keys_of_32_random_bytes_are_read():
    assert parse_key(TEST_REGISTER_KEY, "x") == RANDOM
    assert parse_key(TEST_REGISTER_KEY.upper() + "\n", "x") == RANDOM
    assert parse_key(base64.b64encode(RANDOM).decode(), "x") == RANDOM  # openssl rand -base64 32
    assert parse_key(base64.urlsafe_b64encode(RANDOM).decode().rstrip("="), "x") == RANDOM


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("x", "not a key written as hexadecimal or base64|is 0 byte"),  # one character worked before
        ("correct horse battery staple", "not a key written as hexadecimal or base64"),
        ("ab" * 16, "is 16 byte"),  # 16 bytes
        ("00" * 32, "does not look random"),
        ("0123456789abcdef" * 4, "does not look random"),  # a pattern repeated
        ("sendlink synthetic-only demo key: NOT FOR REAL DATA", "not a key written as hexadecimal or base64"),
    ],
)
def test_weak_or_malformed_keys_are_refused(text, why):
    with pytest.raises(ParameterError, match=why):
        parse_key(text, "$SOME_KEY")


# --- where a key may live ----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "data" / "synthetic" / "survey").mkdir(parents=True)
    (root / "data" / "synthetic" / "survey" / "contacts.csv").write_text("survey_id\nS1\n")
    monkeypatch.delenv("T_KEY", raising=False)
    monkeypatch.setattr(keys, "_warned", set())
    return Paths(root)


def _read(paths: Paths, file=None):
    return read_key(purpose="test key", env="T_KEY", file=file, demo=REGISTER_DEMO_KEY, project_root=paths.root,
                    synthetic=paths.synthetic, world_parts=("survey",))


def test_environment_first_then_an_owner_only_file_outside_the_project(project, tmp_path, monkeypatch):
    file = tmp_path / "outside" / "test.key"
    new_key(file, project_root=project.root)
    from_file = _read(project, file)
    assert from_file.source == "file" and len(from_file.secret) == 32 and TEST_REGISTER_KEY not in repr(from_file)
    monkeypatch.setenv("T_KEY", TEST_REGISTER_KEY)
    assert _read(project, file).secret == RANDOM and _read(project, file).source == "environment"
    monkeypatch.setenv("T_KEY", "  ")
    with pytest.raises(ParameterError, match="set but empty"):
        _read(project, file)


def test_a_key_file_inside_the_project_or_readable_by_others_is_refused(project, tmp_path):
    inside = project.root / "data" / "register" / "register.key"
    inside.parent.mkdir(parents=True)
    inside.write_text(TEST_REGISTER_KEY)
    inside.chmod(0o600)
    with pytest.raises(ParameterError, match="inside the project folder"):
        _read(project, inside)
    link = tmp_path / "looks-outside.key"
    link.symlink_to(inside)
    with pytest.raises(ParameterError, match="inside the project folder"):
        _read(project, link)
    loose = tmp_path / "loose.key"
    loose.write_text(TEST_REGISTER_KEY)
    loose.chmod(0o644)
    with pytest.raises(ParameterError, match=r"can be read by other users \(mode 0644\).*chmod 600"):
        _read(project, loose)


def test_new_key_is_owner_only_random_and_never_overwrites(project, tmp_path):
    first = new_key(tmp_path / "a" / "b" / "one.key", project_root=project.root)
    second = new_key(tmp_path / "a" / "b" / "two.key")
    assert first.stat().st_mode & 0o777 == 0o600 and (tmp_path / "a").stat().st_mode & 0o777 == 0o700
    assert parse_key(first.read_text(), "one") != parse_key(second.read_text(), "two")
    before = first.read_bytes()
    with pytest.raises(ParameterError, match="already exists"):
        new_key(first)
    assert first.read_bytes() == before
    with pytest.raises(ParameterError, match="inside the project folder"):
        new_key(project.root / "my.key", project_root=project.root)
    assert not (project.root / "my.key").exists()


# --- the demo key: the generator's own world only ---------------------------------------------------------


def test_the_demo_key_is_used_loudly_for_the_generators_world(project, caplog):
    stamp_world(project.synthetic)
    assert recognise_world(project.synthetic, ("survey",))
    with caplog.at_level(logging.WARNING):
        key = _read(project, project.root.parent / "absent.key")
        _read(project, project.root.parent / "absent.key")
    assert key.is_demo and key.secret == REGISTER_DEMO_KEY
    assert caplog.text.count("PUBLIC synthetic-only demo key") == 1  # loudly, once per process


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("no manifest", "no generator manifest"),
        ("a file changed", "missing or changed since the generator wrote them"),
        ("a file added", "the generator did not write"),
        ("a file removed", "missing or changed"),
        ("the manifest's list edited", "does not match its own fingerprint"),
        ("a manifest copied beside other data", "missing or changed"),
    ],
)
def test_anything_but_the_generators_world_refuses_the_demo_key(project, tmp_path, tamper, reason):
    survey = project.synthetic / "survey"
    stamp_world(project.synthetic)
    manifest = project.synthetic / "manifest.json"
    if tamper == "no manifest":
        manifest.unlink()
    elif tamper == "a file changed":
        (survey / "contacts.csv").write_text("survey_id\nREAL1\n")
    elif tamper == "a file added":
        (survey / "real_people.csv").write_text("survey_id\nREAL1\n")
    elif tamper == "a file removed":
        (survey / "contacts.csv").unlink()
    elif tamper == "the manifest's list edited":
        data = json.loads(manifest.read_text())
        data["files"]["survey/contacts.csv"] = "0" * 64
        manifest.write_text(json.dumps(data))
    else:  # real data with the synthetic world's manifest copied next to them
        other = tmp_path / "real" / "data" / "synthetic"
        (other / "survey").mkdir(parents=True)
        (other / "survey" / "contacts.csv").write_text("survey_id\nREAL1\n")
        (other / "manifest.json").write_text(manifest.read_text())
        project = Paths(tmp_path / "real")
    with pytest.raises(ParameterError, match=f"demo key is used only for the generator's own synthetic world.*{reason}"):
        _read(project, tmp_path / "absent.key")


def test_file_hashes_skip_hidden_files(project):
    (project.synthetic / "survey" / ".contacts.csv.1.abcd1234.csv").write_text("temporary")
    assert list(file_hashes(project.synthetic)) == ["survey/contacts.csv"]


def test_the_generator_writes_a_manifest_the_demo_key_recognises(small_dataset, tmp_path):
    from sendlink.synth.generate import write

    write(small_dataset, tmp_path / "synthetic")
    manifest = json.loads((tmp_path / "synthetic" / "manifest.json").read_text())
    assert set(manifest["files"]) == set(small_dataset.tables) and manifest["params_sha256"] == small_dataset.manifest["params_sha256"]
    assert recognise_world(tmp_path / "synthetic")
    assert (tmp_path / "synthetic" / "survey" / "contacts.parquet").stat().st_mode & 0o777 == 0o600  # identifiers
    assert (tmp_path / "synthetic" / "manifest.json").stat().st_mode & 0o077 != 0  # for everyone


# --- the command line ------------------------------------------------------------------------------------


def test_keys_new_and_status_on_the_command_line(project, tmp_path, monkeypatch, capsys):
    write_params(project.params, {"consent": {"key_env": "T_REG", "key_file": str(tmp_path / "reg.key")},
                                  "deidentify": {"key_env": "T_RES", "key_file": str(tmp_path / "res.key")}})
    (project.root / "pyproject.toml").write_text("[project]\nname = 'keys'\n")
    monkeypatch.setenv("SENDLINK_ROOT", str(project.root))
    for name in ("T_REG", "T_RES"):
        monkeypatch.delenv(name, raising=False)
    assert main(["keys", "status"]) == 2  # no keys, and not the generator's world
    assert "REFUSED" in capsys.readouterr().out
    assert main(["keys", "new", str(tmp_path / "reg.key")]) == 0
    assert main(["keys", "new", str(tmp_path / "reg.key")]) == 2  # never overwritten
    assert main(["keys", "new", str(project.root / "inside.key")]) == 2
    monkeypatch.setenv("T_RES", os.urandom(32).hex())
    capsys.readouterr()
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().out
    assert f"consent register key: file ({tmp_path / 'reg.key'})" in out and "research key: environment ($T_RES)" in out
    assert (tmp_path / "reg.key").read_text().strip() not in out  # no secret shown
    assert register_key(project, "T_REG", tmp_path / "reg.key").source == "file"

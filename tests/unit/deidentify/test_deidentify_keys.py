"""Research ids: keyed, domain-separated, reproducible, and the key never shows."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from sendlink import keys as sendlink_keys
from sendlink.deidentify.keys import DEMO_KEY, ProjectKey, load_key, research_ids, school_pseudonyms
from sendlink.errors import ParameterError
from tests.conftest import TEST_OTHER_KEY, TEST_RESEARCH_KEY, stamp_world

UPNS = pd.Series(["A901001713019", "A901001713021", "B123456789012"])


def test_same_key_same_ids_other_key_other_ids():
    one, again = ProjectKey(b"k1", "file"), ProjectKey(b"k1", "environment")
    other = ProjectKey(b"k2", "file")
    assert research_ids(one, UPNS, "upn").tolist() == research_ids(again, UPNS, "upn").tolist()
    assert not set(research_ids(one, UPNS, "upn")) & set(research_ids(other, UPNS, "upn"))
    assert research_ids(one, UPNS, "upn").str.fullmatch(r"[0-9a-f]{32}").all()


def test_ids_match_hmac_sha256_worked_by_hand():
    import hashlib
    import hmac

    expected = hmac.new(b"k1", b"research_id:upn\x00A901001713019", hashlib.sha256).hexdigest()[:32]
    assert research_ids(ProjectKey(b"k1", "file"), UPNS[:1], "upn").iloc[0] == expected


def test_domain_separation():
    key = ProjectKey(b"k1", "file")
    same_text = pd.Series(["X1"])
    assert research_ids(key, same_text, "upn").iloc[0] != research_ids(key, same_text, "survey_id").iloc[0]
    assert school_pseudonyms(key, same_text).iloc[0][1:] not in research_ids(key, same_text, "upn").iloc[0]
    with pytest.raises(ValueError):
        research_ids(key, same_text, "postcode")


def test_key_never_shown():
    key = ProjectKey(b"super secret value", "environment")
    assert "super secret" not in repr(key) and "super secret" not in key.fingerprint
    assert "super secret" not in "".join(research_ids(key, UPNS, "upn"))


def test_key_from_environment_then_file_then_demo(tmp_path, monkeypatch, caplog):
    project = tmp_path / "project"
    (project / "data" / "synthetic" / "survey").mkdir(parents=True)
    (project / "data" / "synthetic" / "survey" / "contacts.csv").write_text("survey_id\nS1\n")
    stamp_world(project / "data" / "synthetic")  # the generator's own world: the demo key is allowed
    key_file = tmp_path / "outside.key"
    monkeypatch.delenv("T_RESEARCH_KEY", raising=False)
    monkeypatch.setattr(sendlink_keys, "_warned", set())
    with caplog.at_level(logging.WARNING):
        demo = load_key("T_RESEARCH_KEY", key_file, project_root=project)
    assert demo.is_demo and demo.secret == DEMO_KEY and "demo key" in caplog.text
    key_file.write_text(TEST_RESEARCH_KEY + "\n")
    key_file.chmod(0o600)
    assert load_key("T_RESEARCH_KEY", key_file, project_root=project) == ProjectKey(bytes.fromhex(TEST_RESEARCH_KEY), "file")
    monkeypatch.setenv("T_RESEARCH_KEY", TEST_OTHER_KEY)
    assert load_key("T_RESEARCH_KEY", key_file, project_root=project).source == "environment"


def test_without_a_key_other_data_are_refused(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "data" / "synthetic" / "npd").mkdir(parents=True)
    (project / "data" / "synthetic" / "npd" / "spine.csv").write_text("upn\nA1\n")  # no manifest: not the generator's
    monkeypatch.delenv("T_RESEARCH_KEY", raising=False)
    with pytest.raises(ParameterError, match="only for the generator's own synthetic world"):
        load_key("T_RESEARCH_KEY", tmp_path / "absent.key", project_root=project)


def test_demo_key_is_not_the_register_demo_key():
    from sendlink.consent.keys import DEMO_KEY as REGISTER_DEMO

    assert DEMO_KEY != REGISTER_DEMO


def test_key_file_inside_the_project_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("T_RESEARCH_KEY", raising=False)
    inside = tmp_path / "data" / "research.key"
    inside.parent.mkdir()
    inside.write_text("oops")
    with pytest.raises(ParameterError, match="inside the project"):
        load_key("T_RESEARCH_KEY", inside, project_root=tmp_path)


def test_register_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("T_RESEARCH_KEY", TEST_OTHER_KEY)
    monkeypatch.setenv("T_REGISTER_KEY", TEST_OTHER_KEY.upper())  # the same bytes, written otherwise
    with pytest.raises(ParameterError, match="different key"):
        load_key("T_RESEARCH_KEY", tmp_path / "none", project_root=tmp_path, register_key_env="T_REGISTER_KEY")
    register_file = tmp_path / "register.key"
    register_file.write_text(TEST_OTHER_KEY + "\n")
    monkeypatch.delenv("T_REGISTER_KEY")
    with pytest.raises(ParameterError, match="different key"):
        load_key("T_RESEARCH_KEY", tmp_path / "none", project_root=tmp_path, register_key_env="T_REGISTER_KEY",
                 register_key_file=register_file)

"""The teaching sandbox on the hand-written world (expected values worked out by hand).

The world is the consent tests' (``_consentdata``) plus one event: S001's
young person (16 on 2025-03-14) gave permission at wave 3, so S001 is the
only case whose parent and young person both gave permission and who has
no rights request: the worked example.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _consentdata import EVENTS, write_project

from sendlink import keys as sendlink_keys
from sendlink.config import Paths
from sendlink.consent import stage
from sendlink.consent.demo import FOOTPRINT, Sandbox
from sendlink.errors import ParameterError
from sendlink.io import read_table
from tests.conftest import TEST_REGISTER_KEY, stamp_world

TODAY = dt.date(2026, 2, 2)
YOUNG_PERSON_GRANTS = ("CE21", "S001", "young_person", "child_answers", "granted", "2025-10-01", "wave3", "web")
#: S001's rows: contacts, sample, parent_w1, parent_w2, young_person_w1, young_person_w2
S001_ROWS = 6


@pytest.fixture
def source(tmp_path, monkeypatch):
    """The world as a project whose consent stage has run; SENDLINK_ROOT points at it."""
    root = write_project(tmp_path / "project", events=[*EVENTS, YOUNG_PERSON_GRANTS])
    monkeypatch.setenv("SENDLINK_ROOT", str(root))
    monkeypatch.setenv("SENDLINK_TEST_REGISTER_KEY", TEST_REGISTER_KEY)
    paths = Paths(root)
    stage.run(paths)
    return paths


@pytest.fixture
def sandbox(source, tmp_path):
    with Sandbox(source, today=TODAY, parent=tmp_path) as box:
        box.run()
        yield box


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "data").rglob("*"))
        if p.is_file()
    }


def test_the_copy_starts_where_the_project_is(source, sandbox):
    assert sandbox.root != source.root and source.root not in sandbox.root.parents
    pd.testing.assert_frame_equal(sandbox.status(), read_table(source.survey_org / "consent_status.parquet"))
    assert sandbox.key_source == "environment"


def test_the_worked_example_is_chosen_by_rule(sandbox):
    assert sandbox.example_case() == "S001"


def test_nothing_done_in_the_copy_touches_the_project(source, tmp_path):
    before = _digests(source.root)
    with Sandbox(source, today=TODAY, parent=tmp_path) as box:
        box.run()
        assert box.request("withdraw", "S001", on=dt.date(2026, 1, 12)).recorded
        assert box.request("erase", "S003", on=dt.date(2026, 1, 13)).recorded
        box.run()
        assert box.access("S005", on=dt.date(2026, 1, 14)).outcome.recorded
        root = box.root
    assert _digests(source.root) == before
    assert not root.exists()  # the copy is deleted on leaving the block


def test_a_withdrawal_flows_through_scope_by_scope(sandbox):
    start = sandbox.footprint("S001")
    assert list(start.index) == list(FOOTPRINT)
    assert start.tolist() == ["granted", "granted", "young person", "yes", "yes", S001_ROWS, 3, 4]
    # 3 events (CE01, CE02, CE21); personal rows: the survey id + 3 fieldwork references

    refused = sandbox.request("withdraw", "S001", on=dt.date(2026, 1, 12), scope="child_answers")
    assert not refused.recorded and "young person decides" in refused.message
    assert sandbox.footprint("S001")["register events"] == 3  # nothing recorded

    parent = sandbox.request("withdraw", "S001", on=dt.date(2026, 1, 12))
    assert parent.recorded and "parent's answers" in parent.message and "child's answers" not in parent.message
    assert sandbox.footprint("S001")["permission: parent's answers"] == "granted"  # not until the next run
    sandbox.run()
    after_parent = sandbox.footprint("S001")
    assert after_parent.tolist() == ["withdrawn", "granted", "young person", "yes", "yes", S001_ROWS, 4, 4]

    assert sandbox.request("withdraw", "S001", person="young_person", on=dt.date(2026, 1, 19)).recorded
    sandbox.run()
    after_both = sandbox.footprint("S001")
    # not sent to DfE; the answers stay and are analysed, unlinked
    assert after_both.tolist() == ["withdrawn", "withdrawn", "young person", "no", "yes", S001_ROWS, 5, 4]
    assert "later-stop" in sandbox.explain("S001").render()


def test_the_erasure_proof_sees_hidden_files_and_the_stage_removes_a_killed_runs_copies(sandbox):
    import shutil
    import subprocess
    import sys

    holdings = sandbox.files.holdings
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a process that has ended: its temporaries are stale
    stale = holdings / f".contacts.parquet.{child.pid}.abcd1234.parquet"
    shutil.copy(holdings / "contacts.parquet", stale)  # what a run killed before its rename leaves
    # Both people ask (each erasure acts for the person who asked): nothing of the case may stay.
    assert sandbox.request("erase", "S001", person="young_person", on=dt.date(2026, 1, 26)).recorded
    assert sandbox.request("erase", "S001", on=dt.date(2026, 1, 26)).recorded
    found = sandbox.scan(["samina.khan@example.org"]).set_index("file")["found"]
    assert found[f"data/survey_org/holdings/{stale.name}"]  # the proof reads hidden files too
    sandbox.run()
    assert not stale.exists()
    assert not sandbox.scan(["S001", "samina.khan@example.org"])["found"].any()


def test_an_erasure_acts_for_the_person_who_asked_and_leaves_no_trace_of_them(sandbox):
    # S001: the young person (16 since 2025-03-14, asked at wave 3) decides about their own answers.
    child = ["Amira", "2009-03-14"]  # the young person's forename and date of birth
    household = ["S001", "samina.khan@example.org"]
    before = sandbox.scan(child + household).set_index("file")["found"]
    assert before["data/survey_org/holdings/contacts.parquet"] and before["data/linkage/incoming/survey_spine.parquet"]
    assert before["data/register/consent.sqlite"]

    # The young person leaves: their answers, identifiers and NPD record go; the parent's answers stay, unlinked.
    assert sandbox.request("erase", "S001", person="young_person", on=dt.date(2026, 1, 26)).recorded
    sandbox.run()
    # contacts + sample + parent_w1 + parent_w2 stay; register: 4 events; personal rows: the survey id + the parent's CE01, CE02
    assert sandbox.footprint("S001").tolist() == ["granted", "granted", "young person", "no", "yes", 4, 4, 3]
    status = sandbox.status().set_index("survey_id").loc["S001"]
    assert status["erased_part"] == "young_person" and status["may_analyse_parent_answers"] and not status["may_analyse_child_answers"]
    assert not sandbox.scan(child)["found"].any()
    assert sandbox.scan(household).set_index("file")["found"]["data/survey_org/holdings/contacts.parquet"]  # the parent's part stays

    # The parent leaves too: nobody's part is left, so the whole case goes.
    assert sandbox.request("erase", "S001", on=dt.date(2026, 1, 28)).recorded
    sandbox.run()
    assert sandbox.footprint("S001").tolist() == ["(erased)", "(erased)", "(erased)", "no", "no", 0, 5, 0]
    after = sandbox.scan(child + household)
    assert set(after["file"]) >= set(before.index)
    assert not after["found"].any(), after[after["found"]]

    log = sandbox.erasure_log()
    young = log[log["requested_on"] == "2026-01-26"].set_index("file")
    assert set(young["erased_part"]) == {"young_person"}
    # CE21's fieldwork reference, and the young person's two questionnaires (the files go with their own erasure)
    assert young["rows_removed"].astype(int).to_dict() == {
        "data/register/consent.sqlite": 1,
        "data/survey_org/holdings/young_person_w1.parquet": 1,
        "data/survey_org/holdings/young_person_w2.parquet": 1,
    }
    whole = log[log["requested_on"] == "2026-01-28"].set_index("file")
    assert set(whole["erased_part"]) == {"case"}
    assert whole["rows_removed"].astype(int).to_dict() == {
        "data/register/consent.sqlite": 3,
        "data/survey_org/consent_status.parquet": 1,
        **{f"data/survey_org/holdings/{name}.parquet": 1 for name in ("contacts", "sample", "parent_w1", "parent_w2")},
    }
    assert not log.apply(lambda col: col.astype(str).str.contains("S001|Khan|Amira")).any().any()

    again = sandbox.access("S001", on=dt.date(2026, 2, 1))
    assert not again.outcome.recorded and "was erased on 2026-01-28" in again.outcome.message
    assert again.markdown == "" and again._repr_markdown_().startswith("*refused")


def test_a_parents_erasure_while_deciding_for_the_child_takes_the_whole_case(sandbox):
    # S008: 16 on 2025-02-02 but never asked directly, so the parent still decides for the child.
    assert sandbox.request("erase", "S008", on=dt.date(2026, 1, 26)).recorded
    sandbox.run()
    assert sandbox.footprint("S008")["rows in the holdings"] == 0
    assert "S008" not in set(sandbox.status()["survey_id"])


def test_the_scan_finds_text_in_any_encoding_it_is_stored_in(sandbox):
    name = "julia.szymańska64@example.org"
    pd.DataFrame({"email": [name]}).to_parquet(sandbox.paths.survey_org / "extra.parquet", index=False)
    (sandbox.paths.survey_org / "extra.txt").write_text(f"contact {name}\n", encoding="utf-8")
    found = sandbox.scan([name]).set_index("file")["found"]
    assert found["data/survey_org/extra.parquet"] and found["data/survey_org/extra.txt"]
    assert not found["data/survey_org/consent_status.parquet"]


def test_an_access_request_gives_the_family_everything_held(sandbox):
    events_before = sandbox.footprint("S001")["register events"]
    copy = sandbox.access("S001", on=dt.date(2026, 1, 22))
    assert copy.outcome.recorded
    assert copy.file is not None and copy.file.read_text(encoding="utf-8") == copy.markdown
    for held in ("Amira", "Khan", "2009-03-14", "samina.khan@example.org", "the young person gave permission"):
        assert held in copy.markdown
    # the copy holds no linkage results (the source has some): linkage has not run there
    assert "linkage has not run" in copy.markdown
    assert sandbox.footprint("S001")["register events"] == events_before + 1
    shown = copy._repr_markdown_()
    assert shown.startswith("#### What the study holds") and "\n##### 1. Your details" in shown
    assert "S001" in str(copy)


def test_bad_requests_are_refused_and_change_nothing(sandbox):
    events = sandbox.footprint("S002")["register events"]
    future = sandbox.request("object", "S002", on=TODAY + dt.timedelta(days=1))
    assert not future.recorded and "in the future" in future.message
    unknown = sandbox.access("S999", on=TODAY)
    assert not unknown.outcome.recorded and "unknown survey id" in unknown.outcome.message
    assert not (sandbox.root / "outbox" / "access_S999.md").exists()
    assert sandbox.footprint("S002")["register events"] == events
    with pytest.raises(ValueError, match="Sandbox.access"):
        sandbox.request("access", "S002", on=TODAY)


def _set_key_file(root: Path, key_file: Path) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params["consent"]["key_file"] = str(key_file)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def test_key_from_a_key_file_is_found_where_the_project_finds_it(source, tmp_path, monkeypatch):
    key_file = tmp_path / "keys" / "register.key"  # outside the project, owner-only
    key_file.parent.mkdir()
    key_file.write_text(TEST_REGISTER_KEY + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    _set_key_file(source.root, key_file)
    monkeypatch.delenv("SENDLINK_TEST_REGISTER_KEY")
    with Sandbox(source, today=TODAY, parent=tmp_path) as box:
        assert box.key_source == "key file"
        assert not list(box.root.rglob("*.key"))  # no copy of the key in the sandbox
        assert "register: 0 event(s) added" in str(box.run())  # the copy recognises every event


def test_without_a_key_the_copy_of_the_generators_world_uses_the_demo_key_quietly(tmp_path, monkeypatch, caplog):
    root = write_project(tmp_path / "fresh", links=False)  # consent never applied: no register yet
    stamp_world(root / "data" / "synthetic")  # as the generator would have written it
    _set_key_file(root, tmp_path / "absent.key")
    monkeypatch.delenv("SENDLINK_TEST_REGISTER_KEY", raising=False)
    monkeypatch.setattr(sendlink_keys, "_warned", set())
    with caplog.at_level(logging.WARNING), Sandbox(Paths(root), today=TODAY, parent=tmp_path) as box:
        assert box.key_source == "demo key"
        result = box.run()
    assert result.cases == 8  # 9 known cases, S006 erased
    assert not [r for r in caplog.records if r.name == "sendlink.keys"]  # the copy says which key it uses; no repeat


def test_without_a_key_a_world_the_generator_did_not_write_is_refused(tmp_path, monkeypatch):
    root = write_project(tmp_path / "fresh", links=False)
    _set_key_file(root, tmp_path / "absent.key")
    monkeypatch.delenv("SENDLINK_TEST_REGISTER_KEY", raising=False)
    with pytest.raises(ParameterError, match="demo key is used only for the generator's own synthetic world"):
        Sandbox(Paths(root), today=TODAY, parent=tmp_path)

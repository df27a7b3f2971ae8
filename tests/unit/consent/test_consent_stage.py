"""The consent stage on the hand-written world: outputs, erasure, idempotence, atomicity."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from _consentdata import (
    ERASED,
    ERASED_IDENTIFIERS,
    EXPECTED,
    file_text,
    output_files,
    write_project,
)

from sendlink.consent import stage
from sendlink.consent.files import ConsentFiles
from sendlink.consent.register import Register, Transaction
from sendlink.errors import InputError
from sendlink.schema import catalogue, validate
from sendlink.schema.consent import CONSENT_STATUS, ERASURE_LOG
from sendlink.schema.spine import IDENTIFIER_COLUMNS, SURVEY_SPINE
from tests.conftest import TEST_REGISTER_KEY


def snapshot(root):
    """Every output's bytes; the -shm index and an empty write-ahead log (no data in either) left out."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in output_files(root)
        if not p.name.endswith("-shm") and not (p.name.endswith("-wal") and p.stat().st_size == 0)
    }


def test_status_is_as_worked_out_by_hand(project):
    stage.run(project)
    status = pd.read_parquet(ConsentFiles(project).status).set_index("survey_id")
    assert sorted(status.index) == sorted(EXPECTED)
    for sid, expected in EXPECTED.items():
        got = {k: status.loc[sid, k] for k in expected}
        assert got == expected, sid
    validate(status.reset_index(), CONSENT_STATUS, "status")
    assert not status["erased"].any()


def test_survey_spine_holds_identifiers_of_permitted_cases_only(project):
    stage.run(project)
    spine = pd.read_parquet(ConsentFiles(project).survey_spine)
    validate(spine, SURVEY_SPINE, "spine")
    assert list(spine["survey_id"]) == sorted(s for s, e in EXPECTED.items() if e["send_for_linkage"])
    assert list(spine.columns) == ["survey_id", *IDENTIFIER_COLUMNS]  # no answers, no contact details
    assert spine.set_index("survey_id").loc["S008", "surname"] == "Patel-Shah"  # rectified
    assert spine["middle_names"].isna().all()  # empty written as missing


def test_holdings_drop_the_erased_case_and_apply_rectifications(project):
    stage.run(project)
    files = ConsentFiles(project)
    contacts = pd.read_parquet(files.holding("contacts.parquet")).set_index("survey_id")
    assert ERASED not in contacts.index and len(contacts) == 7
    assert contacts.loc["S008", "surname"] == "Patel-Shah" and contacts.loc["S001", "surname"] == "Khan"
    assert contacts.loc["S007", "forename"] == "Noah"  # restricted: kept
    sample = pd.read_parquet(files.holding("sample.parquet"))
    assert ERASED not in set(sample["survey_id"]) and len(sample) == 8
    for name in (f.name for f in catalogue.ANSWERS):
        raw = pd.read_parquet(project.survey / name)
        held = pd.read_parquet(files.holding(name))
        assert ERASED not in set(held["survey_id"])
        assert len(held) == len(raw) - (raw["survey_id"] == ERASED).sum()


def test_erased_person_leaves_no_trace_in_any_output(project):
    stage.run(project)
    files = output_files(project.root)
    assert any(p.name == "consent.sqlite" for p in files)
    for path in files:
        text = file_text(path)
        for ident in ERASED_IDENTIFIERS:
            assert ident not in text, (path, ident)


def test_erasure_log_says_what_was_removed_without_personal_data(project):
    stage.run(project)
    log = pd.read_csv(ConsentFiles(project).erasure_log, dtype=str)
    validate(log.astype({"rows_removed": "int64"}), ERASURE_LOG, "log")
    assert set(log["requested_on"]) == {"2024-06-01"}
    removed = dict(zip(log["file"], log["rows_removed"].astype(int), strict=True))
    assert removed["data/survey_org/holdings/contacts.parquet"] == 1
    assert removed["data/survey_org/holdings/young_person_w2.parquet"] == 1
    assert removed["data/register/consent.sqlite"] == 3  # case reference + two fieldwork ids
    assert "data/survey_org/holdings/parent_w2.parquet" not in removed  # no row there


def test_running_twice_imports_nothing_new_and_writes_identical_files(project):
    first = stage.run(project)
    before = snapshot(project.root)
    second = stage.run(project)
    assert first.imported.added == 23 and second.imported.added == 0 and second.imported.already_present == 23
    after = snapshot(project.root)
    assert after == before


def test_regenerated_raw_files_do_not_bring_an_erased_case_back(project):
    stage.run(project)
    write_project(project.root)  # "make data" again: same files, erased case included
    stage.run(project)
    for path in output_files(project.root):
        assert ERASED not in file_text(path), path


def test_a_failing_stage_changes_no_file(project, monkeypatch):
    stage.run(project)
    before = snapshot(project.root)
    count = Register(ConsentFiles(project).register, bytes.fromhex(TEST_REGISTER_KEY)).count()
    # bad input: an answers file without survey_id
    path = project.survey / "parent_w2.parquet"
    pd.read_parquet(path).drop(columns="survey_id").to_parquet(path)
    with pytest.raises(InputError, match="parent_w2.parquet"):
        stage.run(project)
    assert snapshot(project.root) == before
    # a failure at the last step (the register import)
    write_project(project.root, events=[*__import__("_consentdata").EVENTS, ("CE99", "S002", "parent", "child_answers", "granted", "2023-05-02", "wave2", "web")])

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Transaction, "import_events", boom)
    with pytest.raises(RuntimeError):
        stage.run(project)
    assert snapshot(project.root) == before
    assert Register(ConsentFiles(project).register, bytes.fromhex(TEST_REGISTER_KEY)).count() == count


def test_unknown_survey_id_in_consent_events_is_named(project):
    write_project(project.root, events=[("CE01", "S404", "parent", "child_answers", "granted", "2022-06-10", "wave1", "web")])
    with pytest.raises(InputError, match=r"consent_events.csv, column 'survey_id'.*S404"):
        stage.run(project)


def test_malformed_rectification_in_fieldwork_requests_is_named(project):
    write_project(project.root, requests=[("RR01", "S001", "parent", "rectification", "2024-01-01", '{"postcode": "not a postcode"}')])
    with pytest.raises(InputError, match=r"rights_requests.csv, column 'details'.*postcode"):
        stage.run(project)


def test_as_of_changes_who_is_sent(project):
    stage.run(project, as_of=pd.Timestamp("2022-06-30").date())
    spine = pd.read_parquet(ConsentFiles(project).survey_spine)
    # mid-2022: S001, S004, S005, S007, S008 granted (S006 too, but erased later); S003 not yet
    # (granted 2023); S007's restriction of 2024 is later than as_of but stops processing, so
    # it is honoured (rule later-stop); S004's later withdrawal covers the child's answers only;
    # S005's young person refused at wave 3 (2025): later too, and it closes their NPD record
    assert list(spine["survey_id"]) == ["S001", "S004", "S008"]
    status = pd.read_parquet(ConsentFiles(project).status).set_index("survey_id")
    assert status.loc["S007", "later_request_applied"] and not status.loc["S007", "send_for_linkage"]
    assert status.loc["S004", "may_link_parent_answers"] and not status.loc["S004", "may_link_child_answers"]

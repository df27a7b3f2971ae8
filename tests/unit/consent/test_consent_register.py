"""The register: append-only, idempotent import, erasure, concurrency."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import sqlite3

import pytest

from sendlink.consent.register import NewEvent, Register
from sendlink.errors import InputError, ParameterError
from sendlink.schema import validate
from sendlink.schema.consent import REGISTER_EXPORT

KEY = b"register-test-key"


def consent(n, sid="S1", decision="granted", date="2022-06-10"):
    return NewEvent(
        survey_id=sid,
        person="parent",
        kind="consent",
        scope="child_answers",
        decision=decision,
        effective_date=date,
        contact="wave1",
        source="web",
        origin="fieldwork_consent",
        source_ref=f"CE{n:02d}",
        natural_key=f"consent_events:CE{n:02d}",
        recorded_at=date,
    )


def request(kind, sid="S1", date="2024-01-01", **extra):
    return NewEvent(survey_id=sid, person="parent", kind=kind, effective_date=date, contact="ad_hoc", source="letter", origin="cli", **extra)


def digest(path):
    """The register's bytes: the database and its write-ahead log (missing = empty).

    The ``-shm`` file is SQLite's shared-memory index, rebuilt by any
    connection, readers included; it holds no data.
    """
    wal = path.with_name(path.name + "-wal")
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        hashlib.sha256(wal.read_bytes() if wal.exists() else b"").hexdigest(),
    )


def test_reading_creates_nothing_and_changes_nothing(tmp_path):
    reg = Register(tmp_path / "r" / "consent.sqlite", KEY)
    assert reg.count() == 0 and len(reg.events()) == 0
    assert not (tmp_path / "r").exists()
    reg.append([consent(1)])
    before = digest(reg.path)
    reg.events(), reg.export(), reg.count(), reg.erased_case_keys()
    assert digest(reg.path) == before


def test_events_can_be_neither_updated_nor_deleted(tmp_path):
    reg = Register(tmp_path / "consent.sqlite", KEY)
    reg.append([consent(1), request("rectification", payload={"surname": "Khan"}, details={"fields": ["surname"]})])
    con = sqlite3.connect(reg.path)
    for sql in (
        "UPDATE events SET decision = 'refused'",
        "DELETE FROM events",
        "UPDATE cases SET survey_id = 'S2'",
        "DELETE FROM cases",
        "DELETE FROM event_payloads",
        "UPDATE event_payloads SET payload = '{}'",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="consent register"):
            con.execute(sql)
    con.close()
    assert reg.count() == 2


def test_the_log_holds_no_survey_id(tmp_path):
    reg = Register(tmp_path / "consent.sqlite", KEY)
    reg.append([consent(1, sid="S-VISIBLE")])
    con = sqlite3.connect(reg.path)
    rows = con.execute("SELECT * FROM events").fetchall()
    con.close()
    assert "S-VISIBLE" not in repr(rows)
    assert list(reg.events()["survey_id"]) == ["S-VISIBLE"]  # through the side table


def test_import_is_idempotent(tmp_path):
    reg = Register(tmp_path / "consent.sqlite", KEY)
    events = [consent(1), consent(2, sid="S2", decision="refused"), consent(3, sid="S3", decision="no_answer")]
    first = reg.import_events(events)
    second = reg.import_events(events)
    assert (first.added, first.already_present) == (3, 0)
    assert (second.added, second.already_present) == (0, 3)
    assert reg.count() == 3


def test_import_of_changed_content_is_refused_and_imports_nothing(tmp_path):
    reg = Register(tmp_path / "consent.sqlite", KEY)
    reg.import_events([consent(1)])
    with pytest.raises(InputError, match="already in the register with different decision"):
        reg.import_events([consent(2), consent(1, decision="refused")])
    assert reg.count() == 1  # consent(2) rolled back too


def test_a_different_key_is_refused(tmp_path):
    Register(tmp_path / "consent.sqlite", KEY).append([consent(1)])
    with pytest.raises(ParameterError, match="different key"):
        Register(tmp_path / "consent.sqlite", b"another key").events()


def test_erasure_deletes_personal_data_and_keeps_honouring_it(tmp_path):
    reg = Register(tmp_path / "consent.sqlite", KEY)
    reg.import_events([consent(1, sid="S-ERASE-ME"), consent(2, sid="S-KEEP")])
    reg.append([request("rectification", sid="S-ERASE-ME", payload={"surname": "Quigglesworth"}, details={"fields": ["surname"]})])
    reg.append([request("erasure", sid="S-ERASE-ME", date="2024-06-01")])
    events = reg.events()
    assert events["survey_id"].isna().sum() == 3 and (events["survey_id"] == "S-KEEP").sum() == 1
    assert events.loc[events["kind"] == "erasure", "details"].iloc[0] == {"register_rows_removed": 3}  # case + 2 payloads
    for name, text in ((p.name, p.read_bytes()) for p in tmp_path.iterdir()):
        assert b"S-ERASE-ME" not in text and b"Quigglesworth" not in text and b"CE01" not in text, name
    # regenerated raw files: importing the erased case's events again stores no personal data
    assert reg.import_events([consent(1, sid="S-ERASE-ME"), consent(5, sid="S-ERASE-ME", date="2025-10-01")]).added == 1
    assert reg.events()["survey_id"].isna().sum() == 4
    assert reg.case_key("S-ERASE-ME") in reg.erased_case_keys()
    con = sqlite3.connect(reg.path)
    with pytest.raises(sqlite3.DatabaseError, match="erased"):
        con.execute("INSERT INTO cases VALUES (?, 'S-ERASE-ME')", (reg.case_key("S-ERASE-ME"),))
    con.close()


def test_export_matches_its_contract(tmp_path):
    reg = Register(tmp_path / "consent.sqlite", KEY)
    reg.import_events([consent(1)])
    reg.append([request("restriction"), request("erasure", sid="S2")])
    export = validate(reg.export(), REGISTER_EXPORT, "export")
    assert list(export["seq"]) == [1, 2, 3]
    assert list(export["recorded_at"])[0] == "2022-06-10"  # imported: its own date, deterministic
    assert export["recorded_at"].iloc[1].endswith("Z")  # recorded through the CLI: UTC time


def _append_many(args):
    path, worker, n = args
    reg = Register(path, KEY)
    for _ in range(n):
        reg.append([request("access", sid=f"W{worker}", date="2024-01-01")])
    return n


def _import_same(args):
    path, n = args
    return Register(path, KEY).import_events([consent(i, sid=f"S{i}") for i in range(n)]).added


def test_concurrent_appends_lose_no_events(tmp_path):
    path = tmp_path / "consent.sqlite"
    workers, per_worker = 6, 25
    with mp.get_context("fork").Pool(workers) as pool:
        done = pool.map(_append_many, [(path, w, per_worker) for w in range(workers)])
    assert sum(done) == workers * per_worker
    events = Register(path, KEY).events()
    assert len(events) == workers * per_worker
    assert events["seq"].is_unique
    assert events.groupby("survey_id").size().to_dict() == {f"W{w}": per_worker for w in range(workers)}


def test_concurrent_imports_of_the_same_events_add_them_once(tmp_path):
    path = tmp_path / "consent.sqlite"
    with mp.get_context("fork").Pool(4) as pool:
        added = pool.map(_import_same, [(path, 40)] * 4)
    assert sum(added) == 40
    assert Register(path, KEY).count() == 40

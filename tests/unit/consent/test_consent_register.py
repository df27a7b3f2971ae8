"""The register: append-only, idempotent import, erasure, concurrency, tamper evidence, creation and migration."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import sqlite3

import pytest

from sendlink.consent.register import NewEvent, Register
from sendlink.errors import InputError, ParameterError, RegisterError
from sendlink.schema import validate
from sendlink.schema.consent import REGISTER_EXPORT

KEY = b"register-test-key-of-at-least-32-bytes!"


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
        Register(tmp_path / "consent.sqlite", b"another key, also of at least 32 bytes").events()


def test_erasure_deletes_personal_data_and_keeps_honouring_it(tmp_path):
    reg = Register(tmp_path / "consent.sqlite", KEY)
    reg.import_events([consent(1, sid="S-ERASE-ME"), consent(2, sid="S-KEEP")])
    reg.append([request("rectification", sid="S-ERASE-ME", payload={"surname": "Quigglesworth"}, details={"fields": ["surname"]})])
    reg.append([request("erasure", sid="S-ERASE-ME", date="2024-06-01", details={"erases": "case"})])
    events = reg.events()
    assert events["survey_id"].isna().sum() == 3 and (events["survey_id"] == "S-KEEP").sum() == 1
    assert events.loc[events["kind"] == "erasure", "details"].iloc[0] == {"erases": "case", "register_rows_removed": 3}  # case + 2 payloads
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
    reg.append([request("restriction"), request("erasure", sid="S2", details={"erases": "case"})])
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


# --- part erasures -------------------------------------------------------------------------


def test_a_part_erasure_keeps_the_case_and_deletes_only_that_persons_details(tmp_path):
    reg = Register(tmp_path / "consent.sqlite", KEY)
    reg.import_events([consent(1, sid="S1")])  # the parent's fieldwork event (source_ref CE01)
    reg.append([
        request("rectification", sid="S1", payload={"surname": "Quigglesworth"}, details={"fields": ["surname"]}),  # the child's surname
        request("rectification", sid="S1", payload={"email": "p@example.org"}, details={"fields": ["email"]}),     # the parent's email
    ])
    reg.append([NewEvent(survey_id="S1", person="young_person", kind="erasure", effective_date="2025-10-01", contact="ad_hoc",
                         source="letter", origin="cli", details={"erases": "young_person"})])
    events = reg.events()
    assert set(events["survey_id"]) == {"S1"}  # the parent's part still needs the survey id
    assert events.loc[events["kind"] == "erasure", "details"].iloc[0]["register_rows_removed"] == 1
    payloads = events["payload"].dropna().tolist()
    assert payloads == [{"email": "p@example.org"}]  # the child's corrected surname is gone, the parent's email stays
    assert b"Quigglesworth" not in reg.path.read_bytes()
    assert reg.erased_parts() == {reg.case_key("S1"): {"young_person"}} and reg.erased_case_keys() == set()


# --- tamper evidence (issue 15 item 6) -----------------------------------------------------


def _tampered(path, *sql):
    con = sqlite3.connect(path)
    for statement in sql:
        con.execute(statement)
    con.commit()
    con.close()


def _register_with_events(tmp_path, n=5):
    reg = Register(tmp_path / "consent.sqlite", KEY)
    reg.import_events([consent(i, sid=f"S{i}", decision="refused") for i in range(1, n + 1)])
    return reg


def _every_read_stops(reg, match):
    for read in (reg.events, reg.count, reg.export, reg.erased_case_keys, reg.verify):
        with pytest.raises(RegisterError, match=match):
            read()
    with pytest.raises(RegisterError, match=match):
        reg.append([request("access")])


def test_a_forged_event_inserted_with_sqlite_stops_every_command(tmp_path):
    reg = _register_with_events(tmp_path)
    row = sqlite3.connect(reg.path).execute("SELECT digest FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    _tampered(reg.path, "INSERT INTO events (event_key, case_key, person, kind, scope, decision, effective_date, contact, source, origin, "
              f"details, recorded_at, digest) VALUES ('forged', '{reg.case_key('S1')}', 'parent', 'consent', 'child_answers', 'granted', "
              f"'2024-01-01', 'ad_hoc', 'letter', 'cli', '{{}}', '2024-01-01', '{row[0]}')")
    _every_read_stops(reg, r"changed outside sendlink: the chain breaks.*at event 6 \(ref forged")


def test_dropping_the_trigger_and_deleting_an_event_is_caught(tmp_path):
    reg = _register_with_events(tmp_path)
    _tampered(reg.path, "DROP TRIGGER events_never_deleted", "DELETE FROM events WHERE seq = 3")
    _every_read_stops(reg, r"at event 4 ")  # the event after the gap no longer follows its predecessor


def test_deleting_the_last_events_is_caught(tmp_path):
    reg = _register_with_events(tmp_path)
    _tampered(reg.path, "DROP TRIGGER events_never_deleted", "DELETE FROM events WHERE seq >= 4")
    _every_read_stops(reg, r"2 event\(s\) were deleted")


def test_an_updated_event_a_swapped_survey_id_and_a_changed_payload_are_caught(tmp_path):
    reg = _register_with_events(tmp_path)
    _tampered(reg.path, "DROP TRIGGER events_never_updated", "UPDATE events SET decision = 'granted' WHERE seq = 2")
    _every_read_stops(reg, r"at event 2 ")

    reg = _register_with_events(tmp_path / "b")
    _tampered(reg.path, "DROP TRIGGER cases_never_updated", "UPDATE cases SET survey_id = 'S99' WHERE survey_id = 'S1'")
    _every_read_stops(reg, "a survey id was changed or forged")

    reg = _register_with_events(tmp_path / "c")
    _tampered(reg.path, "DROP TRIGGER payloads_never_updated", "UPDATE event_payloads SET source_ref = 'CE99'")
    _every_read_stops(reg, "personal details were changed or forged")

    reg = _register_with_events(tmp_path / "d")
    _tampered(reg.path, "UPDATE meta SET value = '3' WHERE name = 'chain_length'")
    _every_read_stops(reg, "length and last digest was changed")


def test_the_triggers_stay_as_a_first_line(tmp_path):
    reg = _register_with_events(tmp_path)
    con = sqlite3.connect(reg.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM events WHERE seq = 1")
    con.close()
    assert reg.verify() == (5, sqlite3.connect(reg.path).execute("SELECT digest FROM events WHERE seq = 5").fetchone()[0])


# --- creation: half-created registers (issue 15 item 2) ---------------------------------------


def _half_created(path):
    """What a kill -9 during the first import left with the earlier code: a SQLite file in WAL mode, no tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    assert path.stat().st_size > 0


def test_a_half_created_register_reads_as_empty_and_the_next_write_replaces_it(tmp_path, caplog):
    path = tmp_path / "consent.sqlite"
    _half_created(path)
    reg = Register(path, KEY)
    assert reg.count() == 0 and len(reg.events()) == 0
    assert "half-created" in caplog.text
    assert reg.import_events([consent(1)]).added == 1
    assert reg.verify()[0] == 1


def test_a_register_that_is_not_a_database_or_has_rows_without_meta_says_what_to_do(tmp_path):
    path = tmp_path / "consent.sqlite"
    path.write_bytes(b"this is not sqlite" * 300)
    with pytest.raises(RegisterError, match="not a readable SQLite database.*Move it aside"):
        Register(path, KEY).events()
    path.unlink()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE events (x)")
    con.execute("INSERT INTO events VALUES (1)")
    con.commit()
    con.close()
    with pytest.raises(RegisterError, match="damaged"):
        Register(path, KEY).append([consent(1)])


# --- migration from schema 1 -----------------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_key TEXT NOT NULL UNIQUE, case_key TEXT NOT NULL,
    person TEXT NOT NULL, kind TEXT NOT NULL, scope TEXT, decision TEXT, effective_date TEXT NOT NULL, contact TEXT NOT NULL,
    source TEXT NOT NULL, origin TEXT NOT NULL, details TEXT NOT NULL DEFAULT '{}', recorded_at TEXT NOT NULL);
CREATE TABLE cases (case_key TEXT PRIMARY KEY, survey_id TEXT NOT NULL UNIQUE) WITHOUT ROWID;
CREATE TABLE event_payloads (event_key TEXT PRIMARY KEY, case_key TEXT NOT NULL, source_ref TEXT, payload TEXT) WITHOUT ROWID;
"""


def _v1_register(path, key=KEY):
    """A register as schema 1 wrote it, holding the unreadable date issue 14 found (2023-02-30) and an erasure."""
    from sendlink.consent import keys

    con = sqlite3.connect(path)
    con.executescript(V1_SCHEMA)
    con.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "1"), ("key_fingerprint", keys.fingerprint(key)), ("created_at", "2025-01-01T00:00:00Z")])
    ck = lambda sid: keys.case_key(key, sid)  # noqa: E731
    ek = lambda nk: keys.keyed_hash(key, "event", nk)  # noqa: E731
    rows = [
        (ek("consent_events:CE01"), ck("S1"), "parent", "consent", "child_answers", "granted", "2022-06-10", "wave1", "web", "fieldwork_consent", "{}", "2022-06-10"),
        (ek("consent_events:CE02"), ck("S2"), "parent", "consent", "child_answers", "refused", "2023-02-30", "wave2", "web", "fieldwork_consent", "{}", "2023-02-30"),
        ("cli1", ck("S1"), "parent", "restriction", None, None, "2024-01-05", "ad_hoc", "letter", "cli", "{}", "2024-01-05T10:00:00Z"),
        ("cli2", ck("S3"), "parent", "erasure", None, None, "2024-02-01", "ad_hoc", "letter", "cli", '{"register_rows_removed":1}', "2024-02-01T10:00:00Z"),
    ]
    con.executemany("INSERT INTO events (event_key, case_key, person, kind, scope, decision, effective_date, contact, source, origin, details, recorded_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.executemany("INSERT INTO cases VALUES (?, ?)", [(ck("S1"), "S1"), (ck("S2"), "S2")])
    con.executemany("INSERT INTO event_payloads VALUES (?, ?, ?, NULL)", [(ek("consent_events:CE01"), ck("S1"), "CE01"), (ek("consent_events:CE02"), ck("S2"), "CE02")])
    con.commit()
    con.close()


def test_a_schema_1_register_is_refused_with_the_command_that_migrates_it(tmp_path):
    path = tmp_path / "consent.sqlite"
    _v1_register(path)
    with pytest.raises(RegisterError, match="schema 1.*`sendlink consent migrate`"):
        Register(path, KEY).events()
    with pytest.raises(RegisterError, match="sendlink consent migrate"):
        Register(path, KEY).append([consent(9)])


def test_migration_chains_every_readable_event_and_names_the_unreadable_one(tmp_path):
    path = tmp_path / "consent.sqlite"
    _v1_register(path)
    result = Register(path, KEY).migrate(archive=tmp_path / "archive")
    assert result.events == 3 and len(result.dropped) == 1
    assert "fieldwork id CE02" in result.dropped[0] and "'2023-02-30'" in result.dropped[0]
    reg = Register(path, KEY)
    assert reg.verify()[0] == 3
    events = reg.events()
    assert list(events["seq"]) == [1, 3, 4]  # append order kept
    assert events.loc[events["kind"] == "erasure", "details"].iloc[0]["erases"] == "case"
    assert reg.erased_case_keys() == {reg.case_key("S3")}
    assert (tmp_path / "archive" / "consent.sqlite").is_file()
    # the corrected event can be imported again
    assert reg.import_events([consent(2, sid="S2", decision="refused", date="2023-02-28")]).added == 1
    assert reg.verify()[0] == 4

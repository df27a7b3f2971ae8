"""The consent register: an append-only, durable event log in SQLite.

Why SQLite (the standard library's): transactions, a busy timeout that makes
concurrent appends wait instead of failing or losing writes, and one file.

Schema (:data:`SCHEMA`, version :data:`SCHEMA_VERSION`)
--------------------------------------------------------
``events``
    The log. One row per consent decision or rights request, never updated
    or deleted (triggers refuse both). It holds **no personal data**: the
    case is a keyed hash (``case_key``, see :mod:`sendlink.consent.keys`),
    and imported events are keyed by a keyed hash of their fieldwork id
    (``event_key``, the natural key that makes import idempotent).
    ``seq`` is the append order, used to order events of one date.
``cases``
    ``case_key`` -> ``survey_id``: the one place the log meets a survey id.
``event_payloads``
    Per event, the personal part: the fieldwork id it came from
    (``source_ref``) and, for a rectification, the corrected identifiers
    (``payload``, JSON).
``meta``
    Schema version and the fingerprint of the key the register was made with.

The two side tables can never be updated, and rows can be deleted from them
only for a case with an erasure in the log; they refuse new rows for such a
case. An erasure deletes both in the transaction that records it
(``secure_delete`` overwrites the freed pages, and the write-ahead log is
truncated after the commit), so the register keeps only what it needs to
keep honouring the erasure: the case's keyed hash and the non-personal
events.

Durability: write-ahead logging, ``synchronous=FULL``; every write is one
``BEGIN IMMEDIATE`` transaction (writers queue behind each other for up to
the busy timeout), and requests are validated inside that transaction, so
two concurrent requests cannot both pass a check that only one should.

Timestamps: ``recorded_at`` is the event's own date for imported fieldwork
events (a register rebuilt from the same files is identical) and the UTC
time for events recorded through the command line. State is never derived
from it: replay uses ``effective_date`` and ``seq`` (see ``rules``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sendlink.consent import keys
from sendlink.errors import InputError, ParameterError
from sendlink.io import private_file
from sendlink.schema.consent import (
    CONTACTS,
    DECISIONS,
    EVENT_KINDS,
    PERSONS,
    REGISTER_ORIGINS,
    REGISTER_SOURCES,
    SCOPES,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"

#: Seconds a writer waits for another writer before giving up.
BUSY_TIMEOUT = 60.0


def _codes(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,  -- append order
    event_key      TEXT NOT NULL UNIQUE,               -- natural key (keyed hash) or random
    case_key       TEXT NOT NULL,                      -- keyed hash of survey_id
    person         TEXT NOT NULL CHECK (person IN ({_codes(PERSONS)})),
    kind           TEXT NOT NULL CHECK (kind IN ({_codes(EVENT_KINDS)})),
    scope          TEXT CHECK (scope IN ({_codes(SCOPES)})),
    decision       TEXT CHECK (decision IN ({_codes(DECISIONS)})),
    effective_date TEXT NOT NULL CHECK (effective_date GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
    contact        TEXT NOT NULL CHECK (contact IN ({_codes(CONTACTS)})),
    source         TEXT NOT NULL CHECK (source IN ({_codes(REGISTER_SOURCES)})),
    origin         TEXT NOT NULL CHECK (origin IN ({_codes(REGISTER_ORIGINS)})),
    details        TEXT NOT NULL DEFAULT '{{}}',        -- non-personal JSON
    recorded_at    TEXT NOT NULL,
    CHECK ((kind = 'consent') = (scope IS NOT NULL)),
    CHECK ((kind = 'consent') = (decision IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS events_by_case ON events (case_key);

CREATE TRIGGER IF NOT EXISTS events_never_updated BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'consent register is append-only: events cannot be updated'); END;
CREATE TRIGGER IF NOT EXISTS events_never_deleted BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'consent register is append-only: events cannot be deleted'); END;

CREATE TABLE IF NOT EXISTS cases (
    case_key  TEXT PRIMARY KEY,
    survey_id TEXT NOT NULL UNIQUE
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS event_payloads (
    event_key  TEXT PRIMARY KEY REFERENCES events (event_key),
    case_key   TEXT NOT NULL,
    source_ref TEXT,          -- the fieldwork event_id or request_id
    payload    TEXT           -- JSON: corrected identifiers of a rectification
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS payloads_by_case ON event_payloads (case_key);

CREATE TRIGGER IF NOT EXISTS cases_never_updated BEFORE UPDATE ON cases
BEGIN SELECT RAISE(ABORT, 'consent register: case references cannot be updated'); END;
CREATE TRIGGER IF NOT EXISTS payloads_never_updated BEFORE UPDATE ON event_payloads
BEGIN SELECT RAISE(ABORT, 'consent register: event payloads cannot be updated'); END;
CREATE TRIGGER IF NOT EXISTS cases_deleted_only_when_erased BEFORE DELETE ON cases
WHEN NOT EXISTS (SELECT 1 FROM events WHERE case_key = OLD.case_key AND kind = 'erasure')
BEGIN SELECT RAISE(ABORT, 'consent register: personal data are deleted only by an erasure'); END;
CREATE TRIGGER IF NOT EXISTS payloads_deleted_only_when_erased BEFORE DELETE ON event_payloads
WHEN NOT EXISTS (SELECT 1 FROM events WHERE case_key = OLD.case_key AND kind = 'erasure')
BEGIN SELECT RAISE(ABORT, 'consent register: personal data are deleted only by an erasure'); END;
CREATE TRIGGER IF NOT EXISTS cases_not_stored_when_erased BEFORE INSERT ON cases
WHEN EXISTS (SELECT 1 FROM events WHERE case_key = NEW.case_key AND kind = 'erasure')
BEGIN SELECT RAISE(ABORT, 'consent register: the case was erased; its personal data are not stored again'); END;
CREATE TRIGGER IF NOT EXISTS payloads_not_stored_when_erased BEFORE INSERT ON event_payloads
WHEN EXISTS (SELECT 1 FROM events WHERE case_key = NEW.case_key AND kind = 'erasure')
BEGIN SELECT RAISE(ABORT, 'consent register: the case was erased; its personal data are not stored again'); END;
"""

#: Columns of :meth:`Register.events` (the frame the rules replay).
EVENT_FRAME_COLUMNS = [
    "seq",
    "event_key",
    "case_key",
    "survey_id",
    "person",
    "kind",
    "scope",
    "decision",
    "effective_date",
    "contact",
    "source",
    "origin",
    "details",
    "recorded_at",
    "source_ref",
    "payload",
]

#: Fields compared when an imported event meets its natural key again.
_COMPARED = ("case_key", "person", "kind", "scope", "decision", "effective_date", "contact", "source", "origin", "details")


@dataclass(frozen=True)
class NewEvent:
    """An event to append.

    Parameters
    ----------
    natural_key
        A stable identifier from outside (``"consent_events:E000123"``):
        appending it again adds nothing. ``None`` for an event recorded
        through the command line (a random key).
    details
        Non-personal facts, stored in the log (e.g. the names of the fields
        a rectification corrects).
    payload
        Personal facts (the corrected values), stored in the side table an
        erasure empties.
    """

    survey_id: str
    person: str
    kind: str
    effective_date: str
    contact: str
    source: str
    origin: str
    scope: str | None = None
    decision: str | None = None
    details: dict = field(default_factory=dict)
    payload: dict | None = None
    source_ref: str | None = None
    natural_key: str | None = None
    recorded_at: str | None = None

    def row(self, *, seq: int, event_key: str, case_key: str, recorded_at: str, details: dict | None = None) -> dict[str, object]:
        """The event as :meth:`Register.events` lists it: one row of :data:`EVENT_FRAME_COLUMNS`.

        The one place an event becomes a record: :meth:`Transaction.append`
        stores it, and the consent stage replays events not yet imported in
        this form.
        """
        return {
            "seq": seq, "event_key": event_key, "case_key": case_key, "survey_id": self.survey_id,
            "person": self.person, "kind": self.kind, "scope": self.scope, "decision": self.decision,
            "effective_date": self.effective_date, "contact": self.contact, "source": self.source,
            "origin": self.origin, "details": dict(self.details if details is None else details),
            "recorded_at": recorded_at, "source_ref": self.source_ref, "payload": self.payload,
        }


#: Columns of the ``events`` table, in insertion order (the rest of a row lives in ``cases`` and ``event_payloads``).
_STORED = ("event_key", "case_key", "person", "kind", "scope", "decision", "effective_date", "contact", "source", "origin",
           "details", "recorded_at")


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    added: int
    already_present: int
    cases_erased: int  # cases whose personal data were deleted by this import

    def __str__(self) -> str:
        return (
            f"{self.added} event(s) added, {self.already_present} already in the register"
            + (f", {self.cases_erased} case(s) erased" if self.cases_erased else "")
        )


def _dumps(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Register:
    """The consent register at ``path``, hashed with ``key``.

    Reading never creates or changes the file; the first write creates it.
    """

    def __init__(self, path: str | Path, key: bytes, *, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.key = key
        self.timeout = timeout

    # --- keys ---------------------------------------------------------------
    def case_key(self, survey_id: str) -> str:
        return keys.case_key(self.key, survey_id)

    def event_key(self, natural_key: str) -> str:
        return keys.keyed_hash(self.key, "event", natural_key)

    # --- connections --------------------------------------------------------
    def _configure(self, con: sqlite3.Connection, *, writable: bool) -> None:
        con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        if writable:
            self._use_wal(con)
            con.execute("PRAGMA synchronous = FULL")
            con.execute("PRAGMA secure_delete = ON")
            con.execute("PRAGMA foreign_keys = ON")

    def _use_wal(self, con: sqlite3.Connection) -> None:
        """Put the file in write-ahead-log mode (persistent: done once per file).

        Switching to WAL needs an exclusive lock, and SQLite may answer
        "database is locked" at once instead of waiting in the busy handler
        (seen with four processes creating the register together). So the
        mode is read first and the switch retried, with backoff, until the
        busy timeout.
        """
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    con.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(2 * delay, 0.25)

    def _check_meta(self, con: sqlite3.Connection) -> None:
        rows = dict(con.execute("SELECT name, value FROM meta").fetchall())
        if rows.get("schema_version") != SCHEMA_VERSION:
            raise ParameterError(
                f"{self.path}: register schema version {rows.get('schema_version')!r}, this code needs {SCHEMA_VERSION!r}"
            )
        if rows.get("key_fingerprint") != keys.fingerprint(self.key):
            raise ParameterError(
                f"{self.path}: the register was created with a different key; with this key it would not "
                "recognise erased cases. Use the original key (see sendlink.consent.keys)."
            )

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection | None]:
        # An empty file is a register whose first write has not happened yet
        # (transaction() creates the file owner-only before SQLite writes it).
        if not self.path.is_file() or self.path.stat().st_size == 0:
            yield None
            return
        # Read-only: never creates, checkpoints or otherwise changes the file.
        con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=self.timeout, isolation_level=None)
        try:
            self._configure(con, writable=False)
            self._check_meta(con)
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction (``BEGIN IMMEDIATE``): all of it or nothing.

        Validate requests inside it, with the transaction's read methods, so
        no other writer can change the register between check and append.
        """
        private_file(self.path, "-wal", "-shm", "-journal")  # holds consent and, until erased, survey ids: owner-only
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        tx = Transaction(self, con)
        try:
            self._configure(con, writable=True)
            con.execute("BEGIN IMMEDIATE")
            self._create(con)
            try:
                yield tx
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            # Move the pages into the main file and empty the write-ahead log:
            # the register is then one self-contained file, and no copy of
            # erased data (overwritten by secure_delete) stays in the log. If
            # another connection is reading, the checkpoint is partial and the
            # next write completes it.
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            con.close()

    def _create(self, con: sqlite3.Connection) -> None:
        exists = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        if not exists:
            for statement in _statements(SCHEMA):
                con.execute(statement)
            con.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?)",
                [("schema_version", SCHEMA_VERSION), ("key_fingerprint", keys.fingerprint(self.key)), ("created_at", utc_now())],
            )
            log.info("created the consent register %s", self.path)
        self._check_meta(con)

    # --- reading ------------------------------------------------------------
    def events(self) -> pd.DataFrame:
        """Every event in append order, with ``survey_id`` (empty once erased).

        Columns :data:`EVENT_FRAME_COLUMNS`; ``details`` and ``payload`` are
        parsed JSON (``payload`` ``None`` when there is none).
        """
        with self._reader() as con:
            return _read_events(con)

    def erased_case_keys(self) -> set[str]:
        with self._reader() as con:
            if con is None:
                return set()
            return {r[0] for r in con.execute("SELECT DISTINCT case_key FROM events WHERE kind = 'erasure'")}

    def count(self) -> int:
        with self._reader() as con:
            return 0 if con is None else con.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def export(self) -> pd.DataFrame:
        """The log for the notebooks (:data:`sendlink.schema.consent.REGISTER_EXPORT`)."""
        events = self.events()
        out = pd.DataFrame(
            {
                "seq": events["seq"].astype("int64"),
                "event_ref": events["event_key"].str[:12],
                "survey_id": events["survey_id"],
                "person": events["person"],
                "kind": events["kind"],
                "scope": events["scope"],
                "decision": events["decision"],
                "effective_date": events["effective_date"],
                "contact": events["contact"],
                "source": events["source"],
                "origin": events["origin"],
                "details": events["details"].map(_dumps),
                "recorded_at": events["recorded_at"],
            }
        )
        return out.reset_index(drop=True)

    # --- writing ------------------------------------------------------------
    def append(self, events: Sequence[NewEvent]) -> list[int]:
        """Append ``events`` in one transaction; return their ``seq``."""
        with self.transaction() as tx:
            return [tx.append(e) for e in events]

    def import_events(self, events: Sequence[NewEvent], *, source: str | Path = "import") -> ImportResult:
        """Append events that have a natural key, skipping those already present.

        Importing the same events twice adds nothing. An event whose natural
        key is present with *different* content means the source files were
        regenerated differently; that raises :class:`InputError` and nothing
        is imported.
        """
        with self.transaction() as tx:
            return tx.import_events(events, source=source)


class Transaction:
    """Reads and appends inside one :meth:`Register.transaction`."""

    def __init__(self, register: Register, con: sqlite3.Connection) -> None:
        self.register = register
        self.con = con
        self.erased: set[str] = set()

    def events(self) -> pd.DataFrame:
        return _read_events(self.con)

    def is_erased(self, case_key: str) -> bool:
        return self.con.execute("SELECT 1 FROM events WHERE case_key = ? AND kind = 'erasure' LIMIT 1", (case_key,)).fetchone() is not None

    def append(self, event: NewEvent) -> int:
        reg = self.register
        case_key = reg.case_key(event.survey_id)
        event_key = reg.event_key(event.natural_key) if event.natural_key else uuid.uuid4().hex
        recorded_at = event.recorded_at or utc_now()
        erased_before = self.is_erased(case_key)
        details = dict(event.details)
        if event.kind == "erasure" and not erased_before:
            removed = self._count_personal(case_key)
            details["register_rows_removed"] = removed
        record = event.row(seq=0, event_key=event_key, case_key=case_key, recorded_at=recorded_at, details=details)
        cur = self.con.execute(
            f"INSERT INTO events ({', '.join(_STORED)}) VALUES ({', '.join('?' * len(_STORED))})",
            tuple(_dumps(record[c]) if c == "details" else record[c] for c in _STORED),
        )
        seq = int(cur.lastrowid)
        if event.kind == "erasure":
            self._shred(case_key)
        elif not erased_before:
            self.con.execute("INSERT OR IGNORE INTO cases (case_key, survey_id) VALUES (?, ?)", (case_key, str(event.survey_id)))
            if event.source_ref is not None or event.payload is not None:
                self.con.execute(
                    "INSERT INTO event_payloads (event_key, case_key, source_ref, payload) VALUES (?, ?, ?, ?)",
                    (event_key, case_key, event.source_ref, None if event.payload is None else _dumps(event.payload)),
                )
        return seq

    def _count_personal(self, case_key: str) -> int:
        n_cases = self.con.execute("SELECT COUNT(*) FROM cases WHERE case_key = ?", (case_key,)).fetchone()[0]
        n_payloads = self.con.execute("SELECT COUNT(*) FROM event_payloads WHERE case_key = ?", (case_key,)).fetchone()[0]
        return int(n_cases + n_payloads)

    def _shred(self, case_key: str) -> None:
        self.con.execute("DELETE FROM event_payloads WHERE case_key = ?", (case_key,))
        self.con.execute("DELETE FROM cases WHERE case_key = ?", (case_key,))
        self.erased.add(case_key)

    def import_events(self, events: Sequence[NewEvent], *, source: str | Path = "import") -> ImportResult:
        reg = self.register
        added = present = 0
        erased_now: set[str] = set()
        for event in events:
            if not event.natural_key:
                raise ValueError("imported events need a natural key")
            event_key = reg.event_key(event.natural_key)
            row = self.con.execute(
                f"SELECT {', '.join(_COMPARED)} FROM events WHERE event_key = ?", (event_key,)
            ).fetchone()
            if row is not None:
                stored = dict(zip(_COMPARED, row, strict=True))
                incoming = {
                    "case_key": reg.case_key(event.survey_id),
                    "person": event.person,
                    "kind": event.kind,
                    "scope": event.scope,
                    "decision": event.decision,
                    "effective_date": event.effective_date,
                    "contact": event.contact,
                    "source": event.source,
                    "origin": event.origin,
                    "details": _dumps(event.details),
                }
                if event.kind == "erasure":
                    stored["details"] = _dumps({k: v for k, v in json.loads(stored["details"]).items() if k != "register_rows_removed"})
                diff = [k for k in _COMPARED if stored[k] != incoming[k]]
                if diff:
                    raise InputError(
                        source,
                        f"event {event.source_ref or event.natural_key!r} is already in the register with different "
                        f"{', '.join(diff)}: the source files were regenerated with different parameters. "
                        f"Start a new register (move {reg.path} aside) or restore the original files; nothing was imported",
                    )
                present += 1
                continue
            was_erased = event.kind == "erasure" and not self.is_erased(reg.case_key(event.survey_id))
            self.append(event)
            if was_erased:
                erased_now.add(reg.case_key(event.survey_id))
            added += 1
        return ImportResult(added=added, already_present=present, cases_erased=len(erased_now))


def _statements(script: str) -> list[str]:
    """Split the schema script into statements (triggers contain ';')."""
    out, buf = [], []
    for line in script.splitlines():
        if not line.strip():
            continue
        buf.append(line)
        text = "\n".join(buf)
        if sqlite3.complete_statement(text):
            out.append(text)
            buf = []
    return out


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "seq" else object) for c in EVENT_FRAME_COLUMNS})


def _read_events(con: sqlite3.Connection | None) -> pd.DataFrame:
    if con is None:
        return _empty_events()
    rows = con.execute(
        "SELECT e.seq, e.event_key, e.case_key, c.survey_id, e.person, e.kind, e.scope, e.decision, "
        "e.effective_date, e.contact, e.source, e.origin, e.details, e.recorded_at, p.source_ref, p.payload "
        "FROM events e LEFT JOIN cases c ON c.case_key = e.case_key "
        "LEFT JOIN event_payloads p ON p.event_key = e.event_key ORDER BY e.seq"
    ).fetchall()
    if not rows:
        return _empty_events()
    frame = pd.DataFrame.from_records(rows, columns=EVENT_FRAME_COLUMNS)
    frame["seq"] = frame["seq"].astype("int64")
    frame["details"] = frame["details"].map(json.loads)
    frame["payload"] = frame["payload"].map(lambda s: None if s is None else json.loads(s))
    for c in EVENT_FRAME_COLUMNS:
        if c != "seq":
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame

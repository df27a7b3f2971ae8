"""The consent register: an append-only, durable, tamper-evident event log in SQLite.

Why SQLite (the standard library's): transactions, a busy timeout that makes
concurrent appends wait instead of failing or losing writes, and one file.

Schema (:data:`SCHEMA`, version :data:`SCHEMA_VERSION`)
--------------------------------------------------------
``events``
    The log. One row per consent decision, rights request or decision on a
    request, never updated or deleted (triggers refuse both). It holds **no
    personal data**: the case is a keyed hash (``case_key``, see
    :mod:`sendlink.consent.keys`), and imported events are keyed by a keyed
    hash of their fieldwork id (``event_key``, the natural key that makes
    import idempotent). ``seq`` is the append order, used to order events of
    one date. ``digest`` chains the events (:mod:`sendlink.consent.chain`):
    every read verifies the chain, and any break stops every consent command
    naming the first bad event. ``payload_mac`` is a keyed digest of the
    event's personal details, which live in ``event_payloads``. A date must
    exist (``2023-02-30`` is refused by a CHECK as well as by the file
    contracts).
``cases``
    ``case_key`` -> ``survey_id``: the one place the log meets a survey id.
``event_payloads``
    Per event, the personal part: the fieldwork id it came from
    (``source_ref``) and, for a rectification, the corrected identifiers
    (``payload``, JSON).
``meta``
    Schema version, the fingerprint of the key the register was made with,
    and the chain's head (length, last digest, keyed digest of both).

The two side tables can never be updated, and rows can be deleted from them
only for a case with an erasure in force; they refuse new rows of an erased
case (or of an erased person's events). The event that makes an erasure take
effect (the request granted on receipt, or the decision granting it) carries
``erases`` in its details: ``case`` deletes the case's survey id and every
payload in the transaction that records it; ``parent`` or ``young_person``
deletes that person's payloads (their fieldwork references, and corrections
of their fields) and keeps the survey id, which the other person's part still
needs. ``secure_delete`` overwrites the freed pages and the write-ahead log is
truncated after the commit, so the register keeps only what it needs to keep
honouring the erasure: the case's keyed hash and the non-personal events.

Creation is atomic: a new register is built beside its final name and
hard-linked into place complete, so a kill during the first import leaves
either no register or a whole one. A file left half-created by an earlier
version (a SQLite file with no tables) is recognised: it holds nothing, so
readers treat it as absent and the next write replaces it. A register made by
schema version 1 (no hash chain) is refused with the command that migrates it
(``sendlink consent migrate``).

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
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sendlink.consent import chain, keys
from sendlink.consent.files import PERSON_FIELDS
from sendlink.errors import InputError, ParameterError, RegisterError
from sendlink.io import make_folder, private_file
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

SCHEMA_VERSION = "2"

#: Seconds a writer waits for another writer before giving up.
BUSY_TIMEOUT = 60.0

#: The command that migrates a schema-1 register (printed in errors).
MIGRATE_COMMAND = "sendlink consent migrate"


def _codes(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# An erasure in force for the whole case / for the person of an event.
_ERASED_CASE = "json_extract(details, '$.erases') = 'case'"

SCHEMA = f"""
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,  -- append order
    event_key      TEXT NOT NULL UNIQUE,               -- natural key (keyed hash) or random
    case_key       TEXT NOT NULL,                      -- keyed hash of survey_id
    person         TEXT NOT NULL CHECK (person IN ({_codes(PERSONS)})),
    kind           TEXT NOT NULL CHECK (kind IN ({_codes(EVENT_KINDS)})),
    scope          TEXT CHECK (scope IN ({_codes(SCOPES)})),
    decision       TEXT CHECK (decision IN ({_codes(DECISIONS)})),
    effective_date TEXT NOT NULL CHECK (effective_date GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'
                                        AND date(effective_date) IS effective_date),  -- a day that exists
    contact        TEXT NOT NULL CHECK (contact IN ({_codes(CONTACTS)})),
    source         TEXT NOT NULL CHECK (source IN ({_codes(REGISTER_SOURCES)})),
    origin         TEXT NOT NULL CHECK (origin IN ({_codes(REGISTER_ORIGINS)})),
    details        TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(details)),  -- non-personal JSON
    recorded_at    TEXT NOT NULL,
    payload_mac    TEXT,                               -- keyed digest of the personal details
    digest         TEXT NOT NULL,                      -- the hash chain (sendlink.consent.chain)
    CHECK ((kind = 'consent') = (scope IS NOT NULL)),
    CHECK ((kind = 'consent') = (decision IS NOT NULL))
);
CREATE INDEX events_by_case ON events (case_key);

CREATE TRIGGER events_never_updated BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'consent register is append-only: events cannot be updated'); END;
CREATE TRIGGER events_never_deleted BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'consent register is append-only: events cannot be deleted'); END;

CREATE TABLE cases (
    case_key  TEXT PRIMARY KEY,
    survey_id TEXT NOT NULL UNIQUE
) WITHOUT ROWID;

CREATE TABLE event_payloads (
    event_key  TEXT PRIMARY KEY REFERENCES events (event_key),
    case_key   TEXT NOT NULL,
    source_ref TEXT,          -- the fieldwork event_id or request_id
    payload    TEXT           -- JSON: corrected identifiers of a rectification
) WITHOUT ROWID;
CREATE INDEX payloads_by_case ON event_payloads (case_key);

CREATE TRIGGER cases_never_updated BEFORE UPDATE ON cases
BEGIN SELECT RAISE(ABORT, 'consent register: case references cannot be updated'); END;
CREATE TRIGGER payloads_never_updated BEFORE UPDATE ON event_payloads
BEGIN SELECT RAISE(ABORT, 'consent register: event payloads cannot be updated'); END;
CREATE TRIGGER cases_deleted_only_when_erased BEFORE DELETE ON cases
WHEN NOT EXISTS (SELECT 1 FROM events WHERE case_key = OLD.case_key AND {_ERASED_CASE})
BEGIN SELECT RAISE(ABORT, 'consent register: personal data are deleted only by an erasure'); END;
CREATE TRIGGER payloads_deleted_only_when_erased BEFORE DELETE ON event_payloads
WHEN NOT EXISTS (SELECT 1 FROM events WHERE case_key = OLD.case_key AND json_extract(details, '$.erases') IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'consent register: personal data are deleted only by an erasure'); END;
CREATE TRIGGER cases_not_stored_when_erased BEFORE INSERT ON cases
WHEN EXISTS (SELECT 1 FROM events WHERE case_key = NEW.case_key AND {_ERASED_CASE})
BEGIN SELECT RAISE(ABORT, 'consent register: the case was erased; its personal data are not stored again'); END;
CREATE TRIGGER payloads_not_stored_when_erased BEFORE INSERT ON event_payloads
WHEN EXISTS (
    SELECT 1 FROM events WHERE case_key = NEW.case_key AND (
        {_ERASED_CASE}
        OR json_extract(details, '$.erases') = (SELECT person FROM events WHERE event_key = NEW.event_key)))
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
    key: str | None = None  # the register key of an event without a natural key (random if not given)

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
           "details", "recorded_at", "payload_mac", "digest")

#: Details the register adds to an event (left out when an import compares an event with the one stored).
_REGISTER_DETAILS = ("register_rows_removed", "erases")


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


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Register:
    """The consent register at ``path``, hashed with ``key``.

    Reading never creates or changes the file; the first write creates it.
    Every read and every write transaction verifies the hash chain first.
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

    def _what(self) -> str:
        return str(self.path)

    def _state(self, con: sqlite3.Connection) -> str:
        """``ok``, ``empty`` (half-created: no table holds anything) or raise RegisterError."""
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise RegisterError(
                f"{self._what()} is not a readable SQLite database ({exc}). Move it aside (keep it: it may be evidence) and "
                f"restore the register from a backup; if it never held anything, `sendlink consent import` starts a new one."
            ) from None
        if "meta" in tables:
            return "ok"
        held = 0
        for table in tables - {"sqlite_sequence"}:
            held += con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # names from sqlite_master
        if held == 0:
            return "empty"
        raise RegisterError(
            f"{self._what()} holds {held} row(s) but no record of its schema or key (no meta table): it is damaged. "
            "Move it aside and restore the register from a backup."
        )

    def _check_meta(self, con: sqlite3.Connection) -> dict[str, str]:
        rows = dict(con.execute("SELECT name, value FROM meta").fetchall())
        version = rows.get("schema_version")
        if version == "1":
            raise RegisterError(
                f"{self._what()} was made by an earlier version of sendlink (register schema 1, without the hash chain "
                f"that makes it tamper-evident). Run `{MIGRATE_COMMAND}` to add the chain (it keeps every event and "
                "every recorded request); or, if it holds only imported fieldwork events, move it aside and run "
                "`sendlink consent import`."
            )
        if version != SCHEMA_VERSION:
            raise ParameterError(f"{self.path}: register schema version {version!r}, this code needs {SCHEMA_VERSION!r}")
        if rows.get("key_fingerprint") != keys.fingerprint(self.key):
            raise ParameterError(
                f"{self.path}: the register was created with a different key; with this key it would not "
                "recognise erased cases. Use the original key (see sendlink.consent.keys)."
            )
        return rows

    def _verify(self, con: sqlite3.Connection, meta: dict[str, str]) -> int:
        """Verify the hash chain; raise RegisterError at the first break. Returns the chain's length."""
        cur = con.execute(f"SELECT seq, {', '.join(_STORED)} FROM events ORDER BY seq")
        names = [d[0] for d in cur.description]
        events = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        try:
            head = (int(meta["chain_length"]), meta["chain_head"], meta["chain_head_mac"])
        except (KeyError, ValueError):
            head = None
        broken = chain.verify(
            self.key,
            events,
            head,
            cases=con.execute("SELECT case_key, survey_id FROM cases").fetchall(),
            payloads=con.execute("SELECT event_key, source_ref, payload FROM event_payloads").fetchall(),
            case_key=self.case_key,
        )
        if broken is not None:
            raise RegisterError(
                f"the consent register {self._what()} was changed outside sendlink: {broken}. Every consent command "
                "stops until it is restored: put back the register from a backup taken before the change (events "
                "recorded since then must be recorded again), and find out who changed it. `sendlink consent verify` "
                "repeats this check."
            )
        return len(events)

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection | None]:
        if not self.path.is_file():
            yield None
            return
        if self.path.stat().st_size == 0:  # made by a version that created the file before SQLite wrote it
            log.warning("%s is empty (an interrupted first import): it is read as no register; "
                        "the next `sendlink consent import` replaces it", self.path)
            yield None
            return
        # Read-only: never creates, checkpoints or otherwise changes the file.
        con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=self.timeout, isolation_level=None)
        try:
            self._configure(con, writable=False)
            if self._state(con) == "empty":
                log.warning(
                    "%s was left half-created (an interrupted first import): it holds nothing, so it is read as empty; "
                    "the next `sendlink consent import` replaces it", self.path,
                )
                yield None
                return
            con.execute("BEGIN")  # one snapshot for the check and the read
            self._verify(con, self._check_meta(con))
            yield con
            con.execute("COMMIT")
        finally:
            con.close()

    def verify(self) -> tuple[int, str]:
        """Check the register (``sendlink consent verify``); return the chain's length and head digest.

        Raises
        ------
        RegisterError
            Naming the first bad event.
        """
        with self._reader() as con:
            if con is None:
                return 0, chain.GENESIS
            meta = dict(con.execute("SELECT name, value FROM meta").fetchall())
            return int(meta["chain_length"]), meta["chain_head"]

    # --- creation ---------------------------------------------------------------
    def _new_file(self, folder: Path) -> Path:
        """An empty register of this schema at a temporary name in ``folder``."""
        tmp = private_file(folder / f".{self.path.name}.creating-{uuid.uuid4().hex}")  # owner-only before SQLite writes it
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("BEGIN")
            for statement in _statements(SCHEMA):
                con.execute(statement)
            con.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?)",
                [("schema_version", SCHEMA_VERSION), ("key_fingerprint", keys.fingerprint(self.key)), ("created_at", utc_now()),
                 *self._head_rows(0, chain.GENESIS)],
            )
            con.execute("COMMIT")
        finally:
            con.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        return tmp

    def _head_rows(self, length: int, head: str) -> list[tuple[str, str]]:
        return [("chain_length", str(length)), ("chain_head", head), ("chain_head_mac", chain.head_mac(self.key, length, head))]

    def _remove_stale_temporaries(self, folder: Path) -> None:
        """Remove what an interrupted creation left beside the register (never the register itself).

        Only files older than the busy timeout: a younger one may belong to
        a creation still under way in another process.
        """
        cutoff = time.time() - max(self.timeout, 60.0)
        for stale in folder.glob(f".{self.path.name}.creating-*"):
            with contextlib.suppress(FileNotFoundError):
                if stale.stat().st_mtime < cutoff:
                    stale.unlink()
                    log.info("removed %s, left by an interrupted creation of the register", stale.name)

    def _ensure_exists(self) -> None:
        """Create the register if it does not exist, atomically; replace a half-created (empty) one."""
        folder = make_folder(self.path.parent, private=True)
        self._remove_stale_temporaries(folder)
        if self.path.is_file():
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            try:
                state = self._state(con)
            finally:
                con.close()
            if state == "ok":
                return
            # Half-created by an interrupted first import: nothing in it; move it out of the way.
            stale = folder / f".{self.path.name}.half-created-{uuid.uuid4().hex}"
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.path, stale)
                log.warning("replaced %s, left half-created by an interrupted first import (it held nothing)", self.path)
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    (stale.with_name(stale.name + suffix) if suffix else stale).unlink()
            for suffix in ("-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    self.path.with_name(self.path.name + suffix).unlink()
        tmp = self._new_file(folder)
        try:
            os.link(tmp, self.path)  # atomic, and never replaces a register another process just made
            log.info("created the consent register %s", self.path)
        except FileExistsError:
            pass
        finally:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    tmp.with_name(tmp.name + suffix).unlink()
        _fsync_dir(folder)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction (``BEGIN IMMEDIATE``): all of it or nothing.

        Validate requests inside it, with the transaction's read methods, so
        no other writer can change the register between check and append.
        The chain is verified first, and its head updated at the end.
        """
        self._ensure_exists()
        private_file(self.path, "-wal", "-shm", "-journal")  # an older register, made before owner-only files: made owner-only
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            self._configure(con, writable=True)
            con.execute("BEGIN IMMEDIATE")
            try:
                meta = self._check_meta(con)
                length = self._verify(con, meta)
                tx = Transaction(self, con, length, meta["chain_head"])
                yield tx
                if tx.appended:
                    con.executemany("UPDATE meta SET value = ? WHERE name = ?", [(v, k) for k, v in self._head_rows(tx.length, tx.head)])
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

    # --- reading ------------------------------------------------------------
    def events(self) -> pd.DataFrame:
        """Every event in append order, with ``survey_id`` (empty once erased).

        Columns :data:`EVENT_FRAME_COLUMNS`; ``details`` and ``payload`` are
        parsed JSON (``payload`` ``None`` when there is none).
        """
        with self._reader() as con:
            return _read_events(con)

    def erased_case_keys(self) -> set[str]:
        """Case keys erased whole (an event with ``erases: case``)."""
        return {k for k, parts in self.erased_parts().items() if "case" in parts}

    def erased_parts(self) -> dict[str, set[str]]:
        """Case key -> what erasures in force took (``case``, ``parent``, ``young_person``)."""
        with self._reader() as con:
            if con is None:
                return {}
            out: dict[str, set[str]] = {}
            for key, part in con.execute("SELECT case_key, json_extract(details, '$.erases') FROM events WHERE json_extract(details, '$.erases') IS NOT NULL"):
                out.setdefault(key, set()).add(part)
            return out

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

    # --- migration ---------------------------------------------------------------
    def migrate(self, *, archive: Path | None = None) -> MigrationResult:
        """Rebuild a schema-1 register as schema 2, with its hash chain (``sendlink consent migrate``).

        Every readable event is carried over in its append order, with its
        key, dates, details and personal rows; an erasure of schema 1 (which
        always erased the whole case) is marked ``erases: case``. An event
        schema 1 let in that cannot be read (a date that does not exist) is
        left out if it was imported from a fieldwork file, and named, so that
        the corrected file can be imported again; one recorded through the
        command line stops the migration, naming it. The new register is
        built beside the old one and renamed into place; the old one is moved
        to ``archive`` (default ``data/register/archive/schema-1-<time>/``).

        This is the one moment the register's content is taken on trust: the
        chain can only vouch for what happens after it.
        """
        if not self.path.is_file():
            raise RegisterError(f"{self.path}: there is no register to migrate")
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            state = self._state(con)
            if state == "empty":
                raise RegisterError(f"{self.path} was left half-created and holds nothing: `sendlink consent import` replaces it")
            meta = dict(con.execute("SELECT name, value FROM meta").fetchall())
            if meta.get("schema_version") == SCHEMA_VERSION:
                raise RegisterError(f"{self.path} already has schema {SCHEMA_VERSION} (with its hash chain): nothing to migrate")
            if meta.get("key_fingerprint") != keys.fingerprint(self.key):
                raise ParameterError(f"{self.path}: the register was created with a different key; migrate it with the original key")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            old_cols = ("seq", "event_key", "case_key", "person", "kind", "scope", "decision", "effective_date", "contact", "source",
                        "origin", "details", "recorded_at")
            rows = [dict(zip(old_cols, r, strict=True)) for r in con.execute(f"SELECT {', '.join(old_cols)} FROM events ORDER BY seq")]
            cases = con.execute("SELECT case_key, survey_id FROM cases").fetchall()
            payloads = {r[0]: (r[1], r[2], r[3]) for r in con.execute("SELECT event_key, case_key, source_ref, payload FROM event_payloads")}
        finally:
            con.close()
        dropped: list[str] = []
        kept: list[dict[str, object]] = []
        for row in rows:
            problem = _unreadable(row)
            if problem is None:
                kept.append(row)
                continue
            ref = str(row["event_key"])[:12]
            named = payloads.get(str(row["event_key"]), (None, None, None))[1]
            label = f"event {row['seq']} (ref {ref}{', fieldwork id ' + str(named) if named else ''}): {problem}"
            if row["origin"] == "cli":
                raise RegisterError(
                    f"{self.path} holds an event recorded through the command line that cannot be read, {label}. "
                    "It cannot be recovered from the fieldwork files; restore the register from a backup taken before it."
                )
            dropped.append(label)
        folder = self.path.parent
        tmp = self._new_file(folder)
        new = sqlite3.connect(tmp, isolation_level=None)
        try:
            new.execute("BEGIN")
            head = chain.GENESIS
            for row in kept:
                details = json.loads(str(row["details"] or "{}"))
                if row["kind"] == "erasure":
                    details.setdefault("erases", "case")
                personal = payloads.get(str(row["event_key"]))
                record = {**row, "details": _dumps(details),
                          "payload_mac": chain.payload_mac(self.key, str(row["event_key"]), personal[1], personal[2]) if personal else None}
                record["digest"] = head = chain.event_digest(self.key, head, record)
                new.execute(f"INSERT INTO events (seq, {', '.join(_STORED)}) VALUES (?, {', '.join('?' * len(_STORED))})",
                            (record["seq"], *(record[c] for c in _STORED)))
            new.executemany("INSERT INTO cases (case_key, survey_id) VALUES (?, ?)", cases)
            kept_keys = {str(r["event_key"]) for r in kept}
            new.executemany("INSERT INTO event_payloads (event_key, case_key, source_ref, payload) VALUES (?, ?, ?, ?)",
                            [(k, *v) for k, v in payloads.items() if k in kept_keys])
            new.executemany("UPDATE meta SET value = ? WHERE name = ?",
                            [(v, k) for k, v in [*self._head_rows(len(kept), head), ("created_at", meta.get("created_at", utc_now()))]])
            new.execute("INSERT INTO meta (name, value) VALUES ('migrated_from_schema_1_at', ?)", (utc_now(),))
            new.execute("COMMIT")
        finally:
            new.close()
        archive = archive or folder / "archive" / f"schema-1-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"
        make_folder(archive, private=True)
        for suffix in ("", "-wal", "-shm"):
            old = self.path.with_name(self.path.name + suffix)
            if old.exists():
                shutil.move(str(old), archive / old.name)
        os.replace(tmp, self.path)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                tmp.with_name(tmp.name + suffix).unlink()
        _fsync_dir(folder)
        self.verify()
        return MigrationResult(events=len(kept), dropped=dropped, archive=archive)


@dataclass(frozen=True)
class MigrationResult:
    """What :meth:`Register.migrate` did."""

    events: int
    dropped: list[str]
    archive: Path

    def __str__(self) -> str:
        text = f"{self.events} event(s) carried over and chained; the schema-1 register was moved to {self.archive}"
        if self.dropped:
            text += (
                f". {len(self.dropped)} unreadable imported event(s) were left out: " + "; ".join(self.dropped)
                + ". Correct them in the fieldwork files and run `sendlink consent import` to import them again"
            )
        return text


def _unreadable(row: dict[str, object]) -> str | None:
    """Why a stored event cannot be read, or None."""
    date = str(row.get("effective_date") or "")
    try:
        if len(date) != 10 or dt.date.fromisoformat(date).isoformat() != date:
            raise ValueError
    except ValueError:
        return f"its date {date!r} is not a date that exists"
    try:
        json.loads(str(row.get("details") or "{}"))
    except ValueError:
        return "its details are not valid JSON"
    return None


class Transaction:
    """Reads and appends inside one :meth:`Register.transaction`."""

    def __init__(self, register: Register, con: sqlite3.Connection, length: int = 0, head: str = chain.GENESIS) -> None:
        self.register = register
        self.con = con
        self.erased: set[str] = set()
        self.length = length
        self.head = head
        self.appended = 0

    def events(self) -> pd.DataFrame:
        return _read_events(self.con)

    def is_erased(self, case_key: str) -> bool:
        """Is the whole case erased?"""
        return self.con.execute(
            f"SELECT 1 FROM events WHERE case_key = ? AND {_ERASED_CASE} LIMIT 1", (case_key,)
        ).fetchone() is not None

    def erased_people(self, case_key: str) -> set[str]:
        """The people whose part of the case is erased (``case`` for the whole case)."""
        return {r[0] for r in self.con.execute(
            "SELECT json_extract(details, '$.erases') FROM events WHERE case_key = ? AND json_extract(details, '$.erases') IS NOT NULL",
            (case_key,),
        )}

    def append(self, event: NewEvent) -> int:
        reg = self.register
        case_key = reg.case_key(event.survey_id)
        event_key = reg.event_key(event.natural_key) if event.natural_key else (event.key or uuid.uuid4().hex)
        recorded_at = event.recorded_at or utc_now()
        gone = self.erased_people(case_key)
        erased_before = "case" in gone
        details = dict(event.details)
        erases = details.get("erases")
        if erases is not None and erases not in ("case", *PERSONS):
            raise ValueError(f"erases must be case or a person, got {erases!r}")
        doomed: list[str] = []
        if erases == "case" and not erased_before:
            doomed = [r[0] for r in self.con.execute("SELECT event_key FROM event_payloads WHERE case_key = ?", (case_key,))]
            n_cases = self.con.execute("SELECT COUNT(*) FROM cases WHERE case_key = ?", (case_key,)).fetchone()[0]
            details["register_rows_removed"] = int(len(doomed) + n_cases)
        elif erases in PERSONS and not erased_before:
            doomed = self._personal_rows_of(case_key, str(erases))
            details["register_rows_removed"] = len(doomed)
        store_payload = not erased_before and event.person not in gone and (event.source_ref is not None or event.payload is not None)
        payload_text = None if event.payload is None else _dumps(event.payload)
        record = event.row(seq=self.length + 1, event_key=event_key, case_key=case_key, recorded_at=recorded_at, details=details)
        record["details"] = _dumps(record["details"])
        record["payload_mac"] = chain.payload_mac(reg.key, event_key, event.source_ref, payload_text) if store_payload else None
        # The number AUTOINCREMENT would give (never reused): the digest covers it, so it is fixed before the insert.
        used = self.con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        last = self.con.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        record["seq"] = max(int(used[0]) if used else 0, int(last or 0)) + 1
        record["digest"] = chain.event_digest(reg.key, self.head, record)
        self.con.execute(
            f"INSERT INTO events (seq, {', '.join(_STORED)}) VALUES (?, {', '.join('?' * len(_STORED))})",
            (record["seq"], *(record[c] for c in _STORED)),
        )
        seq = int(record["seq"])
        self.head, self.length, self.appended = str(record["digest"]), self.length + 1, self.appended + 1
        if erases == "case":
            self._shred(case_key)
        elif doomed:
            self.con.executemany("DELETE FROM event_payloads WHERE event_key = ?", [(k,) for k in doomed])
        if not erased_before and erases != "case":
            self.con.execute("INSERT OR IGNORE INTO cases (case_key, survey_id) VALUES (?, ?)", (case_key, str(event.survey_id)))
            if store_payload and erases != event.person:
                self.con.execute(
                    "INSERT INTO event_payloads (event_key, case_key, source_ref, payload) VALUES (?, ?, ?, ?)",
                    (event_key, case_key, event.source_ref, payload_text),
                )
        return seq

    def _personal_rows_of(self, case_key: str, person: str) -> list[str]:
        """Payload rows that are ``person``'s: of their events, or correcting their fields."""
        fields = set(PERSON_FIELDS[person])
        out = []
        for event_key, payload, who in self.con.execute(
            "SELECT p.event_key, p.payload, e.person FROM event_payloads p JOIN events e ON e.event_key = p.event_key WHERE p.case_key = ?",
            (case_key,),
        ):
            corrected = set(json.loads(payload)) if payload else set()
            if who == person or corrected & fields:
                out.append(event_key)
        return out

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
                    "details": _dumps({k: v for k, v in event.details.items() if k not in _REGISTER_DETAILS}),
                }
                stored["details"] = _dumps({k: v for k, v in json.loads(stored["details"]).items() if k not in _REGISTER_DETAILS})
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
            case_key = reg.case_key(event.survey_id)
            was_erased = event.details.get("erases") == "case" and not self.is_erased(case_key)
            self.append(event)
            if was_erased:
                erased_now.add(case_key)
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

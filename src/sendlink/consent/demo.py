"""A sandbox for teaching: rights requests on a temporary copy of the project.

Notebook 02 shows how a withdrawal, an erasure and an access request flow
through the consent stage. Doing that on the project's own register would
change it for good (the register is append-only, and an erasure deletes
personal data), so :class:`Sandbox` copies what the consent stage reads and
writes into a temporary project root and works there:

* ``params.yaml`` and the survey organisation's raw files
  (``data/synthetic/survey/``);
* the consent register (``data/register/consent.sqlite``), copied with
  SQLite's backup API so the copy is consistent even while another process
  writes to the original; and its key (see below).

The NPD and DfE's match results are not copied: this is the survey
organisation's side of the story, and the consent chapter does not depend
on the linkage chapter's results. An access report made in the sandbox
therefore says that linkage has not run.

The key. The copied register only recognises its cases with the key it was
created with, and the sandbox finds it where the project does: the same
environment variable, or the same key file (``consent.key_file``, outside
both folders). Without either, the project uses the public demo key, which
is allowed only for the generator's own synthetic world
(:mod:`sendlink.keys`); the sandbox copies the generator's manifest with
the survey files, so the copy is recognised as that world too, and the
demo key's warning is not repeated in the copy (``key_source`` says which
key it uses).

Dates are given, never read from the clock: the sandbox has a fixed
``today``, so a notebook using it gives the same output on every run.
Everything the sandbox does goes through the consent package's public
functions (:func:`~sendlink.consent.record_request`,
:func:`~sendlink.consent.stage.run`, :mod:`~sendlink.consent.access`),
exactly as ``sendlink rights ...`` and ``sendlink consent apply`` would with
``SENDLINK_ROOT`` pointing at the copy.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sendlink.config import Paths
from sendlink.consent import access, stage
from sendlink.consent import rules as R
from sendlink.consent.files import ConsentFiles
from sendlink.consent.requests import (
    Decision,
    Request,
    pending,
    plan,
    record_decision,
    record_request,
)
from sendlink.errors import RequestError
from sendlink.io import StagedWrites, private_file, read_table
from sendlink.keys import REGISTER_PURPOSE, demo_key_announced
from sendlink.params import load_params
from sendlink.schema import catalogue

#: Identifiers the worked example's child must have (a middle name is optional).
REQUIRED_IDENTIFIERS = ("forename", "surname", "date_of_birth", "sex", "postcode", "school_urn")

#: Rows of :meth:`Sandbox.footprint`, in order.
FOOTPRINT = (
    "permission: parent's answers",
    "permission: child's answers",
    "child's answers decided by",
    "sent to DfE for linkage",
    "answers analysed",
    "rows in the holdings",
    "register events",
    "register rows with personal data",
)


@dataclass(frozen=True)
class Outcome:
    """What became of a request: recorded (with the stage's message) or refused (with the reason)."""

    recorded: bool
    message: str
    ref: str = ""

    def __str__(self) -> str:
        return ("recorded: " if self.recorded else "refused: ") + self.message

    __repr__ = __str__


@dataclass(frozen=True)
class AccessCopy:
    """The answer to an access request: the report and its Markdown file text.

    In a notebook it shows as the Markdown a parent would read, with its
    headings moved down ``heading_offset`` levels so that they sit under the
    notebook's own sections.
    """

    outcome: Outcome
    report: dict[str, Any] | None = None
    markdown: str = ""
    heading_offset: int = 3
    file: Path | None = field(default=None, repr=False, compare=False)

    def _repr_markdown_(self) -> str:
        if not self.outcome.recorded:
            return f"*{self.outcome}*"
        prefix = "#" * self.heading_offset
        return re.sub(r"^(#+) ", lambda m: prefix + m.group(1) + " ", self.markdown, flags=re.MULTILINE)

    def __str__(self) -> str:
        if not self.outcome.recorded:
            return str(self.outcome)
        lines = self.markdown.count("\n")
        return f"access report for case {self.report['survey_id']} ({lines} lines of Markdown); {self.outcome}"  # type: ignore[index]

    __repr__ = __str__


def _copy_register(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite register (the backup API, not a file copy)."""
    private_file(target)
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


class Sandbox:
    """A temporary copy of the project's consent data and register (see the module docstring).

    Parameters
    ----------
    source
        The project to copy (default: the current project).
    today
        The date the sandbox treats as today: requests dated after it are
        refused, as the command line refuses dates in the future.
    parent
        Folder to create the temporary root in (default: the system's).

    Use it as a context manager, or call :meth:`close` when done; the
    folder is deleted then (or when the interpreter exits).
    """

    def __init__(self, source: Paths | None = None, *, today: dt.date, parent: str | Path | None = None) -> None:
        source = source or Paths.discover()
        self.today = today
        self.source = source
        self._tmp = tempfile.TemporaryDirectory(prefix="sendlink-sandbox-", dir=parent)
        self.paths = Paths(Path(self._tmp.name))
        shutil.copy2(source.params, self.paths.params)
        shutil.copytree(source.survey, self.paths.survey)
        manifest = catalogue.MANIFEST.at(source)
        if manifest.is_file():
            shutil.copy2(manifest, catalogue.MANIFEST.at(self.paths))
        src_files, files = ConsentFiles(source), ConsentFiles(self.paths)
        if src_files.register.is_file():
            _copy_register(src_files.register, files.register)
        self.key_source = self._key_source()
        if self.key_source == "demo key":  # the notebook shows key_source; the warning would only repeat it
            demo_key_announced(REGISTER_PURPOSE)
        self.context = stage.context(self.paths)
        self._raw: stage.RawSurvey | None = None

    def _key_source(self) -> str:
        """Where the copy's key comes from: ``environment``, ``key file`` or ``demo key`` (checked when the context is made)."""
        cp = load_params(self.paths.params).consent
        if os.environ.get(cp.key_env, "").strip():
            return "environment"
        if cp.key_path.is_file():
            return "key file"
        return "demo key"

    # --- lifetime ---------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.paths.root

    def close(self) -> None:
        """Delete the temporary project."""
        self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the consent package, in the copy -------------------------------------------
    @property
    def files(self) -> ConsentFiles:
        return self.context.files

    @property
    def raw(self) -> stage.RawSurvey:
        """The copy's raw survey files, read and validated once (nothing in the sandbox changes them)."""
        if self._raw is None:
            self._raw = stage.read_raw_survey(self.files)
        return self._raw

    def run(self, as_of: dt.date | None = None) -> stage.StageResult:
        """Run the consent stage in the copy (``sendlink consent apply``)."""
        return stage.run(self.paths, as_of=as_of)

    def request(
        self,
        action: str,
        survey_id: str,
        *,
        on: dt.date,
        person: str = "parent",
        scope: str = "all",
        fields: dict[str, str] | None = None,
        source: str = "letter",
        level: str = "no_use",
        identity: str = "not_recorded",
        outcome: str | None = None,
        reason: str | None = None,
    ) -> Outcome:
        """Record a rights request (``sendlink rights ACTION ID``); a request the study will not record is returned, not raised.

        ``action`` is one of ``withdraw``, ``erase``, ``restrict``,
        ``unrestrict``, ``object``, ``rectify``; an access request needs its
        report too, so it is :meth:`access`. ``outcome`` and ``reason``
        record a decision with it (``--outcome``, ``--reason``); the
        outcome's ``ref`` is what :meth:`decide` takes.
        """
        if action == "access":
            raise ValueError("an access request produces a report: use Sandbox.access")
        req = Request(action=action, survey_id=str(survey_id), person=person, on=on, source=source, scope=scope, fields=fields,
                      level=level, identity=identity, outcome=outcome, reason=reason)
        try:
            recorded = record_request(self.context, req, today=self.today, raw=self.raw)
        except RequestError as exc:
            return Outcome(False, str(exc))
        return Outcome(True, recorded.message, recorded.ref)

    def decide(self, ref: str, outcome: str, *, on: dt.date, reason: str | None = None) -> Outcome:
        """Decide an open request (``sendlink rights decide REF``): ``granted``, ``refused`` (with ``reason``) or ``extended``."""
        try:
            message, _ = record_decision(self.context, Decision(ref=ref, outcome=outcome, on=on, reason=reason), today=self.today)
        except RequestError as exc:
            return Outcome(False, str(exc), ref)
        return Outcome(True, message.removeprefix("recorded: "), ref)  # the outcome says "recorded:" itself

    def pending(self, today: dt.date | None = None) -> pd.DataFrame:
        """The open requests with their due dates (``sendlink rights pending``), as of ``today`` (default the sandbox's)."""
        return pending(self.context, today or self.today)

    def access(self, survey_id: str, *, on: dt.date, person: str = "parent", source: str = "letter") -> AccessCopy:
        """Answer an access request as ``sendlink rights access ID --out FILE.md`` does.

        The report is written to ``outbox/access_<id>.md`` in the copy and
        the request recorded in its register, together or not at all. A
        refused request (an unknown or erased case, say) writes and records
        nothing.
        """
        sid = str(survey_id)
        req = Request(action="access", survey_id=sid, person=person, on=on, source=source)
        out = self.root / "outbox" / f"access_{sid}.md"
        try:
            raw, events = self.events()
            plan(self.context, req, raw, events, self.today)  # refuse before building anything
            report = access.access_report(self.context, raw, events, sid, person=person, today=on)
            text = access.render(report, out)
            out.parent.mkdir(parents=True, exist_ok=True)
            with StagedWrites() as staged:
                staged.text(text, out)
                recorded = record_request(self.context, req, today=self.today, raw=raw)
        except RequestError as exc:
            return AccessCopy(Outcome(False, str(exc)))
        return AccessCopy(Outcome(True, recorded.message), report, text, file=out)

    def explain(self, survey_id: str, as_of: dt.date | None = None, *, enforced: bool = True) -> R.Explanation:
        """Why the case is in its state (``sendlink consent explain ID``), as of ``consent.as_of`` by default."""
        sid = str(survey_id)
        raw, events = self.events()
        if sid not in set(raw.survey_ids):
            raise RequestError(f"unknown survey id {sid!r}")
        mine = events[events["survey_id"].astype(str) == sid]
        cases = raw.cases()
        return R.explain(sid, as_of or self.context.params.as_of, mine, cases[cases["survey_id"] == sid], self.context.rule_params, enforced=enforced)

    def events(self) -> tuple[stage.RawSurvey, pd.DataFrame]:
        """The raw survey files and every event (register plus not yet imported), read only."""
        return stage.current_events(self.context, self.raw)

    def status(self) -> pd.DataFrame:
        """The status table the last :meth:`run` wrote."""
        return read_table(self.files.status)

    # --- looking at the outputs -------------------------------------------------------
    def example_case(self) -> str:
        """A case that shows the most in a worked example, chosen the same way every time.

        The first survey id (in sorted order), as of the last :meth:`run`,
        whose parent gave permission for both scopes and whose young person,
        asked directly at 16, gave permission too; sent for linkage, with no
        rights request, withdrawal, restriction or objection in its history;
        with answers at both waves from the parent and the young person; and
        with every identifier of :data:`REQUIRED_IDENTIFIERS` held.
        """
        st = self.status()
        ok = st[
            (st["consent_parent_answers"] == "granted")
            & (st["consent_child_answers"] == "granted")
            & (st["child_scope_governed_by"] == "young_person")
            & st["send_for_linkage"].astype(bool)
            & ~st["restricted"].astype(bool)
            & ~st["objected"].astype(bool)
            & ~st["later_request_applied"].astype(bool)
            & (st["rectified_on"].fillna("") == "")
        ]
        ids = set(ok["survey_id"].astype(str))
        _, events = self.events()
        stirred = events[(events["kind"] != "consent") | (events["decision"] != "granted")]
        ids -= set(stirred["survey_id"].astype(str))
        for answers in catalogue.ANSWERS:
            path = catalogue.held(answers).at(self.paths)
            ids &= set(read_table(path, columns=["survey_id"])["survey_id"].astype(str)) if path.is_file() else set()
        contacts = read_table(catalogue.held(catalogue.CONTACTS).at(self.paths))
        complete = contacts[list(REQUIRED_IDENTIFIERS)].notna().all(axis=1)
        ids &= set(contacts.loc[complete, "survey_id"].astype(str))
        if not ids:
            raise LookupError("no case fits the worked example's criteria; run the consent stage first")
        return min(ids)

    def footprint(self, survey_id: str) -> pd.Series:
        """Where one case stands in the files the consent stage wrote, and in the register.

        Rows :data:`FOOTPRINT`: the permissions and who decides (from the
        status table; ``(erased)`` once the case is gone from it), whether
        its identifiers are in the survey spine sent to DfE, whether its
        answers may be analysed, how many rows of the survey organisation's
        holdings are about it, and how many register events and personal-data
        rows (survey id, fieldwork reference, corrected identifiers) the
        register holds for it.
        """
        sid = str(survey_id)
        st = self.status()
        row = st[st["survey_id"].astype(str) == sid]
        spine = read_table(self.files.survey_spine, columns=["survey_id"])
        held = 0
        for path in sorted(self.files.holdings.glob("*.parquet")):
            held += int((read_table(path, columns=["survey_id"])["survey_id"].astype(str) == sid).sum())
        events, personal = self._register_rows(sid)
        gone = "(erased)"
        values = [
            row["consent_parent_answers"].iloc[0] if len(row) else gone,
            row["consent_child_answers"].iloc[0] if len(row) else gone,
            row["child_scope_governed_by"].iloc[0].replace("_", " ") if len(row) else gone,
            "yes" if (spine["survey_id"].astype(str) == sid).any() else "no",
            ("yes" if bool(row["may_analyse"].iloc[0]) else "no") if len(row) else "no",
            held,
            events,
            personal,
        ]
        return pd.Series(values, index=list(FOOTPRINT), name=sid, dtype=object)

    def _register_rows(self, survey_id: str) -> tuple[int, int]:
        """(events, rows with personal data) the register holds for a case, by its keyed hash."""
        path = self.files.register
        if not path.is_file():
            return 0, 0
        key = self.context.register.case_key(survey_id)
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            events = con.execute("SELECT COUNT(*) FROM events WHERE case_key = ?", (key,)).fetchone()[0]
            personal = sum(
                con.execute(f"SELECT COUNT(*) FROM {table} WHERE case_key = ?", (key,)).fetchone()[0]  # fixed table names
                for table in ("cases", "event_payloads")
            )
        finally:
            con.close()
        return int(events), int(personal)

    def output_files(self) -> list[Path]:
        """Every file the consent stage and the register wrote in the copy."""
        folders = (self.paths.survey_org, self.paths.register, self.files.survey_spine.parent)
        return sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file())

    def scan(self, needles: list[str]) -> pd.DataFrame:
        """Which output files contain any of ``needles`` (e.g. a survey id, an email address).

        Every file of :meth:`output_files` is searched as raw bytes, for
        each needle encoded as UTF-8 (so a value left in a free page of the
        SQLite file, or in its write-ahead log, is found) and, for Parquet,
        also as decoded text (Parquet compresses, so raw bytes alone could
        miss a value). Columns ``file`` (relative to the project root) and
        ``found``.
        """
        wanted = [n for n in needles if n]
        rows = []
        for path in self.output_files():
            found = any(n.encode("utf-8") in path.read_bytes() for n in wanted)
            if not found and path.suffix == ".parquet":
                text = pd.read_parquet(path).to_csv(index=False)
                found = any(n in text for n in wanted)
            rows.append({"file": self.files.relative(path), "found": found})
        return pd.DataFrame(rows, columns=["file", "found"])

    def erasure_log(self) -> pd.DataFrame:
        """The erasure log the last :meth:`run` wrote (no personal data in it)."""
        return read_table(self.files.erasure_log, dtype_str=True)


__all__ = ["FOOTPRINT", "REQUIRED_IDENTIFIERS", "AccessCopy", "Outcome", "Sandbox"]

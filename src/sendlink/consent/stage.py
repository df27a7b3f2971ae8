"""The consent stage: apply consent and rights to the survey organisation's holdings.

Run by the survey organisation. :func:`run` is what the pipeline calls. In order:

1. read and validate the raw survey files (``data/synthetic/survey/``);
2. compute each case's state as of ``consent.as_of`` from the register's
   events plus the fieldwork events not yet imported (the same events the
   register holds once step 4 has run), as the pipeline enforces it
   (:func:`sendlink.consent.rules.enforced_states`);
3. build the outputs in memory: the status table, the survey
   organisation's working holdings (erased cases removed, rectifications
   applied), the survey spine sent to DfE (identifiers of cases with
   ``send_for_linkage`` only, no answers) and the erasure log;
4. stage every file, import the fieldwork events into the register
   (idempotent), then put every file in place. If anything fails, no output
   file changes (:class:`sendlink.io.StagedWrites`); an import that
   committed before a later failure is harmless, since importing again adds
   nothing.

Erased cases appear in no file the stage writes: a case is treated as
erased if the rules say so on ``as_of`` *or* the register holds an erasure
for it at all (an erasure cannot be undone by replaying an earlier date).

Downstream stages read ``data/survey_org/holdings/`` and
``data/survey_org/consent_status.parquet``, never the raw survey files.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from sendlink import schema
from sendlink.config import Paths
from sendlink.consent import keys
from sendlink.consent import rules as R
from sendlink.consent.files import PERSON_ANSWER_PREFIX, PERSON_FIELDS, ConsentFiles
from sendlink.consent.identifiers import check_corrections
from sendlink.consent.register import ImportResult, NewEvent, Register
from sendlink.errors import InputError
from sendlink.io import StagedWrites, make_folder, read_table, remove_stale_temporaries, write_text
from sendlink.params import Params, load_params
from sendlink.params.consent import ConsentParams
from sendlink.schema import catalogue
from sendlink.schema.consent import (
    CONSENT_EVENTS,
    CONSENT_STATUS,
    ERASURE_LOG,
    REGISTER_EXPORT,
    RIGHTS_REQUESTS,
)
from sendlink.schema.spine import IDENTIFIER_COLUMNS, SURVEY_KEY, SURVEY_SPINE
from sendlink.schema.survey import CONTACTS as CONTACTS_TABLE

log = logging.getLogger(__name__)

#: Rights request code (``rights_requests.csv``) -> register event kind.
REQUEST_KINDS = {
    "access": "access",
    "rectification": "rectification",
    "erasure": "erasure",
    "restriction": "restriction",
    "lift_restriction": "lift_restriction",
    "objection": "objection",
}


# --- context -----------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """Everything the consent commands share: paths, parameters, key, register."""

    paths: Paths
    params: ConsentParams
    files: ConsentFiles
    register: Register

    @property
    def rule_params(self) -> R.RuleParams:
        return R.RuleParams.from_params(self.params)

    @property
    def key(self) -> bytes:
        return self.register.key


#: The survey files' names, as the holdings and the erasure log key them.
CONTACTS = catalogue.CONTACTS.name
SAMPLE = catalogue.SAMPLE.name


def _world_fingerprint(paths: Paths) -> str | None:
    manifest = catalogue.MANIFEST.at(paths)
    if not manifest.is_file():
        return None
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("params_sha256")
    except json.JSONDecodeError:
        return None


def bind_register_to_world(paths: Paths) -> Path | None:
    """Keep one register per synthetic world; archive a register of an older one.

    The register holds the fieldwork of one study: events imported from the
    synthetic survey files and requests recorded through the command line,
    keyed by that world's survey ids. When the synthetic data are
    regenerated with other parameters (another world), its events no longer
    describe the same people, so the old register, with its erasure log, is
    moved to ``data/register/archive/<fingerprint>/`` (never deleted: it may
    hold recorded requests) and a new one is started, with a warning.

    Returns the archive folder when a register was archived, else None.
    """
    world = _world_fingerprint(paths)
    folder = paths.register
    marker = catalogue.WORLD.at(paths)
    if world is None:
        return None
    archived = None
    if marker.is_file():
        old = json.loads(marker.read_text(encoding="utf-8")).get("params_sha256")
        if old != world:
            archived = folder / "archive" / f"{str(old)[:12]}"
            n = 1
            while archived.exists():
                n += 1
                archived = folder / "archive" / f"{str(old)[:12]}-{n}"
            make_folder(archived, private=True)
            db = catalogue.REGISTER_DB.name
            for name in (db, f"{db}-wal", f"{db}-shm", catalogue.ERASURE_LOG.name, catalogue.WORLD.name):
                if (folder / name).exists():
                    shutil.move(str(folder / name), archived / name)
            log.warning(
                "the synthetic data were regenerated with other parameters; the consent register of the "
                "previous world (and any requests recorded in it) was archived to %s and a new register started",
                archived,
            )
    elif catalogue.REGISTER_DB.at(paths).exists():
        # A register from before worlds were recorded: adopt it for this world.
        log.info("recording that %s belongs to the current synthetic world", catalogue.REGISTER_DB.at(paths))
    if not marker.is_file():
        write_text(json.dumps({"params_sha256": world}, indent=2) + "\n", marker)
    return archived


def context(paths: Paths | None = None, params: Params | None = None) -> Context:
    """Build the :class:`Context` from the project (or the given paths and parameters)."""
    paths = paths or Paths.discover()
    cp = (params or load_params(paths.params)).consent
    files = ConsentFiles(paths)
    key = keys.load_key(cp.key_env, cp.key_path, paths=paths)  # first: a refused key changes no file
    bind_register_to_world(paths)
    return Context(paths, cp, files, Register(files.register, key))


# --- the raw survey files ----------------------------------------------------------


@dataclass
class RawSurvey:
    """The survey organisation's raw files, validated."""

    contacts: pd.DataFrame
    sample: pd.DataFrame
    answers: dict[str, pd.DataFrame]  # file name -> table
    consent_events: pd.DataFrame
    rights_requests: pd.DataFrame
    files: ConsentFiles | None = None

    @property
    def survey_ids(self) -> list[str]:
        """Every known case: respondents (contacts) and the issued sample."""
        ids = set(self.contacts[SURVEY_KEY].astype(str)) | set(self.sample[SURVEY_KEY].astype(str))
        return sorted(ids)

    def cases(self) -> pd.DataFrame:
        """``survey_id, date_of_birth`` of every known case (DOB as reported, before rectification)."""
        dob = (
            self.contacts.set_index(self.contacts[SURVEY_KEY].astype(str))["date_of_birth"]
            if "date_of_birth" in self.contacts.columns
            else pd.Series(dtype=object)
        )
        ids = self.survey_ids
        return pd.DataFrame({"survey_id": ids, "date_of_birth": [dob.get(i) for i in ids]})


def _keyed_table(path: Path, *, what: str) -> pd.DataFrame:
    frame = read_table(path)
    if SURVEY_KEY not in frame.columns:
        raise InputError(path, f"{what}: missing required column(s): {SURVEY_KEY}")
    ids = frame[SURVEY_KEY]
    bad = ids.isna() | (ids.astype(str).str.strip() == "")
    if bad.any():
        rows = list(frame.index[bad])
        raise InputError(path, "empty survey_id", column=SURVEY_KEY, rows=rows)
    frame[SURVEY_KEY] = ids.astype(str)
    return frame


def _unique(frame: pd.DataFrame, path: Path) -> None:
    dup = frame[SURVEY_KEY].duplicated(keep=False)
    if dup.any():
        rows = list(frame.index[dup])
        raise InputError(path, "survey_id must be unique (one row per case)", column=SURVEY_KEY, rows=rows, values=frame.loc[dup, SURVEY_KEY].tolist())


def read_raw_survey(files: ConsentFiles, *, today: dt.date | None = None) -> RawSurvey:
    """Read and validate the raw survey files (:class:`~sendlink.consent.files.ConsentFiles`).

    Raises
    ------
    InputError
        Naming the file, column and rows of the first problem.
    """
    contacts = _keyed_table(files.contacts, what="contacts")
    _unique(contacts, files.contacts)
    contacts = schema.validate(contacts, CONTACTS_TABLE, files.contacts)
    sample = _keyed_table(files.sample, what="issued sample")
    _unique(sample, files.sample)
    answers = {p.name: _keyed_table(p, what="answers") for p in files.answers}
    events = read_table(files.consent_events, dtype_str=True)
    events = schema.validate(_blank_frame(events, CONSENT_EVENTS), CONSENT_EVENTS, files.consent_events)
    requests = read_table(files.rights_requests, dtype_str=True)
    requests = schema.validate(_blank_frame(requests, RIGHTS_REQUESTS), RIGHTS_REQUESTS, files.rights_requests)
    raw = RawSurvey(contacts, sample, answers, events, requests, files)
    known = set(raw.survey_ids)
    for frame, path in ((events, files.consent_events), (requests, files.rights_requests)):
        unknown = ~frame[SURVEY_KEY].isin(known)
        if unknown.any():
            raise InputError(
                path,
                f"survey_id not in {CONTACTS} or {SAMPLE}",
                column=SURVEY_KEY,
                rows=list(frame.index[unknown]),
                values=frame.loc[unknown, SURVEY_KEY].tolist(),
            )
    _check_request_details(requests, files.rights_requests, today or dt.date.max)
    _check_consent_rows(events, files.consent_events)
    _check_decisions(requests, files.rights_requests)
    extra = sorted(
        p.name
        for p in files.paths.survey.glob("*")
        if p.suffix in (".csv", ".parquet")
        and p.name not in {files.consent_events.name, files.rights_requests.name, files.contacts.name, files.sample.name, *answers}
    )
    if extra:
        log.warning("survey files not carried into the holdings (add them to sendlink.schema.catalogue): %s", ", ".join(extra))
    return raw


def _blank_frame(frame: pd.DataFrame, table: Any) -> pd.DataFrame:
    """A header-only CSV reads as an empty frame without columns; give it the columns."""
    if frame.empty and not len(frame.columns):
        return pd.DataFrame({c: pd.Series(dtype=str) for c in table.columns})
    return frame


def _fail_rows(path: Path, mask: pd.Series, frame: pd.DataFrame, column: str, problem: str) -> None:
    if mask.any():
        values = frame.loc[mask, column].tolist() if column in frame.columns else None
        raise InputError(path, problem, column=column, rows=[int(i) for i in frame.index[mask]], values=values)


def _filled(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(False, index=frame.index)
    values = frame[column]
    return values.notna() & (values.astype(str).str.strip() != "")


def _check_consent_rows(events: pd.DataFrame, path: Path) -> None:
    """What the column contract cannot say about a consent event: a level only on a withdrawal."""
    level = _filled(events, "withdrawal_level")
    _fail_rows(path, level & (events["decision"] != "withdrawn"), events, "withdrawal_level", "a withdrawal level is given for a decision that is not a withdrawal")


def _check_decisions(requests: pd.DataFrame, path: Path) -> None:
    """A decision recorded in the rights requests file must be complete and consistent."""
    outcome, when, reason = (_filled(requests, c) for c in ("outcome", "outcome_date", "refusal_reason"))
    _fail_rows(path, outcome & ~when, requests, "outcome_date", "an outcome is given without the date it was decided")
    _fail_rows(path, when & ~outcome, requests, "outcome_date", "a decision date is given without an outcome")
    if "outcome" in requests.columns:
        refused = outcome & (requests["outcome"] == "refused")
        _fail_rows(path, refused & ~reason, requests, "refusal_reason", "a refused request needs a refusal_reason from the fixed list")
        _fail_rows(path, reason & ~refused, requests, "refusal_reason", "a refusal reason is given for a request that was not refused")
        if "outcome_date" in requests.columns:
            early = when & (requests["outcome_date"].astype(str) < requests["request_date"].astype(str))
            _fail_rows(path, early, requests, "outcome_date", "the decision is dated before the request was received")
    elif reason.any():
        _fail_rows(path, reason, requests, "refusal_reason", "a refusal reason is given but the file has no outcome column")
    other = _filled(requests, "details") & (requests["request"] != "rectification")
    _fail_rows(path, other, requests, "details", "details are given for a request that is not a rectification (only a rectification carries details)")


def _check_request_details(requests: pd.DataFrame, path: Path, today: dt.date) -> None:
    rows, problems = [], []
    for i, rec in requests.iterrows():
        if rec["request"] != "rectification":
            continue
        try:
            fields = json.loads(rec["details"]) if isinstance(rec["details"], str) else None
            check_corrections(fields or {}, rec["person"], today)
        except (ValueError, TypeError) as exc:
            rows.append(int(i))  # type: ignore[arg-type]
            problems.append(str(exc))
    if rows:
        raise InputError(path, f"malformed rectification details: {problems[0]}", column="details", rows=rows)


# --- events ------------------------------------------------------------------------


def _cell(rec: Mapping[str, Any], column: str) -> str | None:
    value = rec.get(column)
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return None
    return str(value).strip()


def fieldwork_events(raw: RawSurvey, register: Register) -> list[NewEvent]:
    """The raw consent events and rights requests as register events (with natural keys).

    A consent event carries its withdrawal level (when the file gives one);
    a request its identity check (when given); a request with an outcome
    in the file is followed by a decision event (natural key
    ``rights_requests:<id>:decision``) naming the request by its register
    key. Sorted by date then fieldwork id, so a first import appends them in
    a deterministic order.
    """
    out: list[tuple[str, str, NewEvent]] = []
    for rec in raw.consent_events.to_dict("records"):
        level = _cell(rec, "withdrawal_level")
        out.append(
            (
                rec["event_date"],
                f"a{rec['event_id']}",
                NewEvent(
                    survey_id=rec["survey_id"],
                    person=rec["person"],
                    kind="consent",
                    scope=rec["scope"],
                    decision=rec["decision"],
                    effective_date=rec["event_date"],
                    contact=rec["contact"],
                    source=rec["source"],
                    origin="fieldwork_consent",
                    details={"level": level} if level else {},
                    source_ref=rec["event_id"],
                    natural_key=f"consent_events:{rec['event_id']}",
                    recorded_at=rec["event_date"],
                ),
            )
        )
    for rec in raw.rights_requests.to_dict("records"):
        kind = REQUEST_KINDS[rec["request"]]
        payload = None
        details: dict[str, Any] = {}
        if kind == "rectification":
            payload = check_corrections(json.loads(rec["details"]), rec["person"], dt.date.max)
            details = {"fields": sorted(payload)}
        identity = _cell(rec, "identity_check")
        if identity:
            details["identity_check"] = identity
        natural = f"rights_requests:{rec['request_id']}"
        out.append(
            (
                rec["request_date"],
                f"b{rec['request_id']}",
                NewEvent(
                    survey_id=rec["survey_id"],
                    person=rec["person"],
                    kind=kind,
                    effective_date=rec["request_date"],
                    contact="ad_hoc",
                    source="not_recorded",
                    origin="fieldwork_request",
                    details=details,
                    payload=payload,
                    source_ref=rec["request_id"],
                    natural_key=natural,
                    recorded_at=rec["request_date"],
                ),
            )
        )
        outcome = _cell(rec, "outcome")
        if outcome:
            decided = str(_cell(rec, "outcome_date"))
            decision: dict[str, Any] = {"request": register.event_key(natural), "outcome": outcome}
            if outcome == "refused":
                decision["reason"] = _cell(rec, "refusal_reason")
            if outcome == "extended":
                decision["due_date"] = R.due_date(dt.date.fromisoformat(rec["request_date"]), extended=True).isoformat()
            out.append(
                (
                    decided,
                    f"c{rec['request_id']}",
                    NewEvent(
                        survey_id=rec["survey_id"], person=rec["person"], kind="decision", effective_date=decided,
                        contact="ad_hoc", source="not_recorded", origin="fieldwork_request", details=decision,
                        natural_key=f"{natural}:decision", recorded_at=decided,
                    ),
                )
            )
    out.sort(key=lambda t: (t[0], t[1]))
    return [e for _, _, e in out]


def with_erasures(pending: Sequence[NewEvent], events: pd.DataFrame, cases: pd.DataFrame, register: Register, rp: R.RuleParams) -> list[NewEvent]:
    """``pending`` with ``erases`` set on each event that makes an erasure take effect.

    The rules decide what an erasure covers (:func:`sendlink.consent.rules.erasures`,
    rule ``own-requests``) from every event (``events``: the register's and
    these); the register deletes personal data by that mark when it appends
    the event.
    """
    marks: dict[str, str] = {}
    for found in R.erasures(events, cases, rp).values():
        marks.update(found)
    out = []
    for event in pending:
        key = register.event_key(event.natural_key) if event.natural_key else None
        part = marks.get(key) if key else None
        out.append(replace(event, details={**event.details, "erases": part}) if part else event)
    return out


def events_frame(register_events: pd.DataFrame, pending: Sequence[NewEvent], register: Register, survey_ids: Sequence[str]) -> pd.DataFrame:
    """The events the rules replay: the register's plus ``pending`` not yet in it.

    Pending events get ``seq`` numbers after the register's, in order, as an
    import would give them. ``survey_id`` is recovered from the case key for
    every id in ``survey_ids`` (so an erased case's events, whose id the
    register no longer holds, are still attached to it while its raw files
    exist).
    """
    by_key = {register.case_key(s): s for s in survey_ids}
    frame = register_events.copy()
    present = set(frame["event_key"])
    next_seq = int(frame["seq"].max()) + 1 if len(frame) else 1
    rows = []
    for event in pending:
        ek = register.event_key(event.natural_key) if event.natural_key else event.key
        if ek is not None and ek in present:
            continue
        rows.append(event.row(seq=next_seq, event_key=ek or f"pending-{next_seq}", case_key=register.case_key(event.survey_id),
                              recorded_at=event.recorded_at or ""))
        if ek is not None:
            present.add(ek)
        next_seq += 1
    if rows:
        frame = pd.concat([frame, pd.DataFrame(rows, columns=frame.columns)], ignore_index=True) if len(frame) else pd.DataFrame(rows, columns=frame.columns)
    frame["survey_id"] = [by_key.get(k, s) for k, s in zip(frame["case_key"], frame["survey_id"], strict=True)]
    frame["event_ref"] = frame["event_key"].astype(str).str[:12]
    frame["seq"] = frame["seq"].astype("int64")
    return frame.reset_index(drop=True)


def erased_parts(events: pd.DataFrame) -> dict[str, set[str]]:
    """Case key -> what the erasures marked in ``events`` took (``case``, ``parent``, ``young_person``), whatever their date."""
    out: dict[str, set[str]] = {}
    if not len(events) or "details" not in events.columns:
        return out
    for key, details in zip(events["case_key"], events["details"], strict=True):
        part = details.get("erases") if isinstance(details, Mapping) else None
        if part:
            out.setdefault(str(key), set()).add(str(part))
    return out


def erased_keys(events: pd.DataFrame) -> set[str]:
    """Case keys erased whole: a register mark ``erases: case`` (whatever its date)."""
    return {k for k, parts in erased_parts(events).items() if "case" in parts}


# --- building the outputs ----------------------------------------------------------------


@dataclass
class StageOutputs:
    """The stage's outputs, in memory."""

    status: pd.DataFrame
    holdings: dict[str, pd.DataFrame]  # file name -> table
    spine: pd.DataFrame
    removed: dict[str, dict[str, int]] = field(default_factory=dict)  # survey_id -> file name -> rows removed


def apply_corrections(contacts: pd.DataFrame, corrected: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """``contacts`` with corrected values in place (rule ``rectification``)."""
    out = contacts.copy()
    if not corrected:
        return out
    index = {sid: i for i, sid in enumerate(out[SURVEY_KEY].astype(str))}
    for sid, values in corrected.items():
        if sid not in index:
            continue
        for col, value in values.items():
            if col not in out.columns:
                out[col] = pd.Series([None] * len(out), dtype=object, index=out.index)
            if out[col].dtype != object and not pd.api.types.is_string_dtype(out[col]):
                out[col] = out[col].astype(object)
            # a field corrected to empty is missing (the contacts contract writes null)
            out.iloc[index[sid], out.columns.get_loc(col)] = value if value != "" else None
    return out


def survey_spine(contacts: pd.DataFrame, send: set[str]) -> pd.DataFrame:
    """The file sent to DfE: identifiers of cases in ``send`` only, no answers.

    Empty values are written as missing (the spine contract).
    """
    cols = [SURVEY_KEY, *[c for c in IDENTIFIER_COLUMNS if c in contacts.columns]]
    spine = contacts.loc[contacts[SURVEY_KEY].astype(str).isin(send), cols].copy()
    for col in cols[1:]:
        values = spine[col].astype(object)
        blank = values.isna() | (values.astype(str).str.strip() == "")
        spine[col] = values.where(~blank, None).map(lambda v: v if v is None else str(v))
    spine[SURVEY_KEY] = spine[SURVEY_KEY].astype(str)
    return spine.sort_values(SURVEY_KEY, kind="stable").reset_index(drop=True)


def build_outputs(
    raw: RawSurvey,
    events: pd.DataFrame,
    as_of: dt.date,
    rp: R.RuleParams,
    *,
    erased_case_keys: set[str] = frozenset(),  # type: ignore[assignment]
    case_key: Any = None,
    erased_part_keys: Mapping[str, set[str]] | None = None,
) -> StageOutputs:
    """Compute the stage's outputs from the raw files and the events (pure).

    Erasures are applied whatever ``as_of`` (an erasure cannot be undone by
    replaying an earlier date): every erasure the rules say has taken effect
    (:func:`sendlink.consent.rules.erasures`) and every one the register
    marks. A whole-case erasure removes the case from every file; a part
    erasure (rule ``own-requests``) removes that person's answer files' rows
    and blanks their fields in the contacts (:data:`~sendlink.consent.files.PERSON_FIELDS`).

    Parameters
    ----------
    erased_case_keys, erased_part_keys, case_key
        Case keys erased whole, and case key -> parts erased, as the register
        marks them, and the function mapping a survey id to its key.
    """
    cases = raw.cases()
    states = R.enforced_states(events, cases, as_of, rp)
    parts: dict[str, set[str]] = {sid: set(found.values()) for sid, found in R.erasures(events, cases, rp).items()}
    for sid, st in states.items():
        if st.erased:
            parts.setdefault(sid, set()).add("case")
        parts.setdefault(sid, set()).update(st.erased_parts)
    if case_key is not None:
        marks = {k: set(v) for k, v in (erased_part_keys or {}).items()}
        for k in erased_case_keys:
            marks.setdefault(k, set()).add("case")
        if marks:
            for sid in states:
                parts.setdefault(sid, set()).update(marks.get(case_key(sid), set()))
    taken = {sid: set(p) for sid, p in parts.items() if p}  # every erasure, before the parts are folded into the case
    parts = {sid: ({"case"} if "case" in p or p >= {"parent", "young_person"} else p) for sid, p in taken.items()}
    erased = {sid for sid, p in parts.items() if "case" in p}
    status = R.states_frame(st for sid, st in states.items() if sid not in erased)
    send = R.permitted_ids(status, "linkage")
    gone_child = {sid for sid, p in parts.items() if "young_person" in p}
    send -= gone_child  # their identifiers are erased: nothing to send

    removed: dict[str, dict[str, dict[str, int]]] = {sid: {part: {} for part in p | parts[sid]} for sid, p in sorted(taken.items())}

    def owner(name: str) -> str | None:
        return next((person for person, prefix in PERSON_ANSWER_PREFIX.items() if name.startswith(prefix)), None)

    def drop(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        ids = frame[SURVEY_KEY].astype(str)
        person = owner(name)
        whose = {sid for sid, p in parts.items() if person in p} if person else set()
        gone = ids.isin(erased) | ids.isin(whose)
        for sid, n in ids[gone].value_counts().items():
            # a person's file goes with their own erasure, even if the case went whole later
            removed[sid][str(person) if person in taken.get(sid, set()) else "case"][name] = int(n)
        return frame.loc[~gone].sort_values(SURVEY_KEY, kind="stable").reset_index(drop=True)

    def blank(contacts: pd.DataFrame) -> pd.DataFrame:
        out = contacts.copy()
        ids = out[SURVEY_KEY].astype(str)
        for person, fields in PERSON_FIELDS.items():
            rows = ids.isin({sid for sid, p in parts.items() if person in p and sid not in erased})
            if not rows.any():
                continue
            for col in (c for c in fields if c in out.columns):
                out[col] = out[col].astype(object)
                out.loc[rows, col] = None
            for sid in ids[rows]:
                removed[sid][person][CONTACTS] = 1
        return out

    corrected = R.corrections(events, cases, rp)
    holdings = {
        CONTACTS: drop(blank(apply_corrections(raw.contacts, corrected)), CONTACTS),
        SAMPLE: drop(raw.sample, SAMPLE),
    }
    for name, frame in raw.answers.items():
        holdings[name] = drop(frame, name)
    for sid in erased:
        removed[sid]["case"]["consent_status"] = 1
    spine = survey_spine(holdings[CONTACTS], send)
    return StageOutputs(status=status, holdings=holdings, spine=spine, removed=removed)


def erasure_log(register_events: pd.DataFrame, removed: Mapping[str, Mapping[str, Mapping[str, int]]], case_key: Any, files: ConsentFiles) -> pd.DataFrame:
    """One row per erasure and file: what was removed, without personal data.

    An erasure is the register event that made it take effect (``erases``
    in its details: the request granted on receipt, or the decision that
    granted it); ``requested_on`` and ``requested_by`` are the request's.
    """
    marked = register_events[[isinstance(d, Mapping) and bool(d.get("erases")) for d in register_events["details"]]] if len(register_events) else register_events
    requests = {str(k): (d, p) for k, d, p in zip(register_events["event_key"], register_events["effective_date"], register_events["person"], strict=True)} if len(register_events) else {}
    by_key = {case_key(sid): parts for sid, parts in removed.items()}
    names = {"consent_status": files.relative(files.status)}
    for parts in removed.values():
        for counts in parts.values():
            names.update({name: files.relative(files.holding(name)) for name in counts if name not in names})
    rows = []
    for rec in marked.sort_values("seq").to_dict("records"):
        details = rec["details"]
        part = str(details["erases"])
        requested_on, requested_by = rec["effective_date"], rec["person"]
        if rec["kind"] == "decision":
            requested_on, requested_by = requests.get(str(details.get("request")), (requested_on, requested_by))
        common = {"erasure_ref": str(rec["event_key"])[:12], "requested_on": requested_on, "requested_by": requested_by, "erased_part": part}
        rows.append({**common, "file": files.relative(files.register), "rows_removed": int(details.get("register_rows_removed", 0))})
        for name, n in sorted(by_key.get(rec["case_key"], {}).get(part, {}).items()):
            rows.append({**common, "file": names[name], "rows_removed": n})
    frame = pd.DataFrame(rows, columns=list(ERASURE_LOG.columns))
    frame["rows_removed"] = frame["rows_removed"].astype("int64")
    return frame.sort_values(["requested_on", "erasure_ref", "file"], kind="stable").reset_index(drop=True)


# --- the stage --------------------------------------------------------------------


@dataclass(frozen=True)
class StageResult:
    """What :func:`run` did."""

    as_of: dt.date
    imported: ImportResult
    cases: int
    sent_for_linkage: int
    erased: int
    written: tuple[Path, ...]

    def __str__(self) -> str:
        return (
            f"consent as of {self.as_of}: {self.cases} case(s), {self.sent_for_linkage} sent for linkage, "
            f"{self.erased} erased; register: {self.imported}"
        )


def output_files(files: ConsentFiles) -> list[Path]:
    """Every file the stage writes (its stale temporaries are removed when it starts)."""
    return [files.status, *(files.holding(raw.name) for raw in catalogue.HOLDINGS), files.survey_spine,
            files.register_export, files.erasure_log, catalogue.WORLD.at(files.paths)]


def run(paths: Paths | None = None, params: Params | None = None, *, as_of: dt.date | None = None) -> StageResult:
    """Run the consent stage (see the module docstring).

    Parameters
    ----------
    paths, params
        The project's, by default.
    as_of
        Defaults to ``consent.as_of`` in ``params.yaml``.

    Writes
    ------
    ``data/survey_org/consent_status.parquet``, ``data/survey_org/holdings/*``,
    ``data/survey_org/consent_register.parquet``,
    ``data/linkage/incoming/survey_spine.parquet``,
    ``data/register/erasure_log.csv``; appends to ``data/register/consent.sqlite``.
    """
    ctx = context(paths, params)
    as_of = as_of or ctx.params.as_of
    files, register = ctx.files, ctx.register
    remove_stale_temporaries(output_files(files))
    raw = read_raw_survey(files)
    raw, events = current_events(ctx, raw)
    outputs = build_outputs(raw, events, as_of, ctx.rule_params, erased_case_keys=erased_keys(events),
                            erased_part_keys=erased_parts(events), case_key=register.case_key)
    status = schema.validate(outputs.status, CONSENT_STATUS, files.status)
    outputs.holdings[CONTACTS] = schema.validate(outputs.holdings[CONTACTS], CONTACTS_TABLE, files.holding(CONTACTS))
    spine = schema.validate(outputs.spine, SURVEY_SPINE, files.survey_spine)
    written: list[Path] = []
    with StagedWrites() as out:
        written.append(out.table(status, files.status))
        for name, frame in sorted(outputs.holdings.items()):
            written.append(out.table(frame, files.holding(name)))
        written.append(out.table(spine, files.survey_spine))
        # Last, so that a failure above leaves the register as it was.
        imported = import_fieldwork(ctx, raw)
        after = register.events()
        export = schema.validate(register.export(), REGISTER_EXPORT, files.register_export)
        written.append(out.table(export, files.register_export))
        log_frame = schema.validate(erasure_log(after, outputs.removed, register.case_key, files), ERASURE_LOG, files.erasure_log)
        written.append(out.table(log_frame, files.erasure_log))
    result = StageResult(
        as_of=as_of,
        imported=imported,
        cases=len(status),
        sent_for_linkage=len(spine),
        erased=sum(1 for parts in outputs.removed.values() if "case" in parts),
        written=tuple(written),
    )
    log.info("%s", result)
    return result


# --- read-only views for the command line ------------------------------------------------


def import_fieldwork(ctx: Context, raw: RawSurvey) -> ImportResult:
    """Import the fieldwork events into the register (idempotent), in one transaction.

    What each erasure covers is worked out by the rules inside the
    transaction, from the register's events and these, so the register
    deletes exactly the personal data the rules say the erasure took.
    """
    pending = fieldwork_events(raw, ctx.register)
    with ctx.register.transaction() as tx:
        events = events_frame(tx.events(), pending, ctx.register, raw.survey_ids)
        marked = with_erasures(pending, events, raw.cases(), ctx.register, ctx.rule_params)
        return tx.import_events(marked, source=ctx.files.consent_events)


def current_events(ctx: Context, raw: RawSurvey | None = None) -> tuple[RawSurvey, pd.DataFrame]:
    """The raw files and every event (register plus not-yet-imported), read only."""
    raw = raw or read_raw_survey(ctx.files)
    events = events_frame(ctx.register.events(), fieldwork_events(raw, ctx.register), ctx.register, raw.survey_ids)
    return raw, events


def status_table(ctx: Context, as_of: dt.date, *, enforced: bool = False) -> pd.DataFrame:
    """Every case's state as of ``as_of`` (replay; or as the pipeline enforces it).

    Erased cases are not listed (an erased case is known only to the
    register, by its keyed hash).
    """
    raw, events = current_events(ctx)
    cases = raw.cases()
    states = (R.enforced_states if enforced else R.case_states)(events, cases, as_of, ctx.rule_params)
    gone = erased_keys(events)
    return R.states_frame(st for sid, st in states.items() if not st.erased and ctx.register.case_key(sid) not in gone)


def explain_case(ctx: Context, survey_id: str, as_of: dt.date, *, enforced: bool = True) -> R.Explanation:
    """:func:`sendlink.consent.rules.explain` for one case of the project.

    Raises ``RequestError`` for an unknown survey id.
    """
    from sendlink.errors import RequestError

    raw, events = current_events(ctx)
    if str(survey_id) not in set(raw.survey_ids):
        raise RequestError(f"unknown survey id {survey_id!r}: no such case in {ctx.files.relative(ctx.files.contacts)} or {ctx.files.relative(ctx.files.sample)}")
    return R.explain(str(survey_id), as_of, events, raw.cases(), ctx.rule_params, enforced=enforced)

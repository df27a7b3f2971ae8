"""Access requests: everything held about a survey case, in a readable file.

The report gathers, for one case: the identifiers and contact details the
survey organisation holds (with rectifications applied), the sampling
record, every survey answer, the consent and rights history with the rule
applied to each event, the current state in plain words, whether and how
the case was linked (DfE's match result, if linkage has run) and the linked
NPD record. Written as Markdown (readable by a parent) or, for a ``.json``
file, JSON with the same content.

In the real study the survey organisation and DfE would each answer for the
data they hold; on synthetic data one report shows both, each part saying
who holds it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sendlink.consent import rules as R
from sendlink.consent.files import CHILD_IDENTIFIERS, PARENT_CONTACT
from sendlink.consent.stage import Context, RawSurvey, apply_corrections
from sendlink.io import read_table

#: Parts of the report, in order, with who holds the data.
HOLDERS = {
    "identifiers": "the survey organisation",
    "sample": "the survey organisation (drawn from the NPD by DfE)",
    "answers": "the survey organisation",
    "consent": "the survey organisation (consent register)",
    "linkage": "DfE's linkage team",
    "npd": "DfE (National Pupil Database)",
}

_LINK_WORDS = {
    "matched": "linked: the child's NPD record was found with confidence",
    "clerical_review": "uncertain: a person at DfE checks the match; not linked until they decide",
    "unmatched": "not linked: no NPD record was found with enough evidence",
}


def _plain(value: Any) -> Any:
    """A JSON-friendly, readable value (missing -> None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return _plain(value.item())
        except (ValueError, AttributeError):
            pass
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()[:10] if isinstance(value, pd.Timestamp) and value == value.normalize() else value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _row(frame: pd.DataFrame, survey_id: str, key: str = "survey_id") -> dict[str, Any] | None:
    rows = frame[frame[key].astype(str) == survey_id]
    if rows.empty:
        return None
    return {str(k): _plain(v) for k, v in rows.iloc[0].items()}


def _rows(frame: pd.DataFrame, value: str, key: str) -> list[dict[str, Any]]:
    rows = frame[frame[key].astype(str) == value]
    return [{str(k): _plain(v) for k, v in rec.items()} for rec in rows.to_dict("records")]


def access_report(
    ctx: Context,
    raw: RawSurvey,
    events: pd.DataFrame,
    survey_id: str,
    *,
    person: str,
    today: dt.date,
) -> dict[str, Any]:
    """Everything held about ``survey_id``, as a JSON-friendly dictionary."""
    sid = str(survey_id)
    cases = raw.cases()
    one = cases[cases["survey_id"] == sid]
    case_events = events[events["survey_id"].astype(str) == sid]
    contacts = apply_corrections(raw.contacts, R.corrections(case_events, one, ctx.rule_params))
    held = _row(contacts, sid)
    identifiers = None
    if held is not None:
        identifiers = {
            "child": {k: held.get(k) for k in CHILD_IDENTIFIERS if k in held},
            "parent": {k: held.get(k) for k in PARENT_CONTACT if k in held},
            "other": {k: v for k, v in held.items() if k not in (*CHILD_IDENTIFIERS, *PARENT_CONTACT, "survey_id")},
        }
    answers = {name: _row(frame, sid) for name, frame in sorted(raw.answers.items())}

    explanation = R.explain(sid, today, case_events, one, ctx.rule_params, enforced=False)
    state = explanation.state
    history = [
        {
            "date": st.event.date.isoformat(),
            "what": st.event.describe(),
            "how": " ".join(x for x in (st.event.contact, st.event.source) if x),
            "effect": f"{st.verdict}: {st.note}",
        }
        for st in explanation.steps
    ]
    consent = {
        "history": history,
        "current": {
            "linking the parent's answers": state.consent_parent_answers,
            "linking the child's answers": state.consent_child_answers,
            "who decides about the child's answers": state.child_scope_governed_by,
            "processing restricted": state.restricted,
            "objected to research processing": state.objected,
            "sent to DfE for linkage": state.send_for_linkage,
            "answers used in analysis": state.may_analyse,
        },
        "in plain words": state.reason,
        "rules": dict(explanation.rules),
    }

    linkage: dict[str, Any] = {"sent for linkage at the next run": state.send_for_linkage}
    link = None
    if ctx.files.links.is_file():
        links = read_table(ctx.files.links)
        link = _row(links, sid) if "survey_id" in links.columns else None
    if link is None:
        linkage["result"] = "no linkage result is held for this case" + ("" if ctx.files.links.is_file() else " (linkage has not run)")
    else:
        status = str(link.get("link_status"))
        linkage["result"] = _LINK_WORDS.get(status, status)
        linkage["match details"] = link
        linkage["how"] = (
            "DfE compared the child's names, date of birth, sex, postcode and school, as the survey organisation "
            "sent them, with NPD records, and scored the agreement (Fellegi-Sunter probabilistic matching). "
            "match_probability is the model's probability that the records are the same child."
        )
    npd: dict[str, Any] | None = None
    upn = link.get("upn") if link and str(link.get("link_status")) == "matched" else None
    if upn:
        npd = {}
        for path in sorted(ctx.files.npd.glob("*")):
            if path.suffix not in (".csv", ".parquet"):
                continue
            table = read_table(path, dtype_str=True) if path.suffix == ".csv" else read_table(path)
            if "upn" in table.columns:
                rows = _rows(table, str(upn), "upn")
                if rows:
                    npd[path.stem] = rows
    return {
        "title": f"What the study holds about survey case {sid}",
        "survey_id": sid,
        "prepared_on": today.isoformat(),
        "requested_by": person,
        "notice": "SYNTHETIC DATA: this report is about an invented person, produced by the sendlink teaching project.",
        "identifiers": identifiers,
        "sample": _row(raw.sample, sid),
        "answers": answers,
        "consent": consent,
        "linkage": linkage,
        "npd": npd,
    }


# --- rendering ------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "(not held)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return text.replace("|", "\\|").replace("\n", " ") or "(empty)"


def _kv(mapping: Mapping[str, Any], head: tuple[str, str] = ("item", "value")) -> list[str]:
    lines = [f"| {head[0]} | {head[1]} |", "| --- | --- |"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in mapping.items()]
    return lines


def _table(rows: list[Mapping[str, Any]]) -> list[str]:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown, for a parent or young person to read."""
    out = [f"# {report['title']}", "", f"> {report['notice']}", ""]
    out += [
        f"Prepared on {report['prepared_on']} at the request of {R.PERSON.get(report['requested_by'], report['requested_by'])}. "
        "It lists everything the study holds about this case, who holds it, and what it is used for.",
        "",
    ]
    out += ["## 1. Your details", "", f"Held by {HOLDERS['identifiers']}.", ""]
    ident = report["identifiers"]
    if ident is None:
        out += ["No names, addresses or contact details are held (the household did not take part).", ""]
    else:
        out += ["**The child's details, as the parent gave them (with any corrections):**", "", *_kv(ident["child"], ("detail", "held as")), ""]
        if ident["parent"]:
            out += ["**The parent's contact details:**", "", *_kv(ident["parent"], ("detail", "held as")), ""]
        if ident["other"]:
            out += ["**Other:**", "", *_kv(ident["other"]), ""]
    out += ["## 2. How the family was chosen", "", f"Held by {HOLDERS['sample']}.", ""]
    out += [*_kv(report["sample"]), ""] if report["sample"] else ["No sampling record is held.", ""]
    out += ["## 3. Survey answers", "", f"Held by {HOLDERS['answers']}.", ""]
    for name, row in report["answers"].items():
        out += [f"### {Path(name).stem.replace('_', ' ')}", ""]
        out += [*_kv(row, ("question", "answer")), ""] if row else ["No answers in this questionnaire.", ""]
    c = report["consent"]
    out += ["## 4. Permission to link, and your requests", "", f"Held by {HOLDERS['consent']}.", ""]
    out += [*_table(c["history"]), ""] if c["history"] else ["Nothing recorded.", ""]
    out += ["**Where things stand now:**", "", *_kv(c["current"]), "", c["in plain words"], ""]
    out += ["**The rules applied:**", ""] + [f"- {text}" for text in c["rules"].values()] + [""]
    link = report["linkage"]
    out += ["## 5. Linking to school records", "", f"Held by {HOLDERS['linkage']}.", ""]
    out += [f"Sent for linkage at the next run: {_cell(link['sent for linkage at the next run'])}.", "", f"Result: {link['result']}.", ""]
    if "match details" in link:
        out += [link["how"], "", *_kv(link["match details"]), ""]
    out += ["## 6. The linked school record", "", f"Held by {HOLDERS['npd']}.", ""]
    if not report["npd"]:
        out += ["No National Pupil Database record is linked to this case.", ""]
    else:
        for table, rows in report["npd"].items():
            out += [f"### {table}", "", *_table(rows), ""]
    out += [
        "## What researchers see",
        "",
        "Researchers never see names, addresses, postcodes, exact dates of birth, the pupil number or the survey "
        "number: they work on a de-identified file under a research number, and publish only counts and statistics "
        "checked so that no one can be recognised.",
        "",
    ]
    return "\n".join(out)


def render(report: Mapping[str, Any], path: Path) -> str:
    """The report as the text of ``path``: JSON for ``.json``, else Markdown."""
    if path.suffix.lower() == ".json":
        return json.dumps(report, indent=2, sort_keys=False, ensure_ascii=False, default=str) + "\n"
    return render_markdown(report)

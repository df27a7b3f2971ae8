"""``sendlink rights``: record a data-subject rights request.

Commands (each appends to the consent register; a refused request changes
nothing and exits with status 2)::

    sendlink rights access ID --out FILE.md|FILE.json
    sendlink rights rectify ID --set surname=Khan [--set postcode="AB1 2CD" ...]
    sendlink rights erase ID
    sendlink rights restrict ID
    sendlink rights unrestrict ID
    sendlink rights object ID
    sendlink rights withdraw ID [--scope parent_answers|child_answers|all]

Common options: ``--person parent|young_person`` (default parent),
``--date YYYY-MM-DD`` (when the request was received; default today, never
in the future), ``--source letter|email|phone|web|face_to_face``.
"""

from __future__ import annotations

import argparse

from sendlink.errors import RequestError

ACTION_HELP = {
    "access": "write everything held about the person to a readable file",
    "rectify": "correct identifiers (re-linked on the next run)",
    "erase": "erase the case from every file on the next run",
    "restrict": "keep the data but stop processing (not linked, not analysed)",
    "unrestrict": "lift a restriction",
    "object": "object to processing for research (excluded from linkage and analysis)",
    "withdraw": "withdraw permission to link",
}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in ACTION_HELP.items():
        p = sub.add_parser(action, help=text, description=text)
        p.add_argument("survey_id", help="the survey case")
        p.add_argument("--person", choices=["parent", "young_person"], default="parent", help="who makes the request (default: parent)")
        p.add_argument("--date", help="date the request was received, YYYY-MM-DD (default: today; never in the future)")
        p.add_argument("--source", choices=["letter", "email", "phone", "web", "face_to_face"], default="letter", help="how it arrived (default: letter)")
        if action == "withdraw":
            p.add_argument("--scope", choices=["parent_answers", "child_answers", "all"], default="all", help="which permission (default: all the person may withdraw)")
        if action == "rectify":
            p.add_argument("--set", dest="fields", action="append", required=True, metavar="FIELD=VALUE", help="a corrected value (repeatable); an empty value clears an optional field")
        if action == "access":
            p.add_argument("--out", required=True, help="the file to write: .md (Markdown) or .json")


def _fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise RequestError(f"malformed rectification: --set {pair!r} is not FIELD=VALUE")
        if name.strip() in fields:
            raise RequestError(f"malformed rectification: {name.strip()!r} given twice")
        fields[name.strip()] = value
    return fields


def run(args: argparse.Namespace) -> int:
    import datetime as dt
    from pathlib import Path

    from sendlink.config import Paths
    from sendlink.consent import access, stage
    from sendlink.consent.cli import check_out, parse_date
    from sendlink.consent.requests import Request, record_request
    from sendlink.io import StagedWrites

    if args.action == "access":
        out = Path(args.out)
        if out.suffix.lower() not in (".md", ".json", ".markdown", ".txt"):
            raise RequestError(f"--out: {out} must end in .md or .json")
        check_out("--out", out, Paths.discover(), table=False)
    ctx = stage.context()
    today = dt.date.today()
    on = parse_date(args.date, "--date") if args.date else None
    request = Request(
        action=args.action,
        survey_id=args.survey_id,
        person=args.person,
        on=on,
        source=args.source,
        scope=getattr(args, "scope", "all"),
        fields=_fields(args.fields) if args.action == "rectify" else None,
    )
    if args.action == "access":
        out = Path(args.out)
        raw, events = stage.current_events(ctx)
        from sendlink.consent.requests import plan

        plan(ctx, request, raw, events, today)  # refuse before building anything
        report = access.access_report(ctx, raw, events, args.survey_id, person=args.person, today=on or today)
        with StagedWrites() as staged:
            staged.text(access.render(report, out), out)
            recorded = record_request(ctx, request, today=today, raw=raw)
        print(recorded.message.replace("A copy of everything held was written.", f"A copy of everything held was written to {out}."))
        return 0
    recorded = record_request(ctx, request, today=today)
    print(recorded.message)
    return 0

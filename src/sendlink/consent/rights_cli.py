"""``sendlink rights``: record a data-subject rights request, decide it, list the open ones.

Commands (each request appends to the consent register; a request the
command refuses to record changes nothing and exits with status 2)::

    sendlink rights access ID --out FILE.md|FILE.json
    sendlink rights rectify ID --set surname=Khan [--set postcode="AB1 2CD" ...]
    sendlink rights erase ID
    sendlink rights restrict ID
    sendlink rights unrestrict ID
    sendlink rights object ID
    sendlink rights withdraw ID [--scope parent_answers|child_answers|all] [--level no_contact|no_linkage|no_use]
    sendlink rights decide REF --grant | --refuse REASON | --extend [--date D] [--out FILE]
    sendlink rights pending [--today D] [--out FILE]

Common options of a request: ``--person parent|young_person`` (default
parent), ``--date YYYY-MM-DD`` (when the request was received; default
today, never in the future, never empty), ``--source
letter|email|phone|web|face_to_face``, ``--identity`` (how the requester's
identity was checked; default ``not_recorded``), and, except for a
withdrawal, ``--outcome granted|refused|extended`` with ``--reason`` for a
refusal (default: the policy ``consent.request_decisions``: granted on
receipt, or open until ``rights decide``).
"""

from __future__ import annotations

import argparse

from sendlink.errors import RequestError
from sendlink.schema.consent import IDENTITY_CHECKS, REFUSAL_REASONS, WITHDRAWAL_LEVELS

ACTION_HELP = {
    "access": "write everything held about the person to a readable file",
    "rectify": "correct identifiers (re-linked on the next run)",
    "erase": "erase the person's data (the whole case while the parent decides for the child) from every file on the next run",
    "restrict": "keep the data but stop processing (not linked, not analysed)",
    "unrestrict": "lift a restriction",
    "object": "object to processing for research (the person's answers excluded from linkage and analysis)",
    "withdraw": "withdraw permission to link (always honoured; a young person's counts at any age)",
}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in ACTION_HELP.items():
        p = sub.add_parser(action, help=text, description=text)
        p.add_argument("survey_id", help="the survey case")
        p.add_argument("--person", choices=["parent", "young_person"], default="parent", help="who makes the request (default: parent)")
        p.add_argument("--date", help="date the request was received, YYYY-MM-DD (default: today; never in the future; an empty value is refused)")
        p.add_argument("--source", choices=["letter", "email", "phone", "web", "face_to_face"], default="letter", help="how it arrived (default: letter)")
        if action == "withdraw":
            p.add_argument("--scope", choices=["parent_answers", "child_answers", "all"], default="all", help="which permission (default: all the person may withdraw)")
            p.add_argument("--level", choices=list(WITHDRAWAL_LEVELS), default="no_use",
                           help="what the withdrawal stops: no_contact (no further contact; linkage and use continue), no_linkage "
                                "(no further linkage; data already linked may still be used), no_use (default: no further use)")
            continue
        p.add_argument("--identity", choices=list(IDENTITY_CHECKS), default="not_recorded", help="how the requester's identity was checked (default: not_recorded)")
        p.add_argument("--outcome", choices=["granted", "refused", "extended"], default=None,
                       help="the decision, if made now (default: consent.request_decisions: granted on receipt, or open until `rights decide`)")
        p.add_argument("--reason", choices=list(REFUSAL_REASONS), default=None, help="why a refused request is refused (with --outcome refused)")
        p.add_argument("--decided-on", dest="decided_on", help="date of the decision, YYYY-MM-DD (default: the date received)")
        if action == "rectify":
            p.add_argument("--set", dest="fields", action="append", required=True, metavar="FIELD=VALUE", help="a corrected value (repeatable); an empty value clears an optional field")
        if action == "access":
            p.add_argument("--out", required=True, help="the file to write: .md (Markdown) or .json")
    p = sub.add_parser("decide", help="record the decision on an open request", description="record the decision on an open request (see `rights pending`)")
    p.add_argument("ref", help="the request's reference, as `sendlink rights pending` shows it (at least 8 characters)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--grant", action="store_true", help="grant it: it takes effect from the decision's date")
    what.add_argument("--refuse", choices=list(REFUSAL_REASONS), metavar="REASON", help=f"refuse it, for one of: {', '.join(REFUSAL_REASONS)}")
    what.add_argument("--extend", action="store_true", help="extend the time to answer by two months (a complex request)")
    p.add_argument("--date", help="date of the decision, YYYY-MM-DD (default: today; never in the future; an empty value is refused)")
    p.add_argument("--source", choices=["letter", "email", "phone", "web", "face_to_face"], default="letter", help="how the decision was sent (default: letter)")
    p.add_argument("--out", help="for a granted access request: the file to write (.md or .json)")
    p = sub.add_parser("pending", help="list the open requests with their due dates; flag overdue ones")
    p.add_argument("--today", help="the date to count from, YYYY-MM-DD (default: today)")
    p.add_argument("--out", help="also write the list here (.csv or .parquet)")


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


def _access_out(value: str):
    """The access report's path: .md or .json, and never a protected file (checked before any work)."""
    from pathlib import Path

    from sendlink.config import Paths
    from sendlink.consent.cli import check_out

    out = Path(value)
    if out.suffix.lower() not in (".md", ".json", ".markdown", ".txt"):
        raise RequestError(f"--out: {out} must end in .md or .json")
    check_out("--out", out, Paths.discover(), table=False)
    return out


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    from sendlink.consent import stage
    from sendlink.consent.cli import parse_date

    today = dt.date.today()
    if args.action == "pending":
        return _pending(args, today)
    if args.action == "decide":
        return _decide(args, today)

    from sendlink.consent import access
    from sendlink.consent.requests import Request, plan, record_request
    from sendlink.io import StagedWrites

    on = parse_date(args.date, "--date") if args.date is not None else None
    access_out = _access_out(args.out) if args.action == "access" else None
    ctx = stage.context()
    request = Request(
        action=args.action,
        survey_id=args.survey_id,
        person=args.person,
        on=on,
        source=args.source,
        scope=getattr(args, "scope", "all"),
        fields=_fields(args.fields) if args.action == "rectify" else None,
        level=getattr(args, "level", "no_use"),
        identity=getattr(args, "identity", "not_recorded"),
        outcome=getattr(args, "outcome", None),
        reason=getattr(args, "reason", None),
        decided_on=parse_date(args.decided_on, "--decided-on") if getattr(args, "decided_on", None) is not None else None,
    )
    if access_out is not None:
        out = access_out
        raw, events = stage.current_events(ctx)
        plan(ctx, request, raw, events, today)  # refuse before building anything
        report = access.access_report(ctx, raw, events, args.survey_id, person=args.person, today=on or today)
        with StagedWrites() as staged:
            recorded = record_request(ctx, request, today=today, raw=raw, write=lambda: staged.text(access.render(report, out), out))
        message = recorded.message
        if recorded.granted:
            message = message.replace("A copy of everything held was written.", f"A copy of everything held was written to {out}.")
        else:
            message += f" No copy was written; it is written when the request is granted (`sendlink rights decide {recorded.ref} --grant --out {out}`)."
        print(message)
        return 0
    recorded = record_request(ctx, request, today=today)
    print(recorded.message)
    return 0


def _decide(args: argparse.Namespace, today) -> int:
    from sendlink.consent import access, stage
    from sendlink.consent.cli import parse_date
    from sendlink.consent.requests import Decision, find_request, record_decision
    from sendlink.io import StagedWrites

    on = parse_date(args.date, "--date") if args.date is not None else None
    outcome = "granted" if args.grant else "refused" if args.refuse else "extended"
    ctx = stage.context()
    raw, events = stage.current_events(ctx)
    request = find_request(events, args.ref)
    out = None
    if request["kind"] == "access" and outcome == "granted":
        if not args.out:
            raise RequestError("granting an access request writes the copy: give --out FILE.md or FILE.json")
        out = _access_out(args.out)
    elif args.out:
        raise RequestError("--out is only for granting an access request")
    decision = Decision(ref=args.ref, outcome=outcome, on=on, reason=args.refuse, source=args.source)
    with StagedWrites() as staged:
        def write(req) -> None:
            report = access.access_report(ctx, raw, events, str(req["survey_id"]), person=str(req["person"]), today=on or today)
            staged.text(access.render(report, out), out)

        message, _ = record_decision(ctx, decision, today=today, write=write if out is not None else None)
    if out is not None:
        message = message.replace("A copy of everything held was written.", f"A copy of everything held was written to {out}.")
    print(message)
    return 0


def _pending(args: argparse.Namespace, today) -> int:
    from sendlink import io
    from sendlink.consent import stage
    from sendlink.consent.cli import parse_date
    from sendlink.consent.requests import pending

    when = parse_date(args.today, "--today") if args.today is not None else today
    if args.out:
        from sendlink.config import Paths
        from sendlink.consent.cli import check_out

        check_out("--out", args.out, Paths.discover(), table=True)
    ctx = stage.context()
    table = pending(ctx, when)
    if args.out:
        io.write_table(table, args.out)
    if table.empty:
        print(f"no open rights requests on {when}")
        return 0
    overdue = int((table["status"] == "OVERDUE").sum())
    print(f"{len(table)} open rights request(s) on {when}" + (f", {overdue} OVERDUE" if overdue else "") + ":")
    print(table.to_string(index=False))
    return 0

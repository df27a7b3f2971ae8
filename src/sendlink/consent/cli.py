"""``sendlink consent``: import events, show status, explain a decision, export, run the stage.

Commands::

    sendlink consent import                      import the fieldwork events (idempotent)
    sendlink consent status [--as-of D] [--enforced] [--out FILE]
    sendlink consent explain ID [--as-of D] [--replay]
    sendlink consent export [--out FILE]         the register's log for the notebooks
    sendlink consent apply [--as-of D]           the pipeline's consent stage
    sendlink consent rules                       the rules, one line each
    sendlink consent verify                      check the register's hash chain; print its length and head
    sendlink consent migrate                     add the hash chain to a register made by schema 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from sendlink.errors import RequestError

log = logging.getLogger(__name__)


def parse_date(text: str | None, option: str) -> dt.date:
    """A ``YYYY-MM-DD`` date from the command line, or a clear RequestError.

    An empty or blank value is refused like any malformed one: a blank
    shell variable (``--date "$DAY"``) must never mean "today".
    """
    if text is None or not str(text).strip():
        raise RequestError(f"{option}: the value is empty; give a date written YYYY-MM-DD (leave the option out for today)")
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RequestError(f"{option}: {text!r} is not a date written YYYY-MM-DD") from None


def configure_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("import", help="import the fieldwork consent events and rights requests (importing twice adds nothing)")
    p = sub.add_parser("status", help="who may be linked for which scope, as of a date")
    p.add_argument("--as-of", help="date YYYY-MM-DD (default: consent.as_of in params.yaml)")
    p.add_argument("--enforced", action="store_true", help="as the pipeline enforces it: also honour stop requests recorded after the date")
    p.add_argument("--out", help="write the table here (.csv or .parquet); default: print counts")
    p = sub.add_parser("explain", help="the events and rules behind one case's state")
    p.add_argument("survey_id")
    p.add_argument("--as-of", help="date YYYY-MM-DD (default: consent.as_of in params.yaml)")
    p.add_argument("--replay", action="store_true", help="pure replay to the date (ignore later stop requests)")
    p = sub.add_parser("export", help="write the register's event log (CSV or Parquet) for the notebooks")
    p.add_argument("--out", help="default: data/survey_org/consent_register.parquet")
    p = sub.add_parser("apply", help="run the consent stage: status, holdings, survey spine, erasure log")
    p.add_argument("--as-of", help="date YYYY-MM-DD (default: consent.as_of in params.yaml)")
    sub.add_parser("rules", help="print the rules")
    sub.add_parser("verify", help="check the register's hash chain (tamper evidence); print its length and head digest")
    sub.add_parser("migrate", help="add the hash chain to a register made by an earlier version (schema 1), keeping every event")


def protected_files(paths) -> dict[str, object]:
    """Files an ``--out`` of the consent and rights commands may never replace.

    The survey organisation's raw files, the register and its erasure log
    and world marker, the generator's manifest, DfE's NPD and the
    parameters: the inputs of the consent stage, and the records that could
    not be rebuilt if they were overwritten.
    """
    from sendlink.schema import catalogue

    files = (*catalogue.SURVEY, *catalogue.NPD, catalogue.MANIFEST, catalogue.REGISTER_DB, catalogue.ERASURE_LOG, catalogue.WORLD)
    out: dict[str, object] = {f.path: f.at(paths) for f in files}
    out["params.yaml"] = paths.params
    return out


def check_out(option: str, out, paths, *, table: bool) -> None:
    """Refuse, before any work, an ``--out`` that is a protected file, a folder or (``table``) not .csv/.parquet."""
    from sendlink import io

    if out is None:
        return
    io.check_paths({option: out}, protected_files(paths), tables=(option,) if table else ())
    io.remove_stale_temporaries([out])


def run(args: argparse.Namespace) -> int:
    from sendlink import io
    from sendlink.config import Paths
    from sendlink.consent import rules, stage
    from sendlink.consent.stage import context

    if args.action == "rules":
        for rule, text in rules.RULES.items():
            print(f"[{rule}] {text}")
        return 0
    if getattr(args, "out", None):
        check_out("--out", args.out, Paths.discover(), table=True)
    ctx = context()
    as_of = parse_date(args.as_of, "--as-of") if getattr(args, "as_of", None) is not None else ctx.params.as_of
    if args.action == "verify":
        length, head = ctx.register.verify()
        print(f"{ctx.files.relative(ctx.register.path)}: hash chain intact, {length} event(s); head {head}")
        print("Keep the head somewhere else (with the date): a later head that does not continue from it means the register was rolled back.")
        return 0
    if args.action == "migrate":
        print(f"{ctx.files.relative(ctx.register.path)}: {ctx.register.migrate()}")
        return 0
    if args.action == "import":
        raw = stage.read_raw_survey(ctx.files)
        result = stage.import_fieldwork(ctx, raw)
        print(f"{ctx.files.relative(ctx.register.path)}: {result}")
    elif args.action == "status":
        table = stage.status_table(ctx, as_of, enforced=args.enforced)
        if args.out:
            io.write_table(table, args.out)
            print(f"wrote {args.out}: {len(table)} case(s) as of {as_of}")
        else:
            print(f"as of {as_of}{' (enforced)' if args.enforced else ''}: {len(table)} case(s)")
            for col in ("send_for_linkage", "may_link_parent_answers", "may_link_child_answers", "may_analyse",
                        "may_analyse_parent_answers", "may_analyse_child_answers", "restricted", "objected", "no_further_contact"):
                print(f"  {col:<26} {int(table[col].sum())}")
            print(f"  {'young_person_refused':<26} {int(table['young_person_refused_on'].notna().sum())}")
            print(f"  {'part_erased':<26} {int(table['erased_part'].notna().sum())}")
    elif args.action == "explain":
        print(stage.explain_case(ctx, args.survey_id, as_of, enforced=not args.replay).render(), end="")
    elif args.action == "export":
        out = args.out or ctx.files.register_export
        table = ctx.register.export()
        io.write_table(table, out)
        print(f"wrote {out}: {len(table)} event(s)")
    elif args.action == "apply":
        print(stage.run(ctx.paths, as_of=as_of))
    return 0

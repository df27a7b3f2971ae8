"""``sendlink scan``: search the research-facing files for identifiers; exit 1 on any hit."""

from __future__ import annotations

import argparse
from pathlib import Path

from sendlink.config import Paths
from sendlink.scan.linkage_unit import check_linkage_unit
from sendlink.scan.scanner import IdentifierLeak, run_scan

__all__ = ["configure_parser", "run"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("targets", nargs="*", type=Path,
                        help="files or folders (default: data/research, data/summary.json, reports, notebooks)")
    parser.add_argument("--root", type=Path, default=None, help="project root (default: found from the current folder)")


def run(args: argparse.Namespace) -> int:
    """Scan; print every hit; exit 1 if anything was found."""
    paths = Paths(args.root.resolve()) if args.root else Paths.discover()
    try:
        # The default targets also check the linkage unit's folder (no plain identifier there).
        result = run_scan(paths, args.targets or None, checks=() if args.targets else (check_linkage_unit,))
    except IdentifierLeak as leak:
        print(leak.result.summary())
        return 1
    print(result.summary())
    for path, party in result.allowed:
        print(f"  let through (declared teaching page, {party}): {path}")
    return 0

"""``sendlink extract``: build the de-identified research extract.

Reads the consent status and holdings, DfE's match results and the NPD;
writes ``data/research/`` (the extract, its two sensitivity versions, the
k-anonymity report and a README), all or nothing.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sendlink.config import Paths
from sendlink.params import load_params

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("--params", type=Path, default=None, help="parameter file (default: the project's params.yaml)")
    parser.add_argument("--root", type=Path, default=None, help="project root (default: found from the current folder)")


def run(args: argparse.Namespace) -> int:
    """Run the extract stage; print what was written."""
    from sendlink.deidentify import stage

    paths = Paths(args.root.resolve()) if args.root else Paths.discover()
    params = load_params(args.params or paths.params)
    result = stage.run(paths, params)
    for path in result.written:
        print(path)
    print(result)
    return 0

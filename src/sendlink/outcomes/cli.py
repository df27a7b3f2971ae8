"""``sendlink analyse``: fit the outcome models on the research extract.

Writes ``data/research/analysis/`` (disclosure-checked estimates, weights,
consent model, linkage sensitivity) and ``data/summary.json``. The analysis
reads the research extract only; ``sendlink evaluate`` then checks it
against the synthetic truth.
"""

from __future__ import annotations

import argparse


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", help="parameter file (default: the project's params.yaml)")


def run(args: argparse.Namespace) -> int:
    from sendlink.config import Paths
    from sendlink.outcomes import stage
    from sendlink.params import load_params

    paths = Paths.discover()
    result = stage.run(paths, load_params(args.params or paths.params))
    print(result)
    for path in result.written:
        print(f"  wrote {path.relative_to(paths.root) if path.is_relative_to(paths.root) else path}")
    return 0

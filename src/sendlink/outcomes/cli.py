"""``sendlink analyse``: fit the outcome models on the research extract.

Writes ``data/research/analysis/`` (disclosure-checked estimates, weights,
consent model, linkage sensitivity) and ``reports/summary.json``; with the
synthetic truth present, the summary also compares each planted effect's
estimates with its census and generating values (evaluation code).
"""

from __future__ import annotations

import argparse


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", help="parameter file (default: the project's params.yaml)")
    parser.add_argument("--no-truth", action="store_true", help="do not compare with the synthetic truth")


def run(args: argparse.Namespace) -> int:
    from sendlink.config import Paths, load_params
    from sendlink.outcomes.stage import run_analysis_stage

    paths = Paths.discover()
    params = load_params(args.params) if args.params else load_params(paths.params)
    result = run_analysis_stage(paths, params, evaluate=not args.no_truth)
    print(result)
    for path in result.written:
        print(f"  wrote {path.relative_to(paths.root) if path.is_relative_to(paths.root) else path}")
    return 0

"""``sendlink evaluate``: check the run against the synthetic truth (evaluation code only).

Writes ``data/linkage/linkage_quality.json`` and completes
``data/summary.json`` (:mod:`sendlink.evaluate.stage`).
"""

from __future__ import annotations

import argparse

__all__ = ["configure_parser", "run"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("--params", help="parameter file (default: the project's params.yaml)")
    parser.add_argument("--no-baselines", action="store_true", help="skip the rule cascade and ECM baselines")


def run(args: argparse.Namespace) -> int:
    """Run ``sendlink evaluate``; print the linkage quality summary."""
    from sendlink.config import Paths
    from sendlink.evaluate import stage
    from sendlink.params import load_params

    paths = Paths.discover()
    result = stage.run(paths, load_params(args.params or paths.params), baselines=not args.no_baselines)
    if result is None:
        print("no synthetic truth: nothing to evaluate")
        return 0
    print(repr(result.quality))
    print(result)
    return 0

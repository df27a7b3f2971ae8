"""The whole analysis as one directed graph of stages (``sendlink pipeline``, ``sendlink report``).

Each stage reads files and writes files, so any stage can be rerun alone::

    synth -> consent -> link -> quality -> extract -> analyse -> scan

``synth`` generates the world (``make data``); ``pipeline`` runs the rest;
``report`` regenerates the data, runs the pipeline, executes every notebook
in place and renders the reports, then scans ``data/research/`` and
``reports/`` for identifiers and fails if it finds any.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sendlink import config
from sendlink.errors import SendlinkError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: its name, who runs it, and the function that runs it."""

    name: str
    party: str
    target: str  # "module:function", resolved when the stage runs
    what: str

    def function(self) -> Callable[..., Any]:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


#: The stages after data generation, in order.
STAGES: tuple[Stage, ...] = (
    Stage("consent", "survey organisation", "sendlink.consent:run_consent_stage",
          "import consent events, apply the rules as of the consent date, send permitted identifiers to DfE"),
    Stage("link", "DfE", "sendlink.link:run_linkage_stage",
          "link the permitted survey children to the NPD; clerical-review queue"),
    Stage("quality", "evaluation", "sendlink.evaluate.linkage:run_quality_stage",
          "evaluate linkage against truth (GUILD-style report)"),
    Stage("extract", "DfE + survey organisation", "sendlink.deidentify:run_extract_stage",
          "build the de-identified research extract, with k-anonymity"),
    Stage("analyse", "researchers", "sendlink.outcomes:run_analysis_stage",
          "fit the outcome models, weighted for consent; summary.json"),
    Stage("scan", "evaluation", "sendlink.scan.scanner:scan_outputs",
          "search the research data and reports for identifiers"),
)


def run_pipeline(paths: config.Paths | None = None, params: dict | None = None, *, only: Sequence[str] | None = None, skip: Sequence[str] = ()) -> dict[str, float]:
    """Run the stages in order; return the seconds each took.

    Parameters
    ----------
    paths, params
        The project's by default; a temporary project root works too (the
        simulation in ``benchmarks/`` runs the pipeline on many seeds).
    only, skip
        Stage names to run, or to leave out.
    """
    paths = paths or config.Paths.discover()
    params = params or config.load_params(paths.params)
    unknown = (set(only or ()) | set(skip)) - {s.name for s in STAGES}
    if unknown:
        raise SendlinkError(f"unknown stage(s) {sorted(unknown)}; stages are {[s.name for s in STAGES]}")
    timings: dict[str, float] = {}
    for stage in STAGES:
        if (only and stage.name not in only) or stage.name in skip:
            continue
        log.info("stage %s (%s): %s", stage.name, stage.party, stage.what)
        start = time.perf_counter()
        stage.function()(paths, params)
        timings[stage.name] = round(time.perf_counter() - start, 1)
        log.info("stage %s done in %.1f s", stage.name, timings[stage.name])
    return timings


def report(paths: config.Paths | None = None, *, force_nbconvert: bool = False) -> str:
    """Regenerate the data, run the pipeline, execute the notebooks, render, scan."""
    from sendlink import notebooks, site
    from sendlink.synth.cli import generate_default

    paths = paths or config.Paths.discover()
    params = config.load_params(paths.params)
    generate_default(paths, params)
    run_pipeline(paths, params, skip=["scan"])
    site.write_headline(paths)
    notebooks.run_all(paths.notebooks)
    renderer = notebooks.render(paths, force_nbconvert=force_nbconvert)
    run_pipeline(paths, params, only=["scan"])
    return renderer


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", nargs="+", metavar="STAGE", help="run only these stages")
    parser.add_argument("--skip", nargs="+", default=[], metavar="STAGE", help="leave these stages out")
    parser.add_argument("--nbconvert", action="store_true", help="(report) render with nbconvert even if Quarto is installed")
    parser.epilog = "stages: " + ", ".join(s.name for s in STAGES)


def run(args: argparse.Namespace) -> int:
    if args.command == "report":
        report(force_nbconvert=args.nbconvert)
        return 0
    run_pipeline(only=args.only, skip=args.skip)
    return 0

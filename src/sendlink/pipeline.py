"""The whole analysis as one directed graph of stages (``sendlink pipeline``, ``sendlink report``).

Each stage is a package's ``stage.py`` with one entry, ``run(paths, params)``;
each reads files and writes files (:mod:`sendlink.schema.catalogue`), so any
stage can be rerun alone. In data-flow order, with the party of
docs/DESIGN.md section 2 that runs it::

    synth     the synthetic world (nobody)         sendlink.synth.stage
    consent   survey organisation                  sendlink.consent.stage
    link      DfE                                  sendlink.link.stage
    pprl      both data holders + linkage unit     sendlink.pprl.stage
    extract   DfE + survey organisation            sendlink.deidentify.stage
    analyse   researchers                          sendlink.outcomes.stage
    evaluate  evaluation (reads the truth)         sendlink.evaluate.stage
    scan      release check                        sendlink.scan.stage

``synth`` generates the world (``make data``), and within ``pipeline`` only
when the parameters or the generator changed; ``report`` regenerates the
data, runs the other stages, executes every notebook
in place and renders the reports, then scans ``data/research/``, the
summary and ``reports/`` for identifiers, and the linkage unit's folder
for any plain identifier, and fails if it finds any.
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
from sendlink.params import Params, load_params

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: its name, the package whose ``stage.run`` it is, who runs it and what it does."""

    name: str
    package: str
    party: str
    what: str

    @property
    def module(self) -> str:
        return f"sendlink.{self.package}.stage"

    def function(self) -> Callable[..., Any]:
        """``run(paths, params)`` of the stage's module (imported when the stage runs)."""
        return importlib.import_module(self.module).run


#: The stages, in data-flow order (``synth`` regenerates the world only when it is stale).
STAGES: tuple[Stage, ...] = (
    Stage("synth", "synth", "the synthetic world", "generate the synthetic NPD, survey and truth (when the parameters changed)"),
    Stage("consent", "consent", "survey organisation",
          "import consent events, apply the rules as of the consent date, send permitted identifiers to DfE"),
    Stage("link", "link", "DfE", "link the permitted survey children to the NPD; clerical-review queue"),
    Stage("pprl", "pprl", "survey organisation + DfE + linkage unit",
          "link again without sharing names: both encode, the linkage unit links encodings (issue 18)"),
    Stage("extract", "deidentify", "DfE + survey organisation", "build the de-identified research extract, with k-anonymity"),
    Stage("analyse", "outcomes", "researchers", "fit the outcome models, weighted for consent; data/summary.json"),
    Stage("evaluate", "evaluate", "evaluation", "check linkage and the estimates against the synthetic truth"),
    Stage("scan", "scan", "release check", "search the research data, summary and reports for identifiers"),
)


def run_pipeline(paths: config.Paths | None = None, params: Params | None = None, *, only: Sequence[str] | None = None, skip: Sequence[str] = ()) -> dict[str, float]:
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
    params = params or load_params(paths.params)
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
    from sendlink.synth import stage as synth_stage

    paths = paths or config.Paths.discover()
    params = load_params(paths.params)
    synth_stage.run(paths, params, if_stale=False)
    run_pipeline(paths, params, skip=["synth", "scan"])
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

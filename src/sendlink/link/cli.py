"""``sendlink link SURVEY NPD --out LINKS``: the linkage command.

Stage ``link``, run by DfE. Reads the two spine files (CSV or Parquet, by
extension), links them (:func:`sendlink.link.link`) and writes the links
file (DESIGN.md section 4) and, optionally, the clerical-review queue, both
atomically: nothing is written unless everything succeeded.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from sendlink.io import StagedWrites
from sendlink.link import clerical
from sendlink.link.features import read_spine
from sendlink.link.engine import LINK_COLUMNS, NPD_KEY, SURVEY_KEY, LinkResult, link_spines
from sendlink.params.linkage import LinkageParams, load
from sendlink.link.stage import review_queue

__all__ = ["configure_parser", "link_files", "run"]

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("survey", type=Path, help="survey spine (survey_id + identifiers), .csv or .parquet")
    parser.add_argument("npd", type=Path, help="NPD spine (upn + identifiers), .csv or .parquet")
    parser.add_argument("--out", type=Path, required=True, help="links file to write (.csv or .parquet)")
    parser.add_argument("--params", type=Path, default=None, help="parameter file (default: the project's params.yaml)")
    parser.add_argument("--match-threshold", type=float, default=None, help="override linkage.thresholds.match")
    parser.add_argument("--review-threshold", type=float, default=None, help="override linkage.thresholds.review")
    parser.add_argument("--review-out", type=Path, default=None, help="write the clerical-review queue here")
    parser.add_argument("--decisions", type=Path, default=None, help="reviewer decisions to honour (survey_id, upn, decision, reviewer, date)")


def _params(args: argparse.Namespace) -> LinkageParams:
    try:
        params = load(args.params)
    except Exception as exc:
        # A project without params.yaml (a user's own folder) runs on defaults.
        if args.params is None and "cannot find the project root" in str(exc):
            log.info("no params.yaml found; using the default linkage parameters")
            params = LinkageParams()
        else:
            raise
    overrides = {}
    if args.match_threshold is not None:
        overrides["match"] = args.match_threshold
    if args.review_threshold is not None:
        overrides["review"] = args.review_threshold
    if overrides:
        from sendlink.config import section

        raw = params.model_dump()
        raw["thresholds"] = {**raw["thresholds"], **overrides}
        params = section({"linkage": raw, "_source": "command line"}, "linkage", LinkageParams)
    return params


def link_files(
    survey_path: str | Path,
    npd_path: str | Path,
    out: str | Path,
    params: LinkageParams | None = None,
    *,
    review_out: str | Path | None = None,
    decisions_path: str | Path | None = None,
) -> LinkResult:
    """Link two spine files and write the links (and review queue) atomically.

    Parquet spines are read dictionary-encoded (:func:`sendlink.link.features.read_spine`),
    so a national NPD spine never becomes a table of Python strings.
    """
    started = time.perf_counter()
    survey = read_spine(survey_path, SURVEY_KEY)
    npd = read_spine(npd_path, NPD_KEY)
    read_seconds = time.perf_counter() - started
    decisions = clerical.read_decisions(decisions_path) if decisions_path is not None else None
    result = link_spines(survey, npd, params, decisions=decisions)
    result.diagnostics["timings"] = {"read": read_seconds, **result.diagnostics["timings"]}
    with StagedWrites() as staged:
        staged.table(result.links[LINK_COLUMNS], out)
        if review_out is not None:
            staged.table(review_queue(result, survey, npd), review_out)
    log.info("wrote %s (%d rows)", out, len(result.links))
    return result


def run(args: argparse.Namespace) -> int:
    """Run ``sendlink link``."""
    link_files(args.survey, args.npd, args.out, _params(args), review_out=args.review_out, decisions_path=args.decisions)
    return 0

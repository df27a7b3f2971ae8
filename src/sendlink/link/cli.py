"""``sendlink link SURVEY NPD --out LINKS``: the linkage command.

Stage ``link``, run by DfE. Reads the two spine files (CSV or Parquet, by
extension), links them (:func:`sendlink.link.link`) and writes the links
file (DESIGN.md section 4) and, optionally, the clerical-review queue, both
atomically: nothing is written unless everything succeeded.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from sendlink.io import StagedWrites, read_table
from sendlink.link import clerical
from sendlink.link.engine import LINK_COLUMNS, LinkResult, link
from sendlink.link.params import LinkageParams, load

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


def _read_spine(path: Path) -> pd.DataFrame:
    return read_table(path, dtype_str=True) if path.suffix.lower() == ".csv" else read_table(path)


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

    The function the pipeline calls; :func:`run` is its command-line face.
    """
    survey_path, npd_path = Path(survey_path), Path(npd_path)
    survey = _read_spine(survey_path)
    npd = _read_spine(npd_path)
    decisions = clerical.read_decisions(decisions_path) if decisions_path is not None else None
    result = link(survey, npd, params, decisions=decisions, survey_source=survey_path, npd_source=npd_path)
    with StagedWrites() as staged:
        staged.table(result.links[LINK_COLUMNS], out)
        if review_out is not None:
            review = clerical.build_review(result.links, result.pairs, survey, npd)
            staged.table(review, review_out)
    log.info("wrote %s (%d rows)", out, len(result.links))
    return result


def run(args: argparse.Namespace) -> int:
    """Run ``sendlink link``."""
    link_files(args.survey, args.npd, args.out, _params(args), review_out=args.review_out, decisions_path=args.decisions)
    return 0

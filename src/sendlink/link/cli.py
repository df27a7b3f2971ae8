"""``sendlink link SURVEY NPD --out LINKS``: the linkage command.

Stage ``link``, run by DfE. Reads the two spine files (CSV or Parquet, by
extension), links them (:func:`sendlink.link.link`) and writes the links
file (docs/DESIGN.md section 4) and, optionally, the clerical-review queue, both
atomically: nothing is written unless everything succeeded.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from sendlink.io import StagedWrites, check_paths, remove_stale_temporaries
from sendlink.link import clerical
from sendlink.link.engine import (
    LINK_COLUMNS,
    NPD_KEY,
    SURVEY_KEY,
    LinkResult,
    link_spines,
    with_read_step,
)
from sendlink.link.history import read_history
from sendlink.link.spine import read_spine, require_records
from sendlink.params import Params, load_params, override

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
    parser.add_argument("--history", type=Path, default=None,
                        help="optional NPD census history (upn, academic_year or census_date, postcode, school_urn): "
                             "the survey's postcode and school are also compared with the pupil's past ones")


def _params(args: argparse.Namespace) -> Params:
    params = load_params(args.params)
    thresholds = {k: v for k, v in (("match", args.match_threshold), ("review", args.review_threshold)) if v is not None}
    return override(params, {"linkage": {"thresholds": thresholds}}) if thresholds else params


def link_files(
    survey_path: str | Path,
    npd_path: str | Path,
    out: str | Path,
    params: Params,
    *,
    review_out: str | Path | None = None,
    decisions_path: str | Path | None = None,
    history_path: str | Path | None = None,
) -> LinkResult:
    """Link two spine files and write the links (and review queue) atomically.

    Parquet spines are read dictionary-encoded (:func:`sendlink.link.spine.read_spine`),
    so a national NPD spine never becomes a table of Python strings. The
    ``linkage:`` parameters and the seed of ``params`` are used. With
    ``history_path`` (:func:`sendlink.link.history.read_history`), the
    survey's postcode and school are also compared with the pupil's past
    ones.

    Before any work, the outputs are checked (:func:`sendlink.io.check_paths`):
    neither may be an input or the other output, and both must be ``.csv``
    or ``.parquet``; stale temporary copies of them left by a killed run are
    removed. The outputs hold identifiers and are written owner-only; a CSV
    output has spreadsheet formulas neutralised (:func:`sendlink.io.neutralise_formulas`).

    Raises
    ------
    ParameterError
        An output is an input or the other output, or not a table file.
    InputError
        A spine is missing, empty (0 bytes), unreadable or malformed; the
        NPD spine has no records; the history file is malformed.
    """
    check_paths({"--out": out, "--review-out": review_out},
                {"SURVEY": survey_path, "NPD": npd_path, "--decisions": decisions_path, "--history": history_path},
                tables=("--out", "--review-out"))
    remove_stale_temporaries([p for p in (out, review_out) if p is not None])
    started, cpu_started = time.perf_counter(), time.process_time()
    survey = read_spine(survey_path, SURVEY_KEY)
    npd = read_spine(npd_path, NPD_KEY)
    require_records(npd, "NPD spine")
    read = time.perf_counter() - started, time.process_time() - cpu_started
    decisions = clerical.read_decisions(decisions_path) if decisions_path is not None else None
    history = read_history(history_path) if history_path is not None else None
    result = link_spines(survey, npd, params.linkage, seed=params.seed, decisions=decisions, history=history)
    with_read_step(result, *read)
    with StagedWrites() as staged:
        staged.table(result.links[LINK_COLUMNS], out)
        if review_out is not None:  # with the audit sample of accepted links (linkage.audit_sample_size)
            audit = clerical.audit_sample(result.links, params.linkage.audit_sample_size, params.seed)
            staged.table(clerical.review_queue(result.links, result.pairs, survey, npd, audit=audit), review_out)
    log.info("wrote %s (%d rows)", out, len(result.links))
    return result


def run(args: argparse.Namespace) -> int:
    """Run ``sendlink link``."""
    check_paths({"--out": args.out, "--review-out": args.review_out},
                {"SURVEY": args.survey, "NPD": args.npd, "--decisions": args.decisions, "--params": args.params,
                 "--history": args.history},
                tables=("--out", "--review-out"))
    link_files(args.survey, args.npd, args.out, _params(args), review_out=args.review_out, decisions_path=args.decisions,
               history_path=args.history)
    return 0

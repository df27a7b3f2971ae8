"""The pipeline's linkage stage: :func:`run_linkage_stage`.

Stage ``link``, run by the DfE linkage team. **In:**
``data/linkage/incoming/survey_spine.parquet`` (written by the consent
stage: the identifiers of the cases permitted for linkage, no answers), the
NPD spine ``data/synthetic/npd/spine.parquet`` (the whole synthetic
population, not just the sampled pupils) and, when present, reviewer
decisions ``data/linkage/review/decisions.csv``. **Out**, all or nothing
(:class:`sendlink.io.StagedWrites`), everything identifiable and kept by DfE
in ``data/linkage/``:

``links.parquet``
    One row per survey record, the DESIGN.md section 4 contract
    (:data:`sendlink.schema.spine.LINKS`).
``pairs.parquet``
    Every scored candidate pair: keys, the passes that found it, each
    field's comparison level and weight, match weight, pairwise and
    competing probability (for the teaching notebook; never leaves DfE).
``model.json``
    The fitted model (m and u per level, pi and lambda, the EM trace and
    the degeneracy diagnostics), the thresholds, candidate pairs per
    blocking pass, counts per link status, timings, and the same model as
    Splink settings (``splink``). Counts and parameters only, no
    identifiers.
``clerical_review.csv``
    The review queue: both records' identifiers side by side, empty
    ``decision, reviewer, date`` columns (:mod:`sendlink.link.clerical`).

The reviewers' folder ``data/linkage/review/`` is read, never written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendlink import schema
from sendlink.config import Paths, load_params, section
from sendlink.io import StagedWrites
from sendlink.link import clerical
from sendlink.link.features import RawSpine, read_spine
from sendlink.link.engine import LINK_COLUMNS, NPD_KEY, SURVEY_KEY, LinkResult, link_spines
from sendlink.params.linkage import LinkageParams
from sendlink.schema.spine import LINKS, SURVEY_SPINE

__all__ = ["LINKAGE_FILES", "model_report", "review_queue", "run_linkage_stage", "write_outputs"]

log = logging.getLogger(__name__)

#: Files of the stage, relative to ``data/linkage/``.
LINKAGE_FILES = {
    "survey_spine": Path("incoming") / "survey_spine.parquet",
    "decisions": Path("review") / "decisions.csv",
    "links": Path("links.parquet"),
    "pairs": Path("pairs.parquet"),
    "model": Path("model.json"),
    "review": Path("clerical_review.csv"),
}


def review_queue(result: LinkResult, survey: RawSpine, npd: RawSpine) -> pd.DataFrame:
    """The clerical-review queue with both records' identifiers as recorded.

    Only the NPD records under review are read from the (possibly 9-million
    row) NPD spine.
    """
    pairs = result.pairs
    in_review = set(result.links.loc[result.links["link_status"] == "clerical_review", NPD_KEY])
    npd_rows = pairs.loc[pairs[NPD_KEY].astype(str).isin(in_review), "npd_row"].unique() if len(in_review) else []
    return clerical.build_review(result.links, pairs, survey.frame(), npd.frame(np.asarray(npd_rows, dtype=np.int64)))


def model_report(result: LinkResult) -> dict[str, Any]:
    """``model.json``: the model, thresholds, blocking counts, link counts and timings (no identifiers)."""
    from sendlink.link.model import _jsonable

    counts = result.links["link_status"].value_counts()
    report: dict[str, Any] = {
        "model": result.model.to_dict() if result.model is not None else None,
        "m_u_table": _jsonable(result.model.table().to_dict(orient="records")) if result.model is not None else [],
        "thresholds": result.params.thresholds.model_dump() if result.params is not None else None,
        "blocking": _jsonable(result.blocking.to_dict(orient="records")),
        "candidate_pairs": int(len(result.pairs)),
        "links": {status: int(counts.get(status, 0)) for status in ("matched", "clerical_review", "unmatched")},
        "decided_by_reviewer": int((result.links.get("decided_by", pd.Series(dtype=str)) == "reviewer").sum()),
        "records": {"survey": int(result.diagnostics.get("n_survey", len(result.links))),
                    "npd": int(result.diagnostics.get("n_npd", 0))},
        "timings_seconds": {k: round(float(v), 3) for k, v in result.diagnostics.get("timings", {}).items()},
        "parameters": result.params.model_dump(mode="json") if result.params is not None else None,
    }
    if result.model is not None and result.model.fields:
        from sendlink.link.splink_export import splink_export

        # The same model as Splink settings (the route to Spark: see sendlink.link.splink_export).
        report["splink"] = splink_export(result.model, result.params.thresholds if result.params is not None else None)
    return _jsonable(report)


def _pairs_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs as written: sorted, row positions dropped (they mean nothing outside this run)."""
    out = pairs.drop(columns=[c for c in ("survey_row", "npd_row") if c in pairs.columns])
    order = np.lexsort((out[NPD_KEY].astype(str).to_numpy(), out[SURVEY_KEY].astype(str).to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def write_outputs(result: LinkResult, survey: RawSpine, npd: RawSpine, folder: str | Path, *, links_name: str | Path = "links.parquet") -> list[Path]:
    """Write links, pairs, model and review queue into ``folder``, all or nothing."""
    folder = Path(folder)
    links = schema.validate(result.contract(), LINKS, folder / links_name)
    written = []
    with StagedWrites() as out:
        written.append(out.table(links, folder / links_name))
        written.append(out.table(_pairs_table(result.pairs), folder / LINKAGE_FILES["pairs"]))
        written.append(out.json(model_report(result), folder / LINKAGE_FILES["model"]))
        written.append(out.table(review_queue(result, survey, npd), folder / LINKAGE_FILES["review"]))
    return written


def run_linkage_stage(paths: Paths | None = None, params: Mapping[str, Any] | None = None) -> LinkResult:
    """Run the linkage stage (see the module docstring).

    Parameters
    ----------
    paths, params
        The project's, by default (``params`` is the whole ``params.yaml``
        mapping; the ``linkage:`` section is validated here).

    Returns
    -------
    LinkResult
        With ``diagnostics["written"]``: the files written.

    Raises
    ------
    InputError
        A spine is missing, unreadable, lacks its key or has duplicate keys;
        the decisions file is malformed.
    ParameterError
        The ``linkage:`` section is invalid.
    """
    paths = paths or Paths.discover()
    params = dict(params) if params is not None else load_params(paths.params)
    raw = dict(params.get("linkage") or {})
    if "seed" not in raw and isinstance(params.get("seed"), int):
        raw["seed"] = params["seed"]
    link_params = section({**params, "linkage": raw}, "linkage", LinkageParams)
    started = time.perf_counter()
    survey_path = paths.linkage / LINKAGE_FILES["survey_spine"]
    npd_path = paths.npd / "spine.parquet"
    survey = read_spine(survey_path, SURVEY_KEY)
    # The survey spine is checked against its contract at the boundary. The NPD spine (up to
    # 9.1 million rows) has its key checked by read_spine; its identifiers are standardised
    # defensively (a value that cannot be understood is missing, never an error).
    schema.validate(survey.frame(), SURVEY_SPINE, survey_path)
    npd = read_spine(npd_path, NPD_KEY)
    read_seconds = time.perf_counter() - started
    decisions_path = paths.linkage / LINKAGE_FILES["decisions"]
    decisions = clerical.read_decisions(decisions_path) if decisions_path.is_file() else None
    result = link_spines(survey, npd, link_params, decisions=decisions)
    result.diagnostics["timings"] = {"read": read_seconds, **result.diagnostics["timings"]}
    written = write_outputs(result, survey, npd, paths.linkage)
    result.diagnostics["written"] = [str(p) for p in written]
    log.info("linkage stage: %d survey records, %d candidate pairs; wrote %s", len(result.links), len(result.pairs),
             ", ".join(p.name for p in written))
    return result


# The contract's columns, re-exported for callers that only import the stage.
CONTRACT_COLUMNS = LINK_COLUMNS

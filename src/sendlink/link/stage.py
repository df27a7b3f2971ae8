"""The pipeline's linkage stage: :func:`run`.

Stage ``link``, run by the DfE linkage team. **In:** the survey spine
(written by the consent stage: the identifiers of the cases permitted for
linkage, no answers), the NPD spine (the whole synthetic population, not
just the sampled pupils), the NPD's census history (postcode and school at
every census: ``POSTCODE_HISTORY``, ``CENSUS``) and, when present, reviewer
decisions. **Out**, all
or nothing (:class:`sendlink.io.StagedWrites`), everything identifiable and
kept by DfE in ``data/linkage/``: the links (one row per survey record, the
docs/DESIGN.md section 4 contract :data:`sendlink.schema.spine.LINKS`), every
scored candidate pair (for the teaching notebook; never leaves DfE), the
fitted model with the thresholds, blocking counts, link counts, timings and
the same model as Splink settings (counts and parameters only, no
identifiers), and the clerical-review queue (:mod:`sendlink.link.clerical`).
The files are those of :mod:`sendlink.schema.catalogue` (``SURVEY_SPINE``,
``NPD_SPINE``, ``DECISIONS``; ``LINKS``, ``PAIRS``, ``MODEL``,
``REVIEW_QUEUE``).

The reviewers' decisions file is read, never written.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendlink import schema
from sendlink.config import Paths
from sendlink.io import StagedWrites, remove_stale_temporaries
from sendlink.link import clerical
from sendlink.link.engine import NPD_KEY, SURVEY_KEY, LinkResult, link_spines, with_read_step
from sendlink.link.spine import RawSpine, read_spine, require_records
from sendlink.params import Params, load_params
from sendlink.schema import catalogue
from sendlink.schema.spine import LINKS, SURVEY_SPINE

__all__ = ["model_report", "run", "write_outputs"]

log = logging.getLogger(__name__)

def model_report(result: LinkResult) -> dict[str, Any]:
    """``model.json``: the model, thresholds, blocking counts, link counts and timings (no identifiers)."""
    from sendlink.link.model import jsonable

    counts = result.links["link_status"].value_counts()
    report: dict[str, Any] = {
        "model": result.model.to_dict() if result.model is not None else None,
        "m_u_table": jsonable(result.model.table().to_dict(orient="records")) if result.model is not None else [],
        "thresholds": result.params.thresholds.model_dump() if result.params is not None else None,
        "blocking": jsonable(result.blocking.to_dict(orient="records")),
        "candidate_pairs": int(len(result.pairs)),
        "links": {status: int(counts.get(status, 0)) for status in ("matched", "clerical_review", "unmatched")},
        "decided_by_reviewer": int((result.links.get("decided_by", pd.Series(dtype=str)) == "reviewer").sum()),
        "audit": result.diagnostics.get("audit"),
        "records": {"survey": int(result.diagnostics.get("n_survey", len(result.links))),
                    "npd": int(result.diagnostics.get("n_npd", 0))},
        "timings_seconds": {k: round(float(v), 3) for k, v in result.diagnostics.get("timings", {}).items()},
        "parameters": {"seed": result.seed, **result.params.model_dump(mode="json")} if result.params is not None else None,
    }
    if result.model is not None and result.model.fields:
        from sendlink.link.splink_export import splink_export

        # The same model as Splink settings (the route to Spark: see sendlink.link.splink_export).
        report["splink"] = splink_export(result.model, result.params.thresholds)
    return jsonable(report)


def npd_history(paths: Paths) -> pd.DataFrame | None:
    """DfE's census history of every pupil: postcode (``postcode_history``) and school (``census``) per census.

    The NPD holds both; the linkage compares the survey's postcode and
    school with them (:mod:`sendlink.link.history`). ``None`` when the
    world has neither file (the linker then compares the spine only).
    """
    from sendlink.link.history import history_table

    pc_path, census_path = catalogue.POSTCODE_HISTORY.at(paths), catalogue.CENSUS.at(paths)
    parts = []
    if pc_path.is_file():
        parts.append(pd.read_parquet(pc_path, columns=["upn", "academic_year", "postcode"]))
    if census_path.is_file():
        parts.append(pd.read_parquet(census_path, columns=["upn", "academic_year", "school_urn"]))
    if not parts:
        return None
    # Stacked, not joined: the history is a list of postcodes and a list of schools per pupil.
    frame = pd.concat(parts, ignore_index=True)
    return history_table(frame, pc_path if pc_path.is_file() else census_path)


def _pairs_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs as written: sorted, row positions dropped (they mean nothing outside this run)."""
    out = pairs.drop(columns=[c for c in ("survey_row", "npd_row") if c in pairs.columns])
    order = np.lexsort((out[NPD_KEY].astype(str).to_numpy(), out[SURVEY_KEY].astype(str).to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def write_outputs(result: LinkResult, survey: RawSpine, npd: RawSpine, paths: Paths) -> list[Path]:
    """Write links, pairs, model and review queue where the catalogue says, all or nothing."""
    links_path = catalogue.LINKS.at(paths)
    links = schema.validate(result.contract(), LINKS, links_path)
    audit = _audit(result)
    written = []
    with StagedWrites() as out:
        written.append(out.table(links, links_path))
        written.append(out.table(_pairs_table(result.pairs), catalogue.PAIRS.at(paths)))
        written.append(out.json(model_report(result), catalogue.MODEL.at(paths)))
        written.append(out.table(clerical.review_queue(result.links, result.pairs, survey, npd, audit=audit), catalogue.REVIEW_QUEUE.at(paths)))
    return written


def _audit(result: LinkResult) -> pd.DataFrame | None:
    """The run's audit sample (:func:`sendlink.link.clerical.audit_sample`), noted in the diagnostics."""
    if result.params is None:
        return None
    size = result.params.audit_sample_size
    audit = clerical.audit_sample(result.links, size, result.seed or 0)
    accepted = int(((result.links["link_status"] == "matched") & (result.links.get("decided_by", "model") != "reviewer")).sum())
    result.diagnostics["audit"] = {"sample_size": int(len(audit)), "requested": int(size), "accepted_by_model": accepted}
    return audit


def run(paths: Paths | None = None, params: Params | None = None) -> LinkResult:
    """Run the linkage stage (see the module docstring).

    Parameters
    ----------
    paths, params
        The project's, by default; the ``linkage:`` section and the seed
        are used.

    Returns
    -------
    LinkResult
        With ``diagnostics["written"]``: the files written.

    Raises
    ------
    InputError
        A spine is missing, unreadable, lacks its key or has duplicate keys;
        the decisions file is malformed.
    """
    paths = paths or Paths.discover()
    params = params or load_params(paths.params)
    remove_stale_temporaries(f.at(paths) for f in (catalogue.LINKS, catalogue.PAIRS, catalogue.MODEL, catalogue.REVIEW_QUEUE))
    started, cpu_started = time.perf_counter(), time.process_time()
    survey_path = catalogue.SURVEY_SPINE.at(paths)
    npd_path = catalogue.NPD_SPINE.at(paths)
    survey = read_spine(survey_path, SURVEY_KEY)
    # The survey spine is checked against its contract at the boundary. The NPD spine (up to
    # 9.1 million rows) has its key checked by read_spine; its identifiers are standardised
    # defensively (a value that cannot be understood is missing, never an error).
    schema.validate(survey.frame(), SURVEY_SPINE, survey_path)
    npd = require_records(read_spine(npd_path, NPD_KEY), "NPD spine")
    read = time.perf_counter() - started, time.process_time() - cpu_started
    decisions_path = catalogue.DECISIONS.at(paths)
    decisions = clerical.read_decisions(decisions_path) if decisions_path.is_file() else None
    history = npd_history(paths)
    result = link_spines(survey, npd, params.linkage, seed=params.seed, decisions=decisions, history=history)
    with_read_step(result, *read)
    written = write_outputs(result, survey, npd, paths)
    result.diagnostics["written"] = [str(p) for p in written]
    log.info("linkage stage: %d survey records, %d candidate pairs; wrote %s", len(result.links), len(result.pairs),
             ", ".join(p.name for p in written))
    return result

"""The pipeline's PPRL stage: the three parties of linking without names, on the synthetic cohort (:func:`run`).

Stage ``pprl``, after ``link`` (it reads the same spines). Three parties,
each writing only in its own folder:

1. **the survey organisation** pseudonymises and encodes the consented
   children's spine (the one it sends DfE in plain linkage) with the
   shared secret, keeps the mapping (``data/survey_org/pprl/``) and sends
   the encoded file to the linkage unit;
2. **DfE** does the same with the NPD spine (mapping in ``data/linkage/pprl/``);
3. **the linkage unit** (``data/linkage_unit/``: only the two encoded files
   and what it makes of them) links them (:func:`sendlink.pprl.linker.link_encoded`)
   and returns the links (pseudonyms) and keeps its one-sided review queue
   and model report;
4. the survey organisation puts its survey ids back and sends the links
   on; DfE puts its UPNs back: ``data/linkage/pprl/links.parquet`` has the
   contract of plain linkage's links.

The stage logs how far encoded and plain links agree. The pseudonyms are
drawn from generators seeded from the project seed, so the synthetic run
is reproducible; ``sendlink encode`` draws fresh ones by default.
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from sendlink.config import Paths
from sendlink.io import StagedWrites, make_folder, read_table, remove_stale_temporaries
from sendlink.link.model import jsonable
from sendlink.params import Params, load_params
from sendlink.schema import catalogue

__all__ = ["links_agreement", "model_report", "run"]

log = logging.getLogger(__name__)


def model_report(result) -> dict:
    """The linkage unit's ``model.json``: model, m/u table, thresholds, blocking counts, link counts, timings."""
    counts = result.links["link_status"].value_counts()
    return jsonable({
        "model": result.model.to_dict() if result.model is not None else None,
        "m_u_table": result.model.table().to_dict(orient="records") if result.model is not None else [],
        "thresholds": result.params.thresholds.model_dump(),
        "blocking": result.blocking.to_dict(orient="records"),
        "candidate_pairs": int(len(result.pairs)),
        "links": {status: int(counts.get(status, 0)) for status in ("matched", "clerical_review", "unmatched")},
        "records": {"survey": int(result.diagnostics["n_survey"]), "npd": int(result.diagnostics["n_npd"])},
        "key_check": result.diagnostics.get("key_check"),
        "timings_seconds": {k: round(float(v), 3) for k, v in result.diagnostics.get("timings", {}).items()},
    })


def run(paths: Paths | None = None, params: Params | None = None) -> dict:
    """Run the three parties (see the module docstring); return counts and timings.

    Raises
    ------
    ParameterError
        No acceptable shared secret (:func:`sendlink.pprl.keys.shared_secret`).
    InputError
        A spine is missing or malformed.
    """
    from sendlink.pprl.cli import encode_file, link_encoded_files
    from sendlink.pprl.pseudonyms import map_back

    paths = paths or Paths.discover()
    params = params or load_params(paths.params)
    started = time.perf_counter()
    for folder in (paths.linkage_unit, catalogue.PPRL_SURVEY_MAPPING.at(paths).parent, catalogue.PPRL_NPD_MAPPING.at(paths).parent):
        make_folder(folder, private=True)
    remove_stale_temporaries(f.at(paths) for f in (catalogue.PPRL_SURVEY_LINKS, catalogue.PPRL_LINKS, *catalogue.LINKAGE_UNIT))
    # 1-2: each data holder encodes, in its own folder, and sends the encoded file on.
    survey_info = encode_file(catalogue.SURVEY_SPINE.at(paths), catalogue.UNIT_SURVEY_ENCODED.at(paths),
                              catalogue.PPRL_SURVEY_MAPPING.at(paths), params, paths=paths, pseudonym_seed=params.seed + 1)
    npd_info = encode_file(catalogue.NPD_SPINE.at(paths), catalogue.UNIT_NPD_ENCODED.at(paths),
                           catalogue.PPRL_NPD_MAPPING.at(paths), params, paths=paths, pseudonym_seed=params.seed + 2)
    # 3: the linkage unit.
    result = link_encoded_files(catalogue.UNIT_SURVEY_ENCODED.at(paths), catalogue.UNIT_NPD_ENCODED.at(paths),
                                catalogue.UNIT_LINKS.at(paths), params, review_out=catalogue.UNIT_REVIEW_QUEUE.at(paths))
    with StagedWrites() as out:
        out.json(model_report(result), catalogue.UNIT_MODEL.at(paths))
    # 4: each data holder puts its own keys back.
    returned = read_table(catalogue.UNIT_LINKS.at(paths))
    survey_side = map_back(returned, read_table(catalogue.PPRL_SURVEY_MAPPING.at(paths)), catalogue.PPRL_SURVEY_MAPPING.at(paths))
    both = map_back(survey_side, read_table(catalogue.PPRL_NPD_MAPPING.at(paths)), catalogue.PPRL_NPD_MAPPING.at(paths))
    with StagedWrites() as out:
        out.table(survey_side, catalogue.PPRL_SURVEY_LINKS.at(paths))
        out.table(both, catalogue.PPRL_LINKS.at(paths))
    summary = {"survey_records": survey_info["records"], "npd_records": npd_info["records"],
               "key_source": survey_info["key_source"], "links": result.links["link_status"].value_counts().to_dict(),
               "seconds": time.perf_counter() - started}
    plain_path = catalogue.LINKS.at(paths)
    if plain_path.is_file():
        summary["agreement_with_plain"] = links_agreement(both, read_table(plain_path))
        log.info("encoded linkage agrees with plain linkage for %.2f%% of survey records", 100 * summary["agreement_with_plain"])
    log.info("pprl stage: %s", {k: v for k, v in summary.items() if k != "seconds"})
    return summary


def links_agreement(encoded: pd.DataFrame, plain: pd.DataFrame) -> float:
    """Share of survey records with the same status and NPD record in both link tables."""
    merged = encoded.merge(plain, on="survey_id", suffixes=("_encoded", "_plain"))
    same = (merged["link_status_encoded"] == merged["link_status_plain"]) & (
        merged["upn_encoded"].fillna("").astype(str) == merged["upn_plain"].fillna("").astype(str))
    return float(same.mean()) if len(merged) else float("nan")

"""Scale mode: a national-size NPD spine, and survey spines drawn from it.

``sendlink synth --npd-size N [--survey-size M ...] --out DIR`` writes

* ``DIR/npd/spine.parquet``: N pupils with the linkage spine columns;
* ``DIR/survey/survey_spine_M.parquet``: M children drawn from the spine,
  their identifiers reported with the same kinds of differences as the
  default cohort (:mod:`sendlink.synth.corrupt`);
* ``DIR/truth/links_M.parquet`` and ``DIR/truth/identifier_differences_M.parquet``.

Pupils are generated in chunks and written as Parquet row groups, so memory
stays bounded whatever N is. The population is simpler than the default
world (no records beyond the spine): twelve birth years, 150 local
authorities, households of one child (twins included). UPNs keep DfE's
check letter but their 12-digit body is the LA code and a serial number,
which guarantees uniqueness across chunks.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from sendlink.errors import ParameterError
from sendlink.io import StagedWrites, remove_stale_temporaries, temporary_file
from sendlink.params.synth import SynthParams
from sendlink.schema import catalogue
from sendlink.schema.truth import scale_truth
from sendlink.synth import corrupt
from sendlink.synth.geography import make_local_authorities, random_postcodes
from sendlink.synth.npd import upn_check_letter
from sendlink.synth.population import make_households, make_pupils

log = logging.getLogger(__name__)

SPINE_COLUMNS = ("upn", "forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn")
NATIONAL_LAS = 150
NATIONAL_SCHOOLS = 24_000
#: Survey children move house or school between the survey and the NPD's
#: latest census at these rates (assumed, as in the default cohort).
MOVED_SHARE = 0.15
CHANGED_SCHOOL_SHARE = 0.06


def _chunk(synth: SynthParams, n: int, start: int, las, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    p = synth.npd.model_copy(update={"twin_share": synth.npd.twin_share})
    households = make_households(n, p, las, rng)
    birth_year = rng.integers(2005, 2017, n)
    twin = np.zeros(n, dtype=bool)
    pairs = int(n * p.twin_share / 2)
    household = np.arange(n)
    if pairs:
        # The second of each twin pair joins the first one's household.
        first = np.arange(0, 2 * pairs, 2)
        household[first + 1] = household[first]
        birth_year[first + 1] = birth_year[first]
        twin[: 2 * pairs] = True
    pupils = make_pupils(households, household, birth_year, twin, p, rng)
    la = households["la_index"].to_numpy()[household]
    pcs = random_postcodes(las.table["postcode_area"].to_numpy()[la], rng)
    pcs[twin & (np.arange(n) % 2 == 1)] = pcs[twin & (np.arange(n) % 2 == 0)]
    school = rng.integers(100000, 100000 + NATIONAL_SCHOOLS, n).astype(str)
    school[twin & (np.arange(n) % 2 == 1)] = school[twin & (np.arange(n) % 2 == 0)]
    la_codes = las.table["la_code"].to_numpy()[la].astype(str)
    body = np.char.add(la_codes, np.char.zfill((start + np.arange(n)).astype(str), 9))
    frame = pd.DataFrame(
        {
            "upn": upn_check_letter(body) + body.astype(object),
            "forename": pupils["forename"].to_numpy(),
            "middle_names": np.where(pupils["middle_names"].to_numpy() == "", None, pupils["middle_names"].to_numpy()),
            "surname": pupils["surname"].to_numpy(),
            "date_of_birth": pupils["date_of_birth"].astype(str).to_numpy(),
            "sex": pupils["sex"].to_numpy(),
            "postcode": pcs,
            "school_urn": school.astype(object),
        }
    )
    extra = np.column_stack([pupils["eal"].to_numpy(), pupils["origin"].to_numpy()])
    return frame, extra


def write_scale(synth: SynthParams, seed: int, out: str | Path, *, npd_size: int, survey_sizes: list[int], chunk_size: int = 500_000) -> dict:
    """Write the national spine and survey spines; return timing figures."""
    if npd_size < 1:
        raise ParameterError(f"--npd-size must be at least 1 (got {npd_size})")
    if any(m < 1 or m > npd_size for m in survey_sizes):
        raise ParameterError(f"each --survey-size must be between 1 and --npd-size {npd_size} (got {sorted(survey_sizes)})")
    if chunk_size < 1:
        raise ParameterError(f"--chunk-size must be at least 1 (got {chunk_size})")
    out = Path(out)
    rng = np.random.default_rng(seed)
    geo_rng, pop_rng, pick_rng, report_rng = rng.spawn(4)
    las = make_local_authorities(NATIONAL_LAS, geo_rng)
    # Survey children are drawn up front so their rows can be kept as the
    # chunks stream past; samples of different sizes are nested.
    chosen = pick_rng.choice(npd_size, size=max(survey_sizes, default=0), replace=False)
    wanted = np.sort(chosen)
    kept: list[pd.DataFrame] = []
    kept_extra: list[np.ndarray] = []
    spine_path = out / catalogue.NPD_SPINE.relative_to(catalogue.SYNTHETIC)
    remove_stale_temporaries([spine_path])
    tmp = temporary_file(spine_path)  # owner-only (identifiers), named so a killed run's copy is found and removed
    started = time.perf_counter()
    writer = None
    try:
        with tqdm(total=npd_size, desc="national spine", unit="pupil", unit_scale=True, disable=None) as bar:
            for start in range(0, npd_size, chunk_size):
                n = min(chunk_size, npd_size - start)
                frame, extra = _chunk(synth, n, start, las, pop_rng)
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                writer.write_table(table)
                lo, hi = np.searchsorted(wanted, [start, start + n])
                if hi > lo:
                    rows = wanted[lo:hi] - start
                    kept.append(frame.iloc[rows])
                    kept_extra.append(extra[rows])
                bar.update(n)
        writer.close()
        writer = None
        tmp.replace(spine_path)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    spine_seconds = time.perf_counter() - started
    figures = {"npd_size": npd_size, "spine_seconds": round(spine_seconds, 1), "surveys": {}}
    if survey_sizes:
        truth = pd.concat(kept, ignore_index=True)
        extra = np.concatenate(kept_extra)
        # Rows were kept in spine order; put them back in drawing order so
        # that smaller samples are prefixes of larger ones (nested samples).
        drawn = pd.Series(np.arange(len(wanted)), index=wanted).reindex(chosen).to_numpy()
        truth = truth.iloc[drawn].reset_index()
        extra = extra[drawn]
        report, differences = _report(truth, extra, synth, report_rng)
        with StagedWrites() as staged:
            for m in sorted(set(survey_sizes)):
                head = report.iloc[:m]
                true_links, true_differences = scale_truth(m)
                staged.table(head[["survey_id", *SPINE_COLUMNS[1:]]], out / catalogue.scale_survey_spine(m).relative_to(catalogue.SYNTHETIC))
                staged.table(head[["survey_id", "upn"]], out / true_links.relative_to(catalogue.SYNTHETIC))
                staged.table(differences[differences["survey_id"].isin(head["survey_id"])], out / true_differences.relative_to(catalogue.SYNTHETIC))
                figures["surveys"][m] = {"rows": m}
            staged.json(figures, out / catalogue.MANIFEST.relative_to(catalogue.SYNTHETIC))
    log.info("national spine of %d pupils in %.1f s", npd_size, spine_seconds)
    return json.loads(json.dumps(figures))


def _report(truth: pd.DataFrame, extra: np.ndarray, synth: SynthParams, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(truth)
    true = truth[["forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn"]].copy()
    true["middle_names"] = true["middle_names"].fillna("")
    # The family's postcode and school at the survey: some have since moved.
    moved = rng.random(n) < MOVED_SHARE
    area = np.array([pc.split(" ")[0].rstrip("0123456789") for pc in true["postcode"]], dtype=object)
    survey_pc = true["postcode"].to_numpy(dtype=object).copy()
    survey_pc[moved] = random_postcodes(area[moved], rng)
    changed = rng.random(n) < CHANGED_SCHOOL_SHARE
    survey_school = true["school_urn"].to_numpy(dtype=object).copy()
    survey_school[changed] = rng.integers(100000, 100000 + NATIONAL_SCHOOLS, changed.sum()).astype(str)
    true = true.assign(npd_postcode=true["postcode"], npd_school_urn=true["school_urn"], postcode=survey_pc, school_urn=survey_school)
    reported, diff_log = corrupt.report_identifiers(true, extra[:, 0].astype(bool), extra[:, 1], truth["sex"].to_numpy(), synth.identifiers, rng)
    ids = np.array([f"SS{i:07d}" for i in range(1, n + 1)], dtype=object)
    reported.insert(0, "survey_id", ids)
    reported["upn"] = truth["upn"].to_numpy()
    return reported, diff_log.frame(ids)

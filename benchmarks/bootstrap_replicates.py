"""How many bootstrap replicates are enough? The default world with B = 1,000 against make report's B.

``make report`` runs the replicate-weight bootstrap with
``outcomes.bootstrap_replicates`` replicates (100) to stay under five
minutes on two cores. This benchmark rebuilds the survey organisation's
release with ``--replicates`` (default 1,000) in memory from the project's
data (which must exist: ``make report`` or ``sendlink pipeline``), reruns the
weighted analysis with it, and compares each weighted estimate's bootstrap
standard error with the one ``make report`` published
(``data/research/analysis/estimates.csv``). A bootstrap SE from B
replicates has a relative Monte Carlo error of about 1/sqrt(2(B-1)): 7% at
B = 100, 2% at B = 1,000.

Run: ``.venv/bin/python benchmarks/bootstrap_replicates.py [--replicates 1000]``;
writes ``benchmarks/results/bootstrap_replicates.json`` and ``.md``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
log = logging.getLogger("bootstrap_replicates")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("sendlink").setLevel(logging.WARNING)
    import dataclasses

    from sendlink import config
    from sendlink.consent.files import ConsentFiles
    from sendlink.deidentify.stage import build_extracts, project_key, support_settings
    from sendlink.io import read_table
    from sendlink.outcomes import analyse
    from sendlink.params import load_params
    from sendlink.schema import catalogue

    paths = config.Paths(ROOT)
    params = load_params(paths.params)
    published = pd.read_csv(catalogue.ESTIMATES.at(paths))
    base = support_settings(params)
    start = time.perf_counter()
    files = ConsentFiles(paths)
    extracts, _, extras = build_extracts(read_table(files.status), files.holdings, read_table(catalogue.LINKS.at(paths)), paths.npd,
                                         project_key(paths, params), params.deidentify, params.synth.survey.frame_year,
                                         support=dataclasses.replace(base, replicates=args.replicates))
    t_release = time.perf_counter() - start
    start = time.perf_counter()
    analysis = analyse(extracts["main"], params.outcomes, seed=params.seed, replicates=extras["replicates"], estimators=("weighted",))
    t_analysis = time.perf_counter() - start
    big = analysis.estimates.set_index(["outcome", "model", "term"])
    pub = published[published["estimator"] == "weighted"].set_index(["outcome", "model", "term"])
    rows = []
    for key, r in big.iterrows():
        if key not in pub.index:
            continue
        small = pd.to_numeric(pd.Series([pub.loc[key, "se_bootstrap"]]), errors="coerce").iloc[0]
        rows.append({"effect": ":".join(key[::2]), "model": key[1], "se_report": float(small), "se_many": float(r["se_bootstrap"]),
                     "ratio": float(small / r["se_bootstrap"])})
    table = pd.DataFrame(rows)
    ratio = table["ratio"].dropna()
    meta = {"replicates_report": base.replicates, "replicates_benchmark": args.replicates, "terms": len(table),
            "ratio_median": float(ratio.median()), "ratio_min": float(ratio.min()), "ratio_max": float(ratio.max()),
            "ratio_sd": float(ratio.std(ddof=1)), "expected_sd": float(np.sqrt(1 / (2 * (base.replicates - 1)) + 1 / (2 * (args.replicates - 1)))),
            "seconds_release": round(t_release, 1), "seconds_analysis": round(t_analysis, 1)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bootstrap_replicates.json").write_text(json.dumps({"meta": meta, "terms": table.round(5).to_dict(orient="records")}, indent=2) + "\n")
    lines = [
        "# Bootstrap replicates: make report's B against many more",
        "",
        f"Default world; the weighted estimates' bootstrap SE with B = {base.replicates} (as `make report` publishes it) over the SE with "
        f"B = {args.replicates} (this benchmark), {len(table)} terms: median ratio {meta['ratio_median']:.3f}, range "
        f"{meta['ratio_min']:.3f} to {meta['ratio_max']:.3f}, SD {meta['ratio_sd']:.3f} (Monte Carlo error alone would give about "
        f"{meta['expected_sd']:.3f}). Time: the survey organisation's release with {args.replicates} replicates {meta['seconds_release']:.0f} s, "
        f"the analysis {meta['seconds_analysis']:.0f} s, on one core of the shared 2-core machine. Generated by `benchmarks/bootstrap_replicates.py`.",
        "",
        "| effect | model | SE (B report) | SE (B benchmark) | ratio |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {r.effect} | {r.model} | {r.se_report:.4f} | {r.se_many:.4f} | {r.ratio:.3f} |" for r in table.itertuples(index=False)]
    (RESULTS / "bootstrap_replicates.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("%s", meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

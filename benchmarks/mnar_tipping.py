"""The MNAR preset's tipping points against the dependence the preset builds in.

The delta-adjustment analysis (:mod:`sendlink.outcomes.sensitivity`) asks how
far non-analysable families would have to differ from analysable families
like them, per unit of a term, before a conclusion is overturned (the
tipping point, ``delta_estimate_zero``). In a synthetic world the actual
difference can be measured: every wave-1 respondent's true outcomes are in
the truth, so the same weighted model can be fitted separately on the
analysable respondents (consented and linked) and on the others, and

    actual delta = coefficient among the non-analysable - coefficient among the analysable

is the delta of the pattern-mixture model that holds in that world (on the
same scale, per unit of the same term). The MNAR preset
(``presets/mnar_consent.yaml``) makes consent depend on the true outcomes;
this script reports, per conclusion, the tipping point, the actual delta and
whether the actual dependence is strong enough to overturn it.

Run: ``nice -n 10 .venv/bin/python benchmarks/mnar_tipping.py [--seeds 3]``
(about 2 minutes per seed on an idle core; writes
``benchmarks/results/mnar_tipping.{md,json}``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))
log = logging.getLogger("mnar_tipping")


def actual_deltas(paths, params, extract: pd.DataFrame, analysis) -> pd.DataFrame:
    """Per main-model term: the weighted coefficient among analysable and non-analysable respondents (true values)."""
    from sendlink.evaluate import outcomes as truth
    from sendlink.io import read_table
    from sendlink.outcomes.analysis import MODELS, OUTCOMES, complete_rows, fit_model
    from sendlink.outcomes.variables import analysis_variables
    from sendlink.schema import catalogue

    s = params.outcomes
    from sendlink.evaluate import truth as truth_files

    rows = truth.frame_rows(paths, params.synth.survey.frame_year)
    upn = truth_files.frame(paths)["upn"].astype(str).to_numpy()  # frame_rows keeps the frame's order
    rows["research_id"] = np.asarray(truth.research_id_mapper(paths, params)(upn), dtype=object)
    sample = read_table(catalogue.SAMPLE.at(paths))
    sample = sample[sample["w1_responded"]].set_index("survey_id")
    rows = rows[rows["survey_id"].isin(sample.index)].reset_index(drop=True)
    variables = analysis_variables(rows)
    out = []
    for name, outcome in OUTCOMES.items():
        analysed = set(extract.loc[analysis.samples[(name, "main")].to_numpy(), "research_id"].astype(str))
        analysable = rows["research_id"].astype(str).isin(analysed)
        weight = rows["survey_id"].map(sample[outcome.base_weight]).astype(float)
        keep = complete_rows(variables, name, "main")
        if outcome.base_weight == "w2_weight":
            keep &= rows["survey_id"].map(sample["w2_young_person_responded"]).fillna(False).astype(bool)
        fits = {}
        for label, mask in (("analysable", keep & analysable), ("not_analysable", keep & ~analysable)):
            fits[label] = fit_model(variables, outcome, "main", mask, weight.where(mask), count_model=s.count_model,
                                    min_category_rows=s.min_category_rows)
        for term in MODELS["main"]:
            a, b = (fits[k].result.params.get(term, np.nan) for k in ("analysable", "not_analysable"))
            out.append({"outcome": name, "term": term, "coef_analysable": float(a), "coef_not_analysable": float(b),
                        "actual_delta": float(b - a), "n_analysable": int((keep & analysable).sum()),
                        "n_not_analysable": int((keep & ~analysable).sum())})
    return pd.DataFrame(out)


def one_seed(seed: int, base: dict, pupils: int, las: int) -> pd.DataFrame:
    from simulation import build, reduced_params

    from sendlink import config
    from sendlink.outcomes import sensitivity
    from sendlink.outcomes.stage import fit
    from sendlink.params import load_params

    params = reduced_params(base, seed, pupils, las, replicates=0)
    with tempfile.TemporaryDirectory(prefix=f"sendlink_mnar_{seed}_") as tmp:
        root = Path(tmp)
        build(root, params)
        paths = config.Paths(root)
        loaded = load_params(root / "params.yaml")
        extract, analysis, _ = fit(paths, loaded)
        tips = sensitivity.tipping_points(extract, analysis, loaded.outcomes)
        actual = actual_deltas(paths, loaded, extract, analysis)
    table = tips.merge(actual, on=["outcome", "term"], how="left")
    table["seed"] = seed
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1001)
    parser.add_argument("--pupils", type=int, default=40000)
    parser.add_argument("--las", type=int, default=8)
    parser.add_argument("--preset", type=Path, default=ROOT / "presets" / "mnar_consent.yaml")
    parser.add_argument("--report", action="store_true", help="only rebuild the report from the runs in mnar_tipping.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("sendlink").setLevel(logging.ERROR)
    from sendlink.params import load_params

    if args.report:
        old = json.loads((RESULTS / "mnar_tipping.json").read_text())
        runs = pd.DataFrame(old["runs"])
        tables = list(range(old["seeds"]))
        seconds = [old["median_seconds_per_seed"]]
    else:
        base = load_params(args.preset).model_dump(mode="json")
        tables, seconds = [], []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            t = time.perf_counter()
            tables.append(one_seed(seed, base, args.pupils, args.las))
            seconds.append(time.perf_counter() - t)
            log.info("seed %d: %.0f s", seed, seconds[-1])
        runs = pd.concat(tables, ignore_index=True)

    def beyond(tip: pd.Series) -> pd.Series:
        """The actual delta has the tipping point's sign and at least its size."""
        return (tip.notna() & (np.sign(runs["actual_delta"]) == np.sign(tip)) & (runs["actual_delta"].abs() >= tip.abs())).astype(float)

    runs["overturned"] = beyond(runs["delta_estimate_zero"])
    runs["interval_reaches_zero"] = beyond(runs["delta_interval_zero"])
    runs["same_sign"] = (np.sign(runs["actual_delta"]) == np.sign(runs["delta_estimate_zero"])).astype(float)
    by = runs.groupby(["outcome", "term"], sort=False).agg(
        seeds=("seed", "nunique"), estimate=("estimate", "mean"), tipping_point=("delta_estimate_zero", "mean"),
        tipping_interval=("delta_interval_zero", "mean"), actual_delta=("actual_delta", "mean"),
        actual_delta_sd=("actual_delta", "std"), same_sign=("same_sign", "mean"), overturned=("overturned", "mean"),
        interval_reaches_zero=("interval_reaches_zero", "mean"), share_not_analysable=("share_not_analysable", "mean"),
    ).reset_index()
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"preset": str(args.preset.relative_to(ROOT)), "seeds": len(tables), "first_seed": args.first_seed, "pupils_per_year_group": args.pupils,
            "local_authorities": args.las, "median_seconds_per_seed": round(float(np.median(seconds)), 1)}
    (RESULTS / "mnar_tipping.json").write_text(json.dumps({**meta, "conclusions": by.round(4).to_dict("records"),
                                                           "runs": runs.round(4).to_dict("records")}, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# MNAR preset: tipping points against the dependence built in", "",
        f"{meta['seeds']} seed(s) of `{meta['preset']}` (first seed {args.first_seed}; {args.pupils:,} pupils per year group, {args.las} local "
        f"authorities; median {meta['median_seconds_per_seed']} s per seed). Generated by `benchmarks/mnar_tipping.py`.", "",
        "Per conclusion (a main-model weighted effect whose 95% interval excludes no difference): the tipping point (the delta at which "
        "the estimate reaches no difference; and where its interval first does), and the **actual delta** of that world: the same "
        "weighted model fitted on every wave-1 respondent's true values, among the non-analysable minus among the analysable. "
        "Same scale, per unit of the term. Shares over seeds: *same sign* (the actual delta points the way that would overturn the "
        "conclusion), *estimate overturned* (it has the tipping point's sign and at least its size), *interval reaches zero* (the "
        "same against the interval's tipping point). A conclusion is a term whose interval excluded zero in that seed, so the "
        "number of seeds differs by row.", "",
        "| outcome | term | seeds | estimate | tipping point (estimate) | tipping point (interval) | actual delta (SD over seeds) | same sign | estimate overturned | interval reaches zero | not analysable |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in by.itertuples(index=False):
        lines.append(f"| {r.outcome} | {r.term} | {r.seeds} | {r.estimate:+.3f} | {r.tipping_point:+.2f} | {r.tipping_interval:+.2f} | "
                     f"{r.actual_delta:+.3f} ({r.actual_delta_sd:.3f}) | {r.same_sign:.2f} | {r.overturned:.2f} | {r.interval_reaches_zero:.2f} | "
                     f"{r.share_not_analysable:.2f} |")
    (RESULTS / "mnar_tipping.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("written %s", RESULTS / "mnar_tipping.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

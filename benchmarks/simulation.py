"""Simulation: bias and coverage of the naive and weighted estimators over many seeds.

One seed proves little. For each of ``--seeds`` seeds, at reduced size, this
script runs the whole chain in a temporary project: generation -> consent ->
linkage -> extract -> analysis, and compares every planted effect's
estimates with that seed's census value (the analysis model fitted on the
whole frame with true values, :mod:`sendlink.evaluate.outcomes`). Per effect it
reports, for each estimator, the mean bias, the coverage of the 95%
interval, the empirical standard deviation of the estimates and the mean
standard error (their ratio shows whether the intervals are the right
width).

Estimators
----------
* ``naive``: consenting, linked families, unweighted;
* ``design``: the same families, survey weights only;
* ``weighted``: survey weight x inverse probability of consent and link;
* ``respondents`` (evaluation only, not possible in real life): every
  wave-1 respondent with true answers and outcomes and their survey weight,
  as if everyone had consented and been linked without error. It separates
  what the survey design and non-response do from what consent and linkage
  add.

Two targets
-----------
* the seed's **census** value (finite population: the planted effects as
  the analysis model sees them in this seed's world), the project's check;
* the **superpopulation** value, the mean census value over seeds (the
  worlds themselves are random). A 95% interval that is right for the
  census is too narrow for the superpopulation value, and vice versa the
  interval's variance also contains the finite-population part that the
  census removes; both coverages are reported.

Run: ``.venv/bin/python benchmarks/simulation.py [--seeds 60] [--pupils 40000]``
(about 45 s per seed on one core). Per-seed results are appended to
``benchmarks/results/simulation_runs.csv`` as they finish (rerunning skips
seeds already there); ``--report`` only rebuilds ``simulation.json``,
``simulation.md`` and ``simulation.png`` from that file.
"""

from __future__ import annotations

import os

# Small matrices on a shared machine: one BLAS thread is several times faster
# than two threads competing with other work. Set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
log = logging.getLogger("simulation")


def reduced_params(base: dict, seed: int, pupils: int, las: int) -> dict:
    """The project's parameters at reduced size, with this seed."""
    params = copy.deepcopy(base)
    params["seed"] = seed
    params["synth"]["npd"]["pupils_per_year_group"] = pupils
    params["synth"]["npd"]["local_authorities"] = las
    return params


def build(root: Path, params: dict) -> dict[str, float]:
    """Generate the world and run consent, linkage and extract in ``root``."""
    from sendlink import config
    from sendlink.params import load_params
    from sendlink.pipeline import run_pipeline
    from sendlink.synth.generate import generate, write

    timings = {}
    start = time.perf_counter()
    paths = config.Paths(root)
    import yaml

    clean = {k: v for k, v in params.items() if not k.startswith("_")}
    (root / "params.yaml").write_text(yaml.safe_dump(clean, sort_keys=False), encoding="utf-8")
    (root / "pyproject.toml").write_text("[project]\nname = 'simulation'\n", encoding="utf-8")
    params = load_params(root / "params.yaml")
    synth = params.synth
    write(generate(synth, params.seed, as_of=synth.consent.events_until), paths.synthetic)
    timings["synth"] = time.perf_counter() - start
    timings.update(run_pipeline(paths, params, only=["consent", "link", "extract"]))
    return timings


def respondents_estimates(paths, params, census_rows: pd.DataFrame) -> pd.DataFrame:
    """The ``respondents`` estimator: every wave-1 respondent, true values, survey weights."""
    from sendlink.io import read_table
    from sendlink.outcomes.analysis import (
        MODELS,
        OUTCOMES,
        complete_rows,
        estimates_rows,
        fit_model,
    )
    from sendlink.outcomes.variables import analysis_variables
    from sendlink.schema import catalogue

    s = params.outcomes
    sample = read_table(catalogue.SAMPLE.at(paths))
    sample = sample[sample["w1_responded"]].set_index("survey_id")
    rows = census_rows[census_rows["survey_id"].isin(sample.index)].reset_index(drop=True)
    weights = {
        "w1_weight": rows["survey_id"].map(sample["w1_weight"]).astype(float),
        "w2_weight": rows["survey_id"].map(sample["w2_weight"]).astype(float),
    }
    yp2 = rows["survey_id"].map(sample["w2_young_person_responded"]).fillna(False).astype(bool)
    variables = analysis_variables(rows)
    tables = []
    for name, outcome in OUTCOMES.items():
        for model in MODELS:
            keep = complete_rows(variables, name, model)
            if outcome.base_weight == "w2_weight":
                keep &= yp2
            w = weights[outcome.base_weight].where(keep)
            fit = fit_model(variables, outcome, model, keep, w, test_level=s.overdispersion_alpha, min_category_rows=s.min_category_rows)
            tables.append(estimates_rows(fit, variables, keep, name, model, "respondents", s.confidence))
    return pd.concat(tables, ignore_index=True)


def one_seed(seed: int, base: dict, pupils: int, las: int, keep_dir: Path | None = None) -> pd.DataFrame:
    """Everything for one seed: per planted effect and estimator, the estimate and its census value."""
    from sendlink import config
    from sendlink.evaluate import outcomes as truth
    from sendlink.evaluate.truth import planted_effects
    from sendlink.outcomes.analysis import analyse, read_extract
    from sendlink.params import load_params
    from sendlink.schema import catalogue

    params = reduced_params(base, seed, pupils, las)
    with tempfile.TemporaryDirectory(prefix=f"sendlink_sim_{seed}_") as tmp:
        root = Path(tmp)
        timings = build(root, params)
        paths = config.Paths(root)
        params = load_params(root / "params.yaml")
        t = time.perf_counter()
        extract = read_extract(catalogue.EXTRACT.at(paths))
        analysis = analyse(extract, params.outcomes)
        timings["analyse"] = time.perf_counter() - t
        t = time.perf_counter()
        year = params.synth.survey.frame_year
        rows = truth.frame_rows(paths, year)
        census = truth.census_values(paths, year, rows=rows)
        planted = planted_effects(paths)
        resp = respondents_estimates(paths, params, rows)
        errors = truth.link_errors(paths, extract, truth.research_id_mapper(paths, params))
        timings["evaluate"] = time.perf_counter() - t
        table = truth.comparison(pd.concat([analysis.estimates, resp], ignore_index=True), census, planted)
        if keep_dir is not None:
            shutil.copytree(paths.research, keep_dir / f"seed_{seed}", dirs_exist_ok=True)
    # Weight diagnostics and the analysable share, for the explanation.
    ws = analysis.weight_summaries().set_index(["outcome", "model"])
    table["seed"] = seed
    table["false_matches"] = errors.false_positives
    table["linked_true"] = errors.true_positives
    table["n_trimmed"] = [int(ws.loc[(o, m), "n_trimmed"]) for o, m in zip(table["outcome"], table["model"], strict=True)]
    table["design_effect"] = [float(ws.loc[(o, m), "design_effect"]) for o, m in zip(table["outcome"], table["model"], strict=True)]
    table["seconds"] = round(sum(timings.values()), 1)
    log.info("seed %d: %.0f s (%s)", seed, sum(timings.values()), ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    return table


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Per planted effect and estimator: bias, coverage, spread."""
    runs = runs.copy()
    superpop = runs.drop_duplicates(["seed", "effect"]).groupby("effect")["census"].mean()
    runs["superpop"] = runs["effect"].map(superpop)
    runs["covers_superpop"] = (runs["superpop"] - runs["estimate"]).abs() <= 1.959964 * runs["se"]
    g = runs.groupby(["effect", "estimator"], sort=False)
    out = pd.DataFrame({
        "seeds": g["seed"].nunique(),
        "generating": g["generating"].first(),
        "census_mean": g["census"].mean(),
        "census_sd": g["census"].std(ddof=1),
        "mean_estimate": g["estimate"].mean(),
        "mean_bias": g["bias"].mean(),
        "bias_mcse": g["bias"].std(ddof=1) / np.sqrt(g["seed"].nunique()),
        "empirical_sd": g["estimate"].std(ddof=1),
        "sd_of_error": g["bias"].std(ddof=1),
        "mean_se": g["se"].mean(),
        "coverage": g["covers"].mean(),
        "coverage_superpop": g["covers_superpop"].mean(),
        "within_99": g["within_check"].mean(),
    }).reset_index()
    out["se_ratio"] = out["mean_se"] / out["sd_of_error"]
    return out


ESTIMATOR_ORDER = ("naive", "design", "weighted", "respondents")


def markdown(table: pd.DataFrame, meta: dict) -> str:
    lines = [
        "# Simulation: bias and coverage of the outcome estimators",
        "",
        f"{meta['seeds']} seeds (size: {meta['pupils_per_year_group']:,} pupils per year group, "
        f"{meta['local_authorities']} local authorities; median {meta['median_respondents']:,} wave-1 respondents, "
        f"{meta['median_analysed']:,} in the NPD models, {meta['median_analysed_wellbeing']:,} in the wellbeing model). "
        "Generated by `benchmarks/simulation.py`; the target of each estimate is its seed's census value "
        "(the analysis model fitted on the whole frame with true values).",
        "",
        "Columns: mean bias (estimate minus census) with its Monte Carlo standard error, the coverage of the "
        "95% interval of the census value, and SE ratio = mean standard error / standard deviation of the "
        "error across seeds (1 means the intervals have the right width). Model scale: log odds ratio, "
        "log rate ratio or points.",
        "",
        "| effect | generating | census (mean) | " + " | ".join(f"{e} bias | {e} coverage | {e} SE ratio" for e in meta["estimators"]) + " |",
        "| --- | ---: | ---: | " + " | ".join("---: | ---: | ---:" for _ in meta["estimators"]) + " |",
    ]
    for effect, group in table.groupby("effect", sort=False):
        g = group.set_index("estimator")
        cells = [effect, f"{g['generating'].iloc[0]:.2f}", f"{g['census_mean'].iloc[0]:.3f}"]
        for e in meta["estimators"]:
            r = g.loc[e]
            cells += [f"{r['mean_bias']:+.3f} ({r['bias_mcse']:.3f})", f"{r['coverage']:.2f}", f"{r['se_ratio']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    summ = meta["overall"]
    lines += [
        "",
        "Overall coverage of the 95% intervals (all effects): " + ", ".join(f"{e} {summ[e]['coverage']:.3f}" for e in meta["estimators"]) + ".",
        "Mean |bias| / mean SE: " + ", ".join(f"{e} {summ[e]['bias_over_se']:.2f}" for e in meta["estimators"]) + ".",
        "",
        f"Binomial Monte Carlo error of a coverage near 0.95 over {meta['seeds']} seeds: about ±{meta['coverage_mcse']:.3f}.",
    ]
    return "\n".join(lines) + "\n"


def figure(table: pd.DataFrame, path: Path, estimators: tuple[str, ...]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    effects = list(dict.fromkeys(table["effect"]))
    colours = {"naive": "#b2182b", "design": "#999999", "weighted": "#2166ac", "respondents": "#1b7837"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.36 * len(effects) + 1.6), sharey=True)
    y = np.arange(len(effects))[::-1]
    offsets = np.linspace(-0.25, 0.25, len(estimators))
    for off, e in zip(offsets, estimators, strict=True):
        g = table[table["estimator"] == e].set_index("effect").loc[effects]
        scaled = g["mean_bias"] / g["sd_of_error"].where(g["sd_of_error"] > 0)
        axes[0].errorbar(scaled, y + off, xerr=1.96 * g["bias_mcse"] / g["sd_of_error"], fmt="o", ms=4, color=colours[e], label=e)
        axes[1].plot(g["coverage"], y + off, "o", ms=4, color=colours[e])
    axes[0].axvline(0, color="black", lw=0.8)
    axes[0].set_xlabel("mean bias / SD of the estimator (with 95% MC interval)")
    axes[1].axvline(0.95, color="black", lw=0.8)
    axes[1].set_xlabel("coverage of the 95% interval (census value)")
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(effects, fontsize=7)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(runs: pd.DataFrame, meta_extra: dict, out: Path = RESULTS) -> dict:
    table = aggregate(runs)
    estimators = tuple(e for e in ESTIMATOR_ORDER if e in set(table["estimator"]))
    overall = {}
    for e in estimators:
        r = runs[runs["estimator"] == e]
        overall[e] = {"coverage": float(r["covers"].mean()), "within_99": float(r["within_check"].mean()),
                      "bias_over_se": float(table.loc[table["estimator"] == e, "mean_bias"].abs().mean() / table.loc[table["estimator"] == e, "mean_se"].mean())}
    n_seeds = int(runs["seed"].nunique())
    per_seed = runs.drop_duplicates("seed")
    meta = {
        **meta_extra, "seeds": n_seeds, "estimators": list(estimators), "overall": overall,
        "coverage_mcse": float(np.sqrt(0.95 * 0.05 / n_seeds)),
        "median_respondents": int(runs.loc[runs["estimator"] == "respondents"].groupby("seed")["n"].max().median()) if "respondents" in estimators else 0,
        "median_analysed": int(runs[(runs["estimator"] == "weighted") & (runs["outcome"] == "persistent_absence") & (runs["model"] == "main")]["n"].median()),
        "median_analysed_wellbeing": int(runs[(runs["estimator"] == "weighted") & (runs["outcome"] == "wellbeing") & (runs["model"] == "main")]["n"].median()),
        "false_matches_mean": float(per_seed["false_matches"].mean()),
        "seconds_per_seed_median": float(per_seed["seconds"].median()),
    }
    out.mkdir(parents=True, exist_ok=True)
    records = json.loads(table.round(5).to_json(orient="records"))
    (out / "simulation.json").write_text(json.dumps({"meta": meta, "effects": records}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out / "simulation.md").write_text(markdown(table, meta), encoding="utf-8")
    figure(table, out / "simulation.png", estimators)
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--first-seed", type=int, default=1001)
    parser.add_argument("--pupils", type=int, default=40000, help="pupils per year group (default 40,000; the default world has 85,000)")
    parser.add_argument("--las", type=int, default=8, help="local authorities (default 8; the default world has 16)")
    parser.add_argument("--report", action="store_true", help="only rebuild the report from simulation_runs.csv")
    parser.add_argument("--keep", type=Path, help="keep each seed's data/research here (for debugging)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("sendlink",):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    import yaml

    base = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    meta = {"pupils_per_year_group": args.pupils, "local_authorities": args.las, "python": platform.python_version()}
    runs_file = args.out / "simulation_runs.csv"
    done = pd.read_csv(runs_file) if runs_file.is_file() else pd.DataFrame()
    if not args.report:
        seeds = [s for s in range(args.first_seed, args.first_seed + args.seeds) if done.empty or s not in set(done["seed"])]
        for seed in seeds:
            try:
                table = one_seed(seed, base, args.pupils, args.las, args.keep)
            except Exception:  # one seed failing must not lose the others: record and go on
                log.error("seed %d failed:\n%s", seed, traceback.format_exc())
                continue
            args.out.mkdir(parents=True, exist_ok=True)
            table.to_csv(runs_file, mode="a", header=not runs_file.is_file(), index=False)
        done = pd.read_csv(runs_file) if runs_file.is_file() else pd.DataFrame()
    if done.empty:
        log.error("no results yet")
        return 1
    meta = report(done, meta, args.out)
    log.info("report written: %s seeds; coverage %s", meta["seeds"], {e: round(v["coverage"], 3) for e, v in meta["overall"].items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

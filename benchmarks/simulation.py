"""Simulation: bias, coverage and standard errors of the outcome estimators over many seeds.

One seed proves little. For each of ``--seeds`` seeds, at reduced size, this
script runs the whole chain in a temporary project: generation -> consent ->
linkage -> extract (with the survey organisation's consent probabilities
and bootstrap replicates) -> analysis, and compares every planted effect's
estimates with that seed's census value (the analysis model fitted on the
whole frame with true values, :mod:`sendlink.evaluate.outcomes`).

Estimators
----------
* ``naive``: consenting, linked families, unweighted;
* ``design``: the same families, survey weights only;
* ``consent_weighted``: survey weight / P(consent), the linked rows taken
  as they come (linkage error ignored: missed links not weighted for,
  false links not corrected);
* ``weighted``: survey weight / (P(consent) x P(linked | consent)) (the
  headline; bootstrap and sandwich standard errors);
* ``linkage_corrected``: weighted, with false links corrected by the match
  probabilities;
* ``respondents`` (evaluation only, not possible in real life): every
  wave-1 respondent with true answers and outcomes and their survey weight,
  as if everyone had consented and been linked without error.

Targets and variances, paired consistently
------------------------------------------
* the seed's **census** value (this frame's population value) with the
  **bootstrap** standard error, which has the finite-population correction
  (the respondents are 15-25% of the frame);
* the **super-population** value (the mean census value over seeds: the
  worlds themselves are random) with the **sandwich** standard error,
  which has no finite-population correction.

Per effect and estimator it reports mean bias (estimate - census), bias in
units of the estimator's SD, coverage of each pairing and SE ratio (mean SE /
SD of the error), each with a Monte Carlo standard error from resampling
seeds; and the same per class of effect (the main models' unmet-need
effects; their other effects; the effect-modification terms).

Run: ``.venv/bin/python benchmarks/simulation.py [--seeds 200] [--replicates 50] [--preset FILE]``.
Per-seed results are appended to ``--runs`` as they finish (rerunning
skips seeds already there, so an interrupted run resumes); ``--report``
only rebuilds the report from that file.
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


def reduced_params(base: dict, seed: int, pupils: int, las: int, replicates: int = 50) -> dict:
    """The project's parameters at reduced size, with this seed and this many bootstrap replicates."""
    params = copy.deepcopy(base)
    params["seed"] = seed
    params["synth"]["npd"]["pupils_per_year_group"] = pupils
    params["synth"]["npd"]["local_authorities"] = las
    params["outcomes"]["bootstrap_replicates"] = replicates
    return params


def build(root: Path, params: dict) -> dict[str, float]:
    """Generate the world and run consent, linkage and extract in ``root``."""
    import yaml

    from sendlink import config
    from sendlink.params import load_params
    from sendlink.pipeline import run_pipeline
    from sendlink.synth.generate import generate, write

    timings = {}
    start = time.perf_counter()
    paths = config.Paths(root)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    (root / "pyproject.toml").write_text("[project]\nname = 'simulation'\n", encoding="utf-8")
    loaded = load_params(root / "params.yaml")
    synth = loaded.synth
    write(generate(synth, loaded.seed, as_of=synth.consent.events_until), paths.synthetic)
    timings["synth"] = time.perf_counter() - start
    timings.update(run_pipeline(paths, loaded, only=["consent", "link", "extract"]))
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
            fit = fit_model(variables, outcome, model, keep, w, count_model=s.count_model, min_category_rows=s.min_category_rows)
            tables.append(estimates_rows(fit, variables, keep, name, model, "respondents", s.confidence))
    return pd.concat(tables, ignore_index=True)


def one_seed(seed: int, base: dict, pupils: int, las: int, keep_dir: Path | None = None, replicates: int = 50) -> pd.DataFrame:
    """Everything for one seed: per planted effect and estimator, the estimate and its census value."""
    from sendlink import config
    from sendlink.evaluate import outcomes as truth
    from sendlink.evaluate.truth import planted_effects
    from sendlink.outcomes.stage import fit
    from sendlink.params import load_params

    params = reduced_params(base, seed, pupils, las, replicates)
    with tempfile.TemporaryDirectory(prefix=f"sendlink_sim_{seed}_") as tmp:
        root = Path(tmp)
        timings = build(root, params)
        paths = config.Paths(root)
        params = load_params(root / "params.yaml")
        t = time.perf_counter()
        extract, analysis, _ = fit(paths, params, extra_estimators=("consent_weighted",))
        timings["analyse"] = time.perf_counter() - t
        t = time.perf_counter()
        year = params.synth.survey.frame_year
        rows = truth.frame_rows(paths, year)
        census = truth.census_values(paths, year, count_model=params.outcomes.count_model, rows=rows)
        planted = planted_effects(paths)
        resp = respondents_estimates(paths, params, rows)
        errors = truth.link_errors(paths, extract, truth.research_id_mapper(paths, params))
        timings["evaluate"] = time.perf_counter() - t
        both = pd.concat([analysis.estimates, resp], ignore_index=True)
        table = truth.comparison(both, census, planted)
        key = both.set_index(["outcome", "model", "estimator", "term"])
        idx = list(zip(table["outcome"], table["model"], table["estimator"], table["term"], strict=True))
        table["se_sandwich"] = [float(key.loc[i, "se_sandwich"]) for i in idx]
        table["se_bootstrap"] = [float(key.loc[i, "se_bootstrap"]) for i in idx]
        table["ame"] = [float(key.loc[i, "ame"]) if "ame" in key.columns else np.nan for i in idx]
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


Z95 = 1.959964
ESTIMATOR_ORDER = ("naive", "design", "consent_weighted", "weighted", "linkage_corrected", "respondents")
#: Class of each planted effect (by its term and model).
def effect_class(effect: str) -> str:
    term = effect.split(":", 1)[1]
    if "_x_" in term:
        return "modification terms"
    return "main: unmet need" if term == "unmet_need" else "main: EHC plan, satisfaction"


def _prepare(runs: pd.DataFrame) -> pd.DataFrame:
    runs = runs.copy()
    superpop = runs.drop_duplicates(["seed", "effect"]).groupby("effect")["census"].mean()
    runs["superpop"] = runs["effect"].map(superpop)
    runs["class"] = runs["effect"].map(effect_class)
    runs["error"] = runs["estimate"] - runs["census"]
    runs["error_superpop"] = runs["estimate"] - runs["superpop"]
    se_b = runs["se_bootstrap"].where(runs["se_bootstrap"].notna(), np.nan)
    runs["covers_boot_census"] = np.where(se_b.notna(), (runs["error"].abs() <= Z95 * se_b).astype(float), np.nan)
    runs["covers_sandwich_superpop"] = (runs["error_superpop"].abs() <= Z95 * runs["se_sandwich"]).astype(float)
    runs["covers_sandwich_census"] = (runs["error"].abs() <= Z95 * runs["se_sandwich"]).astype(float)
    return runs


def _metrics(g: pd.DataFrame) -> dict[str, float]:
    """The metrics of one group of (seed, effect) rows (one or several effects)."""
    # Bias in SD units: per effect, mean error / SD of the estimate; averaged over the group's effects.
    per_effect = g.groupby("effect").agg(bias=("error", "mean"), sd=("estimate", "std"), sd_err=("error", "std"), census=("census", "mean"),
                                         sd_err_sp=("error_superpop", "std"), se_b=("se_bootstrap", "mean"), se_s=("se_sandwich", "mean"))
    # Signed in the direction of the effect, so that attenuation (bias towards
    # zero) is negative whatever the effect's sign and effects do not cancel.
    direction = np.sign(per_effect["census"]).replace(0, 1)
    return {
        "bias_over_sd": float((direction * per_effect["bias"] / per_effect["sd"]).mean()),
        "abs_bias_over_sd": float((per_effect["bias"] / per_effect["sd"]).abs().mean()),
        "coverage_bootstrap_census": float(g["covers_boot_census"].mean()),
        "coverage_sandwich_superpop": float(g["covers_sandwich_superpop"].mean()),
        "coverage_sandwich_census": float(g["covers_sandwich_census"].mean()),
        "se_ratio_bootstrap_census": float((per_effect["se_b"] / per_effect["sd_err"]).mean()),
        "se_ratio_sandwich_superpop": float((per_effect["se_s"] / per_effect["sd_err_sp"]).mean()),
        "se_ratio_sandwich_census": float((per_effect["se_s"] / per_effect["sd_err"]).mean()),
        "bootstrap_over_sandwich": float((per_effect["se_b"] / per_effect["se_s"]).mean()),
    }


def _with_mcse(g: pd.DataFrame, draws: int, rng: np.random.Generator) -> dict[str, float]:
    """Metrics with Monte Carlo standard errors from resampling seeds (with replacement)."""
    point = _metrics(g)
    seeds = g["seed"].unique()
    by_seed = {sd: part for sd, part in g.groupby("seed")}
    boots = []
    for _ in range(draws):
        pick = rng.choice(seeds, size=len(seeds), replace=True)
        sample = pd.concat([by_seed[sd].assign(seed=i) for i, sd in enumerate(pick)], ignore_index=True)
        boots.append(_metrics(sample))
    boots = pd.DataFrame(boots)
    return {**point, **{f"{k}_mcse": float(boots[k].std(ddof=1)) for k in point}, "seeds": int(len(seeds))}


def aggregate(runs: pd.DataFrame, *, draws: int = 200, seed: int = 2024) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per effect and estimator, and per class of effect and estimator: the metrics with MC errors."""
    runs = _prepare(runs)
    rng = np.random.default_rng(seed)
    per_effect, per_class = [], []
    for (effect, estimator), g in runs.groupby(["effect", "estimator"], sort=False):
        per_effect.append({"effect": effect, "estimator": estimator, "class": effect_class(effect),
                           "generating": float(g["generating"].iloc[0]), "census_mean": float(g["census"].mean()),
                           "mean_bias": float(g["error"].mean()), "bias_mcse": float(g["error"].std(ddof=1) / np.sqrt(len(g))),
                           **_with_mcse(g, draws // 4, rng)})
    for (klass, estimator), g in runs.groupby(["class", "estimator"], sort=False):
        per_class.append({"class": klass, "estimator": estimator, "effects": int(g["effect"].nunique()), **_with_mcse(g, draws, rng)})
    return pd.DataFrame(per_effect), pd.DataFrame(per_class)


def _cell(row, key, digits=3):
    v, e = row[key], row.get(f"{key}_mcse", np.nan)
    if not np.isfinite(v):
        return "-"
    return f"{v:.{digits}f} ({e:.{digits}f})" if np.isfinite(e) else f"{v:.{digits}f}"


def markdown(per_effect: pd.DataFrame, per_class: pd.DataFrame, meta: dict) -> str:
    est = [e for e in ESTIMATOR_ORDER if e in set(per_class["estimator"])]
    lines = [
        f"# Simulation: bias, coverage and standard errors of the outcome estimators{meta.get('title_suffix', '')}",
        "",
        f"{meta['seeds']} seeds (first seed {meta['first_seed']}; size: {meta['pupils_per_year_group']:,} pupils per year group, "
        f"{meta['local_authorities']} local authorities; median {meta['median_respondents']:,} wave-1 respondents, "
        f"{meta['median_analysed']:,} in the NPD models, {meta['median_analysed_wellbeing']:,} in the wellbeing model; "
        f"{meta['replicates']} bootstrap replicates per seed). Parameters: {meta['params']}. "
        f"Run time: median {meta['seconds_per_seed_median']:.0f} s per seed on one core of a shared 2-core machine, "
        f"{meta['total_hours']:.1f} hours in all. Generated by `benchmarks/simulation.py`. "
        f"Linkage per world: {meta.get('true_links_mean', float('nan')):,.0f} correct links and {meta['false_matches_mean']:.1f} false links on average.",
        "",
        *([f"**Incomplete: {meta['seeds']} of the {meta['target_seeds']} seeds planned.** The run was stopped before it finished; "
           f"resume it with `{meta['resume']}` (seeds already in the runs file are skipped), which rewrites this report.", ""]
          if meta.get("target_seeds") and meta["seeds"] < meta["target_seeds"] else []),
        "Pairings (target and variance consistent): **bootstrap vs census** (the bootstrap has the finite-population "
        "correction, the census value is this frame's), **sandwich vs super-population** (no correction; the target is "
        "the mean census value over seeds). *sandwich vs census* is the first edition's inconsistent pairing, for comparison. "
        "SE ratio = mean standard error / SD of the error across seeds (1 = intervals of the right width). "
        "Bias/SD = mean bias over the SD of the estimator, signed in the direction of the effect (negative: towards zero, "
        "attenuation), averaged over the class's effects; |bias|/SD its absolute size. Monte Carlo standard errors (from resampling seeds) in brackets.",
        "",
        "## By class of effect",
        "",
        "| class | estimator | bias/SD (towards the effect) | abs bias/SD | coverage: bootstrap vs census | coverage: sandwich vs super-population | coverage: sandwich vs census | SE ratio: bootstrap vs census | SE ratio: sandwich vs super-population | bootstrap SE / sandwich SE |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for klass in ("main: unmet need", "main: EHC plan, satisfaction", "modification terms"):
        for e in est:
            r = per_class[(per_class["class"] == klass) & (per_class["estimator"] == e)]
            if r.empty:
                continue
            r = r.iloc[0]
            lines.append(f"| {klass} | {e} | {_cell(r, 'bias_over_sd', 2)} | {_cell(r, 'abs_bias_over_sd', 2)} | {_cell(r, 'coverage_bootstrap_census')} | "
                         f"{_cell(r, 'coverage_sandwich_superpop')} | {_cell(r, 'coverage_sandwich_census')} | "
                         f"{_cell(r, 'se_ratio_bootstrap_census', 2)} | {_cell(r, 'se_ratio_sandwich_superpop', 2)} | {_cell(r, 'bootstrap_over_sandwich', 2)} |")
    lines += ["", "## By effect (naive and weighted)", "",
              "| effect | estimator | generating | census (mean) | bias (MC SE) | bias/SD | coverage: bootstrap vs census | coverage: sandwich vs super-population | SE ratio: bootstrap | SE ratio: sandwich |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in per_effect[per_effect["estimator"].isin(["naive", "weighted"])].itertuples(index=False):
        d = r._asdict()
        lines.append(f"| {r.effect} | {r.estimator} | {r.generating:.2f} | {r.census_mean:.3f} | {r.mean_bias:+.3f} ({r.bias_mcse:.3f}) | "
                     f"{_cell(d, 'bias_over_sd', 2)} | {_cell(d, 'coverage_bootstrap_census', 2)} | {_cell(d, 'coverage_sandwich_superpop', 2)} | "
                     f"{_cell(d, 'se_ratio_bootstrap_census', 2)} | {_cell(d, 'se_ratio_sandwich_superpop', 2)} |")
    lines += ["", f"Binomial Monte Carlo error of a coverage near 0.95 for one effect over {meta['seeds']} seeds: about ±{meta['coverage_mcse']:.3f}.", ""]
    return "\n".join(lines)


def figure(per_class: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = ("main: unmet need", "main: EHC plan, satisfaction", "modification terms")
    est = [e for e in ("naive", "weighted", "linkage_corrected") if e in set(per_class["estimator"])]
    colours = {"naive": "#b2182b", "weighted": "#2166ac", "linkage_corrected": "#5e3c99"}
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.8), sharey=True)
    y = np.arange(len(classes))[::-1]
    for off, e in zip(np.linspace(-0.2, 0.2, len(est)), est, strict=True):
        g = per_class[per_class["estimator"] == e].set_index("class").reindex(classes)
        axes[0].errorbar(g["bias_over_sd"], y + off, xerr=1.96 * g["bias_over_sd_mcse"], fmt="o", color=colours[e], ms=4, label=e)
        axes[1].errorbar(g["coverage_bootstrap_census"], y + off, xerr=1.96 * g["coverage_bootstrap_census_mcse"], fmt="o", color=colours[e], ms=4)
        axes[2].errorbar(g["se_ratio_bootstrap_census"], y + off, xerr=1.96 * g["se_ratio_bootstrap_census_mcse"], fmt="o", color=colours[e], ms=4)
    for ax, x, label in ((axes[0], 0, "bias / SD (negative: towards zero)"), (axes[1], 0.95, "coverage (bootstrap, census value)"),
                         (axes[2], 1, "SE ratio (bootstrap / SD of error)")):
        ax.axvline(x, color="black", lw=0.8)
        ax.set_xlabel(label, fontsize=8)
    axes[0].set_yticks(y, classes, fontsize=8)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(runs: pd.DataFrame, meta_extra: dict, out: Path = RESULTS, stem: str = "simulation") -> dict:
    per_effect, per_class = aggregate(runs)
    per_seed = runs.drop_duplicates("seed")
    n_seeds = int(runs["seed"].nunique())
    meta = {
        **meta_extra, "seeds": n_seeds, "first_seed": int(runs["seed"].min()),
        "coverage_mcse": float(np.sqrt(0.95 * 0.05 / n_seeds)),
        "median_respondents": int(runs.loc[runs["estimator"] == "respondents"].groupby("seed")["n"].max().median()) if (runs["estimator"] == "respondents").any() else 0,
        "median_analysed": int(runs[(runs["estimator"] == "weighted") & (runs["outcome"] == "persistent_absence") & (runs["model"] == "main")]["n"].median()),
        "median_analysed_wellbeing": int(runs[(runs["estimator"] == "weighted") & (runs["outcome"] == "wellbeing") & (runs["model"] == "main")]["n"].median()),
        "false_matches_mean": float(per_seed["false_matches"].mean()),
        "true_links_mean": float(per_seed["linked_true"].mean()),
        "seconds_per_seed_median": float(per_seed["seconds"].median()),
        "total_hours": float(per_seed["seconds"].sum() / 3600),
        "replicates": int(meta_extra.get("replicates", 0)),
    }
    out.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "effects": json.loads(per_effect.round(5).to_json(orient="records")),
               "classes": json.loads(per_class.round(5).to_json(orient="records"))}
    (out / f"{stem}.json").write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out / f"{stem}.md").write_text(markdown(per_effect, per_class, meta), encoding="utf-8")
    figure(per_class, out / f"{stem}.png")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1001)
    parser.add_argument("--pupils", type=int, default=40000, help="pupils per year group (default 40,000; the default world has 85,000)")
    parser.add_argument("--las", type=int, default=8, help="local authorities (default 8; the default world has 16)")
    parser.add_argument("--replicates", type=int, default=50, help="bootstrap replicates per seed (default 50)")
    parser.add_argument("--preset", type=Path, default=None, help="parameter file to use instead of params.yaml (presets/*.yaml)")
    parser.add_argument("--stem", default=None, help="name of the result files (default simulation, or simulation_<preset>)")
    parser.add_argument("--report", action="store_true", help="only rebuild the report from the runs file")
    parser.add_argument("--keep", type=Path, help="keep each seed's data/research here (for debugging)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("sendlink",):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    from sendlink.params import load_params

    source = args.preset or ROOT / "params.yaml"
    # The preset resolved and validated, as a plain mapping each seed's world changes.
    base = load_params(source).model_dump(mode="json")
    stem = args.stem or ("simulation" if args.preset is None else f"simulation_{args.preset.stem}")
    meta = {"pupils_per_year_group": args.pupils, "local_authorities": args.las, "python": platform.python_version(),
            "replicates": args.replicates, "params": str(source.relative_to(ROOT)) if source.is_relative_to(ROOT) else str(source),
            "title_suffix": "" if args.preset is None else f" ({args.preset.stem} preset)"}
    meta["target_seeds"] = args.seeds
    meta["resume"] = ("nice -n 10 .venv/bin/python benchmarks/simulation.py"
                      + (f" --preset {meta['params']}" if args.preset is not None else "")
                      + f" --seeds {args.seeds} --first-seed {args.first_seed} --replicates {args.replicates}")
    runs_file = args.out / f"{stem}_runs.csv"
    done = pd.read_csv(runs_file) if runs_file.is_file() else pd.DataFrame()
    if not args.report:
        seeds = [s for s in range(args.first_seed, args.first_seed + args.seeds) if done.empty or s not in set(done["seed"])]
        for seed in seeds:
            try:
                table = one_seed(seed, base, args.pupils, args.las, args.keep, args.replicates)
            except Exception:  # one seed failing must not lose the others: record and go on
                log.error("seed %d failed:\n%s", seed, traceback.format_exc())
                continue
            args.out.mkdir(parents=True, exist_ok=True)
            table.to_csv(runs_file, mode="a", header=not runs_file.is_file(), index=False)
        done = pd.read_csv(runs_file) if runs_file.is_file() else pd.DataFrame()
    if done.empty:
        log.error("no results yet")
        return 1
    meta = report(done, meta, args.out, stem)
    log.info("report written: %s seeds", meta["seeds"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Why is one world's estimate far from its census value? A decomposition.

For one effect (default ``suspensions:unmet_need``) of a world whose data and
pipeline outputs already exist in ``--root``, this reports, each against the
world's census value (the analysis model fitted on every frame pupil with
true values):

1. ``respondents``: every wave-1 respondent with their true answers and
   outcomes and their survey weight, before any consent or linkage step;
   how far the survey's own sample already is from the census;
2. ``naive`` and ``weighted``: the analysis as the pipeline runs it;
3. the same weighted analysis with the count model fixed as Poisson and as
   negative binomial (does the estimate depend on the dispersion?);
4. ``--samples`` simple random samples of the frame, each the size of the
   wave-1 respondents, analysed with true values: are the count model's
   standard errors calibrated in this world (mean SE over the SD of the
   estimates, coverage of the census value)?

Run: ``.venv/bin/python benchmarks/seed_diagnosis.py --root FOLDER`` with
``FOLDER`` a project whose ``params.yaml`` has the seed to study, after
``sendlink synth`` and ``sendlink pipeline --skip scan`` there. To diagnose
the code of an earlier commit, unpack it (``git archive COMMIT | tar -x -C
/tmp/old``) and run that commit's version of this script with
``PYTHONPATH=/tmp/old/src`` (the first edition's diagnosis was made so, by
this script as it was at commit 25cad04). Writes
``benchmarks/results/seed_diagnosis_<seed>.json`` (and ``.md``) unless
``--out`` says otherwise.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
log = logging.getLogger("seed_diagnosis")


def _row(estimates: pd.DataFrame, outcome: str, model: str, term: str, estimator: str | None = None) -> pd.Series:
    sel = (estimates["outcome"] == outcome) & (estimates["model"] == model) & (estimates["term"] == term)
    if estimator is not None:
        sel &= estimates["estimator"] == estimator
    return estimates[sel].iloc[0]


def _fit_count_as(variables, outcome, model, rows, weights, family: str):
    """The analysis model for a count, with the family fixed (no pre-test)."""
    import statsmodels.api as sm

    from sendlink.outcomes.analysis import MODELS, model_terms
    from sendlink.outcomes.models import design, fit_glm

    data = variables.loc[rows.to_numpy()]
    X, _ = design(data, model_terms(model), min_count=10, keep=MODELS[model])
    y = data[outcome.name].to_numpy(dtype=float)
    w = None if weights is None else weights.loc[rows.to_numpy()].to_numpy(dtype=float)
    groups = data["cluster"].to_numpy(dtype=object)
    if family == "poisson":
        return fit_glm(y, X, sm.families.Poisson(), w, groups), None
    from sendlink.outcomes.models import overdispersion

    poisson = fit_glm(y, X, sm.families.Poisson(), w, groups)
    alpha = overdispersion(y, poisson.fittedvalues, X.shape[1], w, groups).alpha
    return fit_glm(y, X, sm.families.NegativeBinomial(alpha=max(alpha, 1e-6)), w, groups), alpha


def diagnose(root: Path, effect: str, samples: int, seed: int) -> dict:
    from sendlink import config
    from sendlink.evaluate import outcomes as truth
    from sendlink.io import read_table
    from sendlink.outcomes.analysis import (
        EFFECT_TERMS,
        OUTCOMES,
        analyse,
        complete_rows,
        fit_model,
        read_extract,
    )
    from sendlink.outcomes.variables import analysis_variables
    from sendlink.params import load_params
    from sendlink.schema import catalogue

    outcome_name, exposure = effect.split(":")
    model, term = EFFECT_TERMS[exposure]
    outcome = OUTCOMES[outcome_name]
    paths = config.Paths(root)
    params = load_params(paths.params)
    year = params.synth.survey.frame_year
    rows = truth.frame_rows(paths, year)
    census = truth.census_values(paths, year, count_model=params.outcomes.count_model, rows=rows)
    target = float(_row(census, outcome_name, model, term)["census"])
    out: dict = {"root": str(root), "seed": params.seed, "effect": effect, "census": target}

    # 1. every wave-1 respondent, true values, survey weight.
    sample = read_table(catalogue.SAMPLE.at(paths))
    resp = sample[sample["w1_responded"]].set_index("survey_id")
    resp_rows = rows[rows["survey_id"].isin(resp.index)].reset_index(drop=True)
    variables = analysis_variables(resp_rows)
    keep = complete_rows(variables, outcome_name, model)
    weight = resp_rows["survey_id"].map(resp[outcome.base_weight]).astype(float)
    fit = fit_model(variables, outcome, model, keep, weight)
    est = fit.effects([term]).iloc[0]
    out["respondents"] = {"estimate": float(est["coef"]), "se": float(est["se"]), "z": float((est["coef"] - target) / est["se"]), "n": int(fit.n),
                          "family": fit.family}

    # 2. the pipeline's naive and weighted estimates.
    extract = read_extract(catalogue.EXTRACT.at(paths))
    analysis = analyse(extract, params.outcomes, seed=params.seed, outcomes=(outcome_name,), models=(model,))
    for estimator in ("naive", "weighted"):
        r = _row(analysis.estimates, outcome_name, model, term, estimator)
        out[estimator] = {"estimate": float(r["coef"]), "se": float(r["se"]), "z": float((r["coef"] - target) / r["se"]), "n": int(r["n"]),
                          "family": str(r["family"])}

    # 3. the weighted estimate with the count family fixed.
    # The second edition imputes missing covariates: use its first imputed data set.
    ev = analysis.datasets(outcome_name)[0] if hasattr(analysis, "datasets") else analysis_variables(extract)
    rows_a = analysis.samples[(outcome_name, model)]
    w = analysis.weights[(outcome_name, model)].weight
    for family in ("poisson", "negative_binomial"):
        res, alpha = _fit_count_as(ev, outcome, model, rows_a, w, family)
        out[f"weighted_{family}"] = {"estimate": float(res.params[term]), "se": float(res.bse[term]),
                                     "z": float((res.params[term] - target) / res.bse[term]), "alpha": alpha}

    # 4. simple random samples of the frame, each as large as the respondents.
    frame_vars = analysis_variables(rows)
    eligible = np.flatnonzero(complete_rows(frame_vars, outcome_name, model).to_numpy())
    n = int(len(resp_rows))
    rng = np.random.default_rng(seed)
    draws = []
    start = time.perf_counter()
    for _ in range(samples):
        pick = np.zeros(len(rows), bool)
        pick[rng.choice(eligible, size=min(n, len(eligible)), replace=False)] = True
        f = fit_model(frame_vars, outcome, model, pd.Series(pick, index=frame_vars.index))
        e = f.effects([term]).iloc[0]
        draws.append((float(e["coef"]), float(e["se"]), f.family))
    est_, se_, fam_ = zip(*draws, strict=True)
    est_, se_ = np.array(est_), np.array(se_)
    covers = np.abs(est_ - target) <= 1.959964 * se_
    out["random_samples"] = {
        "samples": samples, "size": n, "mean_estimate": float(est_.mean()), "sd_estimate": float(est_.std(ddof=1)),
        "mean_se": float(se_.mean()), "se_ratio": float(se_.mean() / est_.std(ddof=1)), "coverage": float(covers.mean()),
        "coverage_mcse": float(np.sqrt(covers.mean() * (1 - covers.mean()) / samples)),
        "families": dict(pd.Series(fam_).value_counts()), "seconds": round(time.perf_counter() - start, 1),
    }
    return out


def markdown(d: dict, code: str) -> str:
    rs = d["random_samples"]
    lines = [
        f"# Seed {d['seed']}: {d['effect']} decomposed",
        "",
        f"Code: {code}. Census value (model scale, log rate ratio): {d['census']:.3f}.",
        "",
        "| estimator | estimate | SE | z against the census value | n |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for key, label in (("respondents", "every wave-1 respondent, true values, survey weights (no consent or linkage step)"),
                       ("naive", "naive (linked consenters, unweighted)"), ("weighted", "weighted (the pipeline's)"),
                       ("weighted_poisson", "weighted, count model fixed as Poisson"),
                       ("weighted_negative_binomial", "weighted, count model fixed as negative binomial")):
        r = d[key]
        lines.append(f"| {label} | {r['estimate']:.3f} | {r['se']:.3f} | {r['z']:+.2f} | {r.get('n', '')} |")
    lines += [
        "",
        f"{rs['samples']} simple random samples of {rs['size']:,} frame pupils with true values: mean estimate "
        f"{rs['mean_estimate']:.3f}, SD {rs['sd_estimate']:.3f}, mean SE {rs['mean_se']:.3f}, SE ratio {rs['se_ratio']:.2f}, "
        f"coverage of the census value {rs['coverage']:.2f} (Monte Carlo error {rs['coverage_mcse']:.2f}); count model used "
        + ", ".join(f"{k} {v}" for k, v in rs["families"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="project folder with data and pipeline outputs")
    parser.add_argument("--effect", default="suspensions:unmet_need")
    parser.add_argument("--samples", type=int, default=150)
    parser.add_argument("--seed", type=int, default=2024, help="seed of the random samples")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--label", default=None, help="name of the result files (default seed_diagnosis_<seed>)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("sendlink").setLevel(logging.ERROR)
    import sendlink

    src = Path(sendlink.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src, capture_output=True, text=True, check=True).stdout.strip()
        code = f"sendlink from {src} (commit {commit})"
    except (subprocess.CalledProcessError, FileNotFoundError):
        code = f"sendlink from {src}"
    d = diagnose(args.root, args.effect, args.samples, args.seed)
    d["code"] = code
    label = args.label or f"seed_diagnosis_{d['seed']}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{label}.json").write_text(json.dumps(d, indent=2, sort_keys=True, default=int) + "\n", encoding="utf-8")
    (args.out / f"{label}.md").write_text(markdown(d, code), encoding="utf-8")
    log.info("%s", json.dumps(d, default=int))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

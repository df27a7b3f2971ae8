"""National scale (issue 8): a survey linked against NPD spines of 100 k, 1 M and 9.1 M pupils.

For each NPD size N (``sendlink synth --npd-size N --survey-size 3500
--survey-size 10000``, generated once into ``benchmarks/work/``), on the same
files and the same machine, each in its own process measured with
``/usr/bin/time -v`` (wall time, user + system CPU time, peak resident
memory):

* **floor**: reading the spine's needed columns with pyarrow, nothing else;
* **sendlink**: :func:`sendlink.link.link_files`, the function behind
  ``sendlink link SURVEY NPD --out LINKS`` (reads the spines, links, writes
  the links), plus its candidate pairs per blocking pass;
* **Splink 5 (DuckDB)**, set up the way its documentation recommends:
  names lower-cased and postcodes tidied before loading, the library's
  out-of-the-box comparisons (``NameComparison`` with term-frequency
  adjustment for forename and surname, ``DateOfBirthComparison``,
  ``PostcodeComparison``, ``ExactMatch`` for sex and school), equi-join
  blocking rules, lambda from deterministic rules with an assumed recall,
  u by random sampling (``max_pairs=1e7``, "often adequate" per its
  docstring), m by EM on two training rules chosen as the EM docstring
  advises (blocked pairs of which 1-99% are matches: forename + surname,
  and date of birth + postcode); links are each survey record's best pair
  at match probability >= 0.95, one-to-one;
* **recordlinkage**'s plain pipeline (block on date of birth and on
  surname, exact comparisons, ``ECMClassifier``: :func:`sendlink.link.link_ecm`)
  where it fits in memory (N <= 1 M).

Precision, recall and F1 of each method's links are computed against the
truth (``truth/links_M.parquet``). Results: ``benchmarks/results/scale.json``,
``scale.md`` (a table with ratios, since the machine is shared and noisy)
and ``scale.png`` (time and memory against NPD size).

Run: ``.venv/bin/python benchmarks/scale_benchmark.py [--sizes 100000 1000000 9100000]
[--surveys 10000] [--no-splink] [--no-recordlinkage]`` (``make bench``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
SPINE = ["forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn"]
THRESHOLD = 0.95


# --------------------------------------------------------------------------- measuring


def timed(command: list[str]) -> dict:
    """Run ``command`` under ``/usr/bin/time -v``; wall, CPU and peak memory."""
    started = time.perf_counter()
    run = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")

    def grab(pattern: str) -> float:
        match = re.search(pattern, run.stderr)
        return float(match.group(1)) if match else float("nan")

    user, system = grab(r"User time \(seconds\): ([\d.]+)"), grab(r"System time \(seconds\): ([\d.]+)")
    elapsed = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", run.stderr)
    if elapsed:
        parts = [float(p) for p in elapsed.group(1).split(":")]
        wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return {"wall_s": round(wall, 2), "cpu_s": round(user + system, 2),
            "peak_gb": round(grab(r"Maximum resident set size \(kbytes\): (\d+)") / 1e6, 3)}


def evaluate(links: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Precision, recall, F1 of ``matched`` links against ``truth`` (survey_id, upn)."""
    linked = links[links["link_status"] == "matched"]
    true = set(zip(truth["survey_id"].astype(str), truth["upn"].astype(str), strict=True))
    tp = sum((s, u) in true for s, u in zip(linked["survey_id"].astype(str), linked["upn"].astype(str), strict=True))
    p = tp / len(linked) if len(linked) else float("nan")
    r = tp / len(true) if true else float("nan")
    return {"links": int(len(linked)), "true_positives": int(tp), "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if tp else 0.0}


# --------------------------------------------------------------------------- the workers (run in child processes)


def run_floor(npd: str) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(npd, columns=["upn", *SPINE])
    print(json.dumps({"rows": table.num_rows}))


def run_sendlink(survey: str, npd: str, out: str) -> None:
    from sendlink.link import link_files
    from sendlink.params import load_params

    links_path = Path(out).with_suffix(".links.parquet")
    started = time.perf_counter()
    result = link_files(survey, npd, links_path, load_params())
    seconds = time.perf_counter() - started
    # For blocking recall per pass (evaluated by the parent): keys and passes only.
    result.pairs[["survey_id", "upn", "passes"]].astype(str).to_parquet(Path(out).with_suffix(".pairs.parquet"), index=False)
    report = {
        "link_files_s": round(seconds, 2),
        "candidate_pairs": int(len(result.pairs)),
        "timings": {k: round(float(v), 3) for k, v in result.diagnostics["timings"].items()},
        "blocking": json.loads(result.blocking.to_json(orient="records")),
        "model": result.model.summary() if result.model is not None else None,
        "links_file": str(links_path),
    }
    Path(out).write_text(json.dumps(report, default=float))


def run_splink(survey: str, npd: str, out: str) -> None:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    con = duckdb.connect()
    # Splink assumes standardised inputs (its docs): lower-case names, tidy postcodes, ISO dates.
    tidy = """
        SELECT CAST({key} AS VARCHAR) AS unique_id,
               NULLIF(lower(trim(regexp_replace(forename, '[^A-Za-z ]', '', 'g'))), '') AS first_name,
               NULLIF(lower(trim(regexp_replace(surname, '[^A-Za-z ]', '', 'g'))), '') AS surname,
               NULLIF(trim(date_of_birth), '') AS dob,
               NULLIF(upper(trim(sex)), '') AS sex,
               NULLIF(upper(regexp_replace(trim(postcode), '\\s+', ' ', 'g')), '') AS postcode,
               NULLIF(trim(school_urn), '') AS school_urn
        FROM read_parquet('{path}')
    """
    con.execute(f"CREATE TABLE survey AS {tidy.format(key='survey_id', path=survey)}")
    con.execute(f"CREATE TABLE npd AS {tidy.format(key='upn', path=npd)}")
    db_api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("school_urn"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "surname"),
            block_on("surname", "dob"),
            block_on("first_name", "dob"),
            block_on("postcode"),
            block_on("dob", "school_urn"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker([db_api.register("survey", dataset_display_name="survey"), db_api.register("npd", dataset_display_name="npd")],
                    settings, log_level=logging.WARNING)
    timings = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()

    linker.training.estimate_probability_two_random_records_match([block_on("first_name", "surname", "dob")], recall=0.8)
    lap("lambda")
    # No seed: its docstring warns a seed costs extra processing.
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7)
    lap("u")
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    lap("em_names")
    # The EM docstring: a training rule should give blocked pairs of which between about 1% and
    # 99% are matches. Date of birth alone gives 0.05% at national scale (and 21 million pairs);
    # date of birth and postcode gives most, and leaves the names to be estimated.
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob", "postcode"))
    lap("em_dob_postcode")
    predictions = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    lap("predict")
    # One-to-one: best pairs first, each survey record and each pupil used once.
    ids = {"survey": "survey_id", "npd": "upn"}
    left = predictions["source_dataset_l"].iloc[0] if len(predictions) else "npd"
    frame = pd.DataFrame({
        ids[left]: predictions["unique_id_l"].astype(str),
        ids["survey" if left == "npd" else "npd"]: predictions["unique_id_r"].astype(str),
        "p": predictions["match_probability"].astype(float),
    }).sort_values(["p", "survey_id", "upn"], ascending=[False, True, True])
    seen_s, seen_n, rows = set(), set(), []
    for s, u, p in frame[["survey_id", "upn", "p"]].itertuples(index=False):
        if s in seen_s or u in seen_n:
            continue
        seen_s.add(s)
        seen_n.add(u)
        rows.append((s, u, p))
    best = pd.DataFrame(rows, columns=["survey_id", "upn", "match_probability"])
    best.to_parquet(Path(out).with_suffix(".links.parquet"), index=False)
    Path(out).write_text(json.dumps({"candidate_pairs_scored": int(len(predictions)), "timings": timings}, default=float))


def run_recordlinkage(survey: str, npd: str, out: str) -> None:
    from sendlink.link import link_ecm
    from sendlink.params import load_params

    s, n = pd.read_parquet(survey), pd.read_parquet(npd)
    result = link_ecm(s, n, load_params().linkage)
    result.links.to_parquet(Path(out).with_suffix(".links.parquet"), index=False)
    keep = ("degenerate", "reasons", "predicted_matches")
    Path(out).write_text(json.dumps({"diagnostics": {k: result.diagnostics.get(k) for k in keep},
                                     "candidate_pairs": int(len(result.pairs))}, default=str))


# --------------------------------------------------------------------------- the benchmark


def ensure_data(work: Path, n: int, surveys: list[int]) -> Path:
    folder = work / f"scale_{n}"
    needed = [folder / "npd" / "spine.parquet", *[folder / "survey" / f"survey_spine_{m}.parquet" for m in surveys]]
    if not all(p.is_file() for p in needed):
        sizes = sorted({*surveys, 3500, 10000} & {m for m in (*surveys, 3500, 10000) if m <= n})
        command = [str(Path(PYTHON).with_name("sendlink")), "-q", "synth", "--npd-size", str(n), "--out", str(folder)]
        for m in sizes:
            command += ["--survey-size", str(m)]
        subprocess.run(command, check=True, cwd=ROOT)
    return folder


def bench_one(folder: Path, n: int, m: int, *, splink: bool, recordlinkage: bool, scratch: Path) -> dict:
    survey = folder / "survey" / f"survey_spine_{m}.parquet"
    npd = folder / "npd" / "spine.parquet"
    truth = pd.read_parquet(folder / "truth" / f"links_{m}.parquet")
    me = str(Path(__file__).resolve())
    row: dict = {"npd_size": n, "survey_size": m}
    row["floor"] = timed([PYTHON, me, "--worker", "floor", str(npd)])
    out = scratch / f"sendlink_{n}_{m}.json"
    row["sendlink"] = timed([PYTHON, me, "--worker", "sendlink", str(survey), str(npd), str(out)])
    details = json.loads(out.read_text())
    links = pd.read_parquet(details.pop("links_file"))
    row["sendlink"].update(evaluate(links, truth))
    row["sendlink"].update(details)
    row["sendlink"]["x_floor"] = round(row["sendlink"]["wall_s"] / row["floor"]["wall_s"], 2)
    from sendlink.evaluate.blocking import blocking_recall, pass_recall

    pairs = pd.read_parquet(out.with_suffix(".pairs.parquet"))
    row["sendlink"]["blocking_recall"] = blocking_recall(pairs, truth)
    per_pass = pass_recall(pairs, truth, [b["name"] for b in row["sendlink"]["blocking"]]).set_index("pass")
    for b in row["sendlink"]["blocking"]:
        b.update({k: per_pass.loc[b["name"], k] for k in ("recall", "cumulative_recall", "only_this_pass")})
    if splink:
        out = scratch / f"splink_{n}_{m}.json"
        row["splink"] = timed([PYTHON, me, "--worker", "splink", str(survey), str(npd), str(out)])
        best = pd.read_parquet(out.with_suffix(".links.parquet"))
        curve = {}
        for t in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
            curve[t] = evaluate(best.assign(link_status=np.where(best["match_probability"] >= t, "matched", "unmatched")), truth)
        row["splink"].update(curve[THRESHOLD])
        row["splink"]["best_f1_over_thresholds"] = max(v["f1"] for v in curve.values())
        row["splink"]["threshold_curve"] = {str(k): {kk: v[kk] for kk in ("precision", "recall", "f1")} for k, v in curve.items()}
        row["splink"].update(json.loads(out.read_text()))
        row["splink"]["x_floor"] = round(row["splink"]["wall_s"] / row["floor"]["wall_s"], 2)
        row["splink_over_sendlink_wall"] = round(row["splink"]["wall_s"] / row["sendlink"]["wall_s"], 2)
    if recordlinkage and n <= 1_000_000:
        out = scratch / f"recordlinkage_{n}_{m}.json"
        row["recordlinkage"] = timed([PYTHON, me, "--worker", "recordlinkage", str(survey), str(npd), str(out)])
        row["recordlinkage"].update(evaluate(pd.read_parquet(out.with_suffix(".links.parquet")), truth))
        row["recordlinkage"].update(json.loads(out.read_text()))
    elif recordlinkage:
        row["recordlinkage"] = {"skipped": "blocking on date of birth alone gives about 2,000 NPD pupils per survey child "
                                           "at this size (tens of millions of pairs compared in pandas): out of memory and time"}
    return row


def markdown(rows: list[dict]) -> str:
    def f(v, d=2):
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else (f"{v:.{d}f}" if isinstance(v, float) else str(v))

    lines = ["| NPD | survey | method | wall s | CPU s | peak GB | x floor | pairs | precision | recall | F1 |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['npd_size']:,} | {r['survey_size']:,} | read needed columns (floor) | {f(r['floor']['wall_s'])} | "
                     f"{f(r['floor']['cpu_s'])} | {f(r['floor']['peak_gb'])} | 1.00 | | | | |")
        for method in ("sendlink", "splink", "recordlinkage"):
            x = r.get(method)
            if not x or "skipped" in x:
                continue
            pairs = x.get("candidate_pairs", x.get("candidate_pairs_scored", ""))
            lines.append(f"| {r['npd_size']:,} | {r['survey_size']:,} | {method} | {f(x['wall_s'])} | {f(x['cpu_s'])} | "
                         f"{f(x['peak_gb'])} | {f(x.get('x_floor'))} | {pairs:,} | {f(x['precision'], 4)} | {f(x['recall'], 4)} | {f(x['f1'], 4)} |"
                         if isinstance(pairs, int) else
                         f"| {r['npd_size']:,} | {r['survey_size']:,} | {method} | {f(x['wall_s'])} | {f(x['cpu_s'])} | "
                         f"{f(x['peak_gb'])} | {f(x.get('x_floor'))} | | {f(x['precision'], 4)} | {f(x['recall'], 4)} | {f(x['f1'], 4)} |")
    ratios = [f"- NPD {r['npd_size']:,}, survey {r['survey_size']:,}: Splink / sendlink wall time = {r['splink_over_sendlink_wall']}"
              for r in rows if "splink_over_sendlink_wall" in r]
    return "\n".join(lines) + ("\n\nRatios (same run, same machine):\n\n" + "\n".join(ratios) if ratios else "") + "\n"


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for method, style in (("floor", "k:"), ("sendlink", "o-"), ("splink", "s--"), ("recordlinkage", "^-.")):
        points = sorted((r["npd_size"], r[method]) for r in rows if method in r and "wall_s" in r.get(method, {})
                        and r["survey_size"] == max(x["survey_size"] for x in rows))
        if not points:
            continue
        xs = [p[0] for p in points]
        ax_t.plot(xs, [p[1]["wall_s"] for p in points], style, label=method)
        ax_m.plot(xs, [p[1]["peak_gb"] for p in points], style, label=method)
    for ax, label in ((ax_t, "wall time (s)"), (ax_m, "peak memory (GB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("NPD pupils")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    ax_t.legend()
    fig.suptitle(f"Linking a survey of {max(r['survey_size'] for r in rows):,} children to the NPD (2 cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 9_100_000])
    parser.add_argument("--surveys", type=int, nargs="+", default=[3_500, 10_000])
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--no-recordlinkage", action="store_true")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        {"floor": run_floor, "sendlink": run_sendlink, "splink": run_splink, "recordlinkage": run_recordlinkage}[kind](*rest)
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    scratch = args.work / "runs"
    scratch.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        folder = ensure_data(args.work, n, args.surveys)
        for m in args.surveys:
            print(f"NPD {n:,} x survey {m:,} ...", flush=True)
            row = bench_one(folder, n, m, splink=not args.no_splink, recordlinkage=not args.no_recordlinkage, scratch=scratch)
            rows.append(row)
            print(json.dumps({k: (v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items() if kk not in ("blocking", "threshold_curve")})
                              for k, v in row.items()}, default=float), flush=True)
    args.results.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()}
    (args.results / "scale.json").write_text(json.dumps({"machine": machine, "runs": rows}, indent=2, default=float) + "\n")
    (args.results / "scale.md").write_text(markdown(rows))
    figure(rows, args.results / "scale.png")
    print(markdown(rows))


if __name__ == "__main__":
    main()

"""National scale: surveys of 10 k-100 k children linked against NPD spines of 100 k, 1 M and 9.1 M pupils.

For each NPD size N and survey size M (``sendlink synth --npd-size N
--survey-size 10000 --survey-size 50000 --survey-size 100000``, generated
once into ``benchmarks/work/``), on the same files and the same machine,
every tool runs in its own process under ``/usr/bin/time -v`` (wall time,
user + system CPU time, peak resident memory of the child) with
``/proc/loadavg`` read just before and just after, so a noisy number shows
itself. The tools are **interleaved**: repeat 1 runs floor, sendlink,
Splink, recordlinkage; repeat 2 starts one tool later; and so on, so a burst
of load from someone else lands on different tools in different repeats.
Every figure in the tables is the **median of the repeats** (at least 3),
with the range beside it; the ratios to sendlink are taken within each
repeat (wall and CPU time), then their median.

The tools
---------
* **floor**: reading the spine's 8 needed columns with pyarrow (into the same jemalloc
  memory pool sendlink reads into: the faster allocator here), nothing else.
* **sendlink**: :func:`sendlink.link.link_files`, the function behind
  ``sendlink link SURVEY NPD --out LINKS``, on the *raw* files: reading,
  standardising, blocking, comparing, fitting, assigning and writing are
  all in its time.
* **Splink 5 (DuckDB)** and **recordlinkage**, each configured as its own
  documentation recommends (below), on the *same cleaned inputs*.

The same cleaned inputs
-----------------------
Both peers read files cleaned once, before the timings, by this project's
standardiser (:func:`sendlink.link.standardise.standardise_spine`, whose
rules sendlink applies internally to its own raw input): names folded to
ASCII (``Koç`` -> ``koc``, ``Chloë`` -> ``chloe``), lower case, apostrophes
and punctuation removed, a surname's words run together (``Smith-Jones``,
``smith jones`` -> ``smithjones``), the forename's first word as forename;
postcodes upper case with the space restored (``qy154yy`` -> ``QY15 4YY``;
about 5% of survey postcodes are written without it); dates ISO; sex ``F``/
``M``; school URN digits. Splink's guide advises cleaning in the backend
rather than in pandas for speed; cleaning once for both peers and leaving it
*out* of their time is the opposite bias (in their favour). The cleaning time
is reported on its own row (``clean inputs``) so it can be added back.

Splink 5.0 with DuckDB, as its documentation recommends
-------------------------------------------------------
* Input read by DuckDB's own Parquet reader into an in-memory connection
  ("avoid pandas for input/output"; optimising DuckDB guide).
* ``link_only``; out-of-the-box comparisons: ``NameComparison`` with
  term-frequency adjustment for forename and surname,
  ``DateOfBirthComparison``, ``PostcodeComparison``, ``ExactMatch`` for sex
  and school.
* Prediction blocking rules: five strict equi-joins (forename + surname,
  surname + dob, forename + dob, postcode, dob + school) - "many strict
  rules are generally better than few loose rules" (modelling tips).
* ``probability_two_random_records_match`` set to 1/N: the tutorial says
  that when one-to-one matches are expected it "should" be set, not
  estimated (every surveyed child of school age has one NPD record).
* u by ``estimate_u_using_random_sampling(max_pairs=1e7)``, which its
  docstring calls "often adequate"; the scaling tutorial recommends 1e8 or
  more for a final model. On the 1 M spine (10 k survey) 1e8 took about 5x
  as long as 1e7 (about 60 s against 12 s, under load) for the same F1
  (0.9935 both), so the cheaper setting is used: the faster Splink is the
  fairer opponent for a speed comparison. ``--splink-u-pairs 1e8`` runs
  the other.
* m by expectation maximisation on two training rules, chosen so that
  between them every comparison is estimated, each gives blocked pairs with
  between about 1% and 99% matches (EM docstring), and neither walks into
  the **self-join trap** (next).
* Links: each survey record's best pair at ``match_probability >= 0.95``,
  one-to-one (best pairs first), the same assignment as recordlinkage's.

The self-join trap of link-only EM training (Splink 5.0)
--------------------------------------------------------
Blocking for prediction, for u and for counting comparisons joins the two
datasets to each other (Splink's "two dataset link only" optimisation,
splink PR #1359: otherwise "intra-dataset comparisons are generated and then
rejected, rather than never being generated"). **EM training does not**:
``EMTrainingSession._comparison_vectors`` joins the concatenation of both
tables to itself and only then drops pairs from the same dataset. So the
cost of a training rule is set by the pairs *within the NPD* that it
generates, which ``count_comparisons_from_blocking_rules`` (the check the
training guide asks for) does not show, since it counts survey-NPD pairs
only. Measured on the 1 M spine with a 10 k survey (pairs the rule makes
within the NPD / between survey and NPD):

=========================  ==============  =============  ================
training rule              NPD-NPD pairs   survey-NPD     matches among
                                           pairs          survey-NPD pairs
=========================  ==============  =============  ================
forename + surname         11.7 million    186 k          4.6%
date of birth              114 million     2.24 million   0.4%
forename + date of birth   239 k           12.8 k         68%
postcode                   191 k           11.7 k         69%
=========================  ==============  =============  ================

NPD-NPD pairs grow as N^2 for keys whose values do not grow with N, so at
9.1 M forename + surname (the tutorial's first rule) makes on the order of
10^9 pairs that are thrown away, and date of birth (its second) about 10^10.
This benchmark therefore trains on **forename + date of birth** (estimates
surname, postcode, sex and school) and then **postcode** (estimates
forename, surname, date of birth, sex and school).

recordlinkage 0.16, as its documentation recommends
---------------------------------------------------
* Multi-pass indexing, the union of several indexers ("repeating the
  process with different blocking variables", performance guide): ``Block``
  on the same five keys as Splink's rules, plus ``SortedNeighbourhood`` on
  surname within the same date of birth (window 5), which the linking guide
  recommends "when there are many misspellings".
* ``Compare``: Jaro-Winkler >= 0.85 for forename and surname (the linking
  guide's setting), exact for date of birth, postcode, sex and school;
  missing counts as disagreement (the classifiers guide's convention).
* ``ECMClassifier`` (unsupervised; the features are binary), links at its
  probability >= 0.5, one-to-one (best pairs first). ECM estimates u as
  well as m from the candidate pairs, where most non-matches agree on both
  names (they were blocked on them), so names can end up with no weight or
  less; that is the method, not the set-up. The linking guide's own simple
  decision rule (more than 3 of the 6 fields agree, best first, one-to-one)
  is scored on the same features in the same runs and reported beside it.

Precision, recall and F1 of each tool's links are computed against the
truth (``truth/links_M.parquet``; Splink's also at other thresholds).

Run
---
``.venv/bin/python benchmarks/scale_benchmark.py`` runs everything (hours;
needs an idle machine) and writes ``benchmarks/results/scale.{json,md,png}``.
Subsets: ``--npd 100000 1000000 --survey 10000 --repeats 3 --tools sendlink
splink`` and ``--results DIR --name NAME`` to write somewhere else (trial
runs must not overwrite ``scale.md``). Survey sizes above N/2 are skipped.
Results are written after each configuration; ``--combine A.json B.json
--note note.md --name scale`` writes one result from several runs (the
committed ``scale.md`` was made that way: its note gives the commands).
``make bench ONLY=scale`` installs Splink and runs it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
SPINE = ["forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn"]
NPD_SIZES = (100_000, 1_000_000, 9_100_000)
SURVEY_SIZES = (10_000, 50_000, 100_000)
TOOLS = ("floor", "sendlink", "splink", "recordlinkage")
THRESHOLD = 0.95
#: Environment variable passing ``--splink-u-pairs`` to the Splink worker.
SPLINK_U_PAIRS_ENV = "SCALE_SPLINK_U_MAX_PAIRS"
#: The cleaned columns both peers read.
CLEAN_COLUMNS = ("unique_id", "first_name", "surname", "dob", "sex", "postcode", "school")
#: Prediction blocking keys, the same for Splink's rules and recordlinkage's Block passes.
BLOCKING_KEYS = (("first_name", "surname"), ("surname", "dob"), ("first_name", "dob"), ("postcode",), ("dob", "school"))
#: EM training rules that avoid the self-join trap (module docstring).
EM_TRAINING_KEYS = (("first_name", "dob"), ("postcode",))


# --------------------------------------------------------------------------- measuring


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages (``/proc/loadavg``)."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:  # not Linux
        return [round(x, 2) for x in os.getloadavg()]


class LoadSampler:
    """The 1-minute load average every ``every`` seconds while a run goes on (``with`` block)."""

    def __init__(self, every: float = 2.0) -> None:
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(load_average()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        samples = self.samples or [load_average()[0]]
        return {"load_during_mean": round(statistics.mean(samples), 2), "load_during_max": max(samples)}


def timed(command: list[str], timeout: float) -> dict:
    """Run ``command`` under ``/usr/bin/time -v``: wall, CPU, peak memory of the child, load before, during and after."""
    load_before = load_average()
    started = time.perf_counter()
    try:
        with LoadSampler() as sampler:
            run = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False,
                                 cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {timeout:.0f} s", "load_before": load_before, "load_after": load_average(),
                **sampler.summary()}
    wall = time.perf_counter() - started
    load_after = load_average()
    if run.returncode != 0:
        return {"failed": f"exit {run.returncode}: {run.stderr[-2000:]}", "load_before": load_before, "load_after": load_after,
                **sampler.summary()}

    def grab(pattern: str) -> float:
        match = re.search(pattern, run.stderr)
        return float(match.group(1)) if match else float("nan")

    user, system = grab(r"User time \(seconds\): ([\d.]+)"), grab(r"System time \(seconds\): ([\d.]+)")
    elapsed = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", run.stderr)
    if elapsed:
        parts = [float(p) for p in elapsed.group(1).split(":")]
        wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return {"wall_s": round(wall, 2), "cpu_s": round(user + system, 2),
            "peak_gb": round(grab(r"Maximum resident set size \(kbytes\): (\d+)") / 1e6, 3),
            "load_before": load_before, "load_after": load_after, **sampler.summary()}


def evaluate(links: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Precision, recall, F1 of ``matched`` links against ``truth`` (survey_id, upn)."""
    linked = links[links["link_status"] == "matched"]
    true = set(zip(truth["survey_id"].astype(str), truth["upn"].astype(str), strict=True))
    tp = sum((s, u) in true for s, u in zip(linked["survey_id"].astype(str), linked["upn"].astype(str), strict=True))
    p = tp / len(linked) if len(linked) else float("nan")
    r = tp / len(true) if true else float("nan")
    return {"links": int(len(linked)), "true_positives": int(tp), "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if tp else 0.0}


def one_to_one(survey_ids: np.ndarray, upns: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Greedy one-to-one assignment: best pairs first, each survey record and each pupil used once."""
    order = np.lexsort((upns, survey_ids, -probability))
    seen_s, seen_n, rows = set(), set(), []
    for i in order.tolist():
        s, u = survey_ids[i], upns[i]
        if s in seen_s or u in seen_n:
            continue
        seen_s.add(s)
        seen_n.add(u)
        rows.append((s, u, probability[i]))
    return pd.DataFrame(rows, columns=["survey_id", "upn", "match_probability"])


# --------------------------------------------------------------------------- the same cleaned inputs


def clean_spine(source: Path, key: str, target: Path) -> float:
    """Write ``source`` cleaned by the project's standardiser, in the peers' columns; returns seconds."""
    from sendlink.link.standardise import standardise_spine

    started = time.perf_counter()
    std = standardise_spine(pd.read_parquet(source, columns=[key, *SPINE]), key)
    cleaned = pd.DataFrame({"unique_id": std[key].astype(str), "first_name": std["forename"], "surname": std["surname"],
                            "dob": std["dob"], "sex": std["sex"], "postcode": std["postcode"], "school": std["school"]})
    target.parent.mkdir(parents=True, exist_ok=True)
    cleaned.to_parquet(target, index=False)
    return round(time.perf_counter() - started, 2)


def cleaned_inputs(folder: Path, m: int) -> tuple[Path, Path, dict]:
    """The cleaned NPD and survey files for the peers (made once, reused); seconds the cleaning took.

    The seconds are kept beside the files (``clean/seconds.json``), so a
    later run that reuses the files still reports them.
    """
    record = folder / "clean" / "seconds.json"
    seconds = json.loads(record.read_text()) if record.is_file() else {}
    npd, survey = folder / "clean" / "npd.parquet", folder / "clean" / f"survey_{m}.parquet"
    if not npd.is_file() or "npd" not in seconds:
        seconds["npd"] = clean_spine(folder / "npd" / "spine.parquet", "upn", npd)
    if not survey.is_file() or f"survey_{m}" not in seconds:
        seconds[f"survey_{m}"] = clean_spine(folder / "survey" / f"survey_spine_{m}.parquet", "survey_id", survey)
    record.write_text(json.dumps(seconds))
    return survey, npd, {"npd": seconds["npd"], "survey": seconds[f"survey_{m}"]}


# --------------------------------------------------------------------------- the workers (run in child processes)


class Laps:
    """Seconds per step, each measured from the end of the one before (``lap("name")``)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._clock, 2)
        self._clock = now



def run_floor(npd: str) -> None:
    import pyarrow.parquet as pq

    from sendlink.link.arrays import use_arrow_pool

    use_arrow_pool()  # the allocator sendlink reads with: the faster one here, so the floor stays a floor

    table = pq.read_table(npd, columns=["upn", *SPINE])
    print(json.dumps({"rows": table.num_rows}))


def run_sendlink(survey: str, npd: str, out: str) -> None:
    from sendlink.link import link_files
    from sendlink.params import load_params

    links_path = Path(out).with_suffix(".links.parquet")
    started = time.perf_counter()
    result = link_files(survey, npd, links_path, load_params())
    seconds = time.perf_counter() - started
    # For blocking recall per pass (evaluated by the parent): keys and passes only, written as the
    # categoricals they are (dictionary-encoded). Turning 5.8 million pairs into Python strings here
    # took about 20 s and 5 GB at 100 k x 9.1 M, inside sendlink's measured time; the parent does it.
    result.pairs[["survey_id", "upn", "passes"]].to_parquet(Path(out).with_suffix(".pairs.parquet"), index=False)
    report = {
        "link_files_s": round(seconds, 2),
        "candidate_pairs": int(len(result.pairs)),
        "timings": {k: round(float(v), 3) for k, v in result.diagnostics["timings"].items()},
        "cpu_timings": {k: round(float(v), 3) for k, v in result.diagnostics.get("cpu_timings", {}).items()},
        "blocking": json.loads(result.blocking.to_json(orient="records")),
        "links_file": str(links_path),
    }
    Path(out).write_text(json.dumps(report, default=float))


def splink_settings(n_npd: int):
    """Splink settings as the module docstring describes (shared with the Spark benchmark's notes)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=1.0 / n_npd,
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("school"),
        ],
        blocking_rules_to_generate_predictions=[block_on(*keys) for keys in BLOCKING_KEYS],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def run_splink(survey: str, npd: str, out: str) -> None:
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    lap = Laps()
    con = duckdb.connect(":memory:")
    con.sql(f"CREATE TABLE survey AS SELECT * FROM read_parquet('{survey}')")
    con.sql(f"CREATE TABLE npd AS SELECT * FROM read_parquet('{npd}')")
    n_npd = con.sql("SELECT count(*) FROM npd").fetchall()[0][0]
    db_api = DuckDBAPI(connection=con)
    linker = Linker([db_api.register("survey", dataset_display_name="survey"),
                     db_api.register("npd", dataset_display_name="npd")],
                    splink_settings(n_npd), log_level=logging.WARNING)
    lap("read")
    linker.training.estimate_u_using_random_sampling(max_pairs=float(os.environ.get(SPLINK_U_PAIRS_ENV, "1e7")))
    lap("u")
    for keys in EM_TRAINING_KEYS:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*keys))
        lap("em_" + "_".join(keys))
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    frame = predictions.as_duckdbpyrelation().select(
        "source_dataset_l, unique_id_l, unique_id_r, match_probability").df()
    lap("predict")
    survey_left = frame["source_dataset_l"].eq("survey").to_numpy()
    survey_ids = np.where(survey_left, frame["unique_id_l"], frame["unique_id_r"]).astype(str)
    upns = np.where(survey_left, frame["unique_id_r"], frame["unique_id_l"]).astype(str)
    best = one_to_one(survey_ids, upns, frame["match_probability"].to_numpy(float))
    lap("one_to_one")
    best.to_parquet(Path(out).with_suffix(".links.parquet"), index=False)
    Path(out).write_text(json.dumps({"candidate_pairs_scored": int(len(frame)), "timings": lap.timings}))


def run_recordlinkage(survey: str, npd: str, out: str) -> None:
    import recordlinkage as rl
    from recordlinkage.index import Block, SortedNeighbourhood

    lap = Laps()
    s = pd.read_parquet(survey).set_index("unique_id")
    n = pd.read_parquet(npd).set_index("unique_id")
    lap("read")
    indexer = rl.Index()
    for keys in BLOCKING_KEYS:
        indexer.add(Block(list(keys)))
    indexer.add(SortedNeighbourhood("surname", window=5, block_on=["dob"]))
    candidates = indexer.index(s, n)
    lap("index")
    compare = rl.Compare()
    compare.string("first_name", "first_name", method="jarowinkler", threshold=0.85, label="first_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    for column in ("dob", "postcode", "sex", "school"):
        compare.exact(column, column, label=column)
    features = compare.compute(candidates, s, n)
    lap("compare")
    ecm = rl.ECMClassifier()
    ecm.fit(features)
    probability = np.asarray(ecm.prob(features), dtype=float)
    lap("ecm")
    survey_ids = features.index.get_level_values(0).to_numpy(str)
    upns = features.index.get_level_values(1).to_numpy(str)
    keep = probability >= 0.5
    best = one_to_one(survey_ids[keep], upns[keep], probability[keep])
    lap("one_to_one")
    best.to_parquet(Path(out).with_suffix(".links.parquet"), index=False)
    # The linking guide's own decision rule, on the same features: more than 3 fields agree
    # (ranked by the number that agree). Reported beside ECM; not timed separately (< 1 s).
    agreeing = features.to_numpy().sum(axis=1).astype(float)
    rule = agreeing > 3
    one_to_one(survey_ids[rule], upns[rule], agreeing[rule]).to_parquet(Path(out).with_suffix(".rule.parquet"), index=False)
    m_agree = {k: float(v.get(1, float("nan"))) for k, v in (getattr(ecm, "m_probs", {}) or {}).items()}
    u_agree = {k: float(v.get(1, float("nan"))) for k, v in (getattr(ecm, "u_probs", {}) or {}).items()}
    Path(out).write_text(json.dumps({"candidate_pairs": int(len(candidates)), "timings": lap.timings,
                                     "predicted_matches": int(keep.sum()), "m_agree": m_agree, "u_agree": u_agree}))


WORKERS = {"floor": run_floor, "sendlink": run_sendlink, "splink": run_splink, "recordlinkage": run_recordlinkage}


# --------------------------------------------------------------------------- the benchmark


def ensure_data(work: Path, n: int) -> Path:
    """The N-pupil spine with every standard survey size (always the same set, whatever subset is run)."""
    folder = work / f"scale_{n}"
    sizes = [m for m in SURVEY_SIZES if m <= n]
    needed = [folder / "npd" / "spine.parquet", *[folder / "survey" / f"survey_spine_{m}.parquet" for m in sizes]]
    if not all(p.is_file() for p in needed):
        command = [str(Path(PYTHON).with_name("sendlink")), "-q", "synth", "--npd-size", str(n), "--out", str(folder)]
        for m in sizes:
            command += ["--survey-size", str(m)]
        subprocess.run(command, check=True, cwd=ROOT)
    return folder


def one_run(tool: str, folder: Path, m: int, clean: tuple[Path, Path], scratch: Path, truth: pd.DataFrame,
            timeout: float) -> dict:
    """One measured run of one tool; quality figures read back from the files it wrote."""
    me = str(Path(__file__).resolve())
    survey, npd = folder / "survey" / f"survey_spine_{m}.parquet", folder / "npd" / "spine.parquet"
    out = scratch / f"{tool}_{folder.name}_{m}.json"
    if tool == "floor":
        return timed([PYTHON, me, "--worker", "floor", str(npd)], timeout)
    inputs = (survey, npd) if tool == "sendlink" else clean
    run = timed([PYTHON, me, "--worker", tool, str(inputs[0]), str(inputs[1]), str(out)], timeout)
    if "failed" in run:
        return run
    details = json.loads(out.read_text())
    links_path = out.with_suffix(".links.parquet")
    links = pd.read_parquet(links_path)
    if tool == "sendlink":
        details.pop("links_file")
        run.update(evaluate(links, truth))
        from sendlink.evaluate.blocking import blocking_recall, pass_recall

        pairs = pd.read_parquet(out.with_suffix(".pairs.parquet")).astype(str)
        details["blocking_recall"] = blocking_recall(pairs, truth)
        per_pass = pass_recall(pairs, truth, [b["name"] for b in details["blocking"]]).set_index("pass")
        for b in details["blocking"]:
            b.update({k: per_pass.loc[b["name"], k] for k in ("recall", "cumulative_recall", "only_this_pass")})
    elif tool == "splink":
        curve = {}
        for t in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
            status = np.where(links["match_probability"] >= t, "matched", "unmatched")
            curve[str(t)] = {k: v for k, v in evaluate(links.assign(link_status=status), truth).items()
                             if k in ("precision", "recall", "f1")}
        run.update(evaluate(links.assign(link_status=np.where(links["match_probability"] >= THRESHOLD, "matched", "unmatched")), truth))
        details["best_f1_over_thresholds"] = max(v["f1"] for v in curve.values())
        details["threshold_curve"] = curve
    else:
        run.update(evaluate(links.assign(link_status="matched"), truth))
        rule = evaluate(pd.read_parquet(out.with_suffix(".rule.parquet")).assign(link_status="matched"), truth)
        details.update({f"rule_{k}": v for k, v in rule.items()})
    run.update(details)
    return run


def median_of(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if key in r and r[key] is not None and not (isinstance(r[key], float) and np.isnan(r[key]))]
    return statistics.median(values) if values else None


def bench_config(folder: Path, n: int, m: int, *, tools: list[str], repeats: int, scratch: Path, timeout: float) -> dict:
    """Every tool ``repeats`` times, interleaved; medians and ranges."""
    truth = pd.read_parquet(folder / "truth" / f"links_{m}.parquet")
    survey_clean, npd_clean, clean_seconds = cleaned_inputs(folder, m)
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for rep in range(repeats):
        order = tools[rep % len(tools):] + tools[:rep % len(tools)]
        for tool in order:
            run = one_run(tool, folder, m, (survey_clean, npd_clean), scratch, truth, timeout)
            run["repeat"], run["position"] = rep + 1, order.index(tool) + 1
            runs[tool].append(run)
            short = {k: run.get(k) for k in ("wall_s", "cpu_s", "peak_gb", "f1", "load_before", "load_after", "failed")}
            print(f"  NPD {n:,} x survey {m:,} repeat {rep + 1} {tool}: {json.dumps(short)}", flush=True)
    summary: dict = {}
    for tool, tool_runs in runs.items():
        ok = [r for r in tool_runs if "failed" not in r]
        s: dict = {"runs": tool_runs, "n_ok": len(ok)}
        for key in ("wall_s", "cpu_s", "peak_gb", "precision", "recall", "f1", "links", "rule_precision", "rule_recall", "rule_f1"):
            s[key] = median_of(ok, key)
        for key in ("wall_s", "cpu_s", "peak_gb", "f1"):
            values = [r[key] for r in ok if key in r]
            s[key + "_range"] = [min(values), max(values)] if values else None
        s["load_1min_before"] = median_of([{"x": r["load_before"][0]} for r in tool_runs], "x")
        s["load_1min_after"] = median_of([{"x": r["load_after"][0]} for r in tool_runs], "x")
        s["load_1min_during"] = median_of([{"x": r.get("load_during_mean")} for r in tool_runs], "x")
        s["load_1min_max"] = max(max(r["load_before"][0], r["load_after"][0], r.get("load_during_max", 0.0)) for r in tool_runs)
        summary[tool] = s
    if "floor" in summary and summary["floor"]["wall_s"]:
        for tool in tools:
            if tool != "floor" and summary[tool]["wall_s"]:
                summary[tool]["x_floor"] = round(summary[tool]["wall_s"] / summary["floor"]["wall_s"], 2)
                if summary[tool]["cpu_s"] and summary["floor"]["cpu_s"]:
                    summary[tool]["x_floor_cpu"] = round(summary[tool]["cpu_s"] / summary["floor"]["cpu_s"], 2)
    # Ratios within a repeat (same minute, same load), then their median.
    ratios = {}
    if "sendlink" in runs:
        for tool in tools:
            if tool in ("floor", "sendlink"):
                continue
            for measure in ("wall_s", "cpu_s"):
                per_repeat = [o[measure] / s[measure] for s, o in zip(runs["sendlink"], runs[tool], strict=True)
                              if measure in s and measure in o]
                if per_repeat:
                    ratios[f"{tool}_over_sendlink_{measure[:-2]}_time"] = {
                        "median": round(statistics.median(per_repeat), 2),
                        "range": [round(min(per_repeat), 2), round(max(per_repeat), 2)]}
    return {"npd_size": n, "survey_size": m, "repeats": repeats, "order": tools, "clean_inputs_s": clean_seconds,
            "tools": summary, "ratios": ratios}


# --------------------------------------------------------------------------- reporting


def _f(v, d=2):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return f"{v:,.{d}f}" if isinstance(v, float) else f"{v:,}"


def markdown(result: dict) -> str:
    machine = result["machine"]
    lines = [*([result["note"].rstrip(), ""] if result.get("note") else []),
             f"Machine: {machine['cpus']} CPUs ({machine['cpus_usable']} usable), {machine['memory_gb']} GB, "
             f"Python {machine['python']}, {machine['platform']}; started {machine['started']}, "
             f"load (1, 5, 15 min) at start {machine['load_at_start']}, at end {machine['load_at_end']}.",
             f"Versions: {', '.join(f'{k} {v}' for k, v in machine['versions'].items())}. "
             f"Splink u estimated with max_pairs = {result.get('splink_u_max_pairs', 1e7):.0e}.", "",
             "Each figure is the median of the repeats (range in brackets); the tools were interleaved, each "
             "in its own process; load is the 1-minute load average (median before a run -> median of its mean during "
             "the run -> median after; max seen). x floor: wall time over the floor's wall time, and CPU time over the "
             "floor's CPU time (the CPU ratio is the one to trust on a loaded machine).",
             "",
             *[f"- part {i}: started {p['started']}, finished {p.get('finished')}, load at start {p['load_at_start']}, "
               f"at end {p.get('load_at_end')}; {'; '.join(p['configs'])}" for i, p in enumerate(result.get("parts", []), 1)],
             *([""] if result.get("parts") else []),
             "| NPD | survey | tool | wall s | CPU s | peak GB | x floor (wall / CPU) | pairs | precision | recall | F1 | load before -> during -> after (max) |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in result["configs"]:
        head = f"| {c['npd_size']:,} | {c['survey_size']:,} |"
        if c["clean_inputs_s"]:
            lines.append(f"{head} clean inputs (for the peers, once; not in their time) | "
                         f"{_f(sum(c['clean_inputs_s'].values()))} | | | | | | | | |")
        for tool, s in c["tools"].items():
            if not s["n_ok"]:
                failed = s["runs"][0].get("failed", "")[:80].replace("|", "/").replace("\n", " ")
                lines.append(f"{head} {tool} | failed: {failed} | | | | | | | | |")
                continue
            ok = [r for r in s["runs"] if "failed" not in r]
            pairs = ok[0].get("candidate_pairs", ok[0].get("candidate_pairs_scored"))
            def rng(key, d=2, s=s):
                lo, hi = s[key + "_range"]
                return f"{_f(s[key], d)} ({_f(lo, d)}-{_f(hi, d)})" if lo != hi else _f(s[key], d)
            quality = ("| | |" if tool == "floor" else
                       f"{_f(s['precision'], 4)} | {_f(s['recall'], 4)} | {_f(s['f1'], 4)} |")
            lines.append(f"{head} {tool} | {rng('wall_s')} | {rng('cpu_s')} | {rng('peak_gb')} | "
                         f"{_f(s.get('x_floor', 1.0 if tool == 'floor' else None))} / "
                         f"{_f(s.get('x_floor_cpu', 1.0 if tool == 'floor' else None))} | {_f(pairs) if pairs else ''} | "
                         f"{quality} {_f(s['load_1min_before'])} -> {_f(s.get('load_1min_during'))} -> "
                         f"{_f(s['load_1min_after'])} ({_f(s['load_1min_max'])}) |")
            if s.get("rule_f1") is not None:
                lines.append(f"{head} recordlinkage, the linking guide's rule (> 3 of 6 fields agree; same runs) | | | | | | "
                             f"{_f(s['rule_precision'], 4)} | {_f(s['rule_recall'], 4)} | {_f(s['rule_f1'], 4)} | |")
    ratio_lines = []
    for c in result["configs"]:
        for name, r in c["ratios"].items():
            ratio_lines.append(f"- NPD {c['npd_size']:,}, survey {c['survey_size']:,}: {name.replace('_', ' ')} = "
                               f"{r['median']} (range over repeats {r['range'][0]}-{r['range'][1]})")
    if ratio_lines:
        lines += ["", "Ratios within each repeat (same minutes, same load), median over repeats:", "", *ratio_lines]
    steps = []
    for c in result["configs"]:
        for tool in ("sendlink", "splink", "recordlinkage"):
            s = c["tools"].get(tool)
            ok = [r for r in (s or {}).get("runs", []) if "timings" in r]
            if not ok:
                continue
            keys = list(ok[0]["timings"])
            med = {k: statistics.median(r["timings"][k] for r in ok if k in r["timings"]) for k in keys}
            steps.append(f"- NPD {c['npd_size']:,}, survey {c['survey_size']:,}, {tool}: "
                         + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    if steps:
        lines += ["", "Time by step inside the process (s, median over repeats):", "", *steps]
    cpu_steps = []
    for c in result["configs"]:
        ok = [r for r in c["tools"].get("sendlink", {}).get("runs", []) if r.get("cpu_timings")]
        if ok:
            med = {k: statistics.median(r["cpu_timings"][k] for r in ok if k in r["cpu_timings"]) for k in ok[0]["cpu_timings"]}
            cpu_steps.append(f"- NPD {c['npd_size']:,}, survey {c['survey_size']:,}, sendlink: "
                             + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    if cpu_steps:
        lines += ["", "sendlink's CPU seconds by step (all threads; robust to load; median over repeats):", "", *cpu_steps]
    return "\n".join(lines) + "\n"


def figure(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = result["configs"]
    fig, (ax_t, ax_m, ax_s) = plt.subplots(1, 3, figsize=(15, 4))
    smallest = min(c["survey_size"] for c in configs)
    for tool, style in (("floor", "k:"), ("sendlink", "o-"), ("splink", "s--"), ("recordlinkage", "^-.")):
        points = sorted(((c["npd_size"], c["tools"][tool]) for c in configs
                         if c["survey_size"] == smallest and tool in c["tools"] and c["tools"][tool]["cpu_s"]),
                        key=lambda p: p[0])
        if points:
            ax_t.plot([p[0] for p in points], [p[1]["cpu_s"] for p in points], style, label=tool)
            ax_m.plot([p[0] for p in points], [p[1]["peak_gb"] for p in points], style, label=tool)
    for n in sorted({c["npd_size"] for c in configs}):
        for tool, style in (("sendlink", "o-"), ("splink", "s--")):
            points = sorted((c["survey_size"], c["tools"][tool]["cpu_s"]) for c in configs
                            if c["npd_size"] == n and tool in c["tools"] and c["tools"][tool]["cpu_s"])
            if len(points) > 1:
                ax_s.plot([p[0] for p in points], [p[1] for p in points], style, label=f"{tool}, NPD {n:,}")
    for ax, xlabel, ylabel in ((ax_t, "NPD pupils", "CPU time (s)"), (ax_m, "NPD pupils", "peak memory (GB)"),
                               (ax_s, "survey children", "CPU time (s)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    ax_t.set_title(f"survey of {smallest:,}: CPU time")
    ax_m.set_title(f"survey of {smallest:,}: peak memory")
    ax_s.set_title("CPU time against survey size")
    # CPU time, not wall time: robust to other work on the machine (wall times are in the tables).
    fig.suptitle(f"Linking a survey to the NPD ({result['machine']['cpus_usable']} cores; medians of repeats; CPU time, "
                 "all threads)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def machine_info() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("sendlink", "splink", "duckdb", "recordlinkage", "pandas", "pyarrow"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    memory = next((int(line.split()[1]) / 1e6 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), float("nan")) if Path("/proc/meminfo").is_file() else float("nan")
    return {"cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "memory_gb": round(memory, 1), "python": platform.python_version(), "platform": platform.platform(),
            "versions": versions, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_at_start": load_average()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--npd", type=int, nargs="+", default=list(NPD_SIZES), help="NPD sizes")
    parser.add_argument("--survey", type=int, nargs="+", default=list(SURVEY_SIZES), help="survey sizes (above N/2 skipped)")
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before one run is abandoned")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--name", default="scale", help="results file name: writes <name>.json, <name>.md and <name>.png")
    parser.add_argument("--splink-u-pairs", type=float, default=1e7,
                        help="max_pairs of Splink's u estimation (1e7 'often adequate'; 1e8+ for a final model)")
    parser.add_argument("--combine", nargs="+", type=Path, metavar="JSON",
                        help="write <name>.json/.md/.png from the configurations of earlier runs' JSON files "
                             "(in the order given) instead of running anything")
    parser.add_argument("--note", type=Path, metavar="MD",
                        help="with --combine: a Markdown file put at the top of <name>.md (what the run shows, how it was run)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        WORKERS[kind](*rest)
        return
    if args.combine:
        combined = combine([json.loads(p.read_text()) for p in args.combine])
        if args.note:
            combined["note"] = args.note.read_text()
        write_results(combined, args.results, args.name)
        return
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ[SPLINK_U_PAIRS_ENV] = repr(args.splink_u_pairs)
    scratch = args.work / "runs"
    scratch.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine_info(), "configs": [], "splink_u_max_pairs": args.splink_u_pairs}
    for n in args.npd:
        folder = ensure_data(args.work, n)
        for m in args.survey:
            if m > n // 2:
                print(f"NPD {n:,} x survey {m:,}: skipped (survey above half the NPD)", flush=True)
                continue
            print(f"NPD {n:,} x survey {m:,}: {args.repeats} repeats of {', '.join(args.tools)}", flush=True)
            result["configs"].append(bench_config(folder, n, m, tools=list(args.tools), repeats=args.repeats,
                                                  scratch=scratch, timeout=args.timeout))
            result["machine"]["load_at_end"] = load_average()
            result["machine"]["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
            write_results(result, args.results, args.name)  # after each configuration: a cut-off run keeps what it measured
    print(markdown(result))


def write_results(result: dict, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    (folder / f"{name}.md").write_text(markdown(result))
    figure(result, folder / f"{name}.png")


def combine(parts: list[dict]) -> dict:
    """One result from several runs of this script (each keeps its own machine record, in ``parts``)."""
    first, last = parts[0]["machine"], parts[-1]["machine"]
    machine = {**first, "load_at_end": last.get("load_at_end"), "finished": last.get("finished")}
    return {"machine": machine, "splink_u_max_pairs": parts[0].get("splink_u_max_pairs", 1e7),
            "configs": [c for part in parts for c in part["configs"]],
            "parts": [{"started": p["machine"]["started"], "finished": p["machine"].get("finished"),
                       "load_at_start": p["machine"]["load_at_start"], "load_at_end": p["machine"].get("load_at_end"),
                       "configs": [f"{c['npd_size']}x{c['survey_size']}: {', '.join(c['tools'])}" for c in p["configs"]]}
                      for p in parts]}


if __name__ == "__main__":
    main()

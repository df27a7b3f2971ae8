"""The distributed route, run: sendlink's trained model scored by Splink on Spark (local mode).

``sendlink.link.splink_export`` writes the model this project trains as
Splink settings. ``tests/integration/test_link_splink_export.py`` proves on a
small population, in ``make test``, that Splink with DuckDB gives every
candidate pair the project's match weight. This benchmark runs the same
route on the engine that scales out, at national size:

1. **sendlink** links a survey (default 10,000 children) against the 1 M
   NPD spine (``sendlink synth --npd-size 1000000``, the scale benchmark's
   files in ``benchmarks/work/``) and keeps its candidate pairs and weights.
2. **export** (:func:`~sendlink.link.splink_export.write_splink_files`):
   the prepared tables for the whole spine, the NPD's term-frequency
   tables, the settings in Spark SQL (``dialect="spark"``) and the
   candidate pairs, written as Parquet and JSON - what would be copied to a
   cluster.
3. **Splink on Spark**: PySpark in local mode (``local[2]``: this machine's
   two cores; Java from Debian) with the similarity jar Splink ships on
   ``spark.jars`` and a checkpoint directory, as Splink's Spark examples
   set up; the tables are read from the Parquet files; the candidate pairs
   are registered with ``register_blocked_pairs_for_predict`` and scored by
   ``predict()``. The same with **Splink on DuckDB** (``--backends``). Each
   engine runs twice (``--functions``): with sendlink's own string measures
   registered as UDFs (``register_spark_functions``,
   ``register_duckdb_functions``: the route the export recommends), and
   with the engine's built-in Jaro-Winkler and Damerau-Levenshtein, to
   show what those change.
4. **Agreement**: each pair's match weight against sendlink's (the largest
   absolute difference is the headline), each field's comparison level,
   and the links: sendlink's competing-candidates step, one-to-one
   assignment and thresholds (:func:`sendlink.link.engine.decide`) applied
   to the engine's weights, compared with sendlink's own links, survey
   record by survey record.

Times are wall seconds per step with ``/proc/loadavg`` before and after, on
a shared 2-core machine: they show what local mode costs, not what a
cluster would. Results: ``benchmarks/results/splink_spark.{md,json}``.

Run: ``.venv/bin/python -m pip install -e '.[dev,bench]'`` (PySpark) and
``.venv/bin/python benchmarks/splink_spark.py [--npd 1000000] [--survey 10000]
[--backends spark duckdb]``; needs ``java`` (``apt-get install
openjdk-17-jre-headless``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale_benchmark import ensure_data, load_average  # noqa: E402

from sendlink.link import link_spines, read_spine  # noqa: E402
from sendlink.link.compare import FIELDS  # noqa: E402
from sendlink.link.engine import NPD_KEY, SURVEY_KEY, decide  # noqa: E402
from sendlink.link.splink_export import (  # noqa: E402
    register_duckdb_functions,
    register_spark_functions,
    splink_export,
    write_splink_files,
)
from sendlink.params import load_params  # noqa: E402

log = logging.getLogger("splink_spark")


class Clock:
    """Wall time and load average of each step."""

    def __init__(self) -> None:
        self.steps: dict[str, dict] = {}

    def step(self, name: str):
        clock = self

        class _Step:
            def __enter__(self):
                self.load, self.start = load_average(), time.perf_counter()
                print(f"{name} ...", flush=True)

            def __exit__(self, *exc):
                clock.steps[name] = {"wall_s": round(time.perf_counter() - self.start, 2),
                                     "load_before": self.load, "load_after": load_average()}
                print(f"{name}: {clock.steps[name]}", flush=True)

        return _Step()


def write_settings(result, out: Path, dialect: str, functions: str) -> Path:
    """The settings for one engine and one choice of string functions (the tables are shared)."""
    path = out / f"settings_{dialect}_{functions}.json"
    path.write_text(json.dumps(splink_export(result.model, result.params.thresholds, dialect, functions), indent=1))
    return path


def spark_session(cores: int, memory: str, scratch: Path):
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    # Python workers (for the pandas UDFs) must run this interpreter, which has sendlink.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master(f"local[{cores}]").appName("sendlink-splink-spark")
             .config("spark.jars", similarity_jar_location())
             .config("spark.driver.memory", memory)
             .config("spark.sql.shuffle.partitions", str(4 * cores))
             .config("spark.local.dir", str(scratch))
             .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    # Splink breaks Spark's lineage by checkpointing (its default on Spark).
    spark.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))
    return spark


def score(backend: str, functions: str, paths: dict[str, Path], settings_path: Path, clock: Clock,
          spark=None) -> pd.DataFrame:
    """Splink on ``backend`` scores the registered candidate pairs; one row per pair."""
    from splink import Linker

    name = f"{backend}, {functions} functions"
    if backend == "spark":
        from splink import SparkAPI

        db_api = SparkAPI(spark_session=spark)  # registers the jar's UDFs (the "builtin" functions)
        if functions == "sendlink":
            register_spark_functions(spark)

        def read(name: str):
            return spark.read.parquet(str(paths[name]))
    else:
        import duckdb
        from splink import DuckDBAPI

        con = duckdb.connect(":memory:")
        if functions == "sendlink":
            register_duckdb_functions(con)
        db_api = DuckDBAPI(connection=con)

        def read(name: str):
            return con.read_parquet(str(paths[name]))

    settings = json.loads(settings_path.read_text())["settings"]
    with clock.step(f"{name}: register tables and pairs"):
        # Table names unique per variant (one Spark session serves both); the dataset names
        # ("npd", "survey") are what the candidate pairs' join keys refer to.
        linker = Linker([db_api.register(read("npd"), dataset_display_name="npd", table_name=f"npd_{functions}"),
                         db_api.register(read("survey"), dataset_display_name="survey", table_name=f"survey_{functions}")],
                        settings, log_level=logging.WARNING)
        for column in [c for c in ("fn_tf", "sn_tf", "pc_tf", "hh_same", "hh_other", "hh_nosch") if c in paths]:
            linker.table_management.register_term_frequency_lookup(
                db_api.register(read(column), table_name=f"tf_{column}_{functions}"), column)
        linker.table_management.register_blocked_pairs_for_predict(
            db_api.register(read("pairs"), table_name=f"candidate_pairs_{functions}"))
    with clock.step(f"{name}: predict (score every candidate pair) and collect"):
        predictions = linker.inference.predict()
        keep = ["unique_id_l", "unique_id_r", "match_weight", *[f"gamma_{f.name}" for f in FIELDS]]
        if backend == "spark":
            frame = predictions.as_spark_dataframe()
            frame = frame.select(*[c for c in keep if c in frame.columns]).toPandas()
        else:
            frame = predictions.as_pandas_dataframe()
            frame = frame[[c for c in keep if c in frame.columns]]
    return frame.rename(columns={"unique_id_l": NPD_KEY, "unique_id_r": SURVEY_KEY})


def agreement(result, scored: pd.DataFrame, survey_keys: list[str]) -> dict:
    """Weights, levels and links of an engine's scores against sendlink's."""
    ours = pd.DataFrame({SURVEY_KEY: result.pairs[SURVEY_KEY].astype(str), NPD_KEY: result.pairs[NPD_KEY].astype(str),
                         "match_weight": result.pairs["match_weight"].to_numpy(float)})
    for spec in FIELDS:
        if spec.name in result.pairs:
            ours[f"level_{spec.name}"] = result.pairs[spec.name].cat.codes.to_numpy()
    both = ours.merge(scored.astype({SURVEY_KEY: str, NPD_KEY: str}), on=[SURVEY_KEY, NPD_KEY], how="outer",
                      suffixes=("_sendlink", "_engine"), indicator=True)
    matched = both[both["_merge"] == "both"]
    diff = (matched["match_weight_engine"].astype(float) - matched["match_weight_sendlink"]).abs()
    levels = {}
    for spec in FIELDS:
        column = f"gamma_{spec.name}"
        if column not in matched:
            continue
        theirs = matched[column].to_numpy(int)
        # Splink numbers levels from the top (null level -1); sendlink's categories run from the top too.
        theirs = np.where(theirs < 0, -1, len(spec.levels) - 1 - theirs)
        levels[spec.name] = int((matched[f"level_{spec.name}"].to_numpy(int) != theirs).sum())
    # Links: the same decision function (sendlink.link.engine.decide) on sendlink's weights and on the
    # engine's, so only the weights differ; and, as a user would see it, against link_spines' own links.
    engine_pairs = matched[[SURVEY_KEY, NPD_KEY]].assign(match_weight=matched["match_weight_engine"].to_numpy(float))
    own_pairs = matched[[SURVEY_KEY, NPD_KEY]].assign(match_weight=matched["match_weight_sendlink"].to_numpy(float))
    mine_links = decide(own_pairs, survey_keys, result.params.thresholds).set_index(SURVEY_KEY)
    theirs_links = decide(engine_pairs, survey_keys, result.params.thresholds).set_index(SURVEY_KEY).reindex(mine_links.index)
    linked = result.links.assign(**{SURVEY_KEY: result.links[SURVEY_KEY].astype(str)}).set_index(SURVEY_KEY).reindex(mine_links.index)

    def same(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        return (a[NPD_KEY].fillna("").astype(str) == b[NPD_KEY].fillna("").astype(str),
                a["link_status"].astype(str) == b["link_status"].astype(str))

    same_upn, same_status = same(mine_links, theirs_links)
    spine_upn, spine_status = same(linked, theirs_links)
    prob_diff = (mine_links["match_probability"].astype(float) - theirs_links["match_probability"].astype(float)).abs()
    worst = diff.idxmax() if len(diff) else None
    return {
        "pairs_sendlink": int(len(ours)), "pairs_engine": int(len(scored)), "pairs_in_both": int(len(matched)),
        "pairs_only_sendlink": int((both["_merge"] == "left_only").sum()),
        "pairs_only_engine": int((both["_merge"] == "right_only").sum()),
        "max_abs_weight_difference": float(diff.max()) if len(diff) else float("nan"),
        "mean_abs_weight_difference": float(diff.mean()) if len(diff) else float("nan"),
        "pairs_weight_differs_over_1e-9": int((diff > 1e-9).sum()),
        "pairs_weight_differs_over_1e-6": int((diff > 1e-6).sum()),
        "worst_pair": ({k: (str(v) if not isinstance(v, float) else v) for k, v in matched.loc[worst].items() if k != "_merge"}
                       if worst is not None else None),
        "pairs_with_a_different_level": levels,
        "survey_records": int(len(mine_links)),
        "links_same_upn": int(same_upn.sum()), "links_same_status": int(same_status.sum()),
        "links_identical": int((same_upn & same_status).sum()),
        "links_identical_to_link_spines": int((spine_upn & spine_status).sum()),
        "links_same_status_as_link_spines": int(spine_status.sum()),
        # Where they differ: the same status and probability, another of equally weighted candidates?
        "differences_from_link_spines_ties": int((~(spine_upn & spine_status) & spine_status & (
            (linked["match_probability"].astype(float) - theirs_links["match_probability"].astype(float)).abs() < 1e-9)).sum()),
        "differences_from_link_spines": [
            {"survey_id": k, "link_spines": [linked.loc[k, NPD_KEY], linked.loc[k, "link_status"], float(linked.loc[k, "match_probability"])],
             "engine": [theirs_links.loc[k, NPD_KEY], theirs_links.loc[k, "link_status"], float(theirs_links.loc[k, "match_probability"])]}
            for k in linked.index[~(spine_upn & spine_status)][:10]],
        "link_status_counts_sendlink": mine_links["link_status"].value_counts().to_dict(),
        "link_status_counts_engine": theirs_links["link_status"].value_counts().to_dict(),
        "max_abs_link_probability_difference": float(prob_diff.max()),
    }


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# Splink on Spark scores sendlink's model: {report['npd_size']:,} pupils, {report['survey_size']:,} children",
             "",
             "Written by `benchmarks/splink_spark.py` (its docstring says how it works). Splink 5 declares "
             "`pyspark>=3.5` and ships its UDF jar for Spark 3.x and 4.x; this run used the PySpark below "
             "(`pip install -e '.[bench]'`) and Debian's OpenJDK.",
             "",
             f"Machine: {m['cpus']} CPUs, {m['platform']}, Python {m['python']}, Java {m['java']}; "
             f"{', '.join(f'{k} {v}' for k, v in m['versions'].items())}. Spark master `{report['spark_master']}`, "
             f"driver memory {report['spark_memory']}. Run {m['started']}.",
             "",
             "sendlink linked the survey and kept its candidate pairs; the model was exported "
             "(`splink_settings(model, dialect=...)`, `splink_records`, `splink_term_frequencies`) and Splink "
             "scored exactly those pairs (`register_blocked_pairs_for_predict`). Links from an engine's weights "
             "use sendlink's competing-candidates step, one-to-one assignment and thresholds "
             "(`sendlink.link.engine.decide`).",
             "",
             "| | " + " | ".join(report["agreement"]) + " |",
             "|---|" + "---:|" * len(report["agreement"])]
    rows = [("candidate pairs scored", "pairs_engine", "{:,}"), ("pairs missing either side", None, None),
            ("largest absolute match-weight difference", "max_abs_weight_difference", "{:.2e}"),
            ("mean absolute match-weight difference", "mean_abs_weight_difference", "{:.2e}"),
            ("pairs whose weight differs by more than 1e-6", "pairs_weight_differs_over_1e-6", "{:,}"),
            ("pairs with any comparison level different", None, None),
            ("survey records with the same link (NPD record and status) as sendlink's weights give", "links_identical", "{:,}"),
            ("... as `sendlink link` gave (link_spines)", "links_identical_to_link_spines", "{:,}"),
            ("largest difference in a link's match probability", "max_abs_link_probability_difference", "{:.2e}")]
    for label, key, fmt in rows:
        cells = []
        for a in report["agreement"].values():
            if label.startswith("pairs missing"):
                cells.append(f"{a['pairs_only_sendlink'] + a['pairs_only_engine']:,}")
            elif label.startswith("pairs with any"):
                cells.append(f"{sum(a['pairs_with_a_different_level'].values()):,}")
            elif key in ("links_identical", "links_identical_to_link_spines"):
                cells.append(f"{a[key]:,} of {a['survey_records']:,}")
            else:
                cells.append(fmt.format(a[key]))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    notes: dict[tuple[int, int], list[str]] = {}
    for backend, a in report["agreement"].items():
        differ = a["survey_records"] - a["links_identical_to_link_spines"]
        if differ:
            notes.setdefault((differ, a["differences_from_link_spines_ties"]), []).append(backend)
    for (differ, ties), backends in notes.items():
        lines += ["", f"Against `sendlink link`'s own links ({'; '.join(backends)}): {differ} of "
                  f"{report['survey_size']:,} differ; in {ties} of them the status and the probability are the same "
                  "and only *which* of equally weighted candidates is put to clerical review differs. sendlink's own "
                  "weights through `decide` differ in the same way: ties are broken by the position of the keys in "
                  "the pairs' categories, which is not the same in a run and in a re-read (a sendlink issue, not an "
                  "engine's)."]
    lines += ["", "Links by status (sendlink / from the engine's weights):", ""]
    for backend, a in report["agreement"].items():
        lines.append(f"- {backend}: {a['link_status_counts_sendlink']} / {a['link_status_counts_engine']}")
    lines += ["", "Wall time by step (s; 1-minute load average before -> after):", "", "| step | wall s | load |", "|---|---:|---|"]
    for name, s in report["steps"].items():
        lines.append(f"| {name} | {s['wall_s']:.2f} | {s['load_before'][0]:.2f} -> {s['load_after'][0]:.2f} |")
    jvm = report["peak_gb"].get("spark_jvm")
    lines += ["", f"Peak resident memory (VmHWM): this Python process (sendlink, the export, DuckDB) "
              f"{report['peak_gb']['python']:.2f} GB" + (f"; the Spark JVM {jvm:.2f} GB" if jvm else "") + "."]
    return "\n".join(lines) + "\n"


def jvm_peak_gb(spark) -> float | None:
    """Peak resident memory of the local Spark JVM (``VmHWM``), read before it stops."""
    try:
        pid = spark.sparkContext._gateway.proc.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e6
    except (AttributeError, OSError):
        return None
    return None


def java_version() -> str:
    import subprocess

    try:
        run = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "not found"
    first = (run.stderr or run.stdout).splitlines()
    return first[0] if first else "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--npd", type=int, default=1_000_000)
    parser.add_argument("--survey", type=int, default=10_000)
    parser.add_argument("--backends", nargs="+", default=["spark", "duckdb"], choices=["spark", "duckdb"])
    parser.add_argument("--functions", nargs="+", default=["sendlink", "builtin"], choices=["sendlink", "builtin"],
                        help="string measures: sendlink's own registered as UDFs, or the engine's built-ins")
    parser.add_argument("--cores", type=int, default=2, help="Spark local[N]")
    parser.add_argument("--spark-memory", default="6g", help="spark.driver.memory (local mode: driver = executor)")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--name", default="splink_spark")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from importlib.metadata import version

    clock = Clock()
    folder = ensure_data(args.work, args.npd)
    survey_path = folder / "survey" / f"survey_spine_{args.survey}.parquet"
    with clock.step("sendlink: read and link (link_spines)"):
        survey_raw, npd_raw = read_spine(survey_path, SURVEY_KEY), read_spine(folder / "npd" / "spine.parquet", NPD_KEY)
        params = load_params()
        result = link_spines(survey_raw, npd_raw, params.linkage, seed=params.seed)
    survey_keys = result.links[SURVEY_KEY].astype(str).tolist()
    report = {"npd_size": args.npd, "survey_size": args.survey, "spark_master": f"local[{args.cores}]",
              "spark_memory": args.spark_memory, "agreement": {}, "steps": clock.steps,
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                          "java": java_version(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                          "versions": {p: version(p) for p in ("splink", "pyspark", "duckdb", "pyarrow")}}}
    out = args.work / f"splink_export_{args.npd}_{args.survey}"
    with clock.step("export: prepared tables, term frequencies, candidate pairs (Parquet)"):
        paths = write_splink_files(result, survey_raw, npd_raw, out)
    variants = [(b, f) for b in args.backends for f in args.functions]
    with tempfile.TemporaryDirectory(prefix="splink_spark_") as tmp:
        spark = None
        if "spark" in args.backends:
            with clock.step("spark: start a local session (JVM, Splink's jar)"):
                spark = spark_session(args.cores, args.spark_memory, Path(tmp))
        for backend, functions in variants:
            dialect = "spark" if backend == "spark" else "duckdb"
            scored = score(backend, functions, paths, write_settings(result, out, dialect, functions), clock, spark)
            key = f"{backend}, {functions} functions"
            with clock.step(f"{key}: compare with sendlink"):
                report["agreement"][key] = agreement(result, scored, survey_keys)
            print(json.dumps(report["agreement"][key], indent=1, default=str), flush=True)
        if spark is not None:
            jvm_peak = jvm_peak_gb(spark)
            spark.stop()
    report["peak_gb"] = {"python": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                         "spark_jvm": jvm_peak if "spark" in args.backends else None}
    report["machine"]["load_at_end"] = load_average()
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{args.name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (args.results / f"{args.name}.md").write_text(markdown(report))
    print(markdown(report))
    exact = [a for k, a in report["agreement"].items() if k.endswith("sendlink functions")]
    worst = max((a["max_abs_weight_difference"] for a in exact), default=0.0)
    identical = all(a["links_identical"] == a["survey_records"] for a in exact)
    return 0 if worst < 1e-6 and identical else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every benchmark in turn (``make bench``); each writes to ``benchmarks/results/``.

Long: the national-scale linkage (three interleaved repeats of every tool
up to 9.1 M pupils: hours, and it wants an idle machine) and the simulation
(at least 50 seeds of the whole chain: tens of minutes) on 2 cores. The
Spark benchmark needs a Java runtime (Debian: ``openjdk-17-jre-headless``).
``--only NAME ...`` runs a subset. None of this is part of ``make test``.

| name | script | measures |
| --- | --- | --- |
| synth | synth_benchmark.py | default world and 9.1 M national spine: time and memory |
| febrl | link_febrl.py --baselines | FEBRL4 (model vs baselines) and FEBRL1-3 precision/recall |
| variation | link_variation.py | an independent generator's kinds of error: recall per kind |
| cohort | link_cohort.py | linkage of the default cohort: pairs, time, quality |
| scale | scale_benchmark.py | linkage at 100 k, 1 M, 9.1 M NPD and 10 k-100 k surveys against Splink and recordlinkage |
| spark | splink_spark.py | the exported model scored by Splink on Spark (local mode) at 1 M: weights and links against sendlink's |
| simulation | simulation.py | bias and coverage of the estimators over seeds |
| worlds | other_worlds.py | the whole report in worlds made with other seeds |
| pprl | pprl_attack.py | linkage on Bloom-filter encodings: attack success and accuracy per hardening |
| demokey | demo_key_attack.py | what the public demo keys protect: research ids reversed, erased ids recovered |
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "synth": ["synth_benchmark.py"],
    "febrl": ["link_febrl.py", "--baselines"],
    "variation": ["link_variation.py"],
    "cohort": ["link_cohort.py", "--out", str(HERE / "results" / "link_cohort.json")],
    "scale": ["scale_benchmark.py"],
    "spark": ["splink_spark.py"],
    "simulation": ["simulation.py"],
    "worlds": ["other_worlds.py"],
    "pprl": ["pprl_attack.py"],
    "demokey": ["demo_key_attack.py"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args()
    failed = []
    for name, command in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}: {' '.join(command)}", flush=True)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], cwd=HERE.parent)
        print(f"== {name}: {'ok' if result.returncode == 0 else 'FAILED'} in {time.perf_counter() - start:.0f} s", flush=True)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

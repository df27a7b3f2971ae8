"""Run every benchmark in turn (``make bench``); each writes to ``benchmarks/results/``.

Long: the national-scale linkage (three interleaved repeats of every tool
up to 9.1 M pupils: hours, and it wants an idle machine); the simulation
(200 seeds of the whole chain, 50 bootstrap replicates each) takes hours (it
resumes where it stopped), the preset simulations less. The Spark benchmark
needs a Java runtime (Debian: ``openjdk-17-jre-headless``).
``--only NAME ...`` runs a subset. None of this is part of ``make test``.

| name | script | measures |
| --- | --- | --- |
| synth | synth_benchmark.py | default world and 9.1 M national spine: time and memory |
| febrl | link_febrl.py --baselines | FEBRL4 (model vs baselines) and FEBRL1-3 precision/recall |
| variation | link_variation.py | an independent generator's kinds of error: recall per kind |
| cohort | link_cohort.py | linkage of the default cohort: pairs, time, quality |
| scale | scale_benchmark.py | linkage at 100 k, 1 M, 9.1 M NPD and 10 k-100 k surveys against Splink and recordlinkage |
| spark | splink_spark.py | the exported model scored by Splink on Spark (local mode) at 1 M: weights and links against sendlink's |
| simulation | simulation.py | bias, coverage and SE ratios of the estimators over 200 seeds |
| mnar | simulation.py --preset presets/mnar_consent.yaml --seeds 50 --replicates 0 | the same where consent depends on the unobserved outcome |
| degraded | simulation.py --preset presets/degraded_linkage.yaml --seeds 50 --replicates 0 | the same with poorer identifiers and missed links that depend on suspensions |
| mnartip | mnar_tipping.py | the MNAR preset's tipping points beside the actual delta of its worlds |
| bootstrap | bootstrap_replicates.py | make report's 100 bootstrap replicates against 1,000 on the default world |
| worlds | other_worlds.py | the whole report in worlds made with other seeds |
| pprl | pprl_attack.py | linkage on Bloom-filter encodings: attack success and accuracy per hardening |
| pprl_accuracy | pprl_accuracy.py | encoded vs plain linkage on the cohort, FEBRL4 and the independent generator |
| pprl_scale | pprl_scale.py | encoded linkage at 10,000 x 9.1 M: encode and link time and memory against the plain linker |
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
    "mnar": ["simulation.py", "--preset", str(HERE.parent / "presets" / "mnar_consent.yaml"), "--seeds", "50", "--replicates", "0"],
    "degraded": ["simulation.py", "--preset", str(HERE.parent / "presets" / "degraded_linkage.yaml"), "--seeds", "50", "--replicates", "0"],
    "mnartip": ["mnar_tipping.py"],
    "bootstrap": ["bootstrap_replicates.py"],
    "worlds": ["other_worlds.py"],
    "pprl": ["pprl_attack.py"],
    "pprl_accuracy": ["pprl_accuracy.py"],
    "pprl_scale": ["pprl_scale.py"],
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

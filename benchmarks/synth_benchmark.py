"""Benchmark the synthetic-data generator (issue 2's performance targets).

* default world (`sendlink synth`): under 30 s on 2 cores;
* national spine of 9.1 million pupils (`sendlink synth --npd-size 9100000`):
  under 3 minutes and under 6 GB peak memory.

Each run is a separate process measured with ``resource.getrusage`` of the
children (wall time, CPU time, peak resident memory). Results go to
``benchmarks/results/synth.json`` and ``synth.md``. The machine may be shared
and noisy: CPU time is the steadier figure.

Run: ``.venv/bin/python benchmarks/synth_benchmark.py [--national-size N]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def measure(args: list[str]) -> dict[str, float]:
    """Run ``sendlink ARGS`` in a child process; return wall, CPU and peak memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sendlink", "-q", *args], check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        # ru_maxrss is the largest child so far, in KiB on Linux.
        "peak_memory_gb": round(after.ru_maxrss / 1024**2, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--national-size", type=int, default=9_100_000)
    parser.add_argument("--skip-national", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {"machine": {"python": platform.python_version(), "processor": platform.machine()}}
    with tempfile.TemporaryDirectory() as tmp:
        results["default"] = measure(["synth", "--out", str(Path(tmp) / "default")])
        results["default"]["target"] = "under 30 s"
        if not args.skip_national:
            results["national"] = measure(["synth", "--npd-size", str(args.national_size), "--survey-size", "3500", "--survey-size", "10000", "--out", str(Path(tmp) / "national")])
            results["national"].update({"pupils": args.national_size, "target": "under 180 s and 6 GB"})
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "synth.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| run | wall (s) | CPU (s) | peak memory (GB) | target |", "| --- | ---: | ---: | ---: | --- |"]
    for name in ("default", "national"):
        if name in results:
            r = results[name]
            lines.append(f"| {name} | {r['wall_seconds']} | {r['cpu_seconds']} | {r['peak_memory_gb']} | {r['target']} |")
    (RESULTS / "synth.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

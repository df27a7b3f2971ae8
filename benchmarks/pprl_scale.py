"""Linking without names at national scale (issue 18, requirement 4): 10,000 survey children x 9.1 M pupils.

The 9.1 M NPD spine and the 10,000-child survey spine are made as
``benchmarks/scale_benchmark.py`` makes them (``sendlink synth --npd-size
9100000 --survey-size 10000 --out benchmarks/work/scale_9100000``). Each
step runs in its own process, measured with ``/usr/bin/time -v`` (wall
time, user + system CPU time, peak resident memory), exactly as a user runs
it:

* **encode NPD** (DfE): ``sendlink encode NPD --out ... --mapping ...`` in
  chunks of 500,000 records;
* **encode survey** (the survey organisation): the same on the survey spine;
* **link encoded** (the linkage unit): ``sendlink link --encoded``;
* **plain linker**: ``sendlink.link.link_files`` on the plain spines (the
  worker of ``scale_benchmark.py``), for comparison on the same machine state.

The links returned are mapped back (``sendlink map-back``, both sides) and
scored against the truth. The shared secret is a fresh random key in
``SENDLINK_PPRL_KEY`` (these files are not the generator's default world, so
the demo secret is refused). The machine is shared: ``/proc/loadavg`` is
recorded before each step, and CPU time is reported beside wall time.

Run: ``nice -n 10 .venv/bin/python benchmarks/pprl_scale.py`` (about 30
minutes on a loaded 2-core machine); writes
``benchmarks/results/pprl_scale.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
SENDLINK = str(Path(sys.executable).with_name("sendlink"))


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--npd-size", type=int, default=9_100_000)
    parser.add_argument("--survey-size", type=int, default=10_000)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "pprl_scale.md")
    args = parser.parse_args()
    from scale_benchmark import ensure_data, evaluate, timed

    work = HERE / "work"
    folder = work / f"scale_{args.npd_size}"
    if not (folder / "survey" / f"survey_spine_{args.survey_size}.parquet").is_file():
        folder = ensure_data(work, args.npd_size)
    survey = folder / "survey" / f"survey_spine_{args.survey_size}.parquet"
    npd = folder / "npd" / "spine.parquet"
    truth = pd.read_parquet(folder / "truth" / f"links_{args.survey_size}.parquet")
    scratch = work / f"pprl_{args.npd_size}_{args.survey_size}"
    scratch.mkdir(parents=True, exist_ok=True)
    os.environ["SENDLINK_PPRL_KEY"] = secrets.token_hex(32)  # inherited by the child processes
    steps: dict[str, dict] = {}

    def step(name: str, command: list[str]) -> None:
        before = load()
        steps[name] = {"loadavg_before": before, **timed(command, 4 * 3600)}
        print(name, steps[name], flush=True)

    for p in scratch.glob("*.parquet"):
        p.unlink()
    step("encode_npd", [SENDLINK, "-q", "encode", str(npd), "--out", str(scratch / "npd_encoded.parquet"),
                        "--mapping", str(scratch / "npd_pseudonyms.parquet"), "--chunk-rows", str(args.chunk_rows)])
    step("encode_survey", [SENDLINK, "-q", "encode", str(survey), "--out", str(scratch / "survey_encoded.parquet"),
                           "--mapping", str(scratch / "survey_pseudonyms.parquet")])
    step("link_encoded", [SENDLINK, "-q", "link", "--encoded", str(scratch / "survey_encoded.parquet"),
                          str(scratch / "npd_encoded.parquet"), "--out", str(scratch / "links_pseudonymous.parquet")])
    for side in ("survey", "npd"):
        subprocess.run([SENDLINK, "-q", "map-back", str(scratch / ("links_pseudonymous.parquet" if side == "survey" else "links_survey.parquet")),
                        "--mapping", str(scratch / f"{side}_pseudonyms.parquet"),
                        "--out", str(scratch / ("links_survey.parquet" if side == "survey" else "links.parquet"))], check=True)
    encoded = evaluate(pd.read_parquet(scratch / "links.parquet"), truth)
    sizes = {name: round((scratch / name).stat().st_size / 1e9, 3) for name in ("npd_encoded.parquet", "survey_encoded.parquet")}
    plain = None
    if not args.skip_plain:
        out = scratch / "plain.json"
        step("plain_linker", [sys.executable, str(HERE / "scale_benchmark.py"), "--worker", "sendlink", str(survey), str(npd), str(out)])
        details = json.loads(out.read_text())
        plain = evaluate(pd.read_parquet(details["links_file"]), truth)
    result = {"npd_size": args.npd_size, "survey_size": args.survey_size, "chunk_rows": args.chunk_rows, "cpus": os.cpu_count(),
              "steps": steps, "encoded": encoded, "plain": plain, "file_gb": sizes}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=float) + "\n")
    args.out.write_text(markdown(result))
    print(f"wrote {args.out}")


def markdown(r: dict) -> str:
    def row(name: str, label: str) -> str:
        s = r["steps"].get(name)
        if s is None:
            return f"| {label} | | | | |"
        return f"| {label} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | {s['peak_gb']:.2f} | {s['loadavg_before']} |"

    e, p = r["encoded"], r["plain"]
    lines = [
        f"# Linking without names at national scale: {r['survey_size']:,} x {r['npd_size']:,}",
        "",
        "Each step in its own process under `/usr/bin/time -v`, as a user runs it (`sendlink encode`, in chunks of "
        f"{r['chunk_rows']:,} records; `sendlink link --encoded`); the plain linker on the same spines for comparison. "
        "The machine has 2 cores shared with other work: CPU time is the steadier figure. "
        "Reproduce: `nice -n 10 .venv/bin/python benchmarks/pprl_scale.py`.",
        "",
        "| step | wall (s) | CPU (s) | peak memory (GB) | load average before |",
        "|---|---:|---:|---:|---|",
        row("encode_npd", "DfE encodes the NPD"),
        row("encode_survey", "survey organisation encodes its spine"),
        row("link_encoded", "linkage unit links the encodings"),
        row("plain_linker", "plain linker (for comparison)"),
        "",
        "| linker | links | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|",
        f"| encoded | {e['links']:,} | {e['precision']:.4f} | {e['recall']:.4f} | {e['f1']:.4f} |",
    ]
    if p is not None:
        lines.append(f"| plain | {p['links']:,} | {p['precision']:.4f} | {p['recall']:.4f} | {p['f1']:.4f} |")
    lines += ["", f"Encoded files: NPD {r['file_gb']['npd_encoded.parquet']:.2f} GB, survey {r['file_gb']['survey_encoded.parquet']:.3f} GB."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

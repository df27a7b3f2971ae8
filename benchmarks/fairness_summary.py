"""Issue 19's targets, checked against the measurements in ``benchmarks/results/``.

Reads what the benchmarks wrote (nothing is measured here):

* ``link_variation.json``: the extended independent benchmark
  (``benchmarks/link_variation.py``, seeds 1-3, 200,000 pupils in 46 local
  authorities, 5,000 survey children, 5% not in the NPD), with and without the
  NPD's census history;
* ``link_variation_before.json``: the same populations linked by the linker at
  the start of issue 19 (commit 683c20a; how it was made is in
  ``link_variation.py``'s docstring);
* ``link_variation_heldout.json`` (if present): seeds 4-6, populations that
  were never looked at while the linker was changed (the misses of seeds 1-3
  were read to design the last blocking passes; these were not), made with
  ``link_variation.py --seeds 4 5 6 --no-write --out benchmarks/results/link_variation_heldout.json``;
* ``febrl.json`` (``benchmarks/link_febrl.py``) and, if present,
  ``scale_fairness.json`` (``benchmarks/scale_benchmark.py --sizes 9100000
  --surveys 10000 --no-splink --no-recordlinkage --work W --results R``, the
  national-scale run on this linker, R's ``scale.json``) and
  ``scale_fairness_before.json`` (the same command on the same work folder W
  run from ``git archive 683c20a`` with ``PYTHONPATH`` on its ``src``: the
  linker issue 19 started from, on the same files).

Writes ``benchmarks/results/fairness.md``: each target, the figure, met or not.
A target is judged on the point estimate, and the 95% interval is shown
beside it; nothing here was tuned to pass.

Run: ``.venv/bin/python benchmarks/fairness_summary.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
WITH = "with the NPD history"
WITHOUT = "without the NPD history"

#: Issue 19, requirement 5.
PRECISION, RECALL, ORIGIN_GAP = 0.998, 0.99, 0.01
#: The clerical share the issue reports for the linker it measured (108 of 5,000 rows).
ISSUE_CLERICAL = 108 / 5000


#: What the two national-scale runs' links files showed (compared child by child against
#: truth/links_10000.parquet of the same world; the links files are not kept in results/).
NATIONAL_NOTE = (
    "Both runs link the same files (`sendlink synth --npd-size 9100000`, this branch's generator) without the NPD "
    "history (the scale benchmark passes none). This linker found 37 true links fewer and 5 more: all 37 are in its "
    "clerical queue with the right pupil as the candidate; 35 have no date of birth in the survey and 32 moved house. "
    "That is the rule of issue 19's requirement 3 (`linkage.model.without_dob_requires: [postcode]`: without "
    "date-of-birth agreement an automatic match needs the current or a past postcode), which the census history "
    "satisfies for movers when it is given (the pipeline gives it). CPU seconds rose from 23.3 to 35.2 and candidate "
    "pairs from 574,142 to 686,812 (the passes for names in the other box, later given names and two name "
    "differences); peak memory 2.76 to 2.88 GB. Wall times were measured at a load average near 11 on 2 cores and "
    "say little; the CPU seconds are the better guide, and a rerun on an idle machine is still owed.")


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _ci(ci) -> str:
    return f"[{ci[0]:.4f}, {ci[1]:.4f}]"


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _targets(label: str, pooled: dict, before: dict | None) -> list[str]:
    o = pooled["overall"]
    gaps = [(g["group"], g["recall"] - o["recall"], g["true_links"], g["recall_ci"]) for g in pooled["by_origin"] if g["true_links"]]
    worst = min(gaps, key=lambda g: g[1])
    below = [g for g in gaps if g[1] < -ORIGIN_GAP]
    clerical_before = before["overall"]["clerical_share"] if before else None
    lines = [
        f"### {label}",
        "",
        "| target | figure | |",
        "|---|---|---|",
        f"| precision >= {PRECISION} | {o['precision']:.4f} {_ci(o['precision_ci'])} | {_mark(o['precision'] >= PRECISION)} |",
        f"| recall >= {RECALL} | {o['recall']:.4f} {_ci(o['recall_ci'])} | {_mark(o['recall'] >= RECALL)} |",
        f"| no name origin's recall more than 1 point below overall | worst: {worst[0]} {worst[1] * 100:+.1f} points "
        f"({worst[2]} children, recall {o['recall'] + worst[1]:.4f} {_ci(worst[3])}); "
        f"{len(below)} origin(s) below: {', '.join(f'{g[0]} {g[1] * 100:+.1f}' for g in below) or 'none'} | {_mark(not below)} |",
    ]
    clerical = o["clerical_share"]
    if clerical_before is not None:
        lines.append(f"| clerical share no higher than before | {clerical:.2%} (before, same populations: {clerical_before:.2%}; "
                     f"the issue's linker: {ISSUE_CLERICAL:.2%}) | {_mark(clerical <= clerical_before)} |")
    else:
        lines.append(f"| clerical share no higher than the issue's ({ISSUE_CLERICAL:.2%}) | {clerical:.2%} | "
                     f"{_mark(clerical <= ISSUE_CLERICAL)} |")
    lines += ["", f"Children not in the NPD matched (false links among them): {sum(g['matched'] for g in pooled['not_in_npd'])} of "
              f"{sum(g['records'] for g in pooled['not_in_npd'])}; a reviewer who got every queued pair right would reach recall "
              f"{o['recall_if_reviewed']:.4f}.", ""]
    return lines


def _per_seed(result: dict) -> list[str]:
    lines = ["| seed | NPD history | precision [95% CI] | recall [95% CI] | clerical share | link seconds |", "|---|---|---|---|---:|---:|"]
    for run in result["runs"]:
        o = run["report"]["overall"]
        lines.append(f"| {run['seed']} | {'yes' if run['history'] else 'no'} | {o['precision']:.4f} {_ci(o['precision_ci'])} | "
                     f"{o['recall']:.4f} {_ci(o['recall_ci'])} | {o['clerical_share']:.2%} | {run['link_seconds']} |")
    return lines + [""]


def main() -> None:
    after, before, heldout = _load("link_variation.json"), _load("link_variation_before.json"), _load("link_variation_heldout.json")
    febrl, scale = _load("febrl.json"), _load("scale_fairness.json")
    out = ["# Issue 19's targets: what was reached",
           "",
           "Made by `benchmarks/fairness_summary.py` from the JSON files beside this one (see its docstring for how each was made). "
           "Judged on point estimates; 95% Wilson intervals beside them. The full breakdowns (by name origin, kind of "
           "difference, circumstance, group, children not in the NPD) are in `link_variation.md`.",
           "",
           "## Extended independent benchmark, seeds 1-3 (before/after on the same populations)",
           ""]
    out += _targets("After, with the NPD history (`--history`)", after["pooled"][WITH], before["pooled"][WITHOUT] if before else None)
    if WITHOUT in after["pooled"]:
        out += _targets("After, without the NPD history", after["pooled"][WITHOUT], before["pooled"][WITHOUT] if before else None)
    if before:
        out += _targets("Before (the linker at the start of issue 19)", before["pooled"][WITHOUT], None)
    out += ["Per seed:", ""] + _per_seed(after)
    if heldout:
        out += ["## Held-out populations, seeds 4-6 (no child of theirs was looked at while the linker changed; only the per-seed totals of an intermediate version were seen)", ""]
        out += _targets("With the NPD history", heldout["pooled"][WITH], None)
        if WITHOUT in heldout["pooled"]:
            out += _targets("Without the NPD history", heldout["pooled"][WITHOUT], None)
        out += ["Per seed:", ""] + _per_seed(heldout)
    if febrl:
        out += ["## FEBRL (public benchmark; no sex, school, middle names or histories)", "",
                "| data | precision | recall | F1 |", "|---|---:|---:|---:|"]
        for name in ("febrl4", "febrl1", "febrl2", "febrl3"):
            m = febrl.get(name, {}).get("model")
            if m:
                out.append(f"| {name.upper()} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} |")
        out.append("")
    out += ["## National-scale speed", ""]
    previous = _load("scale.json")
    same_files_before = _load("scale_fairness_before.json")
    rows = [("this linker (issue 19)", scale),
            ("the linker issue 19 started from (683c20a), same files, same session", same_files_before),
            ("`scale.md` (the linker before issue 19, the world before its naming conventions, an idle machine)", previous)]
    found = [(label, r, data.get("machine", {})) for label, data in rows if data for r in data["runs"]
             if r["npd_size"] == 9_100_000 and r["survey_size"] == 10_000 and "sendlink" in r]
    if found:
        out += ["10,000 survey records against a 9.1 M NPD spine, `sendlink link` in its own process (`/usr/bin/time -v`). "
                "The machine is shared: wall time depends on what else ran (load average in the last column).", "",
                "| linker | wall s | CPU s | peak GB | floor (read) s | pairs | precision | recall | load average at the end (1, 5, 15 min) |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for label, r, machine in found:
            s, f = r["sendlink"], r.get("floor", {})
            load = ", ".join(f"{x:.1f}" for x in machine.get("load_average_at_end", [])) or ""
            out.append(f"| {label} | {s['wall_s']} | {s['cpu_s']} | {s['peak_gb']} | {f.get('wall_s', '')} | {s.get('candidate_pairs', '')} | "
                       f"{s['precision']:.4f} | {s['recall']:.4f} | {load} |")
    if not scale:
        out += ["", "Not measured on this linker: `benchmarks/results/scale_fairness.json` is missing."]
    else:
        out += ["", NATIONAL_NOTE]
    (RESULTS / "fairness.md").write_text("\n".join(out).rstrip() + "\n")


if __name__ == "__main__":
    main()

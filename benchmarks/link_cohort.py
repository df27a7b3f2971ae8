"""The default cohort: ~3,400 survey children linked to the ~252,000-pupil synthetic NPD.

Measures what issue 4 asks about on the project's own data: candidate pairs
(per blocking pass, with each pass's blocking recall), wall and CPU time,
peak memory, precision/recall/F1 of ``matched`` and ``matched +
clerical_review``, and whether EM fitted properly. The survey side is the
child identifiers every responding household gave (``contacts.parquet``,
spine columns); the NPD side the whole synthetic spine.

Run: ``.venv/bin/python benchmarks/link_cohort.py [--data data/synthetic] [--out FILE]``.
To compare with an older version of the linker, run the same script with
that version's ``src`` first on ``PYTHONPATH`` (only :func:`sendlink.link.link`
is used, which every version has); the JSON records which version ran.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import time
from pathlib import Path

import pandas as pd

SPINE = ["survey_id", "forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn"]


def evaluate(links: pd.DataFrame, truth: pd.DataFrame, statuses: tuple[str, ...] = ("matched",)) -> dict:
    """Precision, recall and F1 of links with a status in ``statuses`` (per survey record)."""
    linked = links[links["link_status"].isin(statuses)][["survey_id", "upn"]].astype(str)
    true = truth.dropna(subset=["upn"])
    true = true[true["upn"].astype(str) != ""]
    pairs = set(zip(true["survey_id"].astype(str), true["upn"].astype(str), strict=True))
    tp = sum((s, u) in pairs for s, u in linked.to_numpy())
    precision = tp / len(linked) if len(linked) else float("nan")
    recall = tp / len(pairs) if pairs else float("nan")
    return {"links": len(linked), "true_positives": tp, "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if tp else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/synthetic"))
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    parser.add_argument("--label", default="current", help="name of this run in the JSON")
    parser.add_argument("--version", default=None, help="version of the linker that ran (default: git describe)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    import sendlink.link as sl
    from sendlink.evaluate.blocking import blocking_recall, pass_recall
    from sendlink.params import load_params

    params = load_params()

    survey = pd.read_parquet(args.data / "survey" / "contacts.parquet", columns=SPINE)
    npd = pd.read_parquet(args.data / "npd" / "spine.parquet")
    truth = pd.read_parquet(args.data / "truth" / "links.parquet")
    wall, cpu = time.perf_counter(), time.process_time()
    result = sl.link(survey, npd, params.linkage, seed=params.seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    model = result.model
    diagnostics = model.diagnostics if model is not None else {}
    report = {
        "label": args.label,
        "version": args.version or subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False).stdout.strip(),
        "survey_records": len(survey), "npd_records": len(npd),
        "candidate_pairs": int(len(result.pairs)),
        "link_wall_seconds": round(wall, 2), "link_cpu_seconds": round(cpu, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "timings": {k: round(float(v), 2) for k, v in result.diagnostics.get("timings", {}).items()},
        "matched": evaluate(result.links, truth),
        "matched_or_review": evaluate(result.links, truth, ("matched", "clerical_review")),
        "blocking_recall": blocking_recall(result.pairs, truth),
        "em": {"degenerate": bool(diagnostics.get("degenerate")), "reasons": list(diagnostics.get("reasons", [])),
               "fallback": bool(getattr(model, "fallback", False)), "converged": bool(getattr(model, "converged", False)),
               "expected_matches": float(getattr(model, "expected_matches", float("nan")))},
        "link_status": result.links["link_status"].value_counts().to_dict(),
    }
    blocking = result.blocking.copy()
    if "passes" in result.pairs:
        names = list(blocking["name"])
        per_pass = pass_recall(result.pairs, truth, names).rename(columns={"pass": "name"})
        blocking = blocking.merge(per_pass[["name", "true_pairs_found", "recall", "cumulative_recall", "only_this_pass"]], on="name", how="left")
    report["blocking"] = json.loads(blocking.drop(columns=[c for c in ("seconds",) if c in blocking]).to_json(orient="records"))
    text = json.dumps(report, indent=2, default=float)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(args.out.read_text()) if args.out.is_file() else {}
        existing[args.label] = report
        args.out.write_text(json.dumps(existing, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()

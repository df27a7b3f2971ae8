"""How the linker's time and memory grow with the NPD's size.

Builds an NPD of N synthetic pupils (names from small lists, so blocks are
realistically crowded: many share a forename, surname and birth date) and a
survey of S of them with light corruption, links them and prints wall time
per step, peak memory (ru_maxrss), candidate pairs per pass and
precision/recall. A stand-in until ``sendlink synth --npd-size`` exists
(issue 8); run e.g. ``benchmarks/link_scale.py --npd 1000000 --survey 10000``.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time

import numpy as np
import pandas as pd

FORENAMES = np.array("oliver amelia harry isla jack ava charlie mia george emily noah poppy leo ella oscar grace archie lily "
                     "jacob sophie thomas chloe james evie william ruby alfie daisy henry freya mohammed aisha ethan zara "
                     "logan layla lucas maya mason nia".split())


def population(n: int, rng: np.random.Generator) -> pd.DataFrame:
    # 20,000 letter-only surnames (digits would be removed by standardisation).
    syllables = np.array(["ab", "an", "ar", "ba", "be", "bo", "ca", "da", "de", "el", "fa", "ga", "ha", "in", "ka",
                          "la", "ma", "mo", "na", "ne", "ol", "pa", "ra", "ri", "sa", "se", "ta", "to", "va", "wi"])
    picks = np.random.default_rng(99).integers(0, len(syllables), size=(20000, 3))
    surnames = np.unique(["".join(syllables[row]) for row in picks])
    weights = 1.0 / np.arange(1, len(surnames) + 1)  # Zipf-like: a few very common surnames
    days = rng.integers(0, 365 * 14, size=n)  # 14 year groups, as in the NPD
    dob = (pd.Timestamp("2005-09-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    district = rng.integers(0, 2800, size=n)
    return pd.DataFrame({
        "upn": [f"N{i:09d}" for i in range(n)],
        "forename": rng.choice(FORENAMES, size=n),
        "surname": rng.choice(surnames, size=n, p=weights / weights.sum()),
        "date_of_birth": dob,
        "sex": rng.choice(["F", "M"], size=n),
        "postcode": [f"AB{d} {s}XY" for d, s in zip(district, rng.integers(1, 10, size=n), strict=True)],
        "school_urn": rng.integers(100000, 124000, size=n).astype(str),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--npd", type=int, default=225_000)
    parser.add_argument("--survey", type=int, default=3_500)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from sendlink.link import link

    rng = np.random.default_rng(1)
    npd = population(args.npd, rng)
    rows = rng.choice(args.npd, size=args.survey, replace=False)
    survey = npd.iloc[rows].drop(columns="upn").reset_index(drop=True)
    survey.insert(0, "survey_id", [f"S{i:06d}" for i in range(args.survey)])
    moved = rng.random(args.survey) < 0.15
    survey.loc[moved, "postcode"] = "ZZ1 1ZZ"
    typo = rng.random(args.survey) < 0.05
    survey.loc[typo, "surname"] = survey.loc[typo, "surname"] + "x"
    start = time.perf_counter()
    result = link(survey, npd)
    seconds = time.perf_counter() - start
    truth = npd["upn"].to_numpy()[rows]
    matched = result.links["link_status"] == "matched"
    correct = result.links["upn"].to_numpy() == truth
    print(result.blocking.to_string(index=False))
    print(json.dumps({
        "npd": args.npd, "survey": args.survey, "seconds": round(seconds, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "candidate_pairs": len(result.pairs),
        "precision": float((correct & matched).sum() / max(matched.sum(), 1)),
        "recall": float((correct & matched).sum() / args.survey),
        "timings": {k: round(v, 2) for k, v in result.diagnostics["timings"].items()},
    }, indent=2))


if __name__ == "__main__":
    main()

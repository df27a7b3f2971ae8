"""Linking without names: attack success and linkage accuracy of Bloom-filter encodings (issue 18, phase 1).

For each encoding setting (unhardened field-level filters, then hardened
ones), on the default cohort:

* **the attack** (:mod:`sendlink.pprl.attack`): the linkage unit attacks
  DfE's encoded NPD file (252,610 pupils) knowing a public forename and
  surname frequency list (here the NPD's own standardised name counts, a
  stand-in for ONS baby-name and surname lists: the attacker's list is as
  good as it gets). Share of pupils whose name the pattern-mining attack
  re-identifies (a unique candidate that is right), and share the
  frequency-alignment attack gets right.
* **linkage accuracy**: the consented survey spine
  (``data/linkage/incoming/survey_spine.parquet``) linked to the NPD spine
  on encodings only, scored against the truth. Field-level settings are
  linked as the linkage unit links them (:func:`sendlink.pprl.linker.link_encoded`:
  the linker's comparison levels tested on encodings, its u estimation, EM,
  scoring and one-to-one assignment, ``params.yaml``'s thresholds, bands
  and keyed blocking). The record-level (CLK) setting has one similarity
  per pair and is linked anonlink-style: Dice above a threshold, one-to-one
  greedily; P/R/F1 are reported for several thresholds, and the table shows
  the best, an upper bound (the threshold is chosen with the truth).
  Blocking is on keyed blocking keys (:mod:`sendlink.pprl.blocking`).
* the plain linker on the same spines, for comparison.

Run: ``.venv/bin/python benchmarks/pprl_attack.py`` (about 5 minutes on 2
cores); writes ``benchmarks/results/pprl_attack.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.link import assign
from sendlink.link.standardise import standardise_spine
from sendlink.params import load_params
from sendlink.pprl import bloom
from sendlink.pprl.attack import attack_table
from sendlink.pprl.blocking import candidate_pairs
from sendlink.pprl.encode import EncodedSpine, EncodingParams, encode_spine
from sendlink.pprl.keys import DEMO_SECRET, derive_key
from sendlink.pprl.similarity import dice_pairs

HERE = Path(__file__).resolve().parent
log = logging.getLogger("pprl_attack")

#: The settings compared (label -> encoding parameters). Field-level ones carry no CLK (not used).
VARIANTS = {
    "field-level, unhardened": EncodingParams(clk=False),
    "field-level, double hashing": EncodingParams(clk=False, hashing="double"),
    "salted with birth year": EncodingParams(clk=False, salt="birth_year"),
    "XOR-folded once": EncodingParams(clk=False, xor_folds=1),
    "balanced": EncodingParams(clk=False, balance=True),
    "CLK (record-level)": EncodingParams(clk=True),
    "CLK, salted with birth year": EncodingParams(clk=True, salt="birth_year"),
}

CLK_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def double_hash_collapse(secret: bytes, public: dict[str, pd.Series], top: int = 5) -> dict[str, dict[str, int]]:
    """Distinct bits of the most frequent bigrams under double hashing (k = 20): fewer when h2 shares factors with l."""
    out = {}
    for name, counts in public.items():
        material = derive_key(secret, f"bloom:{name}", 128)
        encoder = bloom.Encoder(1024, 20, (material[:64], material[64:]), "double")
        weights: dict[str, int] = {}
        for value, count in counts.items():
            for gram in set(bloom.qgrams(str(value))):
                weights[gram] = weights.get(gram, 0) + int(count)
        weights = pd.Series(weights)
        out[name] = {g: len(set(encoder.positions(g))) for g in weights.sort_values(ascending=False).index[:top]}
    return out


def evaluate(links: pd.DataFrame, truth: set[tuple[str, str]], statuses=("matched",)) -> dict:
    linked = links[links["link_status"].isin(statuses)]
    pairs = set(zip(linked["survey_id"].astype(str), linked["upn"].astype(str), strict=True))
    tp = len(pairs & truth)
    precision = tp / len(pairs) if pairs else float("nan")
    recall = tp / len(truth) if truth else float("nan")
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall) if tp else 0.0,
            "links": len(pairs)}


def link_field_level(s: EncodedSpine, n: EncodedSpine, seed: int) -> tuple[pd.DataFrame, dict]:
    """Fellegi-Sunter on encoded bands: the linkage unit's linker (:func:`sendlink.pprl.linker.link_encoded`), params.yaml's settings."""
    from sendlink.pprl.linker import link_encoded

    params = load_params(HERE.parent / "params.yaml")
    result = link_encoded(s, n, params.linkage, params.pprl, seed=seed)
    fitted = result.model
    return result.links, {"em_converged": fitted.converged, "degenerate": fitted.degenerate, "pi": fitted.pi}


def link_clk(s: EncodedSpine, n: EncodedSpine, pairs: pd.DataFrame, truth: set, thresholds=CLK_THRESHOLDS) -> list[dict]:
    """Dice of the CLKs above a threshold, one-to-one greedily (anonlink's greedy solver does the same)."""
    si, ni = pairs["survey_row"].to_numpy(), pairs["npd_row"].to_numpy()
    if s.params.balance:
        raise ValueError("balanced CLKs are not linked here")
    d = dice_pairs(s.clk, n.clk, si, ni)
    frame = pd.DataFrame({"survey_id": s.keys[si].astype(str), "upn": n.keys[ni].astype(str), "dice": d})
    out = []
    for t in thresholds:
        kept = assign.assign_greedy(frame[frame["dice"] >= t], weight="dice")
        out.append({"threshold": t, **evaluate(kept.assign(link_status="matched"), truth)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "pprl_attack.md")
    parser.add_argument("--seed", type=int, default=20220516, help="seed of the random pairs for u")
    parser.add_argument("--max-block-size", type=int, default=100)
    parser.add_argument("--skip-plain", action="store_true", help="do not run the plain linker for comparison")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    clock = time.perf_counter()
    survey = pd.read_parquet(args.data / "linkage" / "incoming" / "survey_spine.parquet")
    npd = pd.read_parquet(args.data / "synthetic" / "npd" / "spine.parquet")
    truth_frame = pd.read_parquet(args.data / "synthetic" / "truth" / "links.parquet")
    truth_frame = truth_frame[truth_frame["survey_id"].isin(survey["survey_id"]) & truth_frame["upn"].notna()]
    truth = set(zip(truth_frame["survey_id"].astype(str), truth_frame["upn"].astype(str), strict=True))
    std_npd = standardise_spine(npd, "upn")
    public = {name: std_npd[name].value_counts() for name in ("forename", "surname")}
    secret = DEMO_SECRET

    plain = None
    if not args.skip_plain:
        import sendlink.link as sl

        t = time.perf_counter()
        params = load_params(HERE.parent / "params.yaml")
        result = sl.link(survey, npd, params.linkage, seed=params.seed)
        plain = {**evaluate(result.links, truth), "seconds": time.perf_counter() - t}
        print(f"plain linker: {plain}", flush=True)

    # The attacks: on DfE's encoded NPD (forename and surname), per setting.
    attack = attack_table(npd, "upn", secret, VARIANTS, public, max_positions=20, min_positions=10,
                          evaluate=20_000, seed=args.seed)
    attacks = {name: attack[attack["field"] == name].drop(columns="field") for name in public}
    print(attack.to_string(), flush=True)

    accuracy = []
    clk_curves = {}
    for label, params in VARIANTS.items():
        t = time.perf_counter()
        s = encode_spine(survey, "survey_id", secret, params)
        n = encode_spine(npd, "upn", secret, params)
        encode_seconds = time.perf_counter() - t
        pairs = candidate_pairs(s, n, max_block_size=args.max_block_size)
        found = set(zip(s.keys[pairs["survey_row"]].astype(str), n.keys[pairs["npd_row"]].astype(str), strict=True))
        blocking_recall = len(found & truth) / len(truth)
        row = {"variant": label, "candidate_pairs": len(pairs), "blocking_recall": blocking_recall,
               "encode_seconds": encode_seconds}
        if label.startswith("CLK"):
            # Hamming LSH on the CLKs alone, no keyed keys: t tables of b sampled bits. b = 24 makes a chance
            # collision of two unrelated CLKs (about 40% of bits set: a bit agrees with probability ~0.52)
            # about 0.52**24 = 1.5e-7 per table; t = 30 gives a pair differing in 10% of its bits
            # 1 - (1 - 0.9**24)**30 = 0.92 chance to meet. Chosen from that arithmetic, not tuned.
            lsh = candidate_pairs(s, n, passes=[], max_block_size=args.max_block_size,
                                  lsh={"field": "clk", "tables": 30, "bits": 24}, rng=np.random.default_rng(args.seed))
            met = set(zip(s.keys[lsh["survey_row"]].astype(str), n.keys[lsh["npd_row"]].astype(str), strict=True))
            row.update(lsh_pairs=len(lsh), lsh_recall=len(met & truth) / len(truth))
            curve = link_clk(s, n, pairs, truth)
            clk_curves[label] = curve
            best = max(curve, key=lambda r: r["f1"])
            row.update({k: best[k] for k in ("precision", "recall", "f1")}, method=f"Dice >= {best['threshold']} (best of {len(curve)}; oracle)")
        else:
            links, info = link_field_level(s, n, args.seed)
            row.update(evaluate(links, truth), method="FS on bands (linker EM)", **info)
            row.update({f"{k}_with_review": v for k, v in evaluate(links, truth, ("matched", "clerical_review")).items()
                        if k in ("precision", "recall", "f1")})
        row["seconds"] = time.perf_counter() - t
        accuracy.append(row)
        print(row, flush=True)

    acc = pd.DataFrame(accuracy)
    table = acc[["variant", "method", "precision", "recall", "f1"]].merge(
        attacks["forename"][["variant", "target", "patterns_found", "patterns_correct", "reidentified", "best_guess",
                             "frequency_reidentified", "frequency_salt_aware"]].rename(
            columns=lambda c: c if c in ("variant", "target") else f"forename_{c}"),
        on="variant").merge(
        attacks["surname"][["variant", "reidentified", "frequency_reidentified", "frequency_salt_aware"]].rename(
            columns=lambda c: c if c == "variant" else f"surname_{c}"), on="variant")
    collapsed = double_hash_collapse(secret, public)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_markdown(args.out, table, acc, attacks, clk_curves, plain, len(survey), len(npd), len(truth),
                   time.perf_counter() - clock, peak, collapsed)
    payload = {"table": table.to_dict(orient="records"), "accuracy": acc.to_dict(orient="records"),
               "attacks": {k: v.to_dict(orient="records") for k, v in attacks.items()}, "clk_curves": clk_curves,
               "plain": plain, "double_hash_distinct_bits": collapsed, "seconds": time.perf_counter() - clock,
               "peak_memory_mb": peak}
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=1, default=float))
    print(f"wrote {args.out}")


def _aware(value: float) -> str:
    return "" if value != value else f" ({_pct(value)})"


def _markdown(frame: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)
    rows = ["| " + " | ".join(frame.columns) + " |", "| " + " | ".join("---" for _ in frame.columns) + " |"]
    rows += ["| " + " | ".join(cell(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join(rows)


def _pct(value: float) -> str:
    return "" if value != value else f"{100 * value:.1f}%"


def write_markdown(path: Path, table: pd.DataFrame, acc: pd.DataFrame, attacks: dict, clk_curves: dict, plain: dict | None,
                   n_survey: int, n_npd: int, n_true: int, seconds: float, peak: float,
                   collapsed: dict | None = None) -> None:
    lines = [
        "# Linking without names: attacks and accuracy of Bloom-filter encodings",
        "",
        f"Written by `benchmarks/pprl_attack.py` ({seconds / 60:.1f} min, peak memory {peak:,.0f} MB, 2 cores). "
        f"Survey spine: {n_survey:,} consented children ({n_true:,} with an NPD record); NPD spine: {n_npd:,} pupils. "
        "Encodings: q = 2, k = 20 bits per bigram, l = 1,024 bits, keyed BLAKE2b positions unless noted "
        "(`sendlink.pprl`); the demo secret.",
        "",
        "**Attack**: the linkage unit attacks DfE's encoded NPD file knowing the NPD's own name frequencies "
        "(a stand-in for ONS name lists; the best list an attacker could have) and the encoding parameters "
        "(q, k, l: Kerckhoffs). *Pattern mining* after Christen, Vidanage, Ranbaduge & Schnell (PAKDD 2018): "
        "share of pupils whose name is re-identified (one candidate, and it is right); *frequency alignment*: "
        "share whose name the k-th most frequent filter = k-th most frequent name guess gets right; for salted "
        "encodings, in brackets, the same attack by an attacker who knows the salt is the birth year and aligns "
        "with name-by-year counts (ONS publishes baby names by year; here the NPD's own). Pattern mining is "
        "scored on a random sample of 20,000 pupils (about +-0.6 points at 20%), frequency alignment on all. "
        "**Accuracy**: survey spine linked to the NPD spine on encodings only, against the truth "
        "(links with status `matched`).",
        "",
        "| encoding | linkage | precision | recall | F1 | forename: q-gram patterns found (correct) | "
        "forename re-identified (pattern mining) | forename, frequency alignment (salt-aware) | "
        "surname re-identified (pattern mining) | surname, frequency alignment (salt-aware) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    if plain is not None:
        lines.append(f"| plain identifiers (the linker) | FS, EM | {plain['precision']:.4f} | {plain['recall']:.4f} | "
                     f"{plain['f1']:.4f} | | | | | |")
    for r in table.to_dict(orient="records"):
        correct = "" if r["forename_patterns_correct"] != r["forename_patterns_correct"] else f" ({_pct(r['forename_patterns_correct'])})"
        lines.append(
            f"| {r['variant']} | {r['method']} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | "
            f"{r['forename_patterns_found']}{correct} | {_pct(r['forename_reidentified'])} | "
            f"{_pct(r['forename_frequency_reidentified'])}{_aware(r['forename_frequency_salt_aware'])} | "
            f"{_pct(r['surname_reidentified'])} | "
            f"{_pct(r['surname_frequency_reidentified'])}{_aware(r['surname_frequency_salt_aware'])} |")
    if collapsed:
        shown = "; ".join(f"{name}: " + ", ".join(f"'{g}' {n}" for g, n in bits.items()) for name, bits in collapsed.items())
        lines += ["", "Double hashing sets ``(h1 + i h2) mod l``: when ``h2`` shares factors with ``l`` = 1,024 a q-gram "
                  "gets fewer than k distinct bits. Distinct bits (of k = 20) of the most frequent bigrams with this "
                  f"secret: {shown}. The attack expects at least k/2 bits per q-gram and stops on a partition whose "
                  "top q-grams fail (as the published attack stops); a zero there is this key's accident, not a defence."]
    lines += ["", "## Blocking and time", "",
              "| encoding | candidate pairs | blocking recall | encode both files (s) | total (s) |", "| --- | --- | --- | --- | --- |"]
    for r in acc.to_dict(orient="records"):
        lines.append(f"| {r['variant']} | {r['candidate_pairs']:,} | {r['blocking_recall']:.4f} | {r['encode_seconds']:.1f} | {r['seconds']:.1f} |")
    for r in acc.to_dict(orient="records"):
        if r.get("lsh_pairs") == r.get("lsh_pairs") and r.get("lsh_pairs") is not None:
            lines.append(f"| {r['variant']}: Hamming LSH on the CLK alone (30 tables x 24 bits) | {int(r['lsh_pairs']):,} | "
                         f"{r['lsh_recall']:.4f} | | |")
    for label, curve in clk_curves.items():
        lines += ["", f"## {label}: Dice threshold", "", "| threshold | precision | recall | F1 |", "| --- | --- | --- | --- |"]
        lines += [f"| {c['threshold']} | {c['precision']:.4f} | {c['recall']:.4f} | {c['f1']:.4f} |" for c in curve]
    for name, frame in attacks.items():
        lines += ["", f"## Attack details: {name}", "", _markdown(frame)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

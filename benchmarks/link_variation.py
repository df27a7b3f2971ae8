"""The linker on identifier variation the project's own generator never makes.

``sendlink.synth`` plants the differences docs/DOMAIN.md describes (nicknames,
moves, new surnames, day-month swaps, twins). A linker tuned only on those
could look better than it is. This benchmark builds a population with an
*independent* generator (Faker, ten locales, so names from many languages
with and without diacritics) and damages the survey side with kinds of
error found in real records but not in our cohort: keyboard and OCR typos,
phonetic respellings, dropped or added letters, initials for forenames,
hyphenated surnames gained or lost, forename and surname swapped, year or
day mistyped, default dates (1 January), postcodes without spaces or in
lower case, sex miscoded, whole fields missing. Nothing here was used to set
a threshold or a level: it is a check, read after the design was fixed.

Run: ``.venv/bin/python benchmarks/link_variation.py [--npd 50000]
[--survey 5000] [--seed 7]``. Prints precision, recall and F1 overall and,
per kind of damage, the recall of the survey records that carry it; writes
``benchmarks/results/link_variation.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
LOCALES = ("en_GB", "en_IE", "pl_PL", "tr_TR", "es_ES", "fr_FR", "de_DE", "it_IT", "pt_PT", "nl_NL")
LOCALE_WEIGHTS = (0.55, 0.05, 0.06, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.04)

# Keyboard neighbours (QWERTY) for realistic substitutions.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
NEIGHBOURS = {
    ch: "".join(
        _ROWS[r2][c2]
        for r2 in range(3)
        for c2 in range(len(_ROWS[r2]))
        if abs(r2 - r) <= 1 and abs(c2 - c) <= 1 and (r2, c2) != (r, c)
    )
    for r, row in enumerate(_ROWS)
    for c, ch in enumerate(row)
}
OCR = (("m", "rn"), ("rn", "m"), ("l", "i"), ("i", "l"), ("o", "c"), ("e", "c"), ("h", "b"), ("cl", "d"), ("u", "v"))
PHONETIC = (("ph", "f"), ("f", "ph"), ("ck", "k"), ("k", "c"), ("c", "k"), ("y", "i"), ("i", "y"), ("ie", "y"),
            ("ou", "ow"), ("ee", "ea"), ("s", "z"), ("z", "s"), ("th", "t"), ("w", "v"), ("aa", "a"), ("nn", "n"))
# Short forms not taken from the project's nickname table (the point is to
# see what happens to the ones it may not know).
SHORT = {"Alexander": "Sasha", "Elizabeth": "Bess", "Katherine": "Kit", "Margaret": "Meg", "Christopher": "Kit",
         "Theodore": "Teddy", "Victoria": "Tori", "Jacqueline": "Jackie", "Frederick": "Freddie", "Dorothy": "Dot"}

KINDS = ("clean", "name_typo", "ocr", "phonetic", "initial", "short_form", "swap_names", "hyphen", "new_surname",
         "dob_year", "dob_day", "dob_digit", "dob_default", "dob_missing", "postcode_format", "moved",
         "postcode_missing", "sex_wrong", "sex_missing", "all_caps_spaces")


def _people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A population with families: siblings and twins share surname, postcode and (twins) birth date."""
    from faker import Faker

    fakers = {loc: Faker(loc) for loc in LOCALES}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(int(rng.integers(2**31)) + i)
    rows = []
    postcode_faker = Faker("en_GB")
    postcode_faker.seed_instance(int(rng.integers(2**31)))
    while len(rows) < n:
        loc = LOCALES[rng.choice(len(LOCALES), p=LOCALE_WEIGHTS)]
        f = fakers[loc]
        surname = f.last_name()
        postcode = postcode_faker.postcode()
        school = int(rng.integers(100000, 150000))
        children = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
        twins = rng.random() < 0.03
        base = pd.Timestamp("2007-09-01") + pd.Timedelta(days=int(rng.integers(0, 3 * 365)))
        for k in range(children if not twins else 2):
            sex = "F" if rng.random() < 0.5 else "M"
            fore = f.first_name_female() if sex == "F" else f.first_name_male()
            middle = (f.first_name_female() if sex == "F" else f.first_name_male()) if rng.random() < 0.5 else ""
            dob = base if twins else base + pd.Timedelta(days=int(k * rng.integers(300, 900)))
            rows.append((fore, middle, surname, dob.strftime("%Y-%m-%d"), sex, postcode, school))
    frame = pd.DataFrame(rows[:n], columns=["forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn"])
    frame.insert(0, "upn", [f"P{i:08d}" for i in range(n)])
    return frame


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 3:
        return word
    i = int(rng.integers(1, len(word) - 1))
    op = rng.integers(4)
    ch = word[i].lower()
    if op == 0 and ch in NEIGHBOURS:  # substitution by a neighbouring key
        return word[:i] + rng.choice(list(NEIGHBOURS[ch])) + word[i + 1:]
    if op == 1:  # deletion
        return word[:i] + word[i + 1:]
    if op == 2:  # insertion (doubled letter)
        return word[:i] + word[i] + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1:]  # transposition


def _replace_one(word: str, table, rng: np.random.Generator) -> str:
    options = [(a, b) for a, b in table if a in word.lower()]
    if not options:
        return _typo(word, rng)
    a, b = options[int(rng.integers(len(options)))]
    low = word.lower()
    at = low.find(a)
    out = low[:at] + b + low[at + len(a):]
    return out.capitalize() if word[:1].isupper() else out


def _damage(npd: pd.DataFrame, survey_size: int, unmatched: float, rng: np.random.Generator):
    """Draw survey records from the NPD, damage each with 0-2 kinds; add people not in the NPD."""
    from faker import Faker

    matched = int(round(survey_size * (1 - unmatched)))
    idx = rng.choice(len(npd), size=matched, replace=False)
    survey = npd.iloc[idx].reset_index(drop=True).copy()
    kinds: list[list[str]] = []
    movers = Faker("en_GB")
    movers.seed_instance(int(rng.integers(2**31)))
    other_surnames = npd["surname"].to_numpy()
    records = survey.to_dict("records")
    for row in records:
        chosen = list(rng.choice(KINDS[1:], size=int(rng.choice([0, 1, 2], p=[0.35, 0.45, 0.2])), replace=False))
        if sum(k.startswith("dob_") for k in chosen) > 1:  # one error per date
            chosen = chosen[:1]
        kinds.append(chosen or ["clean"])
        for kind in chosen:
            if kind == "name_typo":
                field = "forename" if rng.random() < 0.5 else "surname"
                row[field] = _typo(row[field], rng)
            elif kind == "ocr":
                field = "forename" if rng.random() < 0.5 else "surname"
                row[field] = _replace_one(row[field], OCR, rng)
            elif kind == "phonetic":
                field = "forename" if rng.random() < 0.5 else "surname"
                row[field] = _replace_one(row[field], PHONETIC, rng)
            elif kind == "initial":
                row["forename"] = row["forename"][:1]
            elif kind == "short_form":
                row["forename"] = SHORT.get(row["forename"], row["forename"][:3] if len(row["forename"]) > 4 else row["forename"])
            elif kind == "swap_names":
                row["forename"], row["surname"] = row["surname"], row["forename"]
            elif kind == "hyphen":
                if "-" in row["surname"] or " " in row["surname"]:
                    row["surname"] = row["surname"].replace("-", " ").split(" ")[-1]
                else:
                    row["surname"] = f"{other_surnames[int(rng.integers(len(other_surnames)))]}-{row['surname']}"
            elif kind == "new_surname":
                row["surname"] = other_surnames[int(rng.integers(len(other_surnames)))]
            elif kind.startswith("dob_"):
                d = pd.Timestamp(row["date_of_birth"])
                if kind == "dob_year":
                    d = d + pd.DateOffset(years=int(rng.choice([-1, 1])))
                elif kind == "dob_day":
                    d = d + pd.Timedelta(days=int(rng.choice([-2, -1, 1, 2])))
                elif kind == "dob_digit":
                    text = d.strftime("%Y-%m-%d")
                    pos = int(rng.choice([3, 6, 9]))
                    text = text[:pos] + str(int(rng.integers(10))) + text[pos + 1:]
                    row["date_of_birth"] = text  # may be impossible: the linker must cope
                    continue
                elif kind == "dob_default":
                    d = d.replace(month=1, day=1)
                elif kind == "dob_missing":
                    row["date_of_birth"] = ""
                    continue
                row["date_of_birth"] = d.strftime("%Y-%m-%d")
            elif kind == "postcode_format":
                row["postcode"] = row["postcode"].replace(" ", "").lower()
            elif kind == "moved":
                row["postcode"] = movers.postcode()
                row["school_urn"] = int(rng.integers(100000, 150000))
            elif kind == "postcode_missing":
                row["postcode"] = ""
            elif kind == "sex_wrong":
                row["sex"] = "M" if row["sex"] == "F" else "F"
            elif kind == "sex_missing":
                row["sex"] = ""
            elif kind == "all_caps_spaces":
                row["forename"] = f"  {row['forename'].upper()} "
                row["surname"] = f"{row['surname'].upper()}  "
    survey = pd.DataFrame(records, columns=survey.columns)
    truth = pd.DataFrame({"survey_id": [f"S{i:06d}" for i in range(len(survey))], "upn": survey["upn"].to_numpy(),
                          "kinds": [";".join(k) for k in kinds]})
    survey = survey.drop(columns="upn")
    survey.insert(0, "survey_id", truth["survey_id"])
    # People not in the NPD at all (moved from abroad, independent schools).
    strangers = _people(survey_size - matched, rng).drop(columns="upn")
    strangers.insert(0, "survey_id", [f"S{i:06d}" for i in range(len(survey), survey_size)])
    return pd.concat([survey, strangers], ignore_index=True), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--npd", type=int, default=50_000)
    parser.add_argument("--survey", type=int, default=5_000)
    parser.add_argument("--unmatched", type=float, default=0.05, help="share of survey children not in the NPD")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; do not write benchmarks/results/")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from link_febrl import evaluate

    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    npd = _people(args.npd, rng)
    survey, truth = _damage(npd, args.survey, args.unmatched, rng)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        s_path, n_path, out = Path(tmp, "survey.csv"), Path(tmp, "npd.csv"), Path(tmp, "links.csv")
        survey.to_csv(s_path, index=False)
        npd.to_csv(n_path, index=False)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sendlink", "-q", "link", str(s_path), str(n_path), "--out", str(out)], check=True)
        seconds = time.perf_counter() - started
        links = pd.read_csv(out, dtype=str, keep_default_na=False)
    overall = evaluate(links, truth)
    links = links.set_index("survey_id")
    strangers = links.loc[~links.index.isin(truth["survey_id"])]
    per_kind = {}
    exploded = truth.assign(kind=truth["kinds"].str.split(";")).explode("kind")
    status = links.loc[exploded["survey_id"], "link_status"].to_numpy()
    got = links.loc[exploded["survey_id"], "upn"].to_numpy()
    exploded = exploded.assign(hit=(status == "matched") & (got == exploded["upn"].to_numpy()),
                               review=status == "clerical_review",
                               wrong=(status == "matched") & (got != exploded["upn"].to_numpy()))
    for kind, group in exploded.groupby("kind"):
        per_kind[kind] = {"records": len(group), "recall": round(group["hit"].mean(), 4),
                          "clerical_review": round(group["review"].mean(), 4), "false_match": int(group["wrong"].sum())}
    result = {
        "npd": args.npd, "survey": args.survey, "seed": args.seed, "generate_seconds": round(generated, 1),
        "link_seconds": round(seconds, 1),
        "overall": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in overall.items()},
        "clerical_review": int((links["link_status"] == "clerical_review").sum()),
        "strangers": {"records": len(strangers), "matched": int((strangers["link_status"] == "matched").sum()),
                      "clerical_review": int((strangers["link_status"] == "clerical_review").sum())},
        "per_kind": per_kind,
    }
    print(json.dumps(result, indent=1))
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        from sendlink.config import Paths
        from sendlink.schema import catalogue

        catalogue.VARIATION_RESULTS.at(Paths.discover()).write_text(json.dumps(result, indent=1) + "\n")
        lines = ["| damage | records | recall (matched) | to clerical review | false matches |", "|---|---:|---:|---:|---:|"]
        for kind in KINDS:
            if kind in per_kind:
                k = per_kind[kind]
                lines.append(f"| {kind} | {k['records']} | {k['recall']:.3f} | {k['clerical_review']:.3f} | {k['false_match']} |")
        o = result["overall"]
        head = (f"Independent generator, {args.npd:,} NPD x {args.survey:,} survey (seed {args.seed}): "
                f"precision {o['precision']:.4f}, recall {o['recall']:.4f}, F1 {o['f1']:.4f}; "
                f"link {seconds:.1f} s; {result['strangers']['matched']} of {len(strangers)} people not in the NPD matched.\n\n")
        (RESULTS / "link_variation.md").write_text(head + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

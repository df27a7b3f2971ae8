"""The linker on identifier variation the project's own generator never makes.

``sendlink.synth`` plants the differences docs/DOMAIN.md describes. A linker
tuned only on those could look better than it is. This benchmark links a
population from an *independent* generator (:mod:`variation_world`, its own
name lists and rules, nothing shared with ``sendlink.synth``): pupils in 46
local authorities of very different ethnic mix, with the naming conventions
of England's communities (Muhammad as a first given name, Begum/Khatun/Bibi
and Kaur/Singh as surnames or beside one, Somali patronymic names, Chinese
family-name-first order and English given names, transliterations,
diacritics, Yoruba short forms, Mc/Mac/O'), address and school histories
(the survey reports the address and school of the survey year, the NPD spine
the latest census), children not in the NPD who share a strong partial match
with a pupil (a sibling, a namesake at the same school), and the generic
damage of the first version (keyboard and OCR typos, phonetic respellings,
initials, swapped names, date slips, default dates, missing fields). Nothing
here was used to set a threshold or a level: it is a check, read after the
design was fixed.

Each seed builds a new population and survey and links it twice: with the
NPD's census history (``sendlink link ... --history``) and without. Reported
per run and pooled over seeds: precision, recall and F1 with Wilson 95%
intervals, the clerical-review share, and recall by name origin, by kind of
difference, by circumstance (moved, moved to another LA, changed school,
postcode or date of birth missing), by number of differences, precision and
recall by group (ethnicity, EAL, FSM, SEN provision, mover, school changer),
and what happened to the children not in the NPD.

Run: ``.venv/bin/python benchmarks/link_variation.py [--npd 200000]
[--las 46] [--survey 5000] [--seeds 1 2 3]``; writes
``benchmarks/results/link_variation.json`` and ``.md``. The ``.md`` opens
with a before/after section when ``benchmarks/results/link_variation_before.json``
holds an earlier linker's run on the same sizes and seeds; it was made with
the code and ``params.yaml`` of commit 683c20a (before issue 19)::

    git archive 683c20a src | tar -x -C /tmp/before && git show 683c20a:params.yaml > /tmp/before/params.yaml
    PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/link_variation.py --no-write \
        --params /tmp/before/params.yaml --out benchmarks/results/link_variation_before.json
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



#: Generic damage of the first version (besides the conventions and the histories).
GENERIC = tuple(k for k in KINDS if k not in ("clean", "moved"))
#: Formatting only: not a difference a linker has to understand.
FORMATTING = ("postcode_format", "all_caps_spaces")
CIRCUMSTANCES = ("moved", "moved_la", "school_changed", "postcode_missing", "dob_missing")
GROUPS = ("ethnicity", "eal", "fsm", "sen", "mover", "school_changer")


def _apply_generic(row: dict, kinds: list[str], other_surnames: np.ndarray, area_of, rng: np.random.Generator) -> None:
    """The first version's kinds of damage, applied to one survey record in place."""
    for kind in kinds:
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
            first = row["forename"].split(" ")[0]
            row["forename"] = SHORT.get(first, first[:3] if len(first) > 4 else first)
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
            if not row["date_of_birth"]:
                continue
            d = pd.Timestamp(row["date_of_birth"])
            if kind == "dob_year":
                d = d + pd.DateOffset(years=int(rng.choice([-1, 1])))
            elif kind == "dob_day":
                d = d + pd.Timedelta(days=int(rng.choice([-2, -1, 1, 2])))
            elif kind == "dob_digit":
                text = d.strftime("%Y-%m-%d")
                pos = int(rng.choice([3, 6, 9]))
                row["date_of_birth"] = text[:pos] + str(int(rng.integers(10))) + text[pos + 1:]
                continue
            elif kind == "dob_default":
                d = d.replace(month=1, day=1)
            elif kind == "dob_missing":
                row["date_of_birth"] = ""
                continue
            row["date_of_birth"] = d.strftime("%Y-%m-%d")
        elif kind == "postcode_format":
            row["postcode"] = row["postcode"].replace(" ", "").lower()
        elif kind == "postcode_missing":
            row["postcode"] = ""
        elif kind == "sex_wrong":
            row["sex"] = "M" if row["sex"] == "F" else "F"
        elif kind == "sex_missing":
            row["sex"] = ""
        elif kind == "all_caps_spaces":
            row["forename"] = f"  {row['forename'].upper()} "
            row["surname"] = f"{row['surname'].upper()}  "


def _generic_kinds(rng: np.random.Generator, mix: tuple[float, float, float]) -> list[str]:
    chosen = list(rng.choice(GENERIC, size=int(rng.choice([0, 1, 2], p=list(mix))), replace=False))
    if sum(k.startswith("dob_") for k in chosen) > 1:  # one error per date
        chosen = chosen[:1]
    return [str(k) for k in chosen]


def draw_survey(world, size: int, unmatched: float, rng: np.random.Generator,
                generic_mix: tuple[float, float, float] = (0.55, 0.35, 0.10)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Survey records for children drawn from the pupils, plus children not in the NPD.

    A child's record starts from the names the family gives (the
    conventions of :mod:`variation_world`), the survey year's address and
    school (10% of parents leave the school out, half leave middle names
    out), then gets a parent's new surname (3%) and 0-2 kinds of generic
    damage. Children not in the NPD are 40% new children, 30% a pupil's
    sibling (same surname and address, often the same school) and 30% a
    pupil's namesake at the same school (same forename and surname).
    """
    from variation_world import CONVENTION_RATES

    pupils = world.pupils
    matched = int(round(size * (1 - unmatched)))
    picked = rng.choice(len(pupils), size=matched, replace=False)
    other_surnames = world.npd["surname"].to_numpy()
    records, truth = [], []

    def base(p: dict, sid: str) -> dict:
        return {"survey_id": sid, "forename": p["survey_forename"], "middle_names": p["survey_middle"] if rng.random() < 0.5 else "",
                "surname": p["survey_surname"], "date_of_birth": p["dob"], "sex": p["sex"], "postcode": p["survey_postcode"],
                "school_urn": "" if rng.random() < 0.10 else str(p["survey_school"])}

    rows = pupils.iloc[picked].to_dict("records")
    for i, p in enumerate(rows):
        sid = f"S{i:06d}"
        row = base(p, sid)
        kinds = list(p["conventions"])
        if rng.random() < CONVENTION_RATES["new_surname"]:
            row["surname"] = other_surnames[int(rng.integers(len(other_surnames)))]
            kinds.append("parent_new_surname")
        generic = _generic_kinds(rng, generic_mix)
        _apply_generic(row, generic, other_surnames, None, rng)
        kinds += generic
        circumstances = {
            "moved": p["survey_postcode"] != p["npd_postcode"],
            "moved_la": p["survey_la"] != p["npd_la"],
            "school_changed": str(p["survey_school"]) != str(p["npd_school"]),
            "postcode_missing": row["postcode"] == "",
            "dob_missing": row["date_of_birth"] == "",
        }
        real = [k for k in kinds if k not in FORMATTING]
        n_diff = len(real) + int(circumstances["moved"] and not circumstances["postcode_missing"]) + int(circumstances["school_changed"] and row["school_urn"] != "")
        records.append(row)
        truth.append({"survey_id": sid, "upn": p["upn"], "origin": p["origin"], "kinds": ";".join(kinds) or "clean",
                      "stranger": "", "n_differences": n_diff, "ethnicity": p["ethnicity"], "eal": p["eal"], "fsm": p["fsm"],
                      "sen": p["sen"], "mover": circumstances["moved"], "school_changer": circumstances["school_changed"],
                      **{f"c_{k}": v for k, v in circumstances.items()}})
    # Children not in the NPD.
    n_strangers = size - matched
    kinds_of = rng.choice(["new", "sibling", "namesake"], size=n_strangers, p=[0.4, 0.3, 0.3])
    templates = pupils.iloc[rng.choice(len(pupils), size=n_strangers, replace=False)].to_dict("records")
    origins = list(world.pools)
    for j, (kind, p) in enumerate(zip(kinds_of, templates, strict=True)):
        sid = f"S{matched + j:06d}"
        row = base(p, sid)
        sex = "F" if rng.random() < 0.49 else "M"
        dob = (pd.Timestamp("2008-09-01") + pd.Timedelta(days=int(rng.integers(0, 5 * 365)))).strftime("%Y-%m-%d")
        if kind == "new":
            origin = p["origin"]
            row.update(forename=world.pools[(origin, sex)].draw(rng), middle_names="", surname=world.pools[(origin, "S")].draw(rng),
                       date_of_birth=dob, sex=sex, school_urn="" if rng.random() < 0.5 else str(int(rng.choice(world.schools_by_la[p["survey_la"]]))))
            row["postcode"] = f"{world.la_area[p['survey_la']]}{int(rng.integers(1, 30))} {int(rng.integers(0, 10))}{''.join(rng.choice(list('ABDEFGHJLNPQRSTUWXYZ'), 2))}"
        elif kind == "sibling":
            given = world.pools[(p["origin"], sex)].draw(rng)
            row.update(forename=given, middle_names="", date_of_birth=dob, sex=sex,
                       school_urn=str(p["survey_school"]) if rng.random() < 0.5 else "")
        else:  # a namesake at the same school, born on another day
            row.update(date_of_birth=dob, middle_names="",
                       postcode=f"{world.la_area[p['survey_la']]}{int(rng.integers(1, 30))} {int(rng.integers(0, 10))}{''.join(rng.choice(list('ABDEFGHJLNPQRSTUWXYZ'), 2))}",
                       school_urn=str(p["survey_school"]))
        generic = _generic_kinds(rng, generic_mix)
        _apply_generic(row, generic, other_surnames, None, rng)
        records.append(row)
        truth.append({"survey_id": sid, "upn": "", "origin": p["origin"], "kinds": ";".join(generic) or "clean", "stranger": kind,
                      "n_differences": 0, "ethnicity": p["ethnicity"], "eal": p["eal"], "fsm": p["fsm"], "sen": p["sen"],
                      "mover": False, "school_changer": False, **{f"c_{k}": False for k in CIRCUMSTANCES}})
    del origins
    return pd.DataFrame(records), pd.DataFrame(truth)


# --------------------------------------------------------------------------- evaluation


def wilson(successes: int, total: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion (statsmodels)."""
    from statsmodels.stats.proportion import proportion_confint

    if total == 0:
        return (float("nan"), float("nan"))
    low, high = proportion_confint(successes, total, alpha=0.05, method="wilson")
    return (round(float(low), 4), round(float(high), 4))


def outcomes(links: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per survey record: the truth's columns and what the linker did with it."""
    got = links.set_index("survey_id").reindex(truth["survey_id"])
    out = truth.copy()
    status = got["link_status"].fillna("unmatched").to_numpy()
    upn = got["upn"].fillna("").astype(str).to_numpy()
    in_npd = out["upn"].astype(str).to_numpy() != ""
    out["in_npd"] = in_npd
    out["matched"] = status == "matched"
    out["hit"] = (status == "matched") & in_npd & (upn == out["upn"].astype(str).to_numpy())
    out["false_link"] = (status == "matched") & ~out["hit"]
    out["review"] = status == "clerical_review"
    out["review_right"] = out["review"] & in_npd & (upn == out["upn"].astype(str).to_numpy())
    return out


def summary(o: pd.DataFrame) -> dict:
    """Precision, recall, F1 (with Wilson intervals), clerical share and the reviewer's ceiling."""
    tp, links, true = int(o["hit"].sum()), int(o["matched"].sum()), int(o["in_npd"].sum())
    p = tp / links if links else float("nan")
    r = tp / true if true else float("nan")
    return {"records": len(o), "true_links": true, "links": links, "true_positives": tp,
            "precision": round(p, 4), "precision_ci": wilson(tp, links), "recall": round(r, 4), "recall_ci": wilson(tp, true),
            "f1": round(2 * p * r / (p + r), 4) if tp else 0.0, "clerical_review": int(o["review"].sum()),
            "clerical_share": round(float(o["review"].mean()), 4),
            "recall_if_reviewed": round((tp + int(o["review_right"].sum())) / true, 4) if true else float("nan"),
            "false_links": int(o["false_link"].sum())}


def _table(o: pd.DataFrame, column: str, *, explode: bool = False) -> list[dict]:
    frame = o.assign(_g=o[column].astype(str).str.split(";")).explode("_g") if explode else o.assign(_g=o[column].astype(str))
    rows = []
    for group, part in frame.groupby("_g", sort=True):
        s = summary(part)
        rows.append({"group": group, "records": s["records"], "true_links": s["true_links"], "precision": s["precision"],
                     "precision_ci": s["precision_ci"], "recall": s["recall"], "recall_ci": s["recall_ci"],
                     "clerical_share": s["clerical_share"], "false_links": s["false_links"]})
    return rows


def report(o: pd.DataFrame) -> dict:
    """Everything the benchmark reports for one set of outcomes."""
    matched = o[o["in_npd"]]
    circ = []
    for c in CIRCUMSTANCES:
        part = matched[matched[f"c_{c}"]]
        s = summary(part) if len(part) else None
        if s:
            circ.append({"group": c, "records": s["records"], "recall": s["recall"], "recall_ci": s["recall_ci"],
                         "clerical_share": s["clerical_share"]})
    bucket = matched.assign(n=np.minimum(matched["n_differences"], 4).map(lambda v: "4+" if v >= 4 else str(v)))
    strangers = o[~o["in_npd"]]
    return {
        "overall": summary(o),
        "by_origin": _table(o, "origin"),
        "by_kind": _table(matched, "kinds", explode=True),
        "by_circumstance": circ,
        "by_differences": _table(bucket, "n"),
        "by_group": {g: _table(o, g) for g in GROUPS},
        "not_in_npd": [{"group": k, "records": len(part), "matched": int(part["matched"].sum()),
                        "clerical_review": int(part["review"].sum())} for k, part in strangers.groupby("stranger")],
    }


def _link(survey: pd.DataFrame, npd: pd.DataFrame, history: pd.DataFrame | None, tmp: Path,
          params: Path | None = None) -> tuple[pd.DataFrame, float]:
    s_path, n_path, out = tmp / "survey.csv", tmp / "npd.csv", tmp / "links.csv"
    survey.to_csv(s_path, index=False)
    npd.to_csv(n_path, index=False)
    command = [sys.executable, "-m", "sendlink", "-q", "link", str(s_path), str(n_path), "--out", str(out)]
    if params is not None:
        command += ["--params", str(params)]
    if history is not None:
        h_path = tmp / "history.csv"
        history.to_csv(h_path, index=False)
        command += ["--history", str(h_path)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - started
    return pd.read_csv(out, dtype=str, keep_default_na=False), seconds


def _history_supported() -> bool:
    helptext = subprocess.run([sys.executable, "-m", "sendlink", "link", "--help"], capture_output=True, text=True).stdout
    return "--history" in helptext


def _fmt_ci(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _markdown(result: dict) -> str:
    lines = []
    a = result["args"]
    lines.append(f"Independent generator (`benchmarks/variation_world.py`): {a['npd']:,} pupils in {a['las']} local authorities, "
                 f"{a['survey']:,} survey children ({a['unmatched']:.0%} not in the NPD), seeds {', '.join(map(str, a['seeds']))}. "
                 "Rerun: `.venv/bin/python benchmarks/link_variation.py`.\n")
    lines.append("| seed | NPD history | precision [95% CI] | recall [95% CI] | F1 | clerical share | recall if reviewed | "
                 "not-in-NPD matched | link seconds |")
    lines.append("|---|---|---|---|---:|---:|---:|---:|---:|")
    for run in result["runs"]:
        o = run["report"]["overall"]
        stranger_links = sum(r["matched"] for r in run["report"]["not_in_npd"])
        lines.append(f"| {run['seed']} | {'yes' if run['history'] else 'no'} | {o['precision']:.4f} {_fmt_ci(o['precision_ci'])} | "
                     f"{o['recall']:.4f} {_fmt_ci(o['recall_ci'])} | {o['f1']:.4f} | {o['clerical_share']:.4f} | "
                     f"{o['recall_if_reviewed']:.4f} | {stranger_links} | {run['link_seconds']:.1f} |")
    for label, pooled in result["pooled"].items():
        o = pooled["overall"]
        lines.append(f"\n## Pooled over seeds, {label}\n")
        lines.append(f"Precision {o['precision']:.4f} {_fmt_ci(o['precision_ci'])}, recall {o['recall']:.4f} {_fmt_ci(o['recall_ci'])}, "
                     f"F1 {o['f1']:.4f}; clerical review {o['clerical_review']} of {o['records']} ({o['clerical_share']:.2%}); "
                     f"a reviewer who got every queued pair right would reach recall {o['recall_if_reviewed']:.4f}.\n")
        lines.append("### Recall by name origin\n")
        lines.append("| name origin | children | recall [95% CI] | gap to overall (points) | clerical share | false links |")
        lines.append("|---|---:|---|---:|---:|---:|")
        for r in sorted(pooled["by_origin"], key=lambda r: r["recall"] if r["true_links"] else 2):
            if r["true_links"]:
                lines.append(f"| {r['group']} | {r['true_links']} | {r['recall']:.4f} {_fmt_ci(r['recall_ci'])} | "
                             f"{100 * (r['recall'] - o['recall']):+.1f} | {r['clerical_share']:.3f} | {r['false_links']} |")
        lines.append("\n### Recall by kind of difference\n")
        lines.append("| kind | children | recall [95% CI] | clerical share | false links |")
        lines.append("|---|---:|---|---:|---:|")
        for r in sorted(pooled["by_kind"], key=lambda r: r["recall"]):
            lines.append(f"| {r['group']} | {r['true_links']} | {r['recall']:.4f} {_fmt_ci(r['recall_ci'])} | {r['clerical_share']:.3f} | {r['false_links']} |")
        lines.append("\n### Recall by circumstance and by number of differences\n")
        lines.append("| circumstance | children | recall [95% CI] | clerical share |")
        lines.append("|---|---:|---|---:|")
        for r in pooled["by_circumstance"]:
            lines.append(f"| {r['group']} | {r['records']} | {r['recall']:.4f} {_fmt_ci(r['recall_ci'])} | {r['clerical_share']:.3f} |")
        for r in pooled["by_differences"]:
            lines.append(f"| {r['group']} difference(s) | {r['true_links']} | {r['recall']:.4f} {_fmt_ci(r['recall_ci'])} | {r['clerical_share']:.3f} |")
        lines.append("\n### Precision and recall by group\n")
        lines.append("| group | value | children | precision [95% CI] | recall [95% CI] |")
        lines.append("|---|---|---:|---|---|")
        for g, rows in pooled["by_group"].items():
            for r in rows:
                lines.append(f"| {g} | {r['group']} | {r['records']} | {r['precision']:.4f} {_fmt_ci(r['precision_ci'])} | "
                             f"{r['recall']:.4f} {_fmt_ci(r['recall_ci'])} |")
        lines.append("\n### Children not in the NPD\n")
        lines.append("| kind | children | matched (false links) | to clerical review |")
        lines.append("|---|---:|---:|---:|")
        for r in pooled["not_in_npd"]:
            lines.append(f"| {r['group']} | {r['records']} | {r['matched']} | {r['clerical_review']} |")
    return "\n".join(lines) + "\n"


def _before_after(before: dict, after: dict) -> str:
    """The fairness section: the same populations linked before issue 19 and now (pooled over seeds)."""
    b = next(iter(before["pooled"].values()))
    labels = list(after["pooled"])
    a = after["pooled"][labels[0]]
    lines = ["# Fairness of the linkage (issue 19): before and after\n",
             "The same populations and surveys, pooled over the seeds. *Before*: the linker at the start of issue 19 "
             "(`benchmarks/results/link_variation_before.json`, made with that commit's code and `params.yaml`). "
             f"*After*: this linker ({', '.join(labels)}). Targets (issue 19): precision >= 0.998, recall >= 0.99, no name "
             "origin's recall more than one point below the overall, clerical share no higher than before.\n",
             "| linker | precision [95% CI] | recall [95% CI] | F1 | clerical share | recall if every queued pair were reviewed right | "
             "children not in the NPD matched |", "|---|---|---|---:|---:|---:|---:|"]

    def row(label: str, x: dict) -> str:
        o = x["overall"]
        strangers = sum(r["matched"] for r in x["not_in_npd"])
        return (f"| {label} | {o['precision']:.4f} {_fmt_ci(o['precision_ci'])} | {o['recall']:.4f} {_fmt_ci(o['recall_ci'])} | "
                f"{o['f1']:.4f} | {o['clerical_share']:.2%} | {o['recall_if_reviewed']:.4f} | {strangers} |")

    lines.append(row("before", b))
    for label in labels:
        lines.append(row(f"after, {label}", after["pooled"][label]))
    lines += ["", "| name origin | children | recall before [95% CI] | recall after [95% CI] | gap to overall after (points) |",
              "|---|---:|---|---|---:|"]
    by_origin = {r["group"]: r for r in b["by_origin"]}
    for r in sorted(a["by_origin"], key=lambda r: r["recall"] if r["true_links"] else 2):
        if r["true_links"] and r["group"] in by_origin:
            x = by_origin[r["group"]]
            lines.append(f"| {r['group']} | {r['true_links']} | {x['recall']:.4f} {_fmt_ci(x['recall_ci'])} | "
                         f"{r['recall']:.4f} {_fmt_ci(r['recall_ci'])} | {100 * (r['recall'] - a['overall']['recall']):+.1f} |")
    lines += ["", "| group | value | recall before | recall after [95% CI] | precision after [95% CI] |", "|---|---|---:|---|---|"]
    for g in GROUPS:
        old = {r["group"]: r for r in b["by_group"].get(g, [])}
        for r in a["by_group"][g]:
            x = old.get(r["group"], {}).get("recall", float("nan"))
            lines.append(f"| {g} | {r['group']} | {x:.4f} | {r['recall']:.4f} {_fmt_ci(r['recall_ci'])} | "
                         f"{r['precision']:.4f} {_fmt_ci(r['precision_ci'])} |")
    lines += ["", "| circumstance or differences | children | recall before | recall after |", "|---|---:|---:|---:|"]
    old = {r["group"]: r for r in b["by_circumstance"]}
    for r in a["by_circumstance"]:
        lines.append(f"| {r['group']} | {r['records']} | {old.get(r['group'], {}).get('recall', float('nan')):.4f} | {r['recall']:.4f} |")
    old = {r["group"]: r for r in b["by_differences"]}
    for r in a["by_differences"]:
        lines.append(f"| {r['group']} difference(s) | {r['true_links']} | {old.get(r['group'], {}).get('recall', float('nan')):.4f} | "
                     f"{r['recall']:.4f} |")
    lines += ["", "| child not in the NPD | children | matched before | matched after | to review after |", "|---|---:|---:|---:|---:|"]
    old = {r["group"]: r for r in b["not_in_npd"]}
    for r in a["not_in_npd"]:
        lines.append(f"| {r['group']} | {r['records']} | {old.get(r['group'], {}).get('matched', 0)} | {r['matched']} | {r['clerical_review']} |")
    return "\n".join(lines) + "\n\n# Every run and breakdown, after\n\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--npd", type=int, default=200_000)
    parser.add_argument("--las", type=int, default=46)
    parser.add_argument("--survey", type=int, default=5_000)
    parser.add_argument("--unmatched", type=float, default=0.05, help="share of survey children not in the NPD")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--no-history-run", action="store_true", help="skip the run without the NPD history")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write benchmarks/results/")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here instead of benchmarks/results/")
    parser.add_argument("--params", type=Path, default=None, help="parameter file for the linker (default: the project's)")
    parser.add_argument("--before", type=Path, default=RESULTS / "link_variation_before.json",
                        help="results of an earlier linker on the same seeds, for the before/after section (if the file exists)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from variation_world import build_world

    with_history = _history_supported()
    runs, pooled_outcomes = [], {}
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        started = time.perf_counter()
        world = build_world(args.npd, args.las, rng)
        survey, truth = draw_survey(world, args.survey, args.unmatched, rng)
        generated = time.perf_counter() - started
        variants = ([True] if with_history else []) + ([False] if not args.no_history_run or not with_history else [])
        for history in variants:
            with tempfile.TemporaryDirectory() as tmp:
                links, seconds = _link(survey, world.npd, world.history if history else None, Path(tmp), args.params)
            o = outcomes(links, truth)
            label = "with the NPD history" if history else "without the NPD history"
            pooled_outcomes.setdefault(label, []).append(o)
            runs.append({"seed": seed, "history": history, "generate_seconds": round(generated, 1), "link_seconds": round(seconds, 1),
                         "report": report(o)})
            ov = runs[-1]["report"]["overall"]
            print(f"seed {seed} history={history}: P {ov['precision']:.4f} R {ov['recall']:.4f} clerical {ov['clerical_share']:.4f} "
                  f"({seconds:.1f} s)", flush=True)
    result = {"args": {"npd": args.npd, "las": args.las, "survey": args.survey, "unmatched": args.unmatched, "seeds": args.seeds},
              "history_supported": with_history, "runs": runs,
              "pooled": {label: report(pd.concat(parts, ignore_index=True)) for label, parts in pooled_outcomes.items()}}
    text = json.dumps(result, indent=1, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    if args.out is not None:
        args.out.write_text(text + "\n")
    if args.no_write:
        print(_markdown(result))
        return
    RESULTS.mkdir(exist_ok=True)
    from sendlink.config import Paths
    from sendlink.schema import catalogue

    catalogue.VARIATION_RESULTS.at(Paths.discover()).write_text(text + "\n")
    head = ""
    if args.before is not None and args.before.is_file():
        before = json.loads(args.before.read_text())
        if before.get("args") == result["args"]:
            head = _before_after(before, result)
        else:
            print(f"{args.before}: other sizes or seeds than this run; no before/after section")
    (RESULTS / "link_variation.md").write_text(head + _markdown(result))


if __name__ == "__main__":
    main()

"""A tiny hand-written world for the de-identification tests.

Eleven survey cases, each chosen for one rule (see ``CASES``); a links
file; the NPD attributes DfE would derive for the linked pupils. Expected
outcomes are written by hand next to each case, never taken from the code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sendlink.deidentify.keys import ProjectKey

KEY = ProjectKey(b"test key one", "environment")
OTHER_KEY = ProjectKey(b"test key two", "environment")

#: survey_id -> (consent parent, consent child, may_link_parent, may_link_child,
#: restricted, objected, may_analyse, w1 responded, link status, upn, probability)
CASES = {
    "S01": ("granted", "granted", True, True, False, False, True, True, "matched", "U01", 1.0),  # linked, all answers
    "S02": ("granted", "refused", True, False, False, False, True, True, "matched", "U02", 1.0),  # child answers withheld
    "S03": ("refused", "granted", False, True, False, False, True, True, "matched", "U03", 1.0),  # parent answers withheld
    "S04": ("refused", "refused", False, False, False, False, True, True, None, None, None),  # not sent, answers kept
    "S05": ("granted", "granted", True, True, False, False, True, True, "unmatched", None, 0.1),  # sent, not found
    "S06": ("granted", "granted", True, True, False, False, True, True, "clerical_review", "U06", 0.7),  # loose only
    "S07": ("withdrawn", "withdrawn", False, False, False, False, True, True, "matched", "U07", 1.0),  # stale link
    "S08": ("granted", "granted", False, False, True, False, False, True, "matched", "U08", 1.0),  # restricted
    "S10": ("granted", "granted", True, True, False, False, True, True, "matched", "U10", 0.97),  # not in strict
    "S11": ("not_asked", "not_asked", False, False, False, False, True, False, None, None, None),  # no wave-1 answers
}
ERASED = "S09"  # linked before its erasure: absent from status and holdings, present in links


def status_frame(cases: dict = CASES) -> pd.DataFrame:
    rows = []
    for sid, (cp, cc, mp, mc, restricted, objected, analyse, *_rest) in cases.items():
        rows.append({
            "survey_id": sid, "consent_parent_answers": cp, "consent_child_answers": cc,
            "restricted": restricted, "objected": objected, "erased": False,
            "may_link_parent_answers": mp, "may_link_child_answers": mc,
            "send_for_linkage": mp or mc, "may_analyse": analyse,
        })
    return pd.DataFrame(rows)


def links_frame(cases: dict = CASES) -> pd.DataFrame:
    rows = [
        {"survey_id": sid, "upn": upn, "match_probability": p, "match_weight": 10.0, "link_status": status}
        for sid, (*_, status, upn, p) in cases.items()
        if status is not None
    ]
    rows.append({"survey_id": ERASED, "upn": "U09", "match_probability": 1.0, "match_weight": 10.0, "link_status": "matched"})
    return pd.DataFrame(rows)


def npd_frame(upns) -> pd.DataFrame:
    """NPD attributes as DfE derives them (a few columns suffice), indexed by UPN."""
    upns = sorted(set(upns))
    out = pd.DataFrame(index=pd.Index(upns, name="upn"))
    out["npd_sex"] = "F"
    out["npd_birth_year_month"] = "2008-10"
    out["npd_ethnicity"] = "White"
    out["npd_idaci_decile"] = pd.array([3] * len(upns), dtype="Int64")
    out["npd_idaci_quintile"] = pd.array([2] * len(upns), dtype="Int64")
    out["npd_attainment8"] = 40.0
    return out


ALL_UPNS = [c[9] for c in CASES.values() if c[9]] + ["U09"]


def write_holdings(folder: Path, cases: dict = CASES) -> Path:
    """The survey organisation's holdings: sample and the four answer files."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = list(cases)
    responded = [cases[s][7] for s in ids]
    pd.DataFrame({
        "survey_id": ids, "stratum": "K_core", "strand": "web", "design_weight": 2.0,
        "w1_weight": [2.5 if r else None for r in responded], "w2_weight": None,
        "frame_sen_provision": "K", "frame_primary_need": "SLCN", "frame_fsm": False, "frame_eal": False,
        "frame_ethnicity": "White", "frame_idaci_decile": pd.array([3] * len(ids), dtype="Int64"),
        "frame_sex": "F", "frame_region": "London", "w1_responded": responded,
    }).to_parquet(folder / "sample.parquet")
    w1 = [s for s in ids if cases[s][7]]
    pd.DataFrame({
        "survey_id": w1, "interview_date": "2022-06-01", "mode": "web",
        "unmet_need": pd.array([True] * len(w1), dtype="boolean"), "satisfaction_support": pd.array([4] * len(w1), dtype="Int64"),
    }).to_parquet(folder / "parent_w1.parquet")
    pd.DataFrame({"survey_id": w1, "interview_date": "2022-06-01", "life_satisfaction": pd.array([8] * len(w1), dtype="Int64")}).to_parquet(folder / "young_person_w1.parquet")
    pd.DataFrame({"survey_id": w1[:2], "interview_date": "2023-06-01", "unmet_need": pd.array([False, True], dtype="boolean")}).to_parquet(folder / "parent_w2.parquet")
    pd.DataFrame({"survey_id": w1[:1], "interview_date": "2023-06-01", "life_satisfaction": pd.array([7], dtype="Int64")}).to_parquet(folder / "young_person_w2.parquet")
    return folder

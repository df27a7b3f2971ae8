"""What notebook 01 shows about the synthetic data: calibration and differences.

:data:`PUBLISHED` lists the published figures the generator is calibrated
to (DOMAIN.md, with sources), each with the tolerance within which the
generated data must match it; :func:`calibration_table` measures the
generated data the same way and sets them side by side. A test asserts
every row is within tolerance, so a change that breaks calibration fails.
Tolerances are wider where the synthetic design cannot match by
construction (for example the published absence figures are for the autumn
term only, the generated ones for whole years).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.io import read_table


@dataclass(frozen=True)
class Published:
    measure: str
    group: str
    value: float
    tolerance: float
    source: str


PUBLISHED: tuple[Published, ...] = (
    Published("EHC plan share of pupils (%)", "2024/25", 5.3, 0.5, "DfE SEN in England 2024/25"),
    Published("SEN support share of pupils (%)", "2024/25", 14.2, 0.5, "DfE SEN in England 2024/25"),
    Published("FSM eligible (%)", "EHC plan, 2024/25", 43.8, 4.0, "DfE SEN in England 2024/25"),
    Published("FSM eligible (%)", "SEN support, 2024/25", 39.3, 4.0, "DfE SEN in England 2024/25"),
    Published("FSM eligible (%)", "no SEN, 2024/25", 22.2, 3.0, "DfE SEN in England 2024/25"),
    Published("FSM eligible (%)", "all pupils, 2024/25", 25.7, 2.0, "DfE Schools, pupils and their characteristics"),
    Published("Boys among pupils with EHC plans (%)", "2024/25", 71.0, 4.0, "DfE SEN in England"),
    Published("Boys among pupils on SEN support (%)", "2024/25", 61.0, 4.0, "DfE SEN in England"),
    Published("English as an additional language (%)", "2024/25", 21.0, 3.0, "DfE Schools, pupils and their characteristics"),
    Published("ASD among EHC plans (%)", "2024/25", 31.5, 4.0, "DfE EHC plans, Jan 2025 (all ages; ~34% of school-age plans)"),
    Published("SLCN among SEN support (%)", "2024/25", 26.0, 4.0, "DfE SEN in England"),
    Published("Overall absence rate (%)", "EHC plan, 2023/24", 12.4, 2.0, "DfE Pupil attendance, autumn 2023/24"),
    Published("Overall absence rate (%)", "SEN support, 2023/24", 10.3, 2.0, "DfE Pupil attendance, autumn 2023/24"),
    Published("Overall absence rate (%)", "no SEN, 2023/24", 6.1, 1.5, "DfE Pupil attendance, autumn 2023/24"),
    Published("Persistent absence (%)", "EHC plan, 2023/24", 34.6, 6.0, "DfE Pupil attendance, autumn 2023/24"),
    Published("Persistent absence (%)", "SEN support, 2023/24", 29.9, 6.0, "DfE Pupil attendance, autumn 2023/24"),
    Published("Persistent absence (%)", "no SEN, 2023/24", 18.2, 4.0, "DfE Pupil attendance, autumn 2023/24"),
    Published("Phonics check met (%)", "EHC plan", 20.0, 5.0, "DfE Key stage 1 and phonics, 2023/24"),
    Published("Phonics check met (%)", "SEN support", 52.0, 5.0, "DfE Key stage 1 and phonics, 2023/24"),
    Published("Phonics check met (%)", "no SEN", 88.0, 4.0, "DfE Key stage 1 and phonics, 2023/24"),
    Published("Attainment 8 (mean)", "EHC plan", 14.0, 2.0, "DfE Key stage 4 performance 2022/23"),
    Published("Attainment 8 (mean)", "SEN support", 33.3, 2.0, "DfE Key stage 4 performance 2022/23"),
    Published("Attainment 8 (mean)", "all pupils", 46.3, 2.0, "DfE Key stage 4 performance 2022/23"),
    Published("Response, web strand (%)", "wave 1", 20.0, 3.0, "NatCen SEND Futures discovery phase"),
    Published("Response, face-to-face strand (%)", "wave 1", 46.0, 5.0, "NatCen SEND Futures discovery phase"),
    Published("Parents responding", "wave 1", 3500, 350, "NatCen SEND Futures discovery phase"),
    Published("Young people responding", "wave 1", 3000, 300, "NatCen SEND Futures discovery phase"),
    Published("Young people with data from or about them", "wave 2", 2457, 250, "NatCen SEND Futures discovery phase"),
    Published("Young people happy with life (%)", "wave 1", 72.0, 5.0, "NatCen SEND Futures findings"),
    Published("Young people bullied in the last year (%)", "wave 1", 63.0, 5.0, "NatCen SEND Futures findings"),
)


def _pct(x: pd.Series) -> float:
    return float(100 * x.mean())


def measure(synthetic_dir: str | Path) -> dict[tuple[str, str], float]:
    """The generated value of every published measure."""
    d = Path(synthetic_dir)
    census = read_table(d / "npd" / "census.parquet")
    spine = read_table(d / "npd" / "spine.parquet", columns=["upn", "sex"])
    c25 = census[census["academic_year"] == "2024/25"].merge(spine, on="upn")
    prov = c25["sen_provision"]
    out: dict[tuple[str, str], float] = {}
    out[("EHC plan share of pupils (%)", "2024/25")] = _pct(prov == "E")
    out[("SEN support share of pupils (%)", "2024/25")] = _pct(prov == "K")
    for code, label in (("E", "EHC plan"), ("K", "SEN support"), ("N", "no SEN")):
        out[("FSM eligible (%)", f"{label}, 2024/25")] = _pct(c25.loc[prov == code, "fsm_eligible"])
    out[("FSM eligible (%)", "all pupils, 2024/25")] = _pct(c25["fsm_eligible"])
    out[("Boys among pupils with EHC plans (%)", "2024/25")] = _pct(c25.loc[prov == "E", "sex"] == "M")
    out[("Boys among pupils on SEN support (%)", "2024/25")] = _pct(c25.loc[prov == "K", "sex"] == "M")
    out[("English as an additional language (%)", "2024/25")] = _pct(c25["eal"])
    out[("ASD among EHC plans (%)", "2024/25")] = _pct(c25.loc[prov == "E", "primary_sen_type"] == "ASD")
    out[("SLCN among SEN support (%)", "2024/25")] = _pct(c25.loc[prov == "K", "primary_sen_type"] == "SLCN")

    absence = read_table(d / "npd" / "absence.parquet")
    a24 = absence[absence["academic_year"] == "2023/24"].merge(census[census["academic_year"] == "2023/24"][["upn", "sen_provision"]], on="upn")
    rate = (a24["sessions_authorised"] + a24["sessions_unauthorised"]) / a24["sessions_possible"]
    for code, label in (("E", "EHC plan"), ("K", "SEN support"), ("N", "no SEN")):
        rows = a24["sen_provision"] == code
        out[("Overall absence rate (%)", f"{label}, 2023/24")] = float(100 * (a24.loc[rows, "sessions_authorised"] + a24.loc[rows, "sessions_unauthorised"]).sum() / a24.loc[rows, "sessions_possible"].sum())
        out[("Persistent absence (%)", f"{label}, 2023/24")] = _pct(rate[rows] >= 0.10)

    phonics = read_table(d / "npd" / "phonics.parquet")
    first_census = census.sort_values("academic_year").drop_duplicates("upn")[["upn", "sen_provision"]]
    ph = phonics.merge(first_census, on="upn")
    ph["sen_provision"] = ph["sen_provision"].replace({"S": "E"})
    for code, label in (("E", "EHC plan"), ("K", "SEN support"), ("N", "no SEN")):
        out[("Phonics check met (%)", label)] = _pct(ph.loc[ph["sen_provision"] == code, "phonics_met_standard"])

    ks4 = read_table(d / "npd" / "ks4.parquet").merge(census[["upn", "academic_year", "sen_provision"]], on=["upn", "academic_year"])
    for code, label in (("E", "EHC plan"), ("K", "SEN support")):
        out[("Attainment 8 (mean)", label)] = float(ks4.loc[ks4["sen_provision"] == code, "attainment8"].mean())
    out[("Attainment 8 (mean)", "all pupils")] = float(ks4["attainment8"].mean())

    sample = read_table(d / "survey" / "sample.parquet")
    out[("Response, web strand (%)", "wave 1")] = _pct(sample.loc[sample["strand"] == "web", "w1_responded"])
    out[("Response, face-to-face strand (%)", "wave 1")] = _pct(sample.loc[sample["strand"] == "face_to_face", "w1_responded"])
    out[("Parents responding", "wave 1")] = float(sample["w1_responded"].sum())
    out[("Young people responding", "wave 1")] = float(sample["w1_young_person_responded"].sum())
    # "Data from or about": the parent's or the young person's questionnaire.
    out[("Young people with data from or about them", "wave 2")] = float((sample["w2_responded"] | sample["w2_young_person_responded"]).sum())
    yp1 = read_table(d / "survey" / "young_person_w1.parquet")
    out[("Young people happy with life (%)", "wave 1")] = _pct(yp1["happy_with_life"].dropna().astype(bool))
    out[("Young people bullied in the last year (%)", "wave 1")] = _pct(yp1["bullied_last_year"].dropna().astype(bool))
    return out


def calibration_table(synthetic_dir: str | Path) -> pd.DataFrame:
    """Generated versus published, one row per published figure.

    Columns: measure, group, published, generated, tolerance, within
    (|generated - published| <= tolerance) and source. Values are rounded to
    one decimal so the table is identical on every machine.
    """
    generated = measure(synthetic_dir)
    rows = []
    for p in PUBLISHED:
        value = generated[(p.measure, p.group)]
        rows.append(
            {
                "measure": p.measure,
                "group": p.group,
                "published": p.value,
                "generated": round(value, 1),
                "tolerance": p.tolerance,
                "within": bool(abs(value - p.value) <= p.tolerance),
                "source": p.source,
            }
        )
    return pd.DataFrame(rows)


def difference_counts(synthetic_dir: str | Path) -> pd.DataFrame:
    """How often each kind of identifier difference occurs (cases, and % of reports)."""
    d = Path(synthetic_dir)
    diff = read_table(d / "truth" / "identifier_differences.parquet")
    n = len(read_table(d / "survey" / "contacts.parquet", columns=["survey_id"]))
    counts = diff.groupby(["field", "difference"]).size().rename("cases").reset_index()
    counts["percent_of_reports"] = np.round(100 * counts["cases"] / n, 1)
    return counts.sort_values(["field", "cases"], ascending=[True, False]).reset_index(drop=True)


def difference_examples(synthetic_dir: str | Path, kinds: list[tuple[str, str]], per_kind: int = 1) -> pd.DataFrame:
    """Side-by-side NPD and reported values for a few cases of each kind.

    Synthetic identifiers: for teaching pages that declare the DfE view.
    Cases are the first by survey id, so the selection is stable.
    """
    d = Path(synthetic_dir)
    diff = read_table(d / "truth" / "identifier_differences.parquet")
    links = read_table(d / "truth" / "links.parquet").set_index("survey_id")
    contacts = read_table(d / "survey" / "contacts.parquet").set_index("survey_id")
    spine = read_table(d / "npd" / "spine.parquet").set_index("upn")
    rows = []
    for field, kind in kinds:
        ids = diff[(diff["field"] == field) & (diff["difference"] == kind)]["survey_id"]
        ids = [s for s in sorted(ids) if isinstance(links.loc[s, "upn"], str)][:per_kind]
        for sid in ids:
            columns = ["forename", "surname"] if field == "names" else [field]
            upn = links.loc[sid, "upn"]
            rows.append(
                {
                    "difference": f"{field}: {kind}",
                    "NPD record": " / ".join(str(spine.loc[upn, c]) for c in columns),
                    "parent's report": " / ".join("" if pd.isna(contacts.loc[sid, c]) else str(contacts.loc[sid, c]) for c in columns),
                }
            )
    return pd.DataFrame(rows)

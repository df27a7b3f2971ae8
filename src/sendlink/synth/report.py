"""What notebook 01 shows about the synthetic data: its calibration to published figures.

:data:`PUBLISHED` lists the published figures the generator is calibrated
to (docs/DOMAIN.md, with sources), each with the tolerance within which the
generated data must match it; :func:`calibration_table` measures the
generated data the same way and sets them side by side. A test asserts
every row is within tolerance, so a change that breaks calibration fails.
Tolerances are wider where the synthetic design cannot match by
construction (for example the published absence figures are for the autumn
term only, the generated ones for whole years). The differences injected
into the parents' reports are truth, shown by :mod:`sendlink.evaluate.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sendlink.config import Paths
from sendlink.io import read_table
from sendlink.schema import catalogue


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


def measure(paths: Paths) -> dict[tuple[str, str], float]:
    """The generated value of every published measure, in the world ``paths`` describes."""
    census = read_table(catalogue.CENSUS.at(paths))
    spine = read_table(catalogue.NPD_SPINE.at(paths), columns=["upn", "sex"])
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

    absence = read_table(catalogue.ABSENCE.at(paths))
    a24 = absence[absence["academic_year"] == "2023/24"].merge(census[census["academic_year"] == "2023/24"][["upn", "sen_provision"]], on="upn")
    rate = (a24["sessions_authorised"] + a24["sessions_unauthorised"]) / a24["sessions_possible"]
    for code, label in (("E", "EHC plan"), ("K", "SEN support"), ("N", "no SEN")):
        rows = a24["sen_provision"] == code
        out[("Overall absence rate (%)", f"{label}, 2023/24")] = float(100 * (a24.loc[rows, "sessions_authorised"] + a24.loc[rows, "sessions_unauthorised"]).sum() / a24.loc[rows, "sessions_possible"].sum())
        out[("Persistent absence (%)", f"{label}, 2023/24")] = _pct(rate[rows] >= 0.10)

    phonics = read_table(catalogue.PHONICS.at(paths))
    first_census = census.sort_values("academic_year").drop_duplicates("upn")[["upn", "sen_provision"]]
    ph = phonics.merge(first_census, on="upn")
    ph["sen_provision"] = ph["sen_provision"].replace({"S": "E"})
    for code, label in (("E", "EHC plan"), ("K", "SEN support"), ("N", "no SEN")):
        out[("Phonics check met (%)", label)] = _pct(ph.loc[ph["sen_provision"] == code, "phonics_met_standard"])

    ks4 = read_table(catalogue.KS4.at(paths)).merge(census[["upn", "academic_year", "sen_provision"]], on=["upn", "academic_year"])
    for code, label in (("E", "EHC plan"), ("K", "SEN support")):
        out[("Attainment 8 (mean)", label)] = float(ks4.loc[ks4["sen_provision"] == code, "attainment8"].mean())
    out[("Attainment 8 (mean)", "all pupils")] = float(ks4["attainment8"].mean())

    sample = read_table(catalogue.SAMPLE.at(paths))
    out[("Response, web strand (%)", "wave 1")] = _pct(sample.loc[sample["strand"] == "web", "w1_responded"])
    out[("Response, face-to-face strand (%)", "wave 1")] = _pct(sample.loc[sample["strand"] == "face_to_face", "w1_responded"])
    out[("Parents responding", "wave 1")] = float(sample["w1_responded"].sum())
    out[("Young people responding", "wave 1")] = float(sample["w1_young_person_responded"].sum())
    # "Data from or about": the parent's or the young person's questionnaire.
    out[("Young people with data from or about them", "wave 2")] = float((sample["w2_responded"] | sample["w2_young_person_responded"]).sum())
    yp1 = read_table(catalogue.YOUNG_PERSON_W1.at(paths))
    out[("Young people happy with life (%)", "wave 1")] = _pct(yp1["happy_with_life"].dropna().astype(bool))
    out[("Young people bullied in the last year (%)", "wave 1")] = _pct(yp1["bullied_last_year"].dropna().astype(bool))
    return out


def calibration_table(paths: Paths) -> pd.DataFrame:
    """Generated versus published, one row per published figure.

    Columns: measure, group, published, generated, tolerance, within
    (|generated - published| <= tolerance) and source. Values are rounded to
    one decimal so the table is identical on every machine.
    """
    generated = measure(paths)
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

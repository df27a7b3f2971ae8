"""Hand-made research extracts that meet the contract (sendlink.schema.research.EXTRACT)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendlink.params.outcomes import OutcomesParams
from sendlink.schema.research import EXTRACT

#: Analysis settings for the hand-made worlds: 95% intervals, no trimming
#: (a replicated population must be recovered exactly), the usual floors.
SETTINGS = OutcomesParams(confidence=0.95, trim_quantile=1.0, min_propensity=0.02, min_category_rows=10, count_model="poisson",
                          imputations=0, bootstrap_replicates=0, finite_population_correction=True,
                          uneven_linkage_column="frame_ethnicity", uneven_linkage_recall={})

#: Values of the contract's non-nullable text columns in a blank row.
TEXT_DEFAULTS = {
    "consent_parent_answers": "granted", "consent_child_answers": "granted", "link_status": "matched",
    "stratum": "K_core", "strand": "web",
}


def blank_extract(n: int) -> pd.DataFrame:
    """``n`` rows: every contract column, typed; nullable columns empty, the rest defaulted."""
    out = {}
    for name, col in EXTRACT.columns.items():
        dtype = str(col.dtype)
        if name == "research_id":
            out[name] = pd.Series([f"R{i:05d}" for i in range(n)], dtype=object)
        elif not col.nullable and dtype in ("str", "object"):
            out[name] = pd.Series([TEXT_DEFAULTS[name]] * n, dtype=object)
        elif not col.nullable and dtype == "bool":
            out[name] = pd.Series(np.zeros(n, bool))
        elif not col.nullable:
            out[name] = pd.Series(np.ones(n))
        elif dtype in ("boolean", "Int64"):
            out[name] = pd.Series(pd.array([pd.NA] * n, dtype=dtype))
        elif dtype == "float64":
            out[name] = pd.Series(np.full(n, np.nan))
        else:
            out[name] = pd.Series([None] * n, dtype=object)
    return pd.DataFrame(out)


def linked_frame_row_values(frame: pd.DataFrame, rows: np.ndarray) -> None:
    """Fill the frame and NPD covariates of ``rows`` with one fixed, valid profile."""
    frame.loc[rows, "frame_sen_provision"] = "K"
    frame.loc[rows, "frame_primary_need"] = "SLCN"
    frame.loc[rows, "frame_ethnicity"] = "White"
    frame.loc[rows, "frame_sex"] = "M"
    frame.loc[rows, "frame_idaci_quintile"] = 3
    frame.loc[rows, "w1_weight"] = 1.0
    frame.loc[rows, "w2_weight"] = 1.0
    frame.loc[rows, "p1_responded"] = True


def set_npd(frame: pd.DataFrame, rows: np.ndarray, *, ehc: np.ndarray) -> None:
    """Linked NPD covariates of ``rows`` (a fixed profile apart from provision)."""
    frame.loc[rows, "npd_linked"] = True
    frame.loc[rows, "link_status"] = "matched"
    frame.loc[rows, "npd_sen_provision"] = np.where(ehc, "E", "K")
    frame.loc[rows, "frame_sen_provision"] = np.where(ehc, "E", "K")
    frame.loc[rows, "npd_primary_need"] = "SLCN"
    frame.loc[rows, "npd_fsm"] = False
    frame.loc[rows, "npd_eal"] = False
    frame.loc[rows, "npd_sex"] = "M"
    frame.loc[rows, "npd_ethnicity"] = "White"
    frame.loc[rows, "npd_idaci_quintile"] = 3
    frame.loc[rows, "npd_eyfsp_total_points"] = 25
    frame.loc[rows, "npd_phonics_mark"] = 30
    for s in ("reading", "writing", "maths"):
        frame.loc[rows, f"npd_ks1_{s}"] = "EXS"
    frame.loc[rows, "npd_school_cluster"] = [f"S{i % 40:02d}" for i in rows]


def replicate_world() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A population in which consent depends on school experience only.

    For each school experience s = 1..5, a pattern of 24 families (every
    combination of EHC plan, unmet need, satisfaction 1/3/5 and persistent
    absence) is repeated 4 times; in copy k the family consents (and links)
    when k < c(s), with c = 1, 1, 2, 3, 3 for s = 1..5. Within each s,
    consenters are therefore an exact replicate of the population, and
    weighting each consenter by 4 / c(s) gives back the population exactly.
    The outcomes' dependence on unmet need is stronger where school is going
    badly, so an unweighted analysis of consenters is biased.

    Returns
    -------
    (extract, population)
        The extract (non-consenters unlinked, their answers kept) and the
        same rows as if everyone had consented and linked.
    """
    consenting_copies = {1: 1, 2: 1, 3: 2, 4: 3, 5: 3}
    rows = []
    for s in range(1, 6):
        for copy in range(4):
            i = 0
            for ehc in (0, 1):
                for unmet in (0, 1):
                    for sat in (1, 3, 5):
                        for pa in (0, 1):
                            bad_school = s <= 2
                            a8 = 35 + 4 * (sat - 3) - 6 * ehc - unmet * (9 if bad_school else 2) + 3 * pa * (1 - ehc) + 2 * (i % 3)
                            wb = 6 + 0.4 * (sat - 3) - unmet * (2 if bad_school else 0.5) + (i % 4) * 0.5
                            susp = (i % 3) + unmet * (3 if bad_school else 1) + ehc * (i % 2)
                            rows.append({"s": s, "copy": copy, "consent": copy < consenting_copies[s], "ehc": ehc, "unmet": unmet,
                                         "sat": sat, "pa": pa if not (unmet and bad_school and i % 4 == 0) else 1,
                                         "a8": float(a8), "wb": int(round(wb)), "susp": int(susp)})
                            i += 1
    world = pd.DataFrame(rows)
    return _as_extract(world, linked_only_consenters=True), _as_extract(world, linked_only_consenters=False)


def _as_extract(world: pd.DataFrame, *, linked_only_consenters: bool) -> pd.DataFrame:
    n = len(world)
    frame = blank_extract(n)
    idx = np.arange(n)
    linked_frame_row_values(frame, idx)
    frame["yp2_responded"] = True
    frame["p2_responded"] = False
    frame["p1_unmet_need"] = pd.array(world["unmet"].astype(bool), dtype="boolean")
    frame["p1_satisfaction_support"] = pd.array(world["sat"], dtype="Int64")
    frame["p1_school_experience"] = pd.array(world["s"], dtype="Int64")
    frame["yp2_life_satisfaction"] = pd.array(world["wb"], dtype="Int64")
    linked = world["consent"].to_numpy() if linked_only_consenters else np.ones(n, bool)
    frame["consent_parent_answers"] = np.where(linked, "granted", "refused")
    frame["consent_child_answers"] = np.where(linked, "granted", "refused")
    frame["link_status"] = np.where(linked, "matched", "not_sent")
    frame["frame_sen_provision"] = np.where(world["ehc"] == 1, "E", "K")
    set_npd(frame, idx[linked], ehc=world["ehc"].to_numpy()[linked] == 1)
    frame.loc[idx[linked], "npd_persistent_absence_y10_11"] = world["pa"].to_numpy()[linked].astype(bool)
    # Per academic year (DfE): the same in both years here.
    frame.loc[idx[linked], "npd_persistent_absence_y10"] = world["pa"].to_numpy()[linked].astype(bool)
    frame.loc[idx[linked], "npd_persistent_absence_y11"] = world["pa"].to_numpy()[linked].astype(bool)
    frame.loc[idx[linked], "npd_suspensions_y10_11"] = world["susp"].to_numpy()[linked]
    frame.loc[idx[linked], "npd_attainment8"] = world["a8"].to_numpy()[linked]
    frame["npd_linked"] = linked
    return with_consent_step(frame)


def with_consent_step(frame: pd.DataFrame) -> pd.DataFrame:
    """The survey organisation's consent probabilities, fitted as it fits them (every row's answers known here)."""
    from sendlink.outcomes.selection import CONSENT_STEPS, consented, fit_step

    out = frame.copy()
    for respondents, (_, column) in CONSENT_STEPS.items():
        rows = out[respondents].astype("boolean").fillna(False).to_numpy(dtype=bool)
        ok = consented(out, respondents).to_numpy()
        p = np.full(len(out), np.nan)
        if rows.any() and 0 < ok[rows].sum() < rows.sum():
            step = fit_step("consent", out, rows, ok, min_category_rows=0)
            p[rows] = step.predict(out.loc[rows])
        elif rows.any():
            p[rows] = float(ok[rows].mean())
        out[column] = p
    return out

"""Consent rates and consent bias, for notebook 02.

Who consents is not random: if consenters differ from non-consenters on
what the sampling frame and the survey know, an analysis of linked cases
alone is biased. These functions put the consent status next to the frame
variables and the parent's wave-1 answers and compare the two groups.

The counts are raw: anything published must go through
``sendlink.disclosure`` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

#: Characteristics compared between consenters and non-consenters: column -> label.
FRAME_VARIABLES = {
    "frame_sen_provision": "SEN provision",
    "frame_primary_need": "primary need",
    "frame_fsm": "FSM eligible",
    "frame_eal": "EAL",
    "frame_ethnicity": "ethnicity",
    "frame_idaci_decile": "IDACI decile",
}
ANSWER_VARIABLES = {"unmet_need": "unmet need (parent, wave 1)"}

#: Outcomes a rate can be computed for.
OUTCOMES = {
    "consent_any": "permission for either scope (as of the date)",
    "consent_parent": "permission to link the parent's answers",
    "consent_child": "permission to link the child's answers",
    "sent_for_linkage": "sent for linkage (permission, not restricted, objected or erased)",
}


def consent_table(status: pd.DataFrame, sample: pd.DataFrame, parent_w1: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per wave-1 responding household: consent outcomes and characteristics.

    Respondents are those with ``w1_responded`` in the sample, or, if the
    sample lacks it, those asked the consent question. Erased cases are not
    in ``status`` and so not here.
    """
    table = status[["survey_id", "consent_parent_answers", "consent_child_answers", "send_for_linkage"]].merge(sample, on="survey_id", how="left")
    if "w1_responded" in table.columns:
        table = table[table["w1_responded"].fillna(False).astype(bool)]
    else:
        table = table[table["consent_parent_answers"] != "not_asked"]
    if parent_w1 is not None:
        keep = ["survey_id", *[c for c in ANSWER_VARIABLES if c in parent_w1.columns]]
        table = table.merge(parent_w1[keep], on="survey_id", how="left")
    table = table.assign(
        consent_parent=table["consent_parent_answers"] == "granted",
        consent_child=table["consent_child_answers"] == "granted",
        sent_for_linkage=table["send_for_linkage"].astype(bool),
    )
    table["consent_any"] = table["consent_parent"] | table["consent_child"]
    return table.sort_values("survey_id").reset_index(drop=True)


def _level(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values) and ((values.dropna() % 1) == 0).all():
        values = values.astype("Int64")  # 2.0 -> "2"
    return values.astype("string").fillna("missing")


def consent_rates(table: pd.DataFrame, by: str | None = None, *, outcome: str = "consent_any", weight: str | None = None) -> pd.DataFrame:
    """Share with ``outcome`` overall or by ``by``: ``n``, ``consenting``, ``rate``.

    With ``weight`` (e.g. ``w1_weight``) the rate is weighted; ``n`` and
    ``consenting`` stay unweighted counts.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {list(OUTCOMES)}, got {outcome!r}")
    groups = _level(table[by]) if by else pd.Series("all", index=table.index)
    w = table[weight].astype(float) if weight else pd.Series(1.0, index=table.index)
    y = table[outcome].astype(bool)
    frame = pd.DataFrame({"group": groups, "y": y, "w": w, "wy": w * y})
    out = frame.groupby("group", sort=True).agg(n=("y", "size"), consenting=("y", "sum"), w=("w", "sum"), wy=("wy", "sum"))
    out["rate"] = out["wy"] / out["w"]
    out = out.drop(columns=["w", "wy"]).reset_index().rename(columns={"group": by or "group"})
    return out


def consent_bias(
    table: pd.DataFrame,
    variables: Mapping[str, str] | Sequence[str] | None = None,
    *,
    outcome: str = "consent_any",
) -> pd.DataFrame:
    """Compare consenters with non-consenters on each characteristic.

    One row per variable and level: the share of consenters and of
    non-consenters at that level, and the difference in percentage points
    (consenters minus non-consenters). Missing values are a level of their own.
    """
    if variables is None:
        variables = {k: v for k, v in {**FRAME_VARIABLES, **ANSWER_VARIABLES}.items() if k in table.columns}
    labels = dict(variables) if isinstance(variables, Mapping) else {v: v for v in variables}
    y = table[outcome].astype(bool)
    rows = []
    for col, label in labels.items():
        level = _level(table[col])
        for value in sorted(level.unique()):
            at = level == value
            rows.append(
                {
                    "variable": label,
                    "level": value,
                    "share_consenters": at[y].mean() if y.any() else float("nan"),
                    "share_non_consenters": at[~y].mean() if (~y).any() else float("nan"),
                }
            )
    out = pd.DataFrame(rows, columns=["variable", "level", "share_consenters", "share_non_consenters"])
    out["difference_pp"] = 100 * (out["share_consenters"] - out["share_non_consenters"])
    return out

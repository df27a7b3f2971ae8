"""Balance: do the weighted consenters look like the frame they stand for?

Weights are meant to make the analysed families represent the frame. DfE's
frame totals (``data/research/frame_totals.csv``, released with the
extract) say what the frame looks like, so the check is direct: for each
category of each frame variable, the standardised difference

    d = (p_sample - P_frame) / sqrt(P_frame (1 - P_frame)),

the gap between the sample's share and the frame's, in standard deviations
of the frame (so categories of different size compare). |d| below 0.1 is
the usual threshold for negligible imbalance (Austin 2009). Three samples
of the NPD analysis (wave-1 respondents) are compared: all respondents
with survey weights (the survey's own representativeness), the analysable
families unweighted, and the analysable families with the analysis
weights. A weighting that works brings the last close to zero; what the
weights cannot balance (what the frame does not record) no table shows.
Shares are among rows with a known value (a value blanked for
k-anonymity is left out).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.io import read_table

SAMPLES = ("respondents_survey_weighted", "analysable_unweighted", "analysable_weighted")
LABELS = {
    "stratum": "stratum", "frame_sen_provision": "provision", "frame_fsm": "FSM", "frame_eal": "EAL",
    "frame_ethnicity": "ethnicity", "frame_idaci_quintile": "IDACI quintile", "frame_sex": "sex", "frame_need_area": "area of need",
}


def _shares(categories: pd.Series, weights: np.ndarray) -> pd.Series:
    known = categories.notna().to_numpy()
    w = pd.Series(np.where(known, weights, 0.0), index=categories.index)
    total = w.sum()
    return w.groupby(categories.astype(object)).sum() / total if total > 0 else pd.Series(dtype=float)


def standardised_differences(categories: pd.DataFrame, weights: np.ndarray, totals: pd.DataFrame) -> pd.DataFrame:
    """Per variable and category: frame share, sample share, standardised difference.

    Parameters
    ----------
    categories
        :func:`sendlink.deidentify.analysis_support.frame_categories` of the sample's rows.
    weights
        One weight per row (ones for an unweighted sample).
    totals
        The frame totals (``variable, category, frame_pupils``).
    """
    rows = []
    for variable, t in totals[totals["variable"] != "all"].groupby("variable", sort=False):
        if variable not in categories.columns:
            continue
        frame = t.set_index("category")["frame_pupils"].astype(float)
        frame = frame / frame.sum()
        sample = _shares(categories[variable], weights)
        counts = categories[variable].astype(object).value_counts()
        for category, P in frame.items():
            p = float(sample.get(category, 0.0))
            d = (p - P) / np.sqrt(P * (1 - P)) if 0 < P < 1 else np.nan
            rows.append({"variable": variable, "category": str(category), "frame_share": P, "sample_share": p, "std_diff": d,
                         "families": int(counts.get(category, 0))})
    return pd.DataFrame(rows)


def balance_table(extract: pd.DataFrame, analysis, totals_path: str | Path, *, outcome: str = "persistent_absence") -> pd.DataFrame:
    """Standardised differences for the three samples of ``outcome``'s main model (see the module docstring).

    ``totals_path`` is DfE's frame totals file (``catalogue.FRAME_TOTALS``).

    Raises
    ------
    FileNotFoundError
        If DfE's frame totals are not there.
    """
    from sendlink.deidentify.analysis_support import frame_categories
    from sendlink.outcomes.analysis import OUTCOMES, masks

    path = Path(totals_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} (DfE's frame totals) not found; rerun `sendlink extract`")
    totals = read_table(path)
    cats = frame_categories(extract)
    population, _, _ = masks(extract, OUTCOMES[outcome])
    rows = analysis.samples[(outcome, "main")].to_numpy()
    base = extract[OUTCOMES[outcome].base_weight].to_numpy(dtype=float)
    weight = analysis.weights[(outcome, "main")].weight.to_numpy(dtype=float)
    parts = []
    for name, mask, w in (("respondents_survey_weighted", population.to_numpy(), base),
                          ("analysable_unweighted", rows, np.ones(len(extract))),
                          ("analysable_weighted", rows, weight)):
        d = standardised_differences(cats.loc[mask], np.nan_to_num(w[mask]), totals)
        parts.append(d.assign(sample=name))
    out = pd.concat(parts, ignore_index=True)
    out["label"] = out["variable"].map(LABELS).fillna(out["variable"]) + ": " + out["category"]
    return out


def summary(table: pd.DataFrame) -> dict:
    """Per sample: the largest and mean |d|, and how many categories exceed 0.1."""
    out = {}
    for name, g in table.groupby("sample", sort=False):
        d = g["std_diff"].abs().dropna()
        out[name] = {"max_abs": round(float(d.max()), 4), "mean_abs": round(float(d.mean()), 4), "over_0_1": int((d > 0.1).sum()), "categories": int(len(d))}
    return out


def love_plot(table: pd.DataFrame, ax=None):
    """Standardised differences per category, one marker per sample (a "Love plot")."""
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(table["label"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.22 * len(labels) + 1.4))
    y = np.arange(len(labels))[::-1]
    style = {"respondents_survey_weighted": ("#999999", "D", "respondents, survey weights"),
             "analysable_unweighted": ("#b2182b", "o", "analysable, unweighted"),
             "analysable_weighted": ("#2166ac", "s", "analysable, analysis weights")}
    for name, (colour, marker, label) in style.items():
        g = table[table["sample"] == name].set_index("label").reindex(labels)
        ax.plot(g["std_diff"], y, marker, color=colour, ms=4, label=label, ls="none")
    for x in (-0.1, 0.1):
        ax.axvline(x, color="#cccccc", lw=0.8, ls="--")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("standardised difference from the frame (DfE's frame totals)")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def publishable(table: pd.DataFrame, threshold: int = 10) -> pd.DataFrame:
    """The balance table for publication: a sample share (and its difference) of fewer than ``threshold`` families is blanked.

    Frame shares are DfE's published totals; the number of families is not
    published (only whether it reached the threshold).
    """
    out = table.copy()
    small = out["families"] < threshold
    out.loc[small, ["sample_share", "std_diff"]] = np.nan
    return out.drop(columns="families").round(4)

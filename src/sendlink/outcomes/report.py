"""Published outputs of the analysis: disclosure-checked tables and figures.

Every table here goes through :mod:`sendlink.disclosure` before it is
written or shown:

* model estimates (:func:`publish_estimates`): a model is published only
  when it has at least ``min_contributors`` rows and, for a binary
  exposure, at least ``threshold`` rows with and without it; the number of
  rows is rounded to the rounding base. Regression coefficients of models
  this size do not reveal any one person's value.
* weight distributions (:func:`publish_weights`): quantiles only (never the
  smallest or largest weight, each of which is one person's), counts
  rounded and small counts suppressed;
* descriptive tables by provision (:func:`describe_by_provision`): the
  disclosure module's percentage and magnitude tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendlink import disclosure
from sendlink.disclosure import SUPPRESSED, round_to_base
from sendlink.outcomes.analysis import OUTCOMES
from sendlink.outcomes.variables import analysis_variables

#: Decimal places of published estimates (enough for odds ratios near 1,
#: few enough that every machine prints the same digits).
DECIMALS = 3


def _fmt(value: float, decimals: int = DECIMALS) -> str:
    if value is None or not np.isfinite(value):
        return disclosure.UNAVAILABLE
    text = f"{value:.{decimals}f}"
    return "0." + "0" * decimals if text.startswith("-") and float(text) == 0 else text


def _count(n: float, params: disclosure.DisclosureParams) -> str:
    if n is None or not np.isfinite(n):
        return disclosure.NOT_APPLICABLE
    n = int(n)
    if 0 < n < params.threshold or (n == 0 and params.suppress_zeros):
        return SUPPRESSED
    return str(round_to_base(n, params.rounding) if params.rounding else n)


def publish_estimates(estimates: pd.DataFrame, params=None) -> pd.DataFrame:
    """The estimates as a publishable table (strings), checked.

    Parameters
    ----------
    estimates
        :attr:`sendlink.outcomes.analysis.Analysis.estimates` (or any table
        with its columns).
    params
        The disclosure rules (``params.yaml``'s ``disclosure:``, or the
        whole mapping); defaults otherwise.

    Returns
    -------
    pandas.DataFrame
        Indexed by (outcome, model, estimator, term); columns ``n``
        (rounded), ``effect``, ``effect_low``, ``effect_high`` (odds/rate
        ratios or differences) and ``coef``, ``se`` (model scale). A row
        whose model is too small, or whose exposure is too rare or too
        common, shows ``c`` throughout.
    """
    rules = disclosure.settings(params)
    rows = []
    for r in estimates.itertuples(index=False):
        exposed = getattr(r, "exposed", np.nan)
        small = r.n < rules.min_contributors or (
            np.isfinite(exposed) and (exposed < rules.threshold or r.n - exposed < rules.threshold)
        )
        values = {
            "n": _count(r.n, rules),
            "effect": _fmt(r.effect), "effect_low": _fmt(r.effect_low), "effect_high": _fmt(r.effect_high),
            "coef": _fmt(r.coef), "se": _fmt(r.se),
        }
        if small:
            values = dict.fromkeys(values, SUPPRESSED)
        rows.append({"outcome": r.outcome, "model": r.model, "estimator": r.estimator, "term": r.term, "scale": r.scale, **values})
    table = pd.DataFrame(rows).set_index(["outcome", "model", "estimator", "term", "scale"])
    disclosure.check_published(table, rules, kind="magnitudes", count_columns=("n",))
    return table


def publish_weights(summaries: pd.DataFrame, params=None) -> pd.DataFrame:
    """Weight distributions (quantiles, design effect) as a publishable table."""
    rules = disclosure.settings(params)
    rows = []
    for r in summaries.itertuples(index=False):
        rows.append({
            "outcome": r.outcome, "model": r.model, "n": _count(r.n, rules),
            **{q: _fmt(getattr(r, q), 2) for q in ("p01", "p25", "median", "p75", "p99")},
            "trimmed_at": _fmt(r.cap, 2), "n_trimmed": _count(r.n_trimmed, rules),
            "design_effect": _fmt(r.design_effect, 2), "effective_n": _count(round(r.effective_n), rules),
        })
    table = pd.DataFrame(rows).set_index(["outcome", "model"])
    disclosure.check_published(table, rules, kind="magnitudes", count_columns=("n", "n_trimmed", "effective_n"))
    return table


def analysis_sample_rows(extract: pd.DataFrame, analysis, outcome: str, model: str = "main") -> pd.DataFrame:
    """The extract rows of one analysis sample with readable labels (for descriptive tables)."""
    rows = analysis.samples[(outcome, model)]
    variables = analysis_variables(extract)
    out = pd.DataFrame({
        "provision": np.where(variables["ehc"] == 1, "EHC plan", "SEN support"),
        "unmet_need": np.where(variables["unmet_need"] == 1, "unmet need", "no unmet need"),
        "fsm": np.where(variables["fsm"] == 1, "FSM", "not FSM"),
        **{name: variables[name] for name in OUTCOMES},
    }, index=extract.index)
    out["persistent_absence"] = out["persistent_absence"].map({1.0: "persistently absent", 0.0: "not persistently absent"})
    return out.loc[rows.to_numpy()]


def describe_by_provision(extract: pd.DataFrame, analysis, params=None) -> dict[str, disclosure.ProtectedTable]:
    """Descriptive tables of the NPD analysis sample by provision, protected.

    Unweighted: they describe the linked analysis sample, not the
    population (the models' weighted estimates do that).

    Returns
    -------
    dict
        ``counts`` (provision x unmet need), ``persistent_absence``
        (percentages), ``suspensions`` and ``attainment8`` (means), and
        ``wellbeing`` (mean, the wave-2 sample).
    """
    rules = disclosure.settings(params)
    npd = analysis_sample_rows(extract, analysis, "persistent_absence")
    wb = analysis_sample_rows(extract, analysis, "wellbeing")
    return {
        "counts": disclosure.crosstab(npd, "provision", "unmet_need", rules),
        "persistent_absence": disclosure.protect_percentages(npd, "provision", "persistent_absence", rules, levels=["persistently absent"]),
        "suspensions": disclosure.protect_magnitudes(npd, "provision", "suspensions", rules, label="mean suspensions, Years 10-11"),
        "attainment8": disclosure.protect_magnitudes(npd, "provision", "attainment8", rules, label="mean Attainment 8"),
        "wellbeing": disclosure.protect_magnitudes(wb, "provision", "wellbeing", rules, label="mean life satisfaction, wave 2"),
    }


# --- figures -----------------------------------------------------------------------

ESTIMATOR_STYLE = {
    "naive": {"color": "#b2182b", "marker": "o", "label": "naive (consenters, unweighted)"},
    "design": {"color": "#999999", "marker": "D", "label": "survey weights only"},
    "weighted": {"color": "#2166ac", "marker": "s", "label": "weighted (survey x consent)"},
}


def forest_plot(table: pd.DataFrame, *, estimators: tuple[str, ...] = ("naive", "weighted"), ax=None, title: str | None = None):
    """Forest plot of estimates against the census and generating values.

    Parameters
    ----------
    table
        :func:`sendlink.outcomes.truth.comparison` output (model scale).
    estimators
        Which estimators to draw, each with its 95% interval.

    One row per planted effect; the census value is a black bar, the
    generating value a hollow diamond, estimates points with intervals.
    Effects are on the model's scale (log-odds, log-rate ratio, points); a
    panel per outcome, because the scales differ.
    """
    import matplotlib.pyplot as plt

    effects = table.drop_duplicates("effect")[["effect", "outcome", "term", "census", "generating"]]
    outcomes = list(dict.fromkeys(effects["outcome"]))
    if ax is None:
        heights = [max(1.2, 0.55 * (effects["outcome"] == o).sum() + 0.6) for o in outcomes]
        fig, axes = plt.subplots(len(outcomes), 1, figsize=(7.5, sum(heights) + 0.8), gridspec_kw={"height_ratios": heights})
        axes = np.atleast_1d(axes)
    else:
        fig, axes = ax.figure, np.atleast_1d(ax)
    offsets = np.linspace(-0.18, 0.18, len(estimators)) if len(estimators) > 1 else [0.0]
    for axis, outcome in zip(axes, outcomes, strict=False):
        rows = effects[effects["outcome"] == outcome].reset_index(drop=True)
        for i, r in rows.iterrows():
            y = len(rows) - 1 - i
            axis.plot([r.census, r.census], [y - 0.32, y + 0.32], color="black", lw=2, zorder=3, label="census value" if i == 0 else None)
            axis.plot(r.generating, y, marker="D", mfc="none", mec="black", ms=7, ls="none", zorder=3, label="generating value" if i == 0 else None)
            for off, est in zip(offsets, estimators, strict=True):
                e = table[(table["effect"] == r.effect) & (table["estimator"] == est)]
                if e.empty:
                    continue
                e = e.iloc[0]
                style = ESTIMATOR_STYLE[est]
                axis.errorbar(e.estimate, y + off, xerr=[[e.estimate - e.ci_low], [e.ci_high - e.estimate]], fmt=style["marker"],
                              color=style["color"], ms=5, capsize=2, label=style["label"] if i == 0 else None)
        axis.set_yticks(range(len(rows)))
        axis.set_yticklabels([t.replace("_x_", " x ").replace("_", " ") for t in rows["term"][::-1]])
        scale = table.loc[table["outcome"] == outcome, "scale"].iloc[0]
        axis.set_title(f"{OUTCOMES[outcome].label} ({scale})", loc="left", fontsize=10)
        axis.axvline(0, color="#cccccc", lw=0.8, zorder=0)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig

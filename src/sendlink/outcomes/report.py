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


def publish_estimates(estimates: pd.DataFrame, rules: disclosure.DisclosureParams) -> pd.DataFrame:
    """The estimates as a publishable table (strings), checked.

    Parameters
    ----------
    estimates
        :attr:`sendlink.outcomes.analysis.Analysis.estimates` (or any table
        with its columns).
    rules
        The disclosure rules (``disclosure:`` of ``params.yaml``).

    Returns
    -------
    pandas.DataFrame
        Indexed by (outcome, model, estimator, term); columns ``n``
        (rounded), ``effect``, ``effect_low``, ``effect_high`` (odds/rate
        ratios or differences) and ``coef``, ``se`` (model scale), and when
        the estimates have them ``se_sandwich``, ``se_bootstrap`` (``se``
        is the bootstrap's where there is one) and the average marginal effect
        ``ame``, ``ame_low``, ``ame_high``. A row whose model is too small,
        or whose exposure is too rare or too common, shows ``c`` throughout.
    """
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
        # Second edition: both standard errors, which one the interval uses, and the marginal effect.
        for name in ("se_sandwich", "se_bootstrap", "ame", "ame_low", "ame_high"):
            if hasattr(r, name):
                values[name] = _fmt(getattr(r, name))
        if small:
            values = dict.fromkeys(values, SUPPRESSED)
        rows.append({"outcome": r.outcome, "model": r.model, "estimator": r.estimator, "term": r.term, "scale": r.scale, **values})
    table = pd.DataFrame(rows).set_index(["outcome", "model", "estimator", "term", "scale"])
    disclosure.check_published(table, rules, kind="magnitudes", count_columns=("n",))
    return table


def publish_weights(summaries: pd.DataFrame, rules: disclosure.DisclosureParams) -> pd.DataFrame:
    """Weight distributions (quantiles, design effect) as a publishable table."""
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


def describe_by_provision(extract: pd.DataFrame, analysis, rules: disclosure.DisclosureParams) -> dict[str, disclosure.ProtectedTable]:
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
        :func:`sendlink.evaluate.outcomes.comparison` output (model scale).
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
    fig.tight_layout(rect=(0, 0.6 / fig.get_figheight(), 1, 1))
    return fig


# --- for notebook 06: reading the pipeline's summary ----------------------------------

#: Why a wave-1 household is, or is not, in the linked analysis of NPD outcomes.
STATUS_LABELS = (
    "1 no permission for the parent's answers",
    "2 permission, not linked",
    "3 linked, parent's answers withheld",
    "4 linked and analysable",
)


def analysis_status(extract: pd.DataFrame) -> pd.Series:
    """Each wave-1 household's place on the way to the NPD analyses (:data:`STATUS_LABELS`).

    Independent-school cases (outside the NPD) are left out (missing).
    """
    from sendlink.outcomes.analysis import INDEPENDENT_STRATUM

    linked = extract["npd_linked"].astype(bool)
    withheld = extract["parent_answers_withheld"].astype(bool)
    granted = extract["consent_parent_answers"].astype(str) == "granted"
    status = np.select(
        [linked & ~withheld, linked & withheld, granted & ~linked],
        [STATUS_LABELS[3], STATUS_LABELS[2], STATUS_LABELS[1]],
        STATUS_LABELS[0],
    )
    out = pd.Series(status, index=extract.index, name="status", dtype=object)
    return out.where(extract["stratum"].astype(str) != INDEPENDENT_STRATUM)


def comparison_from_summary(summary: dict) -> pd.DataFrame:
    """The truth comparison as a table, from ``data/summary.json`` (no truth read here).

    Same columns as :func:`sendlink.evaluate.outcomes.comparison` (model scale):
    ``effect, outcome, exposure, term, scale, generating, census, estimator,
    estimate, se, ci_low, ci_high, n``, plus ``covers`` (the 95% interval
    contains the census value).
    """
    rows = []
    for e in summary.get("effects", []):
        for estimator in ("naive", "design", "weighted"):
            est = e.get(estimator)
            if not est:
                continue
            census = e.get("census_value")
            census = np.nan if census is None else census
            rows.append({
                "effect": e["effect"], "outcome": e["outcome"], "exposure": e["exposure"], "term": e["term"], "scale": e["scale"],
                "generating": e.get("generating_value"), "census": census, "estimator": estimator,
                "estimate": est["estimate"], "se": est["se"], "ci_low": est["ci_low"], "ci_high": est["ci_high"], "n": est["n"],
                "covers": bool(est["ci_low"] <= census <= est["ci_high"]) if np.isfinite(census) else None,
            })
    return pd.DataFrame(rows)


def sensitivity_from_summary(summary: dict) -> pd.DataFrame:
    """Weighted estimates per planted effect under each set of links (``evaluation.linkage_sensitivity``)."""
    sens = summary.get("evaluation", {}).get("linkage_sensitivity", {})
    census = {e["effect"]: e.get("census_value") for e in summary.get("effects", [])}
    rows = [{"extract": name, "effect": effect, "census": census.get(effect), **values}
            for name, effects in sens.items() for effect, values in effects.items()]
    return pd.DataFrame(rows)


def weight_quantile_plot(summaries: pd.DataFrame, ax=None):
    """The published quantiles of the analysis weights (main models), one line per population."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 2.6))
    main = summaries[summaries["model"] == "main"].drop_duplicates(["median", "p99"])
    labels = {"persistent_absence": "NPD outcomes (wave-1 parents)", "wellbeing": "wellbeing (wave-2 young people)"}
    for i, r in enumerate(main.itertuples(index=False)):
        label = labels.get(r.outcome, r.outcome)
        ax.plot([r.p01, r.p99], [i, i], color="#2166ac", lw=1)
        ax.plot([r.p25, r.p75], [i, i], color="#2166ac", lw=6, solid_capstyle="butt")
        ax.plot(r.median, i, "o", color="white", mec="#2166ac")
        ax.plot(r.cap, i, "|", color="#b2182b", ms=14, mew=2)
        ax.text(r.p99, i + 0.25, f"  {label}", fontsize=8, va="bottom", ha="right")
    ax.set_yticks([])
    ax.set_ylim(-0.6, len(main) - 0.2)
    ax.set_xscale("log")
    ticks = [t for t in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200) if main["p01"].min() / 1.5 <= t <= main["cap"].max() * 1.5]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("analysis weight (log scale): 1st-99th percentile, quartiles, median; red: trimmed at")
    ax.set_title("Analysis weights: survey weight x inverse probability of consent and link")
    return ax

"""The analysis stage of the pipeline (``sendlink analyse``).

Reads ``data/research/`` (the extracts) and writes:

* ``data/research/analysis/estimates.csv``: every model's estimates
  (outcome x model x estimator x term), disclosure-checked;
* ``data/research/analysis/weights.csv``: the distribution of the analysis
  weights per model, disclosure-checked;
* ``data/research/analysis/consent_model.csv``: odds ratios of the
  consent-and-link model, disclosure-checked;
* ``data/research/analysis/sensitivity.csv``: the main model's estimates on
  the strict and loose extracts (when present), disclosure-checked;
* ``reports/summary.json`` (keys in :func:`summary`).

When the synthetic truth is present, evaluation code
(:mod:`sendlink.outcomes.truth`) adds the census and generating values, and
the estimates with the false matches removed, to the summary; the analysis
itself never reads truth.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendlink import disclosure
from sendlink.config import Paths, load_params
from sendlink.io import StagedWrites
from sendlink.outcomes.analysis import EFFECT_TERMS, OUTCOMES, Analysis, analyse, read_extract
from sendlink.outcomes.params import settings
from sendlink.outcomes.report import _count, _fmt, publish_estimates, publish_weights

log = logging.getLogger(__name__)

ANALYSIS_DIR = "analysis"
SUMMARY_FILE = "summary.json"
EXTRACTS = {"main": "extract.parquet", "strict": "extract_strict.parquet", "loose": "extract_loose.parquet"}
QUALITY_FILE = "linkage_quality.json"
SUMMARY_VERSION = 2
#: Estimators reported per effect in the summary (``linkage_corrected`` when fitted).
ESTIMATOR_KEYS = ("naive", "design", "weighted", "linkage_corrected")
ESTIMAND = ("adjusted association: the difference in each outcome between children of the frame population "
            "who differ in the exposure and are alike in the covariates; not a causal effect")


def _r(value: Any, digits: int = 4) -> Any:
    """Round for the summary (so it is identical on every machine); NaN -> None."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    value = float(value)
    return None if not np.isfinite(value) else round(value, digits)


def consent_rates(extract: pd.DataFrame) -> dict[str, Any]:
    """Permission rates among the wave-1 responding households in the extract."""
    n = len(extract)
    parent = extract["consent_parent_answers"].astype(str) == "granted"
    child = extract["consent_child_answers"].astype(str) == "granted"
    return {
        "households": n,
        "parent_answers_granted": _r(parent.mean()),
        "child_answers_granted": _r(child.mean()),
        "either_granted": _r((parent | child).mean()),
        "both_granted": _r((parent & child).mean()),
    }


def linkage_summary(extract: pd.DataFrame, quality: Mapping[str, Any] | None) -> dict[str, Any]:
    """Match rate from the extract; precision, recall and F1 from the quality report."""
    status = extract["link_status"].astype(str)
    sent = int((status != "not_sent").sum())
    linked = int(extract["npd_linked"].astype(bool).sum())
    out: dict[str, Any] = {"sent": sent, "linked": linked, "match_rate": _r(linked / sent if sent else np.nan),
                           "precision": None, "recall": None, "f1": None, "quality_report": None}
    if quality:
        found = _find_metrics(quality)
        out.update({k: _r(v) for k, v in found.items()})
        out["quality_report"] = f"data/linkage/{QUALITY_FILE}"
    return out


def _find_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """precision / recall / f1 from a quality report, wherever they sit.

    The first mapping (breadth-first: the top level, then ``main``,
    ``overall`` or any other section) that holds all three wins.
    """
    queue: list[Mapping[str, Any]] = [report]
    while queue:
        node = queue.pop(0)
        keys = {k.lower(): k for k in node}
        if {"precision", "recall"} <= set(keys):
            f1 = node.get(keys.get("f1", ""), node.get(keys.get("f_measure", ""), None))
            return {"precision": node[keys["precision"]], "recall": node[keys["recall"]], "f1": f1}
        preferred = [node[k] for k in ("main", "overall", "links", "metrics") if isinstance(node.get(k), Mapping)]
        others = [v for k, v in node.items() if isinstance(v, Mapping) and v not in preferred]
        queue.extend(preferred + others)
    return {}


def _interval(row: pd.Series | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = {"estimate": _r(row["coef"]), "se": _r(row["se"]), "ci_low": _r(row["ci_low"]), "ci_high": _r(row["ci_high"]),
           "effect": _r(row["effect"]), "effect_low": _r(row["effect_low"]), "effect_high": _r(row["effect_high"]), "n": int(row["n"])}
    for key in ("se_sandwich", "se_bootstrap", "variance", "ame", "ame_se", "ame_low", "ame_high", "fmi"):
        if key in row.index:
            out[key] = row[key] if isinstance(row[key], str) else _r(row[key])
    return out


def effect_rows(estimates: pd.DataFrame, planted: pd.DataFrame | None, census: pd.DataFrame | None) -> list[dict[str, Any]]:
    """One entry per planted effect (or per exposure term when truth is absent)."""
    if planted is None:
        planted = pd.DataFrame([{"effect": f"{o}:{e}", "outcome": o, "exposure": e, "generating_value": np.nan} for o in OUTCOMES for e in EFFECT_TERMS])
    entries = []
    for p in planted.itertuples(index=False):
        model, term = EFFECT_TERMS[p.exposure]
        est = estimates[(estimates["outcome"] == p.outcome) & (estimates["model"] == model) & (estimates["term"] == term)]
        if est.empty:
            continue
        by = {e: (est[est["estimator"] == e].iloc[0] if (est["estimator"] == e).any() else None) for e in ESTIMATOR_KEYS}
        c = None
        if census is not None:
            hit = census[(census["outcome"] == p.outcome) & (census["model"] == model) & (census["term"] == term)]
            c = hit.iloc[0] if len(hit) else None
        first = est.iloc[0]
        entries.append({
            "effect": p.effect, "outcome": p.outcome, "exposure": p.exposure, "model": model, "term": term,
            "family": first["family"], "scale": {"logistic": "log odds ratio", "poisson": "log rate ratio",
                                                 "negative_binomial": "log rate ratio", "linear": "difference"}[first["family"]],
            "reported_as": first["scale"],
            "generating_value": _r(p.generating_value),
            "census_value": None if c is None else _r(c["census"]),
            "ame_unit": first["ame_unit"] if "ame_unit" in first.index else None,
            **{e: _interval(by[e]) for e in ESTIMATOR_KEYS if e in by and (by[e] is not None or e in ("naive", "design", "weighted"))},
        })
    return entries


def summary(extract: pd.DataFrame, analysis: Analysis, *, params: Mapping[str, Any] | None = None,
            quality: Mapping[str, Any] | None = None, planted: pd.DataFrame | None = None,
            census: pd.DataFrame | None = None, evaluation: Mapping[str, Any] | None = None,
            extras: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's headline numbers (``reports/summary.json``).

    Keys
    ----
    ``version``
        Version of this layout (2: adds the keys from ``estimand`` on, and
        the standard errors and marginal effects of each estimate).
    ``consent``
        Among the wave-1 responding households in the extract:
        ``households`` (rows), and the shares with ``parent_answers_granted``,
        ``child_answers_granted``, ``either_granted``, ``both_granted``.
    ``linkage``
        ``sent`` (cases sent for linkage), ``linked`` (rows with NPD data),
        ``match_rate`` (linked / sent); ``precision``, ``recall``, ``f1`` from
        ``data/linkage/linkage_quality.json`` (null when absent) and
        ``quality_report`` (its path, or null).
    ``samples``
        Per outcome: ``respondents`` (the population the weights describe,
        excluding independent-school cases), ``consented`` (permission for
        the answers used), ``analysable`` (consented and linked), ``n``
        (rows in the main model), ``model`` (``logistic``, ``poisson``,
        ``negative_binomial``, ``linear``: fixed in advance) and, for
        counts, ``nb_alpha`` (negative binomial only) and the
        overdispersion diagnostic ``overdispersion_alpha``,
        ``overdispersion_p``.
    ``weights``
        Per outcome (main model): ``median``, ``p99``, ``trimmed_at``,
        ``n_trimmed``, ``design_effect``, ``effective_n``.
    ``effects``
        A list, one entry per planted effect: ``effect``
        (``outcome:exposure``), ``outcome``, ``exposure``, ``model``
        (``main`` or ``modification``), ``term``, ``family``, ``scale``
        (the scale of every number below: log odds ratio, log rate ratio
        or difference), ``reported_as`` (odds ratio, rate ratio,
        difference: the ``effect*`` fields), ``generating_value`` (the
        coefficient the data were generated with; null without truth),
        ``census_value`` (the analysis model fitted on the whole frame with
        true values: the target; null without truth), ``ame_unit`` (the
        natural scale of the marginal effects), and ``naive``, ``design``,
        ``weighted`` and ``linkage_corrected`` (false links corrected;
        when fitted): each ``estimate``, ``se``, ``ci_low``, ``ci_high``
        (95%; for ``weighted`` from the bootstrap when it ran),
        ``effect``, ``effect_low``, ``effect_high``, ``n``,
        ``se_sandwich``, ``se_bootstrap`` (null unless bootstrapped),
        ``variance`` (``bootstrap`` or ``sandwich``: which ``se`` is),
        ``fmi`` (fraction of missing information due to imputation),
        ``ame`` (average marginal effect on the natural scale) with
        ``ame_se``, ``ame_low``, ``ame_high`` (bootstrap; null without).
    ``estimand``
        In words: an adjusted association, not a causal effect.
    ``variance``
        ``headline`` (``bootstrap`` or ``sandwich``), ``replicates`` (B),
        ``bootstrap_over_sandwich`` (median, min, max ratio of the weighted
        estimates' two standard errors).
    ``imputation``
        Per outcome source (``npd``: the NPD outcomes' rows; ``survey``:
        wellbeing's): ``imputations`` (M; 0 when nothing was missing),
        ``rows`` (rows imputed), ``missing`` (per variable, rows missing
        before imputation).
    ``selection``
        Per analysis population (``p1_responded``, ``yp2_responded``):
        ``respondents``, ``consented``, ``linked``, ``consent_rate``,
        ``link_rate`` (among the consented).
    ``balance``
        Standardised differences of frame characteristics against DfE's
        frame totals: per sample (``respondents_survey_weighted``,
        ``analysable_unweighted``, ``analysable_weighted``), ``max_abs``
        and ``mean_abs`` over the categories, and ``over_0_1`` (how many
        categories differ by more than 0.1).
    ``sensitivity``
        Tipping points of the delta adjustment
        (:mod:`sendlink.outcomes.sensitivity`), per main-model effect whose
        interval excludes no difference: ``delta_estimate_zero`` and
        ``delta_interval_zero`` (model scale), ``shift_per_delta``.
    ``linkage_correction``
        ``expected_false_links`` (sum of 1 - match probability over the
        analysed linked rows) and, per effect, the weighted and
        false-link-corrected estimates.
    ``evaluation``
        Only with truth: ``weighted_within_99`` (every weighted estimate
        within its 99% interval of the census value), ``naive_within_99``,
        ``linkage_sensitivity`` (weighted estimates per effect with the
        main, strict, loose extracts and with the false matches removed,
        and the false-match counts).
    ``settings``
        The ``outcomes:`` parameters used.

    Numbers are rounded to 4 decimal places.
    """
    s = settings(params)
    samples = {}
    for name, outcome in OUTCOMES.items():
        if (name, "main") not in analysis.samples:
            continue
        sel = analysis.selections[name]
        fit = analysis.fits.get((name, "main", "weighted"))
        samples[name] = {
            "respondents": sel.n_population, "consented": sel.n_consented, "analysable": sel.n_linked,
            "n": int(analysis.samples[(name, "main")].sum()),
            "model": fit.family if fit else None,
            "nb_alpha": _r(fit.alpha) if fit and fit.alpha is not None else None,
            "overdispersion_alpha": _r(fit.overdispersion.alpha) if fit and fit.overdispersion else None,
            "overdispersion_p": _r(fit.overdispersion.p_value, 6) if fit and fit.overdispersion else None,
            "base_weight": outcome.base_weight,
        }
    weights = {}
    ws = analysis.weight_summaries()
    for r in ws[ws["model"] == "main"].itertuples(index=False):
        weights[r.outcome] = {"median": _r(r.median, 3), "p99": _r(r.p99, 3), "trimmed_at": _r(r.cap, 3), "n_trimmed": int(r.n_trimmed),
                              "design_effect": _r(r.design_effect, 3), "effective_n": _r(r.effective_n, 1)}
    out = {
        "version": SUMMARY_VERSION,
        "consent": consent_rates(extract),
        "linkage": linkage_summary(extract, quality),
        "samples": samples,
        "weights": weights,
        "effects": effect_rows(analysis.estimates, planted, census),
        "estimand": ESTIMAND,
        "variance": variance_summary(analysis),
        "imputation": imputation_summary(analysis),
        "settings": s.model_dump(),
    }
    for key, value in (extras or {}).items():
        out[key] = value
    if evaluation is not None:
        out["evaluation"] = dict(evaluation)
    return out


def variance_summary(analysis: Analysis) -> dict[str, Any]:
    """How the headline intervals were made, and how the two variances compare."""
    w = analysis.estimates[analysis.estimates["estimator"] == "weighted"]
    boot = w["se_bootstrap"].notna()
    replicates = max((len(v[0]) for v in analysis.replicates.values()), default=0)
    ratio = (w.loc[boot, "se_bootstrap"] / w.loc[boot, "se_sandwich"]).to_numpy(dtype=float)
    return {
        "headline": "bootstrap" if boot.any() else "sandwich",
        "replicates": int(replicates),
        "bootstrap_over_sandwich": {"median": _r(np.median(ratio)) if len(ratio) else None,
                                    "min": _r(ratio.min()) if len(ratio) else None, "max": _r(ratio.max()) if len(ratio) else None},
    }


def imputation_summary(analysis: Analysis) -> dict[str, Any]:
    """What was imputed, and how many times."""
    return {source: {"imputations": imp.m if imp.missing else 0, "rows": int(imp.rows.sum()), "missing": {k: int(v) for k, v in imp.missing.items()}}
            for source, imp in analysis.imputations.items()}


def publish_consent_model(analysis: Analysis, params=None) -> pd.DataFrame:
    """Odds ratios of the link step (the researchers' selection model), with small categories suppressed.

    (The consent step is the survey organisation's model; its fitted
    probabilities come with the extract.) The ``part`` is ``link``.
    """
    rules = disclosure.settings(params)
    rows = []
    seen = set()
    for name, sel in analysis.selections.items():
        population = OUTCOMES[name].respondents
        if (population, id(sel)) in seen:
            continue
        seen.add((population, id(sel)))
        for part, result, counts in (("link", sel.link_model.result, sel.link_model.counts),):
            if result is None:
                continue
            ci = result.conf_int()
            for term in result.params.index:
                if term == "const":
                    continue
                n1 = counts.get(term, np.nan)
                small = np.isfinite(n1) and (n1 < rules.threshold or counts["_n"] - n1 < rules.threshold)
                vals = {"n_with": _count(n1, rules), "odds_ratio": _fmt(np.exp(result.params[term])),
                        "ci_low": _fmt(np.exp(ci.loc[term, 0])), "ci_high": _fmt(np.exp(ci.loc[term, 1]))}
                if small:
                    vals = dict.fromkeys(vals, disclosure.SUPPRESSED)
                rows.append({"population": population, "part": part, "term": term, **vals})
    columns = ["population", "part", "term", "n_with", "odds_ratio", "ci_low", "ci_high"]
    table = pd.DataFrame(rows, columns=columns).set_index(["population", "part", "term"])
    if len(table):  # no link step to publish when every consenting family was linked
        disclosure.check_published(table, rules, kind="magnitudes", count_columns=("n_with",))
    return table


@dataclass
class StageResult:
    """What the analysis stage did."""

    analysis: Analysis
    summary: dict[str, Any]
    written: tuple[Path, ...]

    def __str__(self) -> str:
        ev = self.summary.get("evaluation", {})
        check = "" if not ev else f"; weighted estimates within 99% of the census: {ev.get('weighted_within_99')}"
        return f"analysed {len(self.summary['effects'])} effect(s) on {self.summary['consent']['households']} household(s){check}"


def sensitivity_estimates(paths: Paths, params: Mapping[str, Any] | None, main: Analysis) -> pd.DataFrame:
    """Naive and weighted estimates on each extract present, stacked with an ``extract`` column."""
    tables = [main.estimates[main.estimates["estimator"].isin(["naive", "weighted"])].assign(extract="main")]
    for name in ("strict", "loose"):
        path = paths.research / EXTRACTS[name]
        if not path.is_file():
            log.info("no %s extract (%s): linkage sensitivity skipped for it", name, path)
            continue
        # Point estimates only (the linkage sensitivity): two imputations suffice.
        fewer = {**dict(params or {}), "outcomes": {**dict((params or {}).get("outcomes") or {}),
                                                    "imputations": min(2, settings(params).imputations)}}
        other = analyse(read_extract(path), fewer, estimators=("naive", "weighted"))
        tables.append(other.estimates.assign(extract=name))
    return pd.concat(tables, ignore_index=True)


def read_replicates(paths: Paths) -> pd.DataFrame | None:
    """The survey organisation's replicate file, or None (then no bootstrap: sandwich intervals)."""
    from sendlink.deidentify.analysis_support import REPLICATES_FILE
    from sendlink.io import read_table

    path = paths.research / REPLICATES_FILE
    if not path.is_file():
        log.warning("no %s: the headline intervals fall back to the sandwich (weights treated as known)", path)
        return None
    return read_table(path)


def selection_summary(analysis: Analysis) -> dict[str, Any]:
    """Per analysis population: respondents, consented, linked, and the two rates."""
    out = {}
    for sel in {id(s): s for s in analysis.selections.values()}.values():
        out[sel.respondents] = {"respondents": sel.n_population, "consented": sel.n_consented, "linked": sel.n_linked,
                                "consent_rate": _r(sel.n_consented / sel.n_population) if sel.n_population else None,
                                "link_rate": _r(sel.n_linked / sel.n_consented) if sel.n_consented else None}
    return out


def analysis_extras(paths: Paths, params: Mapping[str, Any], extract: pd.DataFrame, analysis: Analysis) -> dict[str, Any]:
    """The summary's ``selection``, ``balance``, ``sensitivity`` and ``linkage_correction`` entries.

    Keys starting with ``_`` carry tables for the written files (not the summary).
    """
    out: dict[str, Any] = {"selection": selection_summary(analysis)}
    try:
        from sendlink.outcomes import balance

        table = balance.balance_table(extract, analysis, paths.research)
        out["balance"] = balance.summary(table)
        out["_balance"] = table
    except FileNotFoundError as exc:
        log.warning("no balance check: %s", exc)
    from sendlink.outcomes import linkage_error, sensitivity

    tipping = sensitivity.tipping_points(extract, analysis, params)
    out["sensitivity"] = sensitivity.summary(tipping)
    out["_tipping"] = tipping
    corrected = linkage_error.corrected_estimates(extract, analysis, params)
    out["linkage_correction"] = linkage_error.summary(corrected, analysis)
    out["_corrected"] = corrected
    # The corrected estimates join the others (estimator linkage_corrected).
    analysis.estimates = pd.concat([analysis.estimates, linkage_error.as_estimates(corrected, analysis)], ignore_index=True)
    return out


def run_analysis_stage(paths: Paths | None = None, params: Mapping[str, Any] | None = None, *,
                       evaluate: bool = True) -> StageResult:
    """Run the analysis stage (see the module docstring).

    Parameters
    ----------
    paths, params
        The project's, by default (a temporary root works too).
    evaluate
        Compare with truth when ``data/synthetic/truth`` is present
        (evaluation code); False skips it.

    Raises
    ------
    InputError
        If the research extract is missing or malformed.
    """
    paths = paths or Paths.discover()
    params = dict(params) if params is not None else load_params(paths.params)
    extract = read_extract(paths.research / EXTRACTS["main"])
    replicates = read_replicates(paths)
    analysis = analyse(extract, params, replicates=replicates)
    extras = analysis_extras(paths, params, extract, analysis)
    sens = sensitivity_estimates(paths, params, analysis)
    quality_path = paths.linkage / QUALITY_FILE
    quality = json.loads(quality_path.read_text(encoding="utf-8")) if quality_path.is_file() else None
    planted = census = evaluation = None
    if evaluate:
        from sendlink.outcomes import truth

        if truth.available(paths):
            result = truth.evaluate_run(paths, params, extract, analysis, sens)
            planted, census, evaluation = result.planted, result.census, result.summary
    summ = summary(extract, analysis, params=params, quality=quality, planted=planted, census=census, evaluation=evaluation,
                   extras={k: v for k, v in extras.items() if not k.startswith("_")})
    out_dir = paths.research / ANALYSIS_DIR
    written = []
    with StagedWrites() as out:
        written.append(out.table(publish_estimates(analysis.estimates, params).reset_index(), out_dir / "estimates.csv"))
        written.append(out.table(publish_weights(analysis.weight_summaries(), params).reset_index(), out_dir / "weights.csv"))
        written.append(out.table(publish_consent_model(analysis, params).reset_index(), out_dir / "consent_model.csv"))
        sens_pub = publish_estimates(sens.drop(columns="extract"), params).reset_index()
        sens_pub.insert(0, "extract", sens["extract"].to_numpy())
        written.append(out.table(sens_pub, out_dir / "sensitivity.csv"))
        if "_balance" in extras:
            from sendlink.outcomes.balance import publishable

            written.append(out.table(publishable(extras["_balance"], disclosure.settings(params).threshold), out_dir / "balance.csv"))
        written.append(out.table(extras["_tipping"].round(4), out_dir / "tipping_points.csv"))
        written.append(out.json(summ, paths.reports / SUMMARY_FILE))
    result = StageResult(analysis, summ, tuple(written))
    log.info("%s", result)
    return result

"""The analysis stage of the pipeline (``sendlink analyse``): :func:`run`.

Run by the researchers. Reads ``data/research/`` (the extracts) only, and writes:

* ``data/research/analysis/estimates.csv``: every model's estimates
  (outcome x model x estimator x term), disclosure-checked;
* ``data/research/analysis/weights.csv``: the distribution of the analysis
  weights per model, disclosure-checked;
* ``data/research/analysis/consent_model.csv``: odds ratios of the
  link step (the researchers' selection model), disclosure-checked;
* ``data/research/analysis/sensitivity.csv``: the main model's estimates on
  the strict and loose extracts (when present), disclosure-checked;
* ``data/research/analysis/balance.csv``: standardised differences of the
  weighted and unweighted analysable families against DfE's frame totals,
  disclosure-checked;
* ``data/research/analysis/tipping_points.csv``: how strongly consent would
  have to depend on the unobserved outcome to overturn each conclusion;
* ``data/summary.json`` (keys in :func:`summary`), the run's headline numbers.

The analysis never reads the truth. When the synthetic truth exists, the
evaluation stage that follows (:mod:`sendlink.evaluate.stage`) adds to the
summary what only the truth can say: linkage precision and recall, the
census and generating values of each planted effect, and the estimates
with the false matches removed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendlink import disclosure
from sendlink.config import Paths
from sendlink.io import StagedWrites, read_table, remove_stale_temporaries
from sendlink.outcomes import balance, linkage_error, sensitivity
from sendlink.outcomes.analysis import (
    EFFECT_TERMS,
    ESTIMATORS,
    OUTCOMES,
    Analysis,
    analyse,
    read_extract,
)
from sendlink.outcomes.report import _count, _fmt, publish_estimates, publish_weights
from sendlink.params import Params, load_params
from sendlink.params.outcomes import OutcomesParams
from sendlink.schema import catalogue

log = logging.getLogger(__name__)

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


def linkage_summary(extract: pd.DataFrame) -> dict[str, Any]:
    """Cases sent, linked and the match rate, from the extract.

    Precision, recall and F1 need the truth: they stay null here and the
    evaluation stage fills them in (with ``quality_report``, its file).
    """
    status = extract["link_status"].astype(str)
    sent = int((status != "not_sent").sum())
    linked = int(extract["npd_linked"].astype(bool).sum())
    return {"sent": sent, "linked": linked, "match_rate": _r(linked / sent if sent else np.nan),
            "precision": None, "recall": None, "f1": None, "quality_report": None}


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


def summary(extract: pd.DataFrame, analysis: Analysis, params: OutcomesParams, *,
            extras: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's headline numbers (``data/summary.json``), as the researchers can compute them.

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
        ``data/linkage/linkage_quality.json`` and ``quality_report`` (its
        path), added by evaluation (null without truth).
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
        Only with truth, added by :mod:`sendlink.evaluate.stage`:
        ``weighted_within_99`` (every weighted estimate within its 99%
        interval of the census value), ``naive_within_99``,
        ``linkage_sensitivity`` (weighted estimates per effect with the
        main, strict, loose extracts and with the false matches removed,
        and the false-match counts).
    ``settings``
        The ``outcomes:`` parameters used.

    Numbers are rounded to 4 decimal places.
    """
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
        "linkage": linkage_summary(extract),
        "samples": samples,
        "weights": weights,
        "effects": effect_rows(analysis.estimates, None, None),
        "estimand": ESTIMAND,
        "variance": variance_summary(analysis),
        "imputation": imputation_summary(analysis),
        "settings": params.model_dump(),
    }
    for key, value in (extras or {}).items():
        out[key] = value
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


def publish_consent_model(analysis: Analysis, rules: disclosure.DisclosureParams) -> pd.DataFrame:
    """Odds ratios of the link step (the researchers' selection model), with small categories suppressed.

    (The consent step is the survey organisation's model; its fitted
    probabilities come with the extract.) The ``part`` is ``link``.
    """
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
        return f"analysed {len(self.summary['effects'])} effect(s) on {self.summary['consent']['households']} household(s)"


def uneven_linkage(extract: pd.DataFrame, recall: dict[str, float], column: str) -> pd.DataFrame:
    """The extract as a linker with these recalls by group would have left it.

    In each group of ``column``, the linked rows are kept at the group's
    recall and the others become missed matches (``npd_linked`` False); a
    group without a recall keeps every link. Which rows are unlinked is
    decided by a hash of the research id, so the result is the same on every
    run and does not depend on row order. The survey answers and the frame
    are untouched: only the link is lost, as with a missed match.
    """
    import hashlib

    out = extract.copy()
    linked = out["npd_linked"].fillna(False).astype(bool).to_numpy()
    groups = out[column].astype("object").to_numpy()
    order = np.array([int(hashlib.sha256(str(r).encode()).hexdigest()[:12], 16) for r in out["research_id"]])
    drop = np.zeros(len(out), dtype=bool)
    for group, kept_share in recall.items():
        rows = np.flatnonzero(linked & (groups == group))
        lose = int(round(len(rows) * (1.0 - kept_share)))
        if lose:
            drop[rows[np.argsort(order[rows], kind="stable")[:lose]]] = True
    out.loc[drop, "npd_linked"] = False
    log.info("uneven linkage: %d of %d linked row(s) unlinked at the group recalls of %s", int(drop.sum()), int(linked.sum()), column)
    return out


def sensitivity_estimates(paths: Paths, params: OutcomesParams, main: Analysis, *, seed: int) -> pd.DataFrame:
    """Naive and weighted estimates on each extract present, stacked with an ``extract`` column.

    Besides the strict and loose extracts (other link rules), ``uneven_linkage``:
    the main extract with links lost unevenly by group (:func:`uneven_linkage`).
    """
    tables = [main.estimates[main.estimates["estimator"].isin(["naive", "weighted"])].assign(extract="main")]
    main_path = catalogue.EXTRACT.at(paths)
    # Point estimates only (the linkage sensitivities): two imputations suffice.
    fewer = params.model_copy(update={"imputations": min(2, params.imputations)})
    if params.uneven_linkage_recall and main_path.is_file():
        uneven = uneven_linkage(read_extract(main_path), params.uneven_linkage_recall, params.uneven_linkage_column)
        other = analyse(uneven, fewer, seed=seed, estimators=("naive", "weighted"))
        tables.append(other.estimates.assign(extract="uneven_linkage"))
    for name in ("strict", "loose"):
        path = catalogue.EXTRACTS[name].at(paths)
        if not path.is_file():
            log.info("no %s extract (%s): linkage sensitivity skipped for it", name, path)
            continue
        other = analyse(read_extract(path), fewer, seed=seed, estimators=("naive", "weighted"))
        tables.append(other.estimates.assign(extract=name))
    return pd.concat(tables, ignore_index=True)


def read_replicates(paths: Paths) -> pd.DataFrame | None:
    """The survey organisation's replicate file, or None (then no bootstrap: sandwich intervals)."""
    path = catalogue.REPLICATES.at(paths)
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


def frame_sizes(paths: Paths) -> dict[str, float] | None:
    """Stratum -> frame pupils from DfE's frame totals (None when the file is absent: no finite-population correction)."""
    from sendlink.deidentify.analysis_support import stratum_sizes

    path = catalogue.FRAME_TOTALS.at(paths)
    if not path.exists():
        log.warning("no frame totals (%s): the bootstrap has no finite-population correction", path)
        return None
    return stratum_sizes(read_table(path))


def fit(paths: Paths, params: Params, *, extra_estimators: tuple[str, ...] = ()) -> tuple[pd.DataFrame, Analysis, pd.DataFrame]:
    """Read the extract and fit every model: the analysis's estimates, deterministic.

    Returns the extract, the :class:`Analysis` (its estimates include the
    bootstrap standard errors when the replicate file is there, and the
    false-link-corrected estimates as estimator ``linkage_corrected``) and
    the corrected estimates' own table. ``extra_estimators`` (from
    :data:`sendlink.outcomes.analysis.EXTRA_ESTIMATORS`) are fitted too, for
    the simulation; the published tables never ask for them. The evaluation stage calls this
    too, so it sees exactly the estimates the analysis published, at full
    precision.
    """
    extract = read_extract(catalogue.EXTRACT.at(paths))
    analysis = analyse(extract, params.outcomes, seed=params.seed, replicates=read_replicates(paths), frame_sizes=frame_sizes(paths),
                       estimators=ESTIMATORS + tuple(extra_estimators))
    corrected = linkage_error.corrected_estimates(extract, analysis, params.outcomes)
    # The corrected estimates join the others (estimator linkage_corrected).
    analysis.estimates = pd.concat([analysis.estimates, linkage_error.as_estimates(corrected, analysis)], ignore_index=True)
    return extract, analysis, corrected


def analysis_extras(paths: Paths, params: OutcomesParams, extract: pd.DataFrame, analysis: Analysis,
                    corrected: pd.DataFrame) -> dict[str, Any]:
    """The summary's ``selection``, ``balance``, ``sensitivity`` and ``linkage_correction`` entries.

    Keys starting with ``_`` carry tables for the written files (not the summary).
    """
    out: dict[str, Any] = {"selection": selection_summary(analysis)}
    try:
        table = balance.balance_table(extract, analysis, catalogue.FRAME_TOTALS.at(paths))
        out["balance"] = balance.summary(table)
        out["_balance"] = table
    except FileNotFoundError as exc:
        log.warning("no balance check: %s", exc)
    tipping = sensitivity.tipping_points(extract, analysis, params)
    out["sensitivity"] = sensitivity.summary(tipping)
    out["_tipping"] = tipping
    out["linkage_correction"] = linkage_error.summary(corrected, analysis)
    return out


def run(paths: Paths | None = None, params: Params | None = None) -> StageResult:
    """Run the analysis stage (see the module docstring).

    Parameters
    ----------
    paths, params
        The project's, by default (a temporary root works too); the
        ``outcomes:`` and ``disclosure:`` sections are used.

    Raises
    ------
    InputError
        If the research extract is missing or malformed.
    """
    paths = paths or Paths.discover()
    params = params or load_params(paths.params)
    remove_stale_temporaries(f.at(paths) for f in (catalogue.ESTIMATES, catalogue.WEIGHTS, catalogue.CONSENT_MODEL,
                                                   catalogue.SENSITIVITY, catalogue.BALANCE, catalogue.TIPPING_POINTS, catalogue.SUMMARY))
    settings, rules = params.outcomes, params.disclosure
    extract, analysis, corrected = fit(paths, params)
    extras = analysis_extras(paths, settings, extract, analysis, corrected)
    sens = sensitivity_estimates(paths, settings, analysis, seed=params.seed)
    summ = summary(extract, analysis, settings, extras={k: v for k, v in extras.items() if not k.startswith("_")})
    written = []
    with StagedWrites(private=False) as out:  # disclosure-checked: published to everyone
        written.append(out.table(publish_estimates(analysis.estimates, rules).reset_index(), catalogue.ESTIMATES.at(paths)))
        written.append(out.table(publish_weights(analysis.weight_summaries(), rules).reset_index(), catalogue.WEIGHTS.at(paths)))
        written.append(out.table(publish_consent_model(analysis, rules).reset_index(), catalogue.CONSENT_MODEL.at(paths)))
        sens_pub = publish_estimates(sens.drop(columns="extract"), rules).reset_index()
        sens_pub.insert(0, "extract", sens["extract"].to_numpy())
        written.append(out.table(sens_pub, catalogue.SENSITIVITY.at(paths)))
        if "_balance" in extras:
            written.append(out.table(balance.publishable(extras["_balance"], rules.threshold), catalogue.BALANCE.at(paths)))
        written.append(out.table(extras["_tipping"].round(4), catalogue.TIPPING_POINTS.at(paths)))
        written.append(out.json(summ, catalogue.SUMMARY.at(paths)))
    result = StageResult(analysis, summ, tuple(written))
    log.info("%s", result)
    return result

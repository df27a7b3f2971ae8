"""The analysis stage of the pipeline (``sendlink analyse``): :func:`run`.

Run by the researchers. Reads ``data/research/`` (the extracts) only, and writes:

* ``data/research/analysis/estimates.csv``: every model's estimates
  (outcome x model x estimator x term), disclosure-checked;
* ``data/research/analysis/weights.csv``: the distribution of the analysis
  weights per model, disclosure-checked;
* ``data/research/analysis/consent_model.csv``: odds ratios of the
  consent-and-link model, disclosure-checked;
* ``data/research/analysis/sensitivity.csv``: the main model's estimates on
  the strict and loose extracts (when present), disclosure-checked;
* ``data/summary.json`` (keys in :func:`summary`), the run's headline numbers.

The analysis never reads the truth. When the synthetic truth exists, the
evaluation stage that follows (:mod:`sendlink.evaluate.stage`) adds to the
summary what only the truth can say: linkage precision and recall, the
census and generating values of each planted effect, and the estimates
with the false matches removed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendlink import disclosure
from sendlink.config import Paths
from sendlink.io import StagedWrites, remove_stale_temporaries
from sendlink.outcomes.analysis import EFFECT_TERMS, OUTCOMES, Analysis, analyse, read_extract
from sendlink.outcomes.report import _count, _fmt, publish_estimates, publish_weights
from sendlink.params import Params, load_params
from sendlink.params.outcomes import OutcomesParams
from sendlink.schema import catalogue

log = logging.getLogger(__name__)

SUMMARY_VERSION = 1


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
    return {"estimate": _r(row["coef"]), "se": _r(row["se"]), "ci_low": _r(row["ci_low"]), "ci_high": _r(row["ci_high"]),
            "effect": _r(row["effect"]), "effect_low": _r(row["effect_low"]), "effect_high": _r(row["effect_high"]), "n": int(row["n"])}


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
        by = {e: (est[est["estimator"] == e].iloc[0] if (est["estimator"] == e).any() else None) for e in ("naive", "design", "weighted")}
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
            "naive": _interval(by["naive"]), "design": _interval(by["design"]), "weighted": _interval(by["weighted"]),
        })
    return entries


def summary(extract: pd.DataFrame, analysis: Analysis, params: OutcomesParams) -> dict[str, Any]:
    """The run's headline numbers (``data/summary.json``), as the researchers can compute them.

    Keys
    ----
    ``version``
        Version of this layout (1).
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
        excluding independent-school cases), ``analysable`` (linked with
        the needed permissions), ``n`` (rows in the main model),
        ``model`` (``logistic``, ``negative_binomial``, ``poisson``,
        ``linear``) and, for counts, ``nb_alpha`` and
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
        true values: the target; null without truth), and ``naive``,
        ``design``, ``weighted``: each ``estimate``, ``se``, ``ci_low``,
        ``ci_high`` (95%), ``effect``, ``effect_low``, ``effect_high``,
        ``n``.
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
        prop = analysis.propensities[name]
        fit = analysis.fits.get((name, "main", "weighted"))
        samples[name] = {
            "respondents": prop.n_population, "analysable": prop.n_analysable, "n": int(analysis.samples[(name, "main")].sum()),
            "model": fit.family if fit else None,
            "nb_alpha": _r(fit.alpha) if fit and fit.alpha is not None else None,
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
        "settings": params.model_dump(),
    }
    return out


def publish_consent_model(analysis: Analysis, rules: disclosure.DisclosureParams) -> pd.DataFrame:
    """Odds ratios of the consent-and-link models, with small categories suppressed."""
    rows = []
    seen = set()
    for name, prop in analysis.propensities.items():
        population = OUTCOMES[name].respondents
        if (population, id(prop)) in seen:
            continue
        seen.add((population, id(prop)))
        for part, result, counts in (("not_withheld", prop.not_withheld, prop.counts_not_withheld),
                                     ("analysable", prop.given_answers, prop.counts_given_answers)):
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
    table = pd.DataFrame(rows).set_index(["population", "part", "term"])
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


def sensitivity_estimates(paths: Paths, params: OutcomesParams, main: Analysis) -> pd.DataFrame:
    """Naive and weighted estimates on each extract present, stacked with an ``extract`` column."""
    tables = [main.estimates[main.estimates["estimator"].isin(["naive", "weighted"])].assign(extract="main")]
    for name in ("strict", "loose"):
        path = catalogue.EXTRACTS[name].at(paths)
        if not path.is_file():
            log.info("no %s extract (%s): linkage sensitivity skipped for it", name, path)
            continue
        other = analyse(read_extract(path), params, estimators=("naive", "weighted"))
        tables.append(other.estimates.assign(extract=name))
    return pd.concat(tables, ignore_index=True)


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
                                                   catalogue.SENSITIVITY, catalogue.SUMMARY))
    settings, rules = params.outcomes, params.disclosure
    extract = read_extract(catalogue.EXTRACT.at(paths))
    analysis = analyse(extract, settings)
    sens = sensitivity_estimates(paths, settings, analysis)
    summ = summary(extract, analysis, settings)
    written = []
    with StagedWrites(private=False) as out:  # disclosure-checked: published to everyone
        written.append(out.table(publish_estimates(analysis.estimates, rules).reset_index(), catalogue.ESTIMATES.at(paths)))
        written.append(out.table(publish_weights(analysis.weight_summaries(), rules).reset_index(), catalogue.WEIGHTS.at(paths)))
        written.append(out.table(publish_consent_model(analysis, rules).reset_index(), catalogue.CONSENT_MODEL.at(paths)))
        sens_pub = publish_estimates(sens.drop(columns="extract"), rules).reset_index()
        sens_pub.insert(0, "extract", sens["extract"].to_numpy())
        written.append(out.table(sens_pub, catalogue.SENSITIVITY.at(paths)))
        written.append(out.json(summ, catalogue.SUMMARY.at(paths)))
    result = StageResult(analysis, summ, tuple(written))
    log.info("%s", result)
    return result

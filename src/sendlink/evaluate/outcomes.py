"""The outcome analysis against the truth: census values, planted effects, false matches.

**Evaluation code**, part of the ``evaluate`` stage: it reads the truth
(through :mod:`sendlink.evaluate.truth`) and DfE's identifiable links; the
analysis itself (:mod:`sendlink.outcomes`) reads ``data/research/`` only.

What "truth" means here
-----------------------
The data were generated from models with known coefficients
(``truth/planted_effects.csv``, the *generating* values). The analysis
models are not those models: they leave out what the researcher cannot see
(latent need and ability, how well school really suits the child), the
outcomes are clipped or rounded, and the effect of unmet need differs by
FSM and by school experience while the main model fits one average effect.
So the coefficient an analysis model converges to is not the generating
one. The reference for checking an estimator is therefore the **census
value**: the same analysis model fitted, unweighted, on *every* frame pupil
(the SEND Futures population), with the answers every family would have
given (the potential answers in ``truth/frame.parquet``), the NPD
variables derived by exactly the extract's code
(:func:`sendlink.deidentify.attributes.npd_attributes`) and, where the NPD
has no early-years result (a pupil who arrived later), the result the
pupil would have had: the complete data that multiple imputation aims at. An estimator that
recovers the census value has corrected for sampling, non-response,
consent and linkage; the distance between the census and the generating
value is the analysis model's own misspecification, which no weighting can
remove.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sendlink.config import Paths
from sendlink.evaluate import truth
from sendlink.io import read_table
from sendlink.outcomes.analysis import EFFECT_TERMS, MODELS, OUTCOMES, complete_rows, fit_model
from sendlink.outcomes.variables import analysis_variables
from sendlink.params import Params
from sendlink.schema import catalogue

log = logging.getLogger(__name__)

#: truth/frame.parquet column -> the extract column it stands for.
ANSWER_COLUMNS = {
    "unmet_need_w1": "p1_unmet_need",
    "satisfaction_w1": "p1_satisfaction_support",
    "school_experience_w1": "p1_school_experience",
    "wellbeing_w2": "yp2_life_satisfaction",
}
#: truth/frame.parquet column -> the NPD column it completes (unrecorded prior attainment).
POTENTIAL_COLUMNS = {
    "potential_eyfsp_total_points": "npd_eyfsp_total_points",
    "potential_phonics_mark": "npd_phonics_mark",
    "potential_ks1_reading": "npd_ks1_reading",
    "potential_ks1_writing": "npd_ks1_writing",
    "potential_ks1_maths": "npd_ks1_maths",
}


def frame_rows(paths: Paths, frame_year: int) -> pd.DataFrame:
    """Every frame pupil as an extract-shaped row, with true values.

    ``frame_year`` is the year the survey frame was drawn
    (``synth.survey.frame_year``).

    NPD columns come from :func:`~sendlink.deidentify.attributes.npd_attributes`
    (the extract's own derivation); the school pseudonym is the URN itself
    (the census needs no standard errors, only the clustering key's role).
    """
    from sendlink.deidentify.attributes import npd_attributes

    frame = truth.frame(paths)
    npd = npd_attributes(paths.npd, frame["upn"], frame_year, school_pseudonym=lambda urns: urns.astype(str))
    if "npd_idaci_quintile" not in npd.columns:  # older derivation: quintile from decile
        npd["npd_idaci_quintile"] = ((npd["npd_idaci_decile"] + 1) // 2).astype("Int64")
    rows = npd.reindex(frame["upn"].to_numpy()).reset_index(drop=True)
    for truth_column, extract_column in ANSWER_COLUMNS.items():
        rows[extract_column] = frame[truth_column].to_numpy()
    # Prior attainment the NPD lacks (a pupil not yet on roll when assessed)
    # is taken as it would have been: the target of the imputation.
    for truth_column, extract_column in POTENTIAL_COLUMNS.items():
        if truth_column in frame.columns:
            rows[extract_column] = rows[extract_column].astype(object).where(rows[extract_column].notna(), frame[truth_column].to_numpy())
    rows["survey_id"] = frame["survey_id"].to_numpy()
    return rows


def census_fits(rows: pd.DataFrame, *, count_model: str) -> dict[tuple[str, str], object]:
    """Fit every outcome model on all frame pupils, unweighted (the count model as the analysis's)."""
    variables = analysis_variables(rows)
    fits = {}
    for name, outcome in OUTCOMES.items():
        for model in MODELS:
            keep = complete_rows(variables, name, model)
            fits[(name, model)] = fit_model(variables, outcome, model, keep, None, cluster=False, count_model=count_model)
    return fits


def census_values(paths: Paths, frame_year: int, *, count_model: str, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """The census value of every reported term of every model.

    Returns
    -------
    pandas.DataFrame
        ``outcome, model, term, family, n, census`` (model scale: log-odds,
        log-rate, points), ``census_effect`` (odds/rate ratio or difference).
    """
    rows = frame_rows(paths, frame_year) if rows is None else rows
    out = []
    for (name, model), fit in census_fits(rows, count_model=count_model).items():
        table = fit.effects(MODELS[model])
        for r in table.itertuples(index=False):
            out.append({"outcome": name, "model": model, "term": r.term, "family": fit.family, "n": fit.n,
                        "census": r.coef, "census_effect": r.effect, "census_alpha": fit.alpha})
    return pd.DataFrame(out)


def comparison(estimates: pd.DataFrame, census: pd.DataFrame, planted: pd.DataFrame, *, confidence: float = 0.95,
               check_level: float = 0.99) -> pd.DataFrame:
    """Side-by-side table, one row per planted effect and estimator.

    Columns: ``effect`` (``outcome:exposure`` as in planted_effects.csv),
    ``outcome``, ``exposure``, ``model``, ``term``, ``scale``,
    ``generating``, ``census``, ``estimator``, ``estimate``, ``se``,
    ``ci_low``, ``ci_high`` (``confidence``), ``bias`` (estimate - census),
    ``z`` ((estimate - census) / se), ``covers`` (census inside the
    ``confidence`` interval), ``within_check`` (census inside the
    ``check_level`` interval: the project's regression check). All on the
    model scale (log-odds, log-rate, points).
    """
    z_check = stats.norm.ppf(0.5 + check_level / 2)
    z_ci = stats.norm.ppf(0.5 + confidence / 2)
    rows = []
    for p in planted.itertuples(index=False):
        model, term = EFFECT_TERMS[p.exposure]
        c = census[(census["outcome"] == p.outcome) & (census["model"] == model) & (census["term"] == term)]
        census_value = float(c["census"].iloc[0]) if len(c) else np.nan
        est = estimates[(estimates["outcome"] == p.outcome) & (estimates["model"] == model) & (estimates["term"] == term)]
        for e in est.itertuples(index=False):
            z = (e.coef - census_value) / e.se if e.se > 0 else np.nan
            rows.append({
                "effect": p.effect, "outcome": p.outcome, "exposure": p.exposure, "model": model, "term": term,
                "scale": p.scale, "generating": float(p.generating_value), "census": census_value, "estimator": e.estimator,
                "estimate": e.coef, "se": e.se, "ci_low": e.coef - z_ci * e.se, "ci_high": e.coef + z_ci * e.se, "n": e.n,
                "bias": e.coef - census_value, "z": z, "covers": bool(abs(z) <= z_ci), "within_check": bool(abs(z) <= z_check),
            })
    return pd.DataFrame(rows)


# --- linkage errors known from truth -------------------------------------------------


@dataclass(frozen=True)
class LinkErrors:
    """How the links behind an extract compare with the true links.

    Attributes
    ----------
    false_research_ids
        ``research_id`` of every linked row whose NPD record is not the
        child's (a false match).
    true_positives, false_positives, false_negatives
        Linked and right; linked and wrong; linkable (in the NPD, sent for
        linkage) but not linked, or linked wrongly.
    """

    false_research_ids: frozenset[str]
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        d = self.true_positives + self.false_positives
        return self.true_positives / d if d else float("nan")

    @property
    def recall(self) -> float:
        d = self.true_positives + self.false_negatives
        return self.true_positives / d if d else float("nan")


def link_errors(paths: Paths, extract: pd.DataFrame, research_id_of_upn) -> LinkErrors:
    """Find the false matches among an extract's linked rows.

    The extract carries no UPN or survey id. A linked row's ``research_id``
    is the keyed hash of the UPN it was linked to, so with DfE's links
    (``data/linkage/links.parquet``: survey id -> linked UPN) and the true
    links (``truth/links.parquet``: survey id -> the child's UPN), the
    research id of each wrong link can be recomputed and found.

    Parameters
    ----------
    paths
        The project's folders.
    extract
        The research extract (main, strict or loose).
    research_id_of_upn
        Callable mapping a Series of UPNs to research ids with the
        project key (as the extract stage does).
    """
    links = read_table(catalogue.LINKS.at(paths))
    true = truth.true_links(paths).set_index("survey_id")["upn"]
    true_upn = links["survey_id"].map(true)
    # Cases sent for linkage whose child is in the NPD: the ones a perfect
    # linker would link.
    linkable = int(true_upn.notna().sum())
    has_upn = links["upn"].notna() & (links["upn"].astype(str) != "")
    candidates = links[has_upn].assign(true_upn=true_upn[has_upn])
    candidates["research_id"] = np.asarray(research_id_of_upn(candidates["upn"].astype(str)), dtype=object)
    linked_ids = set(extract.loc[extract["npd_linked"].astype(bool), "research_id"].astype(str))
    in_extract = candidates[candidates["research_id"].isin(linked_ids)]
    wrong = in_extract["upn"].astype(str) != in_extract["true_upn"].astype(str)
    tp, fp = int((~wrong).sum()), int(wrong.sum())
    return LinkErrors(frozenset(in_extract.loc[wrong, "research_id"].astype(str)), tp, fp, max(linkable - tp, 0))


def without_false_matches(extract: pd.DataFrame, false_ids: frozenset[str]) -> pd.DataFrame:
    """The extract as if the linker had rejected its false matches.

    The rows stay (the families still answered) but lose their NPD data and
    become not linked, so the consent-and-link model and the weights are
    re-estimated, as they would be had the links never been made. Answers
    withheld from such a row stay withheld (the extract does not have them).
    """
    out = extract.copy()
    false = out["research_id"].astype(str).isin(false_ids).to_numpy()
    npd_cols = [c for c in out.columns if c.startswith("npd_") and c != "npd_linked"]
    for c in npd_cols:
        out.loc[false, c] = pd.NA if str(out[c].dtype) in ("Int64", "boolean", "Float64") else (np.nan if out[c].dtype.kind == "f" else None)
    out.loc[false, "npd_linked"] = False
    out.loc[false, "link_status"] = "unmatched"
    out.loc[false, "match_probability"] = np.nan
    return out


def evaluate(paths: Paths, estimates: pd.DataFrame, frame_year: int, *, census: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compare an analysis's estimates with the census and generating values."""
    census = census_values(paths, frame_year) if census is None else census
    return comparison(estimates, census, truth.planted_effects(paths))


def research_id_mapper(paths: Paths, params: Params):
    """UPN -> research id with the project key, as the extract stage computes it."""
    from sendlink.deidentify import project_key, research_ids

    key = project_key(paths, params)
    return lambda upns: research_ids(key, pd.Series(upns).astype(str), "upn")


@dataclass
class Evaluation:
    """The analysis of one run checked against truth.

    Attributes
    ----------
    planted, census
        Generating and census values (:func:`planted_effects`,
        :func:`census_values`).
    comparison
        :func:`comparison` of the main extract's estimates.
    linkage
        Weighted and naive estimates of every planted effect per extract
        (``main``, ``strict``, ``loose``) and with the main extract's false
        matches removed (``no_false_matches``), with the census value.
    link_errors
        Per extract, the :class:`LinkErrors` found.
    summary
        The ``evaluation`` entry of ``summary.json``.
    """

    planted: pd.DataFrame
    census: pd.DataFrame
    comparison: pd.DataFrame
    linkage: pd.DataFrame
    link_errors: dict[str, LinkErrors]
    summary: dict


def evaluate_run(paths: Paths, params: Params, extract: pd.DataFrame, analysis, sensitivity: pd.DataFrame | None = None) -> Evaluation:
    """Everything the pipeline reports about truth, for ``summary.json`` and notebook 06.

    Parameters
    ----------
    paths, params
        The run's folders and parameters (the key for research ids).
    extract, analysis
        The main research extract and its :class:`~sendlink.outcomes.analysis.Analysis`.
    sensitivity
        Estimates on the strict and loose extracts (column ``extract``), as
        :func:`sendlink.outcomes.stage.sensitivity_estimates` returns them.
    """
    from sendlink.outcomes.analysis import analyse, read_extract

    planted = truth.planted_effects(paths)
    census = census_values(paths, params.synth.survey.frame_year, count_model=params.outcomes.count_model)
    cmp = comparison(analysis.estimates, census, planted)
    mapper = research_id_mapper(paths, params)
    errors = {"main": link_errors(paths, extract, mapper)}
    for name in ("strict", "loose"):
        path = catalogue.EXTRACTS[name].at(paths)
        if path.is_file():
            errors[name] = link_errors(paths, read_extract(path), mapper)
    cleaned = analyse(without_false_matches(extract, errors["main"].false_research_ids), params.outcomes, seed=params.seed,
                      estimators=("naive", "weighted"))
    parts = [analysis.estimates.assign(extract="main")]
    if sensitivity is not None:
        parts.append(sensitivity[sensitivity["extract"] != "main"])
    parts.append(cleaned.estimates.assign(extract="no_false_matches"))
    linkage = []
    for part in parts:
        for name, est in part.groupby("extract", sort=False):
            c = comparison(est[est["estimator"].isin(["naive", "weighted"])], census, planted)
            linkage.append(c.assign(extract=name))
    linkage = pd.concat(linkage, ignore_index=True)
    weighted = cmp[cmp["estimator"] == "weighted"]
    naive = cmp[cmp["estimator"] == "naive"]
    sens_summary = {}
    for name, group in linkage[linkage["estimator"] == "weighted"].groupby("extract", sort=False):
        sens_summary[name] = {r.effect: {"estimate": _round(r.estimate), "ci_low": _round(r.ci_low), "ci_high": _round(r.ci_high), "n": int(r.n)}
                              for r in group.itertuples(index=False)}
    summary = {
        "weighted_within_99": bool(weighted["within_check"].all()),
        "naive_within_99": bool(naive["within_check"].all()),
        "weighted_outside_99": sorted(weighted.loc[~weighted["within_check"], "effect"]),
        "naive_outside_99": sorted(naive.loc[~naive["within_check"], "effect"]),
        "linkage_errors": {name: {"true_matches": e.true_positives, "false_matches": e.false_positives, "missed": e.false_negatives,
                                  "precision": _round(e.precision), "recall": _round(e.recall)} for name, e in errors.items()},
        "linkage_sensitivity": sens_summary,
        "uneven_linkage": _uneven_summary(linkage),
    }
    return Evaluation(planted, census, cmp, linkage, errors, summary)


def _uneven_summary(linkage: pd.DataFrame) -> dict:
    """Per effect: naive and weighted estimates with every link and with links lost unevenly by group."""
    out: dict = {}
    keep = linkage[linkage["extract"].isin(["main", "uneven_linkage"])]
    if "uneven_linkage" not in set(keep["extract"]):
        return out
    for r in keep.itertuples(index=False):
        out.setdefault(r.effect, {})[f"{r.estimator}_{r.extract}"] = _round(r.estimate)
    return out


def _round(value, digits: int = 4):
    value = float(value)
    return round(value, digits) if np.isfinite(value) else None


__all__ = [
    "ANSWER_COLUMNS", "Evaluation", "LinkErrors", "census_fits", "census_values", "comparison", "evaluate",
    "evaluate_run", "frame_rows", "link_errors", "research_id_mapper", "without_false_matches",
]

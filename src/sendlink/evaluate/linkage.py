"""Linkage quality against the synthetic truth: a GUILD-style report.

Evaluation code, part of the ``evaluate`` stage (nobody in the story holds
the truth; it exists so that linkage error can be measured, not assumed). **In:**
``data/linkage/links.parquet`` (and ``pairs.parquet``, ``model.json`` when
present), the survey spine sent for linkage, the NPD spine, the truth
(``truth/links.parquet``, ``truth/identifier_differences.parquet``) and the
sampling frame's attributes (``survey/sample.parquet``). **Out:**
``data/linkage/linkage_quality.json`` (counts and rates only, never an
identifier) and a :class:`QualityReport` that notebooks display.

What is reported, following the GUILD guidance (Gilbert et al., J Public
Health 2018) and Harron, Doidge & Goldstein (Ann Hum Biol 2020) on
estimating linkage error and its bias:

* **Data provision**: records on each side, missing identifiers per field.
* **Linkage quality**: precision, recall and F1 of ``matched`` links and of
  ``matched`` + ``clerical_review`` (what a reviewer could reach), match
  and review rates, blocking recall overall and per pass.
* **Linkage error**: every survey child classified as correctly linked,
  *false match* (linked to the wrong record, or linked though not in the
  NPD) or *missed match* (not blocked, sent to review, left unmatched, or
  linked to another pupil), broken down by the injected identifier
  differences (nickname, moved house, new surname, date swap, twin ...).
* **Linkage bias**: the same by subgroup (ethnicity, EAL, FSM, SEN
  provision, primary need, IDACI decile), with each group's recall gap to
  the whole: who fails to link, and so who is missing from linked
  analyses.
* **Baselines** on the same data, side by side: the deterministic rule
  cascade and recordlinkage's default ECM, with ECM's degeneracy check.
* **Threshold trade-off**: precision and recall of ``matched`` had the
  match threshold been elsewhere (the same pairs, decided again).
* **Audit of accepted links**: the share of the random audit sample of
  automatically accepted links (:func:`sendlink.link.clerical.audit_sample`,
  ``review_reason`` ``audit`` in the review queue) that is wrong, with a
  Wilson confidence interval (:func:`audit_error_rate`), beside the error
  rate of every accepted link, which only the truth knows. In a real study
  the reviewers' verdicts on the sample give the same estimate; when a
  decisions file holds verdicts on audited links, the report gives that
  estimate too.

Definitions (per survey record): a *true link* is a child with an NPD
record; precision = correct links / links made; recall = correct links /
true links.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendlink.config import Paths
from sendlink.errors import InputError
from sendlink.evaluate.blocking import blocking_recall, pass_recall
from sendlink.evaluate.truth import identifier_differences, true_links
from sendlink.io import read_table, write_json
from sendlink.params import Params
from sendlink.schema import catalogue
from sendlink.schema.truth import IDENTIFIER_DIFFERENCES

__all__ = [
    "SUBGROUPS", "QualityReport", "audit_error_rate", "by_difference", "by_subgroup", "classify", "evaluate_linkage", "metrics",
    "threshold_tradeoff", "write_linkage_quality",
]

log = logging.getLogger(__name__)

#: Sampling-frame attributes used for the linkage-bias breakdown, with labels.
SUBGROUPS = {
    "frame_ethnicity": "ethnicity",
    "frame_eal": "English as an additional language",
    "frame_fsm": "free school meals",
    "frame_sen_provision": "SEN provision",
    "frame_primary_need": "primary need",
    "frame_idaci_decile": "IDACI decile",
}
#: Thresholds of the trade-off curve (match threshold; the review threshold is kept at or below it).
TRADEOFF_THRESHOLDS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999)

OUTCOMES = ("correct", "false_match", "missed_not_blocked", "missed_in_review", "missed_unmatched",
            "missed_linked_elsewhere", "correct_non_match")


def _key(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def classify(links: pd.DataFrame, truth: pd.DataFrame, candidates: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per survey record: the true UPN, the decision and what kind of outcome it is.

    Parameters
    ----------
    links
        ``survey_id, upn, link_status`` (the links file).
    truth
        ``survey_id, upn`` (empty or null ``upn``: not in the NPD); records
        of ``links`` missing from it are treated as not in the NPD.
    candidates
        Optional candidate pairs (``survey_id, upn``) to tell missed matches
        that blocking never proposed (``missed_not_blocked``) from the others.

    Returns
    -------
    DataFrame
        ``survey_id, true_upn, upn, link_status, in_npd, outcome`` with
        ``outcome`` one of :data:`OUTCOMES`.
    """
    out = links[["survey_id", "upn", "link_status"]].copy()
    out["survey_id"] = _key(out["survey_id"])
    out["upn"] = _key(out["upn"])
    t = truth[["survey_id", "upn"]].copy()
    t["survey_id"] = _key(t["survey_id"])
    t["upn"] = _key(t["upn"])
    out = out.merge(t.drop_duplicates("survey_id").rename(columns={"upn": "true_upn"}), on="survey_id", how="left")
    out["true_upn"] = out["true_upn"].fillna("")
    out["in_npd"] = out["true_upn"] != ""
    matched = out["link_status"] == "matched"
    right = out["upn"] == out["true_upn"]
    blocked = pd.Series(True, index=out.index)
    if candidates is not None:
        found = set(zip(_key(candidates["survey_id"]), _key(candidates["upn"]), strict=True))
        blocked = pd.Series([(s, u) in found for s, u in zip(out["survey_id"], out["true_upn"], strict=True)], index=out.index)
    outcome = np.select(
        [
            matched & out["in_npd"] & right,
            matched & ~(out["in_npd"] & right),
            out["in_npd"] & ~blocked,
            out["in_npd"] & (out["link_status"] == "clerical_review") & right,
            out["in_npd"] & (out["link_status"] == "clerical_review"),
            out["in_npd"] & (out["link_status"] == "unmatched"),
        ],
        ["correct", "false_match", "missed_not_blocked", "missed_in_review", "missed_linked_elsewhere", "missed_unmatched"],
        default="correct_non_match",
    )
    out["outcome"] = outcome
    return out


def metrics(classified: pd.DataFrame, statuses: Sequence[str] = ("matched",)) -> dict[str, Any]:
    """Precision, recall and F1 of links whose status is in ``statuses`` (counts alongside)."""
    linked = classified["link_status"].isin(statuses)
    right = linked & classified["in_npd"] & (classified["upn"] == classified["true_upn"])
    tp, predicted, true_links = int(right.sum()), int(linked.sum()), int(classified["in_npd"].sum())
    precision = tp / predicted if predicted else float("nan")
    recall = tp / true_links if true_links else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"statuses": "+".join(statuses), "records": int(len(classified)), "true_links": true_links,
            "links_made": predicted, "true_positives": tp, "false_positives": predicted - tp,
            "false_negatives": true_links - tp, "precision": precision, "recall": recall, "f1": f1}


def _group_table(classified: pd.DataFrame, groups: pd.Series, overall_recall: float) -> pd.DataFrame:
    frame = classified.assign(_group=groups.to_numpy())
    rows = []
    for group, part in frame.groupby("_group", sort=True, dropna=False):
        m = metrics(part)
        rows.append({
            "group": "unknown" if pd.isna(group) else str(group), "records": m["records"], "true_links": m["true_links"],
            "correct": m["true_positives"], "false_matches": m["false_positives"],
            "missed": m["false_negatives"], "in_review": int((part["link_status"] == "clerical_review").sum()),
            "match_rate": float((part["link_status"] == "matched").mean()) if len(part) else float("nan"),
            "precision": m["precision"], "recall": m["recall"],
            "recall_gap": m["recall"] - overall_recall if m["true_links"] else float("nan"),
        })
    return pd.DataFrame(rows)


def by_difference(classified: pd.DataFrame, differences: pd.DataFrame, twins: pd.Series | None = None) -> pd.DataFrame:
    """Outcomes by injected identifier difference (a child with two differences counts in both).

    ``differences``: ``survey_id, field, difference`` (the truth's
    ``identifier_differences``); ``twins``: per survey_id, whether the child
    has a twin in the NPD. Children with no difference at all form the group
    ``none``.
    """
    diff = differences[["survey_id", "field", "difference"]].copy()
    diff["survey_id"] = _key(diff["survey_id"])
    diff["kind"] = diff["field"].astype(str) + ": " + diff["difference"].astype(str)
    extra = []
    if twins is not None:
        twin_ids = set(_key(pd.Series(twins[twins.astype(bool)].index)))
        extra.append(pd.DataFrame({"survey_id": sorted(twin_ids), "kind": "twin in the NPD"}))
    listed = pd.concat([diff[["survey_id", "kind"]], *extra], ignore_index=True).drop_duplicates()
    none = sorted(set(classified["survey_id"]) - set(listed["survey_id"]))
    listed = pd.concat([listed, pd.DataFrame({"survey_id": none, "kind": "none"})], ignore_index=True)
    joined = listed.merge(classified, on="survey_id", how="inner")
    overall = metrics(classified)["recall"]
    table = _group_table(joined, joined["kind"], overall).rename(columns={"group": "difference"})
    for outcome in ("missed_not_blocked", "missed_in_review", "missed_unmatched", "missed_linked_elsewhere"):
        counts = joined[joined["outcome"] == outcome].groupby("kind").size()
        table[outcome] = table["difference"].map(counts).fillna(0).astype(int)
    return table.sort_values(["recall", "difference"], kind="mergesort").reset_index(drop=True)


def by_subgroup(classified: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    """Outcomes by subgroup of each :data:`SUBGROUPS` attribute (linkage bias)."""
    attrs = attributes.copy()
    attrs["survey_id"] = _key(attrs["survey_id"])
    joined = classified.merge(attrs.drop_duplicates("survey_id"), on="survey_id", how="left")
    overall = metrics(classified)["recall"]
    tables = []
    for column, label in SUBGROUPS.items():
        if column not in joined:
            continue
        table = _group_table(joined, joined[column], overall)
        table.insert(0, "attribute", label)
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def threshold_tradeoff(pairs: pd.DataFrame, survey_ids: Sequence[str], truth: pd.DataFrame, review: float,
                       thresholds: Sequence[float] = TRADEOFF_THRESHOLDS) -> pd.DataFrame:
    """Precision and recall of ``matched`` had the match threshold been each of ``thresholds``.

    The same scored pairs are decided again (:func:`sendlink.link.engine.decide`:
    competing candidates, one-to-one assignment), so the curve is what the
    linker would have done, not a per-pair approximation.
    """
    from sendlink.link.engine import decide

    rows = []
    for t in thresholds:
        links = decide(pairs, survey_ids, {"match": t, "review": min(review, t)})
        m = metrics(classify(links, truth))
        rows.append({"match_threshold": t, "links_made": m["links_made"], "precision": m["precision"],
                     "recall": m["recall"], "f1": m["f1"]})
    return pd.DataFrame(rows)


def _wilson(errors: int, n: int, confidence: float) -> tuple[float | None, float | None]:
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return None, None
    low, high = proportion_confint(errors, n, alpha=1 - confidence, method="wilson")
    return max(0.0, round(float(low), 9)), min(1.0, round(float(high), 9))  # no float noise below 0 or above 1


def audit_error_rate(queue: pd.DataFrame, truth: pd.DataFrame, links: pd.DataFrame | None = None, *,
                     decisions: pd.DataFrame | None = None, confidence: float = 0.95) -> dict[str, Any]:
    """The error rate of automatically accepted links, estimated from the audit sample.

    Parameters
    ----------
    queue
        The review queue (``survey_id, upn, review_reason``); its ``audit``
        rows are the sample.
    truth
        ``survey_id, upn`` (the true links).
    links
        The links file, for the error rate of *every* accepted link (the
        value the sample estimates; only the truth knows it).
    decisions
        Reviewers' decisions (``survey_id, upn, decision``), if any: their
        verdicts on audited links give the estimate a real study would
        have.

    Returns
    -------
    dict
        ``sample_size``, ``errors``, ``error_rate`` and its Wilson interval
        (``ci_low``, ``ci_high``, ``confidence``); ``population`` (accepted
        links, their errors and rate, and whether the interval covers it);
        ``from_reviewers`` (the same from the reviewers' verdicts, or
        ``None`` when there are none yet). The Wilson interval treats the
        sample as drawn with replacement, which makes it a little wider than
        needed (the sample is drawn without replacement from a finite set).
    """
    audited = queue.loc[queue.get("review_reason", pd.Series(dtype=str)).astype(str) == "audit", ["survey_id", "upn"]].copy()
    audited["survey_id"], audited["upn"] = _key(audited["survey_id"]), _key(audited["upn"])
    t = truth[["survey_id", "upn"]].copy()
    t["survey_id"], t["upn"] = _key(t["survey_id"]), _key(t["upn"])
    true_upn = dict(zip(t["survey_id"], t["upn"], strict=True))
    wrong = np.array([true_upn.get(s, "") != u for s, u in zip(audited["survey_id"], audited["upn"], strict=True)], dtype=bool)
    n, errors = int(len(audited)), int(wrong.sum())
    low, high = _wilson(errors, n, confidence)
    out: dict[str, Any] = {"sample_size": n, "errors": errors, "error_rate": errors / n if n else None,
                           "ci_low": low, "ci_high": high, "confidence": confidence, "method": "Wilson score interval"}
    if links is not None:
        accepted = links[links["link_status"] == "matched"]
        if "decided_by" in accepted.columns:
            accepted = accepted[accepted["decided_by"].astype(str) != "reviewer"]
        bad = int(sum(true_upn.get(s, "") != u for s, u in zip(_key(accepted["survey_id"]), _key(accepted["upn"]), strict=True)))
        rate = bad / len(accepted) if len(accepted) else None
        out["population"] = {"accepted_links": int(len(accepted)), "errors": bad, "error_rate": rate,
                             "covered": None if rate is None or low is None else bool(low <= rate <= high)}
    out["from_reviewers"] = None
    if decisions is not None and len(decisions) and n:
        d = decisions.assign(survey_id=_key(decisions["survey_id"]), upn=_key(decisions["upn"]))
        verdicts = audited.merge(d[["survey_id", "upn", "decision"]], on=["survey_id", "upn"], how="inner")
        if len(verdicts):
            k, m = int((verdicts["decision"] == "non-match").sum()), int(len(verdicts))
            r_low, r_high = _wilson(k, m, confidence)
            out["from_reviewers"] = {"reviewed": m, "non_matches": k, "error_rate": k / m, "ci_low": r_low, "ci_high": r_high}
    return out


@dataclass
class QualityReport:
    """The linkage quality report, as tables (for notebooks) and as JSON (``linkage_quality.json``).

    Attributes
    ----------
    main
        Precision, recall, F1 and counts of ``matched`` links.
    summary
        One row per method and link set: the model's ``matched`` and
        ``matched + clerical_review``, and each baseline.
    outcomes
        Survey records per outcome (:data:`OUTCOMES`).
    by_difference, by_subgroup, blocking, thresholds, provision
        The breakdowns (see the module docstring).
    extra
        Anything else (model summary, baseline diagnostics, timings).
    """

    main: dict[str, Any]
    summary: pd.DataFrame
    outcomes: pd.DataFrame
    by_difference: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_subgroup: pd.DataFrame = field(default_factory=pd.DataFrame)
    blocking: pd.DataFrame = field(default_factory=pd.DataFrame)
    thresholds: pd.DataFrame = field(default_factory=pd.DataFrame)
    provision: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counts, rates and labels only."""
        from sendlink.link.model import jsonable

        def records(frame: pd.DataFrame) -> list[dict]:
            return jsonable(frame.to_dict(orient="records")) if len(frame) else []

        return jsonable({
            "layout": 1,
            "main": self.main,
            "summary": records(self.summary),
            "outcomes": records(self.outcomes),
            "by_difference": records(self.by_difference),
            "by_subgroup": records(self.by_subgroup),
            "blocking": records(self.blocking),
            "threshold_tradeoff": records(self.thresholds),
            "data_provision": records(self.provision),
            **self.extra,
        })

    def __repr__(self) -> str:
        m = self.main
        return (f"QualityReport: matched precision {m['precision']:.4f}, recall {m['recall']:.4f}, F1 {m['f1']:.4f} "
                f"({m['true_positives']} of {m['true_links']} true links; {m['false_positives']} false)\n"
                + self.summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    def _repr_html_(self) -> str:
        m = self.main
        head = (f"<p><b>Linkage quality</b> (matched): precision {m['precision']:.4f}, recall {m['recall']:.4f}, "
                f"F1 {m['f1']:.4f}: {m['true_positives']} of {m['true_links']} true links found, "
                f"{m['false_positives']} false.</p>")
        return head + self.summary.to_html(index=False, float_format=lambda v: f"{v:.4f}", escape=True) + (
            "<p>Outcomes</p>" + self.outcomes.to_html(index=False))


def _provision(survey: pd.DataFrame | None, npd_counts: Mapping[str, Any] | None) -> pd.DataFrame:
    """Missing identifiers per field on the survey side (and the NPD's, when counted)."""
    from sendlink.link.standardise import IDENTIFIER_COLUMNS

    rows = []
    for column in IDENTIFIER_COLUMNS:
        row: dict[str, Any] = {"field": column}
        if survey is not None:
            values = survey[column] if column in survey else pd.Series([None] * len(survey))
            missing = values.isna() | (values.astype(str).str.strip() == "")
            row.update({"survey_records": int(len(survey)), "survey_missing": int(missing.sum()),
                        "survey_missing_share": float(missing.mean()) if len(survey) else float("nan")})
        if npd_counts is not None and column in npd_counts:
            row.update(npd_counts[column])
        rows.append(row)
    return pd.DataFrame(rows)


def _npd_missing(npd_path: Path) -> dict[str, Any]:
    """Missing identifiers per field of the NPD spine, counted with Arrow (no strings in Python)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from sendlink.link.standardise import IDENTIFIER_COLUMNS

    names = pq.read_schema(npd_path).names
    wanted = [c for c in IDENTIFIER_COLUMNS if c in names]
    table = pq.read_table(npd_path, columns=wanted)
    out = {}
    for column in wanted:
        values = table.column(column)
        missing = values.null_count
        if values.type == "string":
            missing += int(pc.sum(pc.equal(pc.utf8_trim_whitespace(values), "")).as_py() or 0)
        out[column] = {"npd_records": int(table.num_rows), "npd_missing": int(missing),
                       "npd_missing_share": missing / table.num_rows if table.num_rows else float("nan")}
    return out


def evaluate_linkage(
    links: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    pairs: pd.DataFrame | None = None,
    differences: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
    model_report: Mapping[str, Any] | None = None,
    baselines: Mapping[str, pd.DataFrame] | None = None,
    baseline_diagnostics: Mapping[str, Any] | None = None,
    survey: pd.DataFrame | None = None,
    npd_missing: Mapping[str, Any] | None = None,
    review_threshold: float = 0.25,
    tradeoff: bool = True,
) -> QualityReport:
    """Evaluate linkage results against the truth (see the module docstring).

    Parameters
    ----------
    links
        The linker's links (``survey_id, upn, link_status``).
    truth
        True links ``survey_id, upn`` (and ``twin`` when known).
    pairs
        Scored candidate pairs (``pairs.parquet``): blocking recall per pass,
        missed matches never blocked, and the threshold trade-off.
    differences
        The injected identifier differences, for the breakdown by difference.
    attributes
        ``survey_id`` and the :data:`SUBGROUPS` columns, for linkage bias.
    model_report
        ``model.json`` (for the blocking counts per pass and the model summary).
    baselines
        Name -> links of other methods on the same data.
    baseline_diagnostics
        Name -> their diagnostics (ECM's degeneracy check).
    survey, npd_missing
        For the data-provision table.
    """
    truth = truth.copy()
    classified = classify(links, truth, pairs)
    main = metrics(classified)
    rows = [{"method": "model", "links": "matched", **main},
            {"method": "model", "links": "matched + clerical_review", **metrics(classified, ("matched", "clerical_review"))}]
    for name, other in (baselines or {}).items():
        c = classify(other, truth)
        rows.append({"method": name, "links": "matched", **metrics(c)})
        if (other["link_status"] == "clerical_review").any():
            rows.append({"method": name, "links": "matched + clerical_review", **metrics(c, ("matched", "clerical_review"))})
    summary = pd.DataFrame(rows).drop(columns=["statuses"])
    outcomes = classified["outcome"].value_counts().reindex(list(OUTCOMES), fill_value=0).rename_axis("outcome").reset_index(name="records")
    extra: dict[str, Any] = {"match_rate": float((links["link_status"] == "matched").mean()) if len(links) else None,
                             "review_rate": float((links["link_status"] == "clerical_review").mean()) if len(links) else None}
    report = QualityReport(main=main, summary=summary, outcomes=outcomes, extra=extra)
    if differences is not None:
        twins = truth.set_index(_key(truth["survey_id"]))["twin"] if "twin" in truth else None
        report.by_difference = by_difference(classified, differences, twins)
    if attributes is not None:
        report.by_subgroup = by_subgroup(classified, attributes)
    if pairs is not None and len(pairs):
        names = [row["name"] for row in (model_report or {}).get("blocking", [])]
        if not names:
            names = sorted({p for label in pd.Series(pairs["passes"]).astype(str).unique() for p in label.split("+")})
        # Blocking is judged on the children it was given: those sent for
        # linkage (the links file has one row each), not every family.
        sent = truth[_key(truth["survey_id"]).isin(set(_key(links["survey_id"])))]
        table = pass_recall(pairs, sent, names)
        counted = pd.DataFrame((model_report or {}).get("blocking", []))
        if len(counted):
            keep = [c for c in ("name", "keys", "survey_records_split", "survey_records_capped", "largest_block", "max_block_size") if c in counted]
            table = table.merge(counted[keep].rename(columns={"name": "pass"}), on="pass", how="left")
        report.blocking = table
        extra["blocking_recall"] = blocking_recall(pairs, sent)
        extra["candidate_pairs"] = int(len(pairs))
        if tradeoff:
            report.thresholds = threshold_tradeoff(pairs, links["survey_id"].astype(str).tolist(), truth, review_threshold)
    if model_report is not None and model_report.get("model"):
        extra["model"] = model_report["model"].get("summary", {})
        extra["thresholds"] = model_report.get("thresholds")
    if baseline_diagnostics:
        extra["baseline_diagnostics"] = dict(baseline_diagnostics)
    report.provision = _provision(survey, npd_missing) if survey is not None or npd_missing else pd.DataFrame()
    return report


def _ecm_public(diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("degenerate", "reasons", "fields", "predicted_matches", "max_matches", "weak_evidence_share", "fitted")
    return {k: diagnostics[k] for k in keep if k in diagnostics}


def write_linkage_quality(paths: Paths, params: Params, *, baselines: bool = True) -> QualityReport:
    """Read the linkage outputs and the truth; write ``linkage_quality.json`` (counts and rates only).

    Parameters
    ----------
    paths, params
        The project's folders and parameters (the ``linkage:`` section runs
        the baselines and gives the review threshold).
    baselines
        Also run the rule cascade and recordlinkage's ECM on the same data
        (tens of seconds on the default cohort).
    """
    from sendlink.link import link_ecm, link_rules

    links = read_table(catalogue.LINKS.at(paths))
    true = true_links(paths)
    differences = identifier_differences(paths) if IDENTIFIER_DIFFERENCES.at(paths).is_file() else None
    sample_path = catalogue.SAMPLE.at(paths)
    attributes = read_table(sample_path, columns=["survey_id", *list(SUBGROUPS)]) if sample_path.is_file() else None
    pairs_path = catalogue.PAIRS.at(paths)
    pairs = read_table(pairs_path) if pairs_path.is_file() else None
    model_path = catalogue.MODEL.at(paths)
    model_report = json.loads(model_path.read_text(encoding="utf-8")) if model_path.is_file() else None
    survey_path = catalogue.SURVEY_SPINE.at(paths)
    survey = read_table(survey_path) if survey_path.is_file() else None
    npd_path = catalogue.NPD_SPINE.at(paths)
    others, diagnostics, seconds = {}, {}, {}
    if baselines:
        if survey is None or not npd_path.is_file():
            raise InputError(survey_path if survey is None else npd_path, "file not found (needed for the baselines; use --no-baselines)")
        npd = read_table(npd_path)
        for name, function in (("rule cascade", link_rules), ("recordlinkage ECM", link_ecm)):
            started = time.perf_counter()
            result = function(survey, npd, params.linkage)
            seconds[name] = round(time.perf_counter() - started, 2)
            others[name] = result.links
            if name == "recordlinkage ECM":
                diagnostics[name] = _ecm_public(result.diagnostics)
        del npd
    report = evaluate_linkage(
        links, true, pairs=pairs, differences=differences, attributes=attributes, model_report=model_report,
        baselines=others, baseline_diagnostics=diagnostics, survey=survey,
        npd_missing=_npd_missing(npd_path) if npd_path.is_file() else None,
        review_threshold=params.linkage.thresholds.review,
    )
    report.extra["baseline_seconds"] = seconds
    queue_path = catalogue.REVIEW_QUEUE.at(paths)
    if queue_path.is_file():
        from sendlink.link.clerical import read_decisions

        queue = read_table(queue_path, dtype_str=True)
        decisions_path = catalogue.DECISIONS.at(paths)
        decided = read_decisions(decisions_path) if decisions_path.is_file() else None
        report.extra["audit"] = audit_error_rate(queue, true, links, decisions=decided, confidence=params.outcomes.confidence)
    target = catalogue.LINKAGE_QUALITY.at(paths)
    write_json(report.to_dict(), target)
    log.info("linkage quality: matched precision %.4f, recall %.4f, F1 %.4f; wrote %s",
             report.main["precision"], report.main["recall"], report.main["f1"], target)
    audit = report.extra.get("audit")
    if audit and audit["sample_size"]:
        log.info("audit of accepted links: %d wrong of %d sampled (%.1f%%, %d%% CI %.1f%% to %.1f%%)", audit["errors"], audit["sample_size"],
                 100 * audit["error_rate"], round(100 * audit["confidence"]), 100 * audit["ci_low"], 100 * audit["ci_high"])
    return report

"""Baselines the probabilistic linker is compared with, in the same links format.

Stage ``link``, run by DfE; used by the quality report to put the model's
precision and recall side by side with simpler methods on the same data.
Both functions take the same inputs as :func:`sendlink.link.link` and return
a :class:`~sendlink.link.LinkResult` (``model`` is ``None``).

:func:`link_rules`, a deterministic cascade like DfE's
    Rules from strict to loose; each rule links only pairs that are
    *unique* on both sides among the records still unlinked (two candidates
    means ambiguity, left for a later rule or a person), then removes them.
    Each rule carries a nominal confidence, as DfE's matcher does, and
    confidences below the match threshold (0.95) give ``clerical_review``
    ("potential match"). The confidences are the rule's *label*, not an
    estimate: they are not fitted to anything.

:func:`link_ecm`, recordlinkage's default unsupervised pipeline
    Block on date of birth and on surname (union), compare each field
    exactly, ``ECMClassifier`` with its defaults (m and u both estimated
    from the blocked pairs), greedy one-to-one on its probability. This is
    the set-up that converged to a degenerate solution on realistically
    blocked survey-vs-NPD data; :func:`ecm_diagnostics` shows it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sendlink.link import assign, standardise
from sendlink.link.engine import LinkResult, empty_links
from sendlink.link.spine import NPD_KEY, SURVEY_KEY, check_spine
from sendlink.params.linkage import LinkageParams

__all__ = ["RULES", "ecm_diagnostics", "link_ecm", "link_rules"]

log = logging.getLogger(__name__)

#: (name, nominal confidence, description). Applied in this order.
RULES: tuple[tuple[str, float, str], ...] = (
    ("exact_all", 1.00, "forename, surname, date of birth and postcode equal"),
    ("names_dob", 0.99, "forename, surname and date of birth equal"),
    ("names_dob_swapped", 0.97, "forename and surname equal, day and month of birth swapped"),
    ("variant_forename_dob", 0.96, "nickname or spelling variant of forename, surname and date of birth equal"),
    ("names_dob_within_3_months", 0.95, "forename and surname equal, birth dates at most 92 days apart"),
    ("surname_dob_postcode_initial", 0.95, "surname, date of birth, postcode and forename initial equal"),
    ("forename_dob_postcode", 0.90, "forename, date of birth and postcode equal (surname changed?)"),
    ("names_postcode", 0.85, "forename, surname and postcode equal (date of birth wrong or missing)"),
)


def _prepared(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    std = standardise.standardise_spine(frame, key)
    std["row"] = np.arange(len(std))
    valid = std["dob_year"] >= 0
    std["dob_days"] = np.nan
    if valid.any():
        dates = pd.to_datetime(
            pd.DataFrame({"year": std.loc[valid, "dob_year"], "month": std.loc[valid, "dob_month"], "day": std.loc[valid, "dob_day"]}),
            errors="coerce",
        )
        std.loc[valid, "dob_days"] = (dates - pd.Timestamp("1900-01-01")).dt.days.astype(float)
    swap_ok = valid & (std["dob_day"] <= 12) & (std["dob_day"] != std["dob_month"])
    std["dob_swapped"] = None
    std.loc[swap_ok, "dob_swapped"] = (
        std.loc[swap_ok, "dob_year"].astype(str).str.zfill(4) + "-" + std.loc[swap_ok, "dob_day"].astype(str).str.zfill(2)
        + "-" + std.loc[swap_ok, "dob_month"].astype(str).str.zfill(2)
    )
    std["initial"] = std["forename"].str[0]
    return std


def _rule_pairs(name: str, s: pd.DataFrame, n: pd.DataFrame) -> pd.DataFrame:
    def join(left_on: list[str], right_on: list[str] | None = None) -> pd.DataFrame:
        right_on = right_on or left_on
        a = s.dropna(subset=left_on)
        b = n.dropna(subset=right_on)
        return a[["row", *left_on]].merge(b[["row", *right_on]], left_on=left_on, right_on=right_on, suffixes=("_s", "_n"))

    if name == "exact_all":
        return join(["forename", "surname", "dob", "postcode"])
    if name == "names_dob":
        return join(["forename", "surname", "dob"])
    if name == "names_dob_swapped":
        return join(["forename", "surname", "dob_swapped"], ["forename", "surname", "dob"])
    if name == "variant_forename_dob":
        def groups(frame: pd.DataFrame) -> pd.DataFrame:
            g = frame.dropna(subset=["forename", "surname", "dob"])[["row", "forename", "surname", "dob"]].copy()
            g["group"] = g["forename"].map(lambda f: sorted(standardise.name_groups(f) | {f"name:{f}"}))
            return g.explode("group")
        pairs = groups(s).merge(groups(n), on=["group", "surname", "dob"], suffixes=("_s", "_n"))
        return pairs.drop_duplicates(["row_s", "row_n"])
    if name == "names_dob_within_3_months":
        pairs = s.dropna(subset=["forename", "surname", "dob_days"])[["row", "forename", "surname", "dob_days"]].merge(
            n.dropna(subset=["forename", "surname", "dob_days"])[["row", "forename", "surname", "dob_days"]],
            on=["forename", "surname"], suffixes=("_s", "_n"),
        )
        return pairs[(pairs["dob_days_s"] - pairs["dob_days_n"]).abs() <= 92]
    if name == "surname_dob_postcode_initial":
        return join(["surname", "dob", "postcode", "initial"])
    if name == "forename_dob_postcode":
        return join(["forename", "dob", "postcode"])
    if name == "names_postcode":
        return join(["forename", "surname", "postcode"])
    raise ValueError(f"unknown rule {name!r}")


def link_rules(survey: pd.DataFrame, npd: pd.DataFrame, params: LinkageParams, **_: object) -> LinkResult:
    """Link with the deterministic rule cascade (:data:`RULES`); ``params.thresholds.match`` splits matched from review."""
    survey = check_spine(survey, SURVEY_KEY, "survey spine")
    npd = check_spine(npd, NPD_KEY, "NPD spine")
    links = empty_links(survey[SURVEY_KEY])
    s, n = _prepared(survey, SURVEY_KEY), _prepared(npd, NPD_KEY)
    accepted = []
    for name, confidence, _text in RULES:
        if s.empty or n.empty:
            break
        pairs = _rule_pairs(name, s, n)[["row_s", "row_n"]].drop_duplicates()
        unique = pairs[~pairs["row_s"].duplicated(keep=False) & ~pairs["row_n"].duplicated(keep=False)]
        log.info("rule %-28s %6d candidate pairs, %6d unique", name, len(pairs), len(unique))
        if len(unique):
            accepted.append(unique.assign(rule=name, confidence=confidence))
            s = s[~s["row"].isin(unique["row_s"])]
            n = n[~n["row"].isin(unique["row_n"])]
    found = pd.concat(accepted, ignore_index=True) if accepted else pd.DataFrame(columns=["row_s", "row_n", "rule", "confidence"])
    if len(found):
        rows = found["row_s"].to_numpy(int)
        links.loc[rows, NPD_KEY] = npd[NPD_KEY].to_numpy()[found["row_n"].to_numpy(int)]
        links.loc[rows, "match_probability"] = found["confidence"].to_numpy(float)
        links.loc[rows, "link_status"] = np.where(found["confidence"].to_numpy(float) >= params.thresholds.match, "matched", "clerical_review")
        links.loc[rows, "decided_by"] = "rule:" + found["rule"].astype(str).to_numpy()
    pairs = pd.DataFrame({
        SURVEY_KEY: survey[SURVEY_KEY].to_numpy()[found["row_s"].to_numpy(int)],
        NPD_KEY: npd[NPD_KEY].to_numpy()[found["row_n"].to_numpy(int)],
        "rule": found["rule"].to_numpy(),
        "confidence": found["confidence"].to_numpy(float),
    })
    counts = pairs["rule"].value_counts().reindex([r[0] for r in RULES], fill_value=0)
    return LinkResult(links=links, pairs=pairs, model=None, blocking=pd.DataFrame({"rule": counts.index, "links": counts.to_numpy()}),
                      diagnostics={"method": "rule cascade"})


_ECM_FIELDS = ("forename", "surname", "dob", "postcode", "sex", "school")


def link_ecm(survey: pd.DataFrame, npd: pd.DataFrame, params: LinkageParams, **_: object) -> LinkResult:
    """Link with recordlinkage's default pipeline: block, exact comparisons, ``ECMClassifier``."""
    import recordlinkage as rl

    survey = check_spine(survey, SURVEY_KEY, "survey spine")
    npd = check_spine(npd, NPD_KEY, "NPD spine")
    links = empty_links(survey[SURVEY_KEY])
    s = standardise.standardise_spine(survey, SURVEY_KEY)
    n = standardise.standardise_spine(npd, NPD_KEY)
    fields = [f for f in _ECM_FIELDS if s[f].notna().any() and n[f].notna().any()]
    empty = LinkResult(links=links, pairs=pd.DataFrame(columns=[SURVEY_KEY, NPD_KEY]), model=None,
                       diagnostics={"method": "recordlinkage ECM", "fitted": False})
    block_on = [f for f in ("dob", "surname") if f in fields]
    if s.empty or n.empty or not block_on or len(fields) < 2:
        return empty
    indexer = rl.Index()
    for f in block_on:
        indexer.block(f)
    candidates = indexer.index(s, n)
    if len(candidates) == 0:
        return empty
    comparer = rl.Compare()
    for f in fields:
        comparer.exact(f, f, label=f)
    features = comparer.compute(candidates, s, n)
    # ECM needs some variation in every column; a constant column carries no information.
    features = features.loc[:, features.nunique() > 1]
    if features.shape[1] == 0:
        return empty
    ecm = rl.ECMClassifier()
    try:
        ecm.fit(features)
        probability = pd.Series(ecm.prob(features), index=features.index)
    except Exception as exc:  # the baseline may fail on degenerate inputs; say so, don't crash
        log.warning("ECM baseline could not be fitted: %s", exc)
        return empty
    predicted = probability >= 0.5
    table = pd.DataFrame({
        "s": features.index.get_level_values(0), "n": features.index.get_level_values(1),
        "match_probability": probability.to_numpy(), "match": predicted.to_numpy(),
    })
    table = pd.concat([table, features.reset_index(drop=True)], axis=1)
    chosen = assign.assign_greedy(table[table["match"]], weight="match_probability", left="s", right="n")
    rows = chosen["s"].to_numpy(int)
    links.loc[rows, NPD_KEY] = n[NPD_KEY].to_numpy()[chosen["n"].to_numpy(int)]
    links.loc[rows, "match_probability"] = chosen["match_probability"].to_numpy(float)
    links.loc[rows, "link_status"] = "matched"
    links.loc[rows, "decided_by"] = "ecm"
    pairs = table.assign(**{SURVEY_KEY: s[SURVEY_KEY].to_numpy()[table["s"].to_numpy(int)], NPD_KEY: n[NPD_KEY].to_numpy()[table["n"].to_numpy(int)]})
    diagnostics = {"method": "recordlinkage ECM", "fitted": True, **ecm_diagnostics(ecm, features, predicted.to_numpy(), len(s), len(n))}
    blocking_table = pd.DataFrame({"pass": ["+".join(block_on)], "pairs": [len(candidates)]})
    return LinkResult(links=links, pairs=pairs.drop(columns=["s", "n"]), model=None, blocking=blocking_table, diagnostics=diagnostics)


def ecm_diagnostics(ecm: object, features: pd.DataFrame, predicted: np.ndarray, n_survey: int, n_npd: int) -> dict:
    """The degeneracy checks of :func:`sendlink.link.model.diagnose`, for a fitted ECM.

    Returns per field the weight of agreement ``log2(m/u)`` (should be > 0)
    and of disagreement (should be < 0), the number of predicted matches
    against the one-to-one bound ``min(n_survey, n_npd)``, and the share of
    predicted matches that agree on at most one field (a coincidence, not a
    match); ``degenerate`` with ``reasons`` when any check fails.
    """
    reasons = []
    per_field = {}
    m_probs = getattr(ecm, "m_probs", {}) or {}
    u_probs = getattr(ecm, "u_probs", {}) or {}
    for name in features.columns:
        m, u = m_probs.get(name, {}), u_probs.get(name, {})
        if 1 in m and 1 in u and 0 in m and 0 in u:
            agree = float(np.log2(m[1] / u[1])) if m[1] > 0 and u[1] > 0 else float("nan")
            disagree = float(np.log2(m[0] / u[0])) if m[0] > 0 and u[0] > 0 else float("nan")
            per_field[name] = {"m_agree": float(m[1]), "u_agree": float(u[1]), "agreement_weight": agree, "disagreement_weight": disagree}
            if not agree > 0:
                reasons.append(f"{name}: agreement is not evidence of a match")
            if not disagree < 0:
                reasons.append(f"{name}: disagreement is not evidence against a match")
    n_predicted = int(predicted.sum())
    max_matches = min(n_survey, n_npd)
    if n_predicted > max_matches:
        reasons.append(f"{n_predicted} predicted matches exceed the one-to-one bound of {max_matches}")
    agreeing = features.to_numpy().sum(axis=1)
    weak = float((agreeing[predicted] <= 1).mean()) if n_predicted else 0.0
    if weak > 0.05:
        reasons.append(f"{weak:.0%} of predicted matches agree on at most one field")
    return {"degenerate": bool(reasons), "reasons": reasons, "fields": per_field, "predicted_matches": n_predicted,
            "max_matches": max_matches, "weak_evidence_share": weak}


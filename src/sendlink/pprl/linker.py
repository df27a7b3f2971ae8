"""The linkage unit's linker: Fellegi-Sunter on encodings, with the plain linker's machinery (:func:`link_encoded`).

Run by the linkage unit, which holds the two encoded files and nothing
else. **In:** the survey organisation's and DfE's encoded spines (keys are
per-run pseudonyms: :mod:`sendlink.pprl.pseudonyms`), the ``linkage:``
model settings and thresholds and the ``pprl:`` bands and blocking.
**Out:** a :class:`~sendlink.link.engine.LinkResult` whose links have the
contract's columns (``survey_id, upn, match_probability, match_weight,
link_status``), holding pseudonyms, and a one-sided review queue
(:func:`review_queue`).

Steps, each the plain linker's own function where one exists:

1. blocking on keyed blocking keys and optional Hamming LSH
   (:func:`sendlink.pprl.blocking.candidate_pairs`);
2. reviewer decisions applied (``match`` pairs join and are fixed,
   ``non-match`` pairs leave), by pseudonym;
3. comparison levels (:func:`sendlink.pprl.levels.compare_encoded`: the
   linker's :class:`~sendlink.link.compare.Comparison` objects tested on
   encodings);
4. u on random pairs (:func:`sendlink.link.model.estimate_u`), term
   frequencies from identical filters
   (:func:`sendlink.pprl.levels.filter_frequencies`), m and pi by the
   linker's one-to-one EM (:func:`sendlink.link.model.fit`), scores
   (:func:`sendlink.link.model.score`);
5. competing candidates, one-to-one assignment, thresholds and reviewer
   decisions (:func:`sendlink.link.engine.decide`).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from sendlink.errors import InputError
from sendlink.link import assign, model
from sendlink.link.engine import LinkResult, decide
from sendlink.params.linkage import LinkageParams
from sendlink.params.pprl import PprlParams
from sendlink.pprl.blocking import candidate_pairs
from sendlink.pprl.encode import EncodedSpine, field_similarity
from sendlink.pprl.levels import compare_encoded, encoded_comparisons, filter_frequencies

__all__ = ["check_compatible", "link_encoded", "review_queue"]

log = logging.getLogger(__name__)

SURVEY_KEY, NPD_KEY = "survey_id", "upn"


def check_compatible(survey: EncodedSpine, npd: EncodedSpine, survey_source: object = "survey file",
                     npd_source: object = "NPD file") -> None:
    """Refuse two files that cannot be compared: other keys, other secrets, other encodings.

    Raises
    ------
    InputError
        Naming the file and what differs.
    """
    if survey.key != SURVEY_KEY:
        raise InputError(survey_source, f"the survey file's key column is {survey.key!r}, not {SURVEY_KEY!r} (sides swapped?)")
    if npd.key != NPD_KEY:
        raise InputError(npd_source, f"the NPD file's key column is {npd.key!r}, not {NPD_KEY!r} (sides swapped?)")
    if survey.key_check != npd.key_check:
        raise InputError(npd_source, f"encoded with another secret than {survey_source} (key check values "
                                     f"{npd.key_check} and {survey.key_check}): both data holders must use the shared secret")
    if survey.params != npd.params:
        ours, theirs = survey.params.to_dict(), npd.params.to_dict()
        differ = sorted(k for k in ours if ours[k] != theirs.get(k))
        raise InputError(npd_source, f"encoded with other parameters than {survey_source} (differ: {', '.join(differ)})")


def _apply_decisions(pairs: pd.DataFrame, survey: EncodedSpine, npd: EncodedSpine,
                     decisions: pd.DataFrame | None) -> pd.DataFrame:
    """Candidate pairs with reviewer decisions (by pseudonym) applied; adds ``reviewer_match``."""
    pairs = pairs.assign(reviewer_match=False)
    if decisions is None or not len(decisions):
        return pairs
    s_pos = pd.Series(np.arange(len(survey)), index=pd.Index(survey.keys.astype(str)))
    n_pos = pd.Series(np.arange(len(npd)), index=pd.Index(npd.keys.astype(str)))
    ds = s_pos.reindex(decisions["survey_id"].astype(str)).to_numpy()
    dn = n_pos.reindex(decisions["upn"].astype(str)).to_numpy()
    known = ~np.isnan(ds) & ~np.isnan(dn)
    if (~known).any():
        log.warning("%d reviewer decision(s) name pseudonyms not in these files; ignored", int((~known).sum()))
    ds, dn = ds[known].astype(np.int64), dn[known].astype(np.int64)
    is_match = (decisions["decision"] == "match").to_numpy()[known]
    n_n = len(npd)
    pair_key = pairs["survey_row"].to_numpy(np.int64) * n_n + pairs["npd_row"].to_numpy(np.int64)
    dec_key = ds * n_n + dn
    pairs = pairs[~np.isin(pair_key, dec_key[~is_match])]
    yes = dec_key[is_match]
    absent = yes[~np.isin(yes, pair_key)]
    pairs = pd.concat([pairs, pd.DataFrame({"survey_row": absent // n_n, "npd_row": absent % n_n, "passes": "reviewer",
                                            "reviewer_match": True})], ignore_index=True)
    key = pairs["survey_row"].to_numpy(np.int64) * n_n + pairs["npd_row"].to_numpy(np.int64)
    pairs["reviewer_match"] = np.isin(key, yes)
    log.info("honouring %d match and %d non-match reviewer decision(s)", int(is_match.sum()), int((~is_match).sum()))
    return pairs.sort_values(["survey_row", "npd_row"], kind="mergesort").reset_index(drop=True)


def link_encoded(survey: EncodedSpine, npd: EncodedSpine, linkage: LinkageParams, pprl: PprlParams, *, seed: int,
                 decisions: pd.DataFrame | None = None, survey_source: object = "survey file",
                 npd_source: object = "NPD file") -> LinkResult:
    """Link two encoded spines (see the module docstring).

    Parameters
    ----------
    survey, npd
        Encoded spines (:func:`sendlink.pprl.encode.read_encoded`), keys
        ``survey_id`` and ``upn`` (pseudonyms in a three-party run).
    linkage
        The ``linkage:`` section: model settings and thresholds.
    pprl
        The ``pprl:`` section: bands and blocking.
    seed
        Seeds the u sample and the LSH positions.
    decisions
        Reviewer decisions by pseudonym (:func:`sendlink.link.clerical.read_decisions`).

    Returns
    -------
    LinkResult
        ``links`` (contract columns and ``decided_by``), ``pairs`` (keys,
        passes, levels, weights, probabilities, ``dice_<field>``), the
        fitted model and diagnostics.
    """
    check_compatible(survey, npd, survey_source, npd_source)
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    n_s, n_n = len(survey), len(npd)
    lsh = pprl.blocking.lsh.model_dump() if pprl.blocking.lsh is not None else None
    pairs = candidate_pairs(survey, npd, max_block_size=pprl.blocking.max_block_size, lsh=lsh, rng=rng)
    blocking_table = pairs["passes"].str.split("+").explode().value_counts().rename_axis("name").reset_index(name="pairs") \
        if len(pairs) else pd.DataFrame(columns=["name", "pairs"])
    lap("block")
    pairs = _apply_decisions(pairs, survey, npd, decisions)
    si, ni = pairs["survey_row"].to_numpy(np.int64), pairs["npd_row"].to_numpy(np.int64)
    comparisons = encoded_comparisons(pprl.bands)
    levels = compare_encoded(survey, npd, si, ni, comparisons)
    lap("compare")
    if n_s and n_n:
        size = linkage.model.u_sample_size
        if n_s * n_n <= size:
            grid = np.arange(n_s * n_n, dtype=np.int64)
            rs, rn = grid // n_n, grid % n_n
        else:
            rs, rn = rng.integers(0, n_s, size=size), rng.integers(0, n_n, size=size)
    else:
        rs, rn = np.zeros(0, np.int64), np.zeros(0, np.int64)
    u = model.estimate_u(compare_encoded(survey, npd, rs, rn, comparisons))
    lap("estimate_u")
    tf = None
    if linkage.model.term_frequency and n_n:
        frequencies = filter_frequencies(npd)
        tf = {name: values[ni] for name, values in frequencies.items()}
    lap("term_frequencies")
    fitted = model.fit(levels, u, n_s, n_n, survey_rows=si, tf=tf, max_iterations=linkage.model.em_max_iterations,
                       tolerance=linkage.model.em_tolerance, min_agreeing_fields=linkage.model.min_agreeing_fields,
                       prior_strength=linkage.model.prior_strength)
    lap("fit")
    scores = model.score(fitted, levels, tf)
    weight = scores["match_weight"].to_numpy()
    out = pd.DataFrame({
        SURVEY_KEY: pd.Categorical(survey.keys[si].astype(str)),
        NPD_KEY: pd.Categorical(npd.keys[ni].astype(str)),
        "passes": pairs["passes"].to_numpy(),
    })
    for spec in comparisons:
        out[spec.name] = pd.Categorical.from_codes(levels[spec.name].to_numpy().astype(np.int64), categories=list(spec.labels))
    for name in survey.filters:
        out[f"dice_{name}"] = np.where(survey.present[name][si] & npd.present[name][ni],
                                       field_similarity(survey, npd, name, si, ni), np.nan)
    out = pd.concat([out, scores.drop(columns="match_probability")], axis=1)
    out["pairwise_probability"] = scores["match_probability"].to_numpy()
    out["match_probability"] = assign.competing_probability(si, weight)
    out["reviewer_match"] = pairs["reviewer_match"].to_numpy()
    out["survey_row"] = si
    out["npd_row"] = ni
    links = decide(out, pd.Series(survey.keys.astype(str)), linkage.thresholds)
    lap("assign")
    log.info("encoded links: %d matched, %d for clerical review, %d unmatched",
             *(int((links["link_status"] == s).sum()) for s in ("matched", "clerical_review", "unmatched")))
    diagnostics = {"timings": timings, "model": fitted.diagnostics, "candidate_pairs": len(out), "n_survey": n_s,
                   "n_npd": n_n, "key_check": survey.key_check}
    return LinkResult(links=links, pairs=out, model=fitted, blocking=blocking_table, diagnostics=diagnostics,
                      params=linkage, seed=seed)


def review_queue(result: LinkResult) -> pd.DataFrame:
    """The linkage unit's one-sided review queue: pseudonyms, levels, similarities and weights, no identifier.

    One row per ``clerical_review`` link: ``survey_id, upn`` (pseudonyms),
    ``match_probability, match_weight``, per field ``level_<field>`` (the
    comparison level), ``dice_<field>`` (the filters' Dice similarity) and
    ``w_<field>`` (the field's weight in bits), and empty ``decision,
    reviewer, date``. A reviewer at the linkage unit decides from the
    pattern of agreement alone: they cannot look at names (see
    :mod:`sendlink.pprl` for what that costs and the alternatives).
    Sorted by probability, most doubtful last.
    """
    links, pairs = result.links, result.pairs
    queue = links.loc[links["link_status"] == "clerical_review", [SURVEY_KEY, NPD_KEY, "match_probability", "match_weight"]]
    fields = [c for c in ("forename", "surname", "date_of_birth", "postcode", "sex", "school") if c in pairs.columns]
    detail = pairs[[SURVEY_KEY, NPD_KEY, *fields, *[c for c in pairs.columns if c.startswith("dice_")],
                    *[f"w_{f}" for f in fields if f"w_{f}" in pairs.columns]]].copy()
    detail[SURVEY_KEY] = detail[SURVEY_KEY].astype(str)
    detail[NPD_KEY] = detail[NPD_KEY].astype(str)
    detail = detail.rename(columns={f: f"level_{f}" for f in fields})
    for f in fields:
        detail[f"level_{f}"] = detail[f"level_{f}"].astype(object).where(detail[f"level_{f}"].notna(), "missing")
    queue = queue.astype({SURVEY_KEY: str, NPD_KEY: str}).merge(detail, on=[SURVEY_KEY, NPD_KEY], how="left")
    for c in ("decision", "reviewer", "date"):
        queue[c] = ""
    return queue.sort_values(["match_probability", SURVEY_KEY], ascending=[False, True], kind="mergesort").reset_index(drop=True)

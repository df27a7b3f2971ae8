"""Clerical review: people decide where the model is unsure.

Stage ``link``, run by DfE (the review file holds identifiers of both sides
and never leaves DfE). **In:** the links and both spines. **Out:** a review
file with one row per uncertain pair, both records' identifiers side by side
as recorded, and empty ``decision, reviewer, date`` columns for the reviewer.

A reviewer fills in ``decision`` (``match`` or ``non-match``), their name
and the date, and saves the rows as a *decisions file* (any extra columns
are ignored). On the next run :func:`read_decisions` loads it and the linker
honours it (:func:`apply_decisions`): a ``match`` is linked whatever the model says (``link_status``
``matched``), a ``non-match`` removes that pair from the candidates, so the
child may link to another record or stay unmatched. No decision about a
person is purely automated where the model is unsure.

Besides the uncertain pairs, every run sends a random **audit sample** of
the links the model accepted on its own (``matched``, not already confirmed
by a reviewer) to the same queue (:func:`audit_sample`; its size is
``linkage.audit_sample_size``): ``review_reason`` says ``audit`` for them and
``uncertain`` for the others. An audited link stays linked unless a reviewer
says ``non-match``. The reviewers' decisions on the sample estimate how often
accepted links are wrong, with a confidence interval; on synthetic data the
evaluation stage measures the same rate against the truth
(:mod:`sendlink.evaluate.linkage`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sendlink.errors import InputError
from sendlink.io import read_table
from sendlink.link.compare import FIELDS
from sendlink.link.spine import RawSpine
from sendlink.link.standardise import IDENTIFIER_COLUMNS

__all__ = ["AUDIT_STREAM", "DECISIONS", "DECISION_COLUMNS", "apply_decisions", "audit_sample", "build_review", "read_decisions", "review_queue"]

log = logging.getLogger(__name__)

#: Columns of a decisions file (extra columns are ignored).
DECISION_COLUMNS = ("survey_id", "upn", "decision", "reviewer", "date")
#: Allowed decisions, after lower-casing and turning ``_``/space into ``-``.
DECISIONS = ("match", "non-match")
#: Mixed with the project seed to draw the audit sample: its own stream, so the
#: sample does not shift when other random draws of the linker change.
AUDIT_STREAM = 0xA0D17


def audit_sample(links: pd.DataFrame, size: int, seed: int, survey_key: str = "survey_id", npd_key: str = "upn") -> pd.DataFrame:
    """A random sample of the links the model accepted on its own, for clerical review.

    ``size`` links (all of them if fewer) are drawn without replacement from
    the ``matched`` links not decided by a reviewer, in ``survey_key`` order,
    with a generator seeded from ``(seed, AUDIT_STREAM)``: the same links
    and seed give the same sample on every machine.

    Returns
    -------
    DataFrame
        ``survey_key, npd_key`` of the sampled links, sorted.
    """
    if size < 0:
        raise ValueError(f"audit sample size must be 0 or more, got {size}")
    accepted = links["link_status"] == "matched"
    if "decided_by" in links.columns:
        accepted &= links["decided_by"].astype(str) != "reviewer"
    pool = links.loc[accepted, [survey_key, npd_key]].astype(str).sort_values(survey_key, kind="mergesort").reset_index(drop=True)
    take = min(int(size), len(pool))
    rng = np.random.default_rng([int(seed) % 2**63, AUDIT_STREAM])
    rows = np.sort(rng.choice(len(pool), size=take, replace=False)) if take else np.array([], dtype=int)
    log.info("audit sample: %d of %d automatically accepted link(s) sent to clerical review", take, len(pool))
    return pool.iloc[rows].reset_index(drop=True)


def build_review(links: pd.DataFrame, pairs: pd.DataFrame, survey: pd.DataFrame, npd: pd.DataFrame,
                 survey_key: str = "survey_id", npd_key: str = "upn", audit: pd.DataFrame | None = None) -> pd.DataFrame:
    """The review queue: each ``clerical_review`` link, and each audited link, with both records side by side.

    Columns: ``survey_id, upn, match_probability, match_weight,
    review_reason`` (``uncertain`` or ``audit``), then for each identifier
    ``survey_<field>`` and ``npd_<field>`` (as recorded), then the comparison
    level of each field (``level_<field>``), then empty ``decision, reviewer,
    date``. Sorted by probability, most doubtful last.
    """
    cols = [survey_key, npd_key, "match_probability", "match_weight"]
    queue = links.loc[links["link_status"] == "clerical_review", cols].assign(review_reason="uncertain")
    if audit is not None and len(audit):
        keyed = links.assign(_s=links[survey_key].astype(str), _n=links[npd_key].astype(str))
        picked = keyed.merge(audit.astype(str).rename(columns={survey_key: "_s", npd_key: "_n"}), on=["_s", "_n"])
        queue = pd.concat([queue, picked[cols].assign(review_reason="audit")], ignore_index=True)
    present = [c for c in IDENTIFIER_COLUMNS if c in survey.columns or c in npd.columns]
    s = survey.reindex(columns=[survey_key, *present]).astype(object)
    n = npd.reindex(columns=[npd_key, *present]).astype(object)
    s[survey_key] = s[survey_key].astype(str)
    n[npd_key] = n[npd_key].astype(str)
    out = queue.merge(s.rename(columns={c: f"survey_{c}" for c in present}), on=survey_key, how="left")
    out = out.merge(n.rename(columns={c: f"npd_{c}" for c in present}), on=npd_key, how="left")
    ordered = [survey_key, npd_key, "match_probability", "match_weight", "review_reason"]
    for c in present:
        ordered += [f"survey_{c}", f"npd_{c}"]
    out = out[ordered]
    level_cols = [f.name for f in FIELDS if f.name in pairs.columns]
    if len(out) and level_cols:
        levels = pairs[[survey_key, npd_key, *level_cols]].copy()
        levels[survey_key] = levels[survey_key].astype(str)
        levels[npd_key] = levels[npd_key].astype(str)
        levels = levels.merge(out[[survey_key, npd_key]], on=[survey_key, npd_key], how="inner")
        out = out.merge(levels.rename(columns={c: f"level_{c}" for c in level_cols}), on=[survey_key, npd_key], how="left")
        for c in level_cols:
            out[f"level_{c}"] = out[f"level_{c}"].astype(object)
    for c in ("decision", "reviewer", "date"):
        out[c] = ""
    return out.sort_values(["match_probability", survey_key], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def read_decisions(path: str | Path) -> pd.DataFrame:
    """Read and check a reviewer decisions file.

    Returns
    -------
    DataFrame
        ``survey_id, upn, decision, reviewer, date`` with ``decision`` in
        :data:`DECISIONS`; rows with an empty decision (not yet reviewed) are
        dropped.

    Raises
    ------
    InputError
        A required column is missing, a decision is not ``match`` or
        ``non-match``, or the decisions contradict each other (one child
        confirmed as two pupils, or one pupil as two children).
    """
    frame = read_table(path, dtype_str=True) if str(path).lower().endswith(".csv") else read_table(path)
    missing = [c for c in ("survey_id", "upn", "decision") if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing required column(s): {', '.join(missing)}", column=missing[0])
    frame = frame.reindex(columns=list(DECISION_COLUMNS)).astype(object)
    frame = frame[frame["decision"].notna() & (frame["decision"].astype(str).str.strip() != "")].copy()
    frame["decision"] = frame["decision"].astype(str).str.strip().str.lower().str.replace(r"[_\s]+", "-", regex=True)
    frame.loc[frame["decision"] == "nonmatch", "decision"] = "non-match"
    bad = frame.index[~frame["decision"].isin(DECISIONS)]
    if len(bad):
        raise InputError(path, f"decision must be one of {', '.join(DECISIONS)}", column="decision",
                         rows=[int(i) for i in bad], values=frame.loc[bad, "decision"].tolist())
    for key in ("survey_id", "upn"):
        empty = frame.index[frame[key].isna() | (frame[key].astype(str).str.strip() == "")]
        if len(empty):
            raise InputError(path, "empty key in a decision", column=key, rows=[int(i) for i in empty])
        frame[key] = frame[key].astype(str).str.strip()
    frame = frame.drop_duplicates(subset=["survey_id", "upn", "decision"], keep="last")
    both = frame.groupby(["survey_id", "upn"])["decision"].nunique()
    if (both > 1).any():
        first = both[both > 1].index[0]
        raise InputError(path, f"pair {first} is both a match and a non-match", column="decision")
    matches = frame[frame["decision"] == "match"]
    for key in ("survey_id", "upn"):
        dup = matches[matches.duplicated(key, keep=False)]
        if len(dup):
            raise InputError(path, f"one {key} confirmed as a match to more than one record", column=key,
                             rows=[int(i) for i in dup.index], values=dup[key].tolist())
    log.info("read %d reviewer decision(s) from %s (%d match, %d non-match)", len(frame), path,
             int((frame["decision"] == "match").sum()), int((frame["decision"] == "non-match").sum()))
    return frame.reset_index(drop=True)


def _decision_rows(decisions: pd.DataFrame, survey: RawSpine, npd: RawSpine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row positions of the decisions' records (-1 when not in the files) and whether each is a match."""
    def rows_of(keys: pa.Array, wanted: pd.Series) -> np.ndarray:
        values = pa.array(wanted.astype(str).tolist(), type=pa.string())
        hit = pc.index_in(keys, value_set=values).to_numpy(zero_copy_only=False)
        hit = np.where(np.isnan(hit), -1, hit).astype(np.int64) if hit.dtype.kind == "f" else hit.astype(np.int64)
        out = np.full(len(values), -1, dtype=np.int64)
        where = np.flatnonzero(hit >= 0)
        out[hit[where]] = where
        return out

    d_s = rows_of(survey.keys, decisions["survey_id"])
    d_n = rows_of(npd.keys, decisions["upn"])
    return d_s, d_n, (decisions["decision"] == "match").to_numpy()


def apply_decisions(survey_rows: np.ndarray, npd_rows: np.ndarray, passes: np.ndarray, decisions: pd.DataFrame | None,
                    survey: RawSpine, npd: RawSpine) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The candidate pairs with the reviewers' decisions applied.

    A ``non-match`` pair leaves the candidates; a ``match`` pair joins them
    if blocking did not find it (with no pass: ``passes`` 0) and is marked
    as forced, so the linker links it whatever the model says. Decisions
    naming records not in these spines are ignored, with a warning.

    Parameters
    ----------
    survey_rows, npd_rows, passes
        The candidate pairs (row positions) and the passes that found each
        (bit mask), as :func:`sendlink.link.blocking.block` gives them.
    decisions
        :func:`read_decisions`' table, or ``None``.
    survey, npd
        The spines the rows point into.

    Returns
    -------
    tuple
        ``survey_rows, npd_rows, passes`` of the pairs to score, and
        ``forced``: whether each is a reviewer-confirmed match.
    """
    si, ni, bits = survey_rows, npd_rows, passes
    n_s, n_n = len(survey), len(npd)
    forced = np.zeros(len(si), dtype=bool)
    if decisions is None or not len(decisions) or not n_s or not n_n:
        return si, ni, bits, forced
    d_s, d_n, is_match = _decision_rows(decisions, survey, npd)
    known = (d_s >= 0) & (d_n >= 0)
    if (~known).any():
        log.warning("%d reviewer decision(s) name records not in these files; ignored", int((~known).sum()))
    pair_key = si * n_n + ni
    dec_key = d_s[known] * n_n + d_n[known]
    non = dec_key[~is_match[known]]
    keep = ~np.isin(pair_key, non)
    si, ni, bits = si[keep], ni[keep], bits[keep]
    yes = dec_key[is_match[known]]
    missing = yes[~np.isin(yes, si * n_n + ni)]
    si = np.concatenate([si, missing // n_n])
    ni = np.concatenate([ni, missing % n_n])
    bits = np.concatenate([bits, np.zeros(len(missing), dtype=bits.dtype)])
    forced = np.isin(si * n_n + ni, yes)
    log.info("honouring %d match and %d non-match reviewer decision(s)", len(yes), len(non))
    return si, ni, bits, forced


def review_queue(links: pd.DataFrame, pairs: pd.DataFrame, survey: RawSpine, npd: RawSpine, audit: pd.DataFrame | None = None) -> pd.DataFrame:
    """The clerical-review queue of a linkage run, with both records' identifiers as recorded.

    ``links`` and ``pairs`` are the run's (:class:`sendlink.link.engine.LinkResult`);
    ``audit`` is :func:`audit_sample`'s. Only the NPD records under review
    are read from the (possibly 9-million row) NPD spine.
    """
    in_review = set(links.loc[links["link_status"] == "clerical_review", npd.key])
    if audit is not None and len(audit):
        in_review |= set(audit[npd.key].astype(str))
    npd_rows = pairs.loc[pairs[npd.key].astype(str).isin(in_review), "npd_row"].unique() if len(in_review) else []
    return build_review(links, pairs, survey.frame(), npd.frame(np.asarray(npd_rows, dtype=np.int64)), survey.key, npd.key, audit=audit)

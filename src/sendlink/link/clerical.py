"""Clerical review: people decide where the model is unsure.

Stage ``link``, run by DfE (the review file holds identifiers of both sides
and never leaves DfE). **In:** the links and both spines. **Out:** a review
file with one row per uncertain pair, both records' identifiers side by side
as recorded, and empty ``decision, reviewer, date`` columns for the reviewer.

A reviewer fills in ``decision`` (``match`` or ``non-match``), their name
and the date, and saves the rows as a *decisions file* (any extra columns
are ignored). On the next run :func:`read_decisions` loads it and the linker
honours it: a ``match`` is linked whatever the model says (``link_status``
``matched``), a ``non-match`` removes that pair from the candidates, so the
child may link to another record or stay unmatched. No decision about a
person is purely automated where the model is unsure.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from sendlink.errors import InputError
from sendlink.io import read_table
from sendlink.link.compare import FIELDS
from sendlink.link.standardise import IDENTIFIER_COLUMNS

__all__ = ["DECISION_COLUMNS", "DECISIONS", "build_review", "read_decisions"]

log = logging.getLogger(__name__)

#: Columns of a decisions file (extra columns are ignored).
DECISION_COLUMNS = ("survey_id", "upn", "decision", "reviewer", "date")
#: Allowed decisions, after lower-casing and turning ``_``/space into ``-``.
DECISIONS = ("match", "non-match")


def build_review(links: pd.DataFrame, pairs: pd.DataFrame, survey: pd.DataFrame, npd: pd.DataFrame,
                 survey_key: str = "survey_id", npd_key: str = "upn") -> pd.DataFrame:
    """The review queue: each ``clerical_review`` link with both records side by side.

    Columns: ``survey_id, upn, match_probability, match_weight``, then for
    each identifier ``survey_<field>`` and ``npd_<field>`` (as recorded),
    then the comparison level of each field (``level_<field>``), then empty
    ``decision, reviewer, date``. Sorted by probability, most doubtful last.
    """
    queue = links.loc[links["link_status"] == "clerical_review", [survey_key, npd_key, "match_probability", "match_weight"]]
    present = [c for c in IDENTIFIER_COLUMNS if c in survey.columns or c in npd.columns]
    s = survey.reindex(columns=[survey_key, *present]).astype(object)
    n = npd.reindex(columns=[npd_key, *present]).astype(object)
    s[survey_key] = s[survey_key].astype(str)
    n[npd_key] = n[npd_key].astype(str)
    out = queue.merge(s.rename(columns={c: f"survey_{c}" for c in present}), on=survey_key, how="left")
    out = out.merge(n.rename(columns={c: f"npd_{c}" for c in present}), on=npd_key, how="left")
    ordered = [survey_key, npd_key, "match_probability", "match_weight"]
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

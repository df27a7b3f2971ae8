"""Blocking recall: how many true links the blocking passes propose.

Evaluation code: the true links come from the synthetic truth (read by
:mod:`sendlink.evaluate.truth`); these functions take them as an argument.
Blocking recall is the ceiling on the linker's recall: a true pair that no
pass proposes can never be linked (:mod:`sendlink.link.blocking` explains
how the passes are designed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["blocking_recall", "pass_recall"]


def _true_pairs(true_links: pd.DataFrame, survey_key: str, npd_key: str) -> pd.DataFrame:
    truth = true_links[[survey_key, npd_key]].dropna()
    truth = truth[truth[npd_key].astype(str) != ""].astype(str).drop_duplicates()
    return truth


def blocking_recall(pairs: pd.DataFrame, true_links: pd.DataFrame, survey_key: str = "survey_id", npd_key: str = "upn") -> float:
    """Share of true links that are among the candidate pairs.

    Parameters
    ----------
    pairs
        Candidate pairs with columns ``survey_key`` and ``npd_key`` (e.g.
        :attr:`LinkResult.pairs`).
    true_links
        The truth: ``survey_key``, ``npd_key`` (rows with an empty
        ``npd_key`` are children not in the NPD and are ignored).

    Returns
    -------
    float
        Recall of blocking in [0, 1]; ``nan`` when there are no true links.
    """
    truth = _true_pairs(true_links, survey_key, npd_key)
    if truth.empty:
        return float("nan")
    found = truth.merge(pairs[[survey_key, npd_key]].astype(str).drop_duplicates(), how="inner", on=[survey_key, npd_key])
    return len(found) / len(truth)


def pass_recall(pairs: pd.DataFrame, true_links: pd.DataFrame, pass_names: list[str], *, passes_column: str = "passes",
                survey_key: str = "survey_id", npd_key: str = "upn") -> pd.DataFrame:
    """Blocking recall of each pass, alone and as passes are added, and what each pass alone finds.

    Parameters
    ----------
    pairs
        Candidate pairs with the keys and ``passes`` (pass names joined by
        ``+``, as in :attr:`LinkResult.pairs`).
    true_links
        The truth (see :func:`blocking_recall`).
    pass_names
        The passes, in order.

    Returns
    -------
    DataFrame
        One row per pass: ``pass, pairs, true_pairs_found, recall`` (the
        pass alone), ``cumulative_recall`` (this pass and every earlier one)
        and ``only_this_pass`` (true pairs no other pass found).
    """
    truth = _true_pairs(true_links, survey_key, npd_key)
    cand = pairs[[survey_key, npd_key]].astype(str)
    labels = pd.Categorical(pairs[passes_column])
    member = {}
    for name in pass_names:
        in_category = np.array([name in str(c).split("+") for c in labels.categories] + [False])
        member[name] = in_category[np.where(labels.codes < 0, len(labels.categories), labels.codes)]
    is_true = cand.merge(truth.assign(_t=1), on=[survey_key, npd_key], how="left")["_t"].notna().to_numpy()
    total = len(truth)
    rows, cumulative = [], np.zeros(len(cand), dtype=bool)
    for name in pass_names:
        m = member[name]
        cumulative |= m
        others = np.zeros(len(cand), dtype=bool)
        for other in pass_names:
            if other != name:
                others |= member[other]
        rows.append({
            "pass": name, "pairs": int(m.sum()), "true_pairs_found": int((m & is_true).sum()),
            "recall": float((m & is_true).sum() / total) if total else float("nan"),
            "cumulative_recall": float((cumulative & is_true).sum() / total) if total else float("nan"),
            "only_this_pass": int((m & ~others & is_true).sum()),
        })
    return pd.DataFrame(rows)

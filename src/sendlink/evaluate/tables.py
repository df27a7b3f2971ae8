"""Teaching tables that need the truth (notebooks 1, 3 and 4).

Evaluation code. :mod:`sendlink.link.explain` shows the linker at work
without the truth; the tables here set its output against what really
happened: which differences the parents' reports hold (notebook 1), how
many true links each blocking pass proposes and which candidate pairs are
true (notebook 3), and each child's outcome by the differences in their
parent's report (notebook 4). Functions that take ``true_links`` or
``differences`` are given them by the caller (read with
:mod:`sendlink.evaluate.truth`), so they also work on hand-made examples.

Functions
---------
The synthetic world (notebook 1)
    :func:`difference_counts`, :func:`difference_examples`.
Blocking and scores against the truth (notebook 3)
    :func:`sent_truth`, :func:`blocking_summary`, :func:`is_true_pair`.
Linkage quality by child (notebook 4)
    :func:`evaluate_children`, :func:`difference_kinds`, :func:`differences_per_child`,
    :func:`difference_class`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sendlink.config import Paths
from sendlink.evaluate import truth
from sendlink.evaluate.blocking import pass_recall
from sendlink.evaluate.linkage import classify
from sendlink.io import read_table
from sendlink.schema import catalogue

__all__ = [
    "DIFFERENCE_CLASSES", "NOT_SUBSTANTIVE", "RESULTS", "blocking_summary", "difference_class", "difference_counts",
    "difference_examples", "difference_kinds", "differences_per_child", "evaluate_children", "is_true_pair", "sent_truth",
]


# --------------------------------------------------------------------------- the synthetic world (notebook 1)


def difference_counts(paths: Paths) -> pd.DataFrame:
    """How often each kind of identifier difference occurs in the parents' reports (cases, and % of reports)."""
    diff = truth.identifier_differences(paths)
    n = len(read_table(catalogue.CONTACTS.at(paths), columns=["survey_id"]))
    counts = diff.groupby(["field", "difference"]).size().rename("cases").reset_index()
    counts["percent_of_reports"] = np.round(100 * counts["cases"] / n, 1)
    return counts.sort_values(["field", "cases"], ascending=[True, False]).reset_index(drop=True)


def difference_examples(paths: Paths, kinds: list[tuple[str, str]], per_kind: int = 1) -> pd.DataFrame:
    """Side-by-side NPD and reported values for a few cases of each kind.

    Synthetic identifiers: for teaching pages that declare the DfE view.
    Cases are the first by survey id, so the selection is stable.
    """
    diff = truth.identifier_differences(paths)
    links = truth.true_links(paths).set_index("survey_id")
    contacts = read_table(catalogue.CONTACTS.at(paths)).set_index("survey_id")
    spine = read_table(catalogue.NPD_SPINE.at(paths)).set_index("upn")
    rows = []
    for field, kind in kinds:
        ids = diff[(diff["field"] == field) & (diff["difference"] == kind)]["survey_id"]
        ids = [s for s in sorted(ids) if isinstance(links.loc[s, "upn"], str)][:per_kind]
        for sid in ids:
            columns = ["forename", "surname"] if field == "names" else [field]
            upn = links.loc[sid, "upn"]
            rows.append(
                {
                    "difference": f"{field}: {kind}",
                    "NPD record": " / ".join(str(spine.loc[upn, c]) for c in columns),
                    "parent's report": " / ".join("" if pd.isna(contacts.loc[sid, c]) else str(contacts.loc[sid, c]) for c in columns),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- blocking and scores against the truth (notebook 3)


def sent_truth(true_links: pd.DataFrame, survey_ids: Sequence[str] | pd.Series) -> pd.DataFrame:
    """The true links of the children sent for linkage (the only links a linker could find).

    The truth lists every responding family; only those whose parents gave
    permission were sent to DfE, so recall (of blocking or of the linker)
    is measured against their links alone.
    """
    wanted = set(pd.Series(survey_ids).astype(str))
    truth = true_links.copy()
    truth["survey_id"] = truth["survey_id"].astype(str)
    return truth[truth["survey_id"].isin(wanted)].reset_index(drop=True)


def blocking_summary(pairs: pd.DataFrame, true_links: pd.DataFrame, stats: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Candidate pairs and blocking recall per pass, in pass order.

    Parameters
    ----------
    pairs
        The scored candidate pairs (``pairs.parquet``), with ``passes``.
    true_links
        The true links of the children sent for linkage (:func:`sent_truth`).
    stats
        The per-pass statistics of ``model.json`` (``blocking``): ``name``,
        ``keys``, ``pairs``, ``new_pairs``, ``survey_records_capped`` ...

    Returns
    -------
    DataFrame
        ``pass, keys, pairs, new_pairs, recall`` (the pass alone),
        ``cumulative_recall`` (with every earlier pass), ``only_this_pass``
        (true pairs no other pass found) and ``capped`` (survey records
        whose block was too large for this pass).
    """
    stats = pd.DataFrame(list(stats))
    names = stats["name"].tolist()
    recall = pass_recall(pairs, true_links, names)
    out = recall.merge(stats.rename(columns={"name": "pass"})[["pass", "keys", "new_pairs", "survey_records_capped"]], on="pass")
    out = out.rename(columns={"survey_records_capped": "capped"})
    return out[["pass", "keys", "pairs", "new_pairs", "recall", "cumulative_recall", "only_this_pass", "capped"]]


def is_true_pair(pairs: pd.DataFrame, true_links: pd.DataFrame) -> np.ndarray:
    """For each candidate pair, whether it is a true link (evaluation only)."""
    truth = true_links[["survey_id", "upn"]].dropna()
    truth = truth[truth["upn"].astype(str) != ""]
    keys = set(zip(truth["survey_id"].astype(str), truth["upn"].astype(str), strict=True))
    return np.array([(s, u) in keys for s, u in zip(pairs["survey_id"].astype(str), pairs["upn"].astype(str), strict=True)],
                    dtype=bool)


# --------------------------------------------------------------------------- linkage quality by child (notebook 4)

#: Each survey child's result, from :func:`sendlink.evaluate.linkage.classify`'s outcome.
RESULTS = {
    "correct": "linked correctly",
    "false_match": "false match",
    "missed_not_blocked": "missed",
    "missed_in_review": "missed",
    "missed_unmatched": "missed",
    "missed_linked_elsewhere": "missed",
    "correct_non_match": "not in the NPD, not linked",
}


def evaluate_children(links: pd.DataFrame, true_links: pd.DataFrame, attributes: pd.DataFrame | None = None,
                      pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per survey child sent for linkage: the outcome, a plain-words ``result``, and the child's attributes.

    :func:`sendlink.evaluate.linkage.classify` does the classifying; ``result`` is
    one of the values of :data:`RESULTS` (a child not in the NPD who was
    wrongly linked is a ``false match``). ``attributes`` (``survey_id`` and
    any columns, e.g. the sampling frame's) are joined on; ``twin`` comes
    from the truth when it has it.
    """
    out = classify(links, true_links, pairs)
    out["result"] = out["outcome"].map(RESULTS)
    truth = true_links.assign(survey_id=true_links["survey_id"].astype(str)).drop_duplicates("survey_id")
    if "twin" in truth:
        out = out.merge(truth[["survey_id", "twin"]], on="survey_id", how="left")
        out["twin"] = out["twin"].astype("boolean").fillna(False).astype(bool)
    if attributes is not None:
        attrs = attributes.assign(survey_id=attributes["survey_id"].astype(str)).drop_duplicates("survey_id")
        out = out.merge(attrs, on="survey_id", how="left")
    return out


#: Differences that are not differences to a linker: standardisation removes
#: formatting, and a middle name left out is no evidence either way.
NOT_SUBSTANTIVE = {("forename", "formatting"), ("surname", "formatting"), ("postcode", "formatting"),
                   ("middle_names", "omitted"), ("middle_names", "formatting")}


def _substantive(differences: pd.DataFrame) -> pd.DataFrame:
    diff = differences[["survey_id", "field", "difference"]].copy()
    diff["survey_id"] = diff["survey_id"].astype(str)
    pairs = list(zip(diff["field"].astype(str), diff["difference"].astype(str), strict=True))
    keep = np.array([p not in NOT_SUBSTANTIVE for p in pairs], dtype=bool)
    return diff[keep]


def difference_kinds(children: pd.DataFrame, differences: pd.DataFrame) -> pd.DataFrame:
    """One row per child and kind of difference between the parent's report and the NPD (a child may have several).

    Kinds are ``field: difference`` (underscores as spaces), ``twin in the
    NPD`` for children with a twin, and ``none`` for children with no
    substantive difference (formatting and omitted middle names are not
    counted: :data:`NOT_SUBSTANTIVE`). ``children`` is
    :func:`evaluate_children`'s table; its columns are carried over.
    """
    diff = _substantive(differences)
    diff = diff[diff["survey_id"].isin(set(children["survey_id"]))]
    kinds = pd.DataFrame({"survey_id": diff["survey_id"],
                          "kind": diff["field"].astype(str) + ": " + diff["difference"].astype(str).str.replace("_", " ")})
    if "twin" in children:
        twins = children.loc[children["twin"], ["survey_id"]].assign(kind="twin in the NPD")
        kinds = pd.concat([kinds, twins], ignore_index=True)
    none = sorted(set(children["survey_id"]) - set(kinds["survey_id"]))
    kinds = pd.concat([kinds, pd.DataFrame({"survey_id": none, "kind": "none"})], ignore_index=True).drop_duplicates()
    return kinds.merge(children, on="survey_id", how="inner").sort_values(["kind", "survey_id"], kind="mergesort").reset_index(drop=True)


def differences_per_child(children: pd.DataFrame, differences: pd.DataFrame, top: int = 3) -> pd.Series:
    """How many substantive differences each child's report has, as a category: ``0`` ... ``top or more``.

    Aligned with ``children`` (:func:`evaluate_children`); each field counts
    once (a postcode both moved and missing is one difference).
    """
    diff = _substantive(differences)
    counts = diff.drop_duplicates(["survey_id", "field"]).groupby("survey_id").size()
    n = children["survey_id"].astype(str).map(counts).fillna(0).astype(int).clip(upper=top)
    labels = [str(k) for k in range(top)] + [f"{top} or more"]
    return pd.Series(pd.Categorical.from_codes(n.to_numpy(), categories=labels), index=children.index, name="differences")


#: What differs between a parent's report and the NPD record, from least to most troublesome for linkage.
DIFFERENCE_CLASSES = ("none", "address or school only", "name or date of birth")


def difference_class(children: pd.DataFrame, differences: pd.DataFrame) -> pd.Series:
    """Each child's report in one of :data:`DIFFERENCE_CLASSES` (substantive differences only).

    ``name or date of birth``: any difference in forename, surname (or
    names transposed) or date of birth, whatever else differs; ``address or
    school only``: differences only in postcode or school (moved, missing,
    mistyped); sex alone counts as ``none`` (a linker barely uses it).
    """
    diff = _substantive(differences)
    names = set(diff.loc[diff["field"].isin(["forename", "surname", "names", "date_of_birth"]), "survey_id"])
    place = set(diff.loc[diff["field"].isin(["postcode", "school_urn"]), "survey_id"])
    ids = children["survey_id"].astype(str)
    codes = np.where(ids.isin(names), 2, np.where(ids.isin(place), 1, 0))
    return pd.Series(pd.Categorical.from_codes(codes, categories=list(DIFFERENCE_CLASSES)), index=children.index,
                     name="report differs in")

"""The three parties of the data flow (docs/DESIGN.md section 2), one function each.

Who holds what:

* **DfE** (:func:`dfe_side`) holds the NPD and the match results. For each
  case the survey organisation currently permits to be linked, it turns the
  matched UPN into a ``research_id`` with the project key and derives the
  NPD attributes. It gives the survey organisation a *mapping*
  (``survey_id -> research_id`` and the link status) and the researchers the
  *NPD part* (``research_id`` + ``npd_*``): no UPN, name, postcode, date of
  birth or school leaves it.
* **The survey organisation** (:func:`survey_side`) holds the answers, the
  contacts and the consent register. Through DfE's mapping (or, for a case
  DfE never received, a ``research_id`` it makes from the survey id with the
  same key) it keys each analysable case's answers by ``research_id``,
  withholding the answers of a scope without permission from a linked row,
  and gives the researchers the *survey part*: no survey id, no contact
  details, no interview date.
* **The researchers** receive :func:`researcher_file`: the two parts joined
  on ``research_id``. They never see a survey id, a UPN or the mapping.

The release is checked (k-anonymity, :mod:`sendlink.deidentify.kanon`) by
the data provider before it reaches the researchers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.consent import analysis_permitted, linkage_permitted, linked_data_permitted
from sendlink.deidentify.attributes import SURVEY_FILES, npd_attributes, survey_attributes
from sendlink.deidentify.keys import ProjectKey, research_ids, school_pseudonyms
from sendlink.errors import InputError
from sendlink.schema import catalogue

log = logging.getLogger(__name__)

#: Link statuses written by the linker (docs/DESIGN.md section 4).
LINKER_STATUSES = ("matched", "clerical_review", "unmatched")
#: Scope -> prefixes of the answer columns it covers.
SCOPE_PREFIXES = {
    "parent_answers": tuple(p for file, p in SURVEY_FILES.items() if file.name.startswith("parent")),
    "child_answers": tuple(p for file, p in SURVEY_FILES.items() if file.name.startswith("young_person")),
}


@dataclass(frozen=True)
class LinkRule:
    """Which links DfE accepts as the same child.

    Attributes
    ----------
    name
        ``main``, ``strict`` or ``loose``.
    min_matched_probability
        A ``matched`` link is accepted when at least this probable (0: all,
        reviewers' decisions included).
    review_min_probability
        A ``clerical_review`` candidate is accepted when at least this
        probable; ``None``: never (the default: not linked until a reviewer
        decides, and the linker reports a reviewer's "match" as ``matched``).
    """

    name: str = "main"
    min_matched_probability: float = 0.0
    review_min_probability: float | None = None

    def accepts(self, links: pd.DataFrame) -> pd.Series:
        """Boolean per link: accepted by this rule."""
        p = pd.to_numeric(links["match_probability"], errors="coerce").fillna(0.0)
        ok = (links["link_status"] == "matched") & (p >= self.min_matched_probability)
        if self.review_min_probability is not None:
            ok |= (links["link_status"] == "clerical_review") & (p >= self.review_min_probability)
        return ok & links["upn"].notna() & (links["upn"].astype(str) != "")

    def describe(self) -> str:
        text = "matched links" if self.min_matched_probability <= 0 else f"matched links with match_probability >= {self.min_matched_probability:g}"
        if self.review_min_probability is not None:
            text += f", and clerical-review candidates with match_probability >= {self.review_min_probability:g}"
        return text


@dataclass(frozen=True)
class DfeRelease:
    """What DfE hands on.

    Attributes
    ----------
    mapping
        To the survey organisation only: ``survey_id, research_id,
        link_status, match_probability, npd_linked`` for every case it was
        sent and may still link.
    npd
        To the researchers: ``research_id`` + ``npd_*`` of the accepted links.
    """

    mapping: pd.DataFrame
    npd: pd.DataFrame


def dfe_side(
    links: pd.DataFrame,
    linkable: Iterable[str],
    npd_dir: str | Path,
    key: ProjectKey,
    frame_year: int,
    rule: LinkRule = LinkRule(),
    *,
    links_path: str | Path = "links",
    attributes: pd.DataFrame | None = None,
) -> DfeRelease:
    """DfE's part: pseudonymise accepted links and derive their NPD attributes.

    Parameters
    ----------
    links
        The linker's output (``survey_id, upn, match_probability,
        match_weight, link_status``; docs/DESIGN.md section 4).
    linkable
        Survey ids the survey organisation currently permits to be linked
        (the cases on its latest survey spine). A link of any other case
        (withdrawn, restricted or erased since it was made) is ignored, so
        its NPD data leave the extract on the next run.
    npd_dir, frame_year
        Passed to :func:`~sendlink.deidentify.attributes.npd_attributes`.
    rule
        Which links are accepted.
    attributes
        The NPD attributes already derived for (at least) the accepted
        UPNs, indexed by UPN, to save deriving them again for each rule.

    Assumes matches are one-to-one; if a rule would accept two cases for one
    UPN (possible for clerical-review candidates) only the more probable is
    accepted, with a warning.

    Raises
    ------
    InputError
        If the links lack a column, have an unknown status, or do not cover
        every linkable case (linkage must be rerun after consent changes).
    """
    need = ["survey_id", "upn", "match_probability", "link_status"]
    missing = [c for c in need if c not in links.columns]
    if missing:
        raise InputError(links_path, f"missing required column(s): {', '.join(missing)}")
    bad = ~links["link_status"].isin(LINKER_STATUSES)
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        raise InputError(links_path, f"unknown link_status (expected one of {', '.join(LINKER_STATUSES)})", column="link_status", rows=rows.tolist(), values=links["link_status"].iloc[rows].tolist())
    linkable = pd.Index(pd.unique(pd.Series(list(linkable), dtype=object).astype(str)))
    links = links.assign(survey_id=links["survey_id"].astype(str))
    uncovered = linkable.difference(pd.Index(links["survey_id"]))
    if len(uncovered):
        raise InputError(
            links_path,
            f"has no result for {len(uncovered)} case(s) the survey organisation sent for linkage; rerun `sendlink link`",
            column="survey_id",
        )
    stale = ~links["survey_id"].isin(linkable)
    if stale.any():
        log.info("DfE: %d link(s) of cases no longer permitted to be linked are ignored", int(stale.sum()))
    links = links[~stale].copy()
    accepted = rule.accepts(links)
    # One-to-one: keep the most probable case for each UPN.
    cand = links[accepted].sort_values(["match_probability", "survey_id"], ascending=[False, True], kind="mergesort")
    dup = cand["upn"].duplicated(keep="first")
    if dup.any():
        log.warning("DfE (%s): %d accepted link(s) share a UPN with a more probable one and are not accepted", rule.name, int(dup.sum()))
        accepted &= ~links["survey_id"].isin(cand.loc[dup, "survey_id"])
    linked = links[accepted]
    ids = pd.Series(pd.NA, index=links.index, dtype=object)
    ids[accepted] = research_ids(key, linked["upn"].astype(str), "upn")
    ids[~accepted] = research_ids(key, links.loc[~accepted, "survey_id"], "survey_id")
    mapping = pd.DataFrame(
        {
            "survey_id": links["survey_id"],
            "research_id": ids.astype(str),
            "link_status": links["link_status"].astype(str),
            "match_probability": pd.to_numeric(links["match_probability"], errors="coerce").round(3),
            "npd_linked": accepted.astype(bool),
        }
    ).reset_index(drop=True)

    if attributes is None:
        attributes = npd_attributes(npd_dir, linked["upn"].astype(str), frame_year, school_pseudonym=lambda urns: school_pseudonyms(key, urns))
    else:
        attributes = attributes.loc[pd.Index(linked["upn"].astype(str), name="upn")]
    upn_to_id = pd.Series(research_ids(key, linked["upn"].astype(str), "upn").to_numpy(), index=linked["upn"].astype(str).to_numpy())
    npd = attributes.reset_index()
    npd.insert(0, "research_id", npd["upn"].map(upn_to_id).astype(object))
    npd = npd.drop(columns=["upn"])
    log.info("DfE (%s): %d of %d linkable case(s) linked (%s)", rule.name, int(accepted.sum()), len(links), rule.describe())
    return DfeRelease(mapping=mapping, npd=npd)


@dataclass(frozen=True)
class SurveyRelease:
    """What the survey organisation hands on.

    Attributes
    ----------
    answers
        To the researchers: ``research_id``, consent and link flags, design
        information and answers (withheld where the consent rules say).
    cases
        Kept by the survey organisation: the survey id of each row of
        ``answers`` (same index), so the release check can treat a case
        alike in every extract. Never written.
    """

    answers: pd.DataFrame
    cases: pd.Series


def survey_side(
    status: pd.DataFrame,
    holdings_dir: str | Path,
    mapping: pd.DataFrame,
    key: ProjectKey,
) -> SurveyRelease:
    """The survey organisation's part: answers keyed by ``research_id``.

    Rules (the consent stage decides the permissions; this applies them):

    * one row per wave-1 responding case some of whose answers may be
      analysed (:func:`~sendlink.consent.analysis_permitted`); an erased
      case is not in ``status`` or the holdings, so it has no row; a
      restricted case, or one whose every answer is covered by an
      objection, may not be analysed, so it has none either;
    * the answers of a person who objected (consent rule ``own-requests``:
      the parent's, and the child's while the parent decides for them; the
      young person's own) are blanked and ``*_answers_withheld`` says so;
    * a case linked by DfE (``npd_linked`` in the mapping) keeps only the
      answers of the scopes it may link
      (:func:`~sendlink.consent.linked_data_permitted`); the others are
      blanked and ``*_answers_withheld`` says so;
    * every other case (not sent, or sent and not linked) keeps all its
      answers, with its link status, so linkage bias can be studied.

    Parameters
    ----------
    status
        ``data/survey_org/consent_status.parquet``.
    holdings_dir
        ``data/survey_org/holdings``: the answers after rights are applied.
    mapping
        DfE's mapping (:attr:`DfeRelease.mapping`).
    """
    holdings_dir = Path(holdings_dir)
    status = status.assign(survey_id=status["survey_id"].astype(str)).set_index("survey_id", drop=False)
    from sendlink.io import read_table

    sample = read_table(holdings_dir / catalogue.SAMPLE.name, columns=["survey_id", "w1_responded"])
    responded = set(sample.loc[sample["w1_responded"].astype(bool), "survey_id"].astype(str))
    analysable = status.index[analysis_permitted(status).to_numpy()]
    rows = sorted(set(analysable) & responded)
    out = survey_attributes(holdings_dir, rows)
    out["frame_idaci_quintile"] = idaci_quintile(out["frame_idaci_decile"])
    st = status.reindex(out.index)
    m = mapping.assign(survey_id=mapping["survey_id"].astype(str)).set_index("survey_id").reindex(out.index)
    linked = m["npd_linked"].astype("boolean").fillna(False).astype(bool)
    sent = linkage_permitted(st).to_numpy() & m["link_status"].notna().to_numpy()
    ids = m["research_id"].astype(object)
    own = ids.isna()
    ids[own] = research_ids(key, pd.Series(out.index[own.to_numpy()], index=ids.index[own.to_numpy()]), "survey_id")
    out.insert(0, "research_id", ids)
    out.insert(1, "consent_parent_answers", st["consent_parent_answers"].astype(str))
    out.insert(2, "consent_child_answers", st["consent_child_answers"].astype(str))
    out.insert(3, "link_status", np.where(sent, m["link_status"].astype(object), "not_sent"))
    out.insert(4, "match_probability", m["match_probability"].where(sent))
    out.insert(5, "npd_linked", linked.to_numpy())
    for scope, flag in (("parent_answers", "parent_answers_withheld"), ("child_answers", "child_answers_withheld")):
        # Withheld: linked without permission for this scope, or this person's answers may not be
        # analysed at all (their objection; consent rule own-requests).
        withheld = (linked.to_numpy() & ~linked_data_permitted(st, scope).to_numpy()) | ~analysis_permitted(st, scope).to_numpy()
        out[flag] = withheld
        cols = [c for c in out.columns if c.startswith(SCOPE_PREFIXES[scope]) and not c.endswith("_responded")]
        for c in cols:
            dtype = {"bool": "boolean", "int64": "Int64"}.get(str(out[c].dtype), out[c].dtype)
            out[c] = out[c].astype(dtype)
            out.loc[withheld, c] = pd.NA if str(dtype) in ("Int64", "boolean", "Float64") else None
    cases = pd.Series(out.index.to_numpy(), dtype=object)
    answers = out.reset_index(drop=True)
    log.info(
        "survey organisation: %d analysable wave-1 case(s); %d linked; answers withheld from %d (parent) and %d (child) linked row(s)",
        len(answers), int(linked.sum()), int(answers["parent_answers_withheld"].sum()), int(answers["child_answers_withheld"].sum()),
    )
    return SurveyRelease(answers=answers, cases=cases)


def idaci_quintile(deciles: pd.Series) -> pd.Series:
    """IDACI decile -> quintile (1-2 -> 1, ..., 9-10 -> 5; 1 = most deprived)."""
    d = pd.to_numeric(deciles, errors="coerce").astype("Int64")
    return ((d + 1) // 2).astype("Int64")


def researcher_file(survey_part: pd.DataFrame, npd_part: pd.DataFrame) -> pd.DataFrame:
    """What the researchers receive: the two parts joined on ``research_id``.

    The survey part has a row for every case; the NPD part only for linked
    cases. A row of the NPD part whose ``research_id`` has no survey row (a
    linked case that may not be analysed) is dropped: there is nothing to
    attach it to. Rows keep the survey part's order.
    """
    npd = npd_part.astype({"research_id": object})
    dropped = ~npd["research_id"].isin(survey_part["research_id"])
    if dropped.any():
        log.info("researcher file: %d linked record(s) without an analysable survey case are not released", int(dropped.sum()))
    joined = survey_part.merge(npd[~dropped], on="research_id", how="left", validate="one_to_one")
    joined.index = survey_part.index
    unexpected = joined["npd_linked"].astype(bool) != joined["research_id"].isin(npd["research_id"])
    if unexpected.any():  # pragma: no cover - the two parties disagree: a bug, not bad input
        raise AssertionError(f"{int(unexpected.sum())} row(s) flagged linked without NPD data, or the reverse")
    return joined

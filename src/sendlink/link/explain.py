"""Teaching helpers for the linkage chapters (notebooks 3 and 4): small tables that show the method at work.

DfE's view (``data/linkage/`` is identifiable): these functions turn the
linker's outputs and a few made-up records into the tables the notebooks
show. They add no method of their own; each calls the module that does the
work (:mod:`~sendlink.link.standardise`, :mod:`~sendlink.link.compare`,
:mod:`~sendlink.link.blocking`, :mod:`~sendlink.link.assign`,
:mod:`~sendlink.link.baselines`), so a chapter shows what the linker does,
not a copy of it.

The tables that need the truth (blocking recall per pass, which pairs are
true links, each child's outcome) are evaluation code, in
:mod:`sendlink.evaluate.tables`; the helpers here that look at scores
against the truth take a boolean ``is_match`` per pair, whoever worked it out.

Functions
---------
Standardisation
    :func:`name_examples`, :func:`variant_examples`, :func:`date_examples`,
    :func:`postcode_examples`.
Comparison
    :func:`comparison_examples`.
The model
    :func:`mu_table`, :func:`term_frequency_weights`, :func:`pair_breakdown`.
Scores of matches and non-matches
    :func:`weight_histogram`, :func:`strong_non_matches`,
    :func:`pairwise_vs_competing`.
Assignment and review
    :func:`candidates`, :func:`rival_examples`, :func:`review_side_by_side`.
The degenerate-ECM trap
    :func:`ecm_demo`, :func:`ecm_fields`, :func:`ecm_classes`, :func:`blocked_agreement`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sendlink.link import compare, standardise
from sendlink.link.engine import LinkResult
from sendlink.link.features import encode_frames
from sendlink.params.linkage import LinkageParams

__all__ = [
    "EcmDemo",
    "blocked_agreement",
    "candidates",
    "comparison_examples",
    "date_examples",
    "ecm_classes",
    "ecm_demo",
    "ecm_fields",
    "mu_table",
    "name_examples",
    "pair_breakdown",
    "pairwise_vs_competing",
    "postcode_examples",
    "review_side_by_side",
    "rival_examples",
    "strong_non_matches",
    "term_frequency_weights",
    "variant_examples",
    "weight_histogram",
]

log = logging.getLogger(__name__)

_LEVEL_FIELDS = [spec.name for spec in compare.FIELDS]


def _text(value: object) -> str:
    """A value for display: missing as an empty string."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


# --------------------------------------------------------------------------- standardisation


def name_examples(records: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Names as written and as standardised (:func:`sendlink.link.standardise.standardise_spine`).

    Parameters
    ----------
    records
        Each a mapping with any of ``forename``, ``middle_names``, ``surname``.

    Returns
    -------
    DataFrame
        ``written`` (the three fields joined by `` | ``), then the
        standardised ``forename``, ``forename_full``, ``middle``,
        ``surname`` and ``surname_parts`` (missing shown empty).
    """
    frame = pd.DataFrame([{c: r.get(c) for c in ("forename", "middle_names", "surname")} for r in records])
    frame.insert(0, "key", [str(i) for i in range(len(frame))])
    std = standardise.standardise_spine(frame, "key")
    written = [" | ".join(_text(v) for v in row) for row in frame[["forename", "middle_names", "surname"]].itertuples(index=False)]
    out = pd.DataFrame({"written (forename | middle names | surname)": written})
    for column in ("forename", "forename_full", "middle", "surname", "surname_parts"):
        out[column] = [_text(v) for v in std[column]]
    return out


def variant_examples(pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Whether two given names are nickname or spelling-variant equivalent, and through which group.

    Names are standardised first (:func:`~sendlink.link.standardise.clean_name`);
    two names are equivalent when their groups
    (:func:`~sendlink.link.standardise.name_groups`) intersect.
    """
    rows = []
    for a, b in pairs:
        ca, cb = standardise.clean_name(a).replace(" ", ""), standardise.clean_name(b).replace(" ", "")
        shared = sorted(standardise.name_groups(ca) & standardise.name_groups(cb))
        rows.append({"name": a, "other name": b, "equivalent": bool(shared) or ca == cb,
                     "shared group": ", ".join(shared)})
    return pd.DataFrame(rows)


def date_examples(values: Sequence[object]) -> pd.DataFrame:
    """Dates as written and as parsed (:func:`~sendlink.link.standardise.parse_dates`): ISO, or ``missing``."""
    parsed = standardise.parse_dates(pd.Series(list(values), dtype=object))
    iso = [f"{y:04d}-{m:02d}-{d:02d}" if y >= 0 else "missing"
           for y, m, d in zip(parsed["year"], parsed["month"], parsed["day"], strict=True)]
    return pd.DataFrame({"written": [repr(v) if not isinstance(v, str) else v for v in values], "parsed": iso})


def postcode_examples(values: Sequence[object]) -> pd.DataFrame:
    """Postcodes as written and split into unit, sector, district and area (:func:`~sendlink.link.standardise.postcode_levels`)."""
    rows = []
    for value in values:
        unit, sector, district, area = standardise.postcode_levels(value)
        rows.append({"written": _text(value), "unit": _text(unit), "sector": _text(sector),
                     "district": _text(district), "area": _text(area)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- comparison


def comparison_examples(examples: Sequence[tuple[str, Mapping[str, object], Mapping[str, object]]]) -> pd.DataFrame:
    """The comparison level of every field for made-up pairs of records (:func:`sendlink.link.compare.compare`).

    Parameters
    ----------
    examples
        ``(description, survey record, NPD record)``; records are mappings
        with any of the spine's identifier columns.

    Returns
    -------
    DataFrame
        ``example`` and one column per field of :data:`sendlink.link.compare.FIELDS`
        holding the level's name (``missing`` when either side lacks it).
    """
    columns = list(standardise.IDENTIFIER_COLUMNS)
    survey = pd.DataFrame([{c: s.get(c) for c in columns} for _, s, _ in examples], columns=columns)
    npd = pd.DataFrame([{c: n.get(c) for c in columns} for _, _, n in examples], columns=columns)
    survey.insert(0, "survey_id", [f"S{i}" for i in range(len(examples))])
    npd.insert(0, "upn", [f"N{i}" for i in range(len(examples))])
    features = encode_frames(survey, npd)
    rows = np.arange(len(examples))
    levels = compare.compare(features, rows, rows)
    out = pd.DataFrame({"example": [d for d, _, _ in examples]})
    for spec in compare.FIELDS:
        codes = levels[spec.name].to_numpy()
        out[spec.name] = [spec.labels[c] if c >= 0 else "missing" for c in codes]
    return out


# --------------------------------------------------------------------------- the model


def mu_table(model_report: Mapping[str, object]) -> pd.DataFrame:
    """The m/u table of ``model.json``: one row per field and level, strongest level first.

    Columns ``field, level, m, u, weight`` (``log2(m/u)``, bits) and ``tf``
    (exact agreement is term-frequency adjusted: the weight shown is the
    average over values, see :func:`term_frequency_weights`).
    """
    table = pd.DataFrame(list(model_report["m_u_table"]))
    order = {name: i for i, name in enumerate(_LEVEL_FIELDS)}
    table = table.assign(_f=table["field"].map(order), _l=table.groupby("field", sort=False).cumcount())
    table = table.sort_values(["_f", "_l"], kind="mergesort")
    out = table[["field", "level", "m", "u", "weight", "term_frequency"]].rename(columns={"term_frequency": "tf"})
    return out.reset_index(drop=True)


def term_frequency_weights(npd_values: pd.Series, names: Sequence[str], m_exact: float, u_exact: float) -> pd.DataFrame:
    """Weight of exact agreement on each of ``names``, with and without term-frequency adjustment.

    The adjusted u of a value is its frequency among NPD records (the
    chance that a random NPD record carries it), as in
    :func:`sendlink.link.model.score`: weight ``log2(m / frequency)``. A
    value no NPD record holds falls back to the average u.

    Parameters
    ----------
    npd_values
        The NPD spine's column (forenames or surnames) as recorded.
    names
        The values to show, as written.
    m_exact, u_exact
        The field's fitted m and average u of the ``exact`` level.
    """
    cleaned = npd_values.map(lambda v: standardise.clean_name(v).replace(" ", ""))
    counts = cleaned[cleaned != ""].value_counts()
    n = len(npd_values)
    rows = []
    for name in names:
        key = standardise.clean_name(name).replace(" ", "")
        count = int(counts.get(key, 0))
        frequency = count / n if n else 0.0
        rows.append({"name": name, "npd_records": count, "frequency": frequency,
                     "weight_without_tf": float(np.log2(m_exact / u_exact)),
                     "weight_with_tf": float(np.log2(m_exact / frequency)) if count else float(np.log2(m_exact / u_exact))})
    return pd.DataFrame(rows)


def pair_breakdown(pairs: pd.DataFrame, survey_id: str, upn: str, prior_weight: float) -> pd.DataFrame:
    """How one pair's match weight is built: the prior, then each field's level and weight.

    Rows: ``prior`` (log2 of the prior odds that this NPD record is this
    child), one per field (level, weight in bits, 0 when missing), and
    ``match weight`` (their sum, as scored). Columns ``part, level, weight``;
    the probabilities follow in :func:`candidates`.
    """
    row = _pair(pairs, survey_id, upn)
    parts = [{"part": "prior", "level": "", "weight": float(prior_weight)}]
    for name in _LEVEL_FIELDS:
        if f"w_{name}" not in row:
            continue
        level = row[name]
        parts.append({"part": name, "level": "missing" if pd.isna(level) else str(level), "weight": float(row[f"w_{name}"])})
    if "w_household" in row and float(row["w_household"]) != 0.0:
        parts.append({"part": "household (surname, postcode, school shared by siblings)", "level": "",
                      "weight": float(row["w_household"])})
    parts.append({"part": "match weight", "level": "", "weight": float(row["match_weight"])})
    return pd.DataFrame(parts)


def _pair(pairs: pd.DataFrame, survey_id: str, upn: str) -> pd.Series:
    hit = pairs[(pairs["survey_id"].astype(str) == str(survey_id)) & (pairs["upn"].astype(str) == str(upn))]
    if hit.empty:
        raise KeyError(f"no candidate pair ({survey_id}, {upn})")
    return hit.iloc[0]


# --------------------------------------------------------------------------- scores of matches and non-matches


def weight_histogram(weights: np.ndarray | pd.Series, is_match: np.ndarray, edges: Sequence[float]) -> pd.DataFrame:
    """Counts of true matches and non-matches per weight bin ``[left, right)``; weights outside go to the end bins."""
    w = np.clip(np.asarray(weights, dtype=float), edges[0], np.nextafter(edges[-1], -np.inf))
    is_match = np.asarray(is_match, dtype=bool)
    matches, _ = np.histogram(w[is_match], bins=edges)
    non, _ = np.histogram(w[~is_match], bins=edges)
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], "matches": matches, "non_matches": non})


def strong_non_matches(pairs: pd.DataFrame, is_match: np.ndarray, weight: float) -> pd.DataFrame:
    """Non-matching pairs whose match weight exceeds ``weight``, by what they agree on.

    Kinds, first that applies: ``same surname and full postcode (a twin or
    sibling)``; ``same forename and surname at another address (a
    namesake)`` (forename exact, variant or close; surname exact, part or
    close); ``other``. Columns ``kind, pairs``.
    """
    above = (pairs["match_weight"].to_numpy(float) > weight) & ~np.asarray(is_match, dtype=bool)
    chosen = pairs[above]
    surname = chosen["surname"].astype(str)
    household = surname.isin(["exact", "part"]).to_numpy() & (chosen["postcode"].astype(str) == "unit").to_numpy()
    namesake = (~household & chosen["forename"].astype(str).isin(["exact", "variant", "close"]).to_numpy()
                & surname.isin(["exact", "part", "close"]).to_numpy())
    kinds = ["same surname and full postcode (a twin or sibling)", "same forename and surname at another address (a namesake)", "other"]
    counts = [int(household.sum()), int(namesake.sum()), int((~household & ~namesake).sum())]
    return pd.DataFrame({"kind": kinds, "pairs": counts})


def pairwise_vs_competing(pairs: pd.DataFrame, is_match: np.ndarray, threshold: float) -> pd.DataFrame:
    """Pairs at or above ``threshold`` if each pair is judged alone, and with a child's candidates competing.

    Judged alone: ``pairwise_probability`` (the weight read as if the pair
    were the child's only candidate). Competing: ``match_probability``
    (:func:`sendlink.link.assign.competing_probability`, after one-to-one
    rounds). Columns ``probability, pairs, true_matches, non_matches,
    children_with_two_or_more``.
    """
    is_match = np.asarray(is_match, dtype=bool)
    rows = []
    for label, column in (("pair judged alone", "pairwise_probability"), ("candidates competing", "match_probability")):
        above = pairs[column].to_numpy(float) >= threshold
        per_child = pd.Series(pairs["survey_id"].astype(str).to_numpy()[above]).value_counts()
        rows.append({"probability": label, "pairs": int(above.sum()), "true_matches": int((above & is_match).sum()),
                     "non_matches": int((above & ~is_match).sum()), "children_with_two_or_more": int((per_child >= 2).sum())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- assignment and review


def candidates(pairs: pd.DataFrame, survey_id: str, n: int = 3) -> pd.DataFrame:
    """A survey child's ``n`` best candidates: levels, match weight, pairwise and competing probability."""
    mine = pairs[pairs["survey_id"].astype(str) == str(survey_id)]
    mine = mine.sort_values(["match_weight", "upn"], ascending=[False, True], kind="mergesort").head(n)
    fields = [name for name in _LEVEL_FIELDS if name in mine]
    out = mine[["upn", *fields, "match_weight", "pairwise_probability", "match_probability"]].copy()
    out["upn"] = out["upn"].astype(str)
    for name in fields:
        out[name] = out[name].astype(object).where(out[name].notna(), "missing").astype(str)
    return out.reset_index(drop=True)


def rival_examples(pairs: pd.DataFrame, survey_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Each survey child's best candidate and its strongest rival (the second best), side by side.

    Columns ``survey_id, best_upn, best_weight, rival_upn, rival_weight,
    rival_pairwise_probability`` (the rival judged alone) and
    ``rival_match_probability`` (with the candidates competing), sorted by
    ``survey_id``; children with a single candidate are left out. With
    ``survey_ids``, only those children.
    """
    frame = pairs[["survey_id", "upn", "match_weight", "pairwise_probability", "match_probability"]].copy()
    frame["survey_id"] = frame["survey_id"].astype(str)
    frame["upn"] = frame["upn"].astype(str)
    if survey_ids is not None:
        frame = frame[frame["survey_id"].isin(set(map(str, survey_ids)))]
    frame = frame.sort_values(["survey_id", "match_weight", "upn"], ascending=[True, False, True], kind="mergesort")
    frame["rank"] = frame.groupby("survey_id").cumcount()
    best = frame[frame["rank"] == 0].set_index("survey_id")
    rival = frame[frame["rank"] == 1].set_index("survey_id")
    out = pd.DataFrame({
        "best_upn": best["upn"], "best_weight": best["match_weight"],
    }).join(rival.rename(columns={"upn": "rival_upn", "match_weight": "rival_weight",
                                  "pairwise_probability": "rival_pairwise_probability",
                                  "match_probability": "rival_match_probability"})[
        ["rival_upn", "rival_weight", "rival_pairwise_probability", "rival_match_probability"]], how="inner")
    return out.reset_index()


def review_side_by_side(review: pd.DataFrame, survey_id: str, upn: str | None = None) -> pd.DataFrame:
    """One row of the clerical-review file as a reviewer reads it: field, survey record, NPD record, level.

    ``review`` is ``clerical_review.csv`` read as text. Identifier fields
    whose comparison level is not in the file (middle names) show ``""``.
    """
    rows = review[review["survey_id"].astype(str) == str(survey_id)]
    if upn is not None:
        rows = rows[rows["upn"].astype(str) == str(upn)]
    if rows.empty:
        raise KeyError(f"{survey_id} is not in the review file")
    row = rows.iloc[0]
    level_of = {"date_of_birth": "date_of_birth", "school_urn": "school"}
    out = []
    for field in standardise.IDENTIFIER_COLUMNS:
        if f"survey_{field}" not in row:
            continue
        level = row.get(f"level_{level_of.get(field, field)}")
        out.append({"field": field, "survey record": _text(row[f"survey_{field}"]), "NPD record": _text(row[f"npd_{field}"]),
                    "level": _text(level)})
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- the degenerate-ECM trap


@dataclass
class EcmDemo:
    """recordlinkage's ECM and the project's model on the same naively blocked pairs.

    Attributes
    ----------
    survey_ids
        The sampled survey records.
    ecm
        :func:`sendlink.link.baselines.link_ecm` on the sample (``pairs``
        hold each pair's agreement vector and ECM's class ``match``).
    model
        :func:`sendlink.link.link` on the sample with ECM's blocking (date of
        birth; surname) instead of the project's passes.
    """

    survey_ids: list[str]
    ecm: LinkResult
    model: LinkResult


def ecm_demo(survey: pd.DataFrame, npd: pd.DataFrame, params: LinkageParams, *, size: int, seed: int) -> EcmDemo:
    """Run the degenerate-ECM demonstration on ``size`` survey records drawn with ``seed``.

    Both methods see the same candidate pairs: every NPD record born on the
    child's date of birth, and every one with the child's surname
    (standardised), the blocking of recordlinkage's usual tutorial set-up.
    The NPD side is the whole spine, as in real linkage. ``params`` are the
    linkage parameters (their blocking passes are replaced); ``seed`` draws
    the sample and the model's u sample.
    """
    from sendlink.link.baselines import link_ecm
    from sendlink.link.engine import link
    from sendlink.params.linkage import Blocking, BlockingPass

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(survey), size=min(size, len(survey)), replace=False))
    sample = survey.iloc[rows].reset_index(drop=True)
    ecm = link_ecm(sample, npd, params)
    big = max(len(npd), 1)
    naive = Blocking(max_block_size=big, passes=[BlockingPass(name="dob", keys=["dob"]), BlockingPass(name="surname", keys=["surname"])])
    model = link(sample, npd, params.model_copy(update={"blocking": naive}), seed=seed)
    return EcmDemo(survey_ids=sample["survey_id"].astype(str).tolist(), ecm=ecm, model=model)


def ecm_fields(diagnostics: Mapping[str, object]) -> pd.DataFrame:
    """ECM's fitted parameters per field (:func:`sendlink.link.baselines.ecm_diagnostics`).

    Columns ``field, m_agree, u_agree, agreement_weight,
    disagreement_weight``: a sound model has agreement weight above 0 and
    disagreement weight below 0 for every field.
    """
    fields = diagnostics.get("fields", {})
    rows = [{"field": name, **{k: float(v) for k, v in values.items()}} for name, values in fields.items()]
    columns = ["field", "m_agree", "u_agree", "agreement_weight", "disagreement_weight"]
    return pd.DataFrame(rows, columns=columns)


def ecm_classes(ecm_pairs: pd.DataFrame) -> pd.DataFrame:
    """ECM's candidate pairs counted by agreement on date of birth and surname, and by ECM's class.

    Rows ``same date of birth`` x ``same surname`` (yes / no); columns
    ``ecm_match``, ``ecm_non_match`` and ``pairs``.
    """
    frame = pd.DataFrame({
        "same date of birth": np.where(ecm_pairs["dob"].to_numpy() == 1, "yes", "no"),
        "same surname": np.where(ecm_pairs["surname"].to_numpy() == 1, "yes", "no"),
        "match": ecm_pairs["match"].to_numpy(bool),
    })
    table = frame.groupby(["same date of birth", "same surname"])["match"].agg(ecm_match="sum", pairs="size")
    table["ecm_match"] = table["ecm_match"].astype(int)
    table["ecm_non_match"] = table["pairs"] - table["ecm_match"]
    return table[["ecm_match", "ecm_non_match", "pairs"]]


#: ECM's exact-comparison columns and the project's fields they correspond to.
_ECM_TO_FIELD = {"forename": "forename", "surname": "surname", "dob": "date_of_birth", "postcode": "postcode",
                 "sex": "sex", "school": "school"}


def blocked_agreement(ecm_pairs: pd.DataFrame, u_random: Mapping[str, float]) -> pd.DataFrame:
    """Share of ECM's blocked pairs that agree on each field, next to u from random pairs.

    ``u_random`` maps the project's field names to u of the strongest level
    (``model.json``). Among blocked pairs agreement on a blocking field is
    the rule, not chance: estimating u there (as ECM does) is the trap.
    """
    rows = []
    for column, field in _ECM_TO_FIELD.items():
        if column not in ecm_pairs:
            continue
        rows.append({"field": field, "share_of_blocked_pairs_agreeing": float(ecm_pairs[column].mean()),
                     "u_from_random_pairs": float(u_random.get(field, np.nan))})
    return pd.DataFrame(rows)

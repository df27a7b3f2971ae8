"""The probabilistic linker, end to end: :func:`link`.

Stage ``link``, run by the DfE linkage team. **In:** the survey spine (the
consented children's identifiers, sent by the survey organisation, no
answers) and the NPD spine (DESIGN.md section 4). **Out:** a
:class:`LinkResult`: one link row per survey record, the scored candidate
pairs, the fitted model and the blocking statistics. Everything in it is
identifiable and stays with DfE.

Steps: standardise -> encode -> block -> compare -> estimate u on random
pairs -> fit m and the prior by EM -> score (with term-frequency adjustment)
-> account for competing candidates -> one-to-one assignment -> thresholds
-> reviewer decisions. Each step is a module of this package with its
reasoning in its docstring.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.errors import InputError
from sendlink.link import _features, assign, blocking, compare, model, standardise
from sendlink.link.params import LinkageParams

__all__ = ["LINK_COLUMNS", "LinkResult", "check_spine", "link"]

log = logging.getLogger(__name__)

SURVEY_KEY = "survey_id"
NPD_KEY = "upn"
#: The columns of the links file (DESIGN.md section 4).
LINK_COLUMNS = [SURVEY_KEY, NPD_KEY, "match_probability", "match_weight", "link_status"]


@dataclass
class LinkResult:
    """What the linker produced.

    Attributes
    ----------
    links
        One row per survey record, in survey order: ``survey_id, upn,
        match_probability, match_weight, link_status`` (the contract) plus
        ``decided_by`` (``model`` or ``reviewer``). ``upn`` is empty when
        unmatched; probability and weight are those of the best candidate
        (empty when there was none).
    pairs
        Every candidate pair: keys, the blocking passes that found it
        (``passes``, names joined by ``+``), the comparison level of each
        field (categories, missing = NaN), per-field weights ``w_<field>``,
        ``match_weight``, ``pairwise_probability`` and ``match_probability``
        (given competing candidates).
    model
        The fitted :class:`~sendlink.link.model.FittedModel` (``None`` for
        baselines that have none).
    blocking
        Candidate pairs per blocking pass (a table).
    diagnostics
        Anything else worth reporting (timings, degeneracy checks...).
    """

    links: pd.DataFrame
    pairs: pd.DataFrame
    model: model.FittedModel | None = None
    blocking: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagnostics: dict = field(default_factory=dict)

    def contract(self) -> pd.DataFrame:
        """The links table with exactly the contract's columns."""
        return self.links[LINK_COLUMNS].copy()


def check_spine(frame: pd.DataFrame, key: str, source: str | Path) -> pd.DataFrame:
    """Check a spine's key column: present, no empty values, no duplicates.

    Raises
    ------
    InputError
        Naming ``source``, the key column and example rows.
    """
    if key not in frame.columns:
        if frame.columns.empty and frame.empty:
            return pd.DataFrame({key: pd.Series(dtype=str)})
        raise InputError(source, f"missing key column '{key}' (columns: {', '.join(map(str, frame.columns))})", column=key)
    frame = frame.reset_index(drop=True)
    keys = frame[key]
    text = keys.astype(str).str.strip()
    empty = np.flatnonzero(keys.isna().to_numpy() | (text == "").to_numpy())
    if len(empty):
        raise InputError(source, "empty key", column=key, rows=empty.tolist())
    dup = np.flatnonzero(text.duplicated(keep=False).to_numpy())
    if len(dup):
        raise InputError(source, "duplicate key", column=key, rows=dup.tolist(), values=text.iloc[dup].tolist())
    frame = frame.copy()
    frame[key] = text
    return frame


def _empty_links(keys: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({
        SURVEY_KEY: keys.astype(str).to_numpy(),
        NPD_KEY: pd.Series([""] * len(keys), dtype=object).to_numpy(),
        "match_probability": np.full(len(keys), np.nan),
        "match_weight": np.full(len(keys), np.nan),
        "link_status": np.full(len(keys), "unmatched", dtype=object),
        "decided_by": np.full(len(keys), "model", dtype=object),
    })


def _random_pairs(n_s: int, n_n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random survey x NPD pairs; all of them when the product is not larger than ``size``."""
    if n_s * n_n <= size:
        grid = np.arange(n_s * n_n, dtype=np.int64)
        return grid // n_n, grid % n_n
    return rng.integers(0, n_s, size=size), rng.integers(0, n_n, size=size)


def _tf_frequencies(features: _features.Features, npd_rows: np.ndarray, levels: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per pair: the frequency among NPD records of the NPD side's value (used at the exact level)."""
    n = features.npd
    size = max(len(n), 1)
    out = {}
    for name, codes in (("forename", n.fn), ("surname", n.sn), ("postcode", n.pc)):
        counts = np.bincount(codes[codes >= 0], minlength=max(int(codes.max()) + 1, 1) if len(codes) else 1)
        pair_codes = codes[npd_rows]
        freq = np.where(pair_codes >= 0, counts[np.clip(pair_codes, 0, None)] / size, 0.0)
        out[name] = freq
    return out


def _categorical_levels(levels: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for spec in compare.FIELDS:
        out[spec.name] = pd.Categorical.from_codes(levels[spec.name].to_numpy().astype(np.int64), categories=list(spec.levels))
    return pd.DataFrame(out, index=levels.index)


def link(
    survey: pd.DataFrame,
    npd: pd.DataFrame,
    params: LinkageParams | None = None,
    *,
    decisions: pd.DataFrame | None = None,
    rng: np.random.Generator | None = None,
    survey_source: str | Path = "survey spine",
    npd_source: str | Path = "NPD spine",
) -> LinkResult:
    """Link survey records to NPD records with a Fellegi-Sunter model.

    Parameters
    ----------
    survey, npd
        Spines with key ``survey_id`` / ``upn`` and any of the identifier
        columns (absent or empty ones are no evidence; extra ones ignored).
    params
        The ``linkage:`` parameters (defaults when ``None``).
    decisions
        Reviewer decisions (:func:`sendlink.link.clerical.read_decisions`),
        honoured: ``match`` pairs are linked, ``non-match`` pairs excluded.
    rng
        The random generator for the u sample; by default one seeded from
        ``params.seed`` (same inputs, same output).
    survey_source, npd_source
        Names used in error messages (the files' paths).

    Returns
    -------
    LinkResult

    Raises
    ------
    InputError
        A key column is missing, empty or duplicated.
    """
    params = params or LinkageParams()
    rng = rng if rng is not None else np.random.default_rng(params.seed)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    survey = check_spine(survey, SURVEY_KEY, survey_source)
    npd = check_spine(npd, NPD_KEY, npd_source)
    n_s, n_n = len(survey), len(npd)
    log.info("linking %d survey records to %d NPD records", n_s, n_n)

    std_s = standardise.standardise_spine(survey, SURVEY_KEY)
    std_n = standardise.standardise_spine(npd, NPD_KEY)
    lap("standardise")
    features = _features.encode(std_s, std_n, SURVEY_KEY, NPD_KEY)
    lap("encode")
    passes = [(p.name, tuple(p.keys), tuple(p.split_by)) for p in params.blocking.passes]
    blocks = blocking.block(features, passes, params.blocking.max_block_size)
    lap("block")

    si, ni, bits = blocks.survey_rows, blocks.npd_rows, blocks.passes
    forced = np.zeros(len(si), dtype=bool)
    if decisions is not None and len(decisions) and n_s and n_n:
        s_pos = pd.Series(np.arange(n_s), index=features.survey.keys)
        n_pos = pd.Series(np.arange(n_n), index=features.npd.keys)
        known = decisions["survey_id"].isin(s_pos.index) & decisions["upn"].isin(n_pos.index)
        if (~known).any():
            log.warning("%d reviewer decision(s) name records not in these files; ignored", int((~known).sum()))
        dec = decisions[known]
        d_s = s_pos[dec["survey_id"]].to_numpy()
        d_n = n_pos[dec["upn"]].to_numpy()
        pair_key = si * n_n + ni
        dec_key = d_s * n_n + d_n
        non = dec_key[(dec["decision"] == "non-match").to_numpy()]
        keep = ~np.isin(pair_key, non)
        si, ni, bits = si[keep], ni[keep], bits[keep]
        yes = dec_key[(dec["decision"] == "match").to_numpy()]
        missing = yes[~np.isin(yes, si * n_n + ni)]
        si = np.concatenate([si, missing // n_n])
        ni = np.concatenate([ni, missing % n_n])
        bits = np.concatenate([bits, np.zeros(len(missing), dtype=bits.dtype)])
        forced = np.isin(si * n_n + ni, yes)
        log.info("honouring %d match and %d non-match reviewer decision(s)", len(yes), len(non))

    levels = compare.compare(features, si, ni)
    lap("compare")
    rs, rn = _random_pairs(n_s, n_n, params.model.u_sample_size, rng) if n_s and n_n else (np.zeros(0, int), np.zeros(0, int))
    u = model.estimate_u(compare.compare(features, rs, rn))
    lap("estimate_u")
    fitted = model.fit(
        levels, u, n_s, n_n,
        max_iterations=params.model.em_max_iterations,
        tolerance=params.model.em_tolerance,
        min_agreeing_fields=params.model.min_agreeing_fields,
        prior_strength=params.model.prior_strength,
    )
    lap("fit")
    tf = _tf_frequencies(features, ni, levels) if params.model.term_frequency else None
    scores = model.score(fitted, levels, tf)
    weight = scores["match_weight"].to_numpy()
    prob = assign.competing_probability(si, weight)
    lap("score")

    pass_names = [p.name for p in params.blocking.passes]
    pairs = pd.DataFrame({
        SURVEY_KEY: pd.Categorical.from_codes(si.astype(np.int64), categories=features.survey.keys) if n_s else pd.Categorical([]),
        NPD_KEY: pd.Categorical.from_codes(ni.astype(np.int64), categories=features.npd.keys) if n_n else pd.Categorical([]),
        "passes": _pass_labels(bits, pass_names),
    })
    pairs = pd.concat([pairs, _categorical_levels(levels), scores.drop(columns="match_probability")], axis=1)
    pairs["pairwise_probability"] = scores["match_probability"].to_numpy()
    pairs["match_probability"] = prob
    pairs["reviewer_match"] = forced

    links = _decide(pairs, survey[SURVEY_KEY], params)
    lap("assign")
    log.info(
        "links: %d matched, %d for clerical review, %d unmatched",
        *(int((links["link_status"] == s).sum()) for s in ("matched", "clerical_review", "unmatched")),
    )
    diagnostics = {"timings": timings, "model": fitted.diagnostics, "candidate_pairs": len(pairs)}
    return LinkResult(links=links, pairs=pairs, model=fitted, blocking=blocks.table(), diagnostics=diagnostics)


def _pass_labels(bits: np.ndarray, names: list[str]) -> pd.Categorical:
    uniq, inverse = np.unique(bits, return_inverse=True) if len(bits) else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    labels = ["+".join(n for k, n in enumerate(names) if int(b) >> k & 1) or "reviewer" for b in uniq]
    categories = list(dict.fromkeys(labels))
    codes = np.array([categories.index(lbl) for lbl in labels], dtype=np.int64)
    return pd.Categorical.from_codes(codes[inverse] if len(bits) else np.zeros(0, np.int64), categories=categories)


def _decide(pairs: pd.DataFrame, survey_keys: pd.Series, params: LinkageParams) -> pd.DataFrame:
    """One-to-one assignment, thresholds and reviewer decisions -> one row per survey record.

    Rounds, until nothing changes: (1) each survey record's candidates
    compete (:func:`~sendlink.link.assign.competing_probability`), (2)
    pairs at or above the review threshold are assigned greedily by
    weight, (3) assigned pairs at or above the match threshold are fixed,
    and their two records leave every other record's candidate list: a
    pupil confidently linked to one child is no longer a rival explanation
    for another. Reviewer-confirmed matches are fixed before the first
    round. Pairs assigned but below the match threshold in the last round
    go to clerical review. ``match_probability`` in :attr:`LinkResult.pairs`
    is updated to the value used for the decision.
    """
    t = params.thresholds
    links = _empty_links(survey_keys)
    if pairs.empty:
        return links
    s_code = pairs[SURVEY_KEY].cat.codes.to_numpy()
    n_code = pairs[NPD_KEY].cat.codes.to_numpy()
    weight = pairs["match_weight"].to_numpy()
    prob = pairs["match_probability"].to_numpy().copy()
    reviewer = pairs["reviewer_match"].to_numpy()
    n_s = len(pairs[SURVEY_KEY].cat.categories)
    n_n = len(pairs[NPD_KEY].cat.categories)
    s_done = np.zeros(n_s, bool)
    n_done = np.zeros(n_n, bool)
    fixed = np.zeros(len(pairs), bool)
    fixed[reviewer] = True
    s_done[s_code[reviewer]] = True
    n_done[n_code[reviewer]] = True
    chosen = np.zeros(len(pairs), bool)
    for round_number in range(1, 101):
        live = ~s_done[s_code] & ~n_done[n_code]
        prob[live] = assign.competing_probability(s_code[live], weight[live])
        eligible = np.flatnonzero(live & (prob >= t.review))
        frame = pd.DataFrame({"row": eligible, "s": s_code[eligible], "n": n_code[eligible], "w": weight[eligible]})
        kept = assign.assign_greedy(frame, weight="w", left="s", right="n")["row"].to_numpy()
        chosen[:] = False
        chosen[kept] = True
        confident = kept[prob[kept] >= t.match]
        if not len(confident):
            break
        fixed[confident] = True
        s_done[s_code[confident]] = True
        n_done[n_code[confident]] = True
        log.debug("assignment round %d: %d confident links fixed", round_number, len(confident))
    pairs["match_probability"] = prob
    review = chosen & ~fixed
    status = np.full(len(pairs), "", dtype=object)
    status[fixed] = "matched"
    status[review] = "clerical_review"
    decided = pairs.loc[fixed | review, [SURVEY_KEY, NPD_KEY, "match_probability", "match_weight"]].assign(
        link_status=status[fixed | review], decided_by=np.where(reviewer[fixed | review], "reviewer", "model")
    )
    # Others: report their best candidate's probability and weight, with an empty upn.
    rest = pairs.loc[~s_done[s_code] & ~review, [SURVEY_KEY, "match_probability", "match_weight"]]
    rest = rest[~rest[SURVEY_KEY].isin(decided[SURVEY_KEY])]
    rest = rest.sort_values("match_weight", ascending=False, kind="mergesort").drop_duplicates(SURVEY_KEY)
    rest = rest.assign(**{NPD_KEY: "", "link_status": "unmatched", "decided_by": "model"})
    table = pd.concat([f for f in (decided, rest) if len(f)], ignore_index=True) if len(decided) or len(rest) else decided
    table[SURVEY_KEY] = table[SURVEY_KEY].astype(str)
    table[NPD_KEY] = table[NPD_KEY].astype(str)
    table = table.set_index(SURVEY_KEY)
    out = links.set_index(SURVEY_KEY)
    common = out.index.intersection(table.index)
    for col in (NPD_KEY, "match_probability", "match_weight", "link_status", "decided_by"):
        out.loc[common, col] = table.loc[common, col].to_numpy()
    out = out.reset_index()
    out["match_probability"] = out["match_probability"].astype(float)
    out["match_weight"] = out["match_weight"].astype(float)
    return out[[*LINK_COLUMNS, "decided_by"]]

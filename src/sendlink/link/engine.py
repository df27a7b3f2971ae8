"""The probabilistic linker, end to end: :func:`link`.

Stage ``link``, run by the DfE linkage team. **In:** the survey spine (the
consented children's identifiers, sent by the survey organisation, no
answers) and the NPD spine (docs/DESIGN.md section 4). **Out:** a
:class:`LinkResult`: one link row per survey record, the scored candidate
pairs, the fitted model and the blocking statistics. Everything in it is
identifiable and stays with DfE.

Steps: read and encode (dictionary codes, one standardisation per
distinct value) -> block -> compare -> estimate u on random pairs -> fit m
and pi by one-to-one EM (each child's candidates compete; term-frequency
adjusted) -> score -> competing candidates -> one-to-one assignment ->
thresholds -> reviewer decisions. Each step is a module of this package
with its reasoning in its docstring.

:func:`link` takes DataFrames; :func:`link_spines` takes spines read with
:func:`sendlink.link.spine.read_spine`, the path for a national NPD
(9.1 million pupils are never a table of Python strings).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sendlink.link import assign, blocking, clerical, compare, model
from sendlink.link.arrays import unique_inverse
from sendlink.link.features import Features, encode
from sendlink.link.spine import NPD_KEY, SURVEY_KEY, RawSpine, check_columns, without_future_dates
from sendlink.params.linkage import LinkageParams, Thresholds

__all__ = ["LINK_COLUMNS", "LinkResult", "decide", "empty_links", "link", "link_spines", "with_read_step"]

log = logging.getLogger(__name__)

#: The columns of the links file (docs/DESIGN.md section 4).
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
    params
        The parameters used (thresholds, passes, model settings).
    seed
        The seed of the random generator that drew the u sample.
    """

    links: pd.DataFrame
    pairs: pd.DataFrame
    model: model.FittedModel | None = None
    blocking: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagnostics: dict = field(default_factory=dict)
    params: LinkageParams | None = None
    seed: int | None = None

    def contract(self) -> pd.DataFrame:
        """The links table with exactly the contract's columns."""
        return self.links[LINK_COLUMNS].copy()


def empty_links(keys: pd.Series) -> pd.DataFrame:
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


def _tf_frequencies(features: Features, npd_rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per pair: the frequency among NPD records of the NPD side's value (used at the exact level).

    The counts come from the blocking keys' shared indexes, not from
    another pass over the NPD: names are counted per distinct raw value
    (:func:`~sendlink.link.blocking.npd_value_counts`) and summed per
    standardised name; a postcode is used only where both sides agree on
    it, so only the survey's postcodes need counting, and the ``postcode``
    key already counts them (:func:`~sendlink.link.blocking.key_counts`).
    Elsewhere a pair's postcode frequency is 0 (never used).
    """
    n = features.npd
    size = max(len(n), 1)
    out = {}
    for name, column, table, getter in (("forename", "forename", n.t_fn, n.fn), ("surname", "surname", n.t_sn, n.sn)):
        pair_codes = getter(npd_rows)
        if column not in n.codes or not len(pair_codes):
            out[name] = np.zeros(len(pair_codes))
            continue
        per_value = blocking.npd_value_counts(features, column)
        names = table[:-1].astype(np.int64)
        counts = np.bincount(names[names >= 0], weights=per_value[names >= 0], minlength=max(len(features.names), 1))
        out[name] = np.where(pair_codes >= 0, counts[np.clip(pair_codes, 0, None)] / size, 0.0)
    pair_units = n.pc(npd_rows)
    units, counts = blocking.key_counts(features, "postcode")
    at = blocking._positions(pair_units, units)
    out["postcode"] = np.where(at >= 0, counts[np.maximum(at, 0)] / size, 0.0) if len(units) else np.zeros(len(pair_units))
    return out


def _categorical_levels(levels: pd.DataFrame) -> dict[str, pd.Categorical]:
    return {spec.name: pd.Categorical.from_codes(levels[spec.name].to_numpy().astype(np.int64), categories=list(spec.labels))
            for spec in compare.FIELDS}


def _keys_categorical(raw: RawSpine, rows: np.ndarray) -> pd.Categorical:
    """Keys of ``rows`` as a categorical whose categories are only the keys used (sorted by row)."""
    used, _, inverse = unique_inverse(rows)
    return pd.Categorical.from_codes(inverse.astype(np.int64), categories=pd.Index(raw.key_list(used), dtype=object))


def link(
    survey: pd.DataFrame,
    npd: pd.DataFrame,
    params: LinkageParams,
    *,
    seed: int,
    decisions: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
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
        The ``linkage:`` parameters.
    seed
        Seeds the random generator of the u sample (the project seed: same
        inputs, same output).
    decisions
        Reviewer decisions (:func:`sendlink.link.clerical.read_decisions`),
        honoured: ``match`` pairs are linked, ``non-match`` pairs excluded.
    history
        Optional: the NPD's census history (:func:`sendlink.link.history.read_history`'s
        table: ``upn, year, postcode, school_urn``), compared with the
        survey's postcode and school; without it the linker compares the
        spine's latest values only.
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
    clock, cpu_clock = time.perf_counter(), time.process_time()
    s_raw = RawSpine.from_frame(survey, SURVEY_KEY, survey_source)
    n_raw = RawSpine.from_frame(npd, NPD_KEY, npd_source)
    read = time.perf_counter() - clock, time.process_time() - cpu_clock
    result = link_spines(s_raw, n_raw, params, seed=seed, decisions=decisions, history=history)
    with_read_step(result, *read)
    return result


def with_read_step(result: LinkResult, wall: float, cpu: float) -> None:
    """Put the reading of the spines first in the result's step timings (wall and CPU seconds)."""
    for key, seconds in (("timings", wall), ("cpu_timings", cpu)):
        result.diagnostics[key] = {"read": seconds, **result.diagnostics.get(key, {})}


def link_spines(
    survey: RawSpine,
    npd: RawSpine,
    params: LinkageParams,
    *,
    seed: int,
    decisions: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> LinkResult:
    """:func:`link` on spines already read (:func:`sendlink.link.spine.read_spine`).

    This is the path for large files: a Parquet NPD spine is read
    dictionary-encoded and never becomes a table of Python strings.
    """
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    cpu_timings: dict[str, float] = {}  # process CPU seconds (all threads): robust to a busy machine
    clock, cpu_clock = time.perf_counter(), time.process_time()

    def lap(name: str) -> None:
        nonlocal clock, cpu_clock
        now, cpu_now = time.perf_counter(), time.process_time()
        timings[name], cpu_timings[name] = now - clock, cpu_now - cpu_clock
        clock, cpu_clock = now, cpu_now

    n_s, n_n = len(survey), len(npd)
    check_columns(survey, npd)
    survey, npd = without_future_dates(survey), without_future_dates(npd)
    log.info("linking %d survey records to %d NPD records", n_s, n_n)
    features = encode(survey, npd)
    if history is not None:
        from sendlink.link.history import attach_history

        attach_history(features, survey, npd, history, params.history.window_years)
    lap("standardise_encode")
    passes = [(p.name, tuple(p.keys), tuple(p.split_by), p.max_block_size) for p in params.blocking.passes]
    blocks = blocking.block(features, passes, params.blocking.max_block_size)
    lap("block")

    si, ni, bits, forced = clerical.apply_decisions(blocks.survey_rows, blocks.npd_rows, blocks.passes, decisions, survey, npd)

    levels = compare.compare(features, si, ni)
    lap("compare")
    if n_s and n_n:
        rs, rn = _random_pairs(n_s, n_n, params.model.u_sample_size, rng)
    else:
        rs, rn = np.zeros(0, np.int64), np.zeros(0, np.int64)
    u = model.estimate_u(compare.compare(features, rs, rn))
    lap("estimate_u")
    tf = _tf_frequencies(features, ni) if params.model.term_frequency and n_n else None
    if tf is not None:  # surname, postcode and school of one household, scored jointly
        from sendlink.link.household import household_frequencies

        address = levels["postcode"].to_numpy() == 0
        if "postcode_history" in levels:  # or a past address of the pupil: a former household
            address |= levels["postcode_history"].to_numpy() == 0
        same_household = (levels["surname"].to_numpy() == 0) & address
        tf.update(household_frequencies(features, ni, same_household))
    lap("term_frequencies")
    fitted = model.fit(
        levels, u, n_s, n_n,
        survey_rows=si,
        tf=tf,
        max_iterations=params.model.em_max_iterations,
        tolerance=params.model.em_tolerance,
        min_agreeing_fields=params.model.min_agreeing_fields,
        prior_strength=params.model.prior_strength,
    )
    lap("fit")
    if tf is not None and "household" in tf:
        hh = np.asarray(tf["household"]) > 0
        fitted.household = {"sibling_chance": float(tf["household"][hh][0]) if hh.any() else 0.0,
                            "school_rate": float(tf["school_in_household"][0]) if len(tf["school_in_household"]) else float("nan")}
    scores = model.score(fitted, levels, tf)
    weight = scores["match_weight"].to_numpy()
    prob = assign.competing_probability(si, weight)
    lap("score")

    pass_names = [p.name for p in params.blocking.passes]
    # One column at a time, without copying them into blocks (2.75 M pairs: a concat took seconds).
    pairs = pd.DataFrame({
        SURVEY_KEY: _keys_categorical(survey, si),
        NPD_KEY: _keys_categorical(npd, ni),
        "passes": _pass_labels(bits, pass_names),
        **_categorical_levels(levels),
        **{column: scores[column].to_numpy() for column in scores.columns if column != "match_probability"},
        "pairwise_probability": scores["match_probability"].to_numpy(),
        "match_probability": prob,
        "reviewer_match": forced,
        "automatic": model.automatic_match(levels, params.model.without_dob_requires, params.model.without_dob_min_agreeing),
        "survey_row": si,
        "npd_row": ni,
    }, copy=False)

    links = _decide(pairs, pd.Series(survey.key_list(), dtype=object), params.thresholds)
    lap("assign")
    log.info(
        "links: %d matched, %d for clerical review, %d unmatched",
        *(int((links["link_status"] == s).sum()) for s in ("matched", "clerical_review", "unmatched")),
    )
    diagnostics = {"timings": timings, "cpu_timings": cpu_timings, "model": fitted.diagnostics, "candidate_pairs": len(pairs),
                   "n_survey": n_s, "n_npd": n_n}
    return LinkResult(links=links, pairs=pairs, model=fitted, blocking=blocks.table(), diagnostics=diagnostics, params=params, seed=seed)


def _pass_labels(bits: np.ndarray, names: list[str]) -> pd.Categorical:
    uniq, _, inverse = unique_inverse(bits) if len(bits) else (np.zeros(0, np.int64),) * 3
    labels = ["+".join(n for k, n in enumerate(names) if int(b) >> k & 1) or "reviewer" for b in uniq]
    categories = list(dict.fromkeys(labels))
    codes = np.array([categories.index(lbl) for lbl in labels], dtype=np.int64)
    return pd.Categorical.from_codes(codes[inverse] if len(bits) else np.zeros(0, np.int64), categories=categories)


def decide(pairs: pd.DataFrame, survey_keys: pd.Series | list, thresholds) -> pd.DataFrame:
    """The links that scored pairs give under other thresholds (for threshold trade-off curves).

    Parameters
    ----------
    pairs
        Scored pairs as in :attr:`LinkResult.pairs` (or ``pairs.parquet``):
        keys, ``match_weight`` and ``reviewer_match``.
    survey_keys
        Every survey record's key, in order.
    thresholds
        A :class:`~sendlink.params.linkage.Thresholds` (or a mapping with
        ``match`` and ``review``).
    """
    t = thresholds if isinstance(thresholds, Thresholds) else Thresholds.model_validate(dict(thresholds))
    pairs = pairs.copy()
    for key in (SURVEY_KEY, NPD_KEY):
        if not isinstance(pairs[key].dtype, pd.CategoricalDtype):
            pairs[key] = pairs[key].astype(str).astype("category")
    if "reviewer_match" not in pairs:
        pairs["reviewer_match"] = False
    if "automatic" not in pairs:
        pairs["automatic"] = True
    pairs["reviewer_match"] = pairs["reviewer_match"].fillna(False).astype(bool)
    pairs["match_probability"] = assign.competing_probability(pairs[SURVEY_KEY].cat.codes.to_numpy(), pairs["match_weight"].to_numpy(float))
    return _decide(pairs, pd.Series(list(survey_keys), dtype=object).astype(str), t)


def _decide(pairs: pd.DataFrame, survey_keys: pd.Series, t: Thresholds) -> pd.DataFrame:
    """One-to-one assignment, thresholds and reviewer decisions -> one row per survey record.

    Rounds, until nothing changes: (1) each survey record's candidates
    compete (:func:`~sendlink.link.assign.competing_probability`), (2)
    pairs at or above the review threshold are assigned greedily by
    weight, (3) assigned pairs at or above the match threshold are fixed
    (if the model may link them without a person: ``automatic``,
    :func:`sendlink.link.model.automatic_match`), and their two records
    leave every other record's candidate list: a pupil confidently linked
    to one child is no longer a rival explanation for another. Reviewer-confirmed matches are fixed before the first
    round. Pairs assigned but below the match threshold in the last round
    go to clerical review. ``match_probability`` in :attr:`LinkResult.pairs`
    is updated to the value used for the decision.

    Pairs of equal weight are taken in the order of their keys as text
    (survey key, then UPN), so the result depends on the records only:
    never on the order of the rows or of the keys' categories (a run and a
    re-read of its pairs file decide alike).
    """
    links = empty_links(survey_keys)
    if pairs.empty:
        return links
    s_cat, n_cat = pairs[SURVEY_KEY].cat.categories, pairs[NPD_KEY].cat.categories
    # Work with the pairs of one survey record next to each other (one stable sort; blocking's order already is).
    s_all = pairs[SURVEY_KEY].cat.codes.to_numpy()
    by_record = np.argsort(s_all, kind="stable") if (s_all[1:] < s_all[:-1]).any() else np.arange(len(pairs))
    s_code, n_code = s_all[by_record], pairs[NPD_KEY].cat.codes.to_numpy()[by_record]
    weight = pairs["match_weight"].to_numpy(float)[by_record]
    prob = pairs["match_probability"].to_numpy(float)[by_record]
    reviewer = pairs["reviewer_match"].to_numpy(bool)[by_record]
    automatic = (pairs["automatic"].to_numpy(bool) if "automatic" in pairs else np.ones(len(pairs), bool))[by_record]
    s_rank, n_rank = _text_rank(s_cat), _text_rank(n_cat)
    s_done, n_done = np.zeros(len(s_cat), bool), np.zeros(len(n_cat), bool)
    fixed = reviewer.copy()
    s_done[s_code[reviewer]] = True
    n_done[n_code[reviewer]] = True
    chosen = np.zeros(len(pairs), bool)
    for round_number in range(1, 101):
        live = np.flatnonzero(~s_done[s_code] & ~n_done[n_code])
        prob[live] = assign.competing_probability(s_code[live], weight[live])
        eligible = live[prob[live] >= t.review]
        order = eligible[np.lexsort((n_rank[n_code[eligible]], s_rank[s_code[eligible]], -weight[eligible]))]
        kept = assign.greedy(order, s_code, n_code)
        chosen[:] = False
        chosen[kept] = True
        confident = kept[(prob[kept] >= t.match) & automatic[kept]]
        if not len(confident):
            break
        fixed[confident] = True
        s_done[s_code[confident]] = True
        n_done[n_code[confident]] = True
        log.debug("assignment round %d: %d confident links fixed", round_number, len(confident))
    original = np.empty(len(pairs), dtype=float)
    original[by_record] = prob
    pairs["match_probability"] = original
    review = chosen & ~fixed
    # One row per survey record, in the order of survey_keys.
    position = pd.Index(survey_keys.astype(str)).get_indexer(s_cat.astype(str))
    upn = links[NPD_KEY].to_numpy(object).copy()
    status = links["link_status"].to_numpy(object).copy()
    decided_by = links["decided_by"].to_numpy(object).copy()
    best_p, best_w = links["match_probability"].to_numpy(float).copy(), links["match_weight"].to_numpy(float).copy()
    linked = np.flatnonzero(fixed | review)
    at = position[s_code[linked]]
    upn[at] = np.asarray(n_cat[n_code[linked]].astype(str), dtype=object)  # only the linked keys as text
    status[at] = np.where(fixed[linked], "matched", "clerical_review")
    decided_by[at] = np.where(reviewer[linked], "reviewer", "model")
    best_p[at], best_w[at] = prob[linked], weight[linked]
    # Others: their best candidate's probability and weight (the first of equal weights), with an empty upn.
    has_link = np.zeros(len(s_cat), bool)
    has_link[s_code[linked]] = True
    rest = np.flatnonzero(~s_done[s_code] & ~review & ~has_link[s_code])
    if len(rest):
        group = s_code[rest]
        starts = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
        top = np.repeat(np.maximum.reduceat(weight[rest], starts), np.diff(np.append(starts, len(rest))))
        best = rest[weight[rest] == top]
        best = best[np.concatenate([[True], s_code[best][1:] != s_code[best][:-1]])]
        at = position[s_code[best]]
        best_p[at], best_w[at] = prob[best], weight[best]
    out = pd.DataFrame({SURVEY_KEY: links[SURVEY_KEY].to_numpy(), NPD_KEY: upn, "match_probability": best_p,
                        "match_weight": best_w, "link_status": status, "decided_by": decided_by})
    return out[[*LINK_COLUMNS, "decided_by"]]


def _text_rank(categories: pd.Index) -> np.ndarray:
    """Each category's rank among them as text (ties between equal weights are broken by it)."""
    values = categories.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) != "string":  # keys already text (as read) need no str() each
        values = np.asarray(categories.astype(str), dtype=object)
    text = pa.array(values, type=pa.string())
    order = pc.sort_indices(text).to_numpy()  # Arrow sorts a million keys in a fraction of the time of Python's
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank

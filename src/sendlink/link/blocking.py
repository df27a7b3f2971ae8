"""Blocking: which pairs are worth comparing at all?

Stage ``link``, run by DfE. **In:** both sides encoded. **Out:** candidate
pairs (survey row, NPD row, which passes found them) and statistics per
pass.

Comparing every survey record with every NPD record is 10,000 x 9.1 M =
91 billion pairs; almost all are obvious non-matches. A *blocking pass*
pairs records that share a *key* (the same date of birth; the same surname
sound and birth year ...). One pass misses a true pair whenever the key
itself holds an error, so several passes on different fields are run and
their pairs *unioned*: a true pair is missed only if every pass misses it.
How many true pairs survive is the *blocking recall* (:func:`blocking_recall`),
the ceiling on the linker's recall.

Each pass is a join on integer keys done by sorting (no Python loop per pair,
no survey x NPD matrix). A block that explodes (a popular birth date in a
national NPD, a common surname) is *split* by the pass's ``split_by`` keys,
one after another, and a block still too large after every split is
*capped*: skipped for that pass and reported in the log and the statistics,
never allowed to run the machine out of memory.

Keys available to passes (:data:`KEYS`): ``dob``, ``dob_swapped`` (the
survey's date with day and month swapped, joined to the NPD's date),
``birth_year``, ``birth_month_day``, ``forename``, ``surname``,
``forename_sound``, ``surname_sound``, ``forename_initial``,
``surname_initial``, ``postcode``, ``pc_sector``, ``pc_district``, ``sex``,
``school``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendlink.link._features import Features, Side

__all__ = ["BlockingResult", "KEYS", "block", "blocking_recall"]

log = logging.getLogger(__name__)


def _initial(features: Features, codes: np.ndarray) -> np.ndarray:
    first = np.array([ord(str(name)[0]) for name in features.names] + [-1], dtype=np.int64)
    return first[np.where(codes < 0, len(features.names), codes)]


def _key(features: Features, side: Side, name: str, is_survey: bool) -> np.ndarray:
    if name == "dob":
        return side.dob.astype(np.int64)
    if name == "dob_swapped":
        if not is_survey:
            return side.dob.astype(np.int64)
        ok = (side.year >= 0) & (side.day <= 12) & (side.day != side.month)
        return np.where(ok, side.year * 10000 + side.day * 100 + side.month, -1).astype(np.int64)
    if name == "birth_year":
        return side.year.astype(np.int64)
    if name == "birth_month_day":
        return np.where(side.year >= 0, side.month * 100 + side.day, -1).astype(np.int64)
    if name == "forename_initial":
        return _initial(features, side.fn)
    if name == "surname_initial":
        return _initial(features, side.sn)
    simple = {
        "forename": side.fn, "surname": side.sn, "forename_sound": side.fn_sound,
        "surname_sound": side.sn_sound, "postcode": side.pc, "pc_sector": side.sector,
        "pc_district": side.district, "sex": side.sex, "school": side.school,
    }
    if name in simple:
        return simple[name].astype(np.int64)
    raise ValueError(f"unknown blocking key {name!r}; known: {', '.join(KEYS)}")


KEYS = (
    "dob", "dob_swapped", "birth_year", "birth_month_day", "forename", "surname",
    "forename_sound", "surname_sound", "forename_initial", "surname_initial",
    "postcode", "pc_sector", "pc_district", "sex", "school",
)


@dataclass
class PassStats:
    """What one blocking pass did."""

    name: str
    keys: tuple[str, ...]
    pairs: int = 0  # pairs this pass found
    new_pairs: int = 0  # pairs no earlier pass had found
    survey_records_split: int = 0  # survey records whose block was split
    survey_records_capped: int = 0  # survey records skipped: block too large after every split
    largest_block: int = 0  # NPD records in the largest block used


@dataclass
class BlockingResult:
    """Candidate pairs and how they were found.

    Attributes
    ----------
    survey_rows, npd_rows
        Aligned row positions of the candidate pairs, sorted, no duplicates.
    passes
        Bit mask per pair: bit ``k`` is set when pass ``k`` found the pair.
    stats
        One :class:`PassStats` per pass, in order.
    """

    survey_rows: np.ndarray
    npd_rows: np.ndarray
    passes: np.ndarray
    stats: list[PassStats] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.survey_rows)

    def table(self) -> pd.DataFrame:
        """The per-pass statistics as a table (for logs and notebooks)."""
        return pd.DataFrame([vars(s) | {"keys": "+".join(s.keys)} for s in self.stats])


def _combine(features: Features, keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """One int64 code per record for a tuple of keys, shared by both sides; -1 if any key is missing."""
    s_cols = [_key(features, features.survey, k, True) for k in keys]
    n_cols = [_key(features, features.npd, k, False) for k in keys]
    s_ok = np.logical_and.reduce([c >= 0 for c in s_cols]) if s_cols else np.ones(len(features.survey), bool)
    n_ok = np.logical_and.reduce([c >= 0 for c in n_cols]) if n_cols else np.ones(len(features.npd), bool)
    if len(keys) == 1:
        return np.where(s_ok, s_cols[0], -1), np.where(n_ok, n_cols[0], -1)
    frame = pd.DataFrame({i: np.concatenate([s, n]) for i, (s, n) in enumerate(zip(s_cols, n_cols, strict=True))})
    code = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy(np.int64)
    ns = len(features.survey)
    return np.where(s_ok, code[:ns], -1), np.where(n_ok, code[ns:], -1)


def _join(s_code: np.ndarray, n_code: np.ndarray, survey_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of survey rows (where ``survey_mask``) and NPD rows with equal codes.

    Returns the pairs and, per survey row, the size of its NPD block.
    """
    n_rows = np.flatnonzero(n_code >= 0)
    order = n_rows[np.argsort(n_code[n_rows], kind="stable")]
    sorted_codes = n_code[order]
    s_rows = np.flatnonzero(survey_mask & (s_code >= 0))
    start = np.searchsorted(sorted_codes, s_code[s_rows], side="left")
    stop = np.searchsorted(sorted_codes, s_code[s_rows], side="right")
    sizes = np.zeros(len(s_code), dtype=np.int64)
    sizes[s_rows] = stop - start
    return s_rows, start, stop, order, sizes


def _expand(s_rows: np.ndarray, start: np.ndarray, stop: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ragged expansion: each survey row against its NPD block (vectorised)."""
    counts = stop - start
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    survey = np.repeat(s_rows, counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return survey, order[np.repeat(start, counts) + offsets]


def _run_pass(features: Features, name: str, keys: tuple[str, ...], split_by: tuple[str, ...], max_block: int) -> tuple[np.ndarray, np.ndarray, PassStats]:
    stats = PassStats(name=name, keys=keys)
    pending = np.ones(len(features.survey), dtype=bool)
    found_s, found_n = [], []
    level_keys = keys
    for depth in range(len(split_by) + 1):
        s_code, n_code = _combine(features, level_keys)
        if depth > 0:
            unsplittable = int((pending & (s_code < 0)).sum())
            if unsplittable:
                stats.survey_records_capped += unsplittable
                log.warning("blocking pass %s: %d survey record(s) in an oversized block have no %s to split by; capped",
                            name, unsplittable, level_keys[-1])
        s_rows, start, stop, order, sizes = _join(s_code, n_code, pending)
        ok = (stop - start) <= max_block
        survey, npd = _expand(s_rows[ok], start[ok], stop[ok], order)
        found_s.append(survey)
        found_n.append(npd)
        if ok.any():
            stats.largest_block = max(stats.largest_block, int((stop - start)[ok].max()))
        too_big = s_rows[~ok]
        pending = np.zeros(len(features.survey), dtype=bool)
        pending[too_big] = True
        if not len(too_big):
            break
        if depth < len(split_by):
            stats.survey_records_split += len(too_big)
            log.info(
                "blocking pass %s: %d survey record(s) in blocks over %d NPD records; splitting by %s",
                name, len(too_big), max_block, split_by[depth],
            )
            level_keys = (*level_keys, split_by[depth])
        else:
            stats.survey_records_capped += len(too_big)
            log.warning(
                "blocking pass %s: %d survey record(s) still in blocks over %d NPD records after splitting by %s; "
                "capped (this pass skips them; other passes may still find their matches)",
                name, len(too_big), max_block, ", ".join(split_by) or "nothing",
            )
    survey = np.concatenate(found_s) if found_s else np.zeros(0, np.int64)
    npd = np.concatenate(found_n) if found_n else np.zeros(0, np.int64)
    stats.pairs = len(survey)
    return survey, npd, stats


def block(features: Features, passes: list[tuple[str, tuple[str, ...], tuple[str, ...]]], max_block_size: int) -> BlockingResult:
    """Run the blocking passes and union their pairs.

    Parameters
    ----------
    features
        Both sides, encoded.
    passes
        ``(name, keys, split_by)`` per pass, in order (see :data:`KEYS`).
    max_block_size
        Largest NPD block one survey record may be paired with in one pass
        before the block is split (then capped).
    """
    n_npd = max(len(features.npd), 1)
    all_keys, all_bits, stats = [], [], []
    seen = np.zeros(0, dtype=np.int64)
    for bit, (name, keys, split_by) in enumerate(passes):
        survey, npd, pass_stats = _run_pass(features, name, tuple(keys), tuple(split_by), max_block_size)
        key = np.unique(survey.astype(np.int64) * n_npd + npd)
        pass_stats.new_pairs = int(len(key) - np.isin(key, seen, assume_unique=True).sum())
        seen = np.union1d(seen, key)
        all_keys.append(key)
        all_bits.append(np.full(len(key), 1 << bit, dtype=np.int64))
        stats.append(pass_stats)
        log.info("blocking pass %-18s %10d pairs (%d new)", name, pass_stats.pairs, pass_stats.new_pairs)
    if all_keys:
        keys = np.concatenate(all_keys)
        bits = np.concatenate(all_bits)
        order = np.argsort(keys, kind="stable")
        keys, bits = keys[order], bits[order]
        uniq, first = np.unique(keys, return_index=True)
        passes_mask = np.bitwise_or.reduceat(bits, first) if len(first) else np.zeros(0, np.int64)
    else:
        uniq, passes_mask = np.zeros(0, np.int64), np.zeros(0, np.int64)
    log.info("blocking: %d candidate pairs from %d passes", len(uniq), len(passes))
    return BlockingResult(
        survey_rows=(uniq // n_npd).astype(np.int64),
        npd_rows=(uniq % n_npd).astype(np.int64),
        passes=passes_mask,
        stats=stats,
    )


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
    truth = true_links[[survey_key, npd_key]].dropna()
    truth = truth[truth[npd_key].astype(str) != ""].astype(str).drop_duplicates()
    if truth.empty:
        return float("nan")
    found = truth.merge(pairs[[survey_key, npd_key]].astype(str).drop_duplicates(), how="inner", on=[survey_key, npd_key])
    return len(found) / len(truth)

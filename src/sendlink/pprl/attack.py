"""Attacks on Bloom-filter encodings of names: what a curious linkage unit can recover.

The linkage unit holds the encoded files and no key. If it also knows how
often names occur in the population (a public list: ONS baby names, or
here the NPD's own forename frequencies as a stand-in), can it read names
back from the filters? Two attacks are implemented:

Pattern-mining attack (:func:`pattern_mining_attack`)
    After Christen, Vidanage, Ranbaduge & Schnell (2018), "Pattern-mining
    based cryptanalysis of Bloom filters for privacy-preserving record
    linkage", PAKDD 2018 (Springer LNCS). A q-gram sets the same
    k bits in every filter of a value that contains it, so those k bits
    are set *together* in at least as many filters as the q-gram occurs in
    the population. The attack works on the filters as a matrix and mines
    its columns:

    1. In a *partition* of the filters (at first, all of them) and the
       matching part of the public list (at first, all names), take the
       most frequent q-gram of the public names, if it is clearly more
       frequent than the second (relative gap ``min_gap``).
    2. Mine the largest set of bit positions that are all set in at least
       ``(1 - tolerance)`` times the q-gram's expected number of filters
       (greedy Apriori: start from the most frequent pair of positions,
       add the position that keeps the joint support highest, stop when
       the support would fall below the floor). That set is a q-gram's bit
       pattern; it is labelled with the frequent q-gram whose frequency and
       co-occurrence with the q-grams identified so far fit it best
       (:func:`_label`; this labelling step is ours: the most co-occurring
       bits are not always the most frequent q-gram's).
    3. Split the partition into the filters that hold the whole pattern
       (they contain the q-gram) and those that do not (they certainly do
       not contain it: a q-gram always sets all its bits), and the public
       names likewise; recurse on both, most populous first.

    Re-identification: a filter *cannot* contain an identified q-gram one
    of whose bits is unset, and probably contains those whose bits are
    all set. Public names whose identified q-grams are exactly those
    are its candidates (if none, names with no impossible q-gram and the
    most identified q-grams explained). One candidate is a
    *re-identification*; with several, the attacker's best guess is the
    most frequent.

Frequency alignment (:func:`frequency_attack`)
    The simplest attack on a deterministic encoding (Kuzu, Kantarcioglu,
    Durham & Malin 2011 build on the same observation): the k-th most
    frequent distinct filter is guessed to be the k-th most frequent
    public name. It needs no knowledge of q-grams at all, and no
    Bloom-filter hardening that keeps one filter per name defeats it.
    (Kuzu et al., "A constraint satisfaction cryptanalysis of Bloom filters
    in private record linkage", PETS 2011, add constraints from q-grams.)

:func:`attack_table` runs both against encodings of a spine's names under
several hardening settings and returns one row per setting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendlink.link.standardise import standardise_spine
from sendlink.pprl import bloom
from sendlink.pprl.encode import EncodingParams, encode_spine
from sendlink.pprl.keys import derive_key

__all__ = ["AttackResult", "attack_table", "frequency_attack", "pattern_mining_attack", "score_guesses"]

log = logging.getLogger(__name__)


@dataclass
class AttackResult:
    """What an attack recovered.

    Attributes
    ----------
    patterns
        q-gram -> the bit positions the attack assigned to it (pattern mining only).
    guesses
        One row per target record: ``guess`` (a public name or ``None``),
        ``unique`` (it was the only candidate), ``candidates`` (how many).
    """

    patterns: dict[str, tuple[int, ...]] = field(default_factory=dict)
    guesses: pd.DataFrame = field(default_factory=pd.DataFrame)


def _distinct(filters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct packed rows, their counts and each row's index into them."""
    filters = np.ascontiguousarray(filters)
    view = filters.view(np.dtype((np.void, filters.dtype.itemsize * filters.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(view, return_index=True, return_inverse=True, return_counts=True)
    return filters[first], counts, inverse.ravel()


def _public_table(public: pd.Series, q: int) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Names, frequencies, q-gram vocabulary and the name x q-gram incidence matrix."""
    public = public[public > 0].groupby(level=0).sum().sort_values(ascending=False, kind="mergesort")
    names = np.asarray(public.index, dtype=object)
    freq = public.to_numpy(dtype=float)
    grams = [set(bloom.qgrams(str(v), q)) for v in names]
    vocabulary = sorted(set().union(*grams)) if grams else []
    column = {g: j for j, g in enumerate(vocabulary)}
    incidence = np.zeros((len(names), len(vocabulary)), dtype=bool)
    for i, gs in enumerate(grams):
        incidence[i, [column[g] for g in gs]] = True
    return names, freq, vocabulary, incidence


def _mine_pattern(bits: np.ndarray, weights: np.ndarray, floor: float, excluded: np.ndarray,
                  max_positions: int | None, seeds: int = 10) -> list[int]:
    """Greedy Apriori: the largest set of positions jointly set in at least ``floor`` (weighted) filters.

    Seeds are the pairs of positions, each frequent enough, that co-occur
    most *beyond chance* (highest lift: joint support over the product of
    the two supports). Two bits of one q-gram co-occur as often as the
    q-gram does; two busy bits of different q-grams may co-occur often too,
    but hardly more than chance. Each seed grows by the position that
    keeps the joint support highest while it stays above ``floor``; the
    largest set wins.
    """
    column_support = weights @ bits
    candidates = np.flatnonzero((column_support >= floor) & ~excluded)
    if len(candidates) < 2:
        return []
    sub = bits[:, candidates]
    sub_f = sub.astype(np.float32)
    pair_support = (sub_f * weights[:, None].astype(np.float32)).T @ sub_f
    marginal = column_support[candidates].astype(np.float32)
    lift = pair_support * weights.sum() / np.outer(marginal, marginal)
    lift[pair_support < floor] = -1.0
    np.fill_diagonal(lift, -1.0)
    upper = np.triu(lift, 1)
    flat = np.argsort(-upper, axis=None)[:seeds]
    best_set: list[int] = []
    best_support = -1.0
    for index in flat:
        a, b = np.unravel_index(int(index), upper.shape)
        if upper[a, b] <= 0:
            break
        chosen = [int(a), int(b)]
        support = sub[:, a] & sub[:, b]
        while max_positions is None or len(chosen) < max_positions:
            joint = weights[support] @ sub[support]
            joint[chosen] = -1.0
            nxt = int(np.argmax(joint))
            if joint[nxt] < floor:
                break
            chosen.append(nxt)
            support &= sub[:, nxt]
        total = float(weights[support].sum())
        if len(chosen) > len(best_set) or (len(chosen) == len(best_set) and total > best_support):
            best_set, best_support = chosen, total
    return sorted(int(candidates[c]) for c in best_set)


def _label(candidates: np.ndarray, share: np.ndarray, has: np.ndarray, fmask: np.ndarray, vmask: np.ndarray,
           weights: np.ndarray, freq: np.ndarray, incidence: np.ndarray, found_cols: list[int],
           found_has: list[np.ndarray]) -> int:
    """Which of the partition's frequent q-grams the mined pattern belongs to.

    The mined pattern is the most strongly co-occurring set of bits, which
    is usually, not always, the most frequent q-gram's (two q-grams of
    nearly equal frequency, ``an`` and ``n``, are easily swapped). The
    label is the candidate whose frequency in the partition and whose
    co-occurrence with the q-grams identified so far best match the
    pattern's: among the filters holding the pattern, the share holding
    each identified pattern, against the share of public names with the
    candidate that contain each identified q-gram.
    """
    inside = fmask & has
    w_in = weights[inside].sum()
    support = w_in / max(weights[fmask].sum(), 1e-12)
    encoded = np.array([weights[inside & h].sum() / max(w_in, 1e-12) for h in found_has])
    best, best_distance = int(candidates[0]), np.inf
    for c in candidates:
        if share[c] <= 0:
            continue
        holders = vmask & incidence[:, c]
        f_c = freq[holders].sum()
        distance = abs(share[c] - support) / max(share[c], support)
        if found_cols and f_c > 0:
            public_cond = (freq[holders] @ incidence[holders][:, found_cols]) / f_c
            distance += float(np.mean(np.abs(encoded - public_cond)))
        if distance < best_distance:
            best, best_distance = int(c), distance
    return best


def pattern_mining_attack(filters: np.ndarray, length: int, public: pd.Series, *, q: int = 2, min_gap: float = 0.05,
                          tolerance: float = 0.1, min_partition: float = 0.002, max_qgrams: int = 300,
                          max_positions: int | None = None, min_positions: int = 3,
                          label_candidates: int = 8, max_failures: int = 3, max_filters: int | None = None,
                          rows: np.ndarray | None = None, rng: np.random.Generator | None = None) -> AttackResult:
    """Pattern-mining attack on Bloom filters of one field (see the module docstring).

    Parameters
    ----------
    filters
        Packed filters of the target records (``(n, words)``).
    length
        Their length in bits.
    public
        The attacker's public frequency list: index names (standardised
        as the encoder does), values counts.
    q
        q-gram length the encoding used (public: Kerckhoffs' principle).
    min_gap
        Minimum relative gap between the two most frequent q-grams of a
        partition to go on mining it.
    tolerance
        The joint support floor is ``(1 - tolerance)`` times the q-gram's
        expected filter count (the public list is not the target population).
    min_partition
        Partitions with a smaller share of the target records are not mined.
    max_qgrams
        Stop after identifying this many q-grams.
    max_positions
        Cap on positions per pattern (the attacker may know ``k``).
    min_positions
        A pattern with fewer positions is rejected.
    label_candidates
        How many of the partition's most frequent q-grams may be given the
        mined pattern (:func:`_label`).
    max_failures
        When no pattern is found for a partition's most frequent q-gram
        (its bits collapse under double hashing, or salting split it), try
        the next one, up to this many times per partition.
    max_filters
        Mine on a sample of at most this many distinct filters (drawn with
        probability proportional to their counts, with ``rng``): record-level
        filters are all distinct, and mining all 252,610 is slow for no gain.
    rows
        Re-identify only these target records (all when ``None``); the
        others get no guess. Mining still uses every record.
    """
    all_distinct, all_counts, inverse = _distinct(filters)
    mined_rows = np.arange(len(all_distinct))
    if max_filters is not None and len(all_distinct) > max_filters:
        if rng is None:
            raise ValueError("sampling filters for mining needs an explicit random generator")
        mined_rows = np.sort(rng.choice(len(all_distinct), size=max_filters, replace=False,
                                        p=all_counts / all_counts.sum()))
    distinct, counts = all_distinct[mined_rows], all_counts[mined_rows]
    bits = bloom.unpack(distinct, length)
    weights = counts.astype(float)
    total = weights.sum()
    names, freq, vocabulary, incidence = _public_table(public, q)
    patterns: dict[str, tuple[int, ...]] = {}
    identified = np.zeros(len(vocabulary), dtype=bool)
    found_cols: list[int] = []          # vocabulary index of each identified q-gram, in order
    found_has: list[np.ndarray] = []    # per identified q-gram: which distinct filters hold its whole pattern
    # Partitions: (filter mask, name mask, positions known set in all its filters, q-grams that failed there).
    stack = [(np.ones(len(distinct), bool), np.ones(len(names), bool), np.zeros(length, bool), np.zeros(len(vocabulary), bool))]
    while stack and len(patterns) < max_qgrams:
        stack.sort(key=lambda part: weights[part[0]].sum())
        fmask, vmask, known, failed = stack.pop()
        w_part = weights[fmask].sum()
        if w_part < min_partition * total or not vmask.any():
            continue
        share = (freq[vmask] @ incidence[vmask]) / freq[vmask].sum()
        share[identified | failed] = -1.0
        order = np.argsort(-share, kind="stable")
        f1 = share[order[0]]
        f2 = max(share[order[1]], 0.0) if len(order) > 1 else 0.0
        if f1 <= 0 or (f1 - f2) / f1 < min_gap:
            continue
        positions = _mine_pattern(bits[fmask], weights[fmask], (1 - tolerance) * f1 * w_part, known, max_positions)
        if len(positions) < min_positions:
            if failed.sum() < max_failures:  # try the partition's next q-gram instead
                failed = failed.copy()
                failed[order[0]] = True
                stack.append((fmask, vmask, known, failed))
            continue
        has = bits[:, positions].all(axis=1)
        column = _label(order[:label_candidates], share, has, fmask, vmask, weights, freq, incidence, found_cols, found_has)
        patterns[vocabulary[column]] = tuple(positions)
        identified[column] = True
        found_cols.append(column)
        found_has.append(has)
        with_known = known.copy()
        with_known[positions] = True
        none_failed = np.zeros(len(vocabulary), bool)
        stack.append((fmask & has, vmask & incidence[:, column], with_known, none_failed))
        stack.append((fmask & ~has, vmask & ~incidence[:, column], known, none_failed))
    log.info("pattern mining identified %d q-gram patterns", len(patterns))
    wanted = np.unique(inverse if rows is None else inverse[np.asarray(rows, dtype=np.int64)])
    found = _reidentify(bloom.unpack(all_distinct[wanted], length), patterns, names, freq, vocabulary, incidence)
    guesses = pd.DataFrame({"guess": np.full(len(all_distinct), None, dtype=object),
                            "unique": np.zeros(len(all_distinct), bool), "candidates": np.zeros(len(all_distinct), np.int64)})
    guesses.iloc[wanted] = found.to_numpy()
    guesses["unique"] = guesses["unique"].astype(bool)
    guesses["candidates"] = guesses["candidates"].astype(np.int64)
    return AttackResult(patterns=patterns, guesses=guesses.iloc[inverse].reset_index(drop=True))


def _reidentify(bits: np.ndarray, patterns: dict[str, tuple[int, ...]], names: np.ndarray, freq: np.ndarray,
                vocabulary: list[str], incidence: np.ndarray) -> pd.DataFrame:
    """Candidates per distinct filter from the identified q-gram patterns."""
    n = len(bits)
    if not patterns or not len(names):
        return pd.DataFrame({"guess": np.full(n, None, dtype=object), "unique": np.zeros(n, bool),
                             "candidates": np.zeros(n, np.int64)})
    grams = list(patterns)
    column = {g: j for j, g in enumerate(vocabulary)}
    has = np.stack([bits[:, list(patterns[g])].all(axis=1) for g in grams], axis=1)  # filters x identified
    sig = np.stack([incidence[:, column[g]] if g in column else np.zeros(len(names), bool) for g in grams], axis=1)
    by_signature: dict[bytes, list[int]] = {}
    for i, row in enumerate(np.packbits(sig, axis=1)):
        by_signature.setdefault(row.tobytes(), []).append(i)  # names are sorted most frequent first
    guess = np.full(n, None, dtype=object)
    count = np.zeros(n, dtype=np.int64)
    packed_has = np.packbits(has, axis=1)
    unmatched = []
    for i in range(n):
        hit = by_signature.get(packed_has[i].tobytes())
        if hit:
            guess[i], count[i] = names[hit[0]], len(hit)
        else:
            unmatched.append(i)
    if unmatched:
        sig_f = sig.astype(np.float32)
        explained = sig.sum(axis=1)
        for start in range(0, len(unmatched), 2000):
            rows = np.asarray(unmatched[start:start + 2000])
            violations = sig_f @ (~has[rows]).T.astype(np.float32)  # names x filters: impossible q-grams
            possible = violations < 0.5
            score = np.where(possible, explained[:, None], -1)
            best = score.max(axis=0)
            for j, row in enumerate(rows):
                if best[j] <= 0:
                    continue
                top = np.flatnonzero(score[:, j] == best[j])
                guess[row], count[row] = names[top[0]], len(top)
    return pd.DataFrame({"guess": guess, "unique": count == 1, "candidates": count})


def frequency_attack(filters: np.ndarray, public: pd.Series) -> AttackResult:
    """Frequency alignment: the k-th most frequent filter is the k-th most frequent public name.

    ``public`` may be indexed by (name, anything) pairs, e.g. (name, birth
    year) for salted encodings: an attacker who knows the salt is the year
    of birth aligns filters with name-and-year counts (ONS publishes baby
    names by year) and keeps the name.
    """
    distinct, counts, inverse = _distinct(filters)
    order = np.argsort(-counts, kind="stable")
    ranked = public[public > 0].groupby(level=list(range(public.index.nlevels))).sum()
    ranked = ranked.sort_values(ascending=False, kind="mergesort")
    names = np.asarray(ranked.index.get_level_values(0), dtype=object)
    guess = np.full(len(distinct), None, dtype=object)
    top = min(len(order), len(names))
    guess[order[:top]] = names[:top]
    frame = pd.DataFrame({"guess": guess, "unique": pd.notna(guess), "candidates": pd.notna(guess).astype(np.int64)})
    return AttackResult(guesses=frame.iloc[inverse].reset_index(drop=True))


def score_guesses(guesses: pd.DataFrame, truth: np.ndarray) -> dict[str, float]:
    """Shares of records whose value the attack recovered.

    ``reidentified``: a unique candidate, and it is right; ``best_guess``:
    the attacker's best guess is right; ``names_reidentified``: share of
    distinct true values re-identified in at least one record.
    """
    truth = np.asarray(truth, dtype=object)
    present = pd.notna(truth)
    right = (guesses["guess"].to_numpy(dtype=object) == truth) & present
    unique = right & guesses["unique"].to_numpy(bool)
    distinct = pd.Series(truth[present]).nunique()
    named = pd.Series(truth[unique]).nunique()
    n = max(int(present.sum()), 1)
    return {"reidentified": float(unique.sum() / n), "best_guess": float(right.sum() / n),
            "names_reidentified": float(named / max(distinct, 1))}


def _true_patterns_ok(patterns: dict[str, tuple[int, ...]], secret: bytes | str, params: EncodingParams,
                      field_name: str) -> float:
    """Share of identified q-gram patterns that are a subset of the q-gram's real bits (unsalted, unhardened)."""
    if not patterns:
        return float("nan")
    spec = next(f for f in params.fields if f.name == field_name)
    material = derive_key(secret, f"bloom:{field_name}", 128)
    encoder = bloom.Encoder(params.length, spec.k, (material[:64], material[64:]), params.hashing)
    good = sum(set(pos) <= set(encoder.positions(g)) for g, pos in patterns.items())
    return good / len(patterns)


def attack_table(target: pd.DataFrame, key: str, secret: bytes | str, variants: dict[str, EncodingParams],
                 public: dict[str, pd.Series], *, q: int = 2, evaluate: int | None = None,
                 max_filters: int = 10_000, seed: int = 0, **attack_options) -> pd.DataFrame:
    """Both attacks against the encodings of ``target``'s names under each hardening setting.

    Parameters
    ----------
    target
        The spine whose encodings are attacked (the linkage unit holds them).
    key
        Its key column.
    secret
        The data holders' secret (used here only to encode, and to check
        which identified patterns are right).
    variants
        Label -> encoding parameters. A variant with ``fields`` not holding
        ``field_name`` but ``clk=True`` is attacked on its record-level filters.
    public
        Per attacked field (``forename``, ``surname``), the attacker's
        frequency list (index standardised names, values counts).
    evaluate
        Score the pattern-mining attack on a random sample of this many
        target records (all when ``None``): re-identifying all 252,610
        record-level filters takes long and a sample of 20,000 estimates
        the share to within about half a percentage point.
    max_filters, seed
        Mining sample size and the seed of both samples
        (:func:`pattern_mining_attack`).
    attack_options
        Passed to :func:`pattern_mining_attack`.

    Returns
    -------
    DataFrame
        One row per variant and field: ``variant, field, target, records, records_scored, distinct_filters,
        patterns_found, patterns_correct, reidentified, best_guess,
        names_reidentified, frequency_reidentified, frequency_salt_aware``
        (the last for birth-year salting: alignment with name-by-year counts,
        here the target's own, the attacker's best case).
    """
    std = standardise_spine(target, key)
    sample = None
    if evaluate is not None and evaluate < len(std):
        sample = np.sort(np.random.default_rng(seed).choice(len(std), size=evaluate, replace=False))
    scored = np.arange(len(std)) if sample is None else sample
    rows = []
    for label, params in variants.items():
        encoded = encode_spine(target, key, secret, params)
        for field_name, counts in public.items():
            truth = std[field_name].to_numpy(dtype=object)
            on_clk = label.lower().startswith("clk") or field_name not in encoded.filters
            filters = encoded.clk if on_clk else encoded.filters[field_name]
            length = filters.shape[1] * 64
            mined = pattern_mining_attack(filters, length, counts, q=q, max_filters=max_filters, rows=sample,
                                          rng=np.random.default_rng(seed), **attack_options)
            freq = frequency_attack(filters, counts)
            if params.salt == "birth_year":
                by_year = pd.Series(1, index=pd.MultiIndex.from_arrays([truth, std["dob_year"].to_numpy()]))
                salt_aware = score_guesses(frequency_attack(filters, by_year.groupby(level=[0, 1]).sum()).guesses,
                                           truth)["best_guess"]
            else:
                salt_aware = float("nan")
            scores = score_guesses(mined.guesses.iloc[scored].reset_index(drop=True), truth[scored])
            plain = params.salt is None and not params.balance and params.xor_folds == 0 and not on_clk
            rows.append({
                "variant": label,
                "field": field_name,
                "target": "record-level CLK" if on_clk else f"{field_name} filter",
                "records": int(pd.notna(truth).sum()),
                "records_scored": int(pd.notna(truth[scored]).sum()),
                "distinct_filters": int(len(_distinct(filters)[1])),
                "patterns_found": len(mined.patterns),
                "patterns_correct": _true_patterns_ok(mined.patterns, secret, params, field_name) if plain else float("nan"),
                **scores,
                "frequency_reidentified": score_guesses(freq.guesses, truth)["best_guess"],
                "frequency_salt_aware": salt_aware,
            })
            log.info("attack on %s, %s: %s", label, field_name, rows[-1])
    return pd.DataFrame(rows)

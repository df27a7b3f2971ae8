"""Blocking on encodings: which encoded pairs are worth comparing.

Run by the linkage unit, which sees no plain value. Two kinds of key:

* **Keyed blocking keys** (computed by the data holders,
  :data:`sendlink.pprl.encode.DEFAULT_BLOCKING`): an HMAC of, say, the
  date of birth with the surname's Soundex code. Equal plain keys give
  equal HMACs, so a pass is a join on 63-bit integers, exactly as plain
  blocking; the keys are as selective as their plain counterparts, and as
  revealing of frequencies.
* **Locality-sensitive hashing** on the filters (:func:`lsh_keys`):
  Hamming LSH by bit sampling (Indyk & Motwani 1998; for Bloom filters,
  Karapiperis & Verykios 2015). A table's key is ``b`` bits read at
  positions drawn at random; two filters that differ in a share ``d`` of
  their bits get the same key with probability ``(1 - d)**b``, so similar
  filters meet in at least one of ``t`` tables with probability
  ``1 - (1 - (1 - d)**b)**t``. It needs no extra key from the data holders
  and reveals nothing beyond the filters themselves. The positions are
  drawn by the linkage unit with a generator passed explicitly.

Passes are unioned; a pass whose block holds more than ``max_block_size``
NPD records for a key is skipped for that key (a common date of birth
alone would otherwise pair everything).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendlink.pprl.bloom import unpack
from sendlink.pprl.encode import EncodedSpine

__all__ = ["candidate_pairs", "join_keys", "lsh_keys"]


def join_keys(left: np.ndarray, right: np.ndarray, max_block_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs with equal keys (``-1`` = missing, never joins).

    ``max_block_size`` drops keys held by more right-hand rows than that.
    """
    lrows = np.flatnonzero(left >= 0)
    rrows = np.flatnonzero(right >= 0)
    if not len(lrows) or not len(rrows):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Only the right-hand rows whose key the left side holds (cheap on a national file).
    wanted = np.isin(right[rrows], left[lrows])
    rrows = rrows[wanted]
    lf = pd.DataFrame({"key": left[lrows], "l": lrows})
    rf = pd.DataFrame({"key": right[rrows], "r": rrows})
    if max_block_size is not None and len(rf):
        sizes = rf["key"].map(rf["key"].value_counts())
        rf = rf[sizes.to_numpy() <= max_block_size]
    pairs = lf.merge(rf, on="key", how="inner")
    return pairs["l"].to_numpy(np.int64), pairs["r"].to_numpy(np.int64)


def lsh_keys(filters: np.ndarray, length: int, tables: int, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Hamming-LSH keys ``(n, tables)``: each table reads ``bits`` sampled positions.

    The same ``rng`` state must be used for both files (draw the
    positions once, or pass generators seeded alike).
    """
    if bits > 63:
        raise ValueError("at most 63 sampled bits per table (keys are int64)")
    positions = np.stack([rng.choice(length, size=bits, replace=False) for _ in range(tables)])
    unpacked = unpack(filters, length)
    weights = (1 << np.arange(bits, dtype=np.int64))
    out = np.empty((len(filters), tables), dtype=np.int64)
    for t in range(tables):
        out[:, t] = unpacked[:, positions[t]].astype(np.int64) @ weights
    return out


def candidate_pairs(survey: EncodedSpine, npd: EncodedSpine, passes: list[str] | None = None, *,
                    max_block_size: int | None = 200, lsh: dict | None = None,
                    rng: np.random.Generator | None = None) -> pd.DataFrame:
    """The union of the blocking passes' pairs.

    Parameters
    ----------
    survey, npd
        Both encoded spines (same encoding parameters and secret).
    passes
        Keyed blocking keys to use (all the files hold, when ``None``).
    max_block_size
        Per pass, keys held by more NPD records than this are skipped.
    lsh
        Optional ``{"field": "clk" or a field name, "tables": t, "bits": b}``
        adding Hamming-LSH passes on those filters (needs ``rng``).

    Returns
    -------
    DataFrame
        ``survey_row, npd_row, passes`` (pass names joined by ``+``), one
        row per distinct pair, sorted.
    """
    if survey.key_check != npd.key_check:
        raise ValueError("the two files were encoded with different secrets (key check values differ)")
    names = passes if passes is not None else [k for k in survey.blocking if k in npd.blocking]
    found: list[pd.DataFrame] = []
    for name in names:
        si, ni = join_keys(survey.blocking[name], npd.blocking[name], max_block_size)
        found.append(pd.DataFrame({"survey_row": si, "npd_row": ni, "pass": name}))
    if lsh is not None:
        if rng is None:
            raise ValueError("LSH blocking needs an explicit random generator")
        which = lsh.get("field", "clk")
        a = survey.clk if which == "clk" else survey.filters[which]
        b = npd.clk if which == "clk" else npd.filters[which]
        length = a.shape[1] * 64
        seed = int(rng.integers(0, 2**63 - 1))
        ka = lsh_keys(a, length, lsh["tables"], lsh["bits"], np.random.default_rng(seed))
        kb = lsh_keys(b, length, lsh["tables"], lsh["bits"], np.random.default_rng(seed))
        for t in range(ka.shape[1]):
            si, ni = join_keys(ka[:, t], kb[:, t], max_block_size)
            found.append(pd.DataFrame({"survey_row": si, "npd_row": ni, "pass": f"lsh_{which}"}))
    if not found:
        return pd.DataFrame({"survey_row": np.zeros(0, np.int64), "npd_row": np.zeros(0, np.int64), "passes": []})
    allp = pd.concat(found, ignore_index=True)
    grouped = allp.groupby(["survey_row", "npd_row"], sort=True)["pass"].agg(lambda s: "+".join(dict.fromkeys(s)))
    return grouped.reset_index().rename(columns={"pass": "passes"})

"""Per-run pseudonyms: the linkage unit never sees a UPN or a survey id.

A UPN identifies a pupil to anyone with NPD access, and a survey id ties a
record to the survey's answers; neither needs to reach the linkage unit,
which only has to say "this row goes with that row". So before encoding,
each data holder replaces its key by a **random pseudonymous row id**
drawn afresh for the run (:func:`pseudonymise`), shuffles the rows (row
order would otherwise carry the original sort order, e.g. by UPN), and
keeps the mapping in its own folder. The linkage unit links pseudonyms and
sends the links back; each data holder maps its own column back
(:func:`map_back`): the survey organisation its survey ids, DfE its UPNs.
Neither learns the other's ids from the linkage unit's files, and a
pseudonym from one run says nothing about another run's.

Pseudonyms are ``p`` and 16 hexadecimal digits (64 random bits), unique
within the file. Randomness comes from a generator passed explicitly:
``sendlink encode`` seeds it from the operating system's entropy unless
``--pseudonym-seed`` is given (the pipeline passes the project seed, so the
synthetic run's files are reproducible; a real run must not).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sendlink.errors import InputError

__all__ = ["PSEUDONYM", "PSEUDONYM_COLUMN", "draw_pseudonyms", "map_back", "pseudonymise"]

#: What a pseudonym looks like (the scanner of the linkage unit's folder checks every key against it).
PSEUDONYM = re.compile(r"^p[0-9a-f]{16}$")
#: The mapping's column of pseudonyms (the other column is the party's own key).
PSEUDONYM_COLUMN = "pseudonym"


def draw_pseudonyms(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct random pseudonyms (``p`` + 16 hex digits), in random order."""
    drawn = np.zeros(0, dtype=np.uint64)
    while len(drawn) < n:  # 64 random bits each; a repeat (one in 10^6 runs at 9 million rows) is redrawn
        drawn = np.unique(np.concatenate([drawn, rng.integers(0, 2**64, size=n - len(drawn), dtype=np.uint64)]))
    drawn = drawn[rng.permutation(n)]
    return np.array([f"p{int(v):016x}" for v in drawn], dtype=object)


def pseudonymise(frame: pd.DataFrame, key: str, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace ``key`` by random pseudonyms and shuffle the rows.

    Parameters
    ----------
    frame
        A spine (``key`` and identifier columns).
    key
        ``survey_id`` or ``upn``.
    rng
        The run's random generator.

    Returns
    -------
    (DataFrame, DataFrame)
        The spine with pseudonyms in ``key`` (rows shuffled), and the
        mapping ``key, pseudonym`` (in the original row order) the data
        holder keeps.
    """
    if key not in frame.columns:
        raise InputError("spine", f"no key column {key!r}", column=key)
    n = len(frame)
    pseudonyms = draw_pseudonyms(n, rng)
    mapping = pd.DataFrame({key: frame[key].astype(str).to_numpy(), PSEUDONYM_COLUMN: pseudonyms})
    out = frame.copy()
    out[key] = pseudonyms
    out = out.iloc[rng.permutation(n)].reset_index(drop=True)
    return out, mapping


def map_back(table: pd.DataFrame, mapping: pd.DataFrame, source: object = "mapping") -> pd.DataFrame:
    """Replace pseudonyms by the data holder's own keys, in the column the mapping names.

    The mapping's other column (``survey_id`` or ``upn``) says which column
    of ``table`` holds this holder's pseudonyms; the other side's column is
    left as it is. Empty cells (an unmatched child's ``upn``) stay empty.

    Raises
    ------
    InputError
        The mapping is malformed, or a pseudonym in the table is not in it
        (a mapping from another run).
    """
    keys = [c for c in mapping.columns if c != PSEUDONYM_COLUMN]
    if PSEUDONYM_COLUMN not in mapping.columns or len(keys) != 1:
        raise InputError(source, f"a mapping has two columns: the key and {PSEUDONYM_COLUMN!r}")
    key = keys[0]
    if key not in table.columns:
        raise InputError(source, f"maps {key!r}, but the table has no such column", column=key)
    lookup = pd.Series(mapping[key].astype(str).to_numpy(), index=pd.Index(mapping[PSEUDONYM_COLUMN].astype(str)))
    values = table[key].astype(object)
    filled = values.notna() & (values.astype(str) != "")
    found = lookup.reindex(values[filled].astype(str)).to_numpy()
    unknown = pd.isna(found)
    if unknown.any():
        rows = np.flatnonzero(filled.to_numpy())[unknown]
        raise InputError(source, f"{int(unknown.sum())} pseudonym(s) in {key!r} are not in this mapping (another run's?)",
                         column=key, rows=[int(r) for r in rows[:10]])
    out = table.copy()
    out[key] = values.to_numpy()
    out.loc[filled.to_numpy(), key] = found
    return out

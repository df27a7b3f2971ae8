"""Household fields: surname, address and school are shared by siblings, so their agreements are not independent.

Stage ``link``, run by DfE. The Fellegi-Sunter model multiplies the
evidence of each field as if the fields agreed by chance independently. For
a survey child and a pupil who are *not* the same child, agreeing on the
surname and on the postcode is far from independent: the pupils who share
both are the child's siblings. Under independence, "Medina at MK24 3NY"
is worth the surname's weight (about 12 bits for a rare name) plus the
postcode's (about 16 bits), as if a pupil with both were a one-in-a-billion
coincidence; in fact a child usually has a sibling or two in the NPD at
that address, and a sibling who is not in the NPD (a brother at an
independent school, a sister too young for the census) then looks like a
certain match on surname, address and school. The issue that asked for this
(issue 19) found most false links were of that kind.

The correction, for pairs that agree exactly on the surname *and* on the
full postcode (the household):

* the two fields' chance agreement is the *joint* frequency of that surname
  at that postcode among NPD records (how many pupils share both: the
  household's size in the NPD), in place of the product of their separate
  frequencies, as Splink's term-frequency adjustment does for one field;
* the school's chance agreement is the share of pairs of different pupils
  of one household who attend the same school (siblings often do), in place
  of the chance that two random pupils do.

Both are measured on the NPD itself (households are invisible to random
pairs, from which every other u comes), on the households the candidate
pairs touch. The m probabilities are unchanged and EM fits them as before.
The correction enters the match weight as its own term, ``w_household``
(bits, zero for other pairs), so each field's weight keeps its meaning.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sendlink.link.arrays import unique
from sendlink.link.features import Features

__all__ = ["household_frequencies"]

log = logging.getLogger(__name__)


def household_frequencies(features: Features, npd_rows: np.ndarray, household: np.ndarray) -> dict[str, np.ndarray]:
    """Per pair: the joint frequency of the NPD record's surname and postcode, and the school rate within households.

    Parameters
    ----------
    features
        Both sides, encoded.
    npd_rows
        The NPD record of each pair.
    household
        Per pair: does it agree exactly on surname and on the full postcode?

    Returns
    -------
    dict
        ``household``: per pair, the share of NPD records with this pair's
        NPD surname and postcode (0 where ``household`` is False);
        ``school_in_household``: per pair, the same number for every pair:
        the share of pairs of different pupils within those households who
        attend the same school (``nan`` when no household has two pupils).
    """
    npd = features.npd
    size = max(len(npd), 1)
    joint = np.zeros(len(npd_rows))
    school_rate = np.full(len(npd_rows), np.nan)
    rows = np.asarray(npd_rows, dtype=np.int64)[np.asarray(household, dtype=bool)]
    if not len(rows):
        return {"household": joint, "school_in_household": school_rate}
    from sendlink.link.blocking import _positions  # the hashed lookup of millions of codes against a few

    units = unique(npd.pc(rows))
    where = _positions(npd.pc(), units)
    members = np.flatnonzero(where >= 0)  # every NPD record at one of these postcodes
    frame = pd.DataFrame({"unit": where[members], "surname": npd.sn(members).astype(np.int64),
                          "school": npd.school(members).astype(np.int64)})
    frame = frame[frame["surname"] >= 0]
    counts = frame.groupby(["unit", "surname"]).size()
    # Pairs of different pupils within a household, and those at the same school.
    pairs_all = float((counts * (counts - 1) / 2).sum())
    same = frame[frame["school"] >= 0].groupby(["unit", "surname", "school"]).size()
    pairs_same = float((same * (same - 1) / 2).sum())
    rate = pairs_same / pairs_all if pairs_all > 0 else np.nan
    key = pd.MultiIndex.from_arrays([np.searchsorted(units, npd.pc(rows)), npd.sn(rows).astype(np.int64)])
    found = counts.reindex(key).to_numpy(dtype=float)
    joint[np.asarray(household, dtype=bool)] = np.where(np.isfinite(found), found, 1.0) / size
    school_rate[:] = rate
    log.info("households: %d pair(s) agree on surname and postcode; siblings share a school in %.0f%% of %d household pair(s)",
             len(rows), 100 * rate if np.isfinite(rate) else float("nan"), int(pairs_all))
    return {"household": joint, "school_in_household": school_rate}

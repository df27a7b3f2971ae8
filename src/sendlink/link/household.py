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
full postcode (the household), or on the surname and a postcode the pupil
had at an earlier census (``postcode_history`` level ``past``: a former
household, whose siblings share the address history as they share the
current address; without that, a sibling not in the NPD who still lives at
the family's old address got about 17 bits for it):

* the two fields' chance agreement is the chance by coincidence (the
  product of their frequencies, as before) *plus* the chance of a sibling:
  how many more pupils share a pupil's surname and postcode than chance
  gives (measured on the NPD), over the NPD's size (in a file without
  households, FEBRL's adults, that excess is about zero and nothing
  changes);
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


def _joint_counts(npd, rows: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
    """For NPD ``rows``: how many NPD records share the row's surname and postcode (itself included),
    and the frame of every NPD record at those postcodes (``unit`` position, ``surname``, ``school``)."""
    from sendlink.link.blocking import (
        _positions,  # the hashed lookup of millions of codes against a few
    )

    units = unique(npd.pc(rows))
    where = _positions(npd.pc(), units)
    members = np.flatnonzero(where >= 0)
    frame = pd.DataFrame({"unit": where[members], "surname": npd.sn(members).astype(np.int64),
                          "school": npd.school(members).astype(np.int64)})
    frame = frame[frame["surname"] >= 0]
    counts = frame.groupby(["unit", "surname"]).size()
    key = pd.MultiIndex.from_arrays([np.searchsorted(units, npd.pc(rows)), npd.sn(rows).astype(np.int64)])
    found = counts.reindex(key).to_numpy(dtype=float)
    return np.where(np.isfinite(found), found, 1.0), frame


#: NPD records sampled (evenly spaced) to measure how many siblings a pupil has in the NPD.
SIBLING_SAMPLE = 20_000


def household_frequencies(features: Features, npd_rows: np.ndarray, household: np.ndarray) -> dict[str, np.ndarray]:
    """Per pair: the chance that a sibling shares the NPD record's surname and postcode, and the school rate within households.

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
        ``household``: per household pair, ``e / N``, where ``e`` is how
        many *more* other pupils share a pupil's surname and postcode than
        independent fields would give (its siblings in the NPD, measured on
        an evenly spaced sample of pupils) and ``N`` the NPD's size; 0 for
        other pairs. The chance that a non-matching child agrees on both is
        then the independent chance plus ``e / N``
        (:func:`sendlink.link.model.household_log_u`); in a file without
        households (FEBRL's adults) ``e`` is about 0 and nothing changes.
        ``school_in_household``: the share of pairs of pupils of one
        household (on the households the pairs touch) at the same school.
    """
    npd = features.npd
    size = max(len(npd), 1)
    joint = np.zeros(len(npd_rows))
    school_rate = np.full(len(npd_rows), np.nan)
    hh = np.asarray(household, dtype=bool)
    rows = np.asarray(npd_rows, dtype=np.int64)[hh]
    if not len(rows):
        return {"household": joint, "school_in_household": school_rate}
    eligible = np.flatnonzero((npd.sn() >= 0) & (npd.pc() >= 0))
    excess = 0.0
    if len(eligible):
        sample = eligible[np.linspace(0, len(eligible) - 1, min(SIBLING_SAMPLE, len(eligible))).astype(np.int64)]
        both, _ = _joint_counts(npd, sample)
        surname_counts = _value_counts(npd.sn(), npd.sn(sample))
        postcode_counts = _value_counts(npd.pc(), npd.pc(sample))
        expected = (surname_counts - 1.0) * (postcode_counts - 1.0) / size  # others sharing both by chance
        excess = max(0.0, float(np.mean(both - 1.0) - np.mean(expected)))
    joint[hh] = excess / size
    _, frame = _joint_counts(npd, rows)
    per_household = frame.groupby(["unit", "surname"]).size()
    pairs_all = float((per_household * (per_household - 1) / 2).sum())
    same = frame[frame["school"] >= 0].groupby(["unit", "surname", "school"]).size()
    pairs_same = float((same * (same - 1) / 2).sum())
    school_rate[:] = pairs_same / pairs_all if pairs_all > 0 else np.nan
    log.info("households: %d pair(s) agree on surname and postcode; a pupil has %.3f more pupil(s) with its surname and "
             "postcode than chance gives; siblings share a school in %.0f%% of %d household pair(s)", len(rows), excess,
             100 * school_rate[0] if np.isfinite(school_rate[0]) else float("nan"), int(pairs_all))
    return {"household": joint, "school_in_household": school_rate}


def _value_counts(all_codes: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """How many of ``all_codes`` equal each of ``wanted`` (codes; -1 never counted)."""
    from sendlink.link.blocking import _positions

    values = unique(wanted[wanted >= 0])
    pos = _positions(all_codes, values)
    counts = np.bincount(pos[pos >= 0], minlength=len(values)).astype(float)
    at = np.minimum(np.searchsorted(values, wanted), max(len(values) - 1, 0))
    return np.where((wanted >= 0) & (len(values) > 0), counts[at] if len(values) else 0.0, 0.0)

"""The postcode ``typo`` level is OSA distance <= 1 on the compact text, whatever the shortcut.

:func:`sendlink.link.compare._postcode_typo` rules out most pairs on the
numeric codes before making any text; these tests check that the shortcut
never loses a pair that is one edit apart, on postcodes one edit from each
other in every way (and two edits, and unrelated), against rapidfuzz's OSA
distance on the text itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA

from sendlink.link.compare import Pairs, _postcode_typo
from sendlink.link.features import encode_frames

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHARS = LETTERS + "0123456789"


def _postcode(rng: np.random.Generator) -> str:
    area = "".join(rng.choice(list(LETTERS), size=int(rng.integers(1, 3))))
    district = str(rng.integers(1, 99))
    return f"{area}{district} {rng.integers(0, 10)}{''.join(rng.choice(list(LETTERS), size=2))}"


def _edit(text: str, rng: np.random.Generator) -> str:
    """One random substitution, insertion, deletion or swap of neighbours (on the compact form)."""
    compact = text.replace(" ", "")
    i = int(rng.integers(0, len(compact)))
    kind = rng.integers(0, 4)
    c = str(rng.choice(list(CHARS)))
    if kind == 0:
        return compact[:i] + c + compact[i + 1:]
    if kind == 1:
        return compact[:i] + c + compact[i:]
    if kind == 2 and len(compact) > 2:
        return compact[:i] + compact[i + 1:]
    j = min(i, len(compact) - 2)
    return compact[:j] + compact[j + 1] + compact[j] + compact[j + 2:]


def test_typo_level_agrees_with_osa_on_the_text():
    rng = np.random.default_rng(17)
    survey, npd = [], []
    for _ in range(3000):
        base = _postcode(rng)
        other = rng.choice(["one", "two", "unrelated", "long"])
        if other == "one":
            changed = _edit(base, rng)
        elif other == "two":
            changed = _edit(_edit(base, rng), rng)
        elif other == "unrelated":
            changed = _postcode(rng)
        else:  # not a UK postcode, too long to be held as a number
            changed = base.replace(" ", "") + "XY"
        survey.append(base)
        npd.append(changed)
    s = pd.DataFrame({"survey_id": [f"s{i}" for i in range(len(survey))], "postcode": survey})
    n = pd.DataFrame({"upn": [f"n{i}" for i in range(len(npd))], "postcode": npd})
    features = encode_frames(s, n)
    rows = np.arange(len(survey))
    typo = _postcode_typo(Pairs(features, rows, rows))
    compact = [(a.replace(" ", "").upper(), b.replace(" ", "").upper()) for a, b in zip(survey, npd, strict=True)]
    expected = np.array([OSA.distance(a, b) <= 1 for a, b in compact])
    assert expected.sum() > 500 and (~expected).sum() > 1000  # both kinds well represented
    assert np.array_equal(typo, expected), [compact[i] for i in np.flatnonzero(typo != expected)[:5]]

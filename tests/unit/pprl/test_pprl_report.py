"""Chapter 7's helpers: similarity examples and the frequency leak, checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from sendlink.pprl import report
from sendlink.pprl.encode import encode_spine, encoding_params

SECRET = b"test secret for the report helpers"


def test_similarity_examples_by_hand(project_params):
    table = report.similarity_examples([("ann", "anne"), ("ann", "ann"), ("ann", "zoe")], SECRET,
                                       encoding_params(project_params.pprl), (0.75, 0.55))
    # ann: _a an nn n_; anne: _a an nn ne e_ -> 3 shared of 4 + 5: 2*3/9.
    assert table["bigram Dice"].tolist() == pytest.approx([0.667, 1.0, 0.0], abs=1e-3)
    assert table["band"].tolist()[1] == "exact"
    assert table["filter Dice"].iloc[0] >= table["bigram Dice"].iloc[0] - 1e-9  # chance bits only add
    assert table["band"].iloc[2] == "different"


def test_frequency_leak_counts_identical_filters(project_params):
    spine = pd.DataFrame({"upn": list("ABCDEF"), "forename": ["amy", "amy", "amy", "bo", "bo", "cy"]})
    leak = report.frequency_leak(encode_spine(spine, "upn", SECRET, encoding_params(project_params.pprl)), top=2)
    assert leak["records sharing the filter"].tolist() == [3, 2]
    assert leak["share of records"].tolist() == pytest.approx([0.5, 1 / 3])

"""Blocking recall against true links, worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendlink.evaluate.blocking import blocking_recall, pass_recall


def test_blocking_recall_by_hand():
    pairs = pd.DataFrame({"survey_id": ["a", "b", "c"], "upn": ["1", "9", "3"]})
    truth = pd.DataFrame({"survey_id": ["a", "b", "c", "d"], "upn": ["1", "2", "3", ""]})
    # d is not in the NPD: ignored. Found 2 of a, b, c.
    assert blocking_recall(pairs, truth) == pytest.approx(2 / 3)
    assert np.isnan(blocking_recall(pairs, truth.iloc[3:]))

def test_pass_recall_by_hand():
    pairs = pd.DataFrame({"survey_id": ["a", "a", "b", "c"], "upn": ["1", "9", "2", "3"],
                          "passes": ["p1+p2", "p2", "p2", "p1"]})
    truth = pd.DataFrame({"survey_id": ["a", "b", "c", "d"], "upn": ["1", "2", "3", "4"]})
    table = pass_recall(pairs, truth, ["p1", "p2"]).set_index("pass")
    # p1 finds a-1 and c-3 (2 of 4 true links); p2 finds a-1 and b-2; together 3 of 4.
    assert table.loc["p1", "recall"] == pytest.approx(0.5)
    assert table.loc["p2", "cumulative_recall"] == pytest.approx(0.75)
    assert table.loc["p1", "only_this_pass"] == 1 and table.loc["p2", "only_this_pass"] == 1
    assert table.loc["p2", "pairs"] == 3

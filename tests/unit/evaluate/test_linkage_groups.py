"""Precision and recall by group carry Wilson intervals."""

from __future__ import annotations

import pandas as pd
import pytest

from sendlink.evaluate.linkage import by_subgroup, classify, wilson_interval


def test_wilson_interval_matches_the_textbook_value():
    # 9 of 10: the Wilson 95% interval is 0.596 to 0.982 (Newcombe 1998, table I, by hand).
    low, high = wilson_interval(9, 10)
    assert low == pytest.approx(0.5958, abs=1e-3) and high == pytest.approx(0.9821, abs=1e-3)
    assert wilson_interval(0, 0) != wilson_interval(0, 0)  # nan bounds for an empty group


def test_groups_report_intervals_around_their_rates():
    links = pd.DataFrame({"survey_id": ["a", "b", "c", "d"], "upn": ["1", "2", "", "9"],
                          "link_status": ["matched", "matched", "unmatched", "matched"]})
    truth = pd.DataFrame({"survey_id": ["a", "b", "c", "d"], "upn": ["1", "2", "3", "4"]})
    attributes = pd.DataFrame({"survey_id": ["a", "b", "c", "d"], "frame_eal": [True, True, False, False]})
    table = by_subgroup(classify(links, truth), attributes).set_index("group")
    assert table.loc["True", "recall"] == 1.0 and table.loc["False", "recall"] == 0.0
    assert table.loc["False", "precision"] == 0.0  # d was linked to the wrong pupil
    for group in ("True", "False"):
        row = table.loc[group]
        assert row["recall_low"] <= row["recall"] <= row["recall_high"]
        assert row["precision_low"] <= row["precision"] <= row["precision_high"]

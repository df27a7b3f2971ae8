"""Magnitude tables: minimum contributors, the N-K dominance rule, medians, secondary cells."""

import numpy as np
import pandas as pd
import pytest

from sendlink.disclosure import (
    Status,
    check_published,
    dominated,
    protect_magnitudes,
)
from tests.conftest import RULES, rules


def micro(groups: dict[str, list[float]], *, categories=None) -> pd.DataFrame:
    rows = [(g, v) for g, values in groups.items() for v in values]
    frame = pd.DataFrame(rows, columns=["group", "value"])
    if categories is not None:
        frame["group"] = pd.Categorical(frame["group"], categories=categories)
    return frame


# --- the dominance rule -------------------------------------------------------


def test_two_largest_above_85_percent_dominate():
    # 50 + 40 = 90 of 102: 88.2% > 85%.
    assert dominated([50, 40, 5, 1, 1, 1, 1, 1, 1, 1], n=2, k=85)


def test_exactly_85_percent_does_not_dominate():
    # 50 + 35 = 85 of 100: the rule says "more than".
    assert not dominated([50, 35, 2, 2, 2, 2, 2, 2, 2, 1], n=2, k=85)


def test_just_below_85_percent_does_not_dominate():
    # 85 of 101 = 84.2%.
    assert not dominated([50, 35, 2, 2, 2, 2, 2, 2, 2, 2], n=2, k=85)


def test_n_and_k_are_parameters():
    # The single largest, 50 of 100, is more than 40% but not more than 50%.
    assert dominated([50, 25, 25], n=1, k=40)
    assert not dominated([50, 25, 25], n=1, k=50)


def test_a_zero_total_is_not_dominated_and_sizes_are_absolute():
    assert not dominated([0, 0, 0], n=2, k=85)
    assert dominated([-100, 1, 1, 1], n=1, k=85)  # 100 of 103 in size


# --- minimum contributors -----------------------------------------------------


def test_means_need_ten_contributors():
    # A: 1..10 (mean 5.5); B: 1..9 (9 people).
    data = micro({"A": list(range(1, 11)), "B": list(range(1, 10))})
    table = protect_magnitudes(data, "group", "value", RULES, margins=False)
    assert table.display["mean value"].tolist() == ["5.5", "c"]
    assert table.status["mean value"].tolist() == ["ok", "primary"]


def test_missing_values_do_not_count_as_contributors():
    data = micro({"A": [*range(1, 10), np.nan, np.nan]})  # 11 people, 9 with a value
    table = protect_magnitudes(data, "group", "value", RULES, margins=False)
    assert table.display.iloc[0, 0] == "c"


def test_medians_need_ten_contributors_but_not_the_dominance_rule():
    # C: two huge values among ten: dominated (1900 of 1908), but its median (1)
    # does not reveal them.
    data = micro({"C": [1000, 900, 1, 1, 1, 1, 1, 1, 1, 1], "B": list(range(1, 10))})
    medians = protect_magnitudes(data, "group", "value", RULES, statistic="median", margins=False)
    assert medians.display.loc["C"].item() == "1.0"
    assert medians.display.loc["B"].item() == "c"
    means = protect_magnitudes(data, "group", "value", RULES, statistic="mean", margins=False)
    assert means.display.loc["C"].item() == "c"
    assert means.status.loc["C"].item() == Status.PRIMARY.value
    assert "dominance rule" in means.footnote
    assert "dominance" not in medians.footnote


def test_sums_with_decimals():
    data = micro({"A": list(range(1, 11))})  # sum 55
    assert (
        protect_magnitudes(data, "group", "value", RULES, statistic="sum", margins=False).display.iloc[
            0, 0
        ]
        == "55.0"
    )
    exact = protect_magnitudes(
        data, "group", "value", rules(decimals=0), statistic="sum", margins=False
    )
    assert exact.display.iloc[0, 0] == "55"


# --- secondary suppression of magnitudes -------------------------------------


def test_a_mean_hidden_alone_could_be_recovered_from_the_total_mean():
    # A: 10 people at 5 (sum 50), B: 9 at 6 (sum 54, too few), D: 20 at 4 (sum 80).
    # All-groups mean = 184 / 39 = 4.718 -> "4.7". Knowing the counts, a reader
    # gets B's sum as 184 - 50 - 80, so one more group must go: A, the one with
    # fewer contributors. Then A + B = 104 and B is anywhere in [0, 104].
    data = micro({"A": [5] * 10, "B": [6] * 9, "D": [4] * 20})
    table = protect_magnitudes(data, "group", "value", RULES)
    assert table.display["mean value"].tolist() == ["c", "c", "4.0", "4.7"]
    assert table.status["mean value"].tolist() == ["secondary", "primary", "ok", "ok"]
    assert "secondary suppression" in table.footnote
    check_published(table)


def test_medians_need_no_secondary_suppression():
    data = micro({"A": [5] * 10, "B": [6] * 9, "D": [4] * 20})
    table = protect_magnitudes(data, "group", "value", RULES, statistic="median")
    assert table.display["median value"].tolist() == ["5.0", "c", "4.0", "4.0"]


def test_two_way_magnitude_table_with_margins():
    # Rows A/B, columns x/y. A/x has 4 people (primary); its row and column
    # partners and the opposite corner close the cycle (the only interior one).
    frame = pd.DataFrame(
        {
            "group": ["A"] * 4 + ["A"] * 12 + ["B"] * 15 + ["B"] * 20,
            "kind": ["x"] * 4 + ["y"] * 12 + ["x"] * 15 + ["y"] * 20,
            "value": [2.0] * 4 + [3.0] * 12 + [4.0] * 15 + [5.0] * 20,
        }
    )
    table = protect_magnitudes(frame, "group", "value", RULES, across="kind")
    assert list(table.display.columns) == ["x", "y", "Total"]
    assert table.display.loc[["A", "B"], ["x", "y"]].to_numpy().tolist() == [["c", "c"], ["c", "c"]]
    # Totals: A (4*2 + 12*3)/16 = 2.75 -> "2.8"; B (60 + 100)/35 = 4.571 -> "4.6";
    # x (8 + 60)/19 = 3.578 -> "3.6"; y (36 + 100)/32 = 4.25 -> "4.2" (4.25 is
    # exact in binary and rounds half to even); all (68 + 136)/51 = 4.0.
    assert table.display.loc["Total"].tolist() == ["3.6", "4.2", "4.0"]
    assert table.display["Total"].tolist() == ["2.8", "4.6", "4.0"]


# --- x, z, and number formatting ----------------------------------------------


def test_group_with_no_values_is_unavailable_and_empty_category_not_applicable():
    data = micro({"A": list(range(1, 11)), "B": [np.nan] * 12}, categories=["A", "B", "C"])
    table = protect_magnitudes(data, "group", "value", RULES, margins=False)
    assert table.display["mean value"].tolist() == ["5.5", "x", "z"]
    assert "x = not available." in table.footnote
    assert "z = not applicable." in table.footnote


def test_empty_category_is_suppressed_when_zeros_are():
    data = micro({"A": list(range(1, 11))}, categories=["A", "C"])
    table = protect_magnitudes(
        data, "group", "value", rules(suppress_zeros=True), margins=False
    )
    assert table.display["mean value"].tolist() == ["5.5", "c"]


def test_numbers_are_stable_strings():
    # Mean (6 * -0.1 + 4 * 0.05) / 10 = -0.04 shows as 0.0 (never -0.0);
    # thousands get separators; ten values of 0.1 sum to exactly 1.0 (exactly
    # rounded summation; a plain running sum gives 0.9999999999999999).
    data = micro({"neg": [-0.1] * 6 + [0.05] * 4, "big": [1234.56] * 10, "tenth": [0.1] * 10})
    means = protect_magnitudes(data, "group", "value", RULES, margins=False)
    assert means.display.loc[["neg", "big", "tenth"], "mean value"].tolist() == [
        "0.0",
        "1,234.6",
        "0.1",
    ]
    sums = protect_magnitudes(
        data, "group", "value", rules(decimals=6), statistic="sum", margins=False
    )
    assert sums.display.loc["tenth"].item() == "1.000000"
    assert sums.values.loc["big"].item() == 12345.6


def test_label_and_bad_statistic():
    data = micro({"A": list(range(1, 11))})
    assert list(
        protect_magnitudes(data, "group", "value", RULES, label="Attainment 8").display.columns
    ) == ["Attainment 8"]
    with pytest.raises(ValueError, match="statistic"):
        protect_magnitudes(data, "group", "value", RULES, statistic="mode")

"""Percentage tables: protected through the count table behind them."""

import pandas as pd

from sendlink.disclosure import check_published, protect_percentages
from tests.conftest import RULES, rules

EXACT = rules(rounding_base=0)


def people(spec: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """spec: group -> (number with the outcome, number without)."""
    rows = []
    for group, (yes, no) in spec.items():
        rows += [(group, True)] * yes + [(group, False)] * no
    return pd.DataFrame(rows, columns=["group", "absent"])


def test_percentages_of_large_groups_are_shown_from_unrounded_counts():
    # A: 13 of 33 = 39.39% -> 39.4; B: 20 of 40 = 50%; all: 33 of 73 = 45.2%.
    table = protect_percentages(
        people({"A": (13, 20), "B": (20, 20)}), "group", "absent", RULES
    )
    assert list(table.display.columns) == ["n", "% False", "% True"]
    assert table.display.values.tolist() == [
        ["35", "60.6", "39.4"],  # n = 33 rounded to 35
        ["40", "50.0", "50.0"],
        ["75", "54.8", "45.2"],  # n = 73 rounded to 75; 40/73 = 54.79%
    ]
    assert "calculated from unrounded counts" in table.footnote
    check_published(table)


def test_levels_selects_the_percentages_shown():
    table = protect_percentages(
        people({"A": (13, 20), "B": (20, 20)}), "group", "absent", EXACT, levels=[True]
    )
    assert list(table.display.columns) == ["n", "% True"]
    assert table.display["n"].tolist() == ["33", "40", "73"]


def test_small_groups_and_the_counts_that_would_reveal_them():
    # Counts behind the table:     False True | n
    #                        A        30   10 | 40
    #                        B         9    3 | 12
    #                        C         4    4 |  8   <- fewer than 10 people
    #                        Total    43   17 | 60
    # B's and C's counts are small (primary). C's n (8) is small, so another
    # denominator must go: B's (cheaper than A's). B/True = 3 can rise only to
    # 7 through column True (17 - 10 published for A), so A's cells must go too.
    # Only the overall row survives: 43/60 = 71.7%, 17/60 = 28.3%.
    table = protect_percentages(
        people({"A": (10, 30), "B": (3, 9), "C": (4, 4)}), "group", "absent", EXACT
    )
    assert table.display.values.tolist() == [
        ["40", "c", "c"],
        ["c", "c", "c"],
        ["c", "c", "c"],
        ["60", "71.7", "28.3"],
    ]
    assert table.status.values.tolist() == [
        ["ok", "secondary", "secondary"],
        ["secondary", "primary", "primary"],
        ["primary", "primary", "primary"],
        ["ok", "ok", "ok"],
    ]
    check_published(table)


def test_groups_below_min_contributors_show_no_percentages_even_if_counts_are_large():
    # min_contributors 30, threshold 10. B has 25 people (12 yes, 13 no): its
    # counts are not small, but its percentages may not be shown, and nor may
    # they be worked out from the overall row: the cheapest partner is A
    # (21 + 31 < 31 + 31 for D). Overall: 62 of 135 = 45.9%.
    params = rules(rounding_base=0, min_contributors=30)
    table = protect_percentages(
        people({"A": (20, 30), "B": (12, 13), "D": (30, 30)}), "group", "absent", params
    )
    assert table.display.values.tolist() == [
        ["50", "c", "c"],
        ["25", "c", "c"],
        ["60", "50.0", "50.0"],
        ["135", "54.1", "45.9"],
    ]
    assert table.status.loc["B"].tolist() == ["ok", "primary", "primary"]
    assert table.status.loc["A"].tolist() == ["ok", "secondary", "secondary"]
    check_published(table)


def test_without_margins_the_total_row_is_dropped_but_still_protected_against():
    table = protect_percentages(
        people({"A": (10, 30), "B": (3, 9), "C": (4, 4)}), "group", "absent", EXACT, margins=False
    )
    assert list(table.display.index) == ["A", "B", "C"]
    assert table.display.loc["A"].tolist() == ["40", "c", "c"]


def test_empty_group_has_no_percentage():
    data = people({"A": (13, 20)})
    data["group"] = pd.Categorical(data["group"], categories=["A", "Z"])
    table = protect_percentages(data, "group", "absent", EXACT)
    assert table.display.loc["Z"].tolist() == ["0", "z", "z"]

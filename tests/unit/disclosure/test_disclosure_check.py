"""check_published and attacker_intervals: judging a table by what a reader sees."""

import pandas as pd
import pytest

from sendlink.disclosure import (
    DisclosureError,
    attacker_intervals,
    check_published,
    protect_counts,
    protect_magnitudes,
)
from tests.conftest import RULES, rules

EXACT = rules(rounding_base=0)


def shown(rows: dict[str, list[str]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows.values()), index=list(rows), columns=columns)


def test_a_visible_small_count_fails():
    table = shown({"A": ["7", "20"], "B": ["30", "40"]}, ["x", "y"])
    with pytest.raises(
        DisclosureError, match=r"\('A', 'x'\) shows '7', a count below the threshold 10"
    ):
        check_published(table, EXACT)


def test_a_visible_zero_fails_only_when_zeros_are_suppressed():
    table = shown({"A": ["0", "20"]}, ["x", "y"])
    check_published(table, EXACT)
    with pytest.raises(DisclosureError, match="zero count"):
        check_published(table, rules(rounding_base=0, suppress_zeros=True))


def test_unrounded_counts_fail_when_rounding_is_on():
    table = shown({"A": ["12", "20"]}, ["x", "y"])
    with pytest.raises(DisclosureError, match="not rounded to the nearest 5"):
        check_published(table, RULES)
    check_published(table, EXACT)


def test_unknown_symbols_and_fractional_counts_fail():
    table = shown({"A": ["<5", "20"], "B": ["12.5", "-"]}, ["x", "y"])
    with pytest.raises(DisclosureError) as caught:
        check_published(table, EXACT)
    message = str(caught.value)
    assert "'<5', neither a number nor one of c, x, z" in message
    assert "'12.5', not a count" in message
    assert "'-'" in message


def test_numbers_with_thousands_separators_and_plain_integers_are_read():
    check_published(shown({"A": ["1,235", 20]}, ["x", "y"]), RULES)


def test_a_recoverable_suppressed_cell_fails():
    #   20  30   c | 54      c = 54 - 20 - 30 = 4
    table = shown(
        {"r1": ["20", "30", "c", "54"], "Total": ["20", "30", "4", "54"]}, ["A", "B", "C", "Total"]
    )
    with pytest.raises(DisclosureError):  # the 4 in the totals row is visible anyway
        check_published(table, EXACT)
    table = shown({"r1": ["20", "30", "c", "54"]}, ["A", "B", "C", "Total"])
    with pytest.raises(DisclosureError, match=r"between 4 and 4, below 10"):
        check_published(table, EXACT)


def test_rounding_alone_does_not_protect_a_single_hidden_cell():
    # One-way, rounded to 5: A shows 20 (so 18..22), total 25 (so 23..27).
    # B = total - A lies in [23 - 22, 27 - 18] = [1, 9]: surely below 10.
    table = shown({"A": ["20"], "B": ["c"], "Total": ["25"]}, ["n"])
    ranges = attacker_intervals(table, RULES)
    assert ranges[["lower", "upper"]].values.tolist() == [[1, 9]]
    with pytest.raises(DisclosureError, match="between 1 and 9"):
        check_published(table, RULES)


def test_a_reader_uses_the_rule_that_shown_counts_are_at_least_the_threshold():
    # A shows 10 when rounded (true 8..12), but counts below 10 are never shown,
    # so A is 10..12; with total 30 (28..32) B = total - A is in [16, 22].
    table = shown({"A": ["10"], "B": ["c"], "Total": ["30"]}, ["n"])
    ranges = attacker_intervals(table, RULES)
    assert ranges[["lower", "upper"]].values.tolist() == [[16, 22]]


def test_inconsistent_totals_are_reported():
    table = shown({"A": ["20", "30", "60"]}, ["x", "y", "Total"])
    with pytest.raises(DisclosureError, match="inconsistent"):
        check_published(table, EXACT)


def test_percentage_of_too_few_people_fails():
    table = shown({"A": ["25", "48.0"], "B": ["40", "c"]}, ["n", "% yes"])
    check_published(table, rules(rounding_base=0), kind="percentages")
    with pytest.raises(DisclosureError, match="percentage of 25 people, fewer than 30"):
        check_published(
            table, rules(rounding_base=0, min_contributors=30), kind="percentages"
        )


def test_magnitude_tables_are_checked_for_symbols_only():
    check_published(shown({"A": ["4.5"], "B": ["c"]}, ["mean"]), RULES, kind="magnitudes")
    with pytest.raises(DisclosureError, match="neither a number"):
        check_published(shown({"A": ["n/a"]}, ["mean"]), RULES, kind="magnitudes")


def test_protected_tables_pass_and_tampering_is_caught():
    counts = pd.DataFrame(
        {"A": [20, 15, 40], "B": [30, 25, 12], "C": [4, 35, 18]}, index=["r1", "r2", "r3"]
    )
    table = protect_counts(counts, RULES)
    check_published(table)
    check_published(table.to_frame(), RULES)  # what a notebook shows, as strings
    table.display.loc["r1", "C"] = "5"
    with pytest.raises(DisclosureError) as caught:
        check_published(table)
    assert "status is primary" in str(caught.value)


def test_a_table_made_with_looser_rules_fails_the_project_rules():
    counts = pd.Series({"A": 6, "B": 30}, name="n")
    loose = protect_counts(counts, rules(threshold=5, rounding_base=0), margins=False)
    check_published(loose)  # by its own rules
    with pytest.raises(DisclosureError, match="below the threshold 10"):
        check_published(loose, rules(rounding_base=0))


def test_magnitude_protected_table_passes():
    data = pd.DataFrame({"group": ["A"] * 10 + ["B"] * 3, "value": range(13)})
    check_published(protect_magnitudes(data, "group", "value", RULES))

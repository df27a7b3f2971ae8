"""Frequency tables: every expected value below is worked out by hand in the comments."""

import numpy as np
import pandas as pd
import pytest

from sendlink.disclosure import (
    DisclosureError,
    Status,
    attacker_intervals,
    check_published,
    crosstab,
    protect_counts,
    round_to_base,
)
from tests.conftest import RULES, rules

EXACT = rules(rounding_base=0)  # isolate suppression from rounding


def column(table, name):
    return table.display[name].tolist()


# --- primary suppression ------------------------------------------------------


def test_counts_below_threshold_are_suppressed_and_ten_is_shown():
    counts = pd.Series({"A": 9, "B": 10, "C": 0, "D": 1}, name="pupils")
    table = protect_counts(counts, EXACT, margins=False)
    assert column(table, "pupils") == ["c", "10", "0", "c"]
    assert table.status["pupils"].tolist() == ["primary", "ok", "ok", "primary"]


def test_zeros_are_suppressed_when_configured():
    counts = pd.Series({"A": 9, "B": 10, "C": 0, "D": 1}, name="pupils")
    table = protect_counts(
        counts, rules(rounding_base=0, suppress_zeros=True), margins=False
    )
    assert column(table, "pupils") == ["c", "10", "c", "c"]
    assert "zero counts" in table.footnote


def test_threshold_is_a_parameter():
    counts = pd.Series({"A": 4, "B": 5}, name="n")
    table = protect_counts(counts, rules(threshold=5, rounding_base=0), margins=False)
    assert column(table, "n") == ["c", "5"]


# --- rounding -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, base, expected",
    [
        (12, 5, 10),
        (13, 5, 15),
        (0, 5, 0),
        (10, 5, 10),
        (17, 5, 15),
        (18, 5, 20),
        (15, 10, 20),
        (14, 10, 10),
        (7, 0, 7),
        (7, 1, 7),
    ],
)
def test_round_to_base(value, base, expected):
    assert round_to_base(value, base) == expected


def test_published_counts_are_rounded_to_5_and_zero_stays_zero():
    counts = pd.Series({"a": 12, "b": 13, "c": 0, "d": 10, "e": 17, "f": 18, "g": 1234}, name="n")
    table = protect_counts(counts, RULES, margins=False)
    assert column(table, "n") == ["10", "15", "0", "10", "15", "20", "1,235"]
    # Every published count is marked rounded, changed or not: marking only the
    # changed ones would reveal which true counts are multiples of 5.
    assert set(table.status["n"]) == {Status.ROUNDED.value}
    assert table.values["n"].tolist() == [10, 15, 0, 10, 15, 20, 1235]


def test_totals_are_rounded_independently_and_the_footnote_says_so():
    # 11 + 11 + 11 = 33: each cell rounds to 10, the total to 35.
    table = protect_counts(pd.Series({"a": 11, "b": 11, "c": 11}, name="n"), RULES)
    assert column(table, "n") == ["10", "10", "10", "35"]
    assert "rounded independently" in table.footnote
    assert "nearest 5" in table.footnote


def test_no_rounding_sentence_when_rounding_is_off():
    table = protect_counts(pd.Series({"a": 11, "b": 12}, name="n"), EXACT)
    assert column(table, "n") == ["11", "12", "23"]
    assert "rounded" not in table.footnote
    assert set(table.status["n"]) == {"ok"}


# --- secondary suppression: one-way -------------------------------------------


def test_one_way_single_small_cell_gets_a_partner():
    # A 25, B 4, C 12, D 30, total 71. Publishing all but B gives B = 71-25-12-30 = 4.
    # The cheapest partner is the smallest other cell, C (12); then B + C = 16, so an
    # attacker only knows B is in [0, 16], which includes counts of 10 and more.
    counts = pd.Series({"A": 25, "B": 4, "C": 12, "D": 30}, name="n")
    table = protect_counts(counts, EXACT)
    assert column(table, "n") == ["25", "c", "c", "30", "71"]
    assert table.status["n"].tolist() == ["ok", "primary", "secondary", "ok", "ok"]
    ranges = attacker_intervals(table).set_index("row")
    assert (ranges.loc["B", "lower"], ranges.loc["B", "upper"]) == (0, 16)


def test_one_way_two_small_cells_that_cannot_protect_each_other():
    # A 25, B 4, C 5, total 34. Hiding B and C gives B + C = 9: an attacker knows
    # both are below 10. A must go too; then B is in [0, 34].
    counts = pd.Series({"A": 25, "B": 4, "C": 5})
    table = protect_counts(counts, EXACT)
    assert column(table, "count") == ["c", "c", "c", "34"]
    ranges = attacker_intervals(table).set_index("row")
    assert ranges.loc["B", "upper"] == 34


# --- secondary suppression: the 3x3 table where naive suppression leaks -------

LEAKY = pd.DataFrame(
    {"A": [20, 15, 40], "B": [30, 25, 12], "C": [4, 35, 18]},
    index=pd.Index(["r1", "r2", "r3"], name="row"),
)
#         A   B   C | Total
#   r1   20  30   4 |   54
#   r2   15  25  35 |   75
#   r3   40  12  18 |   70
#  Total 75  67  57 |  199


def test_primary_suppression_alone_leaks_the_small_cell():
    naive = protect_counts(LEAKY, EXACT, secondary=False)
    assert naive.display.loc["r1", "C"] == "c"
    assert naive.display.loc["r1"].tolist() == ["20", "30", "c", "54"]
    # By hand: 54 - 20 - 30 = 4, and by column: 57 - 35 - 18 = 4.
    assert 54 - 20 - 30 == 4
    ranges = attacker_intervals(naive)
    assert ranges[["lower", "upper"]].values.tolist() == [[4, 4]]
    with pytest.raises(DisclosureError, match="between 4 and 4"):
        check_published(naive)


def test_secondary_suppression_hides_the_cheapest_cycle():
    # A partner for r1/C is needed in row r1 (A or B) and in column C (r2 or r3),
    # and the opposite corner closes the cycle. Costs (1 + count):
    #   r1A, r2C, r2A: 21 + 36 + 16 = 73      r1A, r3C, r3A: 21 + 19 + 41 = 81
    #   r1B, r2C, r2B: 31 + 36 + 26 = 93      r1B, r3C, r3B: 31 + 19 + 13 = 63  <- cheapest
    table = protect_counts(LEAKY, EXACT)
    hidden = {
        (r, c)
        for r in table.display.index
        for c in table.display.columns
        if table.display.loc[r, c] == "c"
    }
    assert hidden == {("r1", "B"), ("r1", "C"), ("r3", "B"), ("r3", "C")}
    assert table.status.loc["r1", "C"] == "primary"
    assert table.status.loc["r3", "B"] == "secondary"
    # By hand, with x = r1/C: r1B = 34 - x, r3C = 22 - x, r3B = 8 + x, all >= 0,
    # so x is anywhere in [0, 22]: not pinned, and 10 or more is possible.
    ranges = attacker_intervals(table).set_index(["row", "column"])
    assert (ranges.loc[("r1", "C"), "lower"], ranges.loc[("r1", "C"), "upper"]) == (0, 22)
    check_published(table)


def test_a_row_with_one_small_cell_and_a_zero_needs_its_total_hidden():
    #         A   B | Total
    #   r1    3   0 |    3      r1/A = 3 and the total 3 are small.
    #   r2   20  30 |   50      Hiding the zero does not help (it cannot go below 0),
    #  Total 23  30 |   53      so a second total must go: r2's, with r2/A to close it.
    table = protect_counts(pd.DataFrame({"A": [3, 20], "B": [0, 30]}, index=["r1", "r2"]), EXACT)
    assert table.display.values.tolist() == [["c", "0", "c"], ["c", "30", "c"], ["23", "30", "53"]]
    assert table.status.loc["r1", "Total"] == "primary"
    assert table.status.loc["r2", "Total"] == "secondary"
    # r1/A = r1 total = x; r2/A = 23 - x; r2 total = 53 - x: x in [0, 23].
    ranges = attacker_intervals(table).set_index(["row", "column"])
    assert ranges.loc[("r1", "A"), "upper"] == 23


def test_small_total_is_itself_suppressed():
    # A row totalling 7 tells the reader the group has 7 people.
    table = protect_counts(pd.DataFrame({"A": [3, 20], "B": [4, 30]}, index=["r1", "r2"]), EXACT)
    assert table.display.loc["r1", "Total"] == "c"
    assert table.status.loc["r1", "Total"] == "primary"
    check_published(table)


def test_without_margins_cells_are_independent_so_no_secondary():
    table = protect_counts(LEAKY, EXACT, margins=False)
    assert (table.display == "c").to_numpy().sum() == 1
    assert list(table.display.columns) == ["A", "B", "C"]
    assert table.total_label is None
    assert "secondary" not in table.footnote


# --- structural zeros ---------------------------------------------------------


def test_not_applicable_cells_show_z_and_count_as_known_zeros():
    #          ASD SLCN None | Total
    #   EHC     15    4    z |   19     EHC/SLCN = 4 is also the SLCN column total.
    #   NoSEN    z    z   40 |   40     The z cells are known zeros, so the column can
    #   Total   15    4   40 |   59     only be opened through the totals row: the ASD
    #                                   cell and the ASD total close the cycle.
    counts = pd.DataFrame({"ASD": [15, 0], "SLCN": [4, 0], "None": [0, 40]}, index=["EHC", "NoSEN"])
    mask = np.array([[False, False, True], [True, True, False]])
    table = protect_counts(counts, EXACT, not_applicable=mask)
    assert table.display.values.tolist() == [
        ["c", "c", "z", "19"],
        ["z", "z", "40", "40"],
        ["c", "c", "40", "59"],
    ]
    assert table.status.loc["NoSEN", "ASD"] == Status.NOT_APPLICABLE.value
    assert "z = not applicable." in table.footnote
    # EHC row: ASD + SLCN = 19, so SLCN is in [0, 19].
    ranges = attacker_intervals(table).set_index(["row", "column"])
    assert ranges.loc[("EHC", "SLCN"), "upper"] == 19
    check_published(table)


def test_not_applicable_cells_must_be_zero():
    counts = pd.DataFrame({"A": [1, 2]})
    with pytest.raises(ValueError, match="must be zero"):
        protect_counts(counts, RULES, not_applicable=np.array([[True], [False]]))


# --- inputs -------------------------------------------------------------------


def test_given_margins_are_checked_and_give_the_same_table():
    with_totals = LEAKY.copy()
    with_totals["Total"] = with_totals.sum(axis=1)
    with_totals.loc["Total"] = with_totals.sum(axis=0)
    assert protect_counts(with_totals, EXACT).display.equals(protect_counts(LEAKY, EXACT).display)


def test_given_margins_that_do_not_add_up_are_refused():
    bad = LEAKY.copy()
    bad["Total"] = [54, 75, 71]
    with pytest.raises(ValueError, match="row 'r3': total 71, cells add up to 70"):
        protect_counts(bad, RULES)


@pytest.mark.parametrize(
    "cells, message",
    [([1, -2], "negative"), ([1.5, 2], "non-integer"), ([1, np.nan], "missing values")],
)
def test_bad_counts_are_refused(cells, message):
    with pytest.raises(ValueError, match=message):
        protect_counts(pd.Series(cells), RULES)


def test_a_category_named_like_the_totals_is_refused():
    micro = pd.DataFrame({"group": ["Total"] * 12 + ["Other"] * 12})
    with pytest.raises(ValueError, match="total_label"):
        crosstab(micro, "group", None, RULES)
    assert list(crosstab(micro, "group", None, RULES, total_label="All").display.index) == [
        "Other",
        "Total",
        "All",
    ]


def test_integer_valued_floats_are_accepted():
    table = protect_counts(pd.Series([12.0, 30.0], index=["a", "b"], name="n"), EXACT)
    assert column(table, "n") == ["12", "30", "42"]


# --- from microdata -----------------------------------------------------------


def people(counts: dict, missing_fsm: int = 0) -> pd.DataFrame:
    rows = [key for key, n in counts.items() for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["sen", "fsm"])
    frame = pd.concat(
        [frame, pd.DataFrame({"sen": ["K"] * missing_fsm, "fsm": [None] * missing_fsm})]
    )
    frame["sen"] = pd.Categorical(frame["sen"], categories=["E", "K", "N", "S"])
    return frame.reset_index(drop=True)


def test_crosstab_counts_people_keeps_empty_categories_and_protects():
    # E: 12 no, 3 yes; K: 30 no, 20 yes; N: 50 no, 40 yes; S: nobody (a category).
    # E/yes = 3 is small; its cheapest cycle runs through E/no (13) and row K
    # (31 + 21) rather than row N (51 + 41). S shows zeros (zeros allowed).
    micro = people(
        {
            ("E", "no"): 12,
            ("E", "yes"): 3,
            ("K", "no"): 30,
            ("K", "yes"): 20,
            ("N", "no"): 50,
            ("N", "yes"): 40,
        },
        missing_fsm=4,
    )
    table = crosstab(micro, "sen", "fsm", EXACT)
    assert list(table.display.index) == ["E", "K", "N", "S", "Total"]
    assert list(table.display.columns) == ["no", "yes", "Total"]
    assert table.display.values.tolist() == [
        ["c", "c", "15"],
        ["c", "c", "50"],
        ["50", "40", "90"],
        ["0", "0", "0"],
        ["92", "63", "155"],  # the 4 people with no FSM value are left out
    ]
    # E/yes = a: E/no = 15 - a, K/yes = 23 - a, K/no = 27 + a: a in [0, 15].
    ranges = attacker_intervals(table).set_index(["row", "column"])
    assert ranges.loc[("E", "yes"), "upper"] == 15
    check_published(table)


def test_one_way_crosstab_has_a_count_column_and_a_total_row():
    micro = people({("E", "no"): 12, ("K", "no"): 30, ("N", "no"): 50})
    table = crosstab(micro, "sen", None, EXACT)
    assert table.display["count"].tolist() == ["12", "30", "50", "0", "92"]


def test_crosstab_with_two_row_variables_has_a_multiindex_total():
    micro = people({("E", "no"): 12, ("K", "yes"): 30})
    micro["sex"] = ["F"] * 6 + ["M"] * 36
    table = crosstab(micro, ["sex", "sen"], "fsm", RULES)
    assert table.display.index.nlevels == 2
    assert table.display.index[-1] == ("Total", "")
    check_published(table)


def test_missing_grouping_column_is_named():
    with pytest.raises(KeyError, match="'region'"):
        crosstab(people({("E", "no"): 12}), "region", None, RULES)


# --- output -------------------------------------------------------------------


def test_markdown_rendering_is_a_plain_table_with_the_footnote():
    table = protect_counts(
        pd.Series({"A": 25, "B": 4, "C": 12}, name="n").rename_axis("group"), EXACT
    )
    assert table.to_markdown() == (
        "| group | n |\n"
        "| --- | ---: |\n"
        "| A | 25 |\n"
        "| B | c |\n"
        "| C | c |\n"
        "| Total | 41 |\n"
        "\n"
        "_c = suppressed to protect confidentiality: counts below 10; further cells are suppressed "
        "where needed (secondary suppression) so that no suppressed figure can be worked out from "
        "the totals or the other cells._  \n"
    )


def test_html_carries_the_kind_and_the_footnote():
    table = protect_counts(pd.Series({"A": 25, "B": 4, "C": 12}, name="n"), RULES)
    html = table._repr_html_()
    assert 'data-kind="counts"' in html
    assert "suppressed to protect confidentiality" in html
    assert "<td>c</td>" in html


def test_plain_text_form_is_the_published_table_and_footnote():
    table = protect_counts(pd.Series({"A": 25, "B": 4, "C": 12}, name="n"), RULES)
    text = repr(table)
    assert text == str(table)
    assert text.startswith("        n\nA      25\nB       c")
    assert text.endswith("so they may not add up to the sum of the rounded figures.")


def test_rename_relabels_display_status_and_values_together():
    table = protect_counts(pd.Series({"A": 25, "B": 4, "C": 12}, name="n"), EXACT)
    renamed = table.rename(index={"B": "Bee"}, columns={"n": "pupils"})
    for frame in (renamed.display, renamed.status, renamed.values):
        assert list(frame.index) == ["A", "Bee", "C", "Total"]
        assert list(frame.columns) == ["pupils"]
    assert renamed.count_columns == ("pupils",)
    check_published(renamed)


def test_display_is_identical_when_protected_twice():
    first = protect_counts(LEAKY, RULES)
    second = protect_counts(LEAKY.copy(), RULES)
    assert first.display.equals(second.display)
    assert first.status.equals(second.status)

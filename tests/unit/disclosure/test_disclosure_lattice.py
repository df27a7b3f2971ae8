"""The linear system behind a table, and the audit LP, on hand-sized examples."""

import math

import numpy as np
import pytest

from sendlink.disclosure.lattice import DisclosureError, Grid, Lattice, extreme, interval, suppress


def test_two_by_two_with_margins_has_six_equations_over_nine_cells():
    # Cells, row by row:  0 1 | 2
    #                     3 4 | 5
    #                     ----+--
    #                     6 7 | 8
    expected = np.array(
        [
            [1, 1, -1, 0, 0, 0, 0, 0, 0],  # row 0
            [0, 0, 0, 1, 1, -1, 0, 0, 0],  # row 1
            [0, 0, 0, 0, 0, 0, 1, 1, -1],  # totals row
            [1, 0, 0, 1, 0, 0, -1, 0, 0],  # column 0
            [0, 1, 0, 0, 1, 0, 0, -1, 0],  # column 1
            [0, 0, 1, 0, 0, 1, 0, 0, -1],  # totals column
        ]
    )
    grid = Grid(2, 2, total_row=True, total_col=True)
    np.testing.assert_array_equal(grid.equations(), expected)
    np.testing.assert_array_equal(grid.is_total(), [0, 0, 1, 0, 0, 1, 1, 1, 1])


def test_one_way_table_has_a_single_equation():
    grid = Grid(3, 1, total_row=True, total_col=False)
    np.testing.assert_array_equal(grid.equations(), [[1, 1, 1, -1]])
    assert grid.members(3).tolist() == [0, 1, 2]


def test_no_margins_no_equations():
    assert Grid(2, 3, total_row=False, total_col=False).equations().shape == (0, 6)


def lattice_2x2(values):
    grid = Grid(2, 2, total_row=True, total_col=True)
    full = np.zeros((3, 3))
    full[:2, :2] = values
    full[:2, 2] = full[:2, :2].sum(axis=1)
    full[2, :] = full[:2, :].sum(axis=0)
    flat = full.ravel()
    return Lattice(flat, grid.equations(), np.zeros(9), 1 + flat, np.zeros(9, dtype=bool))


def test_interval_of_a_hidden_rectangle():
    #   20 30 | 50     hide the four interior cells; x = bottom-left (4):
    #    4 25 | 29     x + y = 29, x + top-left = 24, top-left + top-right = 50
    #   24 55 | 79     so x in [0, 24] (top-left = 24 - x >= 0).
    lattice = lattice_2x2([[20, 30], [4, 25]])
    hidden = np.zeros(9, dtype=bool)
    hidden[[0, 1, 3, 4]] = True
    assert interval(lattice, hidden, 3) == pytest.approx((0, 24))
    # Top-right = 26 + x, so it lies in [26, 50].
    assert interval(lattice, hidden, 1) == pytest.approx((26, 50))


def test_interval_of_a_single_hidden_cell_is_pinned():
    lattice = lattice_2x2([[20, 30], [4, 25]])
    hidden = np.zeros(9, dtype=bool)
    hidden[3] = True
    assert interval(lattice, hidden, 3) == pytest.approx((4, 4))


def test_extreme_is_unbounded_without_an_upper_limit():
    # One equation a + b = c with c hidden too: a can grow without bound.
    equations = np.array([[1.0, 1.0, -1.0]])
    lb = np.array([0.0, 5.0, 0.0])
    ub = np.array([math.inf, 5.0, math.inf])
    assert extreme(equations, lb, ub, 0, maximise=True) == math.inf
    assert extreme(equations, lb, ub, 0, maximise=False) == 0


def test_inconsistent_published_cells_are_reported():
    equations = np.array([[1.0, 1.0, -1.0]])
    lb = ub = np.array([3.0, 4.0, 10.0])  # 3 + 4 != 10
    with pytest.raises(DisclosureError, match="inconsistent"):
        extreme(equations, lb, ub, 0, maximise=True)


def test_suppress_without_secondary_returns_the_primary_pattern():
    lattice = lattice_2x2([[20, 30], [4, 25]])
    primary = np.zeros(9, dtype=bool)
    primary[3] = True
    upper = np.where(primary, 10.0, np.nan)
    lower = np.full(9, np.nan)
    assert suppress(lattice, primary, upper, lower, secondary=False).tolist() == primary.tolist()
    protected = suppress(lattice, primary, upper, lower)
    # The only interior cycle through cell 3 is the whole 2x2 interior.
    assert np.flatnonzero(protected).tolist() == [0, 1, 3, 4]


def test_lower_protection_moves_the_cell_down():
    # Signed values (no lower bound) and a requirement that the minimum reach 0:
    # hiding cell 0 alone pins it; the heuristic must open a cycle.
    lattice = lattice_2x2([[20, 30], [4, 25]])
    lattice = Lattice(
        lattice.values, lattice.equations, np.full(9, -np.inf), lattice.cost, lattice.fixed
    )
    primary = np.zeros(9, dtype=bool)
    primary[0] = True
    upper = np.full(9, np.nan)
    lower = np.where(primary, 0.0, np.nan)
    protected = suppress(lattice, primary, upper, lower)
    low, _ = interval(lattice, protected, 0)
    assert low <= 0

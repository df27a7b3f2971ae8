"""Random small count tables: whatever the counts and rules, the published table is safe.

The oracle is written here, independently of the module: the table's
equations are spelled out row by row and column by column, and the attacker
is an *integer* program (scipy's MILP), which is at least as strong as the
module's LP audit.
"""

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from sendlink.disclosure import (
    attacker_intervals,
    check_published,
    protect_counts,
    round_to_base,
)
from tests.conftest import rules as disclosure_rules

small_or_large = st.one_of(st.integers(0, 12), st.integers(10, 80))


@st.composite
def count_tables(draw):
    n_rows = draw(st.integers(1, 4))
    n_cols = draw(st.integers(1, 4))
    cells = draw(
        st.lists(
            st.lists(small_or_large, min_size=n_cols, max_size=n_cols),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
    return pd.DataFrame(
        cells, index=[f"r{i}" for i in range(n_rows)], columns=[f"c{j}" for j in range(n_cols)]
    )


@st.composite
def rules(draw):
    threshold = draw(st.sampled_from([3, 5, 10]))
    base = draw(st.sampled_from([b for b in (0, 3, 5, 10) if b <= threshold]))
    return disclosure_rules(threshold=threshold, suppress_zeros=draw(st.booleans()), rounding_base=base)


def true_table(interior: pd.DataFrame) -> np.ndarray:
    """The interior with margins laid out as protect_counts lays them out."""
    values = interior.to_numpy()
    n_rows, n_cols = values.shape
    full = values
    if n_cols > 1:
        full = np.hstack([full, full.sum(axis=1, keepdims=True)])
    if n_rows > 1:
        full = np.vstack([full, full.sum(axis=0, keepdims=True)])
    return full


def integer_range(
    full: np.ndarray, hidden: np.ndarray, interior_shape, cell
) -> tuple[float, float]:
    """Smallest and largest integer value of ``cell`` in any table agreeing with the published cells."""
    n_rows, n_cols = interior_shape
    total_col, total_row = n_cols > 1, n_rows > 1
    shape = full.shape

    def idx(r, c):
        return r * shape[1] + c

    equations = []
    if total_col:
        for r in range(shape[0]):
            eq = np.zeros(full.size)
            for c in range(n_cols):
                eq[idx(r, c)] += 1
            eq[idx(r, n_cols)] -= 1
            equations.append(eq)
    if total_row:
        for c in range(shape[1]):
            eq = np.zeros(full.size)
            for r in range(n_rows):
                eq[idx(r, c)] += 1
            eq[idx(n_rows, c)] -= 1
            equations.append(eq)
    if not equations:
        return 0.0, math.inf
    flat = full.ravel().astype(float)
    lb = np.where(hidden.ravel(), 0.0, flat)
    ub = np.where(hidden.ravel(), np.inf, flat)
    found = []
    for sign in (1.0, -1.0):
        objective = np.zeros(full.size)
        objective[idx(*cell)] = sign
        result = milp(
            objective,
            integrality=np.ones(full.size),
            bounds=Bounds(lb, ub),
            constraints=LinearConstraint(np.array(equations), 0, 0),
        )
        if result.status == 3 or (result.status != 0 and sign < 0):
            found.append(math.inf)
            continue
        assert result.status == 0, result.message
        found.append(sign * result.fun)
    return found[0], found[1]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count_tables(), rules())
def test_published_table_is_safe_whatever_the_counts(interior, params):
    table = protect_counts(interior, params)
    full = true_table(interior)
    status = table.status.to_numpy()
    shown = table.display.to_numpy()
    assert status.shape == full.shape

    # Primary suppression is exactly the threshold rule, applied to totals too.
    small = (full < params.threshold) & ((full > 0) | params.suppress_zeros)
    assert ((status == "primary") == small).all()

    # Published counts are the true counts rounded; hidden ones are 'c'.
    hidden = np.isin(status, ["primary", "secondary"])
    for (r, c), value in np.ndenumerate(full):
        if hidden[r, c]:
            assert shown[r, c] == "c"
        else:
            assert shown[r, c] == f"{round_to_base(value, params.rounding):,d}"

    # The module's own reader-side check passes.
    check_published(table)

    # The strongest attacker (exact published values, integer solutions) cannot
    # rule out that a hidden sensitive count is at or above the threshold.
    for r, c in zip(*np.nonzero(status == "primary"), strict=True):
        low, high = integer_range(full, hidden, interior.shape, (r, c))
        assert low <= full[r, c] <= high
        assert high >= params.threshold, (r, c, low, high)
        assert high > full[r, c]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count_tables())
def test_the_lp_audit_is_as_strong_as_an_integer_attacker(interior):
    # For one- and two-way tables the equations form a network matrix, so the
    # LP bounds the module uses are the integer bounds.
    params = disclosure_rules(rounding_base=0)
    table = protect_counts(interior, params)
    full = true_table(interior)
    hidden = np.isin(table.status.to_numpy(), ["primary", "secondary"])
    positions = {
        (label_r, label_c): (i, j)
        for i, label_r in enumerate(table.display.index)
        for j, label_c in enumerate(table.display.columns)
    }
    for row in attacker_intervals(table).itertuples(index=False):
        low, high = integer_range(full, hidden, interior.shape, positions[row.row, row.column])
        assert row.lower == np.float64(low) or abs(row.lower - low) < 1e-6
        assert row.upper == high or abs(row.upper - high) < 1e-6


@settings(max_examples=40, deadline=None)
@given(count_tables(), rules())
def test_protection_is_deterministic(interior, params):
    first = protect_counts(interior, params)
    second = protect_counts(interior.copy(), params)
    assert first.display.equals(second.display)
    assert first.status.equals(second.status)

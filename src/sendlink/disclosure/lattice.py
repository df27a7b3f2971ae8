"""Additive tables as linear systems: the attacker's audit and complementary suppression.

A published table with margins is a set of cells tied by equations (each row
and column of interior cells adds up to its total). Whoever reads the table
knows those equations, every published cell, and that the hidden cells lie
in a range (counts are non-negative). Linear programming then gives, for a
hidden cell, the smallest and largest value consistent with what is
published: the *feasible interval* an attacker can work out. Primary
suppression alone often pins that interval to the true value (a row with
one hidden cell: total minus the others), which is why complementary
(secondary) cells are hidden too.

The suppression heuristic is the network-flow approach of Kelly, Golden and
Assad (1992) and Castro (2003), as used by tau-Argus' "modular" and sdcTable's
heuristics: to let a sensitive cell move up (or down) by the amount its
protection needs, find the cheapest *direction of change* of the table that
keeps every equation and every bound, and hide every published cell that
direction touches. Adding hidden cells only widens every feasible interval,
so a cell protected once stays protected; one pass over the sensitive cells
therefore ends with a safe pattern, which is then audited again and pruned of
complementary cells that turned out to be unnecessary.

Hand-written because no maintained Python library does cell suppression
(sdcTable is R, tau-Argus Java/C++); the linear programs themselves are
solved by HiGHS through :func:`scipy.optimize.linprog`.

Assumption worth knowing: the audit is the LP relaxation. For one- and
two-way tables with margins the equations form a network matrix, so the LP
bounds are also the integer bounds; for anything more complex they may be
wider than what an attacker solving an integer program could get.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from sendlink.errors import SendlinkError


class DisclosureError(SendlinkError):
    """A table cannot be protected, or a published table is not safe."""


@dataclass(frozen=True)
class Grid:
    """The shape of a table of ``rows`` x ``cols`` interior cells with optional margins.

    Cells are numbered row by row over the *full* table: interior cells,
    then the totals column at the right (if ``total_col``), the totals row
    at the bottom (if ``total_row``), with the grand total in the corner when
    both are present.
    """

    rows: int
    cols: int
    total_row: bool
    total_col: bool

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows + int(self.total_row), self.cols + int(self.total_col)

    @property
    def size(self) -> int:
        n_rows, n_cols = self.shape
        return n_rows * n_cols

    def flat(self, row: int, col: int) -> int:
        return row * self.shape[1] + col

    def is_total(self) -> np.ndarray:
        """Boolean mask, in flat order, of the margin cells."""
        mask = np.zeros(self.shape, dtype=bool)
        if self.total_col:
            mask[:, self.cols] = True
        if self.total_row:
            mask[self.rows, :] = True
        return mask.ravel()

    def equations(self) -> np.ndarray:
        """Additivity constraints as rows of coefficients: ``A @ cells == 0``.

        Every row of the full table (the totals row included) adds up to its
        entry in the totals column, and every column (the totals column
        included) to its entry in the totals row; the grand total therefore
        appears in two equations, as it should.
        """
        n_rows, n_cols = self.shape
        equations = []
        if self.total_col:
            for r in range(n_rows):
                eq = np.zeros(self.size)
                for c in range(self.cols):
                    eq[self.flat(r, c)] = 1.0
                eq[self.flat(r, self.cols)] = -1.0
                equations.append(eq)
        if self.total_row:
            for c in range(n_cols):
                eq = np.zeros(self.size)
                for r in range(self.rows):
                    eq[self.flat(r, c)] = 1.0
                eq[self.flat(self.rows, c)] = -1.0
                equations.append(eq)
        if not equations:
            return np.zeros((0, self.size))
        return np.vstack(equations)

    def members(self, cell: int) -> np.ndarray:
        """Flat indices of the interior cells a cell adds up (itself if interior)."""
        n_cols = self.shape[1]
        r, c = divmod(cell, n_cols)
        rows = range(self.rows) if (self.total_row and r == self.rows) else [r]
        cols = range(self.cols) if (self.total_col and c == self.cols) else [c]
        return np.array([self.flat(i, j) for i in rows for j in cols], dtype=int)


@dataclass(frozen=True)
class Lattice:
    """An additive table as the suppression engine sees it.

    Attributes
    ----------
    values
        True value of every cell (flat order of the :class:`Grid`).
    equations
        ``(k, m)`` coefficients with ``equations @ values == 0``.
    lower
        The smallest value any cell could take, as an attacker knows it
        (0 for counts and non-negative sums, ``-inf`` for signed sums).
    cost
        Information lost by hiding each cell; the heuristic hides the
        cheapest cells that protect.
    fixed
        Cells everybody knows (structural zeros): never hidden, and they
        give no room to hide anything behind.
    """

    values: np.ndarray
    equations: np.ndarray
    lower: np.ndarray
    cost: np.ndarray
    fixed: np.ndarray

    @property
    def tolerance(self) -> float:
        # HiGHS solves to about 1e-7 relative accuracy; comparisons of
        # optimal values against targets allow for that and nothing more.
        return 1e-6 * max(1.0, float(np.max(np.abs(self.values), initial=0.0)))


def _bounds(lb: np.ndarray, ub: np.ndarray) -> list[tuple[float | None, float | None]]:
    return [
        (None if not np.isfinite(lo) else float(lo), None if not np.isfinite(hi) else float(hi))
        for lo, hi in zip(lb, ub, strict=True)
    ]


def extreme(
    equations: np.ndarray, lb: np.ndarray, ub: np.ndarray, cell: int, *, maximise: bool
) -> float:
    """Largest (or smallest) value of one cell given the equations and each cell's bounds.

    Parameters
    ----------
    equations
        ``(k, m)`` equality constraints ``equations @ x == 0``.
    lb, ub
        What is known of each cell: ``lb == ub`` for a published exact
        value, an interval for a rounded one, ``[0, inf)`` for a hidden count.
    cell
        The cell whose extreme value is wanted.

    Returns
    -------
    float
        ``inf`` / ``-inf`` when the cell is unbounded in that direction.

    Raises
    ------
    DisclosureError
        If the bounds and equations admit no table at all (the published
        numbers are inconsistent).
    """
    m = len(lb)
    objective = np.zeros(m)
    objective[cell] = -1.0 if maximise else 1.0
    used = np.any(equations != 0, axis=1) if equations.size else np.zeros(0, dtype=bool)
    if not used.any():
        return float(ub[cell] if maximise else lb[cell])
    result = linprog(
        objective,
        A_eq=equations[used],
        b_eq=np.zeros(int(used.sum())),
        bounds=_bounds(lb, ub),
        method="highs",
    )
    if result.status == 3:
        return float("inf") if maximise else float("-inf")
    if result.status != 0:
        raise DisclosureError(
            f"the table's published cells are inconsistent with its totals ({result.message})"
        )
    return float(-result.fun if maximise else result.fun)


def _known_bounds(lattice: Lattice, suppressed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the strongest attacker: published cells exact, hidden ones only bounded below."""
    lb = np.where(suppressed, lattice.lower, lattice.values)
    ub = np.where(suppressed, np.inf, lattice.values)
    return lb, ub


def interval(lattice: Lattice, suppressed: np.ndarray, cell: int) -> tuple[float, float]:
    """The feasible interval of ``cell`` when the cells in ``suppressed`` are hidden.

    Published cells are taken as exact, which is conservative when they are
    published rounded.
    """
    lb, ub = _known_bounds(lattice, suppressed)
    low = extreme(lattice.equations, lb, ub, cell, maximise=False)
    high = extreme(lattice.equations, lb, ub, cell, maximise=True)
    return low, high


def _met(lattice: Lattice, suppressed: np.ndarray, cell: int, sense: int, target: float) -> bool:
    lb, ub = _known_bounds(lattice, suppressed)
    value = extreme(lattice.equations, lb, ub, cell, maximise=sense > 0)
    if sense > 0:
        return value >= target - lattice.tolerance
    return value <= target + lattice.tolerance


def _requirements(upper: np.ndarray, lower: np.ndarray) -> list[tuple[int, int, float]]:
    """(cell, sense, target) for every protection requirement, in a fixed order."""
    needs = []
    for cell in range(len(upper)):
        if np.isfinite(upper[cell]):
            needs.append((cell, +1, float(upper[cell])))
        if np.isfinite(lower[cell]):
            needs.append((cell, -1, float(lower[cell])))
    return needs


def unmet(
    lattice: Lattice, suppressed: np.ndarray, upper: np.ndarray, lower: np.ndarray
) -> list[tuple[int, int, float]]:
    """The protection requirements a suppression pattern fails.

    Parameters
    ----------
    upper, lower
        Per cell, the value the attacker's maximum must reach (``upper``)
        and the value the minimum must go down to (``lower``); ``nan`` where
        a cell has no such requirement.
    """
    return [
        (cell, sense, target)
        for cell, sense, target in _requirements(upper, lower)
        if not _met(lattice, suppressed, cell, sense, target)
    ]


def _complement(
    lattice: Lattice, suppressed: np.ndarray, cell: int, sense: int, amount: float
) -> np.ndarray:
    """Published cells to hide so that ``cell`` can move by ``amount`` in direction ``sense``.

    Solves the minimum-cost direction of change ``d = d_plus - d_minus``:
    ``equations @ d == 0``, ``d[cell] == sense * amount``, no cell pushed
    below its lower bound, fixed cells unmoved; moving a published cell costs
    its suppression cost, moving a hidden one almost nothing.
    """
    m = len(lattice.values)
    a = lattice.equations
    a_eq = np.hstack([a, -a])
    unit = np.where(suppressed, 1e-4, lattice.cost)
    objective = np.concatenate([unit, unit])
    room = lattice.values - lattice.lower
    plus = [(0.0, None)] * m
    minus = [(0.0, None if not np.isfinite(r) else float(max(r, 0.0))) for r in room]
    for j in np.flatnonzero(lattice.fixed):
        plus[j] = (0.0, 0.0)
        minus[j] = (0.0, 0.0)
    if sense > 0:
        plus[cell], minus[cell] = (amount, amount), (0.0, 0.0)
    else:
        plus[cell], minus[cell] = (0.0, 0.0), (amount, amount)
    # Dual simplex returns a vertex: a single path of change, not a blend of many.
    result = linprog(
        objective, A_eq=a_eq, b_eq=np.zeros(a.shape[0]), bounds=plus + minus, method="highs-ds"
    )
    if result.status != 0:
        raise DisclosureError(
            f"cell {cell} cannot be protected: no pattern of hidden cells lets it move "
            f"{'up' if sense > 0 else 'down'} by {amount:g} ({result.message})"
        )
    flow = result.x[:m] + result.x[m:]
    return np.flatnonzero(~suppressed & (flow > 1e-7 * max(1.0, amount)))


def suppress(
    lattice: Lattice,
    primary: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    *,
    secondary: bool = True,
) -> np.ndarray:
    """Choose complementary cells until every sensitive cell is protected.

    Parameters
    ----------
    lattice
        The table.
    primary
        Cells hidden by the primary rules.
    upper, lower
        Protection requirements per cell (see :func:`unmet`); ``nan`` for none.
    secondary
        ``False`` returns the primary pattern unchanged: only for showing
        why secondary suppression is needed.

    Returns
    -------
    numpy.ndarray
        The boolean pattern of hidden cells (primary and complementary).

    Raises
    ------
    DisclosureError
        If some requirement cannot be met whatever is hidden.
    """
    suppressed = primary.copy()
    if not secondary:
        return suppressed
    needs = _requirements(upper, lower)
    # Smallest sensitive cells first: they need the most room.
    needs.sort(key=lambda need: (lattice.values[need[0]], need[0], -need[1]))
    for cell, sense, target in needs:
        for _ in range(len(lattice.values)):
            if _met(lattice, suppressed, cell, sense, target):
                break
            amount = abs(target - lattice.values[cell])
            new = _complement(lattice, suppressed, cell, sense, amount)
            if new.size == 0:  # pragma: no cover - the LP and the audit disagree
                raise DisclosureError(f"cell {cell}: the suppression heuristic made no progress")
            suppressed[new] = True
    _prune(lattice, primary, suppressed, needs)
    failures = unmet(lattice, suppressed, upper, lower)
    if failures:  # pragma: no cover - guaranteed by monotonicity, checked anyway
        raise DisclosureError(f"the suppression pattern fails its own audit at cells {failures}")
    return suppressed


def _prune(
    lattice: Lattice,
    primary: np.ndarray,
    suppressed: np.ndarray,
    needs: list[tuple[int, int, float]],
) -> None:
    """Publish again every complementary cell the pattern can do without (in place).

    The sequential heuristic may hide a cell for an early sensitive cell that
    a later choice made redundant. Dearest first, so totals and large cells
    are given back before small ones.
    """
    candidates = np.flatnonzero(suppressed & ~primary)
    order = sorted(candidates, key=lambda j: (-lattice.cost[j], -j))
    for j in order:
        suppressed[j] = False
        if not all(_met(lattice, suppressed, cell, sense, target) for cell, sense, target in needs):
            suppressed[j] = True

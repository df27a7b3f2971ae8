"""Checking a table as a reader sees it: the symbols, the visible counts, what can be deduced."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sendlink.disclosure.counts import DEFAULT_TOTAL, is_total_label
from sendlink.disclosure.lattice import DisclosureError, Grid, extreme
from sendlink.disclosure.table import (
    KINDS,
    NOT_APPLICABLE,
    SUPPRESSED,
    SYMBOL_OF,
    SYMBOLS,
    UNAVAILABLE,
    ProtectedTable,
    Status,
    round_to_base,
)
from sendlink.params.disclosure import DisclosureParams


def _parse(cell: object) -> tuple[str, float | None]:
    """``("c"|"x"|"z", None)``, ``("number", value)`` or ``("bad", None)``."""
    if isinstance(cell, str):
        text = cell.strip()
        if text in SYMBOLS:
            return text, None
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            return "bad", None
        return ("number", number) if math.isfinite(number) else ("bad", None)
    if isinstance(cell, bool | np.bool_):
        return "bad", None
    if isinstance(cell, int | float | np.integer | np.floating) and math.isfinite(float(cell)):
        return "number", float(cell)
    return "bad", None


def _unpack(table: ProtectedTable | pd.DataFrame, params, kind, total_label, count_columns):
    if isinstance(table, ProtectedTable):
        return (
            table.display,
            params if params is not None else table.params,
            table.kind,
            table.total_label or total_label,
            tuple(table.count_columns),
        )
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a ProtectedTable or a DataFrame, got {type(table).__name__}")
    kind = kind or "counts"
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if count_columns is None:
        count_columns = (
            tuple(table.columns) if kind == "counts" else ("n",) if "n" in table.columns else ()
        )
    if params is None:
        raise TypeError("a plain DataFrame carries no disclosure rules: pass the DisclosureParams it was protected with")
    return table, params, kind, total_label, tuple(count_columns)


def _smallest_visible(params: DisclosureParams) -> int:
    """The smallest non-zero count a protected table may show (after rounding)."""
    return round_to_base(params.threshold, params.rounding) if params.rounding else params.threshold


def _count_bounds(kind: str, number: float | None, params: DisclosureParams) -> tuple[float, float]:
    """What a reader knows of a count from how it is shown, assuming the rules were followed."""
    if kind in (SUPPRESSED, UNAVAILABLE):
        return 0.0, math.inf
    if kind == NOT_APPLICABLE or number == 0:
        return 0.0, 0.0
    base = params.rounding
    if not base:
        return number, number
    low, high = max(number - base // 2, 0.0), number + (base - 1) - base // 2
    # Published non-zero counts are at least the threshold (smaller ones are
    # hidden): a reader who knows the rules uses that.
    if low < params.threshold <= high:
        low = float(params.threshold)
    return low, high


def attacker_intervals(
    table: ProtectedTable | pd.DataFrame,
    params: DisclosureParams | None = None,
    *,
    total_label: str = DEFAULT_TOTAL,
) -> pd.DataFrame:
    """What a reader can deduce about each suppressed cell of a count table.

    Uses only what is published: the shown counts (as the intervals their
    rounding allows), ``z`` cells as zero, the fact that hidden counts are
    non-negative and that shown non-zero counts are at least the threshold,
    and the additivity of the rows and columns into the row/column labelled
    ``total_label``. For each ``c`` cell, linear programming gives the
    smallest and largest value consistent with all that.

    Returns
    -------
    pandas.DataFrame
        One row per ``c`` cell: ``row``, ``column``, ``lower``, ``upper``.
    """
    display, params, kind, total_label, _ = _unpack(table, params, "counts", total_label, None)
    if kind != "counts":
        raise ValueError(f"attacker_intervals works on count tables, not {kind}")
    row_total = [i for i, label in enumerate(display.index) if is_total_label(label, total_label)]
    col_total = [j for j, label in enumerate(display.columns) if is_total_label(label, total_label)]
    if len(row_total) > 1 or len(col_total) > 1:
        raise ValueError(f"more than one row or column is labelled {total_label!r}")
    row_order = [i for i in range(display.shape[0]) if i not in row_total] + row_total
    col_order = [j for j in range(display.shape[1]) if j not in col_total] + col_total
    grid = Grid(
        rows=display.shape[0] - len(row_total),
        cols=display.shape[1] - len(col_total),
        total_row=bool(row_total),
        total_col=bool(col_total),
    )
    lb = np.zeros(grid.size)
    ub = np.zeros(grid.size)
    hidden = []
    for gi, i in enumerate(row_order):
        for gj, j in enumerate(col_order):
            kind_of, number = _parse(display.iat[i, j])
            if kind_of == "bad":
                raise DisclosureError(
                    f"cell ({display.index[i]!r}, {display.columns[j]!r}) shows {display.iat[i, j]!r}"
                )
            cell = grid.flat(gi, gj)
            lb[cell], ub[cell] = _count_bounds(kind_of, number, params)
            if kind_of == SUPPRESSED:
                hidden.append((cell, i, j))
    equations = grid.equations()
    if not hidden and equations.size:
        # Nothing to bound, but the published cells must still fit the totals.
        extreme(equations, lb, ub, 0, maximise=True)
    rows = []
    for cell, i, j in hidden:
        low = extreme(equations, lb, ub, cell, maximise=False)
        high = extreme(equations, lb, ub, cell, maximise=True)
        rows.append(
            {"row": display.index[i], "column": display.columns[j], "lower": low, "upper": high}
        )
    return pd.DataFrame(rows, columns=["row", "column", "lower", "upper"])


def check_published(
    table: ProtectedTable | pd.DataFrame,
    params: DisclosureParams | None = None,
    *,
    kind: str | None = None,
    total_label: str = DEFAULT_TOTAL,
    count_columns: tuple | list | None = None,
) -> None:
    """Raise :class:`DisclosureError` unless a table is safe to publish.

    Checks what can be checked from the table as shown (so it also works on
    a table a notebook displays, read back as a ``DataFrame`` of strings):

    * every cell is a number or one of DfE's symbols ``c``, ``x``, ``z``;
    * no count is negative, fractional, below the threshold (after
      rounding), or zero when zeros are suppressed, and counts are
      multiples of the rounding base;
    * in a count table with totals, no suppressed cell can be narrowed down
      to below the threshold (:func:`attacker_intervals`);
    * in a percentage table, no percentage is shown for a group with fewer
      than ``min_contributors`` people;
    * for a :class:`ProtectedTable`, the symbols agree with its status mask.

    Parameters
    ----------
    table
        A :class:`ProtectedTable`, or a display ``DataFrame``.
    params
        The rules to check against (default: the table's own, or the
        defaults for a ``DataFrame``). Pass the project's parameters to
        check a table against ``params.yaml``.
    kind
        For a ``DataFrame``: ``counts`` (default), ``percentages`` or
        ``magnitudes``. A magnitude table can only be checked for its
        symbols and numbers; who contributed is not visible in it.
    count_columns
        For a ``DataFrame``: the columns holding counts (default: all of
        them for counts, ``n`` for percentages).
    """
    display, params, kind, total_label, count_columns = _unpack(
        table, params, kind, total_label, count_columns
    )
    problems: list[str] = []
    smallest = _smallest_visible(params)
    parsed = {}
    for i, row_label in enumerate(display.index):
        for j, col_label in enumerate(display.columns):
            cell = display.iat[i, j]
            kind_of, number = parsed[i, j] = _parse(cell)
            where = f"({row_label!r}, {col_label!r})"
            if kind_of == "bad":
                problems.append(
                    f"{where} shows {cell!r}, neither a number nor one of {', '.join(SYMBOLS)}"
                )
                continue
            if kind_of != "number" or col_label not in count_columns:
                continue
            if number < 0 or number != round(number):
                problems.append(f"{where} shows {cell!r}, not a count")
            elif number == 0 and params.suppress_zeros:
                problems.append(f"{where} shows a zero count, and zeros are suppressed")
            elif 0 < number < smallest:
                problems.append(
                    f"{where} shows {cell!r}, a count below the threshold {params.threshold}"
                )
            elif params.rounding and number % params.rounding:
                problems.append(
                    f"{where} shows {cell!r}, not rounded to the nearest {params.rounding}"
                )
    if kind == "percentages" and count_columns:
        n_col = list(display.columns).index(count_columns[0])
        minimum = (
            round_to_base(params.min_contributors, params.rounding)
            if params.rounding
            else params.min_contributors
        )
        for i, row_label in enumerate(display.index):
            kind_of, n = parsed[i, n_col]
            if kind_of == "number" and n < minimum:
                for j, col_label in enumerate(display.columns):
                    if j != n_col and parsed[i, j][0] == "number":
                        problems.append(
                            f"({row_label!r}, {col_label!r}) is a percentage of {n:g} people, "
                            f"fewer than {params.min_contributors}"
                        )
    if isinstance(table, ProtectedTable):
        for i, row_label in enumerate(display.index):
            for j, col_label in enumerate(display.columns):
                expected = SYMBOL_OF.get(Status(table.status.iat[i, j]))
                shown = parsed[i, j][0]
                if (expected or "number") != shown:
                    problems.append(
                        f"({row_label!r}, {col_label!r}) shows {display.iat[i, j]!r} "
                        f"but its status is {table.status.iat[i, j]}"
                    )
    has_totals = any(is_total_label(x, total_label) for x in [*display.index, *display.columns])
    if kind == "counts" and has_totals and not any(p for p in problems if "neither a number" in p):
        try:
            intervals = attacker_intervals(display, params, total_label=total_label)
        except DisclosureError as exc:
            problems.append(str(exc))
        else:
            for row in intervals.itertuples(index=False):
                if row.upper < params.threshold - 1e-6:
                    problems.append(
                        f"({row.row!r}, {row.column!r}) is suppressed, but the other cells and the totals "
                        f"show it is between {row.lower:g} and {row.upper:g}, below {params.threshold}"
                    )
    if problems:
        raise DisclosureError("the table is not safe to publish:\n  " + "\n  ".join(problems))

"""Magnitude tables (sums, means, medians of a value) and percentage tables, from microdata."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sendlink.disclosure.counts import (
    DEFAULT_TOTAL,
    as_list,
    fixed_cells,
    full_counts,
    full_index,
    protect_count_grid,
    render_counts,
    tabulate,
)
from sendlink.disclosure.lattice import Grid, Lattice, suppress
from sendlink.disclosure.table import (
    SECONDARY_NOTE,
    SYMBOL_OF,
    ProtectedTable,
    Status,
    counts_rule,
    format_number,
    rounding_note,
    symbols_note,
)
from sendlink.params.disclosure import DisclosureParams

STATISTICS = ("mean", "sum", "median")

__all__ = ["dominated", "protect_magnitudes", "protect_percentages"]


def dominated(values: Sequence[float] | np.ndarray, n: int, k: float) -> bool:
    """The N-K dominance rule: do the ``n`` largest contributions exceed ``k``% of the total?

    Contributions are taken in absolute value (the rule is defined for
    non-negative magnitudes; a large negative contribution dominates just
    as much). A total of zero is not dominated.

    Examples
    --------
    >>> dominated([50, 40, 5, 5], n=2, k=85)
    True
    >>> dominated([50, 35, 15], n=2, k=85)
    False
    """
    contributions = np.sort(np.abs(np.asarray(values, dtype=float)))[::-1]
    total = math.fsum(contributions)
    if total == 0:
        return False
    largest = math.fsum(contributions[:n])
    # 100 * largest > k * total rather than largest / total > k / 100:
    # exact for whole-number data, so 85% exactly is not dominated.
    return 100.0 * largest > k * total


def _cell_positions(frame: pd.DataFrame, keys: Sequence[str], index: pd.Index) -> np.ndarray:
    """Position of each record's category (combination) in ``index``."""
    if len(keys) == 1:
        labels = pd.Index(frame[keys[0]].astype(object))
        target = pd.Index(list(index), dtype=object)
    else:
        labels = pd.MultiIndex.from_frame(frame[list(keys)].astype(object))
        target = pd.MultiIndex.from_tuples(list(index))
    return np.asarray(target.get_indexer(labels))


def _groups(
    microdata: pd.DataFrame, rows: list[str], across: str | None, value: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The table's categories and, per record, its row, column, value and whether it has one."""
    sizes = tabulate(microdata, rows, across)
    keys = [*rows, *([across] if across is not None else [])]
    frame = microdata[[*keys, value]]
    frame = frame[frame[keys].notna().all(axis=1)]
    row_of = _cell_positions(frame, rows, sizes.index)
    col_of = (
        _cell_positions(frame, [across], sizes.columns)
        if across is not None
        else np.zeros(len(frame), int)
    )
    raw = pd.to_numeric(frame[value], errors="coerce")
    if (frame[value].notna() & raw.isna()).any():
        raise TypeError(f"column {value!r} must be numeric")
    data = raw.to_numpy(dtype=float)
    return sizes, row_of, col_of, data, ~np.isnan(data)


def _cell_members(grid: Grid, row_of: np.ndarray, col_of: np.ndarray, cell: int) -> np.ndarray:
    r, c = divmod(cell, grid.shape[1])
    in_row = np.ones(len(row_of), bool) if (grid.total_row and r == grid.rows) else row_of == r
    in_col = np.ones(len(col_of), bool) if (grid.total_col and c == grid.cols) else col_of == c
    return in_row & in_col


def protect_magnitudes(
    microdata: pd.DataFrame,
    by: str | Sequence[str],
    value: str,
    params: DisclosureParams,
    *,
    across: str | None = None,
    statistic: str = "mean",
    margins: bool = True,
    label: str | None = None,
    total_label: str = DEFAULT_TOTAL,
    secondary: bool = True,
) -> ProtectedTable:
    """The mean, sum or median of ``value`` by group, protected.

    Parameters
    ----------
    microdata
        One row per person (each row is one contributor).
    by
        Column(s) giving the table's rows.
    value
        The numeric column summarised. Missing values do not contribute.
    across
        Optional column giving the table's columns (a two-way table).
    statistic
        ``mean``, ``sum`` or ``median``.
    margins
        Add totals: the statistic over every row (and every column).
    label
        Column header of a one-way table (default ``"<statistic> <value>"``).

    Notes
    -----
    A cell is suppressed (primary) when fewer than ``min_contributors``
    people have a value, or, for sums and means, when the N-K dominance
    rule fires. With margins, sums and means are protected as an additive
    table: a mean times its (publishable) count is a sum, and the sums add
    up to the totals, so complementary cells are hidden until every
    sensitive cell's sum can only be bounded to within
    ``magnitude_protection`` percent either side (of the larger of its sum
    and one typical contribution, so a sum of zero is protected too).
    Medians do not add up, so they need no complementary suppression.

    A group with no one in it shows ``z`` (``c`` if zeros are suppressed);
    a group whose people all lack a value shows ``x``.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    rows = as_list(by)
    sizes, row_of, col_of, data, has_value = _groups(microdata, rows, across, value)
    n_rows, n_cols = sizes.shape
    grid = Grid(
        n_rows,
        n_cols,
        total_row=margins and n_rows > 1,
        total_col=margins and across is not None and n_cols > 1,
    )
    m = grid.size

    people = np.zeros(m, dtype=np.int64)  # rows in the cell, with or without a value
    contributors = np.zeros(m, dtype=np.int64)
    sums = np.zeros(m)
    stats = np.full(m, np.nan)
    dominant = np.zeros(m, dtype=bool)
    for cell in range(m):
        members = _cell_members(grid, row_of, col_of, cell)
        people[cell] = int(members.sum())
        cell_values = data[members & has_value]
        contributors[cell] = len(cell_values)
        if len(cell_values) == 0:
            continue
        # fsum is exactly rounded, so the figure is the same on every machine
        # whatever the order of the rows.
        sums[cell] = math.fsum(cell_values)
        if statistic == "sum":
            stats[cell] = sums[cell]
        elif statistic == "mean":
            stats[cell] = sums[cell] / len(cell_values)
        else:
            stats[cell] = float(np.median(cell_values))
        dominant[cell] = statistic != "median" and dominated(
            cell_values, params.dominance_n, params.dominance_k
        )

    empty = contributors == 0
    primary = ~empty & ((contributors < params.min_contributors) | dominant)
    suppressed = primary.copy()
    if statistic != "median" and grid.equations().size:
        suppressed = suppress(
            *_sum_lattice(grid, sums, data[has_value], contributors, primary, params),
            secondary=secondary,
        )

    status = np.full(m, Status.OK.value, dtype=object)
    status[suppressed & ~primary] = Status.SECONDARY.value
    status[primary] = Status.PRIMARY.value
    status[empty & (people > 0)] = Status.UNAVAILABLE.value
    status[empty & (people == 0)] = (
        Status.PRIMARY if params.suppress_zeros else Status.NOT_APPLICABLE
    ).value

    text = np.empty(m, dtype=object)
    published = np.full(m, np.nan)
    for cell in range(m):
        symbol = SYMBOL_OF.get(Status(status[cell]))
        if symbol is not None:
            text[cell] = symbol
        else:
            text[cell] = format_number(stats[cell], params.decimals)
            published[cell] = float(text[cell].replace(",", ""))

    index = full_index(sizes.index, grid.total_row, total_label)
    if across is None:
        columns = pd.Index([label or f"{statistic} {value}"], dtype=object)
    else:
        columns = full_index(sizes.columns, grid.total_col, total_label)
    shape = grid.shape
    status_frame = pd.DataFrame(status.reshape(shape), index=index, columns=columns)
    has_margins = grid.total_row or grid.total_col
    return ProtectedTable(
        display=pd.DataFrame(text.reshape(shape), index=index, columns=columns),
        status=status_frame,
        values=pd.DataFrame(published.reshape(shape), index=index, columns=columns),
        footnote=_magnitude_footnote(params, statistic, value, has_margins, status_frame),
        kind="magnitudes",
        params=params,
        total_label=total_label if has_margins else None,
        count_columns=(),
    )


def _sum_lattice(
    grid: Grid,
    sums: np.ndarray,
    values: np.ndarray,
    contributors: np.ndarray,
    primary: np.ndarray,
    params: DisclosureParams,
) -> tuple[Lattice, np.ndarray, np.ndarray, np.ndarray]:
    """The additive table of sums behind a magnitude table, with its protection targets."""
    is_total = grid.is_total()
    # Totals are recomputed from the interior sums, so the equations hold to
    # the last bit of floating point and the LP sees a consistent table.
    sums = sums.copy()
    for cell in np.flatnonzero(is_total):
        sums[cell] = math.fsum(sums[grid.members(cell)])
    non_negative = len(values) == 0 or bool((values >= 0).all())
    lower_bound = np.zeros(grid.size) if non_negative else np.full(grid.size, -np.inf)
    cost = 1.0 + contributors.astype(float)
    cost = np.where(is_total, cost + cost[~is_total].sum() + 1.0, cost)
    lattice = Lattice(
        values=sums,
        equations=grid.equations(),
        lower=lower_bound,
        cost=cost,
        fixed=contributors == 0,
    )
    typical = float(np.mean(np.abs(values))) if len(values) else 1.0
    scale = np.maximum(np.abs(sums), typical if typical > 0 else 1.0)
    margin = params.magnitude_protection / 100.0 * scale
    upper = np.where(primary, sums + margin, np.nan)
    lower = np.where(primary, np.maximum(sums - margin, lower_bound), np.nan)
    # A lower target at the variable's own bound is met by every pattern.
    lower = np.where(primary & (lower <= lower_bound), np.nan, lower)
    return lattice, primary, upper, lower


def _magnitude_footnote(
    params: DisclosureParams, statistic: str, value: str, has_margins: bool, status: pd.DataFrame
) -> str:
    rule = f"c = suppressed to protect confidentiality: a {statistic} is shown only when at least {params.min_contributors} people contribute"
    if statistic != "median":
        rule += (
            f" and the largest {params.dominance_n} contributions make up no more than "
            f"{params.dominance_k:g}% of the total (dominance rule)"
        )
    if has_margins and statistic != "median":
        rule += f"; {SECONDARY_NOTE}"
    lines = [
        rule + ".",
        f"Figures are the {statistic} of {value}, to {params.decimals} decimal place{'s' if params.decimals != 1 else ''}.",
    ]
    lines.extend(symbols_note(status))
    return "\n".join(lines)


def protect_percentages(
    microdata: pd.DataFrame,
    by: str | Sequence[str],
    outcome: str,
    params: DisclosureParams,
    *,
    levels: Sequence[object] | None = None,
    margins: bool = True,
    count_label: str = "n",
    total_label: str = DEFAULT_TOTAL,
    secondary: bool = True,
) -> ProtectedTable:
    """Percentages of people in each ``outcome`` category, by group, protected.

    Parameters
    ----------
    microdata
        One row per person.
    by
        Column(s) giving the table's rows.
    outcome
        The categorical (or boolean) column whose distribution is shown.
    levels
        The outcome categories to show a percentage for (default: all).
    margins
        Show a totals row (percentages over everyone).
    count_label
        Header of the column of denominators.

    Notes
    -----
    A percentage reveals its count to anyone who knows the denominator, so
    the rules are applied to the table of counts behind it (groups x every
    outcome category, with margins), whether or not the counts are shown:
    counts below the threshold are suppressed, and so are complementary
    counts; a percentage is shown only when its count and its denominator
    are shown and at least ``min_contributors`` people are in the
    denominator. Groups with too few people have every non-zero count
    treated as sensitive, so that their percentages cannot be worked out
    from the totals. The denominators are shown as protected (rounded)
    counts; percentages are calculated from unrounded counts.
    """
    rows = as_list(by)
    counts = tabulate(microdata, rows, outcome)
    n_rows, n_levels = counts.shape
    # Totals on both sides, always: the denominators are published, and the
    # overall percentages give the column totals even if the row is dropped.
    grid = Grid(n_rows, n_levels, total_row=True, total_col=True)
    full = full_counts(counts.to_numpy(), grid)
    fixed = fixed_cells(grid, np.zeros(counts.shape, dtype=bool))
    denominators = full[:, n_levels]
    forced = np.zeros(grid.shape, dtype=bool)
    forced[:, :n_levels] = (denominators < params.min_contributors)[:, None]
    status, suppressed = protect_count_grid(
        full, grid, params, fixed, forced=forced.ravel(), secondary=secondary
    )
    status = status.reshape(grid.shape)
    suppressed = suppressed.reshape(grid.shape)

    all_levels = list(counts.columns)
    shown_levels = list(levels) if levels is not None else all_levels
    unknown = [level for level in shown_levels if level not in all_levels]
    if unknown:
        raise ValueError(
            f"{outcome!r} has no categor{'y' if len(unknown) == 1 else 'ies'} {unknown}"
        )

    n_text, n_published = render_counts(denominators, status[:, n_levels], params)
    n_all_rows = grid.shape[0]
    text = [[n_text[r]] for r in range(n_all_rows)]
    published = [[n_published[r]] for r in range(n_all_rows)]
    states = [[status[r, n_levels]] for r in range(n_all_rows)]
    for level in shown_levels:
        j = all_levels.index(level)
        for r in range(n_all_rows):
            state = _percentage_status(
                full[r, j], denominators[r], status[r, j], suppressed[r, n_levels], params
            )
            states[r].append(state)
            if state == Status.OK.value:
                pct = 100.0 * full[r, j] / denominators[r]
                text[r].append(format_number(pct, params.percent_decimals))
                published[r].append(float(text[r][-1].replace(",", "")))
            else:
                text[r].append(SYMBOL_OF[Status(state)])
                published[r].append(np.nan)

    index = full_index(counts.index, True, total_label)
    columns = pd.Index([count_label, *(f"% {level}" for level in shown_levels)], dtype=object)
    keep = slice(None) if margins else slice(0, n_rows)
    status_frame = pd.DataFrame(states, index=index, columns=columns).iloc[keep]
    return ProtectedTable(
        display=pd.DataFrame(text, index=index, columns=columns).iloc[keep],
        status=status_frame,
        values=pd.DataFrame(published, index=index, columns=columns).iloc[keep],
        footnote=_percentage_footnote(params, count_label, status_frame),
        kind="percentages",
        params=params,
        total_label=total_label if margins else None,
        count_columns=(count_label,),
    )


def _percentage_status(
    count: int,
    denominator: int,
    count_status: str,
    denominator_hidden: bool,
    params: DisclosureParams,
) -> str:
    """Why a percentage is shown or not, from the protected count table behind it."""
    if denominator == 0:
        return (Status.PRIMARY if params.suppress_zeros else Status.NOT_APPLICABLE).value
    if denominator < params.min_contributors or count_status == Status.PRIMARY.value:
        return Status.PRIMARY.value
    if count_status == Status.SECONDARY.value or denominator_hidden:
        return Status.SECONDARY.value
    return Status.OK.value


def _percentage_footnote(params: DisclosureParams, count_label: str, status: pd.DataFrame) -> str:
    lines = [
        f"c = suppressed to protect confidentiality: {counts_rule(params)}; a percentage is shown only "
        f"when at least {params.min_contributors} people are in its denominator and the count it rests "
        f"on is shown; {SECONDARY_NOTE}.",
        f"{count_label} is the number of people in the group; percentages are calculated from unrounded "
        f"counts, to {params.percent_decimals} decimal place{'s' if params.percent_decimals != 1 else ''}.",
    ]
    note = rounding_note(params, what=f"Values of {count_label}")
    if note:
        lines.append(note)
    lines.extend(symbols_note(status))
    return "\n".join(lines)

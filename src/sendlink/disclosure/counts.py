"""Frequency tables: threshold rule, secondary suppression, rounding."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sendlink.disclosure.lattice import Grid, Lattice, suppress
from sendlink.disclosure.table import (
    SECONDARY_NOTE,
    SYMBOL_OF,
    ProtectedTable,
    Status,
    counts_rule,
    format_count,
    round_to_base,
    rounding_note,
    symbols_note,
)
from sendlink.params.disclosure import DisclosureParams

log = logging.getLogger(__name__)

DEFAULT_TOTAL = "Total"


# --- labels -----------------------------------------------------------------


def is_total_label(label: object, total_label: str) -> bool:
    """Whether a row or column label names the totals (a tuple's first level, for MultiIndex)."""
    if isinstance(label, tuple):
        return len(label) > 0 and label[0] == total_label
    return label == total_label


def full_index(index: pd.Index, with_total: bool, total_label: str) -> pd.Index:
    """The interior labels, plus the totals label at the end when ``with_total``."""
    labels = list(index)
    if any(is_total_label(label, total_label) for label in labels):
        raise ValueError(
            f"a category is labelled {total_label!r}, the label of the totals; pass another total_label"
        )
    if with_total:
        labels.append(
            (total_label,) + ("",) * (index.nlevels - 1) if index.nlevels > 1 else total_label
        )
    if index.nlevels > 1:
        return pd.MultiIndex.from_tuples(labels, names=index.names)
    return pd.Index(labels, name=index.name, dtype=object)


# --- inputs -----------------------------------------------------------------


def _as_counts(frame: pd.DataFrame, what: str) -> np.ndarray:
    """The cells of ``frame`` as non-negative integers, or a clear error."""
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must hold numbers, got {frame.dtypes.unique().tolist()}") from exc
    problems = []
    if np.isnan(values).any():
        problems.append("missing values")
    finite = np.where(np.isnan(values), 0.0, values)
    if (finite < 0).any():
        problems.append("negative counts")
    if (finite != np.round(finite)).any():
        problems.append("non-integer counts")
    if problems:
        raise ValueError(
            f"{what} must be non-negative whole counts; found {' and '.join(problems)}"
        )
    return finite.astype(np.int64)


def interior_of(table: pd.DataFrame | pd.Series, total_label: str) -> pd.DataFrame:
    """The table without any totals it came with, after checking those totals add up.

    A ``Series`` is a one-way table. A row or column labelled ``total_label``
    is taken to be the margin; it must equal the sum of the other cells.
    """
    if isinstance(table, pd.Series):
        frame = table.to_frame(table.name if table.name is not None else "count")
    elif isinstance(table, pd.DataFrame):
        frame = table
    else:
        raise TypeError(
            f"expected a pandas DataFrame or Series of counts, got {type(table).__name__}"
        )
    total_rows = [label for label in frame.index if is_total_label(label, total_label)]
    total_cols = [label for label in frame.columns if is_total_label(label, total_label)]
    if len(total_rows) > 1 or len(total_cols) > 1:
        raise ValueError(f"more than one row or column is labelled {total_label!r}")
    interior = frame.drop(index=total_rows, columns=total_cols)
    if interior.shape[0] == 0 or interior.shape[1] == 0:
        raise ValueError("the table has no cells to protect")
    cells = _as_counts(interior, "the table")
    problems = []
    if total_cols:
        given = _as_counts(frame.loc[interior.index, total_cols], "the totals column").ravel()
        for label, want, got in zip(interior.index, cells.sum(axis=1), given, strict=True):
            if want != got:
                problems.append(f"row {label!r}: total {got}, cells add up to {want}")
    if total_rows:
        given = _as_counts(frame.loc[total_rows, interior.columns], "the totals row").ravel()
        for label, want, got in zip(interior.columns, cells.sum(axis=0), given, strict=True):
            if want != got:
                problems.append(f"column {label!r}: total {got}, cells add up to {want}")
    if total_rows and total_cols:
        corner = _as_counts(frame.loc[total_rows, total_cols], "the grand total").item()
        if corner != cells.sum():
            problems.append(f"grand total {corner}, cells add up to {cells.sum()}")
    if problems:
        raise ValueError("the given totals do not add up: " + "; ".join(problems))
    return pd.DataFrame(cells, index=interior.index, columns=interior.columns)


def _require_columns(microdata: pd.DataFrame, names: Sequence[str]) -> None:
    missing = [name for name in names if name not in microdata.columns]
    if missing:
        raise KeyError(f"microdata has no column(s) {', '.join(map(repr, missing))}")


def as_list(names: str | Sequence[str] | None) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    return list(names)


def tabulate(microdata: pd.DataFrame, rows: Sequence[str], cols: str | None) -> pd.DataFrame:
    """Counts of people by ``rows`` (and ``cols``), every category of a categorical kept.

    Rows with a missing value in a grouping column are left out (and the
    number left out is logged), as :func:`pandas.crosstab` does.
    """
    keys = [*rows, *([cols] if cols is not None else [])]
    if not rows:
        raise ValueError("give at least one column to group rows by")
    _require_columns(microdata, keys)
    frame = microdata[keys]
    complete = frame.notna().all(axis=1)
    if not complete.all():
        log.info(
            "left %d rows with a missing %s out of the table",
            int((~complete).sum()),
            "/".join(keys),
        )
        frame = frame[complete]
    sizes = frame.groupby(keys, observed=False, sort=True).size()
    table = sizes.unstack(cols, fill_value=0) if cols is not None else sizes.to_frame("count")
    if table.shape[0] == 0:
        raise ValueError("no rows to tabulate")
    return table.fillna(0).astype(np.int64)


# --- protection ---------------------------------------------------------------


def full_counts(interior: np.ndarray, grid: Grid) -> np.ndarray:
    """The interior counts with their margins, as a ``grid.shape`` array."""
    full = np.zeros(grid.shape, dtype=np.int64)
    r, c = grid.rows, grid.cols
    full[:r, :c] = interior
    if grid.total_col:
        full[:r, c] = interior.sum(axis=1)
    if grid.total_row:
        full[r, :c] = interior.sum(axis=0)
    if grid.total_row and grid.total_col:
        full[r, c] = interior.sum()
    return full


def fixed_cells(grid: Grid, fixed_interior: np.ndarray) -> np.ndarray:
    """Known cells in flat order: structural zeros, and totals made only of them."""
    fixed = np.zeros(grid.shape, dtype=bool)
    fixed[: grid.rows, : grid.cols] = fixed_interior
    flat = fixed.ravel()
    for cell in np.flatnonzero(grid.is_total()):
        flat[cell] = bool(flat[grid.members(cell)].all())
    return flat


def count_lattice(values: np.ndarray, grid: Grid, fixed: np.ndarray) -> Lattice:
    """The lattice of a count table.

    Suppression cost is 1 + the count (hide small cells rather than large
    ones, few rather than many); a total costs more than all interior cells
    together, so totals are hidden only when no interior pattern protects.
    """
    values = values.astype(float)
    is_total = grid.is_total()
    cost = 1.0 + values
    cost = np.where(is_total, cost + cost[~is_total].sum() + 1.0, cost)
    return Lattice(
        values=values,
        equations=grid.equations(),
        lower=np.zeros_like(values),
        cost=cost,
        fixed=fixed,
    )


def protect_count_grid(
    full: np.ndarray,
    grid: Grid,
    params: DisclosureParams,
    fixed: np.ndarray,
    *,
    forced: np.ndarray | None = None,
    secondary: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Primary and secondary suppression of a count table.

    Parameters
    ----------
    full
        Counts with margins, ``grid.shape``.
    fixed
        Known cells (flat), never hidden.
    forced
        Further cells (flat) to treat as sensitive whatever their count
        (percentage rows with too few contributors).

    Returns
    -------
    (status, suppressed)
        Flat arrays: the :class:`Status` of each cell and the hidden pattern.

    Notes
    -----
    Protection level: for every sensitive cell, the largest value an
    attacker can deduce must be at least the threshold (and above the true
    value). So a reader can never tell that a hidden count is small, nor
    pin it down; the range always includes publishable counts.
    """
    values = full.ravel()
    t = params.threshold
    primary = (values < t) & ((values > 0) | params.suppress_zeros) & ~fixed
    if forced is not None:
        primary |= forced & ~fixed & ((values > 0) | params.suppress_zeros)
    upper = np.where(primary, np.maximum(t, values + 1), np.nan).astype(float)
    lower = np.full(values.shape, np.nan)
    lattice = count_lattice(values, grid, fixed)
    suppressed = suppress(lattice, primary, upper, lower, secondary=secondary)
    shown = Status.ROUNDED if params.rounding else Status.OK
    status = np.full(values.shape, shown.value, dtype=object)
    status[suppressed & ~primary] = Status.SECONDARY.value
    status[primary] = Status.PRIMARY.value
    status[fixed] = Status.NOT_APPLICABLE.value
    return status, suppressed


def render_counts(
    values: np.ndarray, status: np.ndarray, params: DisclosureParams
) -> tuple[np.ndarray, np.ndarray]:
    """Display strings and published numbers of counts, given their status (flat arrays)."""
    text = np.empty(values.shape, dtype=object)
    published = np.full(values.shape, np.nan)
    for i, (value, state) in enumerate(zip(values, status, strict=True)):
        symbol = SYMBOL_OF.get(Status(state))
        if symbol is not None:
            text[i] = symbol
        else:
            rounded = round_to_base(int(value), params.rounding)
            text[i] = format_count(rounded)
            published[i] = rounded
    return text, published


def counts_footnote(params: DisclosureParams, has_margins: bool, status: pd.DataFrame) -> str:
    rule = f"c = suppressed to protect confidentiality: {counts_rule(params)}"
    lines = [rule + (f"; {SECONDARY_NOTE}." if has_margins else ".")]
    note = rounding_note(params)
    if note:
        lines.append(note)
    lines.extend(symbols_note(status))
    return "\n".join(lines)


def protect_counts(
    table: pd.DataFrame | pd.Series,
    params: DisclosureParams,
    *,
    margins: bool = True,
    total_label: str = DEFAULT_TOTAL,
    not_applicable: pd.DataFrame | np.ndarray | None = None,
    secondary: bool = True,
) -> ProtectedTable:
    """Protect a one- or two-way table of counts.

    Parameters
    ----------
    table
        Counts of people: a ``Series`` (one-way) or ``DataFrame`` (two-way).
        A row and/or column labelled ``total_label`` is read as the margins
        and checked to add up; it is recomputed either way.
    params
        The rules (``disclosure:`` of ``params.yaml``: :class:`~sendlink.params.disclosure.DisclosureParams`).
    margins
        Publish totals: a totals row when there is more than one row, a
        totals column when there is more than one column. Without margins
        the cells are independent, so no secondary suppression is needed;
        if the totals are published elsewhere, protect *with* margins.
    not_applicable
        Boolean mask of the interior cells that cannot occur (structural
        zeros, e.g. a primary need for pupils with no SEN): shown ``z``,
        known to every reader, never suppressed. They must be 0.
    secondary
        ``False`` skips secondary suppression. Unsafe; only to show, in
        teaching material, how primary suppression alone leaks.

    Returns
    -------
    ProtectedTable
        Counts below the threshold (and zeros, if configured) are ``c``;
        so are the complementary cells chosen so that no hidden count can be
        worked out from the others (see :func:`protect_count_grid` for the
        protection level); other counts are rounded to the base.

    Examples
    --------
    >>> import pandas as pd
    >>> rules = DisclosureParams(threshold=10, suppress_zeros=False, rounding_base=5, min_contributors=10,
    ...     dominance_n=2, dominance_k=85, magnitude_protection=10, decimals=1, percent_decimals=1)
    >>> counts = pd.DataFrame({"EHC plan": [20, 4], "SEN support": [30, 25]}, index=["F", "M"])
    >>> protect_counts(counts, rules).display  # doctest: +NORMALIZE_WHITESPACE
         EHC plan SEN support Total
    F           c           c    50
    M           c           c    30
    Total      25          55    80
    """
    interior = interior_of(table, total_label)
    return _protect_interior(
        interior,
        params,
        margins=margins,
        total_label=total_label,
        not_applicable=not_applicable,
        secondary=secondary,
    )


def _protect_interior(
    interior: pd.DataFrame,
    params: DisclosureParams,
    *,
    margins: bool,
    total_label: str,
    not_applicable: pd.DataFrame | np.ndarray | None = None,
    secondary: bool,
) -> ProtectedTable:
    """:func:`protect_counts` of a table of whole counts without margins."""
    n_rows, n_cols = interior.shape
    grid = Grid(n_rows, n_cols, total_row=margins and n_rows > 1, total_col=margins and n_cols > 1)
    fixed_interior = np.zeros(interior.shape, dtype=bool)
    if not_applicable is not None:
        fixed_interior = np.asarray(not_applicable, dtype=bool)
        if fixed_interior.shape != interior.shape:
            raise ValueError(
                f"not_applicable has shape {fixed_interior.shape}, the table {interior.shape}"
            )
        if (interior.to_numpy()[fixed_interior] != 0).any():
            raise ValueError("cells marked not applicable must be zero")
    full = full_counts(interior.to_numpy(), grid)
    fixed = fixed_cells(grid, fixed_interior)
    status, _ = protect_count_grid(full, grid, params, fixed, secondary=secondary)
    text, published = render_counts(full.ravel(), status, params)
    index = full_index(interior.index, grid.total_row, total_label)
    columns = full_index(interior.columns, grid.total_col, total_label)
    shape = grid.shape
    status_frame = pd.DataFrame(status.reshape(shape), index=index, columns=columns)
    has_margins = grid.total_row or grid.total_col
    return ProtectedTable(
        display=pd.DataFrame(text.reshape(shape), index=index, columns=columns),
        status=status_frame,
        values=pd.DataFrame(published.reshape(shape), index=index, columns=columns),
        footnote=counts_footnote(params, has_margins, status_frame),
        kind="counts",
        params=params,
        total_label=total_label if has_margins else None,
        count_columns=tuple(columns),
    )


def crosstab(
    microdata: pd.DataFrame,
    rows: str | Sequence[str],
    cols: str | None,
    params: DisclosureParams,
    *,
    margins: bool = True,
    total_label: str = DEFAULT_TOTAL,
    secondary: bool = True,
) -> ProtectedTable:
    """Count people by ``rows`` (and ``cols``) and protect the table.

    Parameters
    ----------
    microdata
        One row per person.
    rows
        Column(s) whose categories make the table's rows (several give a
        ``MultiIndex``).
    cols
        Column whose categories make the table's columns, or ``None`` for a
        one-way table.

    Notes
    -----
    Every category of a categorical column appears, even with no one in it
    (a zero count is information too). Rows with a missing grouping value
    are left out. See :func:`protect_counts` for the rules.
    """
    table = tabulate(microdata, as_list(rows), cols)
    # Straight to the protection: a category that happens to be called
    # "Total" is an error here, not a margin to check.
    return _protect_interior(
        table, params, margins=margins, total_label=total_label, secondary=secondary
    )

"""Building blocks for the column contracts, and validation with clear errors.

Every column carries, in its pandera metadata, the facts the data dictionary
prints: what it means, its codes, how missing values are written, how it is
derived and whether its calibration is *published* (with the source) or an
*assumption*. :func:`validate` turns pandera's failure cases into an
:class:`~sendlink.errors.InputError` that names the file, the column and
example rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sendlink.errors import InputError

#: How a column's values (or their calibration) are grounded.
SOURCES = ("identifier", "published", "assumed", "derived", "design")

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def column(
    dtype: object,
    description: str,
    *,
    source: str = "derived",
    codes: Mapping[str, str] | None = None,
    checks: Sequence[pa.Check] = (),
    nullable: bool = False,
    missing: str | None = None,
    derivation: str | None = None,
    reference: str | None = None,
    unique: bool = False,
    required: bool = True,
) -> pa.Column:
    """A pandera column with the metadata the data dictionary needs.

    Parameters
    ----------
    dtype
        pandera/pandas dtype (``str``, ``"Int64"``, ``float``, ``bool``...).
    description
        What the column means, in one sentence.
    source
        One of :data:`SOURCES`: ``identifier`` (a personal identifier),
        ``published`` (calibrated to a published figure; give ``reference``),
        ``assumed`` (a plausible parameter, not a confirmed fact),
        ``derived`` (computed from other columns) or ``design`` (set by the
        study design).
    codes
        Allowed values with their meanings; adds an ``isin`` check.
    missing
        How a missing value is written and what it means; implies nullable.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    all_checks = list(checks)
    if codes is not None:
        all_checks.append(pa.Check.isin(list(codes)))
    return pa.Column(
        dtype,
        checks=all_checks,
        nullable=nullable or missing is not None,
        unique=unique,
        required=required,
        description=description,
        metadata={
            "source": source,
            "codes": dict(codes) if codes else None,
            "missing": missing,
            "derivation": derivation,
            "reference": reference,
        },
    )


def table(
    name: str,
    columns: Mapping[str, pa.Column],
    *,
    description: str,
    holder: str,
    path: str,
    key: Sequence[str] = (),
    strict: bool = True,
) -> pa.DataFrameSchema:
    """A table contract: its columns, who holds it, where it lives, its key.

    Parameters
    ----------
    holder
        The party of docs/DESIGN.md section 2 that holds the table: ``dfe``,
        ``survey_organisation``, ``researchers`` or ``truth``.
    path
        Where the table lives, relative to the project root, e.g.
        ``data/synthetic/npd/spine.parquet``.
    key
        Columns that together identify a row; checked to be unique.
    """
    return pa.DataFrameSchema(
        dict(columns),
        name=name,
        description=description,
        strict=strict,
        unique=list(key) or None,
        metadata={"holder": holder, "path": path, "key": list(key)},
    )


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, path: str | Path) -> pd.DataFrame:
    """Check ``frame`` against ``schema``; raise one clear error if it fails.

    The error names the file, the first failing column and check, and up to
    five example rows with their values. All failures are collected first
    (pandera's lazy mode) and summarised, so one run shows every problem
    column.

    Raises
    ------
    InputError
    """
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        problems: list[str] = []
        first: tuple[str | None, list[int], list[object]] | None = None
        for (col, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
            rows = [int(i) for i in group["index"].dropna().tolist()]
            values = group["failure_case"].tolist()
            col_name = None if pd.isna(col) else str(col)
            if check == "column_in_schema":
                problems.append(f"unexpected column(s): {', '.join(map(str, values))}")
            elif check == "column_in_dataframe":
                problems.append(f"missing column(s): {', '.join(map(str, values))}")
            elif check == "multiple_fields_uniqueness":
                problems.append(f"duplicate key {schema.metadata.get('key')} in {len(rows)} rows")
            else:
                problems.append(f"column '{col_name}' fails {check} in {len(group)} row(s)")
            if first is None:
                first = (col_name if check not in ("column_in_schema", "column_in_dataframe") else None, rows, values)
        col_name, rows, values = first if first else (None, [], [])
        raise InputError(
            path,
            f"does not match the '{schema.name}' contract: " + "; ".join(problems),
            column=col_name,
            rows=rows,
            values=values if rows else None,
        ) from None

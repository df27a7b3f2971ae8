"""The protected table: what is shown, why each cell looks as it does, and the footnote."""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from enum import StrEnum

import pandas as pd

from sendlink.params.disclosure import DisclosureParams

#: DfE's symbols (Explore Education Statistics conventions).
SUPPRESSED = "c"
UNAVAILABLE = "x"
NOT_APPLICABLE = "z"
SYMBOLS = (SUPPRESSED, UNAVAILABLE, NOT_APPLICABLE)


class Status(StrEnum):
    """Why a cell is shown the way it is (the machine-readable mask).

    ``ROUNDED`` marks every count published rounded, whether or not rounding
    changed it: marking only the changed ones would tell the reader which
    true counts are multiples of the base.
    """

    OK = "ok"
    ROUNDED = "rounded"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    UNAVAILABLE = "unavailable"
    NOT_APPLICABLE = "not_applicable"


SYMBOL_OF = {
    Status.PRIMARY: SUPPRESSED,
    Status.SECONDARY: SUPPRESSED,
    Status.UNAVAILABLE: UNAVAILABLE,
    Status.NOT_APPLICABLE: NOT_APPLICABLE,
}

KINDS = ("counts", "magnitudes", "percentages")


def round_to_base(value: int, base: int) -> int:
    """Round a non-negative count to the nearest multiple of ``base`` (halves up).

    ``base`` of 0 or 1 leaves the count alone. Integer arithmetic, so there
    is no floating-point tie-breaking to differ between machines.
    """
    if base <= 1:
        return int(value)
    return (int(value) + base // 2) // base * base


def format_count(value: int) -> str:
    """A count as DfE prints it: an integer with thousands separators."""
    return f"{int(value):,d}"


def format_number(value: float, decimals: int) -> str:
    """A statistic to fixed decimals, with thousands separators and no ``-0.0``."""
    text = f"{value:,.{decimals}f}"
    if text.startswith("-") and float(text[1:].replace(",", "")) == 0:
        text = text[1:]
    return text


@dataclass(frozen=True, repr=False)
class ProtectedTable:
    """A table ready to publish, with the reasons behind every cell.

    Attributes
    ----------
    display
        What to show: strings only, numbers already rounded and formatted,
        ``c`` (suppressed), ``x`` (not available), ``z`` (not applicable).
    status
        Same shape: one :class:`Status` value (as a string) per cell.
    values
        Same shape: the published numbers (after rounding), ``NaN`` where a
        symbol is shown. The true values of hidden cells are not kept.
    footnote
        Plain text, one line per rule or symbol, to print under the table.
    kind
        ``counts``, ``magnitudes`` or ``percentages``.
    params
        The rules the table was protected with.
    total_label
        Label of the totals row/column, or ``None`` when there are none.
    count_columns
        Labels of the columns whose numbers are counts (all of them for a
        count table, ``n`` for a percentage table, none for magnitudes).
    """

    display: pd.DataFrame
    status: pd.DataFrame
    values: pd.DataFrame
    footnote: str
    kind: str
    params: DisclosureParams
    total_label: str | None
    count_columns: tuple = ()

    @property
    def suppressed(self) -> pd.DataFrame:
        """Boolean mask of the cells shown as ``c``."""
        return self.status.isin([Status.PRIMARY.value, Status.SECONDARY.value])

    def to_frame(self) -> pd.DataFrame:
        """The display table (a copy), for notebooks and reports."""
        return self.display.copy()

    def rename(self, index=None, columns=None) -> ProtectedTable:
        """Relabel rows or columns (as :meth:`pandas.DataFrame.rename`), everywhere at once."""

        def relabel(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.rename(index=index, columns=columns)

        count_columns = self.count_columns
        if columns is not None:
            mapper = columns if callable(columns) else (lambda c: columns.get(c, c))
            count_columns = tuple(mapper(c) for c in count_columns)
        return replace(
            self,
            display=relabel(self.display),
            status=relabel(self.status),
            values=relabel(self.values),
            count_columns=count_columns,
        )

    def to_markdown(self) -> str:
        """A GitHub-flavoured markdown table followed by the footnote."""
        frame = self.display
        index_names = [str(n) if n is not None else "" for n in frame.index.names]
        header = [*index_names, *(str(c) for c in frame.columns)]
        align = ["---"] * len(index_names) + ["---:"] * len(frame.columns)
        lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
        for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
            labels = label if isinstance(label, tuple) else (label,)
            cells = [*(str(x) for x in labels), *(str(x) for x in row)]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        notes = "\n".join(f"_{line}_  " for line in self.footnote.splitlines())
        return "\n".join(lines) + "\n\n" + notes + "\n"

    def to_html(self) -> str:
        """An HTML table followed by the footnote; the kind is kept as a ``data-`` attribute."""
        table = self.display.to_html(escape=True, border=0, classes="sendlink-table")
        notes = "<br>\n".join(html.escape(line) for line in self.footnote.splitlines())
        return (
            f'<div class="sendlink-protected" data-kind="{self.kind}">\n'
            f'{table}\n<p class="sendlink-footnote"><small>{notes}</small></p>\n</div>'
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.display.to_string() + "\n\n" + self.footnote

    # The plain-text form a notebook stores next to the HTML: the table as
    # published, not the dataclass fields.
    __repr__ = __str__


def symbols_note(status: pd.DataFrame) -> list[str]:
    """Footnote lines for ``x`` and ``z`` when the table shows them."""
    lines = []
    present = set(status.to_numpy().ravel())
    if Status.UNAVAILABLE.value in present:
        lines.append("x = not available.")
    if Status.NOT_APPLICABLE.value in present:
        lines.append("z = not applicable.")
    return lines


def counts_rule(params: DisclosureParams) -> str:
    zeros = " and zero counts" if params.suppress_zeros else ""
    return f"counts below {params.threshold}{zeros}"


SECONDARY_NOTE = (
    "further cells are suppressed where needed (secondary suppression) so that no suppressed "
    "figure can be worked out from the totals or the other cells"
)


def rounding_note(params: DisclosureParams, what: str = "Counts") -> str | None:
    if not params.rounding:
        return None
    return (
        f"{what} are rounded to the nearest {params.rounding}; totals are rounded independently, "
        "so they may not add up to the sum of the rounded figures."
    )

"""Shared set-up for the notebooks: stable display, figures, the run's parameters.

Every notebook starts with :func:`setup`, so tables and figures look the
same everywhere and outputs are identical on every machine (fixed float
formatting, a fixed figure style, no timestamps).

Tables are shown for reading (:func:`frame_html`): headers in words
(``held_by`` -> "Held by"), no 0-based row numbers, numbers with thousands
separators and right-aligned, ``True``/``False`` as yes/no. Only the HTML a
reader sees changes; the plain-text form stored beside it is pandas' own.
"""

from __future__ import annotations

import html
import json
import logging
import math
import numbers
import re
from dataclasses import dataclass
from typing import Any

from sendlink import config
from sendlink.params import Params, load_params
from sendlink.schema import catalogue


@dataclass(frozen=True)
class Context:
    """What a notebook needs: the project's folders and parameters."""

    paths: config.Paths
    params: Params

    @property
    def data_fingerprint(self) -> str:
        """The first 12 hex digits of the parameters the data were made from.

        From ``data/synthetic/manifest.json``: it changes only when the
        seed or the ``synth`` parameters change, which is when the outputs
        of every notebook may change too.
        """
        manifest = catalogue.MANIFEST.at(self.paths)
        if not manifest.is_file():
            return "no data yet: run `make data`"
        return json.loads(manifest.read_text(encoding="utf-8"))["params_sha256"][:12]


def setup(level: int = logging.WARNING) -> Context:
    """Configure pandas and matplotlib for stable output; report the parameters used.

    Prints one line naming the seed and the fingerprint of the parameters
    the data were generated from, so every notebook says what it ran on.
    """
    import matplotlib as mpl
    import pandas as pd

    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    pd.set_option("display.float_format", lambda v: f"{v:,.3f}".rstrip("0").rstrip(".") if v == v else "")
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 80)
    mpl.rcParams.update(
        {
            "figure.figsize": (7.5, 4.2),
            "figure.dpi": 96,
            "savefig.dpi": 96,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "font.size": 10,
            "svg.hashsalt": "sendlink",
        }
    )
    _register_table_display()
    paths = config.Paths.discover()
    params = load_params(paths.params)
    ctx = Context(paths, params)
    print(f"Data: seed {params.seed}, synthetic parameters {ctx.data_fingerprint} (sha256 prefix)")
    return ctx


# --- tables for reading --------------------------------------------------------------

#: Column names whose integers are labels (years, codes), not quantities: no
#: thousands separator ("2021", not "2,021").
_LABEL_NUMBERS = re.compile(r"year|urn|\bid\b|_id\b|code|seed|number|rank|wave|decile|quintile", re.IGNORECASE)


#: Words of column names written in capitals when shown.
ACRONYMS = frozenset(
    "ci se sd npd upn fsm eal ehc sen idaci ks1 ks2 ks4 eyfsp la urn dob id pp w1 w2 asd slcn semh mld f1 ecm".split()
)


def header(label: Any) -> str:
    """A column or index name in words: ``held_by`` -> "Held by", ``ci_low`` -> "CI low".

    Underscores become spaces, known abbreviations capitals, and the first
    word a capital letter; a name that starts otherwise ("% consenting",
    "n", "p01") is shown as it is.
    """
    if label is None:
        return ""
    text = str(label)
    if "_" in text or text.isalpha() or text.lower() in ACRONYMS:
        text = " ".join(w.upper() if w.lower() in ACRONYMS else w for w in text.split("_") if w)
    first = text.split(" ")[0]
    if len(first) > 1 and first.isalpha() and first.islower():
        text = text[:1].upper() + text[1:]
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def cell(value: Any, *, label_numbers: bool = False, decimals: int | None = None) -> str:
    """One value as it is shown: thousands separators, yes/no, blank for missing.

    A float gets ``decimals`` places (a column's floats all get as many as
    the most precise of them needs, up to three), else as many as it needs.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if _is_number(value):
        if float(value).is_integer() and not isinstance(value, float):
            return str(int(value)) if label_numbers else f"{int(value):,}"
        number = float(value)
        if math.isnan(number):
            return ""
        if decimals is not None:
            return f"{number:,.{decimals}f}"
        return f"{number:,.3f}".rstrip("0").rstrip(".")
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover
        pass
    return str(value)


#: Text that is a number as published: "1,040", "-7.7", "12.5%", or a
#: disclosure symbol (c suppressed, x not available, z not applicable).
_NUMBER_TEXT = re.compile(r"^[\u2212+-]?(\d{1,3}(,\d{3})*|\d+)?(\.\d+)?([eE][+-]?\d+)?%?$|^[cxz]$")


def _numeric(column: Any) -> bool:
    """Does a column hold numbers (or numbers already written as text)?"""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return False
    if pd.api.types.is_numeric_dtype(column):
        return True
    texts = [str(v) for v in column.dropna() if str(v) != ""]
    return bool(texts) and all(_NUMBER_TEXT.match(t) for t in texts) and any(any(ch.isdigit() for ch in t) for t in texts)


def _decimals(column: Any) -> int | None:
    """The places every float of a column is shown with: as many as its most precise value needs (at most 3)."""
    import pandas as pd

    if not pd.api.types.is_float_dtype(column):
        return None
    places = [len(f"{v:.3f}".rstrip("0").split(".")[1]) for v in column.dropna() if math.isfinite(v)]
    return max(places) if places else None


def frame_html(frame: Any, *, numbers: bool | None = None) -> str:
    """A DataFrame as an HTML table for reading (see the module docstring).

    A default ``RangeIndex`` (0, 1, 2, ...) is not shown; a named index is,
    as the first columns. Columns of numbers are right-aligned (``numbers``:
    ``True`` says every column holds numbers, as in a protected table whose
    cells are text such as "1,040" or "c"). Frames with several header rows
    are left to pandas.
    """
    import pandas as pd

    if frame.columns.nlevels > 1:
        return frame.to_html(escape=True, border=0, classes="sendlink-table")
    index = frame.index
    show_index = not (isinstance(index, pd.RangeIndex) and index.name is None and index.start == 0 and index.step == 1)
    names = [header(n) for n in index.names] if show_index else []
    columns = list(frame.columns)
    if numbers is not None:
        numeric = [numbers] * len(columns)
    elif frame.columns.is_unique:
        numeric = [_numeric(frame[c]) for c in columns]
    else:
        numeric = [False] * len(columns)
    decimals = [_decimals(frame.iloc[:, i]) for i in range(len(columns))]
    right = ' style="text-align: right;"'
    # Columns with a name of their own (a crosstab's, an unstacked variable's)
    # are categories, shown as they are under that name; otherwise they are
    # variables, named in words.
    categories = frame.columns.name is not None
    label = cell if categories else header
    head = ""
    if categories and show_index:
        head += "<tr>" + "".join(f"<th>{html.escape(header(frame.columns.name)) if i == len(names) - 1 else ''}</th>" for i in range(len(names)))
        head += "".join(f"<th{right if num else ''}>{html.escape(label(c))}</th>" for c, num in zip(columns, numeric, strict=True)) + "</tr>"
        head += "<tr>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "".join("<th></th>" for _ in columns) + "</tr>"
    else:
        head += "<tr>" + "".join(f"<th>{html.escape(n)}</th>" for n in names)
        head += "".join(f"<th{right if num else ''}>{html.escape(label(c))}</th>" for c, num in zip(columns, numeric, strict=True)) + "</tr>"
    rows = []
    previous: tuple = ()
    for label, values in zip(index, frame.itertuples(index=False, name=None), strict=True):
        parts = []
        if show_index:
            labels = label if isinstance(label, tuple) else (label,)
            # Repeated outer labels of a MultiIndex are left blank, as pandas shows them.
            same = 0
            while same < len(labels) - 1 and same < len(previous) and previous[same] == labels[same]:
                same += 1
            parts += [f"<th>{'' if i < same else html.escape(cell(v))}</th>" for i, v in enumerate(labels)]
            previous = labels
        for c, value, num, places in zip(columns, values, numeric, decimals, strict=True):
            text = html.escape(cell(value, label_numbers=bool(_LABEL_NUMBERS.search(str(c))), decimals=places))
            parts.append(f"<td{right if num else ''}>{text}</td>")
        rows.append("<tr>" + "".join(parts) + "</tr>")
    return (
        '<table class="sendlink-table">\n<thead>' + head + "</thead>\n<tbody>\n"
        + "\n".join(rows) + "\n</tbody>\n</table>"
    )


def protected_html(table: Any) -> str:
    """A :class:`~sendlink.disclosure.ProtectedTable` with its headers in words (values unchanged)."""
    page = table.to_html()  # the protected table's own wrapper, kind and footnote
    if table.display.columns.nlevels > 1:
        return page
    mine = frame_html(table.display, numbers=True)
    return re.sub(r"<table\b.*?</table>", lambda _: mine, page, count=1, flags=re.DOTALL)


def _register_table_display() -> None:
    """Show DataFrames and protected tables with :func:`frame_html` in this IPython session."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - outside IPython nothing is displayed
        return
    shell = get_ipython()
    if shell is None:
        return
    import pandas as pd

    from sendlink.disclosure import ProtectedTable

    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(pd.DataFrame, frame_html)
    formatter.for_type(ProtectedTable, protected_html)

"""The data dictionary, generated from the schema (``sendlink dictionary``).

``data/README.md`` is written from the table contracts in
:mod:`sendlink.schema`, so it cannot drift from the code: ``sendlink
dictionary --check`` (and a test) fails when the committed file differs
from what the schema generates.
"""

from __future__ import annotations

import argparse
import difflib
import logging
from pathlib import Path

import pandera.pandas as pa

from sendlink import config
from sendlink.errors import SendlinkError
from sendlink.io import write_text
from sendlink.schema import catalogue, truth

log = logging.getLogger(__name__)

HOLDERS = {
    "dfe": "DfE (identifiable; never leaves DfE)",
    "survey_organisation": "the survey organisation (identifiable)",
    "researchers": "researchers (de-identified)",
    "truth": "nobody in the story: evaluation only",
}

SOURCES = {
    "published": "calibrated to a published figure (reference given)",
    "assumed": "a plausible assumption, not a confirmed fact",
    "derived": "computed from other columns",
    "design": "set by the study design",
    "identifier": "a personal identifier (synthetic)",
}

PREAMBLE = """# Data dictionary

Generated from `src/sendlink/schema` by `sendlink dictionary`; do not edit by
hand (a test fails when this file and the schema disagree).

Everything here is **synthetic**: no real person is described. Names come
from frequency-weighted lists, postcodes all start with `Q` (no real postcode
area does), local authorities and schools are invented, emails use
`example.org` and phones Ofcom's range reserved for fiction.

Each column says where its values, or their calibration, come from:

{sources}

Conventions: academic years are written `2021/22` and labelled in code by the
year they end (2022); dates are ISO `YYYY-MM-DD`; a missing value is an empty
cell (CSV) or null (Parquet), never a sentinel; sessions are half days.

CSV files and spreadsheets: a text cell that a spreadsheet would run as a
formula (one starting with `=`, `+`, `-`, `@`, a tab or a carriage return;
OWASP's "CSV injection", e.g. `=HYPERLINK(...)` typed as a name) is written
with a leading `'`, which spreadsheets show as text and hide. Numeric
columns are never changed, nor is text that is a plain number (`-1.5`,
`+44`). A cell that already starts with `'` followed by one of those
characters gets a second `'`. sendlink removes the added quote when it reads
a CSV (`sendlink.io.read_table`), so its files read back exactly; other
software reading them raw sees the quote. Parquet files are not changed.
Files holding identifiers or consent are readable by their owner only.

Why the SEND Futures cohort has **no KS2 results**: it was in Year 6 in
2019/20, when the tests were cancelled (COVID-19); so it has no Progress 8 at
KS4 either. Its prior attainment is the EYFSP (2013/14), the phonics check
(2014/15) and KS1 (2015/16).
"""


def _all_tables() -> list[pa.DataFrameSchema]:
    """Every table of the catalogue, in data-flow order, the truth after the survey organisation's raw files."""
    tables = [f.contract for f in catalogue.TABLES]
    synthetic = sum(1 for f in catalogue.TABLES if f.path.startswith(catalogue.SYNTHETIC + "/"))
    return [*tables[:synthetic], *(f.contract for f in truth.FILES), *tables[synthetic:]]


def _dtype(col: pa.Column) -> str:
    text = str(col.dtype)
    return {"str": "text", "object": "text", "int64": "integer", "Int64": "integer", "float64": "number", "bool": "true/false", "boolean": "true/false"}.get(text, text)


def _escape(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The dictionary as Markdown."""
    lines = [PREAMBLE.format(sources="\n".join(f"- **{k}**: {v}" for k, v in SOURCES.items())).rstrip(), ""]
    current_folder = None
    for schema in _all_tables():
        folder = schema.metadata["path"].rsplit("/", 1)[0]
        if folder != current_folder:
            lines += [f"## `{folder}/`", ""]
            current_folder = folder
        meta = schema.metadata
        lines += [
            f"### `{Path(meta['path']).name}` ({schema.name})",
            "",
            schema.description or "",
            "",
            f"Held by {HOLDERS.get(meta['holder'], meta['holder'])}. "
            + (f"One row per {', '.join(f'`{k}`' for k in meta['key'])}." if meta.get("key") else ""),
            "",
            "| column | type | meaning | values | missing | source |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, col in schema.columns.items():
            m = col.metadata or {}
            codes = m.get("codes")
            values = "; ".join(f"`{k}` {v}" if k else f"(empty) {v}" for k, v in codes.items()) if codes else ""
            source = m.get("source", "")
            if m.get("reference"):
                source += f": {m['reference']}"
            if m.get("derivation"):
                source += f" ({m['derivation']})"
            missing = m.get("missing") or ("may be empty" if col.nullable else "never")
            lines.append(
                f"| `{name}` | {_dtype(col)} | {_escape(col.description or '')} | {_escape(values)} | {_escape(missing)} | {_escape(source)} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def dictionary_path(paths: config.Paths | None = None) -> Path:
    return catalogue.DATA_DICTIONARY.at(paths or config.Paths.discover())


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="fail if data/README.md differs from the schema (write nothing)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: data/README.md)")


def run(args: argparse.Namespace) -> int:
    target = args.out or dictionary_path()
    text = render()
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            diff = "".join(difflib.unified_diff(current.splitlines(True), text.splitlines(True), str(target), "schema", n=1))
            raise SendlinkError(f"{target} is out of step with the schema; run 'sendlink dictionary'\n{diff[:3000]}")
        log.info("%s matches the schema", target)
        return 0
    write_text(text, target, private=False)
    log.info("wrote %s", target)
    return 0

"""Every table a notebook publishes about people has passed disclosure control.

Tables made by :mod:`sendlink.disclosure` carry their kind in the HTML
(``<div class="sendlink-protected" data-kind=...>``); the test reads each
back from the stored outputs and runs :func:`sendlink.disclosure.check_published`
on it, as a reader would see it. Any other table in a notebook must say why
it is not about people (a comment ``# not about people: <reason>`` in its
cell: parameters, coefficients, file sizes, synthetic examples on a declared
teaching page), so nothing is published unchecked by accident.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from sendlink import disclosure
from sendlink.params import load_params

ROOT = Path(__file__).resolve().parents[2]
MARKER = "# not about people:"
#: Teaching pages may show an unprotected table to demonstrate an attack;
#: the cell says so, and the narrative next to it explains why it is unsafe.
UNSAFE = "# unsafe on purpose:"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _table_frame(table) -> pd.DataFrame:
    """A pandas ``to_html`` table back as a DataFrame of strings (index from <th>)."""
    body = table.find("tbody") or table
    rows, index = [], []
    for tr in body.find_all("tr", recursive=False):
        heads = [th.get_text(strip=True) for th in tr.find_all("th", recursive=False)]
        cells = [td.get_text(strip=True) for td in tr.find_all("td", recursive=False)]
        if not cells:
            continue
        index.append(" / ".join(h for h in heads if h) or str(len(index)))
        rows.append(cells)
    head = table.find("thead")
    columns = None
    if head is not None:
        last = head.find_all("tr")[-1] if head.find_all("td") == [] else head.find_all("tr")[0]
        labels = [th.get_text(strip=True) for th in head.find_all("tr")[0].find_all("th")]
        width = len(rows[0]) if rows else 0
        columns = labels[-width:] if width else []
        del last
    return pd.DataFrame(rows, index=index, columns=columns)


def _html_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html:
                yield number, cell.source, html


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_protected_tables_pass_disclosure_control(path):
    params = load_params(ROOT / "params.yaml").disclosure
    checked = 0
    for number, source, html in _html_outputs(path):
        if UNSAFE in source:
            continue
        soup = BeautifulSoup(html, "html.parser")
        for block in soup.select("div.sendlink-protected"):
            frame = _table_frame(block.find("table"))
            try:
                disclosure.check_published(frame, params, kind=block["data-kind"])
            except disclosure.DisclosureError as exc:
                pytest.fail(f"{path.name}, cell {number}: a published table fails disclosure control: {exc}")
            checked += 1
    assert checked >= 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_other_table_says_why_it_is_not_about_people(path):
    unmarked = []
    for number, source, html in _html_outputs(path):
        soup = BeautifulSoup(html, "html.parser")
        for protected in soup.select("div.sendlink-protected"):
            protected.decompose()
        if soup.find("table") is not None and MARKER not in source and UNSAFE not in source:
            unmarked.append(number)
    assert not unmarked, (
        f"{path.name}: cells {unmarked} show a table that did not go through sendlink.disclosure; "
        f"protect it, or say why it is not about people with a '{MARKER} ...' comment"
    )


def test_the_check_catches_an_unsafe_table():
    html = '<div class="sendlink-protected" data-kind="counts"><table><thead><tr><th></th><th>n</th></tr></thead><tbody><tr><th>a</th><td>3</td></tr><tr><th>b</th><td>40</td></tr></tbody></table></div>'
    frame = _table_frame(BeautifulSoup(html, "html.parser").find("table"))
    with pytest.raises(disclosure.DisclosureError):
        disclosure.check_published(frame, load_params(ROOT / "params.yaml").disclosure, kind="counts")

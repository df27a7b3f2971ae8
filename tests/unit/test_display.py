"""Tables are shown for reading: headers in words, no 0-based index, numbers formatted and aligned."""

from __future__ import annotations

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from sendlink import config, disclosure, display
from sendlink.params import load_params

ROOT_PARAMS = load_params(config.Paths.discover().params).disclosure


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("held_by", "Held by"),
        ("file", "File"),
        ("ci_low", "CI low"),
        ("npd_ethnicity", "NPD ethnicity"),
        ("consent_child_answers", "Consent child answers"),
        ("gap (pp)", "Gap (pp)"),
        ("n", "n"),
        ("p01", "p01"),
        ("% consenting", "% consenting"),
        ("EHC plan", "EHC plan"),
        (None, ""),
    ],
)
def test_header_in_words(name, shown):
    assert display.header(name) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2320668, "2,320,668"),
        (16, "16"),
        (1.23456, "1.235"),
        (2.5, "2.5"),
        (-0.25, "-0.25"),
        (True, "yes"),
        (False, "no"),
        (None, ""),
        (float("nan"), ""),
        (pd.NA, ""),
        ("npd/spine.parquet", "npd/spine.parquet"),
    ],
)
def test_cell_formats(value, shown):
    assert display.cell(value) == shown


def _parse(markup: str):
    soup = BeautifulSoup(markup, "html.parser")
    head = [[th.get_text() for th in tr.find_all("th")] for tr in soup.thead.find_all("tr")]
    body = [[c.get_text() for c in tr.find_all(["th", "td"])] for tr in soup.tbody.find_all("tr")]
    return soup, head, body


def test_frame_without_its_range_index_and_with_formatted_numbers():
    frame = pd.DataFrame({"file": ["npd/spine.parquet", "truth/links.parquet"], "rows": [252610, 3372],
                          "academic_year": [2021, 2022], "within": [True, False]})
    soup, head, body = _parse(display.frame_html(frame))
    assert head == [["File", "Rows", "Academic year", "Within"]]
    assert body == [["npd/spine.parquet", "252,610", "2021", "yes"], ["truth/links.parquet", "3,372", "2022", "no"]]
    # Numbers are right-aligned, text is not.
    cells = soup.tbody.tr.find_all("td")
    assert "right" in cells[1].get("style", "") and not cells[0].get("style")


def test_named_index_is_shown_and_repeated_outer_labels_blank():
    frame = pd.DataFrame(
        {"cases": [70, 25, 495]},
        index=pd.MultiIndex.from_tuples([("date_of_birth", "missing"), ("date_of_birth", "day_off"), ("forename", "formatting")],
                                        names=["field", "difference"]),
    )
    _, head, body = _parse(display.frame_html(frame))
    assert head == [["Field", "Difference", "Cases"]]
    assert body == [["date_of_birth", "missing", "70"], ["", "day_off", "25"], ["forename", "formatting", "495"]]


def test_category_columns_keep_their_labels_under_the_variables_name():
    frame = pd.DataFrame([[1, 2]], columns=pd.Index(["no_answer", "granted"], name="decision"),
                         index=pd.Index(["wave1"], name="contact"))
    _, head, body = _parse(display.frame_html(frame))
    assert head == [["Decision", "no_answer", "granted"], ["Contact", "", ""]]
    assert body == [["wave1", "1", "2"]]


def test_protected_table_keeps_its_wrapper_and_passes_the_published_check():
    rows = pd.DataFrame({"strand": ["web"] * 30 + ["face_to_face"] * 25, "wave_1": ["responded", "did not"] * 27 + ["did not"]})
    table = disclosure.crosstab(rows, "strand", "wave_1", ROOT_PARAMS)
    markup = display.protected_html(table)
    soup = BeautifulSoup(markup, "html.parser")
    block = soup.select_one("div.sendlink-protected")
    assert block is not None and block["data-kind"] == "counts"
    assert "suppressed" in block.get_text()  # the footnote is kept
    head = [th.get_text() for th in block.thead.find_all("tr")[0].find_all("th")]
    assert head[0] == "Wave 1" and "Total" in head
    assert [th.get_text() for th in block.thead.find_all("tr")[1].find_all("th")][0] == "Strand"
    assert all("right" in td.get("style", "") for td in block.tbody.find_all("td"))
    # The published-tables test reads it back the same way as before.
    from tests.unit.test_published_tables import _table_frame

    frame = _table_frame(block.find("table"))
    disclosure.check_published(frame, ROOT_PARAMS, kind="counts")


def test_setup_registers_the_formatters_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        display._register_table_display()
        formatter = shell.display_formatter.formatters["text/html"]
        assert "File" in formatter(pd.DataFrame({"file": ["a"]}))
        assert "<th>0</th>" not in formatter(pd.DataFrame({"file": ["a"]}))
    finally:
        InteractiveShell.clear_instance()


def test_numbers_written_as_text_are_right_aligned():
    frame = pd.DataFrame({"level": ["EHC plan", "yes"], "gap (pp)": ["-7.7", "c"], "n": ["1,040", "12.5%"]})
    soup, _, _ = _parse(display.frame_html(frame))
    cells = soup.tbody.tr.find_all("td")
    assert not cells[0].get("style") and "right" in cells[1]["style"] and "right" in cells[2]["style"]


def test_a_columns_floats_share_their_decimal_places():
    frame = pd.DataFrame({"recall": [0.886, 0.81, 1.0]})
    _, _, body = _parse(display.frame_html(frame))
    assert [row[0] for row in body] == ["0.886", "0.810", "1.000"]

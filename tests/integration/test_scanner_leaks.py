"""The identifier scanner catches planted leaks in every file type, and lets clean and declared pages through."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sendlink.scan.scanner import Identifiers, Scanner, banner, scan

CHILDREN = pd.DataFrame({
    "forename": ["Gavin", "Jack", "Dawid"], "middle_names": ["James", None, None], "surname": ["Edwards", "Smith", "Szymański"],
    "date_of_birth": ["2008-10-31", "2009-01-02", "2009-03-17"],
})
CONTACTS = pd.DataFrame({"parent_forename": ["Hazel"], "parent_surname": ["Edwards"]})
CODES = {
    "upn": ["A901001713019"], "survey_id": ["SF100559"], "postcode": ["QB10 4WZ"],
    "email": ["hazel.edwards18@example.org"], "phone": ["07700 900050"], "address": ["57 Church Avenue"],
}


@pytest.fixture(scope="module")
def scanner():
    return Scanner(Identifiers.from_frames(children=[CHILDREN], parents=[CONTACTS], codes=CODES))


def kinds(result):
    return {(h.path.name, h.kind, h.value) for h in result.hits}


CLEAN_TABLE = pd.DataFrame({
    "research_id": ["3f2a9c", "77b1e0"], "npd_ethnicity": ["White", "Black"], "npd_birth_year_month": ["2008/09 summer", "2008/09"],
    "frame_region": ["South West", "London"], "note": ["Jack is a first name alone", "dated 2008-10-31 alone"],
})


def test_clean_folder_passes(tmp_path, scanner):
    CLEAN_TABLE.to_csv(tmp_path / "table.csv", index=False)
    CLEAN_TABLE.to_parquet(tmp_path / "table.parquet")
    (tmp_path / "page.html").write_text("<p>Smith alone, Jack alone, born 2008-10-31. Summer May term.</p><table><tr><td>Jack</td><td>7</td></tr></table>")
    (tmp_path / "data.json").write_text(json.dumps({"rows": [{"name": "Jack", "n": 3}], "note": "Jackson Smithers"}))
    (tmp_path / "notes.md").write_text("# Notes\n\nJack and Smith are common words here; jack smith in lower case prose is not a name.\n")
    result = scan([tmp_path], scanner)
    assert result.clean, result.summary()
    assert len(result.scanned) == 5


@pytest.mark.parametrize(
    ("name", "write", "expected"),
    [
        ("leak.csv", lambda p: pd.DataFrame({"a": ["x", "SF100559"]}).to_csv(p, index=False), ("survey_id", "SF100559")),
        ("leak.parquet", lambda p: pd.DataFrame({"who": ["gavin edwards"]}).to_parquet(p), ("full name", "gavin edwards")),
        ("cells.parquet", lambda p: pd.DataFrame({"f": ["JACK"], "s": ["smith"], "n": [1]}).to_parquet(p), ("full name (two cells)", "JACK | smith")),
        ("dob.csv", lambda p: pd.DataFrame({"s": ["Edwards"], "d": ["2008-10-31"]}).to_csv(p, index=False), ("date of birth with name (two cells)", "Edwards | 2008-10-31")),
        ("page.html", lambda p: p.write_text("<html><body><p>Pupil: <b>Gavin</b> Edwards</p></body></html>"), ("full name", "Gavin Edwards")),
        ("table.html", lambda p: p.write_text("<table><tr><td>gavin</td><td>edwards</td></tr></table>"), ("full name (two cells)", "gavin | edwards")),
        ("data.json", lambda p: p.write_text(json.dumps({"contact": {"postcode": "qb104wz"}})), ("postcode", "QB10 4WZ")),
        ("records.json", lambda p: p.write_text(json.dumps([{"f": "jack", "s": "smith"}])), ("full name (two cells)", "jack | smith")),
        ("report.md", lambda p: p.write_text("Edwards, Gavin was born on 31 October 2008.\n"), ("full name", "Edwards, Gavin")),
        ("dob.md", lambda p: p.write_text("Born 31/10/2008, Gavin likes school.\n"), ("date of birth with name", "31/10/2008 + Gavin")),
        ("mail.txt", lambda p: p.write_text("write to Hazel.Edwards18@example.org or 07700900050"), ("email", "hazel.edwards18@example.org")),
        ("upn.txt", lambda p: p.write_text("upn=A901001713019;"), ("upn", "A901001713019")),
        ("address.md", lambda p: p.write_text("lives at 57 Church Avenue"), ("address", "57 Church Avenue")),
        ("accents.md", lambda p: p.write_text("SZYMANSKI, DAWID"), ("full name", "SZYMANSKI, DAWID")),
        ("parent.md", lambda p: p.write_text("Hazel Edwards replied."), ("full name", "Hazel Edwards")),
        ("middle.md", lambda p: p.write_text("Gavin James Edwards"), ("full name", "Gavin James Edwards")),
    ],
)
def test_planted_leak_is_caught_with_file_and_value(tmp_path, scanner, name, write, expected):
    path = tmp_path / name
    write(path)
    result = scan([tmp_path], scanner)
    assert not result.clean
    assert (name, *expected) in kinds(result), result.summary()
    assert str(path) in result.summary() and expected[1] in result.summary()


def notebook(cells, party=None):
    meta = {"kernelspec": {"name": "python3"}}
    if party:
        meta["sendlink"] = {"party": party}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def code_with_output(text):
    return {
        "cell_type": "code", "metadata": {}, "execution_count": 1, "source": "show()",
        "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                     "data": {"text/plain": text, "text/html": f"<table><tr><td>{text}</td></tr></table>", "image/png": "iVBORw0KGgo="}}],
    }


def test_leak_in_notebook_output_is_caught(tmp_path, scanner):
    nb = notebook([md("# 5. Research page"), code_with_output("Gavin Edwards")], party="researchers")
    (tmp_path / "05_page.ipynb").write_text(json.dumps(nb))
    result = scan([tmp_path], scanner, notebooks=tmp_path)
    assert ("05_page.ipynb", "full name", "Gavin Edwards") in kinds(result)
    assert any("cell 1 output" in h.where for h in result.hits)


def test_declared_teaching_page_passes_undeclared_fails(tmp_path, scanner):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    reports = tmp_path / "reports"
    reports.mkdir()
    declared = notebook([md("# 3. Linkage\n\n" + banner("dfe")), code_with_output("Gavin Edwards")], party="dfe")
    (nbs / "03_linkage.ipynb").write_text(json.dumps(declared))
    (reports / "03_linkage.html").write_text("<h1>3. Linkage</h1><blockquote><strong>DfE&#x27;s view.</strong> ...</blockquote><p>Gavin Edwards</p>")
    undeclared = notebook([md("# 4. Quality"), code_with_output("Gavin Edwards")])
    (nbs / "04_quality.ipynb").write_text(json.dumps(undeclared))
    no_banner = notebook([md("# 6. Claims to be DfE's"), code_with_output("QB10 4WZ")], party="survey_organisation")
    (nbs / "06_claim.ipynb").write_text(json.dumps(no_banner))
    (reports / "04_quality.html").write_text("<p>Gavin Edwards</p>")
    result = scan([reports, nbs], scanner, notebooks=nbs)
    assert {p.name for p, _ in result.allowed} == {"03_linkage.ipynb", "03_linkage.html"}
    found = kinds(result)
    assert ("04_quality.ipynb", "full name", "Gavin Edwards") in found
    assert ("04_quality.html", "full name", "Gavin Edwards") in found
    assert ("06_claim.ipynb", "declared party without its banner", "survey_organisation") in found
    assert ("06_claim.ipynb", "postcode", "QB10 4WZ") in found


def test_fonts_skipped_broken_image_and_unknown_binary_fail(tmp_path, scanner):
    (tmp_path / "font.woff2").write_bytes(b"wOF2\x00\x01")
    (tmp_path / "figure.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    (tmp_path / "blob.bin").write_bytes(b"\x00\xff\xfe\x80")
    result = scan([tmp_path], scanner)
    assert [p.name for p in result.skipped] == ["font.woff2"]
    assert sorted((h.path.name, h.kind) for h in result.hits) == [
        ("blob.bin", "unreadable file (not text; cannot be checked)"),
        ("figure.png", "unreadable image (cannot be checked)"),
    ]


def test_command_exits_non_zero_on_a_leak(tmp_path, monkeypatch, capsys):
    from sendlink import cli
    from sendlink.scan import scanner as module

    monkeypatch.setattr(module, "collect_identifiers", lambda paths=None: Identifiers.from_frames(children=[CHILDREN], codes=CODES))
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    (tmp_path / "pyproject.toml").write_text("")
    research = tmp_path / "data" / "research"
    research.mkdir(parents=True)
    (research / "ok.csv").write_text("a\n1\n")
    assert cli.main(["scan", "--root", str(tmp_path)]) == 0
    (research / "leak.csv").write_text("a\nA901001713019\n")
    assert cli.main(["scan", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "leak.csv" in out and "A901001713019" in out


def test_speed_scales_with_text_not_people(tmp_path):
    """A cohort-sized scanner scans a research-sized table in well under a second."""
    n = 20000
    people = pd.DataFrame({"forename": [f"Name{i % 500}" for i in range(n)], "middle_names": None,
                           "surname": [f"Family{i}" for i in range(n)], "date_of_birth": "2009-01-01"})
    s = Scanner(Identifiers.from_frames(children=[people], codes={"upn": [f"A{i:012d}" for i in range(n)]}))
    table = pd.DataFrame({"research_id": [f"{i:032x}" for i in range(3000)], "x": 1.5, "eth": "White"})
    table.to_parquet(tmp_path / "t.parquet")
    result = scan([tmp_path], s)
    assert result.clean and result.seconds < 5
    Path(tmp_path / "t.parquet").unlink()

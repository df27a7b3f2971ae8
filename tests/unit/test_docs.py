"""The project explains itself: every citation of its notes resolves inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: Where the code and the project's own texts cite the notes.
CITING = ("src", "tests", "benchmarks", "notebooks", "pages")
CITING_FILES = ("README.md", "CONTRIBUTING.md", "Makefile", "params.yaml", "index.qmd", "_quarto.yml")
#: A citation: an upper-case note name (``DESIGN.md``, ``docs/DOMAIN.md``), perhaps with a section number.
CITATION = re.compile(r"(?:docs/)?\b([A-Z][A-Z_]+\.md)\b(?:\s+section\s+(\d+))?")
#: Upper-case file names that are not notes in docs/ (files elsewhere in the repository, a placeholder).
NOT_NOTES = {"README.md", "CONTRIBUTING.md", "FILE.md"}  # FILE.md: a placeholder in a command's help


def _texts():
    paths = [p for folder in CITING for p in sorted((ROOT / folder).rglob("*"))
             if p.is_file() and p.suffix in {".py", ".md", ".qmd", ".ipynb", ".yml", ".yaml", ".cfg"} and "results" not in p.parts]
    paths += [ROOT / name for name in CITING_FILES if (ROOT / name).is_file()]
    return [(p, p.read_text(encoding="utf-8")) for p in paths]


def citations(text: str) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in CITATION.finditer(text) if m.group(1) not in NOT_NOTES]


def _sections(note: Path) -> set[str]:
    return set(re.findall(r"^## (\d+)\.", note.read_text(encoding="utf-8"), flags=re.M))


def test_every_citation_of_the_notes_resolves_to_docs():
    problems = []
    for path, text in _texts():
        if path == Path(__file__):
            continue
        for name, section in citations(text):
            note = DOCS / name
            if not note.is_file():
                problems.append(f"{path.relative_to(ROOT)} cites {name}, which is not in docs/")
            elif section and section not in _sections(note):
                problems.append(f"{path.relative_to(ROOT)} cites {name} section {section}, which it does not have")
    assert not problems, "\n".join(problems)


def test_nothing_cites_a_document_outside_the_repository():
    outside = [str(p.relative_to(ROOT)) for p, text in _texts() + [(p, p.read_text(encoding="utf-8")) for p in DOCS.glob("*.md")]
               if p != Path(__file__) and re.search(r"\.\./shared|/work/shared", text)]
    assert not outside, f"cite the project's own docs/, not a folder outside the repository: {outside}"


@pytest.mark.parametrize("note", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_the_notes_links_and_sources(note):
    text = note.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)\)", text):  # relative links
        assert (note.parent / target).exists(), f"{note.name} links to {target}, which does not exist"
    assert "## Sources" in text, f"{note.name} must list its sources"


def test_the_citation_check_can_fail():
    assert citations("see DESIGN.md section 4 and docs/DOMAIN.md") == [("DESIGN.md", "4"), ("DOMAIN.md", None)]
    assert citations("read the README.md") == []
    assert "9" not in _sections(DOCS / "DESIGN.md")

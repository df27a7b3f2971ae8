"""The identifier scanner: proof that research data and reports hold no identifier.

``sendlink scan`` (the pipeline's last stage, :mod:`sendlink.scan.stage`,
a step of ``make report``, and a test) collects every
identifier of the synthetic people, from the survey organisation's contacts
(``data/synthetic/survey/contacts.parquet``, its working copy in
``data/survey_org/holdings/``, the issued sample) and DfE's NPD (the spine
and the postcode history), and searches every file under ``data/research/``
and ``reports/`` and every notebook in ``notebooks/`` (sources and stored
outputs) for them. Any hit fails the run with the file, the place and the
value.

What counts as a hit
--------------------
On sight: a UPN, a survey id, a postcode (with or without its space), an
email address, a phone number, an address line, and a **full name**: a
person's forename followed by their surname (middle names may come
between), or surname then forename ("Edwards, Gavin"). In a table, a
person's forename and surname anywhere in the same row also count.

Only together: a date of birth next to one of the same person's names (in
the same table row, or within :data:`WINDOW` characters of text). A first
name alone ("Jack"), a surname alone ("White" is also an ethnic group) or a
date alone are not identifiers and are not reported.

Matching is on normalised text: accents removed, case folded, every run of
punctuation and spaces turned into one space, so "GAVIN  EDWARDS",
"Edwards, Gavin" and "gavin-edwards" are alike, and only whole words match
("Jackson" is not "Jack"). One Aho-Corasick automaton (``pyahocorasick``)
finds every pattern in a single pass, whatever the number of people.

The declared exception (docs/DESIGN.md section 2)
--------------------------------------------
A teaching notebook that shows the survey organisation's or DfE's own view
of the synthetic identifiers declares it in its metadata
(``metadata.sendlink.party`` = ``dfe`` or ``survey_organisation``) and shows
the banner of :func:`banner` in its first cells. Such a notebook, and a
rendered page of it (a file in ``reports/`` with the notebook's name that
shows the banner), are let through and listed; a declared notebook without
the banner fails. Everything else, research data above all, must be clean.
"""

from __future__ import annotations

import gc
import html
import json
import logging
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.config import Paths
from sendlink.errors import SendlinkError
from sendlink.schema import catalogue
from sendlink.schema.research import DIRECT_IDENTIFIERS

log = logging.getLogger(__name__)

#: Parties that may declare a teaching page that shows identifiers, with the
#: bold words their banner opens with (CONTRIBUTING.md, "Notebooks").
PARTIES = {"dfe": "DfE's view.", "survey_organisation": "The survey organisation's view."}
#: Other values ``metadata.sendlink.party`` may take (pages that must be clean).
CLEAN_PARTIES = ("researchers",)
#: Characters of text either side of a date of birth searched for a name.
WINDOW = 80
#: Middle names that may stand between a forename and a surname.
MAX_MIDDLE = 2
#: File types never scanned: images and fonts hold no text to search.
BINARY_ASSETS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp", ".woff", ".woff2", ".ttf", ".otf", ".eot"})
TABLE_TYPES = {".csv": ",", ".tsv": "\t", ".parquet": None}

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")


class IdentifierLeak(SendlinkError):
    """The scanner found identifiers; ``result`` lists every hit."""

    def __init__(self, result: ScanResult) -> None:
        self.result = result
        super().__init__(result.summary())


def banner(party: str) -> str:
    """The visible banner a declared teaching notebook shows (Markdown).

    Put it in the notebook's first cell and set ``metadata.sendlink.party``.
    """
    if party not in PARTIES:
        raise ValueError(f"party must be one of {sorted(PARTIES)}, got {party!r}")
    holder = "DfE's linkage team" if party == "dfe" else "the survey organisation"
    return (
        f"> **{PARTIES[party]}** This teaching page shows *synthetic* identifiers as {holder} would see "
        "them. No real person is described. Research-facing pages never show identifiers."
    )


_TOKEN = re.compile(r"[^\W_]+")
_ASCII_WORDS = re.compile(r"[^0-9a-z]+")
#: Separators allowed between a forename and a surname in free text
#: (spaces, table rules); a surname first needs a comma ("Edwards, Gavin").
_FORWARD_GAP = re.compile(r"^[ \t|]*$")
_REVERSED_GAP = re.compile(r"^[ \t]*,[ \t]*$")


def _fold(token: str) -> str:
    if token.isascii():
        return token.lower()
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def normalise(text: str) -> str:
    """Accents removed, case folded, punctuation and spaces -> one space."""
    if text.isascii():
        return _ASCII_WORDS.sub(" ", text.lower()).strip()
    return " ".join(_fold(t) for t in _TOKEN.findall(text))


# --- the identifiers ----------------------------------------------------------------------


@dataclass
class Identifiers:
    """Every identifier of the synthetic people.

    Attributes
    ----------
    people
        One row per person: ``forename, middle_names, surname,
        date_of_birth`` (ISO; empty for a parent).
    codes
        Kind -> values found on sight: ``upn``, ``survey_id``, ``postcode``,
        ``email``, ``phone``, ``address``.
    """

    people: pd.DataFrame
    codes: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_frames(
        cls,
        *,
        children: Sequence[pd.DataFrame] = (),
        parents: Sequence[pd.DataFrame] = (),
        codes: Mapping[str, Iterable[object]] | None = None,
    ) -> Identifiers:
        """Build from tables with the contacts/spine column names.

        ``children``: ``forename, middle_names, surname, date_of_birth``;
        ``parents``: ``parent_forename, parent_surname``.
        """
        columns = ["forename", "middle_names", "surname", "date_of_birth"]
        frames = [f.reindex(columns=columns) for f in children]
        frames += [pd.DataFrame({"forename": f["parent_forename"], "surname": f["parent_surname"]}).reindex(columns=columns) for f in parents]
        people = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
        people = people.astype(object).where(people.notna(), None).drop_duplicates().reset_index(drop=True)
        clean: dict[str, list[str]] = {}
        for kind, values in (codes or {}).items():
            series = pd.Series(list(values), dtype=object).dropna().astype(str).str.strip()
            clean[kind] = sorted(pd.unique(series[series != ""]).tolist())
        return cls(people=people, codes=clean)


def collect_identifiers(paths: Paths | None = None) -> Identifiers:
    """Read every identifier the survey organisation and DfE hold (see module docstring).

    Files that do not exist yet (the holdings before the consent stage) are
    skipped; the NPD spine and the survey contacts must exist.
    """
    from sendlink.io import read_table

    paths = paths or Paths.discover()
    contacts = [read_table(catalogue.CONTACTS.at(paths))]
    held = catalogue.held(catalogue.CONTACTS).at(paths)
    if held.is_file():
        contacts.append(read_table(held))
    spine = read_table(catalogue.NPD_SPINE.at(paths))
    codes: dict[str, list[object]] = defaultdict(list)
    codes["upn"] += spine["upn"].tolist()
    codes["postcode"] += spine["postcode"].tolist()
    history = catalogue.POSTCODE_HISTORY.at(paths)
    if history.is_file():
        codes["postcode"] += pd.unique(read_table(history, columns=["postcode"])["postcode"]).tolist()
    for sample in (catalogue.SAMPLE.at(paths), catalogue.held(catalogue.SAMPLE).at(paths)):
        if sample.is_file():
            codes["survey_id"] += read_table(sample, columns=["survey_id"])["survey_id"].tolist()
    for c in contacts:
        codes["survey_id"] += c["survey_id"].tolist()
        codes["postcode"] += c["postcode"].tolist()
        codes["email"] += c["email"].tolist()
        codes["phone"] += c["phone"].tolist()
        codes["address"] += c["address_line"].tolist()
    return Identifiers.from_frames(children=[*contacts, spine], parents=contacts, codes=codes)


def _date_variants(iso: str) -> list[str]:
    try:
        y, m, d = (int(x) for x in iso.split("-"))
    except ValueError:
        return []
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return []
    month = _MONTHS[m - 1]
    return sorted({
        f"{y:04d} {m:02d} {d:02d}", f"{d:02d} {m:02d} {y:04d}", f"{d} {m} {y:04d}",
        f"{y:04d}{m:02d}{d:02d}", f"{d:02d}{m:02d}{y:04d}",
        f"{d} {month} {y:04d}", f"{d} {month[:3]} {y:04d}", f"{month} {d} {y:04d}",
    })


def _normalise_series(values: pd.Series) -> pd.Series:
    """:func:`normalise` for many values at once (a fast path for ASCII)."""
    ascii_ = values.map(str.isascii).to_numpy(dtype=bool)
    out = values.str.lower().str.replace(r"[^0-9a-z]+", " ", regex=True).str.strip()
    if not ascii_.all():
        out[~ascii_] = values[~ascii_].map(normalise)
    return out


def _code_keys(kind: str, values: pd.Series) -> list[pd.Series]:
    """The normalised forms a code is searched in (aligned with ``values``)."""
    base = _normalise_series(values)
    keys = [base]
    if kind in ("postcode", "phone"):
        keys.append(base.str.replace(" ", "", regex=False))
    if kind == "phone":
        national = keys[-1].where(keys[-1].str.startswith("0"), "").str.slice(1)
        keys += [("44" + national).where(national != "", ""), ("44 " + national).where(national != "", "")]
    return keys


@dataclass(slots=True)
class _Entry:
    """What one normalised string is: an identifier on sight, and/or part of people."""

    direct: str | None = None
    display: str | None = None
    given: np.ndarray | None = None
    surname: np.ndarray | None = None
    dob: np.ndarray | None = None
    middle: bool = False

    @property
    def name(self) -> bool:
        return self.given is not None or self.surname is not None


@dataclass(frozen=True)
class Hit:
    """One identifier found: the file, where in it, what kind, the value."""

    path: Path
    where: str
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.path}: {self.where}: {self.kind} {self.value!r}"


@dataclass
class ScanResult:
    """What a scan looked at and found."""

    scanned: list[Path] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    allowed: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.hits

    def summary(self) -> str:
        head = f"scanned {len(self.scanned)} file(s) in {self.seconds:.1f} s"
        if self.allowed:
            head += f"; {len(self.allowed)} declared teaching page(s) let through"
        if self.clean:
            return head + ": no identifiers found"
        files = sorted({str(h.path) for h in self.hits})
        lines = [head + f": {len(self.hits)} identifier(s) in {len(files)} file(s)"]
        lines += [f"  {h}" for h in self.hits[:50]]
        if len(self.hits) > 50:
            lines.append(f"  ... and {len(self.hits) - 50} more")
        return "\n".join(lines)


@dataclass
class _Tokens:
    """Free text as words: the normalised text and where each word came from."""

    text: str  # normalised words joined by single spaces
    starts: np.ndarray  # start of each word in ``text``
    spans: list[tuple[int, int]]  # (start, end) of each word in the original
    capital: list[bool]  # the original word starts with a capital letter


def _tokens(original: str) -> _Tokens:
    words, spans, capital = [], [], []
    for m in _TOKEN.finditer(original):
        w = m.group()
        words.append(_fold(w))
        spans.append(m.span())
        capital.append(w[0].isupper())
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]]) if words else np.zeros(0, dtype=int)
    return _Tokens(" ".join(words), np.asarray(starts), spans, capital)


class Scanner:
    """Finds the identifiers of :class:`Identifiers` in text, tables and notebooks.

    Build once (a few seconds for the default cohort), then scan any number
    of files. Rules: see the module docstring.
    """

    def __init__(self, identifiers: Identifiers) -> None:
        # A million small objects: the cyclic garbage collector would walk
        # them again and again while they are made (none can form a cycle).
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._build(identifiers)
        finally:
            if enabled:
                gc.enable()

    def _build(self, identifiers: Identifiers) -> None:
        try:
            import ahocorasick
        except ImportError as exc:  # pragma: no cover - a broken installation
            raise SendlinkError("the identifier scanner needs pyahocorasick: pip install pyahocorasick") from exc
        direct: dict[str, tuple[str, str]] = {}
        for kind, values in identifiers.codes.items():
            raw = pd.Series(values, dtype=object).astype(str)
            for key_series in _code_keys(kind, raw):
                for key, value in zip(key_series.tolist(), raw.tolist(), strict=True):
                    if key and key not in direct:
                        direct[key] = (kind, value)
        people = identifiers.people
        self.people = people
        entries: dict[str, _Entry] = {}
        for role, column in (("given", "forename"), ("surname", "surname"), ("dob", "date_of_birth")):
            values = people[column]
            valid = values.notna().to_numpy() & (values.astype(str) != "").to_numpy()
            ids = np.flatnonzero(valid)
            codes, uniques = pd.factorize(values[valid].astype(str))
            order = np.argsort(codes, kind="stable")
            groups = np.split(ids[order], np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1])
            by_key: dict[str, list[np.ndarray]] = defaultdict(list)
            for raw_value, pids in zip(uniques, groups, strict=True):
                for key in _date_variants(raw_value) if role == "dob" else [normalise(raw_value)]:
                    if key:
                        by_key[key].append(pids)
            for key, parts in by_key.items():
                setattr(entries.setdefault(key, _Entry()), role, parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts)))
        # Middle names may stand between a forename and a surname.
        middles = people["middle_names"].dropna().astype(str)
        for key in pd.unique(middles[middles != ""].map(normalise).str.split().explode().dropna()):
            entries.setdefault(key, _Entry()).middle = True
        for key, (kind, value) in direct.items():
            e = entries.get(key)
            if e is not None:
                e.direct, e.display = kind, value
        # The automaton's value for each pattern: (length with its two spaces, entry).
        # Codes that are nothing else share one light entry per kind and keep their value.
        automaton = ahocorasick.Automaton()
        for key, e in entries.items():
            automaton.add_word(f" {key} ", (len(key) + 2, e))
        for key, (kind, value) in direct.items():
            if key not in entries:
                automaton.add_word(f" {key} ", (len(key) + 2, _Entry(direct=kind, display=value)))
        automaton.make_automaton()
        self._automaton = automaton
        self._names = entries
        log.debug("scanner: %d patterns from %d people", len(automaton), len(people))

    # --- matching ---------------------------------------------------------------------------

    def _hits(self, text: str) -> list[tuple[int, int, _Entry]]:
        """(start, end, entry) of every whole-word match in normalised ``text``.

        Positions are in ``text``: ``start`` is the first character of the
        first word, ``end`` one past the last.
        """
        return [(end - length + 1, end - 1, e) for end, (length, e) in self._automaton.iter(f" {text} ")]

    @staticmethod
    def _meet(a: np.ndarray | None, b: np.ndarray | None) -> bool:
        return a is not None and b is not None and np.intersect1d(a, b, assume_unique=True).size > 0

    def _same_person(self, a: _Entry, b: _Entry) -> bool:
        """Do two name parts belong to one person (as forename + surname)?"""
        return self._meet(a.given, b.surname) or self._meet(a.surname, b.given)

    def find_text(self, original: str) -> list[tuple[int, str, str]]:
        """Identifiers in free text: ``(position in original, kind, value)``.

        Full names need capitalised words next to each other (forename
        [middle names] surname, or "Surname, Forename"); a date of birth
        needs one of the same person's capitalised names within
        :data:`WINDOW` characters.
        """
        tok = _tokens(original)
        if not tok.text:
            return []
        found: list[tuple[int, str, str]] = []
        word_of = {int(s): i for i, s in enumerate(tok.starts)}
        spans = []  # (first word, last word, entry)
        for start, end, e in self._hits(tok.text):
            first = word_of[start]
            last = int(np.searchsorted(tok.starts, end - 1, side="right") - 1)
            spans.append((first, last, e))
            if e.direct:
                found.append((tok.spans[first][0], e.direct, e.display or original[tok.spans[first][0] : tok.spans[last][1]]))
        names = [(a, b, e) for a, b, e in spans if (e.name or e.middle) and tok.capital[a]]
        starting = defaultdict(list)
        for n in names:
            starting[n[0]].append(n)

        def gap(b: int, a: int) -> str:
            return original[tok.spans[b][1] : tok.spans[a][0]]

        def text_of(a: int, b: int) -> str:
            return " ".join(original[tok.spans[a][0] : tok.spans[b][1]].split())

        for a, b, e in names:
            if e.given is not None:
                frontier = [(b, 0)]
                while frontier:
                    last, middles = frontier.pop()
                    for n in starting.get(last + 1, ()):
                        if not _FORWARD_GAP.match(gap(last, n[0])):
                            continue
                        if self._meet(e.given, n[2].surname):
                            found.append((tok.spans[a][0], "full name", text_of(a, n[1])))
                        if (n[2].given is not None or n[2].middle) and middles < MAX_MIDDLE:
                            frontier.append((n[1], middles + 1))
            if e.surname is not None:
                for n in starting.get(b + 1, ()):
                    if _REVERSED_GAP.match(gap(b, n[0])) and self._meet(e.surname, n[2].given):
                        found.append((tok.spans[a][0], "full name", text_of(a, n[1])))
        for a, b, e in spans:
            if e.dob is None:
                continue
            lo, hi = tok.spans[a][0] - WINDOW, tok.spans[b][1] + WINDOW
            for na, nb, n in names:
                if n.name and tok.spans[na][0] <= hi and tok.spans[nb][1] >= lo and (self._meet(e.dob, n.given) or self._meet(e.dob, n.surname)):
                    found.append((tok.spans[a][0], "date of birth with name", f"{text_of(a, b)} + {text_of(na, nb)}"))
                    break
        return sorted(set(found))

    def find_cell(self, cell: str) -> list[tuple[str, str]]:
        """Identifiers inside one table cell (any case): ``(kind, value)``."""
        text = normalise(cell)
        found = []
        hits = self._hits(text)
        for _, _, e in hits:
            if e.direct:
                found.append((e.direct, e.display or ""))
        names = [h for h in hits if h[2].name]
        for i, (s1, _, e1) in enumerate(names):
            for s2, _, e2 in names[i + 1 :]:
                if s2 != s1 and self._same_person(e1, e2):
                    found.append(("full name", cell))
        for _, _, e in hits:
            if e.dob is not None and any(self._meet(e.dob, n.given) or self._meet(e.dob, n.surname) for _, _, n in names):
                found.append(("date of birth with name", cell))
        return sorted(set(found))

    def scan_table(self, frame: pd.DataFrame, path: Path, where: str = "") -> list[Hit]:
        """Scan a table: every cell, and the cells of each row together.

        A row with a person's forename in one cell and their surname in
        another, or their date of birth in one cell and a name in another,
        is a hit; so is a column named like a direct identifier. Any case.
        """
        prefix = f"{where}, " if where else ""
        hits = [Hit(path, f"{prefix}column '{c}'", "identifier column", str(c)) for c in frame.columns if str(c).lower() in DIRECT_IDENTIFIERS]
        for kind, value in self.find_cell(" ".join(str(c) for c in frame.columns)):
            hits.append(Hit(path, f"{prefix}header", kind, value))
        if frame.empty:
            return hits
        cells = frame.astype(object).where(frame.notna(), "")
        roles = np.zeros(len(frame), dtype=np.int64)  # rows where name or date cells occur
        for col in cells.columns:
            values = cells[col].astype(str)
            uniques = pd.unique(values)
            # Each distinct value is searched once: research columns hold few.
            flagged = {}
            for u in uniques:
                if not u:
                    continue
                found = self.find_cell(u)
                if found:
                    flagged[u] = found
                entry = self._exact(u)
                if entry is not None and (entry.name or entry.dob is not None):
                    roles[(values == u).to_numpy()] += 1
            if flagged:
                for i in np.flatnonzero(values.isin(list(flagged)).to_numpy()):
                    for kind, value in flagged[values.iloc[i]]:
                        hits.append(Hit(path, f"{prefix}row {i}, column '{col}'", kind, value))
        for i in np.flatnonzero(roles >= 2):
            row = [str(v) for v in cells.iloc[i].tolist() if str(v)]
            parts = [(v, self._exact(v)) for v in row]
            parts = [(v, e) for v, e in parts if e is not None and (e.name or e.dob is not None)]
            for j, (v1, e1) in enumerate(parts):
                for v2, e2 in parts[j + 1 :]:
                    if self._same_person(e1, e2):
                        hits.append(Hit(path, f"{prefix}row {i}", "full name (two cells)", f"{v1} | {v2}"))
                    elif (e1.dob is not None and (self._meet(e1.dob, e2.given) or self._meet(e1.dob, e2.surname))) or (
                        e2.dob is not None and (self._meet(e2.dob, e1.given) or self._meet(e2.dob, e1.surname))
                    ):
                        hits.append(Hit(path, f"{prefix}row {i}", "date of birth with name (two cells)", f"{v1} | {v2}"))
        return hits

    def _exact(self, cell: str) -> _Entry | None:
        """The name or date a whole cell is, if it is one."""
        return self._names.get(normalise(cell))

    def scan_text(self, text: str, path: Path, where: str = "line") -> list[Hit]:
        """Scan free text; hits are placed by line."""
        line_starts = np.cumsum([0] + [len(line) + 1 for line in text.split("\n")[:-1]])
        return [
            Hit(path, f"{where} {int(np.searchsorted(line_starts, pos, side='right'))}", kind, value)
            for pos, kind, value in self.find_text(text)
        ]

    def scan_html(self, text: str, path: Path, where: str = "") -> list[Hit]:
        """Scan an HTML page: its text, and each of its tables cell by cell."""
        prefix = f"{where}, " if where else ""
        hits = self.scan_text(html_text(text), path, where=f"{prefix}line")
        for t, table in enumerate(html_tables(text)):
            hits += self.scan_table(table, path, where=f"{prefix}table {t}")
        return hits

    def scan_file(self, path: Path) -> list[Hit]:
        """Scan one file by its type (see module docstring)."""
        suffix = path.suffix.lower()
        if suffix in TABLE_TYPES:
            frame = _read_table(path)
            if frame is not None:
                return self.scan_table(frame, path)
            if suffix == ".parquet":
                return [Hit(path, "file", "unreadable table (cannot be checked)", path.name)]
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return [Hit(path, "file", "unreadable file (not text; cannot be checked)", path.name)]
        if suffix == ".ipynb":
            try:
                return self.scan_notebook(json.loads(text), path)
            except json.JSONDecodeError:
                pass
        if suffix in (".html", ".htm", ".xml", ".svg"):
            return self.scan_html(text, path)
        if suffix == ".json":
            try:
                return self.scan_json(json.loads(text), path)
            except json.JSONDecodeError:
                pass
        return self.scan_text(text, path)

    def scan_json(self, obj: object, path: Path) -> list[Hit]:
        """Scan JSON: its strings as text, and every list of records as a table."""
        hits = self.scan_text("\n".join(_json_strings(obj)), path, where="string")
        for t, records in enumerate(_json_tables(obj)):
            hits += self.scan_table(pd.DataFrame(records), path, where=f"records {t}")
        return hits

    def scan_notebook(self, nb: Mapping, path: Path) -> list[Hit]:
        """Scan every cell's source and stored outputs (images excepted)."""
        hits = []
        for i, cell in enumerate(nb.get("cells", [])):
            for part, mime, text in _notebook_texts(cell):
                where = f"cell {i} {part}"
                if "html" in mime or "svg" in mime:
                    hits += self.scan_html(text, path, where=where)
                else:
                    hits += self.scan_text(text, path, where=f"{where}, line")
        return hits


class _TableParser(HTMLParser):
    """Rows of cells of every ``<table>`` of a page (standard library only)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._depth = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
            self._depth += 1
        elif tag == "tr" and self._depth:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self._depth:
            if not self.tables[-1]:
                self.tables[-1].append([])
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(text: str) -> list[pd.DataFrame]:
    """Every table of an HTML page as a frame of text cells (no header row)."""
    parser = _TableParser()
    parser.feed(text)
    out = []
    for rows in parser.tables:
        rows = [r for r in rows if r]
        if rows:
            width = max(len(r) for r in rows)
            out.append(pd.DataFrame([r + [""] * (width - len(r)) for r in rows]).rename(columns=lambda c: f"column {c}"))
    return out


def html_text(text: str) -> str:
    """The text of an HTML page: tags dropped (line breaks kept), entities decoded."""
    stripped = re.sub(r"<[^>]*>", lambda m: "\n" * m.group().count("\n") or " ", text)
    return html.unescape(stripped)


def _json_strings(obj: object) -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _json_strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _json_strings(v)
    elif obj is not None:
        yield str(obj)


def _json_tables(obj: object) -> Iterator[list[dict]]:
    if isinstance(obj, list):
        if obj and all(isinstance(v, dict) for v in obj):
            yield obj
        for v in obj:
            yield from _json_tables(v)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _json_tables(v)


def _joined(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _notebook_texts(cell: Mapping) -> Iterator[tuple[str, str, str]]:
    """(part, mime type, text) of a cell's source and outputs."""
    yield "source", "text/markdown" if cell.get("cell_type") == "markdown" else "text/plain", _joined(cell.get("source", ""))
    for output in cell.get("outputs", []) or []:
        if "text" in output:
            yield "output", "text/plain", _joined(output["text"])
        if "traceback" in output:
            yield "output", "text/plain", "\n".join(output["traceback"])
        for mime, value in (output.get("data") or {}).items():
            if mime.startswith("image/") and mime != "image/svg+xml":
                continue
            yield "output", mime, json.dumps(value) if mime.endswith("json") else _joined(value)


def _read_table(path: Path) -> pd.DataFrame | None:
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, sep=TABLE_TYPES[path.suffix.lower()])
    except Exception:  # any reader error means the file cannot be vouched for
        return None


# --- which files, and the declared exception ----------------------------------------------


def notebook_party(nb: Mapping) -> str | None:
    """The party a notebook declares in ``metadata.sendlink.party``, if any."""
    party = ((nb.get("metadata") or {}).get("sendlink") or {}).get("party")
    return str(party) if party else None


def shows_banner(text: str, party: str) -> bool:
    """Does the text (Markdown or a page's text) show the party's banner, in bold?"""
    words = re.escape(PARTIES[party]).replace("'", "['’]")
    return re.search(rf"(\*\*|__|<strong>|<b>)\s*{words}", html.unescape(text), flags=re.IGNORECASE) is not None


def _first_cells_text(nb: Mapping, n: int = 2) -> str:
    return "\n".join(_joined(c.get("source", "")) for c in nb.get("cells", [])[:n] if c.get("cell_type") == "markdown")


def declared_notebooks(notebooks: Path) -> dict[str, str]:
    """Notebook stem -> party, for notebooks that declare a party *and* show its banner."""
    out = {}
    for path in sorted(notebooks.glob("*.ipynb")) if notebooks.is_dir() else []:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        party = notebook_party(nb)
        if party in PARTIES and shows_banner(_first_cells_text(nb), party):
            out[path.stem] = party
    return out


def _files(folder: Path) -> Iterator[Path]:
    if folder.is_file():
        yield folder
        return
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            yield path


def scan(targets: Sequence[Path], scanner: Scanner, *, notebooks: Path | None = None) -> ScanResult:
    """Scan files and folders; let declared teaching pages through.

    Parameters
    ----------
    targets
        Files or folders (searched recursively).
    scanner
        A :class:`Scanner` built from the people's identifiers.
    notebooks
        The notebooks folder, whose declarations let rendered pages in the
        targets through (default: none are).
    """
    started = time.perf_counter()
    result = ScanResult()
    declared = declared_notebooks(notebooks) if notebooks is not None else {}
    seen: set[Path] = set()
    for target in targets:
        for path in _files(Path(target)):
            if path in seen:
                continue
            seen.add(path)
            suffix = path.suffix.lower()
            if suffix in BINARY_ASSETS:
                result.skipped.append(path)
                continue
            if suffix == ".ipynb":
                try:
                    nb = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                    result.scanned.append(path)
                    result.hits.append(Hit(path, "file", "unreadable notebook", path.name))
                    continue
                party = notebook_party(nb)
                if party is not None:
                    if party in PARTIES and shows_banner(_first_cells_text(nb), party):
                        result.allowed.append((path, party))
                        continue
                    if party in PARTIES:
                        result.hits.append(Hit(path, "first cell", "declared party without its banner", party))
                    elif party not in CLEAN_PARTIES:
                        result.hits.append(Hit(path, "metadata.sendlink.party", "unknown party", party))
            elif path.stem in declared and suffix in (".html", ".htm", ".md"):
                party = declared[path.stem]
                if shows_banner(path.read_text(encoding="utf-8", errors="replace"), party):
                    result.allowed.append((path, party))
                    continue
            result.scanned.append(path)
            result.hits.extend(scanner.scan_file(path))
    result.seconds = time.perf_counter() - started
    return result


def default_targets(paths: Paths) -> list[Path]:
    """``data/research/``, the run's summary, ``reports/`` and ``notebooks/``: everything research-facing."""
    summary = catalogue.SUMMARY.at(paths)
    return [paths.research, *([summary] if summary.is_file() else []), paths.reports, paths.notebooks]


def run_scan(paths: Paths | None = None, targets: Sequence[Path] | None = None) -> ScanResult:
    """Collect the identifiers and scan the research-facing files.

    Raises
    ------
    IdentifierLeak
        If anything was found (the message lists file, place and value).
    """
    paths = paths or Paths.discover()
    started = time.perf_counter()
    scanner = Scanner(collect_identifiers(paths))
    built = time.perf_counter() - started
    result = scan(list(targets) if targets else default_targets(paths), scanner, notebooks=paths.notebooks)
    log.info("identifier scanner: built in %.1f s; %s", built, result.summary().splitlines()[0])
    for path, party in result.allowed:
        log.info("let through (declared teaching page, %s): %s", party, path)
    if not result.clean:
        raise IdentifierLeak(result)
    return result

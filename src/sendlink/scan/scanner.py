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

Codes are also found when they are broken up: a UPN, survey id, postcode or
phone number written in groups ("A901 0017 13019", "SF-100559") or split
across inline HTML tags (``A9010<span>0171</span>3019``, which a browser
shows as one word) is joined and matched, as long as its pieces are whole
words. Dates of birth are matched day first (``25/11/2008``, ``25 Nov
2008``), year first (``2008-11-25``, with or without a time such as
``00:00:00``), month first as in the US (``11/25/2008``, ``November 25,
2008``) and with two-digit years. A table cell that holds a timestamp
(``2008-11-25 00:00:00``, as pandas writes a date) counts as that date.

What is read
------------
Text files, CSV/TSV and Parquet tables (every cell, the column names, and the
Parquet file's key-value and column metadata), JSON (strings, and lists of
records as tables), notebooks (sources and stored outputs, and the metadata
of their images), HTML and SVG (the text as a browser joins it, every table
cell by cell, every attribute value, comments and scripts), PDF (the text of
every page, the document information, link targets and outline, with
``pypdf``) and images (PNG text chunks, EXIF, XMP and comments, with Pillow).
Base64 anywhere in text (a ``data:`` URI, an encoded string) is decoded and
read again: decoded text is scanned, a decoded image has its metadata read.

What it cannot see (by design or by limit)
------------------------------------------
* Text drawn as pixels in an image, or as vector shapes in a PDF without a
  text layer: there is no optical character recognition. Figures must not
  plot identifiers (review figures of research pages by eye).
* Fonts (``.woff``, ``.ttf``...): third-party assets, skipped and listed.
* Encodings other than base64 (hex, rot13, compression other than a PNG's
  zTXt chunk, encryption). An encrypted PDF that opens without a password is
  read; one that needs a password is reported as unreadable.
* A forename and surname that are lower case in free text ("jack smith"), or
  further apart than a few middle names; a date of birth more than
  :data:`WINDOW` characters from a name; a person singled out by a
  combination of harmless-looking values (k-anonymity deals with that).
* Names in URLs and ids made from headings (``#gavin-edwards``) are lower
  case, so only the codes in them are found.

A file that cannot be read (a broken PDF, image or Parquet file, binary data
of an unknown kind) is itself a hit: what cannot be checked fails the run.

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

import base64
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
#: A table cell of more words than this is prose, read by the free-text rules.
CELL_WORDS = 8
#: File types never scanned: fonts are third-party assets with no text of ours.
FONT_ASSETS = frozenset({".woff", ".woff2", ".ttf", ".otf", ".eot"})
#: Images: their metadata (PNG text chunks, EXIF, XMP, comments) is read; pixels are not.
IMAGE_TYPES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".ico", ".bmp"})
TABLE_TYPES = {".csv": ",", ".tsv": "\t", ".parquet": None}
#: Codes that are also matched when written in groups or split by inline tags.
SPLITTABLE = ("upn", "survey_id", "postcode", "phone")
#: Shortest run of base64 characters that is decoded and read again.
BASE64_MIN = 16

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")


class IdentifierLeak(SendlinkError):
    """The scanner found identifiers; ``result`` lists every hit."""

    def __init__(self, result: ScanResult) -> None:
        self.result = result
        super().__init__(result.summary())


def banner(party: str) -> str:
    """The visible banner a declared teaching notebook shows (Markdown).

    A warning callout (an HTML ``div``, which Quarto draws as a callout and
    Jupyter and the nbconvert fallback show as a block) whose text opens with
    the party's bold words. Put it in the notebook's first Markdown cell and
    set ``metadata.sendlink.party``.
    """
    if party not in PARTIES:
        raise ValueError(f"party must be one of {sorted(PARTIES)}, got {party!r}")
    holder = "DfE's linkage team" if party == "dfe" else "the survey organisation"
    return (
        '<div class="callout-warning party-banner" title="Teaching page: synthetic identifiers">\n\n'
        f"**{PARTIES[party]}** This teaching page shows *synthetic* identifiers as {holder} would see "
        "them. No real person is described. Research-facing pages never show identifiers.\n\n</div>"
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
    """The normalised forms a date of birth is searched in.

    Day first (UK), year first (ISO, compact), month first (US), with the
    month as a number, a name or its first three letters, and with a
    two-digit year for the numeric forms.
    """
    try:
        y, m, d = (int(x) for x in iso.split("-"))
    except ValueError:
        return []
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return []
    month = _MONTHS[m - 1]
    yy = y % 100
    return sorted({
        # year first
        f"{y:04d} {m:02d} {d:02d}", f"{y:04d} {m} {d}", f"{y:04d}{m:02d}{d:02d}",
        # day first
        f"{d:02d} {m:02d} {y:04d}", f"{d} {m} {y:04d}", f"{d:02d}{m:02d}{y:04d}",
        f"{d:02d} {m:02d} {yy:02d}", f"{d} {m} {yy:02d}",
        f"{d} {month} {y:04d}", f"{d} {month[:3]} {y:04d}",
        # month first (US)
        f"{m:02d} {d:02d} {y:04d}", f"{m} {d} {y:04d}", f"{m:02d}{d:02d}{y:04d}",
        f"{m:02d} {d:02d} {yy:02d}", f"{m} {d} {yy:02d}",
        f"{month} {d} {y:04d}", f"{month[:3]} {d} {y:04d}",
    })


#: Words that may follow a date in a timestamp besides numbers (``T``, a zone).
_TIME_WORDS = frozenset({"t", "z", "utc", "gmt", "bst"})


def _date_of_timestamp(key: str) -> str | None:
    """The date part of a normalised timestamp (``2008 11 25 00 00 00`` -> ``2008 11 25``).

    The date is the first three words (or the first, if compact), and what
    follows must be a time: an hour, minutes, and optional seconds, fraction
    and zone.
    """
    words = key.split()
    for size in (3, 1):
        rest = words[size:]
        if 2 <= len(rest) <= 6 and len(rest[0]) <= 2 and all(w.rstrip("z").isdigit() or w in _TIME_WORDS for w in rest):
            return " ".join(words[:size])
    return None


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
        # Codes with their separators removed, for codes written in groups
        # or split by inline tags (see :meth:`_split_codes`).
        compact = ahocorasick.Automaton()
        for kind in SPLITTABLE:
            for value in identifiers.codes.get(kind, []):
                key = _ASCII_WORDS.sub("", normalise(str(value)))
                if len(key) >= 5 and key not in compact:
                    compact.add_word(key, (len(key), kind, str(value)))
        if len(compact):
            compact.make_automaton()
            self._compact = compact
        else:
            self._compact = None
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
        original = _DATE_T.sub(" ", original)  # same length, so positions hold
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
        found += self._split_codes(original, tok)
        return sorted(set(found))

    def _split_codes(self, original: str, tok: _Tokens) -> list[tuple[int, str, str]]:
        """Codes written in groups: words joined by one space, hyphen or nothing.

        "A901 0017 13019", "SF-100559" and "A9010" "0171" "3019" from inline
        tags are joined and matched against the codes with their separators
        removed. A match must start at the start of a word and end at the end
        of one, and span two words or more (one word is found on sight).
        """
        if self._compact is None or len(tok.spans) < 2:
            return []
        words = tok.text.split(" ")
        found: list[tuple[int, str, str]] = []
        i, n = 0, len(words)
        while i < n:
            j = i
            while j + 1 < n and original[tok.spans[j][1] : tok.spans[j + 1][0]] in _JOINERS:
                j += 1
            if j > i:
                starts, ends, pos = {}, {}, 0
                for k in range(i, j + 1):
                    starts[pos] = k
                    pos += len(words[k])
                    ends[pos] = k
                for end, (length, kind, value) in self._compact.iter("".join(words[i : j + 1])):
                    first, last = starts.get(end - length + 1), ends.get(end + 1)
                    if first is not None and last is not None and last > first:
                        found.append((tok.spans[first][0], kind, value))
            i = j + 1
        return found

    def find_cell(self, cell: str, depth: int = 0) -> list[tuple[str, str]]:
        """Identifiers inside one table cell (any case): ``(kind, value)``.

        Also codes written in groups, and base64 in the cell, decoded.
        """
        text = normalise(cell)
        found: list[tuple[str, str]] = []
        for _, decoded in _base64_runs(cell) if depth < _MAX_DEPTH else ():
            found += [(f"{kind} (base64)", value) for _, kind, value in self._decoded(decoded, depth + 1)]
        if text.count(" ") >= CELL_WORDS:
            # A paragraph in a cell (a search index, a notes column) is prose:
            # the free-text rules apply, not "any two names of one person".
            return sorted(set(found + [(kind, value) for _, kind, value in self.find_text(cell)]))
        found += [(kind, value) for _, kind, value in self._split_codes(cell, _tokens(cell))]
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
        """The name or date a whole cell is, if it is one.

        A date with a time of day (``2008-11-25 00:00:00``, as pandas
        writes a timestamp) is that date.
        """
        key = normalise(cell)
        entry = self._names.get(key)
        if entry is None and any(ch.isdigit() for ch in key):
            key = normalise(_DATE_T.sub(" ", cell))
            entry = self._names.get(key)
            if entry is None:
                date = _date_of_timestamp(key)
                entry = self._names.get(date) if date else None
                if entry is not None and entry.dob is None:
                    entry = None
        return entry

    def _decoded(self, data: bytes, depth: int) -> list[tuple[int, str, str]]:
        """Identifiers in decoded base64: an image's metadata, or text."""
        if data.startswith(_IMAGE_SIGNATURES):
            try:
                return self.find_text("\n".join(image_texts(data)))
            except _Unreadable as exc:
                return [(0, "unreadable image (cannot be checked)", str(exc))]
        text = _as_text(data)
        if text is None:
            return []
        found = self.find_text(text)
        if depth < _MAX_DEPTH:
            for _, inner in _base64_runs(text):
                found += self._decoded(inner, depth + 1)
        return found

    def scan_text(self, text: str, path: Path, where: str = "line", *, place=None, depth: int = 0) -> list[Hit]:
        """Scan free text; hits are placed by line (or by ``place(position)``).

        Base64 runs in the text are decoded and scanned too (see module docstring).
        """
        if place is None:
            line_starts = np.cumsum([0] + [len(line) + 1 for line in text.split("\n")[:-1]])

            def place(pos: int) -> str:
                return f"{where} {int(np.searchsorted(line_starts, pos, side='right'))}"

        hits = [Hit(path, place(pos), kind, value) for pos, kind, value in self.find_text(text)]
        if depth < _MAX_DEPTH:
            for pos, data in _base64_runs(text):
                for _, kind, value in self._decoded(data, depth + 1):
                    hits.append(Hit(path, f"{place(pos)} (base64)", f"{kind} (base64)", value))
        return hits

    def _scan_segments(self, segments: list[tuple[str, str]], path: Path, joiner: str) -> list[Hit]:
        """Scan labelled pieces of text as one text; each hit is placed by its piece's label."""
        if not segments:
            return []
        starts = np.cumsum([0] + [len(t) + len(joiner) for _, t in segments[:-1]])
        labels = [label for label, _ in segments]
        text = joiner.join(t for _, t in segments)
        return self.scan_text(text, path, place=lambda pos: labels[int(np.searchsorted(starts, pos, side="right")) - 1])

    def scan_html(self, text: str, path: Path, where: str = "") -> list[Hit]:
        """Scan an HTML page as a reader and a browser see it.

        The text (inline tags joined as a browser joins them, so a code split
        by ``<span>`` is whole again), each table cell by cell, every
        attribute value (``alt``, ``title``, ``data-*``, ``href``, a
        ``data:`` URI...) and every comment.
        """
        prefix = f"{where}, " if where else ""
        page = parse_html(text)
        hits = self._scan_segments([(f"{prefix}line {line}", t) for line, t in page.text], path, "")
        hits += self._scan_segments([(f"{prefix}line {line}, attribute {name}", v) for line, name, v in page.attributes], path, "\n")
        hits += self._scan_segments([(f"{prefix}line {line}, comment", c) for line, c in page.comments], path, "\n")
        for t, table in enumerate(html_tables(text)):
            hits += self.scan_table(table, path, where=f"{prefix}table {t}")
        return hits

    def scan_pdf(self, path: Path) -> list[Hit]:
        """Scan a PDF: each page's text (as extracted, and with its lines
        joined, so a name broken across lines is found), the document
        information, link targets and the outline."""
        try:
            parts = pdf_texts(path)
        except _Unreadable as exc:
            return [Hit(path, "file", "unreadable PDF (cannot be checked)", str(exc))]
        hits: list[Hit] = []
        for where, text in parts:
            hits += self.scan_text(text, path, where=f"{where}, line")
            joined = re.sub(r"-\n(?=[a-z])", "", text).replace("\n", " ")
            if joined != text:
                hits += [
                    Hit(path, f"{where} (lines joined)", h.kind, h.value)
                    for h in self.scan_text(joined, path, where=where)
                ]
        return _unique(hits)

    def scan_image(self, data: bytes, path: Path, where: str = "image metadata") -> list[Hit]:
        """Scan an image's metadata (text chunks, EXIF, XMP, comments); pixels are not read."""
        try:
            texts = image_texts(data)
        except _Unreadable as exc:
            return [Hit(path, where, "unreadable image (cannot be checked)", str(exc))]
        return self.scan_text("\n".join(texts), path, where=f"{where}, entry")

    def scan_parquet_metadata(self, path: Path) -> list[Hit]:
        """Scan a Parquet file's key-value metadata and each column's metadata."""
        try:
            entries = parquet_metadata(path)
        except _Unreadable as exc:
            return [Hit(path, "file metadata", "unreadable table (cannot be checked)", str(exc))]
        return self._scan_segments([(f"metadata {key!r}", value) for key, value in entries], path, "\n")

    def scan_file(self, path: Path) -> list[Hit]:
        """Scan one file by its type (see module docstring)."""
        suffix = path.suffix.lower()
        if suffix in IMAGE_TYPES:
            return self.scan_image(path.read_bytes(), path)
        if suffix == ".pdf":
            return self.scan_pdf(path)
        if suffix in TABLE_TYPES:
            frame = _read_table(path)
            if frame is not None:
                hits = self.scan_table(frame, path)
                if suffix == ".parquet":
                    hits += self.scan_parquet_metadata(path)
                return hits
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
        """Scan every cell's source and stored outputs, and the metadata of its images."""
        hits = []
        for i, cell in enumerate(nb.get("cells", [])):
            for part, mime, text in _notebook_texts(cell):
                where = f"cell {i} {part}"
                if mime.startswith("image/") and mime != "image/svg+xml":
                    try:
                        data = base64.b64decode(text, validate=False)
                    except ValueError:
                        hits.append(Hit(path, where, "unreadable image (cannot be checked)", mime))
                        continue
                    hits += self.scan_image(data, path, where=f"{where}, {mime} metadata")
                elif "html" in mime or "svg" in mime:
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


#: Tags a browser shows on lines of their own; every other tag is inline and
#: joins the text either side of it ("A9010<span>0171</span>" reads "A90100171").
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 head header hr html li link main meta nav ol option p pre "
    "script section style summary table tbody td tfoot th thead title tr ul".split()
)


@dataclass
class _Page:
    """An HTML page as the scanner reads it (each piece with its source line)."""

    text: list[tuple[int, str]] = field(default_factory=list)
    attributes: list[tuple[int, str, str]] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = _Page()
        self._pre = 0

    def _tag(self, tag: str, attrs: list) -> None:
        line = self.getpos()[0]
        self.page.attributes += [(line, name, value) for name, value in attrs if value]
        if tag in _BLOCK_TAGS:
            self.page.text.append((line, "\n"))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._tag(tag, attrs)
        self._pre += tag == "pre"

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self._tag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre" and self._pre:
            self._pre -= 1
        if tag in _BLOCK_TAGS:
            self.page.text.append((self.getpos()[0], "\n"))

    def handle_data(self, data: str) -> None:
        # Outside <pre> a browser shows every run of white space as one space.
        self.page.text.append((self.getpos()[0], data if self._pre else re.sub(r"\s+", " ", data)))

    def handle_comment(self, data: str) -> None:
        self.page.comments.append((self.getpos()[0], data))


def parse_html(text: str) -> _Page:
    """The text, attribute values and comments of an HTML page, by source line."""
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return parser.page


def html_text(text: str) -> str:
    """The text of an HTML page as a browser joins it (block tags on their own lines)."""
    return "".join(t for _, t in parse_html(text).text)


class _Unreadable(Exception):
    """A file or embedded object that cannot be read, so cannot be vouched for."""


#: How deep base64 inside decoded base64 is followed.
_MAX_DEPTH = 2
_BASE64 = re.compile(rf"[A-Za-z0-9+/_-]{{{BASE64_MIN},}}={{0,2}}")
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF", b"II*\x00", b"MM\x00*")
_JOINERS = frozenset({" ", "-", "\u00a0", "\u2009", "\u202f"})
#: The "T" between a date and a time ("2008-11-25T00:00"), which would glue two words.
_DATE_T = re.compile(r"(?<=\d)[Tt](?=\d{1,2}:\d{2})")


def _base64_runs(text: str) -> Iterator[tuple[int, bytes]]:
    """(position, decoded bytes) of every run of base64 in ``text`` that decodes.

    Standard and URL-safe alphabets; runs shorter than :data:`BASE64_MIN`
    characters are ignored (ordinary words).
    """
    for match in _BASE64.finditer(text):
        run = match.group().rstrip("=")
        if len(run) % 4 == 1 or not any(c.isdigit() or c.isupper() for c in run):
            continue
        urlsafe = "-" in run or "_" in run
        if urlsafe and ("+" in run or "/" in run):
            continue
        try:
            data = base64.b64decode(run + "=" * (-len(run) % 4), altchars=b"-_" if urlsafe else None, validate=True)
        except ValueError:
            continue
        yield match.start(), data


def _as_text(data: bytes) -> str | None:
    """Decoded bytes as text, if they are text (UTF-8, nearly all printable)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text)
    return text if text and printable >= 0.95 * len(text) else None


def _unique(hits: list[Hit]) -> list[Hit]:
    seen, out = set(), []
    for h in hits:
        if (h.kind, h.value) not in seen:
            seen.add((h.kind, h.value))
            out.append(h)
    return out


#: Image metadata keys that hold binary data, not text.
_BINARY_INFO = frozenset({"icc_profile", "exif", "transparency", "dpi", "gamma", "aspect", "duration", "loop", "background", "version", "extension", "interlace", "chromaticity", "srgb", "adobe", "adobe_transform", "progression", "progressive", "jfif", "jfif_version", "jfif_unit", "jfif_density"})


def image_texts(data: bytes) -> list[str]:
    """The text an image file carries besides its pixels, as ``key: value`` lines.

    PNG ``tEXt``, ``zTXt`` and ``iTXt`` chunks (before and after the pixel
    data), EXIF tags (and the Exif sub-directory), XMP, and comments.

    Raises
    ------
    _Unreadable
        If Pillow cannot open or decode the image.
    """
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # PNG text chunks after the pixel data are read only now
            info = dict(im.info)
            info.update(getattr(im, "text", None) or {})
            exif = im.getexif()
            tags = dict(exif)
            for ifd in (0x8769, 0x8825):  # the Exif and GPS sub-directories
                try:
                    tags.update(exif.get_ifd(ifd))
                except (KeyError, ValueError, OSError):
                    pass
    except Exception as exc:  # any decoder error: the image cannot be vouched for
        raise _Unreadable(f"{type(exc).__name__}: {exc}") from None
    lines = []
    for key, value in [*info.items(), *tags.items()]:
        if str(key).lower() in _BINARY_INFO:
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, str) and value.strip():
            lines.append(f"{key}: {value}")
    return lines


def pdf_texts(path: Path) -> list[tuple[str, str]]:
    """(where, text) of a PDF: document information, each page's text, link
    targets and annotation text, and the outline (read with ``pypdf``).

    Raises
    ------
    _Unreadable
        If the file is not a PDF pypdf can read, or needs a password.
    """
    try:
        from pypdf import PdfReader

        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Unreadable("encrypted: needs a password")
        parts = [("document information", "\n".join(f"{k}: {v}" for k, v in (reader.metadata or {}).items()))]
        for number, page in enumerate(reader.pages, start=1):
            parts.append((f"page {number}", page.extract_text() or ""))
            notes = []
            for annot in page.get("/Annots") or []:
                obj = annot.get_object()
                action = obj.get("/A")
                action = action.get_object() if action is not None else {}
                notes += [str(v) for v in (obj.get("/Contents"), action.get("/URI")) if v]
            if notes:
                parts.append((f"page {number} links and notes", "\n".join(notes)))
        titles: list[str] = []

        def walk(items: list) -> None:
            for item in items:
                if isinstance(item, list):
                    walk(item)
                else:
                    titles.append(str(getattr(item, "title", "") or ""))

        walk(reader.outline)
        if titles:
            parts.append(("outline", "\n".join(titles)))
    except _Unreadable:
        raise
    except Exception as exc:  # any reader error: the file cannot be vouched for
        raise _Unreadable(f"{type(exc).__name__}: {exc}") from None
    return parts


def parquet_metadata(path: Path) -> list[tuple[str, str]]:
    """(key, value) of a Parquet file's key-value metadata and its columns' metadata.

    The ``ARROW:schema`` entry (the schema serialised in binary) is left out:
    the column names and metadata it repeats are read here directly.
    """
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        created_by = pq.read_metadata(path).created_by or ""
    except Exception as exc:  # any reader error: the file cannot be vouched for
        raise _Unreadable(f"{type(exc).__name__}: {exc}") from None

    def text(value: bytes) -> str:
        return value.decode("utf-8", errors="replace")

    entries = [("created_by", created_by)]
    entries += [(text(k), text(v)) for k, v in (schema.metadata or {}).items() if k != b"ARROW:schema"]
    for column in schema:
        entries += [(f"{column.name}: {text(k)}", text(v)) for k, v in (column.metadata or {}).items()]
    return entries


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
            yield "output", mime, json.dumps(value) if mime.endswith("json") else _joined(value)
    for name, bundle in (cell.get("attachments") or {}).items():
        for mime, value in (bundle or {}).items():
            yield f"attachment {name!r}", mime, _joined(value)


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
            if suffix in FONT_ASSETS:
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


def run_scan(paths: Paths | None = None, targets: Sequence[Path] | None = None, *,
             checks: Sequence = ()) -> ScanResult:
    """Collect the identifiers and scan the research-facing files.

    ``checks`` are further checks with the same scanner, each
    ``check(paths, scanner, result)`` adding its hits to ``result`` (the
    linkage unit's folder: :func:`sendlink.scan.linkage_unit.check_linkage_unit`).

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
    for check in checks:
        check(paths, scanner, result)
    log.info("identifier scanner: built in %.1f s; %s", built, result.summary().splitlines()[0])
    for path, party in result.allowed:
        log.info("let through (declared teaching page, %s): %s", party, path)
    if not result.clean:
        raise IdentifierLeak(result)
    return result

"""Standardisation: the same identifier, written the same way on both sides.

Stage ``link``, run by the DfE linkage team. **In:** a linkage spine
(docs/DESIGN.md section 4; survey or NPD side, any identifier column may be empty
or absent). **Out:** one row per input row with the identifiers cleaned and
split into the parts the comparisons and blocking passes use. Nothing is
dropped and nothing raises on a strange value: a value that cannot be
understood becomes *missing*, and missing is "no evidence" later on.

Rules, in the order they are applied
------------------------------------
Names (forename, middle names, surname)
    Letters that Unicode does not decompose are transliterated first
    (:data:`TRANSLITERATE`: Polish ``ł`` -> ``l``, Turkish dotless ``ı`` ->
    ``i``, ``ø`` -> ``o``, ``ß`` -> ``ss``...), so ``Michał`` and ``Michal``
    are one name; then Unicode NFKD and combining marks dropped (``Zoë`` ->
    ``zoe``, Romanian ``ș`` -> ``s``), lower case, apostrophes removed (``O'Brien`` -> ``obrien``), hyphens, dots and
    other punctuation turned into spaces, digits dropped, whitespace
    collapsed.
Forename split from middle names
    A forename field may hold several given names (``Mary Jane``,
    ``Mary-Jane``): the first token is the *forename*, all tokens run
    together are *forename_full* (``maryjane``), and the other tokens join
    the middle names.
Surname particles and double-barrelled surnames
    ``surname`` is every token run together (``Smith-Jones`` ->
    ``smithjones``, ``de Souza`` -> ``desouza``); ``surname_parts`` holds the
    tokens that are not particles (``smith jones``, ``souza``), so each part
    of a double-barrelled name can agree on its own. Title names
    (:data:`TITLE_NAMES`: Begum, Khatun, Bibi, Kaur, Singh) stay parts here
    (blocking pairs ``Sikder Begum`` with ``Begum``), but the comparison does
    not count a shared title as a shared family name: ``Begum Rahman``
    agrees in part with ``Rahman``, and two girls called Begum are not "the
    same family" (:mod:`sendlink.link.compare`; docs/DOMAIN.md, "Names in
    England's communities").
Postcodes
    Upper case, spaces removed, then split by the UK pattern into
    *unit* ``SW1A 1AA``, *sector* ``SW1A 1``, *district* ``SW1A`` and *area*
    ``SW``. A value that is not a UK postcode keeps its compact form as the
    unit and has no sector, district or area (it can still agree exactly).
Dates of birth
    ISO ``YYYY-MM-DD`` (the contract) and ``YYYYMMDD``; also the UK
    day-first forms ``DD/MM/YYYY``, ``DD-MM-YYYY``, ``DD.MM.YYYY`` (England
    writes dates day first, so these are unambiguous here) and
    ``YYYY/MM/DD``. Two-digit years (which century?) and impossible dates
    (30 February) become missing. Parquet datetimes are accepted as they are.
Sex
    ``F``/``female``/``girl`` -> ``F``, ``M``/``male``/``boy`` -> ``M``,
    anything else (``U``, ``X``, unknown) -> missing.
School URN
    Digits only, leading zeros and a trailing ``.0`` (a number read as a
    float) removed.

Every rule works on the distinct values of a column, not on every row, so
standardising a 9.1-million-row NPD costs little more than factorising it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

from sendlink.link.variants import SPELLING_VARIANTS, SURNAME_VARIANTS
from sendlink.schema.spine import (
    IDENTIFIER_COLUMNS,  # the spine contract's columns (docs/DESIGN.md section 4)
)

__all__ = [
    "IDENTIFIER_COLUMNS",
    "PREFIX_NAMES",
    "TITLE_NAMES",
    "TRANSLITERATE",
    "clean_name",
    "name_groups",
    "parse_dates",
    "postcode_levels",
    "standardise_spine",
]


#: Surname particles: written or dropped freely (``de Souza``/``Souza``), so
#: they do not count as a part of their own. Kept in ``surname`` itself.
SURNAME_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "st",
     "al", "el", "bin", "ibn", "ben", "ap", "ter", "ten", "dos", "das"}
)

#: Title names: used as a surname in one record and beside the family name (or not at
#: all) in another. Begum, Khatun and Bibi are borne by many Bangladeshi and Pakistani
#: women and girls; Kaur (girls) and Singh (boys) by Sikhs, often with the family name
#: (Gill, Sandhu) beside them or instead of it (docs/DOMAIN.md).
TITLE_NAMES = frozenset({"begum", "khatun", "bibi", "kaur", "singh"})

#: Given names that come first, before the name a child is known by: Muhammad and its
#: spellings and abbreviations (Md, Mohd) among Muslim boys (docs/DOMAIN.md).
PREFIX_NAMES = frozenset({"muhammad", "mohammed", "mohammad", "mohamed", "muhammed", "mohamad", "muhamed", "mohammod",
                          "mahammed", "md", "mohd", "mhd", "muhamad", "mohamud"})

#: Letters Unicode NFKD leaves whole (they are letters of their own, not a base letter
#: with a mark): transliterated as English-language systems usually write them.
TRANSLITERATE = {"ł": "l", "Ł": "L", "ı": "i", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae", "Æ": "Ae",
                 "œ": "oe", "Œ": "Oe", "þ": "th", "ð": "d", "ħ": "h"}
_TRANSLATE = str.maketrans(TRANSLITERATE)

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`\u00b4]")
_NON_LETTER = re.compile(r"[^a-z]+")
_UK_POSTCODE = re.compile(r"^([A-Z]{1,2})([0-9][A-Z0-9]?)([0-9])([A-Z]{2})$")


def clean_name(value: object) -> str:
    """Return a name cleaned to lower-case ASCII letters and single spaces.

    ``"  Zoë-Marie  O'Neill "`` -> ``"zoe marie oneill"``; a missing or
    letter-less value gives ``""``.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    text = unicodedata.normalize("NFKD", str(value).translate(_TRANSLATE))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHES.sub("", text.lower())
    return " ".join(_NON_LETTER.sub(" ", text).split())


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (missing -> the last slot) and distinct values of a column."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes)
    return codes, np.asarray(uniques, dtype=object)


def _map_unique(values: pd.Series, function: Callable[[object], object]) -> pd.Series:
    """Apply ``function`` to each distinct value only, then broadcast back."""
    codes, uniques = _factorize(values)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:] = [function(v) for v in uniques] + [function(None)]
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _map_unique_columns(columns: list[pd.Series], function: Callable[..., tuple]) -> list[np.ndarray]:
    """Apply ``function`` to each distinct combination of values; one array per output.

    ``function`` takes one value per column (``None`` when missing) and
    returns a tuple of outputs; it runs once per distinct combination.
    """
    n_rows = len(columns[0])
    combined = np.zeros(n_rows, dtype=np.int64)
    all_codes, all_uniques = [], []
    for column in columns:
        codes, uniques = _factorize(column)
        all_codes.append(codes)
        all_uniques.append(np.append(uniques, None))
        combined = combined * (len(uniques) + 1) + codes
    keys, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    results = [
        function(*(uniques[codes[row]] for codes, uniques in zip(all_codes, all_uniques, strict=True)))
        for row in first
    ]
    n_out = len(results[0]) if results else len(function(*([None] * len(columns))))
    outputs = []
    for k in range(n_out):
        values = np.empty(len(results), dtype=object)
        values[:] = [r[k] for r in results]
        outputs.append(values[inverse] if n_rows else values[:0])
    return outputs


def _surname_parts(tokens: tuple[str, ...]) -> str | None:
    parts = [t for t in tokens if t not in SURNAME_PARTICLES]
    return " ".join(parts) if parts else (" ".join(tokens) if tokens else None)


def postcode_levels(value: object) -> tuple[object, object, object, object]:
    """Split a postcode into (unit, sector, district, area).

    >>> postcode_levels(" sw1a1aa ")
    ('SW1A 1AA', 'SW1A 1', 'SW1A', 'SW')
    >>> postcode_levels("4223")            # not a UK postcode: unit only
    ('4223', None, None, None)
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return (None, None, None, None)
    compact = re.sub(r"[^A-Z0-9]", "", str(value).upper())
    if not compact:
        return (None, None, None, None)
    match = _UK_POSTCODE.match(compact)
    if match is None:
        return (compact, None, None, None)
    area, district_tail, sector_digit, unit_tail = match.groups()
    district = area + district_tail
    return (f"{district} {sector_digit}{unit_tail}", f"{district} {sector_digit}", district, area)


_DATE_FORMATS = (
    # (regex, group order) -> year, month, day
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"), (0, 1, 2)),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), (0, 1, 2)),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T].*)?$"), (0, 1, 2)),
    # Spreadsheet exports often add a time of day: "12/03/2009 00:00".
    (re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ T].*)?$"), (2, 1, 0)),
)


_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
# Dates with the month written out, as forms and letters write them:
# "5 Jan 2009", "05-JAN-2009", "5th January 2009", "January 5, 2009".
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]+([a-z]{3,9})\.?[\s\-/.,]+(\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")


def _month_number(word: str) -> int:
    """1-12 for a month name or its abbreviation (the regexes allow three letters or more), else -1."""
    return next((number for number, name in enumerate(_MONTH_NAMES, 1) if name.startswith(word)), -1)


def _named_month(text: str) -> tuple[int, int, int] | None:
    low = text.lower()
    match = _DAY_MONTH_YEAR.match(low)
    if match:
        day, month, year = match.group(1), match.group(2), match.group(3)
    else:
        match = _MONTH_DAY_YEAR.match(low)
        if match is None:
            return None
        month, day, year = match.group(1), match.group(2), match.group(3)
    return (int(year), _month_number(month), int(day))


def _parse_date(value: object) -> tuple[int, int, int]:
    if value is None or value is pd.NA or value is pd.NaT:
        return (-1, -1, -1)
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "year"):
        try:
            stamp = pd.Timestamp(value)
            return (stamp.year, stamp.month, stamp.day)
        except (ValueError, TypeError):
            return (-1, -1, -1)
    if isinstance(value, float) and np.isnan(value):
        return (-1, -1, -1)
    text = str(value).strip()
    if isinstance(value, (int, np.integer)) or re.fullmatch(r"\d{8}\.0", text):
        text = text.split(".")[0]
    for pattern, order in _DATE_FORMATS:
        match = pattern.match(text)
        if match:
            groups = match.groups()
            found = tuple(int(groups[i]) for i in order)
            break
    else:
        found = _named_month(text)
    if found is None:
        return (-1, -1, -1)
    year, month, day = found
    try:
        pd.Timestamp(year=year, month=month, day=day)
    except (ValueError, OverflowError):
        return (-1, -1, -1)
    return (year, month, day)


def parse_dates(values: pd.Series) -> pd.DataFrame:
    """Parse dates defensively into integer ``year``, ``month``, ``day`` (-1 = missing).

    Never raises: an unparseable or impossible date is missing.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = np.array([_parse_date(v) for v in uniques] + [(-1, -1, -1)], dtype=np.int32).reshape(-1, 3)
    out = parsed[codes]
    return pd.DataFrame({"year": out[:, 0], "month": out[:, 1], "day": out[:, 2]}, index=values.index)


_SEX = {"f": "F", "female": "F", "girl": "F", "m": "M", "male": "M", "boy": "M"}


def _clean_sex(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return _SEX.get(str(value).strip().lower())


def _clean_urn(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    text = re.sub(r"\.0+$", "", text)
    digits = re.sub(r"\D", "", text).lstrip("0")
    return digits or None


@lru_cache(maxsize=1)
def _group_table() -> dict[str, frozenset[str]]:
    """name -> the labels of the nickname and spelling-variant groups it belongs to."""
    from nicknames import NickNamer

    groups: dict[str, set[str]] = {}
    for canonical, nicks in NickNamer.default_lookup().items():
        canonical = clean_name(canonical).replace(" ", "")
        if not canonical:
            continue
        groups.setdefault(canonical, set()).add(f"nick:{canonical}")
        for nick in nicks:
            nick = clean_name(nick).replace(" ", "")
            if nick:
                groups.setdefault(nick, set()).add(f"nick:{canonical}")
    for spellings in SPELLING_VARIANTS:
        label = f"var:{spellings[0]}"
        for name in spellings:
            groups.setdefault(name, set()).add(label)
            # A spelling variant shares its nickname groups too (Isobel ~ Izzy).
    for spellings in SPELLING_VARIANTS:
        shared = set().union(*(groups.get(name, set()) for name in spellings))
        for name in spellings:
            groups[name] = groups.get(name, set()) | shared
    # Family names: their own groups (a surname variant is no nickname of a given name).
    for spellings in SURNAME_VARIANTS:
        for name in spellings:
            groups.setdefault(name, set()).add(f"sur:{spellings[0]}")
    return {name: frozenset(labels) for name, labels in groups.items()}


def name_groups(name: str) -> frozenset[str]:
    """The nickname/variant groups of a standardised given name.

    Two given names are *variant-equivalent* when their groups intersect:
    ``robert`` and ``bob`` share ``nick:robert``; ``mohammed`` and ``muhammad``
    share ``var:mohammed``. Names in no group return an empty set.
    """
    return _group_table().get(name, frozenset())


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype=object)


def standardise_spine(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Standardise a linkage spine (see the module docstring for the rules).

    Parameters
    ----------
    frame
        A survey or NPD spine; identifier columns may be absent or empty,
        extra columns are ignored.
    key
        The key column (``survey_id`` or ``upn``), copied through as text.

    Returns
    -------
    DataFrame
        One row per input row, in input order, with ``key`` and the columns
        ``forename, forename_full, middle, surname, surname_parts, dob,
        dob_year, dob_month, dob_day, sex, postcode, pc_sector, pc_district,
        pc_area, school``. Missing is ``None`` (text) or ``-1`` (date parts).
    """
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    out[key] = frame[key].astype(str) if key in frame.columns else pd.Series(dtype=str)

    def forenames(fore: object, middle: object) -> tuple:
        f_tokens = clean_name(fore).split()
        m_tokens = clean_name(middle).split()
        tail = f_tokens[1:] + m_tokens
        return (
            f_tokens[0] if f_tokens else None,
            "".join(f_tokens) or None,
            " ".join(tail) or None,
        )

    def surnames(sur: object) -> tuple:
        tokens = clean_name(sur).split()
        return ("".join(tokens) or None, _surname_parts(tuple(tokens)))

    fore, full, mid = _map_unique_columns([_column(frame, "forename"), _column(frame, "middle_names")], forenames)
    out["forename"], out["forename_full"], out["middle"] = fore, full, mid
    out["surname"], out["surname_parts"] = _map_unique_columns([_column(frame, "surname")], surnames)

    dates = parse_dates(_column(frame, "date_of_birth"))
    out["dob_year"], out["dob_month"], out["dob_day"] = dates["year"], dates["month"], dates["day"]
    valid = dates["year"] >= 0
    iso = pd.Series(None, index=frame.index, dtype=object)
    if valid.any():
        d = dates[valid]
        iso[valid] = (
            d["year"].astype(str).str.zfill(4) + "-" + d["month"].astype(str).str.zfill(2) + "-" + d["day"].astype(str).str.zfill(2)
        )
    out.insert(out.columns.get_loc("dob_year"), "dob", iso)

    out["sex"] = _map_unique(_column(frame, "sex"), _clean_sex)
    levels = _map_unique_columns([_column(frame, "postcode")], postcode_levels)
    for name, values in zip(("postcode", "pc_sector", "pc_district", "pc_area"), levels, strict=True):
        out[name] = values
    out["school"] = _map_unique(_column(frame, "school_urn"), _clean_urn)
    return out

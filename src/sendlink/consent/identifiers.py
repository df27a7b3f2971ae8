"""What a rectification may correct, and the checks a corrected value must pass."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from sendlink.consent.files import CHILD_IDENTIFIERS, PARENT_CONTACT

#: Fields each person may have corrected: the parent any, the young person
#: their own identifiers.
CORRECTABLE = {
    "parent": (*CHILD_IDENTIFIERS, *PARENT_CONTACT),
    "young_person": CHILD_IDENTIFIERS,
}

_NAME = re.compile(r"[^\W\d_](?:[^\W\d_]|[ '\-.’])*")
_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})")
_URN = re.compile(r"[0-9]{6}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{6,19}")
#: Fields that may be corrected to empty (a wrong value removed).
_MAY_BE_EMPTY = {"middle_names", "sex", "school_urn", "email", "phone"}


def _name(value: str) -> str:
    text = " ".join(value.split())
    if not _NAME.fullmatch(text) or len(text) > 100:
        raise ValueError("must be letters, with spaces, hyphens or apostrophes between them (at most 100 characters)")
    return text


def _date(value: str, today: dt.date) -> str:
    try:
        when = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be a date written YYYY-MM-DD") from None
    if len(value.strip()) != 10:
        raise ValueError("must be a date written YYYY-MM-DD")
    if when > today:
        raise ValueError(f"is in the future (after {today})")
    if when.year < 1900:
        raise ValueError("is before 1900")
    return when.isoformat()


def _sex(value: str) -> str:
    text = value.strip().upper()
    if text not in ("F", "M"):
        raise ValueError("must be F or M (or empty)")
    return text


def _postcode(value: str) -> str:
    match = _POSTCODE.fullmatch(value.strip().upper())
    if not match:
        raise ValueError("is not a UK postcode (e.g. SW1A 1AA)")
    return f"{match.group(1)} {match.group(2)}"


def _urn(value: str) -> str:
    if not _URN.fullmatch(value.strip()):
        raise ValueError("must be a 6-digit school URN")
    return value.strip()


def _address(value: str) -> str:
    text = " ".join(value.split())
    if not text or len(text) > 200 or not text.isprintable():
        raise ValueError("must be printable text of at most 200 characters")
    return text


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value.strip()):
        raise ValueError("is not an email address")
    return value.strip()


def _phone(value: str) -> str:
    if not _PHONE.fullmatch(value.strip()):
        raise ValueError("is not a phone number")
    return " ".join(value.split())


_CHECKS = {
    "forename": _name,
    "middle_names": _name,
    "surname": _name,
    "sex": _sex,
    "postcode": _postcode,
    "school_urn": _urn,
    "parent_forename": _name,
    "parent_surname": _name,
    "address_line": _address,
    "email": _email,
    "phone": _phone,
}


def check_corrections(fields: Mapping[str, object], person: str, today: dt.date) -> dict[str, str]:
    """Check and normalise corrected values; return them.

    Raises
    ------
    ValueError
        With every problem, one per line, naming the field.
    """
    if not isinstance(fields, Mapping) or not fields:
        raise ValueError("a rectification needs at least one field=value")
    allowed = CORRECTABLE.get(person)
    if allowed is None:
        raise ValueError(f"unknown person {person!r}")
    problems: list[str] = []
    out: dict[str, str] = {}
    for name, raw in fields.items():
        if name not in allowed:
            extra = " (only the parent may correct the parent's contact details)" if name in PARENT_CONTACT else ""
            problems.append(f"'{name}' cannot be corrected{extra}; correctable fields: {', '.join(allowed)}")
            continue
        if not isinstance(raw, str):
            problems.append(f"'{name}' must be text, got {raw!r}")
            continue
        if raw.strip() == "":
            if name in _MAY_BE_EMPTY:
                out[name] = ""
            else:
                problems.append(f"'{name}' cannot be corrected to empty")
            continue
        try:
            out[name] = _date(raw, today) if name == "date_of_birth" else _CHECKS[name](raw)
        except ValueError as exc:
            problems.append(f"'{name}' = {raw!r} {exc}")
    if problems:
        raise ValueError("; ".join(problems))
    return out

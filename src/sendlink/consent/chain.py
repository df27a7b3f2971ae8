"""A keyed hash chain over the consent register's events: tamper evidence.

Each event's ``digest`` is an HMAC-SHA256, keyed with the register key, of
the previous event's digest and of every stored field of the event (in a
fixed order, as stored). Changing, inserting, deleting or reordering an
event therefore breaks the chain at that event or at the next one, and
nobody without the key can compute a digest that fits. The register also
stores the chain's length and last digest (the *head*) with an HMAC of its
own, so deleting the last events is caught too.

What is covered besides the events:

* ``cases`` rows: the ``case_key`` of a row must be the keyed hash of its
  ``survey_id`` (a forged or swapped id is caught);
* ``event_payloads`` rows: each event with personal details stores a keyed
  digest of them (``payload_mac``), itself chained; a payload row must
  match it. An erasure deletes the payload but not its digest, so the chain
  stays intact (the digest reveals nothing without the key).

What it cannot do (said in the secure-environment page): someone who has the
key can rewrite the whole chain, and someone who kept a complete earlier copy
of the register can put it back (a rollback). The chain proves that the log
is the one sendlink wrote, not that it is the latest; a copy of the head kept
elsewhere (``sendlink consent verify`` prints it) detects a rollback.

Hand-written on the standard library (``hmac``, ``hashlib``, ``json``): a
hash chain is a loop over one HMAC call; no library adds anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: The digest before the first event.
GENESIS = "0" * 64

#: The stored fields of an event a digest covers, in this order.
CHAINED = (
    "seq", "event_key", "case_key", "person", "kind", "scope", "decision", "effective_date", "contact", "source",
    "origin", "details", "recorded_at", "payload_mac",
)

_VERSION = "sendlink-register-chain-v1"


def _mac(key: bytes, purpose: str, *parts: str) -> str:
    message = "\x1f".join((_VERSION, purpose, *parts)).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def event_digest(key: bytes, previous: str, row: Mapping[str, object]) -> str:
    """The digest of an event (its stored fields ``row``) following ``previous``."""
    body = json.dumps([row.get(c) for c in CHAINED], ensure_ascii=False, separators=(",", ":"))
    return _mac(key, "event", previous, body)


def payload_mac(key: bytes, event_key: str, source_ref: str | None, payload: str | None) -> str | None:
    """The keyed digest of an event's personal details (``None`` when it has none)."""
    if source_ref is None and payload is None:
        return None
    return _mac(key, "payload", event_key, json.dumps([source_ref, payload], ensure_ascii=False, separators=(",", ":")))


def head_mac(key: bytes, length: int, head: str) -> str:
    """The keyed digest of the chain's head: its length and last digest."""
    return _mac(key, "head", str(int(length)), head)


@dataclass(frozen=True)
class Break:
    """Where the chain first fails, and how."""

    seq: int | None
    ref: str
    what: str
    problem: str

    def __str__(self) -> str:
        where = f"event {self.seq} (ref {self.ref}, {self.what})" if self.seq is not None else self.what
        return f"{self.problem} at {where}"


def _describe(row: Mapping[str, object]) -> str:
    kind = str(row.get("kind"))
    what = f"{row.get('decision')} {kind} decision" if kind == "consent" else f"{kind.replace('_', ' ')} event"
    return f"a {what} dated {row.get('effective_date')}, origin {row.get('origin')}"


def verify(
    key: bytes,
    events: Sequence[Mapping[str, object]],
    head: tuple[int, str, str] | None,
    cases: Iterable[tuple[str, str]] = (),
    payloads: Iterable[tuple[str, str | None, str | None]] = (),
    case_key: object = None,
) -> Break | None:
    """Check the chain; return the first break, or ``None`` if it holds.

    Parameters
    ----------
    events
        Every event, each a mapping of :data:`CHAINED` plus ``digest``, in
        ``seq`` order.
    head
        ``(length, last digest, head mac)`` as stored, or ``None`` if missing.
    cases
        ``(case_key, survey_id)`` rows; ``case_key`` is the function giving
        the keyed hash of a survey id.
    payloads
        ``(event_key, source_ref, payload)`` rows.
    """
    previous = GENESIS
    macs: dict[str, object] = {}
    for row in events:
        ref = str(row.get("event_key", ""))[:12]
        expected = event_digest(key, previous, row)
        if not hmac.compare_digest(expected, str(row.get("digest") or "")):
            problem = (
                "the chain breaks: this event was changed or written without the key, "
                "or an event before it was deleted, inserted or reordered"
            )
            return Break(int(row["seq"]), ref, _describe(row), problem)  # type: ignore[arg-type]
        previous = expected
        macs[str(row.get("event_key"))] = row.get("payload_mac")
    length = len(events)
    if head is None:
        return Break(None, "", "the chain's head", "the record of the chain's length and last digest is missing")
    stored_length, stored_head, stored_mac = head
    if not hmac.compare_digest(head_mac(key, stored_length, stored_head), stored_mac or ""):
        return Break(None, "", "the chain's head", "the record of the chain's length and last digest was changed")
    if stored_length != length or stored_head != previous:
        if stored_length > length:
            return Break(None, "", f"the end of the log (after event {length})", f"{stored_length - length} event(s) were deleted")
        return Break(None, "", f"the end of the log (event {length})", "the log does not end where sendlink left it")
    for ck, survey_id in cases:
        if case_key is not None and case_key(survey_id) != ck:  # type: ignore[operator]
            return Break(None, ck[:12], "a row of the case references", "a survey id was changed or forged")
    for event_key, source_ref, payload in payloads:
        stored = macs.get(str(event_key), "absent")
        if stored == "absent":
            return Break(None, str(event_key)[:12], "an event's personal details", "details were added for an event that is not in the log")
        if stored != payload_mac(key, str(event_key), source_ref, payload):
            return Break(None, str(event_key)[:12], "an event's personal details", "an event's personal details were changed or forged")
    return None

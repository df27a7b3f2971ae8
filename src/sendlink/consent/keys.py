"""Keyed hashes that let the register recognise a case without naming it.

The register's event log holds no survey id: each event carries a keyed hash
(HMAC-SHA256) of its case's ``survey_id``, and imported events are keyed by a
keyed hash of their fieldwork identifier. The mapping from hash back to
``survey_id`` sits in a side table that an erasure empties. After an
erasure, and after the synthetic files are regenerated with the same cases,
the register still recognises the erased case (same id, same key, same
hash) and keeps honouring the erasure, without ever storing the id again.

The key comes from the environment variable named by ``consent.key_env``,
else from ``data/register/register.key``, else a synthetic-only demo key is
used with a loud warning. The register stores a fingerprint of the key it
was created with and refuses a different key, which would silently break
every erasure.

Hand-written on the standard library (``hmac``, ``hashlib``): the whole need
is one HMAC call, no library adds anything.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: Public, so it protects nothing: synthetic data only.
DEMO_KEY = b"sendlink synthetic-only demo key: NOT FOR REAL DATA"

HASH_CHARS = 32  # 128 bits of the SHA-256 HMAC

_warned = False


def load_key(key_env: str, key_file: Path) -> bytes:
    """Return the register's key (see module docstring)."""
    value = os.environ.get(key_env)
    if value:
        return value.encode("utf-8")
    if key_file.is_file():
        value = key_file.read_text(encoding="utf-8").strip()
        if value:
            return value.encode("utf-8")
    global _warned
    if not _warned:  # once per process, however many commands ask
        log.warning(
            "consent register: no key in $%s or %s; using the PUBLIC synthetic-only demo key. "
            "Never use it with real data.",
            key_env,
            key_file,
        )
        _warned = True
    return DEMO_KEY


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``purpose:value``, as 32 hexadecimal characters.

    ``purpose`` separates the uses (a case id and an event id never collide).
    """
    digest = hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:HASH_CHARS]


def case_key(key: bytes, survey_id: str) -> str:
    """The register's reference for a survey case."""
    return keyed_hash(key, "case", str(survey_id))


def fingerprint(key: bytes) -> str:
    """A fingerprint of the key, safe to store next to the data."""
    return keyed_hash(key, "fingerprint", "sendlink-consent-register")

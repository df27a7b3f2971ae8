"""Keyed hashes that let the register recognise a case without naming it.

The register's event log holds no survey id: each event carries a keyed hash
(HMAC-SHA256) of its case's ``survey_id``, and imported events are keyed by a
keyed hash of their fieldwork identifier. The mapping from hash back to
``survey_id`` sits in a side table that an erasure empties. After an
erasure, and after the synthetic files are regenerated with the same cases,
the register still recognises the erased case (same id, same key, same
hash) and keeps honouring the erasure, without ever storing the id again.

The key comes from the environment variable named by ``consent.key_env``,
else from the key file ``consent.key_file`` (outside the project folder,
owner-only), else, for the generator's own synthetic world only, a public
demo key with a loud warning: the rules are :mod:`sendlink.keys` (at least
32 random bytes; ``sendlink keys new PATH`` makes one). The register stores
a fingerprint of the key it was created with and refuses a different key,
which would silently break every erasure.

Hand-written on the standard library (``hmac``, ``hashlib``): the whole need
is one HMAC call, no library adds anything.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

from sendlink.config import Paths
from sendlink.errors import ParameterError
from sendlink.keys import REGISTER_DEMO_KEY, register_key
from sendlink.schema import catalogue

log = logging.getLogger(__name__)

#: Public, so it protects nothing: the generator's synthetic world only (:mod:`sendlink.keys`).
DEMO_KEY = REGISTER_DEMO_KEY

HASH_CHARS = 32  # 128 bits of the SHA-256 HMAC


def load_key(key_env: str, key_file: Path | None = None, *, paths: Paths | None = None) -> bytes:
    """Return the register's key (see module docstring and :func:`sendlink.keys.read_key`).

    Parameters
    ----------
    key_env, key_file
        Where to look, in that order (``consent.key_env``, ``consent.key_file``).
    paths
        The project (default: the one found from the current folder): a key
        file inside it is refused, and the demo key is allowed only for its
        generator-made survey files.

    Raises
    ------
    ParameterError
        A weak or malformed key, a key file inside the project or readable by
        others, or no key for data that are not the generator's world.
    """
    paths = paths or Paths.discover()
    legacy = catalogue.LEGACY_REGISTER_KEY.at(paths)  # inside the project: refused
    if legacy.is_file() and legacy.read_bytes().strip() == DEMO_KEY:
        raise ParameterError(f"{legacy} holds the public demo key, which needs no file (it is used for the generator's "
                             f"synthetic world only); delete the file: rm {legacy}")
    if legacy.exists():
        raise ParameterError(
            f"{legacy}: a register key file inside the project folder is no longer read (it could be committed or "
            f"copied with the project). Move it outside and name it in params.yaml (consent.key_file), e.g. "
            f"`mkdir -p ~/.config/sendlink && mv {legacy} ~/.config/sendlink/register.key && chmod 600 "
            "~/.config/sendlink/register.key`"
        )
    return register_key(paths, key_env, key_file).secret


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

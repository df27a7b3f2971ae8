"""The project key: research ids and school pseudonyms no researcher can reverse.

DfE and the survey organisation share one secret key for the project. With
it, DfE turns a linked pupil's UPN into a ``research_id`` and a school URN
into a school pseudonym; the survey organisation turns the survey id of a
case that is not linked into a ``research_id``. A keyed hash (HMAC-SHA-256)
is used rather than a plain hash because UPNs and URNs are short and
structured: anyone could hash every possible UPN and reverse a plain hash,
but not without the key.

* **Domain separation.** Each use hashes ``purpose NUL value`` (purposes
  :data:`PURPOSES`), so a UPN and a survey id that happened to be the same
  text would still get different ids, and an id is never a school pseudonym.
* **Different keys, unlinkable ids.** Another project (another key) gets
  ids that cannot be joined to these. The key is deliberately *not* the
  consent register's key (``consent.key_env``): one key per purpose, and
  :func:`load_key` refuses the register's key.
* **The key never appears in an output.** Only a fingerprint (a keyed hash
  of a fixed text) is written, so two extracts can be checked to come from
  the same key.

Where the key comes from, first found wins: the environment variable
``deidentify.key_env`` (``SENDLINK_RESEARCH_KEY``), the key file
``deidentify.key_file`` (outside the project folder and owner-only; refused
otherwise), else, for the generator's own synthetic world only, a public
demo key with a loud warning. A key is at least 32 random bytes, written as
hexadecimal or base64 (``sendlink keys new PATH``): the rules, the same for
the register's key, are :mod:`sendlink.keys`.

Hand-written on the standard library (``hmac``, ``hashlib``): the whole
need is one HMAC call; no library adds anything.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sendlink.config import Paths
from sendlink.errors import ParameterError
from sendlink.keys import RESEARCH_DEMO_KEY, Key, parse_key, research_key

log = logging.getLogger(__name__)

#: Public, so it protects nothing: the generator's synthetic world only. Not the register's demo key.
DEMO_KEY = RESEARCH_DEMO_KEY

#: Hexadecimal characters kept of the SHA-256 HMAC (128 bits: collisions are
#: negligible for any cohort, and the schema checks uniqueness anyway).
ID_CHARS = 32
CLUSTER_CHARS = 16

#: Purposes a value is hashed for (the domain-separation prefix).
PURPOSES = ("research_id:upn", "research_id:survey_id", "school", "fingerprint")


@dataclass(frozen=True, repr=False)
class ProjectKey(Key):
    """The project key and where it came from (the key itself is never logged).

    A :class:`sendlink.keys.Key` (``secret``, ``source``: ``environment``,
    ``file`` or ``demo``) with the fingerprint written into the extract's
    report.
    """

    def __repr__(self) -> str:  # never show the secret, not even in a traceback
        return f"ProjectKey(source={self.source!r}, fingerprint={self.fingerprint!r})"

    @property
    def fingerprint(self) -> str:
        """A keyed hash of a fixed text: safe to publish, identifies the key."""
        return keyed_hash(self.secret, "fingerprint", "sendlink-research-extract")[:16]


def keyed_hash(secret: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA-256 of ``purpose NUL value`` as lower-case hexadecimal."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}")
    return hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def _register_secret(env: str | None, file: Path | None) -> bytes | None:
    """The consent register's key, if it is given and well formed (else None: its own check refuses it)."""
    value = os.environ.get(env, "") if env else ""
    where = f"${env}"
    if not value.strip() and file is not None and Path(file).expanduser().is_file():
        value, where = Path(file).expanduser().read_text(encoding="utf-8", errors="replace"), str(file)
    if not value.strip():
        return None
    try:
        return parse_key(value, where)
    except ParameterError:
        return None


def load_key(
    key_env: str,
    key_file: Path,
    *,
    project_root: Path | None = None,
    register_key_env: str | None = None,
    register_key_file: Path | None = None,
    paths: Paths | None = None,
) -> ProjectKey:
    """Return the project key (see module docstring).

    Parameters
    ----------
    key_env, key_file
        Where to look, in that order.
    project_root
        A key file inside this folder is refused (it could be committed).
    register_key_env, register_key_file
        Where the consent register's key lives; the same key is refused.
    paths
        The project whose synthetic world the demo key may be used for
        (default: the project at ``project_root``, else the current one).

    Raises
    ------
    ParameterError
        A weak or malformed key, a key file inside the project or readable
        by others, the register's key, or no key for data that are not the
        generator's world.
    """
    paths = paths or (Paths(Path(project_root)) if project_root is not None else Paths.discover())
    found = research_key(paths, key_env, key_file)
    key = ProjectKey(found.secret, found.source, found.where)
    if key.is_demo:
        return key
    if _register_secret(register_key_env, register_key_file) == key.secret:
        raise ParameterError(
            f"the research key (${key_env} or {key_file}) is the consent register's key (${register_key_env}); "
            "use a different key for research ids"
        )
    return key


def research_ids(key: ProjectKey, values: pd.Series, kind: str) -> pd.Series:
    """Research ids of UPNs (``kind="upn"``) or survey ids (``kind="survey_id"``).

    The two kinds are domain-separated: a linked case's id comes from its UPN
    (so DfE can make it without the survey id), a case that is not linked
    gets one from its survey id (made by the survey organisation).
    """
    if kind not in ("upn", "survey_id"):
        raise ValueError(f"kind must be 'upn' or 'survey_id', got {kind!r}")
    purpose = f"research_id:{kind}"
    return values.map(lambda v: keyed_hash(key.secret, purpose, str(v))[:ID_CHARS]).astype(object)


def school_pseudonyms(key: ProjectKey, urns: pd.Series) -> pd.Series:
    """Project-specific pseudonyms of school URNs (``S`` + 16 hex characters)."""
    return urns.map(lambda v: "S" + keyed_hash(key.secret, "school", str(v))[:CLUSTER_CHARS]).astype(object)

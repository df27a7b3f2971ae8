"""Keys for encoding: one shared secret, a separate key for every use.

The survey organisation and DfE share one secret; the linkage unit never
sees it. From it each party derives, with HKDF (RFC 5869, HMAC-SHA-256),
a separate key for every field's Bloom filter, for the blocking keys, for
the keyed tokens and for the balancing permutation. Separate keys matter:
with one key for all fields, the bigram ``an`` of a forename and of a
surname would set the same bits, and the linkage unit could compare a
forename with a surname (and an attacker would see the same q-gram
twice as often). Deriving the keys by *purpose name* (HKDF's ``info``)
rather than by position means adding a field never changes another
field's key.

A *key check value* (:func:`key_check_value`) is a keyed hash of a fixed
text: written into every encoded file, it lets the linkage unit see that
the two files were encoded with the same secret without learning it.

Hand-written on the standard library (``hmac``, ``hashlib``): HKDF is two
HMAC loops; the ``cryptography`` package has it too, but clkhash pins
``cryptography<41`` and nothing else here needs it. Tested against the
RFC 5869 test vectors and against clkhash's own key derivation.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["DEMO_SECRET", "KDF_SALT", "PPRL_PURPOSE", "as_secret", "derive_key", "derive_seed", "hkdf", "key_check_value", "shared_secret"]

#: HKDF salt of sendlink's encodings (public, fixed: it separates this
#: scheme's keys from any other use of the same secret).
KDF_SALT = b"sendlink pprl encodings v1"

#: A public secret for the synthetic data: it protects nothing.
DEMO_SECRET = b"sendlink synthetic-only PPRL demo secret: NOT FOR REAL DATA"


def as_secret(secret: bytes | str) -> bytes:
    """The secret as bytes (text is UTF-8 encoded); an empty secret is refused."""
    value = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not value:
        raise ValueError("the encoding secret is empty")
    return value


def hkdf(secret: bytes, length: int, *, salt: bytes | None = None, info: bytes = b"",
         hash_name: str = "sha256") -> bytes:
    """HKDF (RFC 5869): ``length`` bytes of key material from ``secret``.

    Extract: ``PRK = HMAC(salt, secret)`` (salt defaults to zeros of the
    hash length); expand: ``T(i) = HMAC(PRK, T(i-1) | info | i)``.
    """
    size = hashlib.new(hash_name).digest_size
    if length > 255 * size:
        raise ValueError(f"HKDF can derive at most {255 * size} bytes, not {length}")
    prk = hmac.new(salt if salt else bytes(size), secret, hash_name).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hash_name).digest()
        out += block
        counter += 1
    return out[:length]


def derive_key(secret: bytes | str, purpose: str, size: int = 64) -> bytes:
    """The key for one purpose (``"bloom:forename"``, ``"blocking"`` ...)."""
    return hkdf(as_secret(secret), size, salt=KDF_SALT, info=purpose.encode("utf-8"))


def derive_seed(secret: bytes | str, purpose: str) -> int:
    """A 128-bit integer seed for a keyed random permutation (balancing)."""
    return int.from_bytes(derive_key(secret, purpose, 16), "big")


def key_check_value(secret: bytes | str) -> str:
    """16 hex characters identifying the secret without revealing it."""
    return hmac.new(derive_key(secret, "key-check"), b"sendlink pprl key check", "sha256").hexdigest()[:16]


#: What the shared secret is called in messages.
PPRL_PURPOSE = "shared PPRL secret"


def shared_secret(paths, env: str, file, inputs=()) -> object:
    """The shared PPRL secret for a data holder, by the rules of :mod:`sendlink.keys`.

    From ``$env``, else ``file`` (outside the project, owner-only), else
    the public :data:`DEMO_SECRET`, and that only when the project's
    synthetic world is the generator's own (:func:`sendlink.keys.recognise_world`)
    *and* every input file lies inside the project's ``data/`` folder (the
    world and what the pipeline derived from it): a spine from anywhere
    else is refused on the demo secret.

    Returns
    -------
    sendlink.keys.Key

    Raises
    ------
    ParameterError
        A weak or misplaced secret, or no secret for data that are not the synthetic world's.
    """
    from pathlib import Path

    from sendlink.errors import ParameterError
    from sendlink.keys import inside, read_key

    key = read_key(purpose=PPRL_PURPOSE, env=env, file=file, demo=DEMO_SECRET, project_root=paths.root,
                   synthetic=paths.synthetic, world_parts=("survey", "npd"))
    if key.is_demo:
        data = Path(paths.root) / "data"
        outside = [str(p) for p in inputs if p is not None and not inside(Path(p), data)]
        if outside:
            raise ParameterError(
                f"no {PPRL_PURPOSE}: ${env} is not set and {file} does not exist, and {outside[0]} is not part of the "
                f"generator's synthetic world ({data}): the public demo secret protects nothing and is used only there. "
                f"Agree a secret with the other data holder (`sendlink keys new {file}` makes one; copy it to them "
                f"securely, never to the linkage unit) or export ${env}")
    return key

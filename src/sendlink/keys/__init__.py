"""Secret keys: how strong they must be, where they may live, and when the demo key is allowed.

The project has two secret keys, one per purpose: the consent register's
key (keyed hashes that let the register recognise a case without naming
it, :mod:`sendlink.consent.keys`) and the research key (research ids and
school pseudonyms, :mod:`sendlink.deidentify.keys`). The same rules hold
for both, and live here so they cannot drift apart:

1. **Strength.** A key is at least :data:`MIN_BYTES` (32) random bytes,
   written as hexadecimal (``openssl rand -hex 32``) or base64
   (``openssl rand -base64 32``). Anything else is refused: a passphrase, a
   short value, or bytes visibly not random (fewer than
   :data:`MIN_DISTINCT_BYTES` different byte values among them; 32 random
   bytes have about 30, and fewer than 20 essentially never happens).
   ``sendlink keys new PATH`` writes a fresh key (:func:`new_key`).
2. **Where it comes from.** The environment variable named in
   ``params.yaml`` (``consent.key_env``, ``deidentify.key_env``), else the
   key file named there (``consent.key_file``, ``deidentify.key_file``).
   A key file must lie **outside the project folder** (it could otherwise
   be committed, copied or archived with the project) and be readable by
   its owner only (mode ``0600``, as ``ssh`` insists for private keys).
3. **The demo key.** Without a key, a public demo key (committed in the
   source: it protects nothing) is used, loudly, **only for the generator's
   own synthetic world** (:func:`recognise_world`): the manifest the
   generator wrote (``data/synthetic/manifest.json``) lists every file it
   wrote with its SHA-256, and the files the command reads must be exactly
   those. Real data put in ``data/synthetic/``, or a manifest copied beside
   other files, do not match, and any other input refuses to run on the demo
   key with a message saying how to make a key.

What the world check is and is not: it stops the *accident* of running real
data on a public key (the usual way keys leak into production). It is not a
defence against someone who rewrites the manifest on purpose; nothing in a
folder they control can be.

Hand-written on the standard library (``secrets``, ``hashlib``, ``base64``):
the whole need is to read, check and make 32 random bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sendlink.config import Paths
from sendlink.errors import ParameterError
from sendlink.io import file_sha256, make_folder

__all__ = [
    "MIN_BYTES", "MIN_DISTINCT_BYTES", "REGISTER_DEMO_KEY", "RESEARCH_DEMO_KEY", "Key", "demo_key_announced", "register_key", "research_key", "World", "file_hashes", "files_fingerprint", "inside",
    "new_key", "parse_key", "read_key", "recognise_world",
]

log = logging.getLogger(__name__)

#: Fewest random bytes in a key (256 bits: HMAC-SHA-256's own strength).
MIN_BYTES = 32
#: Fewest different byte values among a key's bytes (a cheap test that catches
#: ``000...0``, a repeated pattern or text encoded as hex; 32 random bytes have ~30).
MIN_DISTINCT_BYTES = 16

_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")

#: The public demo keys, one per purpose (committed, so they protect nothing: synthetic data only).
REGISTER_DEMO_KEY = b"sendlink synthetic-only demo key: NOT FOR REAL DATA"
RESEARCH_DEMO_KEY = b"sendlink synthetic-only RESEARCH-ID demo key: NOT FOR REAL DATA"

#: Parts of the synthetic world a command may read (folders under ``data/synthetic/``).
WORLD_PARTS = ("npd", "survey")

#: What each key is called in messages, and the parts of the world its users read: the
#: consent stage reads the survey files; the extract reads them (through the holdings) and the NPD.
REGISTER_PURPOSE, REGISTER_WORLD = "consent register key", ("survey",)
RESEARCH_PURPOSE, RESEARCH_WORLD = "research key", ("survey", "npd")

_warned: set[str] = set()


def _advice(env: str, file: Path | None) -> str:
    target = file if file is not None else Path("~/.config/sendlink/key")
    return (f"make one with `sendlink keys new {target}` (or `openssl rand -hex 32`, kept outside the project) "
            f"and keep it in that file or in ${env}")


def parse_key(text: str, where: str, *, purpose: str = "key") -> bytes:
    """The key's bytes from its hexadecimal or base64 text.

    Raises
    ------
    ParameterError
        Naming ``where`` (the variable or file), if the text is not
        hexadecimal or base64, is shorter than :data:`MIN_BYTES` bytes, or
        has fewer than :data:`MIN_DISTINCT_BYTES` different byte values.
    """
    value = text.strip()
    secret: bytes | None = None
    if _HEX.fullmatch(value) and len(value) % 2 == 0:
        secret = bytes.fromhex(value)
    elif _BASE64.fullmatch(value):
        padded = value.replace("-", "+").replace("_", "/")
        padded += "=" * (-len(padded) % 4)
        try:
            secret = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            secret = None
    if secret is None:
        raise ParameterError(f"{where}: the {purpose} is not a key written as hexadecimal or base64 "
                             f"(a passphrase is not a key); it must be at least {MIN_BYTES} random bytes")
    if len(secret) < MIN_BYTES:
        raise ParameterError(f"{where}: the {purpose} is {len(secret)} byte(s); it must be at least {MIN_BYTES} random bytes "
                             f"({2 * MIN_BYTES} hexadecimal characters)")
    if len(set(secret)) < MIN_DISTINCT_BYTES:
        raise ParameterError(f"{where}: the {purpose} does not look random (only {len(set(secret))} different byte values "
                             f"in {len(secret)} bytes); make one with `sendlink keys new PATH`")
    return secret


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (resolved, symbolic links followed) lies in ``folder``."""
    try:
        Path(path).expanduser().resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


# --- the synthetic world ---------------------------------------------------------------


def file_hashes(folder: Path, parts: Iterable[str] = WORLD_PARTS) -> dict[str, str]:
    """``relative path -> SHA-256`` of every file under ``folder/<part>/`` (hidden files skipped)."""
    out = {}
    for part in parts:
        base = Path(folder) / part
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts):
                out[path.relative_to(folder).as_posix()] = file_sha256(path)
    return out


def files_fingerprint(files: dict[str, str]) -> str:
    """SHA-256 of a manifest's ``files`` mapping (its own integrity check)."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class World:
    """Whether a folder holds the generator's own synthetic world, and if not, why not."""

    recognised: bool
    reason: str

    def __bool__(self) -> bool:
        return self.recognised


def recognise_world(synthetic: Path, parts: Iterable[str] = WORLD_PARTS) -> World:
    """Whether ``synthetic/<part>/`` hold exactly the files the generator wrote there.

    Checks that the manifest exists, names the generator, lists its files
    with their SHA-256 and a fingerprint of that list that matches it; that
    every listed file of ``parts`` exists with that hash; and that no other
    file is there. Hashing the ~30 MB default world takes a fraction of a
    second.
    """
    from sendlink.schema import catalogue

    manifest_path = Path(synthetic) / catalogue.MANIFEST.relative_to(catalogue.SYNTHETIC)
    if not manifest_path.is_file():
        return World(False, f"no generator manifest at {manifest_path}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return World(False, f"{manifest_path} cannot be read: {exc}")
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not str(manifest.get("generator", "")).startswith("sendlink"):
        return World(False, f"{manifest_path} is not a manifest of sendlink's generator (no list of the files it wrote)")
    if manifest.get("files_sha256") != files_fingerprint(files):
        return World(False, f"{manifest_path}: its list of files does not match its own fingerprint (edited by hand?)")
    parts = tuple(parts)
    listed = {k: v for k, v in files.items() if k.split("/", 1)[0] in parts}
    if not listed:
        return World(False, f"{manifest_path} lists no file of {', '.join(parts)}")
    present = file_hashes(synthetic, parts)
    changed = sorted(k for k, v in listed.items() if present.get(k) != v)
    if changed:
        what = "missing or changed"
        return World(False, f"{len(changed)} file(s) {what} since the generator wrote them (e.g. {changed[0]})")
    extra = sorted(set(present) - set(listed))
    if extra:
        return World(False, f"{len(extra)} file(s) the generator did not write (e.g. {extra[0]})")
    return World(True, f"the generator's world in {synthetic} (every file as the manifest lists it)")


# --- reading and making keys ---------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A secret key and where it came from (the secret itself is never shown).

    Attributes
    ----------
    source
        ``environment``, ``file`` or ``demo``.
    where
        The variable or file it came from (``$NAME`` or a path), or the
        world the demo key was allowed for.
    """

    secret: bytes
    source: str
    where: str = field(default="", compare=False)

    def __repr__(self) -> str:  # never show the secret, not even in a traceback
        return f"Key(source={self.source!r}, where={self.where!r})"

    @property
    def is_demo(self) -> bool:
        return self.source == "demo"


def _check_file(file: Path, purpose: str, project_root: Path | None) -> None:
    if project_root is not None and inside(file, project_root):
        raise ParameterError(
            f"{file}: the {purpose} file is inside the project folder {Path(project_root).resolve()}; keys must live "
            f"outside it (they could be committed or copied with it). Move it, e.g. "
            f"`mkdir -p ~/.config/sendlink && mv {file} ~/.config/sendlink/ && chmod 600 ~/.config/sendlink/{file.name}`, "
            "and name it in params.yaml"
        )
    if os.name == "posix":
        mode = stat.S_IMODE(file.stat().st_mode)
        if mode & 0o077:
            raise ParameterError(f"{file}: the {purpose} file can be read by other users (mode {mode:04o}); "
                                 f"make it owner-only: chmod 600 {file}")


def read_key(
    *,
    purpose: str,
    env: str,
    file: Path | None,
    demo: bytes,
    project_root: Path | None,
    synthetic: Path | None,
    world_parts: Iterable[str] = WORLD_PARTS,
) -> Key:
    """Find, read and check a key (the rules of the module docstring).

    Parameters
    ----------
    purpose
        What the key is for, in words (``consent register key``), for messages.
    env, file
        Where to look, in that order (``file`` may be ``None``).
    demo
        The public demo key for this purpose.
    project_root
        A key file inside this folder is refused.
    synthetic, world_parts
        The synthetic world the command reads, and which of its parts: the
        demo key is allowed only when :func:`recognise_world` recognises it.

    Raises
    ------
    ParameterError
        A weak or malformed key, a key file inside the project or readable
        by others, or no key for data that are not the generator's world.
    """
    value = os.environ.get(env, "")
    if value.strip():
        return Key(parse_key(value, f"${env}", purpose=purpose), "environment", f"${env}")
    if value:
        raise ParameterError(f"${env} is set but empty: the {purpose} cannot be blank; unset it or give a key "
                             f"({_advice(env, file)})")
    if file is not None:
        file = Path(file).expanduser()
        if file.is_file():
            _check_file(file, purpose, project_root)
            text = file.read_text(encoding="utf-8", errors="replace")
            return Key(parse_key(text, str(file), purpose=purpose), "file", str(file))
        if file.exists():
            raise ParameterError(f"{file}: the {purpose} file is not a regular file")
    world = recognise_world(synthetic, world_parts) if synthetic is not None else World(False, "no synthetic world given")
    if not world:
        raise ParameterError(
            f"no {purpose}: ${env} is not set and {file or 'no key file'} does not exist. The public demo key is used "
            f"only for the generator's own synthetic world, and these data are not it ({world.reason}); "
            + _advice(env, file)
        )
    if purpose not in _warned:  # once per process, however many commands ask
        log.warning(
            "%s: no key in $%s or %s; using the PUBLIC synthetic-only demo key, allowed because %s is the generator's "
            "own world (every file as its manifest lists it). Anyone can recompute what it hashes: never use it with real data.",
            purpose, env, _shown(file), _shown(synthetic, project_root),
        )
        _warned.add(purpose)
    return Key(demo, "demo", str(synthetic))


def _shown(path: Path | None, root: Path | None = None) -> str:
    """A path as a person would write it: relative to the project, or with ``~`` for the home folder."""
    if path is None:
        return "no key file"
    path = Path(path)
    for base, prefix in ((root, ""), (Path.home(), "~/")):
        if base is None:
            continue
        try:
            return prefix + path.resolve().relative_to(Path(base).resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def demo_key_announced(purpose: str) -> None:
    """Count the demo key's warning for ``purpose`` as given in this process.

    For a teaching sandbox, a temporary copy of a world the project itself
    runs on the demo key (:class:`sendlink.consent.demo.Sandbox`): its
    notebook says which key the copy uses, and a warning in its output would
    only repeat it.
    """
    _warned.add(purpose)


def new_key(path: str | Path, *, project_root: Path | None = None) -> Path:
    """Write a fresh key (32 random bytes as hexadecimal) to ``path``, owner-only.

    The file is created with mode ``0600`` (its folder, when created,
    ``0700``) and never overwritten: replacing a key would orphan everything
    made with it (a register could no longer recognise its erased cases).

    Raises
    ------
    ParameterError
        If ``path`` exists, or lies inside ``project_root``.
    """
    path = Path(path).expanduser()
    if project_root is not None and inside(path, project_root):
        raise ParameterError(f"{path} is inside the project folder {Path(project_root).resolve()}; keys must live outside it "
                             "(e.g. ~/.config/sendlink/register.key)")
    if path.exists() or path.is_symlink():
        raise ParameterError(f"{path} already exists; a key is never overwritten (everything made with it would be "
                             "orphaned). Choose another file, or move the old key away yourself")
    make_folder(path.parent, private=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_hex(MIN_BYTES) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)  # the umask cannot loosen it, but be exact
    return path


def register_key(paths: Paths, env: str, file: Path | None) -> Key:
    """The consent register's key for the project at ``paths`` (``consent.key_env``, ``consent.key_file``)."""
    return read_key(purpose=REGISTER_PURPOSE, env=env, file=file, demo=REGISTER_DEMO_KEY, project_root=paths.root,
                    synthetic=paths.synthetic, world_parts=REGISTER_WORLD)


def research_key(paths: Paths, env: str, file: Path | None) -> Key:
    """The research key for the project at ``paths`` (``deidentify.key_env``, ``deidentify.key_file``)."""
    return read_key(purpose=RESEARCH_PURPOSE, env=env, file=file, demo=RESEARCH_DEMO_KEY, project_root=paths.root,
                    synthetic=paths.synthetic, world_parts=RESEARCH_WORLD)

"""``sendlink keys``: make a key, or say where the project's keys come from.

Commands::

    sendlink keys new PATH     write a fresh key (32 random bytes, hexadecimal) to PATH, mode 0600
    sendlink keys status       where the register key and the research key come from, checked

``new`` refuses an existing file (a key is never overwritten) and a path
inside the project folder. ``status`` prints no secret, only where each key
comes from, and exits 2 if a key would be refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sendlink.config import Paths
from sendlink.errors import ParameterError

__all__ = ["configure_parser", "run"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("new", help="write a fresh key to PATH (owner-only; never overwrites)")
    p.add_argument("path", type=Path, help="the key file to create, outside the project (e.g. ~/.config/sendlink/register.key)")
    sub.add_parser("status", help="where the consent register key and the research key come from (no secret shown)")


def run(args: argparse.Namespace) -> int:
    """Run ``sendlink keys``."""
    from sendlink.keys import (
        REGISTER_PURPOSE,
        RESEARCH_PURPOSE,
        new_key,
        register_key,
        research_key,
    )

    if args.action == "new":
        try:
            root = Paths.discover().root
        except ParameterError:  # outside any project: nothing to be inside of
            root = None
        path = new_key(args.path, project_root=root)
        print(f"wrote a new key to {path} (mode 0600). Name it in params.yaml, or export it, and keep a copy "
              "somewhere safe: without it the data made with it cannot be used again.")
        return 0
    from sendlink.params import load_params

    paths = Paths.discover()
    params = load_params(paths.params)
    failed = False
    for purpose, section, read in ((REGISTER_PURPOSE, params.consent, register_key),
                                   (RESEARCH_PURPOSE, params.deidentify, research_key)):
        try:
            key = read(paths, section.key_env, section.key_path)
        except ParameterError as exc:
            print(f"{purpose}: REFUSED: {exc}")
            failed = True
            continue
        print(f"{purpose}: {key.source} ({key.where})" + ("; the PUBLIC demo key, for synthetic data only" if key.is_demo else ""))
    return 2 if failed else 0


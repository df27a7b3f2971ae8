"""``sendlink link``: plain linkage (:mod:`sendlink.link.cli`) or, with ``--encoded``, linkage at the linkage unit.

One command, two parties: DfE links two spine files; the linkage unit
links two encoded files (``sendlink encode``) and sees no identifier
(:func:`sendlink.pprl.cli.link_encoded_files`). The command lives here,
not in :mod:`sendlink.link`, because encoded linkage sits in the layer
above the linker and uses it; without ``--encoded`` everything is
:mod:`sendlink.link.cli`'s.
"""

from __future__ import annotations

import argparse

from sendlink.link import cli as plain

__all__ = ["configure_parser", "run"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """The plain command's arguments, and ``--encoded``."""
    plain.configure_parser(parser)
    parser.add_argument("--encoded", action="store_true",
                        help="SURVEY and NPD are encoded files (`sendlink encode`): link at the linkage unit, on "
                             "encodings only; --review-out then writes the one-sided queue (pseudonyms, levels, weights)")


def run(args: argparse.Namespace) -> int:
    """Run ``sendlink link``."""
    if not args.encoded:
        return plain.run(args)
    from sendlink.io import check_paths
    from sendlink.pprl.cli import link_encoded_files

    check_paths({"--out": args.out, "--review-out": args.review_out},
                {"SURVEY": args.survey, "NPD": args.npd, "--decisions": args.decisions, "--params": args.params},
                tables=("--out", "--review-out"))
    link_encoded_files(args.survey, args.npd, args.out, plain._params(args), review_out=args.review_out,
                       decisions_path=args.decisions)
    return 0

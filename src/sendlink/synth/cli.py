"""``sendlink synth``: generate the synthetic world into ``data/synthetic``.

Default mode writes the NPD (DfE), the survey holdings (survey organisation)
and truth (evaluation only) from ``params.yaml``. Scale mode
(``--npd-size N``) writes a national-size NPD spine, and optionally survey
spines drawn from it, for linkage benchmarks (see :mod:`sendlink.synth.scale`).

Options are checked before anything is generated, with the same clear
errors (exit status 2) as a value in ``params.yaml``: a seed below 0, a
size or chunk below 1, a survey larger than the NPD, and scale options
given without ``--npd-size`` (which would otherwise be ignored).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sendlink import config
from sendlink.errors import ParameterError
from sendlink.params import load_params, override
from sendlink.synth import stage

log = logging.getLogger(__name__)


#: Pupils generated per chunk in scale mode when --chunk-size is not given.
DEFAULT_CHUNK_SIZE = 500_000


def _whole_number(minimum: int):
    """An argparse type: a whole number at least ``minimum`` (argparse then names the option)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} (got {value})")
        return value

    parse.__name__ = f"whole number >= {minimum}"
    return parse


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: data/synthetic)")
    parser.add_argument("--params", type=Path, default=None, help="parameter file (default: params.yaml)")
    parser.add_argument("--seed", type=_whole_number(0), default=None, help="override the seed in params.yaml (0 or more)")
    parser.add_argument(
        "--if-stale",
        action="store_true",
        help="do nothing if the output's manifest was made from the same parameters",
    )
    scale = parser.add_argument_group("scale mode (linkage benchmarks)")
    scale.add_argument("--npd-size", type=_whole_number(1), default=None, metavar="N", help="write a national-size NPD spine of N pupils (Parquet) instead")
    scale.add_argument("--survey-size", type=_whole_number(1), action="append", default=None, metavar="M",
                       help="with --npd-size: also draw a survey spine of M children, at most N (repeatable)")
    scale.add_argument("--chunk-size", type=_whole_number(1), default=None,
                       help=f"with --npd-size: pupils generated per chunk (bounds memory; default {DEFAULT_CHUNK_SIZE:,})")


def check_options(args: argparse.Namespace) -> None:
    """Refuse options that would be silently ignored or contradict each other.

    Raises
    ------
    ParameterError
        Naming the options.
    """
    if args.npd_size is None:
        alone = [name for name, value in (("--survey-size", args.survey_size), ("--chunk-size", args.chunk_size)) if value is not None]
        if alone:
            verbs = "belong to scale mode and need" if len(alone) > 1 else "belongs to scale mode and needs"
            raise ParameterError(f"{' and '.join(alone)} {verbs} --npd-size N; without it the world "
                                 "is generated from params.yaml (its sizes are synth.npd.pupils_per_year_group and the "
                                 "synth.survey section)")
        return
    if args.if_stale:
        raise ParameterError("--if-stale applies to the default world only, not to scale mode (--npd-size)")
    too_big = [m for m in args.survey_size or [] if m > args.npd_size]
    if too_big:
        raise ParameterError(f"--survey-size {too_big[0]}: a survey spine is drawn from the NPD spine, so it can hold "
                             f"at most --npd-size {args.npd_size} children")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise ParameterError(f"--out {args.out} is a file; give a folder")


def run(args: argparse.Namespace) -> int:
    check_options(args)
    paths = config.Paths.discover()
    params = load_params(args.params)
    if args.seed is not None:
        params = override(params, {"seed": args.seed})
    out = args.out or paths.synthetic
    if args.npd_size is not None:
        from sendlink.synth.scale import write_scale

        write_scale(params.synth, params.seed, out, npd_size=args.npd_size, survey_sizes=args.survey_size or [],
                    chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE)
        return 0
    stage.run(config.Paths(paths.root, synthetic_dir=Path(out)), params, if_stale=args.if_stale)
    return 0

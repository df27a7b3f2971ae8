"""``sendlink synth``: generate the synthetic world into ``data/synthetic``.

Default mode writes the NPD (DfE), the survey holdings (survey organisation)
and truth (evaluation only) from ``params.yaml``. Scale mode
(``--npd-size N``) writes a national-size NPD spine, and optionally survey
spines drawn from it, for linkage benchmarks (see :mod:`sendlink.synth.scale`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sendlink import config
from sendlink.params import load_params, override
from sendlink.synth import stage

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: data/synthetic)")
    parser.add_argument("--params", type=Path, default=None, help="parameter file (default: params.yaml)")
    parser.add_argument("--seed", type=int, default=None, help="override the seed in params.yaml")
    parser.add_argument(
        "--if-stale",
        action="store_true",
        help="do nothing if the output's manifest was made from the same parameters",
    )
    scale = parser.add_argument_group("scale mode (linkage benchmarks)")
    scale.add_argument("--npd-size", type=int, default=None, metavar="N", help="write a national-size NPD spine of N pupils (Parquet) instead")
    scale.add_argument("--survey-size", type=int, action="append", default=None, metavar="M", help="with --npd-size: also draw a survey spine of M children (repeatable)")
    scale.add_argument("--chunk-size", type=int, default=500_000, help="pupils generated per chunk in scale mode (bounds memory)")


def run(args: argparse.Namespace) -> int:
    paths = config.Paths.discover()
    params = load_params(args.params)
    if args.seed is not None:
        params = override(params, {"seed": args.seed})
    out = args.out or paths.synthetic
    if args.npd_size is not None:
        from sendlink.synth.scale import write_scale

        write_scale(params.synth, params.seed, out, npd_size=args.npd_size, survey_sizes=args.survey_size or [], chunk_size=args.chunk_size)
        return 0
    stage.run(config.Paths(paths.root, synthetic_dir=Path(out)), params, if_stale=args.if_stale)
    return 0

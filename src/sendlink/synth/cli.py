"""``sendlink synth``: generate the synthetic world into ``data/synthetic``.

Default mode writes the NPD (DfE), the survey holdings (survey organisation)
and truth (evaluation only) from ``params.yaml``. Scale mode
(``--npd-size N``) writes a national-size NPD spine, and optionally survey
spines drawn from it, for linkage benchmarks (see :mod:`sendlink.synth.scale`).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from sendlink import config
from sendlink.params import Params, load_params, override
from sendlink.schema import catalogue

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


def generate_default(paths: config.Paths, params: Params, out: Path | None = None, *, if_stale: bool = False) -> bool:
    """Generate the default synthetic world into ``out`` (``data/synthetic``).

    Returns False when ``if_stale`` is set and the existing data were made
    from the same parameters (nothing is written), True otherwise.
    """
    from sendlink.synth.generate import generate, params_fingerprint, write

    seed, synth = params.seed, params.synth
    out = Path(out or paths.synthetic)
    if if_stale:
        manifest = out / catalogue.MANIFEST.relative_to(catalogue.SYNTHETIC)
        if manifest.is_file():
            try:
                old = json.loads(manifest.read_text(encoding="utf-8")).get("params_sha256")
            except json.JSONDecodeError:
                old = None
            if old == params_fingerprint(synth, seed):
                log.info("%s is up to date with the parameters; nothing to do", out)
                return False
    start = time.perf_counter()
    dataset = generate(synth, seed, as_of=synth.consent.events_until, progress=log.isEnabledFor(logging.INFO))
    written = write(dataset, out)
    log.info("wrote %d files to %s in %.1f s", len(written), out, time.perf_counter() - start)
    return True


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
    generate_default(paths, params, out, if_stale=args.if_stale)
    return 0

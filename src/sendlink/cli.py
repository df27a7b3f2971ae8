"""The ``sendlink`` command line.

Each command lives in the module of its stage, which provides two functions:
``configure_parser(parser)`` adds the command's arguments and
``run(args) -> int`` does the work. Modules are imported only when their
command runs, so ``sendlink --help`` is instant and one stage's imports never
slow another.

Errors a user can cause (:class:`~sendlink.errors.SendlinkError`) are printed
as one clear message with exit status 2; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from sendlink import __version__

#: command -> (module that implements it, one-line help). In pipeline order.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("sendlink.synth.cli", "generate the synthetic NPD, survey, consent events and truth"),
    "dictionary": ("sendlink.schema.dictionary", "write or check the data dictionary generated from the schema"),
    "keys": ("sendlink.keys.cli", "make a new secret key, or say where the project's keys come from"),
    "consent": ("sendlink.consent.cli", "import consent events, show status, explain a decision"),
    "rights": ("sendlink.consent.rights_cli", "record a data-subject rights request (access, erase, ...)"),
    "link": ("sendlink.link.cli", "link a survey spine file to an NPD spine file"),
    "extract": ("sendlink.deidentify.cli", "build the de-identified research extract"),
    "analyse": ("sendlink.outcomes.cli", "fit the outcome models on the research extract"),
    "evaluate": ("sendlink.evaluate.cli", "check linkage and the estimates against the synthetic truth"),
    "scan": ("sendlink.scan.cli", "search research data, the summary and reports for identifiers"),
    "pipeline": ("sendlink.pipeline", "run every stage in order (synth only when the parameters changed)"),
    "notebooks": ("sendlink.notebooks", "execute the notebooks in place or render them to reports/"),
    "report": ("sendlink.pipeline", "regenerate data, run the pipeline, execute and render notebooks"),
}


def _root_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sendlink",
        description="Link SEND survey answers to the National Pupil Database, on synthetic data.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {name:<11} {text}" for name, (_, text) in COMMANDS.items())
        + "\n\nRun 'sendlink COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"sendlink {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND", help="what to do (see below)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # Third-party libraries are noisy at INFO; keep their warnings only.
    for noisy in ("matplotlib", "numexpr", "traitlets", "nbclient", "asyncio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


#: One thread per numerical library: the models are small, and on a shared
#: 2-core machine thread oversubscription makes them several times slower.
#: Set before numpy is first imported; an explicit setting is respected.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    from sendlink.errors import SendlinkError

    root = _root_parser()
    top = root.parse_args(argv)
    _configure_logging(top.verbose, top.quiet)
    module_name, text = COMMANDS[top.command]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"sendlink {top.command}", description=text)
    # One module may serve two commands (pipeline and report): it reads
    # ``args.command`` in ``run``.
    module.configure_parser(parser)
    args = parser.parse_args(top.args)
    args.command = top.command
    try:
        return int(module.run(args) or 0)
    except SendlinkError as exc:
        print(f"sendlink {top.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sendlink {top.command}: interrupted; nothing was half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

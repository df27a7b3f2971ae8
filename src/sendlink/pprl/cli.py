"""The three parties' commands: ``sendlink encode``, ``sendlink link --encoded``, ``sendlink map-back``.

Each data holder (the survey organisation with its consented children's
spine, DfE with the NPD spine)::

    sendlink encode SPINE --out ENCODED --mapping MAPPING

swaps its keys for per-run pseudonyms (:mod:`sendlink.pprl.pseudonyms`;
the mapping stays in its own folder), encodes the identifiers with the
shared secret (``pprl.key_env`` / ``pprl.key_file``:
:func:`sendlink.pprl.keys.shared_secret`) and the ``pprl.encoding``
parameters, and sends ENCODED to the linkage unit. The linkage unit::

    sendlink link --encoded SURVEY_ENCODED NPD_ENCODED --out LINKS [--review-out QUEUE] [--decisions FILE]

links them (:func:`sendlink.pprl.linker.link_encoded`) and returns LINKS
(the contract's columns, holding pseudonyms) to both. Each data holder
then puts its own keys back::

    sendlink map-back LINKS --mapping MAPPING --out LINKS_WITH_OUR_KEYS

Every output is checked against the inputs first and written atomically
and owner-only (:mod:`sendlink.io`).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sendlink.config import Paths
from sendlink.errors import InputError
from sendlink.io import StagedWrites, check_paths, read_table, remove_stale_temporaries
from sendlink.params import Params, load_params

__all__ = ["configure_parser", "encode_file", "link_encoded_files", "map_back_file", "run"]

log = logging.getLogger(__name__)

KEYS = ("survey_id", "upn")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """``sendlink encode`` or ``sendlink map-back`` (one module, two commands: ``args.command`` says which)."""
    parser.add_argument("input", type=Path, help="encode: the spine (.csv or .parquet); map-back: the links or review file")
    parser.add_argument("--out", type=Path, required=True, help="encode: the encoded file (.parquet); map-back: the table to write")
    parser.add_argument("--mapping", type=Path, required=True,
                        help="encode: where to keep the pseudonym mapping (.parquet or .csv, stays with you); "
                             "map-back: that mapping")
    parser.add_argument("--params", type=Path, default=None, help="parameter file (default: the project's params.yaml)")
    parser.add_argument("--pseudonym-seed", type=int, default=None,
                        help="encode: seed of the pseudonyms (default: fresh randomness; only for reproducible synthetic runs)")


def encode_file(spine_path: str | Path, out: str | Path, mapping_out: str | Path, params: Params, *,
                paths: Paths | None = None, pseudonym_seed: int | None = None) -> dict:
    """Pseudonymise and encode one spine file; write the encoded file and the mapping.

    The key column is ``survey_id`` or ``upn``, whichever the spine has.

    Returns
    -------
    dict
        ``records``, ``key``, ``key_check``, ``key_source`` and ``seconds`` (no secret).

    Raises
    ------
    InputError
        The spine has neither key column, or both.
    ParameterError
        No acceptable secret (:func:`sendlink.pprl.keys.shared_secret`); bad paths.
    """
    from sendlink.pprl.encode import encode_spine, encoding_params, write_encoded
    from sendlink.pprl.keys import shared_secret
    from sendlink.pprl.pseudonyms import pseudonymise

    check_paths({"--out": out, "--mapping": mapping_out}, {"SPINE": spine_path}, tables=("--mapping",))
    if Path(out).suffix.lower() != ".parquet":
        raise InputError(out, "the encoded file is Parquet (filters are binary columns): name it .parquet")
    remove_stale_temporaries([out, mapping_out])
    paths = paths or Paths.discover()
    started = time.perf_counter()
    secret = shared_secret(paths, params.pprl.key_env, params.pprl.key_path, [spine_path])
    frame = read_table(spine_path, dtype_str=True) if str(spine_path).lower().endswith(".csv") else read_table(spine_path)
    keys = [k for k in KEYS if k in frame.columns]
    if len(keys) != 1:
        raise InputError(spine_path, f"a spine has exactly one key column of {', '.join(KEYS)}; found {keys or 'none'}")
    key = keys[0]
    rng = np.random.default_rng(pseudonym_seed)  # None: fresh entropy from the operating system
    pseudo, mapping = pseudonymise(frame, key, rng)
    encoded = encode_spine(pseudo, key, secret.secret, encoding_params(params.pprl))
    with StagedWrites() as staged:
        staged.table(mapping, mapping_out)
        staged._stage(out, lambda tmp: write_encoded(encoded, tmp), None)
    seconds = time.perf_counter() - started
    log.info("encoded %d records of %s (key %s, pseudonymised) into %s in %.1f s; mapping kept in %s",
             len(encoded), spine_path, key, out, seconds, mapping_out)
    return {"records": len(encoded), "key": key, "key_check": encoded.key_check, "key_source": secret.source,
            "seconds": seconds}


def link_encoded_files(survey_path: str | Path, npd_path: str | Path, out: str | Path, params: Params, *,
                       review_out: str | Path | None = None, decisions_path: str | Path | None = None):
    """The linkage unit: link two encoded files and write the links (and the one-sided review queue) atomically.

    Returns the :class:`~sendlink.link.engine.LinkResult`.
    """
    from sendlink.link.clerical import read_decisions
    from sendlink.link.engine import LINK_COLUMNS
    from sendlink.pprl.encode import read_encoded
    from sendlink.pprl.linker import link_encoded, review_queue

    check_paths({"--out": out, "--review-out": review_out},
                {"SURVEY": survey_path, "NPD": npd_path, "--decisions": decisions_path},
                tables=("--out", "--review-out"))
    remove_stale_temporaries([p for p in (out, review_out) if p is not None])
    survey = read_encoded(survey_path)
    npd = read_encoded(npd_path)
    if not len(npd):
        raise InputError(npd_path, "the encoded NPD file has no records")
    decisions = read_decisions(decisions_path) if decisions_path is not None else None
    result = link_encoded(survey, npd, params.linkage, params.pprl, seed=params.seed, decisions=decisions,
                          survey_source=survey_path, npd_source=npd_path)
    with StagedWrites() as staged:
        staged.table(result.links[LINK_COLUMNS], out)
        if review_out is not None:
            staged.table(review_queue(result), review_out)
    log.info("wrote %s (%d rows, pseudonyms only)", out, len(result.links))
    return result


def map_back_file(table_path: str | Path, mapping_path: str | Path, out: str | Path) -> pd.DataFrame:
    """Put a data holder's own keys back into a links or review file from the linkage unit."""
    from sendlink.pprl.pseudonyms import map_back

    check_paths({"--out": out}, {"LINKS": table_path, "--mapping": mapping_path}, tables=("--out",))
    remove_stale_temporaries([out])
    table = read_table(table_path, dtype_str=True) if str(table_path).lower().endswith(".csv") else read_table(table_path)
    mapping = read_table(mapping_path, dtype_str=True) if str(mapping_path).lower().endswith(".csv") else read_table(mapping_path)
    result = map_back(table, mapping, mapping_path)
    with StagedWrites() as staged:
        staged.table(result, out)
    return result


def run(args: argparse.Namespace) -> int:
    """Run ``sendlink encode`` or ``sendlink map-back``."""
    params = load_params(args.params)
    if args.command == "map-back":
        map_back_file(args.input, args.mapping, args.out)
        return 0
    info = encode_file(args.input, args.out, args.mapping, params, pseudonym_seed=args.pseudonym_seed)
    print(f"encoded {info['records']} records ({info['key']} swapped for pseudonyms) with the {info['key_source']} "
          f"secret (key check {info['key_check']}); send {args.out} to the linkage unit, keep {args.mapping}")
    return 0

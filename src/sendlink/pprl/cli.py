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
import pyarrow as pa
import pyarrow.parquet as pq

from sendlink.config import Paths
from sendlink.errors import InputError
from sendlink.io import StagedWrites, check_paths, read_table, remove_stale_temporaries
from sendlink.params import Params, load_params

__all__ = ["configure_parser", "encode_file", "link_encoded_files", "map_back_file", "run"]

log = logging.getLogger(__name__)

KEYS = ("survey_id", "upn")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """``sendlink encode`` or ``sendlink map-back`` (one module, two commands: the parser's name says which)."""
    if parser.prog.endswith("map-back"):
        parser.add_argument("input", type=Path, help="the links (or review) file from the linkage unit, .csv or .parquet")
        parser.add_argument("--mapping", type=Path, required=True, help="your pseudonym mapping, written by `sendlink encode`")
        parser.add_argument("--out", type=Path, required=True, help="the table to write, with your own keys (.csv or .parquet)")
        parser.add_argument("--params", type=Path, default=None, help=argparse.SUPPRESS)
        return
    parser.add_argument("input", type=Path, help="the spine: survey_id or upn, and identifier columns (.csv or .parquet)")
    parser.add_argument("--out", type=Path, required=True, help="the encoded file to send to the linkage unit (.parquet)")
    parser.add_argument("--mapping", type=Path, required=True,
                        help="where to keep the pseudonym mapping (.parquet or .csv); it stays with you")
    parser.add_argument("--params", type=Path, default=None, help="parameter file (default: the project's params.yaml)")
    parser.add_argument("--chunk-rows", type=int, default=500_000,
                        help="records encoded at a time (memory: about 1 kB per record per chunk)")
    parser.add_argument("--pseudonym-seed", type=int, default=None,
                        help="seed of the pseudonyms (default: fresh randomness; only for reproducible synthetic runs)")


def encode_file(spine_path: str | Path, out: str | Path, mapping_out: str | Path, params: Params, *,
                paths: Paths | None = None, pseudonym_seed: int | None = None, chunk_rows: int = 500_000) -> dict:
    """Pseudonymise and encode one spine file; write the encoded file and the mapping.

    The key column is ``survey_id`` or ``upn``, whichever the spine has.
    Rows are shuffled, then encoded ``chunk_rows`` at a time and written as
    one Parquet row group each, so a national NPD spine (9.1 million
    pupils) never has all its filters in memory at once.

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
    from sendlink.pprl.encode import encode_spine, encoding_params, write_encoded_chunks
    from sendlink.pprl.keys import shared_secret
    from sendlink.pprl.pseudonyms import PSEUDONYM_COLUMN, draw_pseudonyms

    check_paths({"--out": out, "--mapping": mapping_out}, {"SPINE": spine_path}, tables=("--mapping",))
    if Path(out).suffix.lower() != ".parquet":
        raise InputError(out, "the encoded file is Parquet (filters are binary columns): name it .parquet")
    remove_stale_temporaries([out, mapping_out])
    paths = paths or Paths.discover()
    started = time.perf_counter()
    secret = shared_secret(paths, params.pprl.key_env, params.pprl.key_path, [spine_path])
    if str(spine_path).lower().endswith(".csv"):
        table = pa.Table.from_pandas(read_table(spine_path, dtype_str=True), preserve_index=False)
    else:
        if not Path(spine_path).is_file():
            raise InputError(spine_path, "file not found")
        if Path(spine_path).stat().st_size == 0:
            raise InputError(spine_path, "the file is empty (0 bytes): was it cut short when copied?")
        try:
            table = pq.read_table(spine_path)
        except Exception as exc:  # pyarrow raises its own error types
            raise InputError(spine_path, f"cannot be read as PARQUET: {exc}") from exc
    keys = [k for k in KEYS if k in table.column_names]
    if len(keys) != 1:
        raise InputError(spine_path, f"a spine has exactly one key column of {', '.join(KEYS)}; found {keys or 'none'}")
    key = keys[0]
    rng = np.random.default_rng(pseudonym_seed)  # None: fresh entropy from the operating system
    n = table.num_rows
    pseudonyms = draw_pseudonyms(n, rng)
    mapping = pd.DataFrame({key: np.asarray(table.column(key).to_pylist(), dtype=object).astype(str), PSEUDONYM_COLUMN: pseudonyms})
    if mapping[key].duplicated().any() or table.column(key).null_count:
        from sendlink.link.spine import check_spine

        check_spine(table.select([key]).to_pandas(), key, str(spine_path))  # names the duplicated or empty keys
    order = rng.permutation(n)  # rows shuffled: the file's order (often by key) says nothing
    encoding = encoding_params(params.pprl)
    key_check = None

    def chunks():
        nonlocal key_check
        for start in range(0, max(n, 1), chunk_rows):
            rows = order[start:start + chunk_rows]
            frame = table.take(pa.array(rows, pa.int64())).to_pandas()
            frame[key] = pseudonyms[rows]
            encoded = encode_spine(frame, key, secret.secret, encoding)
            key_check = encoded.key_check
            if n > chunk_rows:
                log.info("encoded %d of %d records", min(start + chunk_rows, n), n)
            yield encoded

    with StagedWrites() as staged:
        staged.table(mapping, mapping_out)
        staged._stage(out, lambda tmp: write_encoded_chunks(chunks(), tmp), None)
    seconds = time.perf_counter() - started
    log.info("encoded %d records of %s (key %s, pseudonymised) into %s in %.1f s; mapping kept in %s",
             n, spine_path, key, out, seconds, mapping_out)
    return {"records": n, "key": key, "key_check": key_check, "key_source": secret.source,
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
    if args.command == "map-back":
        map_back_file(args.input, args.mapping, args.out)
        return 0
    params = load_params(args.params)
    info = encode_file(args.input, args.out, args.mapping, params, pseudonym_seed=args.pseudonym_seed,
                       chunk_rows=max(1, args.chunk_rows))
    print(f"encoded {info['records']} records ({info['key']} swapped for pseudonyms) with the {info['key_source']} "
          f"secret (key check {info['key_check']}); send {args.out} to the linkage unit, keep {args.mapping}")
    return 0

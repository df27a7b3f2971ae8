"""Proof that the linkage unit's folder holds no plain identifier (linking without names, issue 18).

The linkage unit (``data/linkage_unit/``) may hold encodings, pseudonyms,
similarities and weights, and nothing a person can read as an identifier.
Its files are not research files (they are keyed to people through the
data holders' mappings), so they are checked by their own rules,
:func:`scan_linkage_unit`, on top of the identifier scanner's:

* **Only tables and JSON** (``.parquet``, ``.csv``, ``.json``); any other file is a hit.
* **Keys are pseudonyms.** Every value of a ``survey_id`` or ``upn`` column
  matches :data:`sendlink.pprl.pseudonyms.PSEUDONYM` (``p`` and 16 hex
  digits) or is empty: a real UPN or survey id is a hit.
* **No identifier column** (``forename``, ``date_of_birth``, ``postcode``...
  :data:`sendlink.schema.research.DIRECT_IDENTIFIERS` and the spine's
  identifier columns), whatever it holds.
* **Binary data only where filters are declared**: a binary column must be
  named ``bf_<field>`` or ``clk`` and be of fixed width; keyed tokens and
  blocking keys (``tok_*``, ``blk_*``) must be 64-bit integers (or lists
  of them). A name cannot hide in a column whose type cannot hold text.
* **Every other text** (link statuses, level labels, passes; CSV and
  JSON files; Parquet metadata, where the encoding parameters and key
  check value live) goes through the identifier scanner
  (:class:`sendlink.scan.scanner.Scanner`): a name, UPN, postcode or date
  with a name is a hit.
* **The secret is not there.** When the shared secret is known to the
  check (the one ``sendlink encode`` would use), its bytes, hexadecimal
  and base64 forms must not occur in any file's raw bytes.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sendlink.config import Paths
from sendlink.link.standardise import IDENTIFIER_COLUMNS
from sendlink.scan.scanner import Hit, Scanner, ScanResult, _files
from sendlink.schema.research import DIRECT_IDENTIFIERS

__all__ = ["ALLOWED_SUFFIXES", "KEY_COLUMNS", "check_linkage_unit", "linkage_unit_secrets", "scan_linkage_unit"]

log = logging.getLogger(__name__)

#: File types the linkage unit may hold.
ALLOWED_SUFFIXES = frozenset({".parquet", ".csv", ".json"})
#: Key columns: they must hold pseudonyms.
KEY_COLUMNS = ("survey_id", "upn")
_FORBIDDEN = (frozenset(DIRECT_IDENTIFIERS) | frozenset(IDENTIFIER_COLUMNS)) - set(KEY_COLUMNS)


def _secret_forms(secret: bytes) -> list[bytes]:
    return [secret, secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret).rstrip(b"=")]


def _key_hits(frame: pd.DataFrame, path: Path) -> list:
    from sendlink.pprl.pseudonyms import PSEUDONYM

    hits = []
    for column in KEY_COLUMNS:
        if column not in frame.columns:
            continue
        values = frame[column].astype(object)
        filled = values[values.notna() & (values.astype(str) != "")].astype(str)
        bad = filled[~filled.str.fullmatch(PSEUDONYM.pattern)]
        for index, value in bad.head(10).items():
            hits.append(Hit(path, f"row {index}, column '{column}'", "key that is not a pseudonym", value))
        if len(bad) > 10:
            hits.append(Hit(path, f"column '{column}'", "keys that are not pseudonyms", f"{len(bad)} in all"))
    return hits


def _parquet_hits(path: Path, scanner) -> list:
    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow's own error types: unreadable is a hit
        return [Hit(path, "file", "unreadable table (cannot be checked)", str(exc))]
    hits = []
    text_columns = []
    for f in schema:
        name, kind = f.name, f.type
        if name.lower() in _FORBIDDEN:
            hits.append(Hit(path, f"column '{name}'", "identifier column", name))
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
            if not (name.startswith("bf_") or name == "clk") or not pa.types.is_fixed_size_binary(kind):
                hits.append(Hit(path, f"column '{name}'", "binary data outside a declared filter column", str(kind)))
        elif name.startswith(("tok_", "blk_")):
            ok = pa.types.is_int64(kind) or (pa.types.is_list(kind) and pa.types.is_int64(kind.value_type))
            if not ok:
                hits.append(Hit(path, f"column '{name}'", "token or blocking key that is not a 64-bit integer", str(kind)))
        elif name in KEY_COLUMNS or pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            continue
        else:
            text_columns.append(name)
    keys = [c for c in KEY_COLUMNS if c in schema.names]
    if keys:
        hits += _key_hits(pq.read_table(path, columns=keys).to_pandas(), path)
    if text_columns:
        hits += scanner.scan_table(pq.read_table(path, columns=text_columns).to_pandas(), path)
    hits += scanner.scan_parquet_metadata(path)
    return hits


def scan_linkage_unit(folder: Path, scanner, secrets: Iterable[bytes] = ()) -> tuple[list, list]:
    """Check every file under ``folder`` by the rules of the module docstring.

    Parameters
    ----------
    folder
        The linkage unit's folder (nothing is checked when it does not exist).
    scanner
        An identifier scanner (:class:`sendlink.scan.scanner.Scanner`).
    secrets
        Secrets whose raw, hexadecimal and base64 forms must not occur.

    Returns
    -------
    (list of Hit, list of Path)
        What was found, and the files looked at.
    """
    forms = [form for secret in secrets for form in _secret_forms(bytes(secret))]
    hits, scanned = [], []
    for path in _files(Path(folder)):
        scanned.append(path)
        suffix = path.suffix.lower()
        if suffix not in ALLOWED_SUFFIXES:
            hits.append(Hit(path, "file", "file type the linkage unit may not hold", path.name))
            continue
        raw = path.read_bytes()
        for form in forms:
            if form in raw:
                hits.append(Hit(path, "raw bytes", "the shared secret", "(not shown)"))
                break
        if suffix == ".parquet":
            hits += _parquet_hits(path, scanner)
            continue
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            hits += _key_hits(frame, path)
            hits += [Hit(path, f"column '{c}'", "identifier column", c) for c in frame.columns if c.lower() in _FORBIDDEN]
            hits += scanner.scan_table(frame.drop(columns=[c for c in KEY_COLUMNS if c in frame.columns]), path)
            continue
        hits += scanner.scan_file(path)
    return list(dict.fromkeys(hits)), scanned  # a column both checks flag is reported once


def linkage_unit_secrets(paths: Paths) -> list[bytes]:
    """The shared PPRL secret ``sendlink encode`` would use here, if one is acceptable (else none)."""
    from sendlink.errors import ParameterError
    from sendlink.params import load_params
    from sendlink.pprl.keys import shared_secret

    try:
        params = load_params(paths.params)
        return [shared_secret(paths, params.pprl.key_env, params.pprl.key_path).secret]
    except ParameterError as exc:
        log.info("linkage unit check: no shared secret to look for (%s)", exc)
        return []


def check_linkage_unit(paths: Paths, scanner: Scanner, result: ScanResult) -> ScanResult:
    """Add the linkage unit's folder to ``result`` (:mod:`sendlink.scan.linkage_unit`), if it exists."""
    if not paths.linkage_unit.is_dir():
        return result
    started = time.perf_counter()
    hits, scanned = scan_linkage_unit(paths.linkage_unit, scanner, linkage_unit_secrets(paths))
    result.hits.extend(hits)
    result.scanned.extend(scanned)
    result.seconds += time.perf_counter() - started
    return result

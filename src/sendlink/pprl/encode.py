"""Encode a linkage spine: what a data holder sends the linkage unit instead of names.

Run by each data holder (the survey organisation, DfE) with the shared
secret. **In:** a spine (DESIGN.md section 4: key column and identifier
columns). **Out:** an :class:`EncodedSpine`, one row per record in input
order, holding

* the record key (``survey_id`` / ``upn``: the linkage unit returns links by key);
* **field-level Bloom filters** of ``forename``, ``surname``,
  ``date_of_birth`` and ``postcode`` (:data:`DEFAULT_FIELDS`), each field
  with its own key;
* optionally a **record-level filter** (CLK) of the same tokens;
* **keyed tokens**: HMAC-SHA-256 pseudonyms of values compared only for
  equality (sex, school, postcode sector and district, the date and the
  date with day and month swapped, the forename's nickname/variant groups,
  the surname's parts), so the linkage unit can rebuild the plain linker's
  ``variant``, ``part``, ``transposed``, ``swapped``, ``sector`` and
  ``district`` levels (field filters have a key each, so a forename's
  filter cannot be compared with a surname's: the unordered pair of names
  is a keyed token instead);
* **keyed blocking keys** (:data:`DEFAULT_BLOCKING`): HMAC pseudonyms of
  blocking values (date of birth with the surname's Soundex code ...).

Plain values are cleaned first by the linker's own standardisation
(:func:`sendlink.link.standardise.standardise_spine`), so plain and
encoded linkage see the same inputs: ``Zoë-Marie O'Neill`` is encoded as
``zoe`` / ``oneill``.

What the linkage unit can still learn
-------------------------------------
Every deterministic encoding keeps *frequencies*: a field-level filter of
"Oliver" is the same in every record, so the most common filter is
probably the most common name (:mod:`sendlink.pprl.attack` measures how
far that goes). Keyed tokens and blocking keys are deterministic too.
Hardening options (:class:`EncodingParams`: ``salt``, ``xor_folds``,
``balance``, ``clk``) trade some of that leak against accuracy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sendlink.errors import InputError
from sendlink.link.standardise import name_groups, standardise_spine
from sendlink.pprl import bloom
from sendlink.pprl.keys import derive_key, derive_seed, key_check_value
from sendlink.pprl.similarity import dice_pairs, hamming_pairs

__all__ = [
    "DEFAULT_BLOCKING", "DEFAULT_FIELDS", "FORMAT_VERSION", "EncodedSpine", "EncodingParams", "FieldSpec",
    "encode_spine", "encoded_table", "encoding_params", "field_similarity", "read_encoded", "write_encoded",
    "write_encoded_chunks",
]

log = logging.getLogger(__name__)

#: Version of the encoded-file layout (written into the file's metadata).
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FieldSpec:
    """One field's Bloom filter: which standardised value, which tokens, how many bits each.

    Attributes
    ----------
    name
        The field (``forename``, ``surname``, ``date_of_birth``, ``postcode``).
    tokens
        ``"qgram"`` (q-grams of the standardised value, padded) or ``"dob"``
        (year, month and day tokens: :func:`sendlink.pprl.bloom.dob_tokens`).
    q
        q-gram length.
    k
        Bits set per token.
    """

    name: str
    tokens: str = "qgram"
    q: int = 2
    k: int = 20


#: Fields encoded by default. k = 20 bits per bigram in 1,024 bits: a
#: seven-letter name (eight padded bigrams) sets about 150 bits (15%), a
#: filter sparse enough that unrelated names share few bits.
DEFAULT_FIELDS = (
    FieldSpec("forename"),
    FieldSpec("surname"),
    FieldSpec("date_of_birth", tokens="dob"),
    FieldSpec("postcode"),
)

#: Keyed blocking keys: name -> the standardised parts joined into the key.
#: ``*_sx`` is the Soundex code (robust to most spelling slips); ``dob_sw``
#: the date with day and month swapped.
DEFAULT_BLOCKING = {
    # Date of birth with one other field (the plain linker's passes, with Soundex for name groups).
    "dob": ("dob",),
    "dob_surname": ("dob", "surname_sx"),
    "dob_forename": ("dob", "forename_sx"),
    "dob_initials": ("dob", "forename_initial", "surname_initial"),
    "dob_swapped_surname": ("dob_sw", "surname_sx"),
    "dob_school": ("dob", "school"),
    "dob_district": ("dob", "pc_district"),
    # Names with any date of birth (date slips), split by year; and the names alone.
    "names_year": ("forename_sx", "surname_sx", "dob_year"),
    "names": ("forename_sx", "surname_sx"),
    # Address and school, for children whose names and date both differ.
    "postcode_year": ("postcode", "dob_year"),
    "school_surname": ("school", "surname_sx"),
    "school_forename": ("school", "forename_sx"),
}


@dataclass(frozen=True)
class EncodingParams:
    """Everything both data holders must agree on (besides the secret).

    Attributes
    ----------
    length
        Field-level filter length ``l`` (bits).
    hashing
        ``"blake"`` (independent positions, default) or ``"double"`` (Schnell's
        double hashing); see :mod:`sendlink.pprl.bloom`.
    fields
        The field filters (:class:`FieldSpec`).
    salt
        ``None`` or ``"birth_year"``: append the year of birth to every token
        before hashing (hardening; a record without a year is unsalted).
    xor_folds
        XOR-fold the filters this many times (hardening).
    balance
        Balance the filters (hardening; doubles their length).
    clk
        Also build a record-level filter (CLK) of all fields.
    clk_length
        Its length.
    blocking
        Keyed blocking keys to compute (:data:`DEFAULT_BLOCKING`).
    """

    length: int = 1024
    hashing: str = "blake"
    fields: tuple[FieldSpec, ...] = DEFAULT_FIELDS
    salt: str | None = None
    xor_folds: int = 0
    balance: bool = False
    clk: bool = True
    clk_length: int = 1024
    blocking: tuple[tuple[str, tuple[str, ...]], ...] = tuple(DEFAULT_BLOCKING.items())

    def __post_init__(self) -> None:
        if self.salt not in (None, "birth_year"):
            raise ValueError(f"salt must be None or 'birth_year', not {self.salt!r}")
        if self.xor_folds < 0 or (self.length >> self.xor_folds) % 64:
            raise ValueError(f"cannot fold a {self.length}-bit filter {self.xor_folds} times into whole 64-bit words")

    @property
    def filter_length(self) -> int:
        """Length of the field filters as sent (after folding and balancing)."""
        return (self.length >> self.xor_folds) * (2 if self.balance else 1)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["fields"] = [asdict(f) for f in self.fields]
        out["blocking"] = {name: list(parts) for name, parts in self.blocking}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> EncodingParams:
        data = dict(data)
        data["fields"] = tuple(FieldSpec(**f) for f in data.get("fields", []))
        data["blocking"] = tuple((name, tuple(parts)) for name, parts in dict(data.get("blocking", {})).items())
        return cls(**data)


@dataclass
class EncodedSpine:
    """An encoded spine (see the module docstring). Rows are records, in input order.

    Attributes
    ----------
    key
        Key column name; ``keys`` the keys as text.
    filters, present
        Per field: packed filters ``(n, words)`` (all zero where missing)
        and whether the record had the field.
    clk
        Record-level filters, or ``None``.
    tokens
        Keyed tokens: ``int64`` arrays, ``(n,)`` or ``(n, m)`` for
        multi-valued ones; ``-1`` missing.
    blocking
        Keyed blocking keys, ``int64`` ``(n,)``, ``-1`` where a part is missing.
    mean_popcount
        Per field, the mean bits set before folding and balancing (a
        published aggregate: it scales the similarity of balanced filters).
    params, key_check
        How it was encoded, and the secret's check value.
    """

    key: str
    keys: np.ndarray
    filters: dict[str, np.ndarray]
    present: dict[str, np.ndarray]
    tokens: dict[str, np.ndarray]
    blocking: dict[str, np.ndarray]
    params: EncodingParams
    key_check: str
    mean_popcount: dict[str, float] = field(default_factory=dict)
    clk: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.keys)


# --------------------------------------------------------------------------- helpers


def keyed_tokens(values: np.ndarray, key: bytes, kind: str) -> np.ndarray:
    """HMAC-SHA-256 of ``kind NUL value`` as non-negative ``int64`` (63 bits); ``-1`` for missing.

    63 bits: two different values collide with probability 2**-63, so even
    across 10 million distinct values a collision is a one-in-a-billion event.
    """
    values = np.asarray(values, dtype=object)
    out = np.full(len(values), -1, dtype=np.int64)
    present = ~pd.isna(values)
    present[present] = values[present] != ""
    if not present.any():
        return out
    codes, uniques = pd.factorize(pd.Series(values[present], dtype=object))
    prefix = kind.encode("utf-8") + b"\x00"
    hashed = np.array([
        int.from_bytes(hmac.new(key, prefix + str(u).encode("utf-8"), hashlib.sha256).digest()[:8], "big") >> 1
        for u in uniques
    ], dtype=np.int64)
    out[present] = hashed[codes]
    return out


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value))) or value == ""


def _soundex(value: object) -> object:
    return jellyfish.soundex(value) if isinstance(value, str) and value else None


def _tokens_for(spec: FieldSpec, std: pd.DataFrame) -> list[list[str]]:
    if spec.tokens == "dob":
        return [bloom.dob_tokens(y, m, d) for y, m, d in
                zip(std["dob_year"].to_numpy(), std["dob_month"].to_numpy(), std["dob_day"].to_numpy(), strict=True)]
    if spec.tokens != "qgram":
        raise ValueError(f"unknown token kind {spec.tokens!r} for field {spec.name}")
    column = {"forename": "forename", "surname": "surname", "postcode": "postcode"}.get(spec.name, spec.name)
    values = std[column].to_numpy(dtype=object)
    if spec.name == "postcode":
        values = np.array([v.replace(" ", "").lower() if isinstance(v, str) else None for v in values], dtype=object)
    cache: dict[str, list[str]] = {}
    out = []
    for v in values:
        if not isinstance(v, str) or not v:
            out.append([])
            continue
        if v not in cache:
            cache[v] = bloom.qgrams(v, spec.q)
        out.append(cache[v])
    return out


def _encode_distinct(encoder: bloom.Encoder, token_lists: list[list[str]], salts: list[str]) -> np.ndarray:
    """Encode each distinct (tokens, salt) once and broadcast back to the rows."""
    keys = pd.Series([("\x1e".join(t), s) for t, s in zip(token_lists, salts, strict=True)], dtype=object)
    codes, uniques = pd.factorize(keys)
    first = np.zeros(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    packed = encoder.encode([token_lists[i] for i in first], [salts[i] for i in first])
    return packed[codes] if len(codes) else packed


def _multi(values: list[list[str]], key: bytes, kind: str, width: int) -> np.ndarray:
    """Keyed tokens of up to ``width`` values per record, ``(n, width)``, ``-1`` padded."""
    out = np.full((len(values), width), -1, dtype=np.int64)
    for j in range(width):
        column = np.array([v[j] if len(v) > j else None for v in values], dtype=object)
        out[:, j] = keyed_tokens(column, key, kind)
    return out


# --------------------------------------------------------------------------- encoding


def encode_spine(frame: pd.DataFrame, key: str, secret: bytes | str, params: EncodingParams | None = None) -> EncodedSpine:
    """Encode a spine with the shared secret (see the module docstring).

    Parameters
    ----------
    frame
        The spine: ``key`` and any of the identifier columns (absent or
        empty ones are encoded as missing).
    key
        The key column (``survey_id`` or ``upn``).
    secret
        The secret shared by both data holders (never by the linkage unit).
    params
        The encoding parameters; both data holders must use the same.

    Raises
    ------
    InputError
        The key column is missing, empty or duplicated.
    """
    from sendlink.link.spine import check_spine

    params = params or EncodingParams()
    frame = check_spine(frame, key, "spine")
    std = standardise_spine(frame, key)
    n = len(std)
    years = std["dob_year"].to_numpy()
    salts = [str(y) if (params.salt == "birth_year" and y >= 0) else "" for y in years]
    filters, present, mean_pop = {}, {}, {}
    clk_bits = np.zeros((n, params.clk_length // 64), dtype=np.uint64) if params.clk else None
    for spec in params.fields:
        token_lists = _tokens_for(spec, std)
        present[spec.name] = np.array([bool(t) for t in token_lists], dtype=bool)
        material = derive_key(secret, f"bloom:{spec.name}", 128)
        keys = (material[:64], material[64:])
        packed = _encode_distinct(bloom.Encoder(params.length, spec.k, keys, params.hashing), token_lists, salts)
        counts = bloom.popcount(packed)
        mean_pop[spec.name] = float(counts[present[spec.name]].mean()) if present[spec.name].any() else 0.0
        if params.xor_folds:
            packed = bloom.xor_fold(packed, params.xor_folds)
        if params.balance:
            packed = bloom.balance(packed, params.length >> params.xor_folds, derive_seed(secret, f"balance:{spec.name}"))
            packed[~present[spec.name]] = 0
        filters[spec.name] = packed
        if clk_bits is not None:
            material = derive_key(secret, f"clk:{spec.name}", 128)
            clk_encoder = bloom.Encoder(params.clk_length, spec.k, (material[:64], material[64:]), params.hashing)
            clk_bits |= _encode_distinct(clk_encoder, token_lists, salts)
    if clk_bits is not None and params.xor_folds:
        clk_bits = bloom.xor_fold(clk_bits, params.xor_folds)
    if clk_bits is not None and params.balance:
        clk_bits = bloom.balance(clk_bits, params.clk_length >> params.xor_folds, derive_seed(secret, "balance:clk"))

    token_key = derive_key(secret, "tokens")
    salt_of = np.array(salts, dtype=object)

    def salted(values: np.ndarray) -> np.ndarray:
        if params.salt is None:
            return values
        return np.array([None if _missing(v) else f"{v}\x1f{s}" for v, s in zip(values, salt_of, strict=True)], dtype=object)

    dob = std["dob"].to_numpy(dtype=object)
    swapped = np.array([
        None if y < 0 or d > 12 or d == m else f"{y:04d}-{d:02d}-{m:02d}"
        for y, m, d in zip(years, std["dob_month"].to_numpy(), std["dob_day"].to_numpy(), strict=True)
    ], dtype=object)
    forenames = std["forename"].to_numpy(dtype=object)
    groups = [sorted(name_groups(f)) if isinstance(f, str) else [] for f in forenames]
    parts = [p.split() if isinstance(p, str) else [] for p in std["surname_parts"].to_numpy(dtype=object)]
    if params.salt is not None:
        groups = [[f"{g}\x1f{s}" for g in gs] for gs, s in zip(groups, salts, strict=True)]
        parts = [[f"{p}\x1f{s}" for p in ps] for ps, s in zip(parts, salts, strict=True)]
    surnames = std["surname"].to_numpy(dtype=object)
    unordered = np.array([
        None if _missing(f) or _missing(s_) else "\x1e".join(sorted((f, s_))) for f, s_ in zip(forenames, surnames, strict=True)
    ], dtype=object)
    tokens = {
        # The unordered pair of names: equal when forename and surname are swapped on one side.
        "names_unordered": keyed_tokens(salted(unordered), token_key, "names_unordered"),
        "sex": keyed_tokens(std["sex"].to_numpy(dtype=object), token_key, "sex"),
        "school": keyed_tokens(std["school"].to_numpy(dtype=object), token_key, "school"),
        "pc_sector": keyed_tokens(salted(std["pc_sector"].to_numpy(dtype=object)), token_key, "pc_sector"),
        "pc_district": keyed_tokens(salted(std["pc_district"].to_numpy(dtype=object)), token_key, "pc_district"),
        "dob": keyed_tokens(dob, token_key, "dob"),
        "dob_swapped": keyed_tokens(swapped, token_key, "dob"),  # same kind as dob: a swapped date meets the other's date
        "forename_groups": _multi(groups, token_key, "forename_group", max(1, min(4, max((len(g) for g in groups), default=1)))),
        "surname_parts": _multi(parts, token_key, "surname_part", 3),
    }

    parts_table = {
        "dob": dob, "dob_sw": swapped,
        "dob_year": np.array([str(y) if y >= 0 else None for y in years], dtype=object),
        "surname_sx": np.array([_soundex(v) for v in std["surname"].to_numpy(dtype=object)], dtype=object),
        "forename_sx": np.array([_soundex(v) for v in forenames], dtype=object),
        "postcode": std["postcode"].to_numpy(dtype=object),
        "pc_district": std["pc_district"].to_numpy(dtype=object),
        "forename_initial": np.array([v[0] if isinstance(v, str) and v else None for v in forenames], dtype=object),
        "surname_initial": np.array([v[0] if isinstance(v, str) and v else None for v in std["surname"].to_numpy(dtype=object)],
                                    dtype=object),
        "school": std["school"].to_numpy(dtype=object),
        "sex": std["sex"].to_numpy(dtype=object),
    }
    block_key = derive_key(secret, "blocking")
    blocking = {}
    for name, needed in params.blocking:
        unknown = [p for p in needed if p not in parts_table]
        if unknown:
            raise ValueError(f"blocking key {name}: unknown part(s) {unknown} (known: {sorted(parts_table)})")
        joined = np.array([
            None if any(_missing(v) for v in row) else "\x1f".join(str(v) for v in row)
            for row in zip(*(parts_table[p] for p in needed), strict=True)
        ], dtype=object) if n else np.zeros(0, dtype=object)
        blocking[name] = keyed_tokens(joined, block_key, f"block:{name}")
    log.info("encoded %d records: %d field filters of %d bits%s", n, len(filters), params.filter_length,
             f", CLKs of {clk_bits.shape[1] * 64} bits" if clk_bits is not None else "")
    return EncodedSpine(key=key, keys=std[key].to_numpy(dtype=object), filters=filters, present=present, tokens=tokens,
                        blocking=blocking, params=params, key_check=key_check_value(secret), mean_popcount=mean_pop,
                        clk=clk_bits)


def field_similarity(s: EncodedSpine, n: EncodedSpine, name: str, si: np.ndarray, ni: np.ndarray) -> np.ndarray:
    """Similarity of one field's filters for the pairs ``(si, ni)``: Dice, on the scale of unbalanced filters.

    Balanced filters all have the same weight, so their Dice says little;
    Hamming distance survives balancing (it doubles), and with the
    published mean bits set ``w`` of the unbalanced filters the Dice of
    the originals is estimated as ``1 - (H / 2) / (2 w)``.
    """
    if s.params.balance:
        distance = hamming_pairs(s.filters[name], n.filters[name], si, ni) / 2.0
        weight = (s.mean_popcount.get(name, 0.0) + n.mean_popcount.get(name, 0.0))
        return np.clip(1.0 - distance / max(weight, 1.0), 0.0, 1.0)
    return dice_pairs(s.filters[name], n.filters[name], si, ni)


# --------------------------------------------------------------------------- files


def encoded_table(encoded: EncodedSpine) -> pa.Table:
    """An encoded spine as an Arrow table (filters as fixed-size binary; parameters in the schema metadata)."""
    columns: dict[str, pa.Array] = {encoded.key: pa.array([str(k) for k in encoded.keys], pa.string())}

    def binary(words: np.ndarray, mask: np.ndarray | None) -> pa.Array:
        width = words.shape[1] * 8
        raw = np.ascontiguousarray(words).view(np.uint8).reshape(len(words), width)
        values = [bytes(r) for r in raw]
        return pa.array(values, pa.binary(width), mask=None if mask is None else ~mask)

    for name, words in encoded.filters.items():
        columns[f"bf_{name}"] = binary(words, encoded.present[name])
    if encoded.clk is not None:
        columns["clk"] = binary(encoded.clk, None)
    for name, values in encoded.tokens.items():
        if values.ndim == 1:
            columns[f"tok_{name}"] = pa.array(values, pa.int64(), mask=values < 0)
        else:
            columns[f"tok_{name}"] = pa.array([[int(v) for v in row if v >= 0] for row in values], pa.list_(pa.int64()))
    for name, values in encoded.blocking.items():
        columns[f"blk_{name}"] = pa.array(values, pa.int64(), mask=values < 0)
    meta = {"format_version": FORMAT_VERSION, "key": encoded.key, "key_check": encoded.key_check,
            "params": encoded.params.to_dict(), "mean_popcount": encoded.mean_popcount}
    return pa.table(columns).replace_schema_metadata({"sendlink_pprl": json.dumps(meta)})


def write_encoded(encoded: EncodedSpine, path: str | Path) -> Path:
    """Write an encoded spine as Parquet (filters as fixed-size binary; parameters in the metadata)."""
    path = Path(path)
    pq.write_table(encoded_table(encoded), path)
    return path


def write_encoded_chunks(chunks, path: str | Path) -> int:
    """Write encoded spines (an iterable of :class:`EncodedSpine`, e.g. chunks of a national file) as one Parquet file.

    One row group per chunk; only one chunk is in memory at a time. The
    file's metadata is the first chunk's, its ``mean_popcount`` (used only
    to rescale balanced filters) that chunk's estimate. Returns the rows written.
    """
    writer = None
    rows = 0
    try:
        for encoded in chunks:
            table = encoded_table(encoded)
            if writer is None:
                writer = pq.ParquetWriter(str(path), table.schema)
                schema = table.schema
            writer.write_table(table.cast(schema) if table.schema != schema else table)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def read_encoded(path: str | Path) -> EncodedSpine:
    """Read a file written by :func:`write_encoded`.

    Raises
    ------
    InputError
        The file is not an encoded spine of a supported version.
    """
    path = Path(path)
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(b"sendlink_pprl")
    if raw is None:
        raise InputError(path, "not an encoded spine (no sendlink_pprl metadata): was it written by `sendlink encode`?")
    meta = json.loads(raw)
    if meta.get("format_version") != FORMAT_VERSION:
        raise InputError(path, f"encoded-file format version {meta.get('format_version')} is not supported "
                               f"(this sendlink reads version {FORMAT_VERSION})")
    params = EncodingParams.from_dict(meta["params"])
    key = meta["key"]
    n = table.num_rows

    def words(column: str, width_bits: int) -> tuple[np.ndarray, np.ndarray]:
        array = table.column(column).combine_chunks()
        mask = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        width = width_bits // 8
        filled = array.fill_null(bytes(width)) if array.null_count else array
        buffer = np.frombuffer(filled.buffers()[1], dtype=np.uint8, count=n * width, offset=filled.offset * width)
        return buffer.reshape(n, width).copy().view(np.uint64), mask

    filters, present = {}, {}
    for spec in params.fields:
        filters[spec.name], present[spec.name] = words(f"bf_{spec.name}", params.filter_length)
    clk = None
    if "clk" in table.column_names:
        clk_len = (params.clk_length >> params.xor_folds) * (2 if params.balance else 1)
        clk, _ = words("clk", clk_len)
    tokens, blocking = {}, {}
    for column in table.column_names:
        array = table.column(column)
        if column.startswith("tok_"):
            if pa.types.is_list(array.type):
                # Padded (n, width) from the list offsets, without a Python list per row (9 million rows).
                lists = array.combine_chunks()
                offsets = lists.offsets.to_numpy()
                values = lists.flatten().to_numpy().astype(np.int64)
                lengths = np.diff(offsets)
                width = max(1, int(lengths.max()) if len(lengths) else 1)
                out = np.full((n, width), -1, dtype=np.int64)
                row_of = np.repeat(np.arange(n), lengths)
                position = np.arange(len(values)) - np.repeat(offsets[:-1] - offsets[0], lengths)
                out[row_of, position] = values
                tokens[column[4:]] = out
            else:
                tokens[column[4:]] = array.fill_null(-1).to_numpy().astype(np.int64)
        elif column.startswith("blk_"):
            blocking[column[4:]] = array.fill_null(-1).to_numpy().astype(np.int64)
    keys = np.asarray(table.column(key).to_pylist(), dtype=object)
    return EncodedSpine(key=key, keys=keys, filters=filters, present=present, tokens=tokens, blocking=blocking,
                        params=params, key_check=meta["key_check"], mean_popcount=meta.get("mean_popcount", {}), clk=clk)



def encoding_params(section) -> EncodingParams:
    """The ``pprl.encoding`` parameters (:class:`sendlink.params.pprl.PprlParams`) as :class:`EncodingParams`."""
    return EncodingParams.from_dict(section.encoding.model_dump())

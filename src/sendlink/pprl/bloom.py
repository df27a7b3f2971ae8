"""Bloom filters of q-grams: the encoding itself, and its hardenings.

A value is cut into *tokens* (for names, the q-grams of the padded value:
``steve`` -> `` s, st, te, ev, ve, e `` for q = 2), and each token sets
``k`` bits of an ``l``-bit filter, chosen by a keyed hash of the token.
Two filters' Dice similarity (:mod:`sendlink.pprl.similarity`) then
approximates the Dice similarity of the two token sets: ``Smith`` and
``Smyth`` share four of six bigrams and their filters share most bits,
while no one without the key can compute a filter from a name (Schnell,
Bachteler & Reiher 2009, BMC Medical Informatics and Decision Making 9:41).

Two ways of choosing the k bits, both exactly as the reference
implementation clkhash writes them (tested against vectors made with
clkhash 0.18.3, ``tests/unit/pprl/clkhash_vectors.json``):

``double`` (clkhash ``doubleHash``)
    ``g_i = (h1 + i * h2) mod l`` for i = 0..k-1, with ``h1`` the
    HMAC-SHA1 and ``h2`` the HMAC-MD5 of the token read as a big-endian
    integer (Schnell, Bachteler & Reiher 2011's construction). Only l**2
    distinct bit patterns are possible per token, which the attack of Kroll
    & Steinmetzer (2015) exploits: kept for comparison and compatibility.
``blake`` (clkhash ``blakeHash``, the default)
    Keyed BLAKE2b (a MAC, RFC 7693) of the token, with personalisation
    salt ``"0"``, ``"1"``, ... for each further 32 positions; its 64-byte
    digest read as 32 little-endian 16-bit integers, each ``mod l``
    (``l`` a power of two up to 65,536, so the positions are unbiased).
    Independent positions per token ("random hashing").

Bit ``i`` of a filter is bit ``7 - i % 8`` of byte ``i // 8`` (bitarray's
big-endian order, as clkhash serialises); filters are held packed, one row
of ``l / 64`` ``uint64`` words per record (:func:`pack`), so that AND and
popcount run on whole words.

Hardening (surveyed in Christen, Schnell, Vatsalan & Ranbaduge, *Linking
Sensitive Data*, Springer 2020)
    * **salting** (:class:`Encoder` ``salt``): a record attribute (the
      year of birth) is appended to every token before hashing, so the
      same name sets different bits in different birth years: frequencies
      of names and q-grams are split, at the cost that a record whose salt
      is wrong or missing no longer resembles its match at all;
    * **balancing** (:func:`balance`, Schnell & Borgs 2016, "Randomized
      response and balanced Bloom filters for privacy preserving record
      linkage", ICDM Workshops): the
      filter is concatenated with its complement and the ``2l`` bits are
      permuted with a keyed permutation, so every filter has exactly ``l``
      bits set and bit frequencies say nothing;
    * **XOR-folding** (:func:`xor_fold`, Schnell & Borgs 2016, "XOR-folding
      for hardening Bloom filter-based encryptions for PPRL"):
      the two halves are XORed, so a set bit no longer identifies a token's
      bit;
    * **record-level encoding** (CLK, Schnell, Bachteler & Reiher 2011):
      the tokens of all fields, each with its own key, go into one filter
      per record (:meth:`Encoder.encode` on several fields, OR-ed).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "HASHINGS", "Encoder", "balance", "dob_tokens", "pack", "popcount", "positions_blake", "positions_double",
    "qgrams", "unpack", "xor_fold",
]

#: The bit-selection schemes (see the module docstring).
HASHINGS = ("blake", "double")

#: Separates a token from its salt before hashing (never in a standardised value).
SALT_SEPARATOR = "\x1f"


def qgrams(value: str, q: int = 2, *, padded: bool = True) -> list[str]:
    """The q-grams of ``value``, padded with ``q - 1`` spaces at each end (as clkhash).

    >>> qgrams("steve")
    [' s', 'st', 'te', 'ev', 've', 'e ']
    >>> qgrams("jo", 3, padded=False)
    []
    """
    if padded:
        value = " " * (q - 1) + value + " " * (q - 1)
    return [value[i:i + q] for i in range(len(value) - q + 1)]


def dob_tokens(year: int, month: int, day: int) -> list[str]:
    """A date of birth as three component tokens: ``y2009 m03 d17``.

    Dice on these is 1 (same date), 2/3 (one component differs: a typing
    slip) or at most 1/3, the same bands as the plain comparison's
    ``exact`` / ``one_off`` / ``different``. A missing date gives no tokens.
    """
    if year < 0 or month < 0 or day < 0:
        return []
    return [f"y{year:04d}", f"m{month:02d}", f"d{day:02d}"]


def positions_double(token: bytes, k: int, length: int, key_sha1: bytes, key_md5: bytes) -> list[int]:
    """clkhash ``doubleHash`` positions: ``(h1 + i h2) mod l``, i = 0..k-1."""
    h1 = int.from_bytes(hmac.new(key_sha1, token, hashlib.sha1).digest(), "big") % length
    h2 = int.from_bytes(hmac.new(key_md5, token, hashlib.md5).digest(), "big") % length
    return [(h1 + i * h2) % length for i in range(k)]


def positions_blake(token: bytes, k: int, length: int, key: bytes) -> list[int]:
    """clkhash ``blakeHash`` positions: keyed BLAKE2b read as 16-bit integers mod l."""
    if length & (length - 1) or not 0 < length <= 65536:
        raise ValueError(f"blake hashing needs a filter length that is a power of two up to 65536, not {length}")
    shorts: list[int] = []
    for i in range((k + 31) // 32):
        digest = hashlib.blake2b(token, key=key[:64], salt=str(i).encode()).digest()
        shorts.extend(struct.unpack("<32H", digest))
    return [s % length for s in shorts[:k]]


def pack(bits: np.ndarray) -> np.ndarray:
    """Boolean filters ``(n, l)`` -> packed ``uint64`` ``(n, l / 64)`` (``l`` a multiple of 64)."""
    bits = np.atleast_2d(np.asarray(bits, dtype=bool))
    if bits.shape[1] % 64:
        raise ValueError(f"filter length must be a multiple of 64, not {bits.shape[1]}")
    return np.ascontiguousarray(np.packbits(bits, axis=1)).view(np.uint64)


def unpack(words: np.ndarray, length: int | None = None) -> np.ndarray:
    """Packed filters -> boolean ``(n, l)``."""
    words = np.ascontiguousarray(np.atleast_2d(words))
    bits = np.unpackbits(words.view(np.uint8), axis=1).astype(bool)
    return bits if length is None else bits[:, :length]


_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per row of packed filters (``int64``)."""
    words = np.ascontiguousarray(np.atleast_2d(words))
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0: the CPU's popcount instruction
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    return _BYTE_POPCOUNT[words.view(np.uint8)].sum(axis=1, dtype=np.int64)


def xor_fold(words: np.ndarray, folds: int = 1) -> np.ndarray:
    """XOR the two halves of each filter, ``folds`` times (l -> l / 2**folds).

    The halves are whole ``uint64`` words, so ``l / 2**folds`` must stay a
    multiple of 64.
    """
    out = np.ascontiguousarray(np.atleast_2d(words))
    for _ in range(folds):
        half = out.shape[1] // 2
        if out.shape[1] % 2:
            raise ValueError("cannot fold: the filter is not a whole number of 64-bit words after folding")
        out = out[:, :half] ^ out[:, half:]
    return out


def balance(words: np.ndarray, length: int, seed: int) -> np.ndarray:
    """Balanced filters: ``(b, not b)`` with its ``2l`` bits permuted by a keyed permutation.

    ``seed`` comes from the secret (:func:`sendlink.pprl.keys.derive_seed`),
    so both data holders permute alike and the linkage unit cannot undo it.
    Every result has exactly ``l`` bits set.
    """
    bits = unpack(words, length)
    doubled = np.concatenate([bits, ~bits], axis=1)
    permutation = np.random.Generator(np.random.PCG64(seed)).permutation(2 * length)
    return pack(doubled[:, permutation])


@dataclass
class Encoder:
    """Encode values into Bloom filters with one field's key(s).

    Parameters
    ----------
    length
        Filter length ``l`` in bits (a multiple of 64; a power of two for ``blake``).
    k
        Bits per token (hash functions).
    keys
        ``(key,)`` for ``blake``; ``(key_sha1, key_md5)`` for ``double``.
    hashing
        ``"blake"`` or ``"double"``.

    Positions are computed once per distinct (token, salt) and cached, so
    encoding a national file costs one hash per distinct q-gram, not per
    record.
    """

    length: int
    k: int
    keys: Sequence[bytes]
    hashing: str = "blake"
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.hashing not in HASHINGS:
            raise ValueError(f"hashing must be one of {HASHINGS}, not {self.hashing!r}")
        if self.length % 64:
            raise ValueError(f"filter length must be a multiple of 64, not {self.length}")
        if self.hashing == "blake" and (self.length & (self.length - 1)):
            raise ValueError(f"blake hashing needs a power-of-two filter length, not {self.length}")
        if self.k < 1:
            raise ValueError(f"k must be at least 1, not {self.k}")
        if self.hashing == "double" and len(self.keys) < 2:
            raise ValueError("double hashing needs two keys (HMAC-SHA1, HMAC-MD5)")

    def positions(self, token: str, salt: str = "") -> list[int]:
        """The bit positions a token sets (with its salt, if any)."""
        cache_key = (token, salt)
        hit = self._cache.get(cache_key)
        if hit is None:
            data = (token + SALT_SEPARATOR + salt if salt else token).encode("utf-8")
            if self.hashing == "blake":
                hit = positions_blake(data, self.k, self.length, self.keys[0])
            else:
                hit = positions_double(data, self.k, self.length, self.keys[0], self.keys[1])
            self._cache[cache_key] = hit
        return hit

    def filter_bits(self, tokens: Iterable[str], salt: str = "") -> np.ndarray:
        """One filter as booleans (no tokens -> all zero)."""
        bits = np.zeros(self.length, dtype=bool)
        for token in tokens:
            bits[self.positions(token, salt)] = True
        return bits

    def encode(self, token_lists: Sequence[Sequence[str]], salts: Sequence[str] | None = None) -> np.ndarray:
        """Packed filters ``(n, l / 64)`` of ``n`` token lists (optionally salted, one salt each)."""
        n = len(token_lists)
        bits = np.zeros((n, self.length), dtype=bool)
        # One positions row per distinct (token, salt), then a single scatter.
        index: dict[tuple[str, str], int] = {}
        table: list[list[int]] = []
        rows: list[int] = []
        ids: list[int] = []
        for row, tokens in enumerate(token_lists):
            salt = salts[row] if salts is not None else ""
            for token in tokens:
                slot = index.get((token, salt))
                if slot is None:
                    slot = index[(token, salt)] = len(table)
                    table.append(self.positions(token, salt))
                rows.append(row)
                ids.append(slot)
        if rows:
            positions = np.asarray(table, dtype=np.int64)[np.asarray(ids)]
            bits[np.repeat(np.asarray(rows), self.k), positions.ravel()] = True
        return pack(bits) if n else np.zeros((0, self.length // 64), dtype=np.uint64)

"""Bloom-filter encoding against published constructions and reference vectors.

``clkhash_vectors.json`` was made with clkhash 0.18.3, the Data61 reference
implementation, by ``make_clkhash_vectors.py`` beside this file (run in a
scratch environment with clkhash installed; clkhash is not a dependency).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import numpy as np
import pytest

from sendlink.pprl import bloom
from sendlink.pprl.keys import hkdf

VECTORS = json.loads((Path(__file__).with_name("clkhash_vectors.json")).read_text())


def test_qgrams_are_padded_as_clkhash_and_schnell():
    assert bloom.qgrams("steve") == VECTORS["bigrams_steve"] == [" s", "st", "te", "ev", "ve", "e "]
    assert bloom.qgrams("smith") == [" s", "sm", "mi", "it", "th", "h "]
    assert bloom.qgrams("ab", 3) == ["  a", " ab", "ab ", "b  "]
    assert bloom.qgrams("a", 2, padded=False) == []


def test_dob_tokens():
    assert bloom.dob_tokens(2009, 3, 7) == ["y2009", "m03", "d07"]
    assert bloom.dob_tokens(-1, -1, -1) == []


@pytest.mark.parametrize("vector", VECTORS["filters"], ids=lambda v: f"{v['scheme']}-{v['word']}-k{v['k']}-l{v['l']}")
def test_positions_match_clkhash(vector):
    keys = VECTORS["keys"]
    grams = bloom.qgrams(vector["word"])
    if vector["scheme"] == "double":
        got = {p for g in grams for p in bloom.positions_double(g.encode(), vector["k"], vector["l"],
                                                                 keys["sha1"].encode(), keys["md5"].encode())}
    else:
        got = {p for g in grams for p in bloom.positions_blake(g.encode(), vector["k"], vector["l"], keys["blake"].encode())}
    assert sorted(got) == vector["positions"]


def test_double_hashing_by_hand():
    # g_i = (h1 + i h2) mod l with h1 = HMAC-SHA1, h2 = HMAC-MD5 as big-endian integers (Schnell et al. 2011).
    h1 = int(hmac.new(b"a", b"xy", hashlib.sha1).hexdigest(), 16)
    h2 = int(hmac.new(b"b", b"xy", hashlib.md5).hexdigest(), 16)
    expected = [((h1 % 1000) + i * (h2 % 1000)) % 1000 for i in range(4)]
    assert bloom.positions_double(b"xy", 4, 1000, b"a", b"b") == expected


def test_blake_needs_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        bloom.positions_blake(b"ab", 3, 1000, b"key")
    with pytest.raises(ValueError, match="power-of-two"):
        bloom.Encoder(960, 3, (b"key",), "blake")


def test_hkdf_rfc5869_test_case_1():
    okm = hkdf(bytes([0x0B]) * 22, 42, salt=bytes(range(13)), info=bytes(range(0xF0, 0xFA)))
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c"
                         "5db02d56ecc4c5bf34007208d5b887185865")


def test_hkdf_rfc5869_test_case_3_no_salt_no_info():
    okm = hkdf(bytes([0x0B]) * 22, 42)
    assert okm.hex() == ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879e"
                         "c3454e5f3c738d2d9d201395faa4b61a96c8")


def test_hkdf_matches_clkhash_key_derivation():
    h = VECTORS["hkdf"]
    material = hkdf(h["secret"].encode(), h["num_keys"] * h["key_size"], salt=base64.b64decode(h["salt_b64"]),
                    info=base64.b64decode(h["info_b64"]))
    got = [material[i * h["key_size"]:(i + 1) * h["key_size"]].hex() for i in range(h["num_keys"])]
    assert got == h["keys_hex"]


def test_record_level_clk_matches_clkhash_generate_clks():
    # clkhash derives 2 keys per schema feature (the ignored id feature too) with HKDF, then ORs the fields.
    schema = VECTORS["clk_schema"]
    kdf = schema["clkConfig"]["kdf"]
    n_features = len(schema["features"])
    material = hkdf(b"correct horse battery staple", 2 * 64 * n_features, salt=base64.b64decode(kdf["salt"]),
                    info=base64.b64decode(kdf["info"]))
    keys = [material[i * 64:(i + 1) * 64] for i in range(2 * n_features)]
    forename = bloom.Encoder(1024, 20, (keys[2], keys[3]), "blake")
    surname = bloom.Encoder(1024, 20, (keys[4], keys[5]), "double")
    for (_, fore, sur), expected in zip(VECTORS["clk_rows"], VECTORS["clks_hex"], strict=True):
        clk = forename.encode([bloom.qgrams(fore)]) | surname.encode([bloom.qgrams(sur)])
        assert clk.view(np.uint8).tobytes().hex() == expected


def test_bit_order_is_big_endian_within_bytes():
    bits = np.zeros((1, 64), bool)
    bits[0, 0] = True  # bit 0 is the most significant bit of byte 0, as bitarray serialises
    assert bloom.pack(bits).view(np.uint8)[0, 0] == 0b1000_0000
    assert (bloom.unpack(bloom.pack(bits), 64) == bits).all()


def test_popcount_and_fold_and_balance():
    bits = np.zeros((2, 128), bool)
    bits[0, [0, 1, 64, 127]] = True
    bits[1, [3]] = True
    packed = bloom.pack(bits)
    assert bloom.popcount(packed).tolist() == [4, 1]
    folded = bloom.unpack(bloom.xor_fold(packed, 1), 64)
    # bit j of the folded filter = bit j XOR bit j + 64: positions 0 and 64 cancel, 1 and 63 (from 127) stay.
    assert np.flatnonzero(folded[0]).tolist() == [1, 63]
    balanced = bloom.balance(packed, 128, seed=7)
    assert balanced.shape == (2, 4)
    assert bloom.popcount(balanced).tolist() == [128, 128]
    assert (bloom.balance(packed, 128, seed=7) == balanced).all()  # keyed: same seed, same permutation
    assert not (bloom.balance(packed, 128, seed=8) == balanced).all()


def test_encoder_salt_changes_bits_and_caches():
    enc = bloom.Encoder(256, 5, (b"k",), "blake")
    plain = enc.encode([["ab"]])
    salted = enc.encode([["ab"]], ["2009"])
    assert not (plain == salted).all()
    assert (enc.encode([["ab"]], ["2009"]) == salted).all()
    assert bloom.popcount(enc.encode([[]])).tolist() == [0]

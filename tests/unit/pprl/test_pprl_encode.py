"""Encoding spines, Dice, bands, blocking on encodings: tiny hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendlink.errors import InputError
from sendlink.pprl import bloom
from sendlink.pprl.blocking import candidate_pairs, join_keys, lsh_keys
from sendlink.pprl.encode import (
    EncodingParams,
    encode_spine,
    field_similarity,
    read_encoded,
    write_encoded,
)
from sendlink.pprl.keys import derive_key, key_check_value
from sendlink.pprl.similarity import band, dice, dice_pairs

SECRET = b"test secret"


def _spine(key: str, rows: list[tuple]) -> pd.DataFrame:
    cols = [key, "forename", "middle_names", "surname", "date_of_birth", "sex", "postcode", "school_urn"]
    return pd.DataFrame(rows, columns=cols)


SURVEY = _spine("survey_id", [
    ("S1", "Zoë", None, "Smith", "2009-03-17", "F", "SW1A 1AA", "100001"),
    ("S2", "Bob", None, "O'Neill", "17/03/2009", "M", "sw1a1ab", None),
    ("S3", None, None, "Khan", None, None, None, None),
])
NPD = _spine("upn", [
    ("U1", "zoe", None, "Smyth", "2009-03-17", "F", "SW1A 1AA", "100001"),
    ("U2", "Robert", None, "ONeill", "2009-03-18", "M", "SW1A 1AB", "100002"),
    ("U3", "Amir", None, "Khan", "2008-12-03", "M", "E1 6AN", "100003"),
])


def _bits(positions: set[int], length: int = 1024) -> np.ndarray:
    bits = np.zeros((1, length), bool)
    bits[0, sorted(positions)] = True
    return bloom.pack(bits)


def test_dice_by_hand():
    a, b = _bits({0, 1, 2, 3}), _bits({2, 3, 4})
    assert dice(a, b)[0] == pytest.approx(2 * 2 / 7)
    assert dice(a, a)[0] == 1.0
    assert dice(_bits(set()), _bits(set()))[0] == 0.0  # two empty filters: no evidence, not a match
    stack_a = np.vstack([a, b])
    stack_b = np.vstack([b, a, _bits({9})])
    assert dice_pairs(stack_a, stack_b, [0, 1, 0], [0, 0, 2]).tolist() == pytest.approx([4 / 7, 1.0, 0.0])  # a~b, b~b, a~{9}


def test_bands():
    levels = band(np.array([1.0, 0.9, 0.75, 0.6, 0.55, 0.54, 0.0]), np.array([1, 1, 1, 1, 1, 1, 0], bool))
    assert levels.tolist() == [0, 1, 1, 2, 2, 3, -1]


def test_same_cleaned_name_same_filter_and_smith_smyth_close():
    s = encode_spine(SURVEY, "survey_id", SECRET)
    n = encode_spine(NPD, "upn", SECRET)
    # Zoë and zoe are standardised alike before encoding.
    assert (s.filters["forename"][0] == n.filters["forename"][0]).all()
    # Smith ~ Smyth: Dice of the filters equals the Dice of their bit sets, computed from the positions.
    material = derive_key(SECRET, "bloom:surname", 128)
    enc = bloom.Encoder(1024, 20, (material[:64], material[64:]), "blake")
    smith = {p for g in bloom.qgrams("smith") for p in enc.positions(g)}
    smyth = {p for g in bloom.qgrams("smyth") for p in enc.positions(g)}
    expected = 2 * len(smith & smyth) / (len(smith) + len(smyth))
    got = field_similarity(s, n, "surname", np.array([0]), np.array([0]))[0]
    assert got == pytest.approx(expected)
    assert 0.55 < got < 0.85  # near the bigram Dice 2*4/12


def test_date_components_and_missing():
    s = encode_spine(SURVEY, "survey_id", SECRET)
    n = encode_spine(NPD, "upn", SECRET)
    d = field_similarity(s, n, "date_of_birth", np.array([0, 1]), np.array([0, 1]))
    assert d[0] == 1.0  # ISO and day-first forms of one date
    assert d[1] == pytest.approx(2 / 3, abs=0.05)  # one component differs
    assert s.present["forename"].tolist() == [True, True, False]
    assert bloom.popcount(s.filters["forename"][2:]).tolist() == [0]
    assert s.tokens["sex"][2] == -1 and s.blocking["dob"][2] == -1


def test_keyed_tokens_rebuild_plain_levels():
    s = encode_spine(SURVEY, "survey_id", SECRET)
    n = encode_spine(NPD, "upn", SECRET)
    # Bob ~ Robert share a nickname group; O'Neill ~ ONeill are one surname after cleaning.
    assert set(s.tokens["forename_groups"][1]) & set(n.tokens["forename_groups"][1]) - {-1}
    assert (s.filters["surname"][1] == n.filters["surname"][1]).all()
    assert s.tokens["pc_sector"][1] == n.tokens["pc_sector"][1] and s.tokens["pc_sector"][1] >= 0
    assert s.tokens["school"][0] == n.tokens["school"][0]
    assert s.tokens["sex"][0] != s.tokens["sex"][1]


def test_secret_matters():
    a = encode_spine(SURVEY, "survey_id", SECRET)
    b = encode_spine(SURVEY, "survey_id", b"another secret")
    again = encode_spine(SURVEY, "survey_id", SECRET)
    assert not (a.filters["surname"] == b.filters["surname"]).all()
    assert (a.filters["surname"] == again.filters["surname"]).all() and (a.clk == again.clk).all()
    assert a.key_check == key_check_value(SECRET) != b.key_check
    assert (a.blocking["dob_surname"] != b.blocking["dob_surname"])[:2].all()


def test_hardening_variants():
    base = encode_spine(NPD, "upn", SECRET)
    salted = encode_spine(NPD, "upn", SECRET, EncodingParams(salt="birth_year"))
    folded = encode_spine(NPD, "upn", SECRET, EncodingParams(xor_folds=1))
    balanced = encode_spine(NPD, "upn", SECRET, EncodingParams(balance=True))
    assert not (base.filters["forename"] == salted.filters["forename"]).all()
    assert folded.filters["forename"].shape == (3, 8)
    assert (folded.filters["forename"] == bloom.xor_fold(base.filters["forename"])).all()
    assert balanced.filters["forename"].shape == (3, 32)
    assert bloom.popcount(balanced.filters["forename"]).tolist() == [1024, 1024, 1024]
    # Balanced similarity is put back on the Dice scale: identical values stay 1.
    same = field_similarity(balanced, balanced, "forename", np.arange(3), np.arange(3))
    assert same.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="fold"):
        EncodingParams(length=128, xor_folds=2)


def test_bad_key_is_an_input_error():
    with pytest.raises(InputError, match="duplicate key"):
        encode_spine(pd.concat([SURVEY, SURVEY]), "survey_id", SECRET)


def test_file_round_trip(tmp_path):
    s = encode_spine(SURVEY, "survey_id", SECRET, EncodingParams(salt="birth_year"))
    back = read_encoded(write_encoded(s, tmp_path / "enc.parquet"))
    assert back.params == s.params and back.key_check == s.key_check and back.keys.tolist() == ["S1", "S2", "S3"]
    for name in s.filters:
        assert (back.filters[name] == s.filters[name]).all()
        assert (back.present[name] == s.present[name]).all()
    assert (back.clk == s.clk).all()
    for name in s.blocking:
        assert (back.blocking[name] == s.blocking[name]).all()
    assert (back.tokens["sex"] == s.tokens["sex"]).all()
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(InputError, match="not an encoded spine"):
        read_encoded(tmp_path / "plain.parquet")


def test_join_keys_and_block_size():
    left = np.array([5, 7, -1, 9])
    right = np.array([7, 7, 5, -1, 9, 9, 9])
    li, ri = join_keys(left, right)
    assert sorted(zip(li.tolist(), ri.tolist(), strict=True)) == [(0, 2), (1, 0), (1, 1), (3, 4), (3, 5), (3, 6)]
    li, ri = join_keys(left, right, max_block_size=2)
    assert sorted(zip(li.tolist(), ri.tolist(), strict=True)) == [(0, 2), (1, 0), (1, 1)]


def test_candidate_pairs_on_keyed_keys():
    s = encode_spine(SURVEY, "survey_id", SECRET)
    n = encode_spine(NPD, "upn", SECRET)
    pairs = candidate_pairs(s, n)
    found = set(zip(pairs["survey_row"], pairs["npd_row"], strict=True))
    assert (0, 0) in found  # same date of birth
    assert (1, 1) in found  # date one day out, but the same names (names_year)
    with pytest.raises(ValueError, match="different secrets"):
        candidate_pairs(s, encode_spine(NPD, "upn", b"other"))


def test_lsh_identical_filters_always_meet():
    filters = bloom.pack(np.random.default_rng(3).random((5, 256)) < 0.3)
    keys_a = lsh_keys(filters, 256, 4, 12, np.random.default_rng(1))
    keys_b = lsh_keys(filters[::-1], 256, 4, 12, np.random.default_rng(1))
    assert (keys_a == keys_b[::-1]).all()

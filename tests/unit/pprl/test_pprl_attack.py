"""The attacks on tiny hand-made populations whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendlink.pprl import bloom
from sendlink.pprl.attack import (
    attack_table,
    frequency_attack,
    pattern_mining_attack,
    score_guesses,
)
from sendlink.pprl.encode import EncodingParams

KEY = (b"attack test key",)


def _population() -> tuple[list[str], pd.Series]:
    # Counts all different, so frequency alignment has a unique answer.
    counts = {"anna": 60, "hanna": 45, "ella": 33, "bella": 25, "ian": 18, "dan": 12, "eve": 7, "otto": 4}
    names = [n for n, c in counts.items() for _ in range(c)]
    return names, pd.Series(counts)


def _filters(names: list[str], length: int = 512, k: int = 10) -> tuple[np.ndarray, bloom.Encoder]:
    enc = bloom.Encoder(length, k, KEY, "blake")
    return enc.encode([bloom.qgrams(n) for n in names]), enc


def test_frequency_alignment_recovers_every_record_of_a_deterministic_encoding():
    names, public = _population()
    filters, _ = _filters(names)
    result = frequency_attack(filters, public)
    assert result.guesses["guess"].tolist() == names
    assert score_guesses(result.guesses, np.array(names, dtype=object)) == {
        "reidentified": 1.0, "best_guess": 1.0, "names_reidentified": 1.0}


def test_frequency_alignment_fails_on_unique_filters():
    names, public = _population()
    enc = bloom.Encoder(512, 10, KEY, "blake")
    # Salting with a per-record value: every filter is distinct, ranks say nothing.
    filters = enc.encode([bloom.qgrams(n) for n in names], [str(i) for i in range(len(names))])
    assert score_guesses(frequency_attack(filters, public).guesses, np.array(names, dtype=object))["best_guess"] < 0.2


def test_pattern_mining_finds_the_most_frequent_bigram_and_its_bits():
    names, public = _population()
    # A long, sparse filter: bits of other bigrams rarely fall where the bits of "a " do.
    filters, enc = _filters(names, length=4096)
    result = pattern_mining_attack(filters, 4096, public, max_positions=10, min_positions=5, min_partition=0.05)
    # "a " ends anna, hanna, ella, bella: 163 of 204 records, the most frequent bigram by far.
    first = next(iter(result.patterns))
    assert first == "a "
    assert set(result.patterns["a "]) == set(enc.positions("a "))


def test_score_guesses_by_hand():
    guesses = pd.DataFrame({"guess": ["anna", "ella", None, "ian"], "unique": [True, False, False, True],
                            "candidates": [1, 2, 0, 1]})
    truth = np.array(["anna", "ella", "eve", "dan"], dtype=object)
    assert score_guesses(guesses, truth) == {"reidentified": 0.25, "best_guess": 0.5, "names_reidentified": 0.25}


def test_attack_table_shape():
    names, public = _population()
    spine = pd.DataFrame({"upn": [f"U{i}" for i in range(len(names))], "forename": names, "surname": "x",
                          "date_of_birth": "2009-01-01"})
    table = attack_table(spine, "upn", b"s", {"field-level": EncodingParams(length=512),
                                              "salted": EncodingParams(length=512, salt="birth_year")},
                         {"forename": public}, max_positions=20, min_positions=10, min_partition=0.05)
    assert table["variant"].tolist() == ["field-level", "salted"]
    assert table["field"].tolist() == ["forename", "forename"]
    assert table.loc[0, "frequency_reidentified"] == 1.0  # one filter per name, all counts different
    # One birth year for all: salting only re-keys, and frequencies give every name away again.
    assert table.loc[1, "frequency_reidentified"] == 1.0
    assert table.loc[0, "records"] == len(names)
    assert {"reidentified", "best_guess", "names_reidentified", "patterns_found"} <= set(table.columns)


def test_salt_aware_frequency_alignment_undoes_birth_year_salting():
    # Salted by year, each name is two filters; counts by (name, year) all differ, so an attacker
    # with name-by-year counts (ONS publishes them) aligns every filter with its name.
    counts = {("anna", "2008"): 40, ("anna", "2009"): 35, ("ella", "2008"): 22, ("ella", "2009"): 18,
              ("dan", "2008"): 9, ("dan", "2009"): 5}
    names = [n for (n, _), c in counts.items() for _ in range(c)]
    years = [y for (_, y), c in counts.items() for _ in range(c)]
    enc = bloom.Encoder(512, 10, KEY, "blake")
    filters = enc.encode([bloom.qgrams(n) for n in names], years)
    truth = np.array(names, dtype=object)
    by_name = pd.Series(truth).value_counts()
    assert score_guesses(frequency_attack(filters, by_name).guesses, truth)["best_guess"] < 0.5
    by_year = pd.Series(counts)
    assert score_guesses(frequency_attack(filters, by_year).guesses, truth)["best_guess"] == 1.0

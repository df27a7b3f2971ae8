"""Name pools: weights, gendered surnames, curated variant tables."""

import numpy as np
import pytest

from sendlink.synth import names


def test_zipf_weights_fall_with_rank_and_sum_to_one():
    pool = names.forename_pool("polish", "M", 1.0, 0.0)
    assert pool.probs.sum() == pytest.approx(1.0)
    # With exponent 1 the second name is half as likely as the first.
    assert pool.probs[1] == pytest.approx(pool.probs[0] / 2)
    assert np.all(np.diff(pool.probs) <= 0)


def test_british_surnames_have_a_rare_tail_share():
    pool = names.surname_pool("british", 0.5, 0.6)
    head = set(names._surname_lists()["british"])
    in_head = np.array([n in head for n in pool.names])
    assert pool.probs[~in_head].sum() == pytest.approx(0.6)
    assert pool.probs.sum() == pytest.approx(1.0)


def test_rare_tail_excludes_common_names():
    tail = set(names.rare_british_surnames())
    assert "Smith" not in tail and "Jones" not in tail
    assert len(tail) > 2000


@pytest.mark.parametrize(
    ("masculine", "origin", "feminine"),
    [("Kowalski", "polish", "Kowalska"), ("Wiśniewski", "polish", "Wiśniewska"), ("Nowak", "polish", "Nowak"),
     ("Zawadzki", "polish", "Zawadzka"), ("Smith", "british", "Smith"), ("Kowalski", "british", "Kowalski")],
)
def test_feminine_surnames(masculine, origin, feminine):
    assert names.feminine_surname(masculine, origin) == feminine


def test_spelling_variants_are_symmetric():
    variants = names.spelling_variants()
    assert "Muhammad" in variants["Mohammed"]
    assert "Mohammed" in variants["Muhammad"]
    for name, others in variants.items():
        assert name not in others


def test_informal_forms_loaded():
    assert "Alfie" in names.informal_forms()["Alfred"]


def test_sampling_is_deterministic():
    pool = names.surname_pool("british", 0.5, 0.6)
    a = pool.sample(50, np.random.default_rng(7))
    b = pool.sample(50, np.random.default_rng(7))
    assert list(a) == list(b)

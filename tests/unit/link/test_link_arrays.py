"""The linker's array helpers agree with numpy's own, on every path they take."""

from __future__ import annotations

import numpy as np
import pytest

from sendlink.link.arrays import map_chunks, unique, unique_inverse

RNG = np.random.default_rng(11)
CASES = {
    "small integers (counted)": RNG.integers(0, 50, 1000),
    "sorted (no sort)": np.sort(RNG.integers(0, 10**9, 1000)),
    "wide range and negatives (sorted)": RNG.integers(-5, 10**12, 1000),
    "one value": np.array([3]),
    "empty": np.array([], dtype=np.int64),
    "int8": RNG.integers(0, 10, 50).astype(np.int8),
    "floats": RNG.random(100).round(1),
}


@pytest.mark.parametrize("values", CASES.values(), ids=CASES.keys())
def test_unique_inverse_is_numpys(values):
    uniq, first, inverse = unique_inverse(values)
    expected, expected_first, expected_inverse = np.unique(values, return_index=True, return_inverse=True)
    assert np.array_equal(uniq, expected) and np.array_equal(first, expected_first)
    assert np.array_equal(inverse, expected_inverse.ravel()) and np.array_equal(unique(values), expected)


def test_map_chunks_keeps_order_whatever_the_threads(monkeypatch):
    for threads in ("1", "2", "4"):
        monkeypatch.setenv("SENDLINK_THREADS", threads)
        assert map_chunks(lambda a, b: (a, b), 10, chunk=3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert map_chunks(lambda a, b: b - a, 0) == [0]


def test_use_arrow_pool_picks_jemalloc_unless_the_user_chose():
    import subprocess
    import sys

    code = ("import pyarrow as pa; from sendlink.link.arrays import use_arrow_pool; "
            "before = pa.default_memory_pool().backend_name; print(before, use_arrow_pool())")
    env = {k: v for k, v in __import__("os").environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    before, after = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout.split()
    import pyarrow as pa

    if "jemalloc" in pa.supported_memory_backends() and before == "mimalloc":
        assert after == "jemalloc"
    else:
        assert after == before
    chosen = subprocess.run([sys.executable, "-c", code], env={**env, "ARROW_DEFAULT_MEMORY_POOL": "system"},
                            capture_output=True, text=True, check=True).stdout.split()
    assert chosen == ["system", "system"]  # the user's choice stands

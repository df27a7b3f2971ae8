"""Array helpers of the linker: sort-based set operations, and work spread over the cores.

``numpy.unique`` without ``return_inverse`` goes through a hash table in
numpy 2.3+, which on millions of ``int64`` values is about 100 times slower
than sorting them (2 s against 0.03 s for 2.5 M values, measured here). The
linker only needs sorted distinct values, so it sorts.

:func:`map_chunks` runs a function over chunks of a long range in threads:
numpy, pyarrow and rapidfuzz release the interpreter lock in their loops,
so threads use every core without copying the data to other processes.
Results come back in chunk order, so the output never depends on the
number of threads (``SENDLINK_THREADS``; all usable cores by default).

:func:`use_arrow_pool` picks Arrow's memory allocator before a national
spine is read: pyarrow's default on Linux (mimalloc) spent 3-7 s of kernel
time faulting in the ~1 GB of a 9.1 M-pupil spine on the first read in a
process on this project's 2-core machine (jemalloc and the system allocator:
0.4 s; same data, same reader).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import pyarrow as pa

__all__ = ["CHUNK", "map_chunks", "threads", "unique", "unique_inverse", "use_arrow_pool"]

#: Rows per chunk: large enough that numpy's loops dominate, small enough that a
#: chunk's temporary arrays are reused rather than fetched fresh from the system.
CHUNK = 1 << 20

T = TypeVar("T")


def threads() -> int:
    """Threads to use: ``SENDLINK_THREADS`` if set, else the cores this process may run on."""
    wanted = os.environ.get("SENDLINK_THREADS", "").strip()
    if wanted:
        return max(1, int(wanted))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def use_arrow_pool() -> str:
    """Make jemalloc Arrow's default memory pool for this process, unless the user chose one.

    ``ARROW_DEFAULT_MEMORY_POOL`` (Arrow's own setting) wins when set; a
    pyarrow built without jemalloc keeps its default. Returns the backend
    in use. Why: the first read of a large table through mimalloc costs
    seconds of page-fault time in the kernel here (module docstring); the
    results do not depend on the allocator.
    """
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL") and pa.default_memory_pool().backend_name == "mimalloc":
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except (NotImplementedError, pa.ArrowNotImplementedError):  # pragma: no cover - build without jemalloc
            pass
    return pa.default_memory_pool().backend_name


def map_chunks(function: Callable[[int, int], T], total: int, chunk: int | None = None) -> list[T]:
    """``function(start, stop)`` for consecutive chunks of ``range(total)`` (:data:`CHUNK` long), in threads; results in order."""
    chunk = chunk or CHUNK
    bounds = [(start, min(start + chunk, total)) for start in range(0, total, chunk)] or [(0, 0)]
    workers = min(threads(), len(bounds))
    if workers == 1:
        return [function(start, stop) for start, stop in bounds]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda b: function(*b), bounds))


def unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (as ``numpy.unique``)."""
    s = np.sort(np.asarray(values), kind="stable")
    if len(s) == 0:
        return s
    return s[np.concatenate([[True], s[1:] != s[:-1]])]


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct values, the index of each value's first occurrence, and the inverse map.

    As ``numpy.unique(values, return_index=True, return_inverse=True)``.
    Values already in order (pairs come out of blocking sorted by survey
    record) need no sort, and small non-negative integers (row numbers,
    pattern codes) are counted rather than sorted.
    """
    values = np.asarray(values)
    n = len(values)
    if n == 0:
        empty = np.zeros(0, np.int64)
        return values[:0], empty, empty
    if values.dtype.kind in "iu":
        if (values[1:] >= values[:-1]).all():
            flag = np.concatenate([[True], values[1:] != values[:-1]])
            first = np.flatnonzero(flag)
            return values[first], first.astype(np.int64), np.cumsum(flag) - 1
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high < 8 * n + 1024:
            present = np.zeros(high + 1, dtype=bool)
            present[values] = True
            inverse = (np.cumsum(present) - 1)[values]
            uniq = np.flatnonzero(present).astype(values.dtype)
            first = np.full(len(uniq), n, dtype=np.int64)
            np.minimum.at(first, inverse, np.arange(n, dtype=np.int64))
            return uniq, first, inverse.astype(np.int64)
    order = np.argsort(values, kind="stable")  # stable: the first of equal values comes first
    s = values[order]
    flag = np.concatenate([[True], s[1:] != s[:-1]])
    ids = np.cumsum(flag) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = ids
    return s[flag], order[flag].astype(np.int64), inverse

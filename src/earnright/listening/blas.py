"""One BLAS thread for small fits: OpenBLAS's worker threads cost more than they save there.

The variance-component fits (:func:`earnright.listening.shrinkage.fit_components`: L-BFGS-B
on two parameters, a few hundred steps per fit, tens of fits per ranking or point-value pass)
call LAPACK on 2 × 2 matrices at every step. OpenBLAS hands even those to its thread pool, and
its threads wait by spinning: on the demo's 300 stores the fits of the point values burned
twice the CPU time they needed (9.5 against 4.7 CPU s for every level's). Inside
:func:`single_blas_thread` every OpenBLAS library the process has loaded (numpy's and
scipy's copies) uses one thread; on leaving, each gets its previous number back.

Where the libraries cannot be found or set (another BLAS, another system) it does nothing:
results never depend on it, only the CPU time.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

__all__ = ["single_blas_thread", "thread_counts"]

_LOCK = threading.RLock()  # the thread count is the library's, not the calling thread's


@lru_cache(maxsize=1)
def _libraries() -> tuple[tuple[ctypes.CDLL, str], ...]:
    """Every loaded OpenBLAS with its thread-count functions' names (found in the maps)."""
    import numpy  # noqa: F401  (numpy's and scipy's BLAS loaded before looking for them)
    import scipy.linalg  # noqa: F401

    maps = Path("/proc/self/maps")
    if not maps.exists():
        return ()
    paths = sorted(
        {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line}
    )
    found = []
    for path in paths:
        if not path.startswith("/"):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                name = f"{prefix}_get_num_threads{suffix}"
                if hasattr(lib, name) and hasattr(lib, f"{prefix}_set_num_threads{suffix}"):
                    found.append((lib, f"{prefix}_%s_num_threads{suffix}"))
                    break
            else:
                continue
            break
    return tuple(found)


def thread_counts() -> list[int]:
    """The thread count of every loaded OpenBLAS (empty when none is found)."""
    return [int(getattr(lib, names % "get")()) for lib, names in _libraries()]


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the block with one OpenBLAS thread (module doc); the previous count after it."""
    with _LOCK:
        before = []
        for lib, pattern in _libraries():
            get, put = getattr(lib, pattern % "get"), getattr(lib, pattern % "set")
            before.append((put, int(get())))
            put(1)
        try:
            yield
        finally:
            for put, count in before:
                put(count)

"""Multiple testing: the Benjamini–Hochberg (1995) false-discovery-rate adjustment."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg (1995) adjusted p-values (q-values); NaN p-values stay NaN, untested.

    ``q_(i) = min_{j ≥ i} min(1, m · p_(j) / j)`` over the m finite p-values sorted ascending;
    rejecting every hypothesis with q ≤ α controls the false discovery rate at α.
    """
    p = np.asarray(p_values, dtype=np.float64)
    finite = np.isfinite(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    q = np.full(p.shape, np.nan)
    if finite.any():
        q[finite] = stats.false_discovery_control(p[finite], method="bh")
    return q

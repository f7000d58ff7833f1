"""Order statistics the segment search asks for again and again, without numpy's general
machinery (:mod:`earnright.reliability.search`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["half_sample_mode", "quarter_and_median", "root_mean_square"]


def quarter_and_median(a: NDArray[np.float64]) -> tuple[float, float]:
    """``np.quantile(a, 0.25)`` and ``np.median(a)``, bit for bit, from one partition of
    ``a`` (numpy's own arithmetic: the linear method's index (n − 1)/4 and interpolation, the
    mean of the two middle values), instead of two calls of numpy's general machinery: the
    noise fit asks for both of every size class of every round of a search."""
    n = len(a)
    if n < 2 or not np.isfinite(a).all():
        return float(np.quantile(a, 0.25)), float(np.median(a))
    at = (n - 1) * 0.25
    lo = int(np.floor(at))
    hi = min(lo + 1, n - 1)
    part = np.partition(a, sorted({lo, hi, (n - 1) // 2, n // 2}))
    below, above = part[lo], part[hi]
    gamma = at - lo
    diff = above - below
    quarter = above - diff * (1 - gamma) if gamma >= 0.5 else below + diff * gamma
    median = part[n // 2] if n % 2 else (part[n // 2 - 1] + part[n // 2]) / 2.0
    return float(quarter), float(median)


def root_mean_square(d: NDArray[np.float64]) -> float:
    """``float(np.sqrt(np.mean(d**2)))``, bit for bit: ``np.mean`` is numpy's sum (the same
    pairwise ``add.reduce``) over the count, called here without its machinery (the noise fit
    asks five times per size class per round of every search: 190,000 calls at 1,000 stores)."""
    return math.sqrt(float(np.add.reduce(d * d)) / len(d))


def half_sample_mode(x: NDArray[np.float64]) -> float:
    """Bickel's half-sample mode: the densest point, robust when most values are anomalous."""
    x = np.sort(x)
    while len(x) > 3:
        half = (len(x) + 1) // 2
        widths = x[half - 1 :] - x[: len(x) - half + 1]
        start = int(np.argmin(widths))
        x = x[start : start + half]
    return float(np.median(x))

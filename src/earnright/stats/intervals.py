"""Interval estimates from sufficient statistics (counts, sums, sums of squares).

All functions are vectorised over numpy arrays: one element per unit and period. Where a count is
zero the estimate and its interval are NaN (no data), never zero.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from earnright.stats.normal import Z95

__all__ = ["mean_interval", "mean_sd", "nps_interval", "welch_dof", "wilson_interval"]

FloatArray = NDArray[np.float64]


def _arrays(*values: ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def nps_interval(
    promoters: ArrayLike, detractors: ArrayLike, n: ArrayLike, z: float = Z95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """NPS in points (−100..100) and its adjusted-Wald interval.

    The interval adds 3 pseudo-responses, ¾ of a promoter and ¾ of a detractor (the rest
    passive), then uses the variance of a difference of two multinomial proportions, clipped to
    [−100, 100], and widened to include the observed NPS (which the adjustment can leave outside
    only at n = 1). This is the adjusted Wald interval that Rocks (2016, The American Statistician,
    "Interval estimation for the Net Promoter Score") found to keep its coverage at small n, where
    the plain Wald interval collapses (e.g. to zero width when every answer is a 10).
    """
    p, d, m = _arrays(promoters, detractors, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        nps = np.where(m > 0, 100.0 * (p - d) / m, np.nan)
        m_adj = m + 3.0
        p_adj, d_adj = (p + 0.75) / m_adj, (d + 0.75) / m_adj
        centre = p_adj - d_adj
        se = np.sqrt((p_adj + d_adj - centre**2) / m_adj)
    low = np.where(m > 0, np.clip(100.0 * (centre - z * se), -100.0, 100.0), np.nan)
    high = np.where(m > 0, np.clip(100.0 * (centre + z * se), -100.0, 100.0), np.nan)
    # the pseudo-answers pull the centre toward 0: with a single answer (and only then, checked
    # for every n ≤ 200) the observed ±100 would fall outside; the interval is widened to hold it
    return nps, np.fmin(low, nps), np.fmax(high, nps)


def wilson_interval(
    successes: ArrayLike, n: ArrayLike, z: float = Z95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Proportion (0..1) and its Wilson score interval (Wilson 1927)."""
    k, m = _arrays(successes, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / m
        denom = 1.0 + z**2 / m
        centre = (p + z**2 / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z**2 / (4 * m**2)) / denom
    empty = m <= 0
    return (
        np.where(empty, np.nan, p),
        np.where(empty, np.nan, centre - half),
        np.where(empty, np.nan, centre + half),
    )


def mean_interval(
    total: ArrayLike, total_sq: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean and Student-t interval from n, Σx and Σx²; NaN interval when n < 2."""
    s, s2, m = _arrays(total, total_sq, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / m
        var = np.maximum(s2 - m * mean**2, 0.0) / (m - 1)
        dof, which = np.unique(np.maximum(m - 1, 1), return_inverse=True)
        t = special.stdtrit(dof, 0.5 + level / 2)[which]  # one quantile per distinct n
        half = t * np.sqrt(var / m)
    mean = np.where(m > 0, mean, np.nan)
    ok = m >= 2
    return mean, np.where(ok, mean - half, np.nan), np.where(ok, mean + half, np.nan)


def mean_sd(total: ArrayLike, total_sq: ArrayLike, n: ArrayLike) -> FloatArray:
    """Sample standard deviation from n, Σx and Σx²; NaN when n < 2."""
    s, s2, m = _arrays(total, total_sq, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.maximum(s2 - s * s / m, 0.0) / (m - 1)
    return np.where(m >= 2, np.sqrt(var), np.nan)


def welch_dof(var_a: ArrayLike, var_b: ArrayLike, dof_a: ArrayLike, dof_b: ArrayLike) -> FloatArray:
    """Welch–Satterthwaite degrees of freedom of a difference of two means.

    ``var_a`` and ``var_b`` are the squared standard errors of the two means, ``dof_a`` and
    ``dof_b`` their own degrees of freedom: ``(a + b)² / (a²/ν_a + b²/ν_b)`` (Welch 1947).
    """
    a, b, na, nb = _arrays(var_a, var_b, dof_a, dof_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a + b) ** 2 / (a**2 / na + b**2 / nb)

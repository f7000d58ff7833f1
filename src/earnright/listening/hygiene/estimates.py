"""Survey hygiene estimates: each unit's sums now and before, and the change beyond the typical.

numpy finishes what the engine summed (``scans``): log-odds and NPS estimates with their
variances, the weighted median of the units' changes, z of each unit's change beyond it, and the
genomic-control factor λ (Devlin & Roeder 1999) that deflates the z-statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

__all__ = [
    "CHI2_MEDIAN",
    "MIN_UNITS_FOR_INFLATION",
    "SUMS",
    "BoolArray",
    "Estimate",
    "FloatArray",
    "Sides",
    "change_z",
    "genomic_inflation",
    "logit_estimate",
    "nps_estimate",
    "share",
    "split_sides",
    "weighted_median",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
CHI2_MEDIAN = float(stats.chi2.median(1))  # 0.4549…
MIN_UNITS_FOR_INFLATION = 10
SUMS = [
    "responses", "n", "tens", "promoters", "detractors", "expected", "commented", "positive",
    "drv_n", "drv_sum", "invitations", "timed", "quick",
]  # fmt: skip


def genomic_inflation(z: FloatArray) -> float:
    """λ = max(1, median(z²) ÷ median of χ²₁) over finite z; 1 with fewer than 10 of them."""
    finite = z[np.isfinite(z)]
    if len(finite) < MIN_UNITS_FOR_INFLATION:
        return 1.0
    return max(1.0, float(np.median(finite**2)) / CHI2_MEDIAN)


@dataclass(frozen=True)
class Sides:
    """Sums (``SUMS``) per unit of the period: now, over the history, and its peers now."""

    units: list[str]
    cur: pd.DataFrame
    hist: pd.DataFrame
    peers: pd.DataFrame  # the other units pooled, this period (for display and quick_response)

    def col(self, side: str, name: str) -> FloatArray:
        frame: pd.DataFrame = getattr(self, side)
        return frame[name].to_numpy(dtype=np.float64)


def split_sides(cells: pd.DataFrame, start: datetime) -> Sides:
    """Per unit tested in the period (``start``): its sums now, over the history, and its peers'."""
    now = cells["period_start"] == pd.Timestamp(start)
    units = sorted(cells.loc[now, "unit_id"].astype(str).unique())
    cur = cells[now].groupby("unit_id")[SUMS].sum().reindex(units, fill_value=0.0)
    hist = cells[~now].groupby("unit_id")[SUMS].sum().reindex(units, fill_value=0.0)
    return Sides(units, cur, hist, cur.rsub(cur.sum(), axis=1))


Estimate = tuple[FloatArray, FloatArray]  # a value per unit and its variance


def logit_estimate(k: FloatArray, m: FloatArray) -> Estimate:
    """Log-odds of k successes in m trials (+½ in each cell) and its variance."""
    fail = np.maximum(m - k, 0) + 0.5
    return np.log((k + 0.5) / fail), 1 / (k + 0.5) + 1 / fail


def nps_estimate(s: Sides, side: str) -> Estimate:
    """NPS as a share (−1..1) and its multinomial variance (shares adjusted by ½ answer)."""
    n, pro, det = s.col(side, "n"), s.col(side, "promoters"), s.col(side, "detractors")
    p, d = (pro + 0.5) / (n + 2), (det + 0.5) / (n + 2)
    return share(pro - det, n), (p + d - (p - d) ** 2) / (n + 2)


def weighted_median(values: FloatArray, weights: FloatArray) -> float:
    """The weighted median of the finite values with positive weight (NaN when none)."""
    ok = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    if not ok.any():
        return math.nan
    order = np.argsort(values[ok], kind="stable")
    v, w = values[ok][order], weights[ok][order]
    return float(v[np.searchsorted(np.cumsum(w), w.sum() / 2)])


def change_z(
    now: Estimate, before: Estimate, sizes: tuple[FloatArray, FloatArray], tested: BoolArray
) -> tuple[FloatArray, float]:
    """z of each unit's change beyond the typical unit's change m; and m.

    m is the weighted median of the tested units' changes, each weighted by its effective
    sample size n·n'/(n + n') capped at the median of those (estimated variances would collapse
    for a unit pushed to the ceiling, and one large unit could outweigh all others): the few
    units sought cannot move m as they would a pooled average. m's variance is taken as π/2
    times that of the weighted mean, Σw²v ÷ (Σw)².
    """
    (a, va), (b, vb) = now, before
    with np.errstate(invalid="ignore", divide="ignore"):
        change, var = a - b, va + vb
        size = np.where(tested, sizes[0] * sizes[1] / (sizes[0] + sizes[1]), np.nan)
        weights = np.nan_to_num(np.fmin(size, np.nanmedian(size) if tested.any() else 0.0))
        m = weighted_median(np.where(tested, change, np.nan), weights)
        var_m = math.pi / 2 * np.nansum(weights**2 * var) / weights.sum() ** 2
        z = (change - m) / np.sqrt(var + var_m)
    return np.where(tested, z, np.nan), m


def share(k: FloatArray, m: FloatArray) -> FloatArray:
    """k ÷ m, NaN where m is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, k / np.where(m > 0, m, 1), np.nan)

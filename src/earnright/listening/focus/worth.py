"""Focus worth: what closing a gap is worth in NPS points.

One ``compute_drivers`` fit at the unit's level (shrunk toward its parent) gives the driver's
importance and standardized beta; ``beta × sd(ltr) / sd(driver)`` is the slope in ltr points per
answer point; closing the gap moves ltr by slope × gap, the latent score by that ÷ (1 − share of
10s) (a top-coded outcome's slope is attenuated by that share), and the unit's own ltr
distribution (a smooth monotone reading of its answers) turns that shift into NPS points
(``nps_after_shift``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from earnright.config import Config
from earnright.listening.drivers import compute_drivers
from earnright.units import attach_ancestors, unit_ancestors, unit_placements
from earnright.warehouse import Warehouse

__all__ = [
    "MIN_UNCEILED",
    "driver_importance",
    "gap_worth",
    "ltr_counts",
    "nps_after_shift",
    "smooth_cdf",
]

MIN_UNCEILED = 0.1  # the share of answers below 10 used at most to undo the ceiling


def ltr_counts(view: Warehouse, config: Config, units: pd.DataFrame, level: str) -> pd.DataFrame:
    """Survey answers to the NPS question per unit and value 0..10 (one scan of the window)."""
    question = config.question_of_kind("nps")
    if question is None or question.id not in view.open_columns("feedback"):
        return pd.DataFrame(columns=range(11), dtype=float)
    fb = view.table("feedback")
    fb = fb.filter((fb.channel == "survey") & fb[question.id].notnull())
    ancestors = unit_ancestors(unit_placements(view), config.units.levels, level)
    fb = attach_ancestors(fb, ancestors, "responded_at")
    counts = fb.group_by(["ancestor_id", fb[question.id].cast("int64").name("value")]).aggregate(
        count=fb.count()
    )
    frame = counts.to_pyarrow().to_pandas().astype({"ancestor_id": str})
    if frame.empty:
        return pd.DataFrame(columns=range(11), dtype=float)
    table = frame.pivot_table(index="ancestor_id", columns="value", values="count", aggfunc="sum")
    return table.reindex(columns=range(11)).fillna(0.0)


def smooth_cdf(share: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(latent < x) per row: the cumulative shares at 0..11 joined by PCHIP (Fritsch–Carlson).

    Unit spacing, scipy's ``PchipInterpolator`` end conditions; one ``x`` per row of ``share``.
    """
    knots = np.concatenate([np.zeros((len(share), 1)), np.cumsum(share, axis=1)], axis=1)
    d = np.zeros_like(knots)
    left, right = share[:, :-1], share[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        d[:, 1:-1] = np.where((left > 0) & (right > 0), 2.0 / (1.0 / left + 1.0 / right), 0.0)
    for end, (a, b) in ((0, (share[:, 0], share[:, 1])), (-1, (share[:, -1], share[:, -2]))):
        edge = np.where(np.sign((3 * a - b) / 2) != np.sign(a), 0.0, (3 * a - b) / 2)
        d[:, end] = np.where(
            (np.sign(a) != np.sign(b)) & (np.abs(edge) > 3 * np.abs(a)), 3 * a, edge
        )
    x = np.clip(x, 0.0, 11.0)
    k = np.minimum(np.floor(x), 10).astype(np.int64)[:, None]
    t = x - k[:, 0]
    f0, f1 = (np.take_along_axis(knots, i, axis=1)[:, 0] for i in (k, k + 1))
    d0, d1 = (np.take_along_axis(d, i, axis=1)[:, 0] for i in (k, k + 1))
    return (
        (2 * t**3 - 3 * t**2 + 1) * f0
        + (t**3 - 2 * t**2 + t) * d0
        + (3 * t**2 - 2 * t**3) * f1
        + (t**3 - t**2) * d1
    )


def nps_after_shift(counts: ArrayLike, shift: ArrayLike) -> NDArray[np.float64] | np.float64:
    """NPS points after moving every answer's latent score up by ``shift`` ltr points (≥ 0).

    ``counts`` (n, 11) or (11,) are the answers 0..10, ``shift`` one per row. The answers are read
    as a latent score with answer k on [k, k+1) (10 for every score from 10 up, as in ltr =
    floor(latent) clipped to 0..10) and a smooth, monotone distribution function through the
    cumulative shares (PCHIP); after the shift promoters are latent ≥ 9, detractors < 7.
    """
    rows = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    s = np.atleast_1d(np.asarray(shift, dtype=np.float64))
    size = max(len(rows), len(s))
    rows, s = np.broadcast_to(rows, (size, 11)), np.broadcast_to(s, (size,))
    share = rows / np.maximum(rows.sum(axis=1, keepdims=True), 1.0)
    nps = 100.0 * (1.0 - smooth_cdf(share, 9.0 - s) - smooth_cdf(share, 7.0 - s))
    nps = np.where(share.sum(axis=1) > 0, nps, np.nan)
    return nps if np.ndim(shift) or np.ndim(counts) > 1 else np.float64(nps[0])


def gap_worth(gaps: pd.DataFrame, imp: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """importance, slope (ltr per answer point) and expected NPS gain of closing each gap."""
    g = gaps.merge(imp, on=["unit_id", "driver"], how="left")
    hist = counts.reindex(g.unit_id).fillna(0.0).to_numpy()
    n = hist.sum(axis=1)
    k = np.arange(11.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (hist * k).sum(axis=1) / n
        sd_ltr = np.sqrt(np.maximum((hist * k**2).sum(axis=1) / n - mean**2, 0.0) * n / (n - 1))
        slope = np.clip(g.beta.to_numpy(float), 0.0, None) * sd_ltr / g.sd.to_numpy(float)
        uncapped = np.maximum(1.0 - hist[:, 10] / n, MIN_UNCEILED)
    shift = slope * np.clip(-g.gap.to_numpy(float), 0.0, None) / uncapped
    gain = nps_after_shift(hist, np.nan_to_num(shift)) - nps_after_shift(hist, np.zeros(len(g)))
    ok = np.isfinite(shift) & (n >= 2)
    return g.assign(slope=np.where(ok, slope, np.nan), gain=np.where(ok, gain, np.nan))


def driver_importance(
    view: Warehouse,
    config: Config,
    level: str,
    unit: str | None,
    seed: int,
    units: Collection[str] | None = None,
) -> Any:
    """Each unit's drivers of the nps question: LMG share and standardized beta (shrunk fit);
    only of ``units`` when given (the units with a gap to value: each unit is fitted apart)."""
    columns = ["unit_id", "driver", "importance", "beta"]
    nps = config.question_of_kind("nps")
    if nps is None or nps.id not in view.open_columns("feedback"):
        return pd.DataFrame(columns=columns)
    fits = compute_drivers(
        view, config, level=level, unit=unit, bootstrap=0, seed=seed, units=units
    )
    rows = [(r.unit_id, d.driver, d.share, d.beta) for r in fits for d in r.drivers]
    return pd.DataFrame(rows, columns=columns)

"""Many anomaly detectors at once: :class:`~earnright.reliability.anomaly.AnomalyDetector`'s
alerts and states for thousands of series, with array operations instead of one object each.

Early warning watches every segment of every indicator (tens of thousands of series for a
company of 10,000 stores); streaming each through its own Python detector took hours. This
module gives the same results (the same alerts, the same scores, the same stored states, bit for
bit; ``tests/reliability/test_anomaly_batch.py`` checks it against the per-series detector) in
three passes over a block of series:

1. **Signals**, one bucket at a time for all series: the seasonal slots and residuals, the
   trend, the model errors and the choice of model are elementwise recurrences, so each bucket
   is a few array operations over the block. What each signal's windows would have received is
   recorded (the pushes), and which signal values are scored at which push.
2. **Scores**, where an alert is possible: a value inside its window's range has a rank-based
   surprise of at most ``log10((n + 1) / 4)`` decades (1.6 for a short window of 150), far
   below a watch threshold (0.6 at scale 2.6 is 3.9 decades). So the sliding minimum and maximum
   of every window (van Herk's algorithm, a few passes) pick the values that could reach the
   threshold, and only those are scored exactly, on their gathered windows, with the detector's
   own formula and operation order.
3. **States**: every series' state as :meth:`AnomalyDetector.to_dict` writes it.

It covers the detector as early warning sets it up (:func:`earnright.reliability.detection.
detector_params`): no rest after an alert and no calibration against the series' own past
surprises; ``supports`` says whether a parameter set and the stored states qualify.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np

from earnright.reliability.anomaly import SEASONS, SIGNALS, DetectorParams

__all__ = ["BatchResult", "score_block", "supports"]

NAMES = (*SIGNALS, *SEASONS)
LN10 = math.log(10.0)


@dataclass
class BatchResult:
    """Alerts of a block: (row, column, score, median) at each score at or above the threshold,
    with ``median`` the level's short-window median after the point (the detector's); and the
    state of every row as ``AnomalyDetector.to_dict`` gives it."""

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    medians: np.ndarray
    states: list[dict[str, Any]]


def supports(params: DetectorParams, states: Sequence[dict[str, Any] | None]) -> bool:
    """Can this module score these detectors? (No rest, no calibration, consistent windows.)"""
    if params.rest_points != 0 or params.calibration_weight > 0.0:
        return False
    if params.long_window < params.short_window:
        return False
    for state in states:
        if state is None:
            continue
        if int(state.get("resting", 0)) != 0:
            return False
        for windows in state["signals"].values():
            long, short = windows["long"], windows["short"]
            if short != long[-params.short_window :][-len(short) :] or len(short) != min(
                len(long), params.short_window
            ):
                return False
    return True


class _Pushes:
    """One signal's pushed values per row: the stored long window first, then this run's."""

    def __init__(self, rows: int, width: int) -> None:
        self.values = np.full((rows, width), np.nan)
        self.count = np.zeros(rows, np.int64)

    def push(self, mask: np.ndarray, x: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        self.values[idx, self.count[idx]] = x[idx]
        self.count[idx] += 1


class _Block:
    """The elementwise state of a block of detectors (None held as a False ``*_set`` flag)."""

    def __init__(self, params: DetectorParams, rows: int, columns: int) -> None:
        p = self.params = params
        width = p.long_window + columns
        self.pushes = {name: _Pushes(rows, width) for name in NAMES}
        sizes = {"daily": 1440 // p.slot_minutes + 1, "weekly": 168}
        self.mean = {s: np.zeros((rows, n)) for s, n in sizes.items()}
        self.visits = {s: np.zeros((rows, n)) for s, n in sizes.items()}
        self.order = {s: np.full((rows, n), np.inf) for s, n in sizes.items()}
        self.err = {name: np.zeros(rows) for name in ("flat", *SEASONS)}
        self.err_set = {name: np.zeros(rows, bool) for name in ("flat", *SEASONS)}
        self.previous, self.prev_set = np.zeros(rows), np.zeros(rows, bool)
        self.trend, self.trend_set = np.zeros(rows), np.zeros(rows, bool)
        self.points = np.zeros(rows, np.int64)
        self.surprises: list[list[float]] = [[] for _ in range(rows)]
        # per signal: the push index of the value scored at (row, column), or -1
        self.scored = {name: np.full((rows, columns), -1, np.int64) for name in NAMES}
        self.level_at = np.full((rows, columns), -1, np.int64)  # the level's push index

    def load(self, row: int, state: dict[str, Any]) -> None:
        for name, windows in state["signals"].items():
            values = windows["long"]
            push = self.pushes[name]
            push.values[row, : len(values)] = values
            push.count[row] = len(values)
        for season, table in state["slots"].items():
            for rank, (key, (mean, visits)) in enumerate(table.items()):
                k = int(key)
                self.mean[season][row, k], self.visits[season][row, k] = mean, visits
                self.order[season][row, k] = rank - len(table)  # before this run's
        for name, value in state["errors"].items():
            if value is not None:
                self.err[name][row], self.err_set[name][row] = value, True
        if state["previous"] is not None:
            self.previous[row], self.prev_set[row] = state["previous"], True
        if state["trend"] is not None:
            self.trend[row], self.trend_set[row] = state["trend"], True
        self.points[row] = int(state["points"])
        self.surprises[row] = list(state.get("surprises", []))

    def _track(self, name: str, mask: np.ndarray, error: np.ndarray) -> None:
        old, known = self.err[name], self.err_set[name]
        new = np.where(known, old + self.params.error_rate * (error - old), error)
        self.err[name] = np.where(mask, new, old)
        self.err_set[name] = known | mask

    def _residual(
        self, season: str, key: int, x: np.ndarray, ok: np.ndarray, column: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The residual from the slot's mean before learning (valid where visited 3 times)."""
        p = self.params
        mean = self.mean[season][:, key].copy()
        visits = self.visits[season][:, key].copy()
        fresh = ok & (visits == 0)
        mean = np.where(fresh, x, mean)
        self.order[season][fresh, key] = column
        inverse = 1.0 / (visits + 1.0)
        rate = np.where(inverse > p.seasonal_rate, inverse, p.seasonal_rate)
        step = x - mean
        if p.slot_clip > 0:
            known = self.err_set[season]
            bound = p.slot_clip * self.err[season]
            step = np.where(known & (-bound > step), -bound, step)
            step = np.where(known & (bound < step), bound, step)
        self.mean[season][:, key] = np.where(ok, mean + rate * step, self.mean[season][:, key])
        self.visits[season][:, key] = np.where(ok, visits + 1.0, visits)
        return x - mean, ok & (visits >= 3)

    def step(self, column: int, stamp: datetime, x: np.ndarray) -> None:
        """One bucket for every row: record what is scored, then learn (``update``)."""
        p = self.params
        ok = np.isfinite(x)
        x = np.where(ok, x, 0.0)
        keys = {
            "daily": (stamp.hour * 60 + stamp.minute) // p.slot_minutes,
            "weekly": stamp.weekday() * 24 + stamp.hour,
        }
        resid = {s: self._residual(s, keys[s], x, ok, column) for s in SEASONS}
        flat, flat_set = self.err["flat"], self.err_set["flat"]
        fits = {
            s: resid[s][1]
            & flat_set
            & (self.err[s] < p.seasonal_gain * flat)  # an unset error is 0.0, as `or 0.0`
            & (np.minimum(self.pushes[s].count, p.short_window) >= p.min_history)
            for s in SEASONS
        }
        daily = fits["daily"] & ~(fits["weekly"] & (self.err["weekly"] < self.err["daily"]))
        weekly = fits["weekly"] & ~daily
        seasonal = daily | weekly
        plain = ok & ~seasonal
        both = self.prev_set & self.trend_set
        for name, mask in (
            ("daily", daily),
            ("weekly", weekly),
            ("level", plain),
            ("change", plain & both),
            ("trend", plain & both),
        ):
            self.scored[name][mask, column] = self.pushes[name].count[mask]
        self.level_at[ok, column] = self.pushes["level"].count[ok]
        self._learn(x, ok, {s: (r, v) for s, (r, v) in resid.items()})

    def _learn(self, x: np.ndarray, ok: np.ndarray, resid: dict[str, Any]) -> None:
        p = self.params
        for season in SEASONS:
            r, valid = resid[season]
            self.pushes[season].push(valid, r)
            self._track(season, valid, np.abs(r))
        both = ok & self.prev_set & self.trend_set
        self.pushes["change"].push(both, x - self.previous)
        self._track("flat", both, np.abs(x - self.trend))
        trend = np.where(self.trend_set, self.trend + p.trend_rate * (x - self.trend), x)
        self.trend = np.where(ok, trend, self.trend)
        self.trend_set |= ok
        self.pushes["trend"].push(ok, self.trend)
        self.pushes["level"].push(ok, x)
        self.previous = np.where(ok, x, self.previous)
        self.prev_set |= ok
        self.points += ok


def _sliding(values: np.ndarray, width: int, fill: float, reduce: np.ufunc) -> np.ndarray:
    """``out[:, j]`` = reduce of ``values[:, j − width : j]`` (the window before j; ``fill``
    where it is empty), by van Herk's algorithm: prefix and suffix reductions in blocks."""
    rows, n = values.shape
    padded_n = -(-(n + width) // width) * width
    b = np.full((rows, padded_n), fill)
    b[:, width : width + n] = np.where(np.isnan(values), fill, values)
    blocks = b.reshape(rows, -1, width)
    prefix = reduce.accumulate(blocks, axis=2).reshape(rows, -1)
    suffix = reduce.accumulate(blocks[:, :, ::-1], axis=2)[:, :, ::-1].reshape(rows, -1)
    j = np.arange(n)
    return reduce(suffix[:, j], prefix[:, j + width - 1])


def _log_decades(ratio: np.ndarray) -> np.ndarray:
    """``−log10`` with the detector's own ``math.log10`` (numpy's may differ in the last bit)."""
    return np.array([-math.log10(v) for v in ratio.tolist()], dtype=float)


def _window_surprise(
    windows: np.ndarray, n: np.ndarray, x: np.ndarray, p: DetectorParams
) -> np.ndarray:
    """``RollingWindow.surprise`` of ``x`` (one per row) against each row's window (its first
    ``n`` values; the rest NaN), in the detector's own order of operations."""
    ranked = np.sort(windows, axis=1)  # NaN last
    rows = np.arange(len(x))
    low, high = ranked[:, 0], ranked[rows, n - 1]
    spread_x = 1e-9 * np.maximum(1.0, np.abs(x))
    tol = np.where(high > low, 1e-3 * (high - low), spread_x)
    valid = np.arange(windows.shape[1])[None, :] < n[:, None]
    above = (valid & (ranked >= (x - tol)[:, None])).sum(axis=1)
    below = (valid & (ranked <= (x + tol)[:, None])).sum(axis=1)
    k = np.minimum(above, below)
    ratio = 2.0 * (k + 1) / (n + 1)
    surprise = _log_decades(np.where(ratio < 1.0, ratio, 1.0))

    def quantile(q: float) -> np.ndarray:
        return ranked[rows, np.minimum(n - 1, (q * n).astype(np.int64))]

    q = p.spread_quantile
    spread = quantile(1.0 - q) - quantile(q)
    spread = np.where(spread <= 0.0, np.where(high > low, high - low, spread_x), spread)
    excess = np.where(above == 0, x - high, low - x) - tol
    tail = p.tail_slope * np.where(excess > 0.0, excess, 0.0) / spread / LN10
    return np.where(k == 0, surprise + tail, surprise)


def _gather(values: np.ndarray, rows: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` values before ``ends`` of each row, left-aligned, NaN-padded on the right."""
    n = np.minimum(ends, width)
    offsets = np.arange(width)[None, :]
    cols = (ends - n)[:, None] + offsets
    out = values[rows[:, None], np.minimum(cols, values.shape[1] - 1)]
    return np.where(offsets < n[:, None], out, np.nan)


def _signal_scores(
    push: _Pushes, scored: np.ndarray, cut: float, p: DetectorParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, columns, surprise) of one signal's scored values that may reach ``cut``."""
    rows, cols = np.nonzero(scored >= 0)
    j = scored[rows, cols]
    n_short = np.minimum(j, p.short_window)
    keep = n_short >= p.min_history
    rows, cols, j, n_short = rows[keep], cols[keep], j[keep], n_short[keep]
    x = push.values[rows, j]
    # Inside the long window's range, the signal's surprise (at most the long one's plus its
    # slack) stays below ``inside``: only values beyond that range, or a low cut, are scored.
    n = np.minimum(j, p.long_window)
    with np.errstate(divide="ignore"):
        inside = np.log10((n + 1) / 4.0) + p.long_slack
    possible = inside >= cut
    if not np.all(possible):
        low = _sliding(push.values, p.long_window, np.inf, np.minimum)[rows, j]
        high = _sliding(push.values, p.long_window, -np.inf, np.maximum)[rows, j]
        tol = np.where(high > low, 1e-3 * (high - low), 1e-9 * np.maximum(1.0, np.abs(x)))
        possible |= (high < x - tol) | (low > x + tol)
    rows, cols, j, x = rows[possible], cols[possible], j[possible], x[possible]
    surprise = np.empty(len(j))
    for start in range(0, len(j), 20_000):  # gathered windows in bounded chunks
        part = slice(start, start + 20_000)
        r, e, v = rows[part], j[part], x[part]
        short = _window_surprise(
            _gather(push.values, r, e, p.short_window), np.minimum(e, p.short_window), v, p
        )
        long = _window_surprise(
            _gather(push.values, r, e, p.long_window), np.minimum(e, p.long_window), v, p
        )
        long = long + p.long_slack
        surprise[part] = np.where(long < short, long, short)
    return rows, cols, surprise


def _state(block: _Block, row: int, params: dict[str, Any]) -> dict[str, Any]:
    """Row ``row``'s detector state, as ``AnomalyDetector.to_dict`` writes it."""
    p = block.params
    signals = {}
    for name in NAMES:
        push = block.pushes[name]
        values = push.values[row, : push.count[row]]
        signals[name] = {
            "short": values[-p.short_window :].tolist() if len(values) else [],
            "long": values[-p.long_window :].tolist() if len(values) else [],
        }
    slots = {}
    for season in SEASONS:
        order = block.order[season][row]
        visited = np.flatnonzero(np.isfinite(order))
        keys = visited[np.argsort(order[visited], kind="stable")].tolist()
        slots[season] = {
            str(k): [float(block.mean[season][row, k]), float(block.visits[season][row, k])]
            for k in keys
        }
    return {
        "params": dict(params),
        "signals": signals,
        "slots": slots,
        "errors": {
            name: float(block.err[name][row]) if block.err_set[name][row] else None
            for name in ("flat", *SEASONS)
        },
        "surprises": block.surprises[row],
        "previous": float(block.previous[row]) if block.prev_set[row] else None,
        "trend": float(block.trend[row]) if block.trend_set[row] else None,
        "resting": 0,
        "points": int(block.points[row]),
    }


def _cut(p: DetectorParams) -> float:
    """A surprise below which no score reaches the threshold (with a margin for rounding)."""
    if p.threshold <= 0.0:
        return -math.inf
    if p.threshold >= 1.0:
        return math.inf
    return p.threshold * p.scale / (1.0 - p.threshold) * (1.0 - 1e-9) - 1e-12


def score_block(
    params: DetectorParams,
    stamps: Sequence[datetime],
    values: np.ndarray,
    states: Sequence[dict[str, Any] | None],
) -> BatchResult:
    """Stream ``values[i]`` (one row per series, one column per stamp, NaN where a series has
    no point) through detector ``i`` restored from ``states[i]`` (None: a new one).

    Equal to ``AnomalyDetector.from_dict(states[i]).update(stamps[c], values[i, c])`` for each
    column in turn: the same scores at or above ``params.threshold``, the same final states.
    ``supports(params, states)`` must hold.
    """
    p = params
    rows, columns = values.shape
    block = _Block(p, rows, columns)
    for row, state in enumerate(states):
        if state is not None:
            block.load(row, state)
    for column, stamp in enumerate(stamps):
        block.step(column, stamp, values[:, column])
    cut = _cut(p)
    best = np.zeros((rows, columns))  # the point's surprise where it may reach the cut
    for name in NAMES:
        r, c, surprise = _signal_scores(block.pushes[name], block.scored[name], cut, p)
        np.maximum.at(best, (r, c), surprise)
    if p.threshold <= 0.0:
        hit_rows, hit_cols = np.nonzero(np.isfinite(values))
    else:
        hit_rows, hit_cols = np.nonzero(best >= cut)
    s = np.minimum(best[hit_rows, hit_cols], 1e9)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(s > 0.0, s / (s + p.scale), 0.0)
    hit = score >= p.threshold
    hit_rows, hit_cols, score = hit_rows[hit], hit_cols[hit], score[hit]
    level = block.pushes["level"]
    ends = block.level_at[hit_rows, hit_cols] + 1  # the short window after the point
    window = _gather(level.values, hit_rows, ends, p.short_window)
    n = np.minimum(ends, p.short_window)
    ranked = np.sort(window, axis=1)
    medians = ranked[np.arange(len(n)), np.minimum(n - 1, (0.5 * n).astype(np.int64))]
    settings = asdict(p)
    kept = [_state(block, r, settings) for r in range(rows)]
    return BatchResult(hit_rows, hit_cols, score, medians, kept)

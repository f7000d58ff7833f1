"""Streaming anomaly detection for one indicator series, one point at a time.

``AnomalyDetector.update(timestamp, value)`` scores a point against the series' own past and
then learns from it; it never sees later points. The state is bounded (two rolling windows per
signal and a fixed number of seasonal slots, never the whole history) and serialises with
``to_dict`` / ``from_dict`` so a service can persist it between points.

How a point is scored (docs/anomaly.md has the details and the NAB figures):

1. Five signals are derived from the series: the *level* (the value), the *change* (first
   difference), the *trend* (an exponentially weighted mean), and the residuals of a *daily*
   (time-of-day slots) and a *weekly* (hour-of-week slots) seasonal profile.
2. Each signal's surprise is ``−log10 p``, with ``p`` the two-sided rank of the new value among
   the signal's recent values (a short and a long rolling window; the long one may add at most
   ``long_slack`` decades). Beyond the window's range the surprise keeps growing with the
   distance from the edge, measured in units of the window's inter-quantile spread.
3. When a seasonal profile predicts the series clearly better than a flat one (its running
   absolute error below ``seasonal_gain`` times the flat error), the raw signals are replaced by
   the residual of the best such profile, so regular daily or weekly swings are not alarms. A
   slot learns each visit with its step clipped at ``slot_clip`` times the profile's running
   error, so one outlier does not echo a week later.
4. The point's surprise is the largest signal surprise, less ``calibration_weight`` times the
   ``calibration_quantile`` of the series' own past surprises (the last ``calibration_window``):
   a series that is often surprising (noisy, bursty) needs a larger surprise to alert, so one
   threshold means about the same on every kind of series (the idea of HTM's anomaly
   likelihood). The score is ``s / (s + scale)`` in [0, 1), so ``scale`` is the surprise at
   which the score crosses 0.5, the default threshold.
5. After a score at or above the threshold, the next ``rest_points`` scores are 0: one
   anomaly raises one alert, not a burst.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AnomalyDetector", "DetectorParams", "score_series"]

LN10 = math.log(10.0)
SIGNALS = ("level", "change", "trend")
SEASONS = ("daily", "weekly")


@dataclass(frozen=True)
class DetectorParams:
    """The detector's settings: one global set, not tuned per series."""

    short_window: int = 150  # points in the short reference window of every signal
    long_window: int = 5000  # points in the long reference window
    long_slack: float = 0.5  # decades the long window may add to the short window's surprise
    spread_quantile: float = 0.25  # the spread beyond the range is q(1 − this) − q(this)
    tail_slope: float = 2.0  # surprise, in e-folds, per spread beyond the window's range
    trend_rate: float = 0.1  # weight of the newest point in the trend signal
    slot_minutes: int = 60  # width of a daily slot
    seasonal_rate: float = 0.2  # weight of the newest visit in a slot's mean
    slot_clip: float = 8.0  # a visit moves its slot by at most this × the running error (0: off)
    error_rate: float = 0.001  # weight of the newest point in the running model errors
    seasonal_gain: float = 0.9  # seasonal model used when its error < gain × flat error
    min_history: int = 20  # points a window needs before it scores
    rest_points: int = 10  # scores set to 0 after an alert
    calibration_weight: float = 0.25  # share of the series' usual high surprise taken off
    calibration_quantile: float = 0.99  # "usual high": this quantile of the past surprises
    calibration_window: int = 2000  # past surprises kept for it
    calibration_min: int = 100  # past surprises needed before it applies
    scale: float = 2.2  # surprise (decades) where the score is 0.5
    threshold: float = 0.5  # score at or above which a point is an alert


class RollingWindow:
    """The last ``size`` values, kept in arrival order and sorted (ranks in O(log n))."""

    __slots__ = ("order", "size", "sorted")

    def __init__(self, size: int, values: Iterable[float] = ()) -> None:
        self.size = size
        self.order: deque[float] = deque()
        self.sorted: list[float] = []
        for v in values:
            self.push(v)

    def __len__(self) -> int:
        return len(self.order)

    def push(self, value: float) -> None:
        if len(self.order) == self.size:
            old = self.order.popleft()
            del self.sorted[bisect_left(self.sorted, old)]
        self.order.append(value)
        insort(self.sorted, value)

    def quantile(self, q: float) -> float:
        return self.sorted[min(len(self.sorted) - 1, int(q * len(self.sorted)))]

    def surprise(self, x: float, params: DetectorParams) -> float:
        """``−log10`` of the two-sided rank of ``x``, growing beyond the range."""
        ranked, n = self.sorted, len(self.sorted)
        low, high = ranked[0], ranked[-1]
        tol = 1e-3 * (high - low) if high > low else 1e-9 * max(1.0, abs(x))
        above = n - bisect_left(ranked, x - tol)
        below = bisect_right(ranked, x + tol)
        k = min(above, below)
        surprise = -math.log10(min(1.0, 2.0 * (k + 1) / (n + 1)))
        if k == 0:
            q = params.spread_quantile
            spread = self.quantile(1.0 - q) - self.quantile(q)
            if spread <= 0.0:
                spread = high - low if high > low else 1e-9 * max(1.0, abs(x))
            excess = (x - high if above == 0 else low - x) - tol
            surprise += params.tail_slope * max(0.0, excess) / spread / LN10
        return surprise


class Signal:
    """One derived signal with its short and long reference windows."""

    __slots__ = ("long", "short")

    def __init__(self, params: DetectorParams) -> None:
        self.short = RollingWindow(params.short_window)
        self.long = RollingWindow(params.long_window)

    def surprise(self, x: float, params: DetectorParams) -> float:
        if len(self.short) < params.min_history:
            return 0.0
        short = self.short.surprise(x, params)
        return min(short, self.long.surprise(x, params) + params.long_slack)

    def push(self, x: float) -> None:
        self.short.push(x)
        self.long.push(x)


class AnomalyDetector:
    """Scores one series point by point; see the module docstring for the method."""

    def __init__(self, params: DetectorParams | None = None) -> None:
        self.params = params or DetectorParams()
        self.signals = {name: Signal(self.params) for name in (*SIGNALS, *SEASONS)}
        self.slots: dict[str, dict[int, list[float]]] = {name: {} for name in SEASONS}
        self.errors: dict[str, float | None] = {"flat": None, "daily": None, "weekly": None}
        self.previous: float | None = None
        self.trend: float | None = None
        self.surprises = RollingWindow(self.params.calibration_window)
        self.resting = 0
        self.points = 0

    def update(self, timestamp: datetime | np.datetime64 | str, value: float | None) -> float:
        """Score the point (using only earlier points and its own value), then learn it.

        Returns a score in [0, 1); a missing value (None or NaN) scores 0 and is not learnt.
        """
        if value is None or not math.isfinite(value):
            return 0.0
        x = float(value)
        stamp = _as_datetime(timestamp)
        residuals = {name: self._seasonal_residual(name, stamp, x) for name in SEASONS}
        surprise = self._calibrated(self._surprise(x, residuals))
        self._learn(x, residuals)
        return self._alert(surprise)

    def _calibrated(self, surprise: float) -> float:
        """The surprise less a share of the series' usual high surprise; learns the surprise."""
        p, past = self.params, self.surprises
        if p.calibration_weight <= 0.0:
            return surprise
        usual = past.quantile(p.calibration_quantile) if len(past) >= p.calibration_min else 0.0
        past.push(min(surprise, 1e9))
        return max(0.0, surprise - p.calibration_weight * usual)

    def _surprise(self, x: float, residuals: dict[str, float | None]) -> float:
        p, flat = self.params, self.errors["flat"]
        fits = [
            (self.errors[name] or 0.0, name)
            for name in SEASONS
            if residuals[name] is not None
            and flat is not None
            and (self.errors[name] or 0.0) < p.seasonal_gain * flat
            and len(self.signals[name].short) >= p.min_history  # a model that cannot score yet
            # would leave the series unwatched
        ]
        seasonal = [min(fits)[1]] if fits else []
        values: dict[str, float | None] = {name: residuals[name] for name in seasonal}
        if not seasonal and self.previous is not None and self.trend is not None:
            values["level"] = x
            values["change"] = x - self.previous
            values["trend"] = self.trend + p.trend_rate * (x - self.trend)
        elif not seasonal:
            values["level"] = x
        found = [self.signals[k].surprise(v, p) for k, v in values.items() if v is not None]
        return max(found, default=0.0)

    def _seasonal_residual(self, name: str, stamp: datetime, x: float) -> float | None:
        """The residual of ``x`` from its slot's mean, before learning it (None while new)."""
        if name == "daily":
            key = (stamp.hour * 60 + stamp.minute) // self.params.slot_minutes
        else:
            key = stamp.weekday() * 24 + stamp.hour
        slot = self.slots[name].setdefault(key, [x, 0.0])
        mean, visits = slot
        rate = max(self.params.seasonal_rate, 1.0 / (visits + 1.0))
        step = x - mean
        error = self.errors[name]
        if error is not None and self.params.slot_clip > 0:  # an outlier moves a slot only so far
            bound = self.params.slot_clip * error
            step = min(max(step, -bound), bound)
        slot[0], slot[1] = mean + rate * step, visits + 1.0
        return x - mean if visits >= 3 else None

    def _learn(self, x: float, residuals: dict[str, float | None]) -> None:
        p = self.params
        for name in SEASONS:
            r = residuals[name]
            if r is not None:
                self.signals[name].push(r)
                self._track(name, abs(r))
        if self.previous is not None and self.trend is not None:
            self.signals["change"].push(x - self.previous)
            self._track("flat", abs(x - self.trend))
        self.trend = x if self.trend is None else self.trend + p.trend_rate * (x - self.trend)
        self.signals["trend"].push(self.trend)
        self.signals["level"].push(x)
        self.previous = x
        self.points += 1

    def _track(self, name: str, error: float) -> None:
        old = self.errors[name]
        self.errors[name] = error if old is None else old + self.params.error_rate * (error - old)

    def _alert(self, surprise: float) -> float:
        surprise = min(surprise, 1e9)  # keeps the score below 1 (and NaN-free) on any input
        score = surprise / (surprise + self.params.scale) if surprise > 0.0 else 0.0
        if self.resting > 0:
            self.resting -= 1
            return 0.0
        if score >= self.params.threshold:
            self.resting = self.params.rest_points
        return score

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-ready data (``from_dict`` restores it exactly)."""
        return {
            "params": asdict(self.params),
            "signals": {
                name: {"short": list(s.short.order), "long": list(s.long.order)}
                for name, s in self.signals.items()
            },
            "slots": {
                name: {str(k): v for k, v in table.items()} for name, table in self.slots.items()
            },
            "errors": dict(self.errors),
            "surprises": list(self.surprises.order),
            "previous": self.previous,
            "trend": self.trend,
            "resting": self.resting,
            "points": self.points,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnomalyDetector:
        known = {f.name for f in fields(DetectorParams)}
        params = DetectorParams(**{k: v for k, v in data["params"].items() if k in known})
        detector = cls(params)
        for name, windows in data["signals"].items():
            signal = detector.signals[name]
            signal.short = RollingWindow(params.short_window, windows["short"])
            signal.long = RollingWindow(params.long_window, windows["long"])
        detector.slots = {
            name: {int(k): [float(v[0]), float(v[1])] for k, v in table.items()}
            for name, table in data["slots"].items()
        }
        detector.errors = dict(data["errors"])
        detector.surprises = RollingWindow(params.calibration_window, data.get("surprises", []))
        detector.previous, detector.trend = data["previous"], data["trend"]
        detector.resting, detector.points = int(data["resting"]), int(data["points"])
        return detector


def _as_datetime(timestamp: datetime | np.datetime64 | str) -> datetime:
    if isinstance(timestamp, datetime):
        return timestamp
    return pd.Timestamp(timestamp).to_pydatetime()


def score_series(
    timestamps: Iterable[Any], values: Iterable[float], params: DetectorParams | None = None
) -> np.ndarray:
    """Scores of a whole series, streamed point by point through one fresh detector."""
    detector = AnomalyDetector(params)
    stamps = pd.DatetimeIndex(pd.to_datetime(list(timestamps))).to_pydatetime()
    return np.array([detector.update(t, v) for t, v in zip(stamps, values, strict=True)])

"""Survey hygiene run: what one call tests (units, window, wording) and what a signal returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from earnright.listening.hygiene.estimates import BoolArray, FloatArray
from earnright.periods import Grain

__all__ = ["MIN_UNITS", "Run", "SignalTest", "pct", "points"]

MIN_UNITS = 3  # a typical change needs at least this many units tested


def points(x: float) -> str:
    """Points with their sign, "–" when not finite."""
    return f"{x:+.0f}" if math.isfinite(x) else "–"


def pct(x: float) -> str:
    """A share 0..1 as a percentage, one decimal below 10%; "–" when not finite."""
    if not math.isfinite(x):
        return "–"
    return f"{100 * x:.1f}%" if abs(x) < 0.1 else f"{100 * x:,.0f}%"


@dataclass(frozen=True)
class Run:
    """One run: the level's units, the time window, and what the evidence calls things."""

    level: str
    ancestors: pd.DataFrame  # unit_id -> ancestor_id at the level, effective-dated
    names: dict[str, str]
    period: str
    grain: Grain
    history: list[str]
    since: datetime  # start of the history
    start: datetime
    end: datetime
    min_n: int
    top: str  # what a top answer is called: "10s"
    scale: tuple[float, float] | None  # the drivers' common scale, if they share one

    @property
    def before(self) -> str:
        k = len(self.history)
        return f"the previous {k} {self.grain}{'s' if k != 1 else ''}"

    def driver(self, x: float) -> str:
        """A mean rescaled driver answer (0..1) on the drivers' scale, else as a percentage."""
        if self.scale is None or not math.isfinite(x):
            return f"{pct(x)} of the scale"
        low, high = self.scale
        return f"{low + x * (high - low):.2f}"

    def untested(self, now: float, before: float, what: str) -> str:
        if min(now, before) >= self.min_n:
            return f"Not tested: fewer than {MIN_UNITS} units have enough {what} to compare."
        where = self.period if now < self.min_n else self.before
        count = now if now < self.min_n else before
        return f"Not tested: {count:,.0f} {what} in {where}, fewer than {self.min_n}."

    def enough(self, now: FloatArray, before: FloatArray) -> BoolArray:
        """Units with min_n on both sides, if at least MIN_UNITS of them (else none)."""
        ok = (now >= self.min_n) & (before >= self.min_n)
        return ok if ok.sum() >= MIN_UNITS else np.zeros_like(ok)


@dataclass
class SignalTest:
    """What a signal's test gives per unit: statistic, p, its n, shares and evidence."""

    statistic: FloatArray
    p_value: FloatArray
    n: FloatArray
    observed: FloatArray
    reference: FloatArray
    tested: BoolArray
    eligible: BoolArray  # besides q ≤ fdr and a positive statistic: e.g. large enough
    evidence: list[str]
    inflation: dict[str, float] = field(default_factory=dict)

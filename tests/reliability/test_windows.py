"""Departures over windows of several buckets (earnright.reliability.windows), against planted
truth: a small segment failing for hours departs over its window though no single hour does,
and the likeliest interval of raised bad share is the planted one."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from earnright.config import Indicator
from earnright.reliability.episode import CONFIRM_Z, departure, window_departure
from earnright.reliability.windows import likeliest_interval, rolled, window_lengths

EVENTS = Indicator(id="ok", name="ok", metric="m", measure="events", target=0.99)
HOURS = 24 * 35  # 28 days of baseline and a week


def _series(seed: int, failing: tuple[int, int], rate: float, n: float = 40.0) -> pd.DataFrame:
    """Hourly good/total of a small segment (0.5% bad), ``rate`` bad in ``failing``."""
    rng = np.random.default_rng(seed)
    total = rng.poisson(n, HOURS).astype(float)
    p = np.full(HOURS, 0.005)
    p[failing[0] - 1000 : failing[1] - 1000] = rate  # bucket indices from 1000
    bad = rng.binomial(total.astype(int), p)
    frame = pd.DataFrame({"good": total - bad, "total": total, "vsum": np.nan})
    return frame.set_axis(pd.RangeIndex(1000, 1000 + HOURS))


def test_window_lengths_reach_a_day_and_a_daily_series_has_none() -> None:
    assert window_lengths(timedelta(hours=1)) == [2, 4, 8, 16, 24]
    assert window_lengths(timedelta(minutes=30)) == [2, 4, 8, 16, 48]
    assert window_lengths(timedelta(days=1)) == []


def test_rolled_sums_the_buckets_of_each_window_and_empty_buckets_count_as_none() -> None:
    frame = pd.DataFrame(
        {"good": [1.0, 2.0, 4.0], "total": [1.0, 2.0, 4.0], "vsum": [0.0, 0.0, 0.0]},
        index=[10, 11, 13],
    )
    out = rolled(frame, 2)
    assert out.total.to_dict() == {11: 3.0, 12: 2.0, 13: 4.0}


def test_a_window_departs_where_no_hour_does() -> None:
    """12 hours at 5x the budget, ~2 bad events an hour against 0.2: in the seeds where no hour
    reaches the confirmation bar, the 8- or 16-hour window does (nearly always)."""
    first = 1000 + 28 * 24
    failing = (first + 50, first + 62)
    seen = []
    for seed in range(30):
        frame = _series(seed, failing, 0.05)
        hour = departure(frame, EVENTS, frame.index[frame.index < first])
        if float(hour.loc[failing[0] : failing[1] - 1].max()) >= CONFIRM_Z:
            continue
        peaks = [window_departure(frame, EVENTS, first, w) for w in (8, 16)]
        seen.append(max(float(z.loc[failing[0] : failing[1] + 8].max()) for z in peaks))
    assert len(seen) >= 20
    assert np.mean(np.array(seen) >= CONFIRM_Z) >= 0.9, seen


def test_healthy_windows_stay_below_the_bar() -> None:
    first = 1000 + 28 * 24
    for seed in range(20):
        frame = _series(seed, (0, 0), 0.005)
        for width in window_lengths(timedelta(hours=1)):
            window = window_departure(frame, EVENTS, first, width)
            assert float(window.loc[first:].max()) < CONFIRM_Z, (seed, width)


def test_the_likeliest_interval_is_the_planted_failure() -> None:
    """A clear failure (20% of ~40 events an hour for 6 hours): its hours exactly, from a run
    reaching hours before and after it."""
    failing = (1500, 1506)
    for seed in range(10):
        frame = _series(seed, failing, 0.2)
        assert likeliest_interval(frame, 0.005, (1490, 1520)) == (1500, 1505)

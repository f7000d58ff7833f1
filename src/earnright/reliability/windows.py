"""Departures over windows of several buckets, for series whose step is shorter than a day.

Every check of a segment against its own level (:func:`earnright.reliability.episode.departure`)
compares one bucket with the buckets before it. On hourly data a small segment has 0-3 bad
events an hour — a store failing at 8x its budget has 2-4 — so no single hour departs by the
``CONFIRM_Z`` spreads a confirmation needs, though four such hours together are far beyond
anything the store's normal hours make. Issue 18's target is a failure burning its budget at 3x
or more *for a day*, so the checks also look at windows of ``WINDOWS`` (2, 4, 8, 16) buckets and
a whole day, as long as the window is at most a day (a daily series has none: its bucket is the
day). A window's counts (``good``, ``total``, ``vsum``) are summed over its buckets, and its
departure is measured against the segment's own windows of the same length in the baseline
before it (:func:`rolled`, :func:`earnright.reliability.episode.window_departure`): the same
test as a bucket's, on sums.

A window that departs says *that* the segment failed in it, not which of its hours did: the
failure's hours are then the interval of buckets inside the departing run that is the most
likely change of rate (:func:`likeliest_interval`, the binomial scan statistic of Kulldorff
1997 on the bad events against the baseline's rate), so an incident's window is its failure
hours, to the hour, not the windows' reach.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

__all__ = ["WINDOWS", "likeliest_interval", "rolled", "window_lengths"]

WINDOWS = (2, 4, 8, 16)  # buckets, besides a whole day; only windows of at most a day count
DAY = timedelta(days=1)
COLUMNS = ["good", "total", "vsum"]


def window_lengths(step: timedelta) -> list[int]:
    """The window lengths (in buckets) checked besides single buckets: ``WINDOWS`` and a day,
    each at most a day long; none when the step is a day or more."""
    per_day = int(DAY / step) if step < DAY else 1
    return sorted({w for w in (*WINDOWS, per_day) if 1 < w <= per_day})


def rolled(frame: pd.DataFrame, width: int) -> pd.DataFrame:
    """``good``, ``total`` and ``vsum`` summed over the ``width`` buckets ending at each bucket
    index (buckets with no row count as empty), for every bucket whose window is whole."""
    if frame.empty:
        return frame[COLUMNS]
    index = pd.RangeIndex(int(frame.index.min()), int(frame.index.max()) + 1)
    full = frame[COLUMNS].reindex(index).fillna(0.0)
    return full.rolling(width).sum().iloc[width - 1 :]


def _llr(bad: np.ndarray, expected: np.ndarray, total: np.ndarray) -> np.ndarray:
    """The binomial log-likelihood ratio of a raised rate (0 where the rate is not raised)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        good, normal = total - bad, total - expected
        out = np.where(bad > 0, bad * np.log(bad / expected), 0.0)
        out += np.where(good > 0, good * np.log(good / normal), 0.0)
    return np.where((bad > expected) & (total > 0), out, 0.0)


def likeliest_interval(frame: pd.DataFrame, rate: float, run: tuple[int, int]) -> tuple[int, int]:
    """The bucket indices ``[start, end]`` within ``run`` whose bad events (``total - good``)
    depart most likely from ``rate`` (the baseline's bad share): the interval of largest
    log-likelihood ratio of one raised rate inside against ``rate`` (ties: the shortest)."""
    index = pd.RangeIndex(run[0], run[1] + 1)
    part = frame[["good", "total"]].reindex(index).fillna(0.0)
    bad = np.concatenate([[0.0], np.cumsum((part.total - part.good).to_numpy(float))])
    total = np.concatenate([[0.0], np.cumsum(part.total.to_numpy(float))])
    lo, hi = np.triu_indices(len(index))  # interval [lo, hi] of positions
    k, n = bad[hi + 1] - bad[lo], total[hi + 1] - total[lo]
    score = _llr(k, n * min(max(rate, 1e-9), 1 - 1e-9), n)
    if not len(score) or float(score.max()) <= 0.0:
        return run
    best = np.flatnonzero(score >= score.max() - 1e-9)
    pick = best[np.argmin(hi[best] - lo[best])]
    return run[0] + int(lo[pick]), run[0] + int(hi[pick])

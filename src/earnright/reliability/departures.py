"""Departure alerts: every segment of depth ≤ 2 checked, bucket by bucket, against its own level.

The watched series are one dimension at a time (``platform=android``, ``district=D2``), so a
failure of android checkouts in one district is diluted in both: at 3× the budget for a day it
burns about 1× on each, under every burn rule, and the anomaly detector sees a small wobble.
Issue 18's target is every failure whose segment burns its budget at 3× or more for a day.

This watch checks, at every new bucket, every segment of depth ≤ 2 — the overall series, each
dimension's values, and each metric dimension crossed with a unit level or another metric
dimension (``district=D2&platform=android``; two unit levels are nested, no pair) — with one
engine scan of the leaves (unit × metric dimensions) per block of buckets, summed with array
operations. A segment alerts (rule ``departure``) at a bucket when

- it has ``min_events`` events there and its bad share is ``FACTOR`` (2) times the error budget
  or more, and
- it departs from its own level in the ``BASELINE`` before by ``CONFIRM_Z`` spreads or more:
  first the exact binomial tail of its bad events against its pooled baseline rate (all
  segments at once), then, for the few left, the robust departure the incident's confirmation
  uses (:func:`earnright.reliability.episode.departure`).

So a chronically weak segment (always over 2×) raises nothing, and noise must pass both the
budget and a 6-spread departure. It is cheap: the leaves are read once per block, and the
segment sums are array sums over the leaves (see docs/reliability.md for the cost measured).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy import stats

from earnright.config import Config, Indicator
from earnright.reliability.detection import Alert
from earnright.reliability.episode import (
    BASELINE,
    CONFIRM_Z,
    MIN_BASELINE_BUCKETS,
    leaf_buckets,
    window_departure,
)
from earnright.reliability.localize import format_cause
from earnright.reliability.segment import leaf_dims
from earnright.reliability.windows import window_lengths
from earnright.warehouse import Warehouse

__all__ = ["FACTOR", "RULE", "departure_alerts", "last_scanned", "watched_kinds"]

RULE = "departure"
FACTOR = 2.0  # a failure at 3x the budget can realise 2.5x in a day: the departure decides
BLOCK = 128  # new buckets per engine scan (with their baseline): bounds the arrays


def last_scanned(wh: Warehouse, indicator: Indicator) -> datetime | None:
    """The newest bucket every series of the indicator had been scanned to (None: never)."""
    t = wh.table("detector_state")
    last = t.filter(t.series_key.startswith(f"{indicator.id}|")).last_bucket.min().execute()
    return None if last is None or pd.isna(last) else pd.Timestamp(last).to_pydatetime()


def watched_kinds(levels: list[str], metric_dims: list[str]) -> list[tuple[str, ...]]:
    """The dimension sets watched: none (overall), each one, each metric dimension crossed
    with a unit level or a later metric dimension."""
    kinds: list[tuple[str, ...]] = [(), *((d,) for d in [*levels, *metric_dims])]
    for i, dim in enumerate(metric_dims):
        kinds += [(dim, other) for other in [*levels, *metric_dims[i + 1 :]]]
    return kinds


def _span(
    wh: Warehouse, indicator: Indicator, step: timedelta, after: datetime | None
) -> tuple[int, int] | None:
    """Bucket indices ``[first, last]`` to check: those after ``after`` (on a first scan, those
    with a full baseline after the first data) to the newest with data; None: nothing new."""
    m = wh.table("metrics")
    m = m.filter(m.metric == indicator.metric)
    row = m.aggregate(lo=m.observed_at.min(), hi=m.observed_at.max()).execute().iloc[0]
    if pd.isna(row.lo):
        return None
    seconds = step.total_seconds()
    first = int(pd.Timestamp(row.lo).timestamp() // seconds) + int(BASELINE / step)
    if after is not None:
        first = max(first, int(pd.Timestamp(after).timestamp() // seconds) + 1)
    last = int(pd.Timestamp(row.hi).timestamp() // seconds)
    return (first, last) if first <= last else None


def _time(bidx: int, step: timedelta) -> datetime:
    return pd.Timestamp(bidx * step.total_seconds(), unit="s").to_pydatetime()


def departure_alerts(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    ancestors: pd.DataFrame,
    after: datetime | None,
) -> list[Alert]:
    """``departure`` alerts of every depth-≤2 segment at the buckets after ``after`` (the
    bucket the indicator's series had been scanned to; None: the whole history)."""
    step = config.reliability.step
    span = _span(wh, indicator, step, after)
    if span is None:
        return []
    levels, metric_dims = leaf_dims(wh, config, indicator)
    kinds = watched_kinds(levels, metric_dims)
    base = int(BASELINE / step)
    alerts: list[Alert] = []
    for first in range(span[0], span[1] + 1, BLOCK):
        last = min(first + BLOCK - 1, span[1])
        window = (_time(first - base, step), _time(last + 1, step))
        per = leaf_buckets(wh, config, indicator, (ancestors, metric_dims), window)
        for kind in kinds:
            alerts += _kind_alerts(per, kind, indicator, config, (first, last))
    return alerts


def _sums(per: pd.DataFrame, kind: tuple[str, ...], cols: pd.Index) -> dict[str, pd.DataFrame]:
    """Segment × bucket matrices of ``good``, ``total`` and ``vsum`` (one grouping)."""
    keys = [per[d].astype("string") for d in kind] or [pd.Series("", index=per.index)]
    grouped = per.groupby([*keys, per["_bidx"]], dropna=True)[["good", "total", "vsum"]].sum()
    return {
        name: grouped[name].unstack("_bidx").reindex(columns=cols).fillna(0.0)
        for name in ("good", "total", "vsum")
    }


def _kind_alerts(
    per: pd.DataFrame,
    kind: tuple[str, ...],
    indicator: Indicator,
    config: Config,
    span: tuple[int, int],
) -> list[Alert]:
    """The alerts of the segments of one dimension set at the bucket indices ``span``: of a
    bucket, or of a window of several buckets ending there (steps shorter than a day; see
    :mod:`earnright.reliability.windows`), one per segment and bucket."""
    if per.empty:
        return []
    cols = pd.RangeIndex(int(per["_bidx"].min()), span[1] + 1)
    sums = _sums(per, kind, cols)
    alerts: dict[tuple[str, datetime], Alert] = {}
    for width in [1, *window_lengths(config.reliability.step)]:
        found = _burning(sums, indicator, config, (span[0], width))
        for alert in _confirmed(kind, sums, found, indicator, (config, width)):
            alerts.setdefault((alert.segment, alert.bucket), alert)
    return list(alerts.values())


def _burning(
    sums: dict[str, pd.DataFrame], indicator: Indicator, config: Config, at: tuple[int, int]
) -> list[tuple[int, int]]:
    """(row, column) of the windows of ``at[1]`` buckets ending at a new bucket (from index
    ``at[0]``) that burn ``FACTOR`` times the budget and pass the exact binomial tail."""
    settings = config.reliability
    total, good = sums["total"], sums["good"]
    cols, width = total.columns, at[1]
    bad_now, total_now = (total - good).to_numpy(float), total.to_numpy(float)
    base = int(BASELINE / settings.step)
    pad = np.zeros((len(total), 1))
    cum_bad = np.hstack([pad, np.cumsum(bad_now, axis=1)])
    cum_total = np.hstack([pad, np.cumsum(total_now, axis=1)])
    cum_days = np.hstack([pad, np.cumsum(total_now > 0, axis=1)])
    ends = np.arange(max(at[0] - int(cols[0]), 0), len(cols))  # the new buckets' columns
    ends = ends[ends + 1 >= width]
    starts = ends + 1 - width  # each window's first column
    lo = np.maximum(starts - base, 0)
    base_bad = cum_bad[:, starts] - cum_bad[:, lo]
    base_total = cum_total[:, starts] - cum_total[:, lo]
    base_days = cum_days[:, starts] - cum_days[:, lo]
    bad = cum_bad[:, ends + 1] - cum_bad[:, starts]
    n = cum_total[:, ends + 1] - cum_total[:, starts]
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.clip(np.maximum(base_bad, 0.5) / base_total, 1e-12, 1 - 1e-9)
        burning = (n >= settings.min_events) & (bad >= FACTOR * indicator.error_budget * n)
    maybe = burning & (base_days >= MIN_BASELINE_BUCKETS * width) & (base_total > 0)
    rows, cols_at = np.nonzero(maybe)
    tail = stats.binom.sf(bad[rows, cols_at] - 1, n[rows, cols_at], p0[rows, cols_at])
    exact = stats.norm.isf(np.clip(tail, 1e-300, 1.0))
    clear = exact >= CONFIRM_Z
    return [(int(r), int(ends[c])) for r, c in zip(rows[clear], cols_at[clear], strict=True)]


def _confirmed(
    kind: tuple[str, ...],
    sums: dict[str, pd.DataFrame],
    found: list[tuple[int, int]],
    indicator: Indicator,
    setting: tuple[Config, int],
) -> list[Alert]:
    """The candidates (windows of ``setting[1]`` buckets) whose robust departure, as the
    confirmation measures it, is clear."""
    total, good, vsum = sums["total"], sums["good"], sums["vsum"]
    config, width = setting
    step = config.reliability.step
    base = int(BASELINE / step)
    alerts = []
    for row, col in found:
        cols = total.columns[max(col + 1 - width - base, 0) : col + 1]
        frame = pd.DataFrame(
            {
                "good": good.iloc[row][cols],
                "total": total.iloc[row][cols],
                "vsum": vsum.iloc[row][cols],
            }
        )
        frame = frame[frame.total > 0]
        bucket = int(total.columns[col])
        z = window_departure(frame, indicator, bucket + 1 - width, width)
        if bucket not in z.index or float(z[bucket]) < CONFIRM_Z:
            continue
        key = total.index[row]
        values = (key,) if not isinstance(key, tuple) else key
        segment = format_cause(dict(zip(kind, map(str, values), strict=True))) if kind else ""
        window = frame[frame.index > bucket - width]
        burn = (1 - window.good.sum() / window.total.sum()) / indicator.error_budget
        when = _time(bucket, step)
        alerts.append(
            Alert(indicator.id, segment, RULE, "ticket", when, when + step, round(float(burn), 6))
        )
    return alerts

"""Departure alerts: every segment of depth ≤ 2 checked, bucket by bucket, against its own level.

The watched series are one dimension at a time (``platform=android``, ``district=D2``), so a
failure of android checkouts in one district is diluted in both: at 3× the budget for a day it
burns about 1× on each, under every burn rule, and the anomaly detector sees a small wobble.
Issue 18's target is every failure whose segment burns its budget at 3× or more for a day.

This watch checks, at every new bucket, every segment of depth ≤ 2 — the overall series, each
dimension's values, and each metric dimension crossed with a unit level or another metric
dimension (``district=D2&platform=android``; two unit levels are nested, no pair) — from the
pass's leaves (unit × metric dimensions per bucket, the judge's :class:`LeafCube`, read once),
each dimension set's segments a sparse 0/1 matrix over the leaves, summed per block of buckets
by one matrix product. A segment alerts (rule ``departure``) at a bucket when

- it has ``min_events`` events there and its bad share is ``FACTOR`` (2) times the error budget
  or more, and
- it departs from its own level in the ``BASELINE`` before by ``CONFIRM_Z`` spreads or more:
  first the exact binomial tail of its bad events against its pooled baseline rate (all
  segments at once), then, for the few left, the robust departure the incident's confirmation
  uses (:func:`earnright.reliability.episode.departure`).

So a chronically weak segment (always over 2×) raises nothing, and noise must pass both the
budget and a 6-spread departure. It is cheap: no engine scan of its own when the pass's cube
reaches back to the first new bucket's baseline, and the segment sums are matrix products
(see docs/reliability.md for the cost measured).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy import sparse, stats

from earnright.config import Config, Indicator
from earnright.reliability.detection import Alert
from earnright.reliability.episode import BASELINE, CONFIRM_Z, MIN_BASELINE_BUCKETS
from earnright.reliability.leafcube import LeafCube
from earnright.reliability.localize import format_cause
from earnright.reliability.segment import leaf_dims
from earnright.reliability.windows import window_lengths
from earnright.warehouse import Warehouse

__all__ = [
    "FACTOR",
    "RULE",
    "SegmentGroup",
    "confirm_windows",
    "departure_alerts",
    "departure_start",
    "last_scanned",
    "leaf_block",
    "segment_groups",
    "watched_kinds",
]

RULE = "departure"
FACTOR = 2.0  # a failure at 3x the budget can realise 2.5x in a day: the departure decides
SUMS = ("good", "total", "vsum")
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


def departure_start(
    wh: Warehouse, config: Config, indicator: Indicator, after: datetime | None
) -> datetime | None:
    """The first bucket :func:`departure_alerts` checks (None: nothing new), so that the pass
    can read the leaves from its baseline on once for the watch and the judge alike."""
    span = _span(wh, indicator, config.reliability.step, after)
    return None if span is None else _time(span[0], config.reliability.step)


def departure_alerts(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    ancestors: pd.DataFrame,
    after: datetime | None,
    cube: LeafCube | None = None,
) -> list[Alert]:
    """``departure`` alerts of every depth-≤2 segment at the buckets after ``after`` (the
    bucket the indicator's series had been scanned to; None: the whole history), summed from
    ``cube`` (the pass's leaves, :class:`LeafCube`) when it reaches back to the first new
    bucket's baseline, else from one engine scan of the leaves from there."""
    step = config.reliability.step
    span = _span(wh, indicator, step, after)
    if span is None:
        return []
    levels, metric_dims = leaf_dims(wh, config, indicator)
    base = int(BASELINE / step)
    if cube is None or cube.first > span[0] - base:
        since = _time(span[0] - base, step)
        cube = LeafCube.scan(wh, config, indicator, (ancestors, metric_dims), since)
    groups = segment_groups(cube, watched_kinds(levels, metric_dims))
    alerts: list[Alert] = []
    for first in range(span[0], span[1] + 1, BLOCK):
        last = min(first + BLOCK - 1, span[1])
        cols = pd.RangeIndex(first - base, last + 1)
        leaves = leaf_block(cube, cols)
        for kind, group in groups.items():
            sums = group.sums(leaves, cols)
            alerts += _kind_alerts(sums, kind, indicator, config, (first, last))
    return alerts


@dataclass(frozen=True)
class SegmentGroup:
    """The segments of one dimension set as rows of a 0/1 matrix over the cube's leaves
    (``rows``: segments × leaves, sparse; a leaf missing a value of the set is in none),
    labelled by their values (``index``, sorted as pandas' group-by orders them)."""

    index: pd.Index
    rows: sparse.csr_matrix

    def sums(self, leaves: dict[str, np.ndarray], cols: pd.RangeIndex) -> dict[str, pd.DataFrame]:
        """Segment × bucket matrices of ``good``, ``total`` and ``vsum`` over the bucket
        indices ``cols`` from the leaves × ``cols`` arrays of :func:`leaf_block`."""
        return {
            name: pd.DataFrame(np.asarray(self.rows @ values), index=self.index, columns=cols)
            for name, values in leaves.items()
        }


def leaf_block(cube: LeafCube, cols: pd.RangeIndex) -> dict[str, np.ndarray]:
    """The cube's leaves × bucket indices ``cols`` arrays of ``SUMS``: zero where it holds no
    row (or no bucket), and where a value sum is NULL (it adds nothing)."""
    lo, hi = int(cols[0]) - cube.first, int(cols[-1]) + 1 - cube.first
    a, b = max(lo, 0), min(hi, cube.present.shape[1])
    out = {}
    for name in SUMS:
        part = np.zeros((cube.present.shape[0], hi - lo))
        if a < b:
            held = np.nan_to_num(cube.sums[name][:, a:b])
            part[:, a - lo : b - lo] = np.where(cube.present[:, a:b], held, 0.0)
        out[name] = part
    return out


def segment_groups(
    cube: LeafCube, kinds: list[tuple[str, ...]]
) -> dict[tuple[str, ...], SegmentGroup]:
    """Each watched dimension set's :class:`SegmentGroup` over the cube's usable leaves (the
    metric dimensions applying): each dimension's values factorised once as strings, sorted."""
    usable = cube.usable()
    dims = sorted({d for kind in kinds for d in kind})
    codes = {d: pd.factorize(cube.leaves[d].astype("string"), sort=True) for d in dims}
    out = {}
    for kind in kinds:
        keep = usable.copy()
        key = np.zeros(len(cube.leaves), dtype=np.int64)
        for dim in kind:
            code, labels = codes[dim]
            keep &= code >= 0
            key = key * len(labels) + code
        found, row = np.unique(key[keep], return_inverse=True)
        if kind:
            parts = np.unravel_index(found, [len(codes[d][1]) for d in kind])
            arrays = [np.asarray(codes[d][1])[p] for d, p in zip(kind, parts, strict=True)]
            index = pd.MultiIndex.from_arrays(arrays) if len(kind) > 1 else pd.Index(arrays[0])
        else:
            index = pd.Index([""] * len(found))
        leaves = np.flatnonzero(keep)
        ones = np.ones(len(leaves))
        shape = (len(found), len(cube.leaves))
        rows = sparse.csr_matrix((ones, (row.reshape(-1), leaves)), shape=shape)
        out[kind] = SegmentGroup(index, rows)
    return out


def _kind_alerts(
    sums: dict[str, pd.DataFrame],
    kind: tuple[str, ...],
    indicator: Indicator,
    config: Config,
    span: tuple[int, int],
) -> list[Alert]:
    """The alerts of the segments of one dimension set (their ``sums``, :class:`SegmentGroup`)
    at the bucket indices ``span``: of a bucket, or of a window of several buckets ending there
    (steps shorter than a day; see :mod:`earnright.reliability.windows`), one per segment and
    bucket."""
    if sums["total"].empty:
        return []
    alerts: dict[tuple[str, datetime], Alert] = {}
    for width in [1, *window_lengths(config.reliability.step)]:
        found = _burning(sums, indicator, config, (span[0], width))
        for alert in confirm_windows(kind, sums, found, indicator, (config, width)):
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


def confirm_windows(
    kind: tuple[str, ...],
    sums: dict[str, pd.DataFrame],
    found: list[tuple[int, int]],
    indicator: Indicator,
    setting: tuple[Config, int],
) -> list[Alert]:
    """The candidates (windows of ``setting[1]`` buckets) whose robust departure, as the
    confirmation measures it (:func:`earnright.reliability.episode.window_departure` on the
    segment's buckets from ``BASELINE`` before the window), is clear: all candidates at once,
    each a row of arrays (:func:`_window_z`)."""
    if not found:
        return []
    total = sums["total"]
    config, width = setting
    step = config.reliability.step
    rows = np.array([r for r, _ in found], dtype=np.int64)
    ends = np.array([c for _, c in found], dtype=np.int64)
    span = int(BASELINE / step) + width  # the columns each candidate's frame may reach
    cols = ends[:, None] + np.arange(1 - span, 1)[None, :]
    inside = cols >= 0
    picked = {}
    for name in SUMS:
        values = sums[name].to_numpy(float)
        picked[name] = np.where(inside, values[rows[:, None], np.maximum(cols, 0)], 0.0)
    z, burn = _window_z(picked, indicator, width)
    alerts = []
    for k in np.flatnonzero(z >= CONFIRM_Z):
        key = total.index[rows[k]]
        named = (key,) if not isinstance(key, tuple) else key
        segment = format_cause(dict(zip(kind, map(str, named), strict=True))) if kind else ""
        when = _time(int(total.columns[ends[k]]), step)
        score = round(float(burn[k]), 6)
        alerts.append(Alert(indicator.id, segment, RULE, "ticket", when, when + step, score))
    return alerts


def _window_z(
    picked: dict[str, np.ndarray], indicator: Indicator, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate (row; the last column is its bucket): the departure of the window of
    ``width`` buckets ending there from the windows of that length wholly before it, whose
    buckets lie from the first bucket with events on (NaN: too short a baseline), and its burn.
    The same arithmetic as :func:`earnright.reliability.episode.departure` on
    :func:`earnright.reliability.windows.rolled` sums, row by row."""
    total = picked["total"]
    n, span = total.shape
    seen = total > 0
    first = np.where(seen.any(axis=1), seen.argmax(axis=1), span)  # first bucket with events
    last = span - 1 - seen[:, ::-1].argmax(axis=1)  # the newest bucket with events
    pad = np.zeros((n, 1))
    win = {}
    for name, values in picked.items():
        cum = np.hstack([pad, np.cumsum(values, axis=1)])
        win[name] = cum[:, width:] - cum[:, :-width]  # window ending at column e: e + width - 1
    end = np.arange(width - 1, span)[None, :]
    valid = (end - width + 1 >= first[:, None]) & (end <= last[:, None]) & (win["total"] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if indicator.measure == "events":
            value = 1.0 - win["good"] / win["total"]
        else:
            value = win["vsum"] / win["total"]
            if indicator.good_when == "above":
                value = -value
    base = valid & (end < span - width) & ~np.isnan(value)
    z = _z_last(value, base, win, indicator)
    z[~valid[:, -1]] = np.nan  # the candidate's own window has no events at its end
    with np.errstate(divide="ignore", invalid="ignore"):  # NaN where z is NaN too
        burn = (1 - win["good"][:, -1] / win["total"][:, -1]) / indicator.error_budget
    return z, burn


def _z_last(
    value: np.ndarray, base: np.ndarray, win: dict[str, np.ndarray], indicator: Indicator
) -> np.ndarray:
    """Per row: how many robust spreads the last window's ``value`` is worse than the
    windows ``base`` (the median, or for events the pooled bad share; 1.4826 × MAD, or the
    standard deviation when that is 0), for events no more than the exact binomial tail
    allows; NaN where fewer than ``MIN_BASELINE_BUCKETS`` windows are in the baseline."""
    held = np.where(base, value, np.nan)
    count = base.sum(axis=1)
    enough = count >= MIN_BASELINE_BUCKETS
    z = np.full(len(value), np.nan)
    if not enough.any():
        return z
    held, count, now = held[enough], count[enough], value[enough, -1]
    if indicator.measure == "events":
        good = np.where(base, win["good"], 0.0)[enough].sum(axis=1)
        total = np.where(base, win["total"], 0.0)[enough].sum(axis=1)
        center = 1.0 - good / total
    else:
        center = np.nanmedian(held, axis=1)
    spread = 1.4826 * np.nanmedian(np.abs(held - center[:, None]), axis=1)
    flat = spread == 0.0
    if flat.any():
        spread[flat] = np.where(count[flat] > 1, np.nanstd(held[flat], axis=1, ddof=1), 0.0)
    out = np.nan_to_num((now - center) / np.maximum(spread, 1e-9), nan=0.0)
    if indicator.measure == "events":
        p = np.minimum(np.maximum(center, 0.5 / np.maximum(total, 1.0)), 1 - 1e-9)
        n_now = win["total"][enough, -1]
        bad = np.round(n_now - win["good"][enough, -1])
        tail = stats.binom.sf(bad - 1, np.round(n_now), p)
        out = np.minimum(out, stats.norm.isf(np.clip(tail, 1e-300, 1.0)))
    z[enough] = out
    return z

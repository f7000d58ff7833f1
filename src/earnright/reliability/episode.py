"""An incident's failure span, measured on its segment's own series, not on its alerts' times.

Alerts are late and long: a burn-rate alert looks back over its long window, so a slow rule
still fires a day or two after a failure ended, and a page can fire once for a failure that
lasted two days. The exposure of an incident (who was hurt, and so the revenue at risk) must be
the span in which the segment was actually failing. :func:`failure_span` measures it: the
segment's leaves are summed per bucket; each bucket is compared with the segment's own level in
the ``BASELINE`` before the failure could have begun; the span runs from the first bucket of the
departing run at the incident's first alert to the last departing bucket after it (a run bridges
gaps shorter than ``[reliability] resolve_after``: a flapping failure is one episode).

A bucket departs when its bad share (events indicators) or mean value (threshold indicators)
is worse than the baseline's level (the median bucket; for events the pooled bad share) by more
than ``DEPARTURE_Z`` times the baseline's robust spread (1.4826 × MAD of its buckets) and, for
events, also beyond the exact binomial tail of that z (a bucket's bad events against the pooled
share): so a small relative shift over a large volume departs, and a few unlucky events at a
small store do not. An incident is confirmed only on a span whose largest departure reaches
``CONFIRM_Z``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from earnright.config import Config, Indicator
from earnright.reliability.indicators import indicator_events
from earnright.reliability.windows import likeliest_interval, rolled, window_lengths
from earnright.warehouse import Warehouse

if TYPE_CHECKING:
    from earnright.config.sections import Reliability
    from earnright.reliability.leafcube import LeafCube

__all__ = [
    "BASELINE",
    "CONFIRM_Z",
    "DEPARTURE_Z",
    "Span",
    "departure",
    "failure_span",
    "in_segments",
    "leaf_buckets",
    "rest_departure",
    "segment_buckets",
    "window_departure",
]

BASELINE = timedelta(days=28)  # the segment's normal level is measured over this span before
DEPARTURE_Z = 3.0
CONFIRM_Z = 6.0
PEEK = timedelta(days=14)  # a failure's span is looked for this far past its first alert first
MIN_BASELINE_BUCKETS = 5


class Span(NamedTuple):
    """A failure: ``[start, end)`` and its largest departure from the baseline (a z score)."""

    start: datetime
    end: datetime
    peak: float


def in_segments(leaves: pd.DataFrame, segments: list[dict[str, str]]) -> pd.Series:
    """Which leaves fall in any of the segments (an OR of dimension = value conditions)."""
    hit = pd.Series(False, index=leaves.index)
    for segment in segments:
        cond = pd.Series(True, index=leaves.index)
        for dim, value in segment.items():
            cond &= leaves[dim].astype("string") == value if dim in leaves else False
        hit |= cond
    return hit


def _units_in(segments: list[dict[str, str]], ancestors: pd.DataFrame) -> list[str] | None:
    """The units any of the segments can hold; None when one has no unit condition (all)."""
    levels = [c for c in ancestors.columns if c != "unit_id"]
    hit = pd.Series(False, index=ancestors.index)
    for segment in segments:
        on_units = {dim: value for dim, value in segment.items() if dim in levels}
        if not on_units:
            return None
        hit |= in_segments(ancestors, [on_units])
    return ancestors.unit_id[hit].astype(str).tolist()


def segment_buckets(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    where: tuple[list[dict[str, str]], pd.DataFrame, list[str]],
    span: tuple[datetime, datetime],
    cube: LeafCube | None = None,
) -> pd.DataFrame:
    """The segments' ``good``, ``total`` and value sum ``vsum`` per bucket index (``_bidx``)
    in ``span``; ``where`` is (segments, unit ancestors, metric dimension columns). From
    ``cube`` (the pass's leaves in memory) when it covers ``span``, else from the engine."""
    segments, ancestors, metric_dims = where
    if cube is not None and (held := cube.segment_buckets(segments, span)) is not None:
        return held
    units = _units_in(segments, ancestors)
    per = leaf_buckets(wh, config, indicator, (ancestors, metric_dims), span, units)
    return per[in_segments(per, segments)].groupby("_bidx")[["good", "total", "vsum"]].sum()


def leaf_buckets(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    where: tuple[pd.DataFrame, list[str]],
    span: tuple[datetime, datetime],
    units: list[str] | None = None,
) -> pd.DataFrame:
    """Per bucket index (``_bidx``) and leaf (unit × metric dimensions, with the unit's
    ancestors): ``good``, ``total`` and ``vsum`` in ``span``, from one engine scan; only the
    leaves of ``units`` when given."""
    ancestors, metric_dims = where
    ev = indicator_events(wh, indicator, config.reliability.step, span)
    if units:  # only the rows the segments can hold leave the engine (a store, not all stores)
        ev = ev.filter(ev.unit_id.isin(units))
    per = (
        ev.group_by(["_bidx", "unit_id", *metric_dims])
        .aggregate(good=ev._good.sum(), total=ev._total.sum(), vsum=ev._vsum.sum())
        .execute()
        .merge(ancestors, on="unit_id", how="left")
    )
    for dim in metric_dims:
        per = per[per[dim] != "all"]
    return per.sort_values("_bidx")


def rest_departure(
    per: pd.DataFrame,
    indicator: Indicator,
    segments: tuple[list[dict[str, str]], list[dict[str, str]]],
    span: tuple[int, int],
    windowed: bool = False,
) -> float:
    """How clearly the leaves of ``per`` (from :func:`leaf_buckets`) in the ``outer`` segments
    but in none of the ``inner`` ones depart from their baseline (the buckets before the
    bucket indices ``span``) during ``span``: the mean z of its buckets (0 when unknown), or
    (``windowed``: steps shorter than a day, a few events a bucket) the z of ``span``'s buckets
    together against the baseline's windows of that length."""
    outer, inner = segments
    rest = per[in_segments(per, outer) & ~in_segments(per, inner)]
    frame = rest.groupby("_bidx")[["good", "total", "vsum"]].sum()
    width = span[1] - span[0]
    if windowed and width > 1:
        whole = window_departure(frame, indicator, span[0], width)
        return float(whole[span[1] - 1]) if span[1] - 1 in whole.index else 0.0
    z = departure(frame, indicator, frame.index[frame.index < span[0]])
    during = z[(z.index >= span[0]) & (z.index < span[1])]
    return float(during.mean()) if len(during) else 0.0


def departure(frame: pd.DataFrame, indicator: Indicator, baseline: pd.Index) -> pd.Series:
    """Per bucket of ``frame`` (from :func:`segment_buckets`): by how many spreads it is worse
    than the buckets ``baseline`` (a z score). Empty when the baseline is too short."""
    total = frame.total.astype(float)
    if indicator.measure == "events":
        value = 1.0 - frame.good / total
    else:
        value = frame.vsum / total
        if indicator.good_when == "above":
            value = -value
    base = value[value.index.isin(baseline) & total.gt(0)].dropna()
    if len(base) < MIN_BASELINE_BUCKETS:
        return pd.Series(dtype=float)
    center = float(base.median())
    if indicator.measure == "events":  # pooled: the median of a few bad events is too low
        center = float(1.0 - frame.good[base.index].sum() / total[base.index].sum())
    spread = 1.4826 * float((base - center).abs().median())
    if spread == 0.0:
        spread = float(base.std(ddof=1)) if len(base) > 1 else 0.0
    z = ((value - center) / max(spread, 1e-9)).fillna(0.0)
    if indicator.measure == "events":  # and no more than the exact binomial tail allows
        p = min(max(center, 0.5 / max(float(total[base.index].sum()), 1.0)), 1 - 1e-9)
        bad = (total - frame.good).round().to_numpy(float)
        tail = stats.binom.sf(bad - 1, total.round().to_numpy(float), p)
        exact = stats.norm.isf(np.clip(tail, 1e-300, 1.0))
        z = pd.Series(np.minimum(z.to_numpy(float), exact), index=z.index)
    return z


def window_departure(
    frame: pd.DataFrame, indicator: Indicator, first: int, width: int
) -> pd.Series:
    """Per bucket index: how many spreads the window of ``width`` buckets ending there is worse
    than the segment's windows of that length lying wholly before ``first`` (a z score; see
    :mod:`earnright.reliability.windows`)."""
    sums = rolled(frame, width)
    sums = sums[sums.total > 0]
    return departure(sums, indicator, sums.index[sums.index < first])


def _departing(
    frame: pd.DataFrame, indicator: Indicator, first: int, step: timedelta
) -> tuple[list[int], pd.Series]:
    """The buckets from ``first`` that depart by ``DEPARTURE_Z``, alone or in a window of
    several buckets (:func:`window_departure`) that does; and each bucket's departure."""
    z = departure(frame, indicator, frame.index[frame.index < first])
    hits = {int(b) for b in z.index[z.to_numpy(float) > DEPARTURE_Z] if int(b) >= first}
    for width in window_lengths(step):
        zw = window_departure(frame, indicator, first, width)
        for end in zw.index[zw.to_numpy(float) > DEPARTURE_Z]:
            hits.update(range(max(int(end) - width + 1, first), int(end) + 1))
    return sorted(hits), z


def _peak(
    frame: pd.DataFrame,
    indicator: Indicator,
    z: pd.Series,
    where: tuple[int, tuple[int, int], bool],
) -> float:
    """The largest departure in the run (``where``: the first bucket after the baseline, the
    run, whether the step is shorter than a day): of a bucket (``z``), or (windows) of the
    run's buckets together."""
    first, run, windows = where
    during = z[(z.index >= run[0]) & (z.index <= run[1])]
    peak = float(during.max()) if len(during) else 0.0
    width = run[1] - run[0] + 1
    if windows and width > 1:
        whole = window_departure(frame, indicator, first, width)
        if run[1] in whole.index:
            peak = max(peak, float(whole[run[1]]))
    return peak


def failure_span(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    where: tuple[list[dict[str, str]], pd.DataFrame, list[str]],
    anchor: datetime,
    until: datetime,
    cube: LeafCube | None = None,
) -> Span | None:
    """``[start, end)`` of the failure of the segments in ``where`` around ``anchor`` (the
    bucket of the incident's first alert), looking no later than ``until``; None when the
    segments' series shows no departing bucket (or too little history to tell). ``peak``: the
    largest departure (z) in the span. ``cube``: the pass's leaves in memory, if any. On a
    series of steps shorter than a day, windows of several buckets depart too, and the span is
    the likeliest interval of raised bad share inside the departing run (to the bucket).

    The series is read to ``PEEK`` after the anchor first, and to ``until`` only when the
    failure may run on past that: a bucket's departure is measured against the baseline
    before the anchor, so what lies further on cannot change a span that ends well inside
    (the same span either way; read to ``until`` every time, each span cost the rest of the
    history: over a hundred seconds of a pass at 10,000 stores)."""
    settings = config.reliability
    step = settings.step
    lookback = max((a.long for a in settings.burn_alerts), default=step)
    earliest = anchor - lookback
    horizon = max(until, anchor)
    peek = anchor + max(1, int(PEEK / step)) * step  # whole buckets: none cut at the end
    if peek < horizon:
        frame = segment_buckets(wh, config, indicator, where, (earliest - BASELINE, peek), cube)
        found, reach = _span_in(frame, indicator, (earliest, anchor), settings)
        widest = max(window_lengths(step), default=1)
        if reach <= _bidx(peek, step) - widest:  # every bucket it rests on is read in full
            return found
    frame = segment_buckets(wh, config, indicator, where, (earliest - BASELINE, horizon), cube)
    return _span_in(frame, indicator, (earliest, anchor), settings)[0]


def _span_in(
    frame: pd.DataFrame,
    indicator: Indicator,
    around: tuple[datetime, datetime],
    settings: Reliability,
) -> tuple[Span | None, int]:
    """:func:`failure_span` on a segment's buckets (from ``earliest - BASELINE``), with the
    last bucket index its answer rests on (the departing buckets up to it decide it)."""
    earliest, anchor = around
    step = settings.step
    first = _bidx(earliest, step)
    hits, z = _departing(frame, indicator, first, step)
    at = _bidx(anchor, step)
    gap = max(1, int(settings.resolve_after / step))  # a run bridges fewer missing buckets
    if not hits:
        return None, at + gap
    before = [b for b in hits if b <= at]
    if not before and hits[0] > at + gap:
        return None, at + gap  # the segment departs, but long after this alert: another failure
    seed = before[-1] if before else hits[0]
    start = seed
    while start - 1 in hits:
        start -= 1
    end = seed
    for b in hits:
        if end < b <= end + gap:
            end = b
    reach = end + gap
    windows = bool(window_lengths(step))
    if windows:
        base = frame[frame.index < first]
        rate = 1.0 - float(base.good.sum()) / max(float(base.total.sum()), 1.0)
        start, end = likeliest_interval(frame, rate, (start, end))
    peak = _peak(frame, indicator, z, (first, (start, end), windows))
    return Span(_time(start, step), _time(end + 1, step), peak), reach


def _bidx(when: datetime, step: timedelta) -> int:
    return int(pd.Timestamp(when).timestamp() // step.total_seconds())


def _time(bidx: int, step: timedelta) -> datetime:
    return pd.Timestamp(bidx * step.total_seconds(), unit="s").to_pydatetime()

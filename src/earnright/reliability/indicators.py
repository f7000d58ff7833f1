"""Reliability indicators (SLIs) per segment, burn-rate alerts, and the reliability report.

An indicator counts the good and the total events of one metric (``measure = "events"``: the
``good`` of ``total`` of every metrics row; ``"threshold"``: every row with a value is one event,
good when the value is at or below — or above — the threshold). ``indicator_series`` has the engine
bucket them by ``[reliability] step`` (buckets aligned to the Unix epoch) for the overall series
and for every value of every declared dimension, in one grouped scan of ``metrics``.
``burn_rate_alerts`` runs the multi-window burn-rate rules on those aggregates in numpy, and
``compute_reliability`` rates every moment, indicator and segment against its objective
(definitions in docs/reliability.md; the result types live in ``reliability.budget``).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.config import CONFIG_FILE, Config, Indicator, Moment, Reliability, format_duration
from earnright.errors import ConfigError, QueryError
from earnright.periods import Period
from earnright.reliability.budget import (
    IndicatorReliability,
    MomentReliability,
    ReliabilityReport,
    SegmentReliability,
    assess_segments,
    summarise_moment,
)
from earnright.units import read_units, unit_ancestors
from earnright.warehouse import Warehouse

__all__ = [
    "ALERT_COLUMNS",
    "OVERALL",
    "SERIES_COLUMNS",
    "IndicatorReliability",
    "MomentReliability",
    "ReliabilityReport",
    "SegmentReliability",
    "burn_rate_alerts",
    "compute_reliability",
    "indicator_events",
    "indicator_series",
]

OVERALL = ""  # the segment name of the overall series
NOT_APPLICABLE = "all"  # a metric dimension value meaning "not split by this dimension"
SERIES_COLUMNS = ["segment", "bucket", "good", "total", "value"]
ALERT_COLUMNS = ["segment", "bucket", "alert", "severity", "burn_long", "burn_short", "events_long"]
_ALERT_DTYPES: dict[str, Any] = {
    "segment": str,
    "bucket": "datetime64[ns]",
    "alert": str,
    "severity": str,
    "burn_long": float,
    "burn_short": float,
    "events_long": float,
}
NO_INDICATORS = (
    f"no reliability indicators are declared in {CONFIG_FILE}: add an "
    "[[journey.stages.moments.indicators]] table (id, metric, measure, target, dimensions) "
    "under a moment; see docs/reliability.md"
)
# A burn rate counts as reaching its factor within this relative tolerance (float rounding).
_RTOL = 1e-9
_EPOCH = np.datetime64(0, "ns")
_ANCESTOR = "__ancestor_id"


# -- the series ----------------------------------------------------------------------------------
def _step_ns(step: timedelta) -> int:
    return int(pd.Timedelta(step).value)


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _dimensions(wh: Warehouse, config: Config, indicator: Indicator) -> list[tuple[str, bool]]:
    """Each declared dimension and whether it is a unit level (else a metrics column)."""
    columns, levels = wh.open_columns("metrics"), config.units.levels
    out = []
    for dim in indicator.dimensions:
        if dim in columns or dim in levels:
            out.append((dim, dim not in columns))
            continue
        raise ConfigError(
            f"{CONFIG_FILE}: indicator '{indicator.id}' has dimension '{dim}', which is neither "
            f"a column of the metrics table (it has {columns or 'none yet'}) nor a unit level "
            f"({levels}); fix its dimensions, or ingest metrics with a '{dim}' column"
        )
    return out


def indicator_events(
    wh: Warehouse, indicator: Indicator, step: timedelta, span: tuple[datetime | None, ...]
) -> ir.Table:
    """The indicator's events per metrics row (an Ibis table): the row plus ``_bidx`` (bucket
    index since the epoch), ``_good``, ``_total`` and ``_vsum`` (value, threshold indicators)."""
    m = wh.table("metrics")
    m = m.filter(m.metric == indicator.metric)
    start, end = span
    if start is not None:
        m = m.filter(m.observed_at >= _naive_utc(start))
    if end is not None:
        m = m.filter(m.observed_at < _naive_utc(end))
    if indicator.measure == "events":
        m = m.filter(m.total.notnull() & m.good.notnull())
        good, total = m.good.cast("float64"), m.total.cast("float64")
        vsum: ir.FloatingValue = ibis.null("float64")
    else:
        m = m.filter(m.value.notnull() & ~m.value.isnan())
        ok = m.value <= indicator.threshold
        if indicator.good_when == "above":
            ok = m.value >= indicator.threshold
        # Typed, not bare literals: PostgreSQL reads 1.0 as numeric (and casts a boolean only
        # to int4); the sums must stay double precision on every backend.
        good = ok.cast("int32").cast("float64")
        total, vsum = ibis.literal(1, "int32").cast("float64"), m.value
    seconds = step.total_seconds()
    bidx = (m.observed_at.epoch_seconds().cast("float64") / seconds).floor().cast("int64")
    return m.mutate(_bidx=bidx, _good=good, _total=total, _vsum=vsum)


def indicator_series(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Good and total events per segment and bucket, from one grouped scan of ``metrics``.

    Columns SERIES_COLUMNS: ``segment`` ("" overall, else "dim=value"), ``bucket`` (start of a
    ``[reliability] step`` bucket, aligned to the Unix epoch), ``good``, ``total`` and ``value``
    (mean metric value for a threshold indicator, bad share 1 − good/total for an events one;
    NaN without events). Rows observed in ``[start, end)``; only buckets with rows appear.
    Metric dimension values "all" (not applicable) are left out; a unit-level dimension maps
    each row's unit to its ancestor at that level. ConfigError for an unknown dimension.
    """
    step = config.reliability.step
    dims = _dimensions(wh, config, indicator)
    events = indicator_events(wh, indicator, step, (start, end))
    cols = {"_bidx": events._bidx, "_good": events._good, "_total": events._total}
    parts = [events.select(segment=ibis.literal(OVERALL), **cols, _vsum=events._vsum)]
    units = None
    for dim, is_level in dims:
        t = events
        if is_level:
            if units is None:
                units = read_units(wh)
            mapping = unit_ancestors(units, config.units.levels, dim)
            t = t.inner_join(
                ibis.memtable(mapping.rename(columns={"ancestor_id": _ANCESTOR})), "unit_id"
            )
            label = t[_ANCESTOR]
        else:
            t = t.filter(t[dim].notnull() & (t[dim] != NOT_APPLICABLE))
            label = t[dim]
        parts.append(
            t.select(
                segment=ibis.literal(f"{dim}=") + label,
                _bidx=t._bidx,
                _good=t._good,
                _total=t._total,
                _vsum=t._vsum,
            )
        )
    rows = ibis.union(*parts, distinct=False)
    agg = rows.group_by(["segment", "_bidx"]).aggregate(
        good=rows._good.sum(), total=rows._total.sum(), vsum=rows._vsum.sum()
    )
    return _series_frame(agg.to_pyarrow().to_pandas(), indicator, step)


def _series_frame(frame: pd.DataFrame, indicator: Indicator, step: timedelta) -> pd.DataFrame:
    index = frame["_bidx"].to_numpy(dtype=np.int64)
    good = frame["good"].to_numpy(dtype=float)
    total = frame["total"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if indicator.measure == "events":
            value = np.where(total > 0, 1.0 - good / total, np.nan)
        else:
            value = np.where(total > 0, frame["vsum"].to_numpy(dtype=float) / total, np.nan)
    out = pd.DataFrame(
        {
            "segment": frame["segment"].astype(str),
            "bucket": _EPOCH + index * np.timedelta64(_step_ns(step), "ns"),
            "good": good,
            "total": total,
            "value": value,
        },
        columns=SERIES_COLUMNS,
    )
    out["bucket"] = out["bucket"].astype("datetime64[ns]")
    return out.sort_values(["segment", "bucket"], ignore_index=True)


# -- burn-rate alerts ----------------------------------------------------------------------------
def _window_sums(
    segments: np.ndarray, buckets: np.ndarray, values: tuple[np.ndarray, ...], window: timedelta
) -> list[np.ndarray]:
    """Per row, the sums of ``values`` over its segment's buckets starting in (b − window, b].

    Rows are sorted by segment, then bucket (int64 nanoseconds).
    """
    n = len(buckets)
    lo = np.empty(n, dtype=np.int64)
    width = _step_ns(window)
    edges = np.flatnonzero(np.r_[True, segments[1:] != segments[:-1], True])
    for s0, s1 in itertools.pairwise(edges):  # one pass per segment, not per row
        block = buckets[s0:s1]
        lo[s0:s1] = s0 + np.searchsorted(block, block - width, side="right")
    hi = np.arange(1, n + 1)
    sums = []
    for v in values:
        cum = np.r_[0.0, np.cumsum(v)]
        sums.append(cum[hi] - cum[lo])
    return sums


def burn_rate_alerts(
    series: pd.DataFrame, indicator: Indicator, settings: Reliability
) -> pd.DataFrame:
    """Every firing of every multi-window burn-rate alert, per segment, from a series.

    At each bucket ``b`` present, over a window W the burn rate is (bad ÷ total events in the
    segment's buckets starting in (b − W, b]) ÷ the error budget; a window shorter than the step
    holds the current bucket. An alert fires at ``b`` when the burn over its long and its short
    window both reach its factor and the long window holds at least ``min_events`` events.
    Columns ALERT_COLUMNS, one row per firing, sorted by bucket and segment.
    """
    frame = series.sort_values(["segment", "bucket"], kind="stable", ignore_index=True)
    if frame.empty or not settings.burn_alerts:
        return pd.DataFrame(
            {c: pd.Series(dtype=t) for c, t in _ALERT_DTYPES.items()}, columns=ALERT_COLUMNS
        )
    segments = frame["segment"].to_numpy(dtype=object)
    buckets = frame["bucket"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    total = frame["total"].to_numpy(dtype=float)
    bad = total - frame["good"].to_numpy(dtype=float)
    budget = indicator.error_budget
    parts = []
    for alert in settings.burn_alerts:
        bad_l, total_l = _window_sums(segments, buckets, (bad, total), alert.long)
        bad_s, total_s = _window_sums(segments, buckets, (bad, total), alert.short)
        with np.errstate(invalid="ignore", divide="ignore"):
            burn_l = np.where(total_l > 0, bad_l / total_l / budget, np.nan)
            burn_s = np.where(total_s > 0, bad_s / total_s / budget, np.nan)
        reach = alert.factor * (1.0 - _RTOL)
        fires = (burn_l >= reach) & (burn_s >= reach) & (total_l >= settings.min_events)
        parts.append(
            pd.DataFrame(
                {
                    "segment": segments[fires],
                    "bucket": frame["bucket"].to_numpy()[fires],
                    "alert": alert.name,
                    "severity": alert.severity,
                    "burn_long": burn_l[fires],
                    "burn_short": burn_s[fires],
                    "events_long": total_l[fires],
                },
                columns=ALERT_COLUMNS,
            )
        )
    out = pd.concat(parts, ignore_index=True).astype(_ALERT_DTYPES)
    return out.sort_values(["bucket", "segment"], kind="stable", ignore_index=True)


# -- the report ----------------------------------------------------------------------------------
def _latest_observation(wh: Warehouse) -> datetime:
    latest = wh.table("metrics").observed_at.max().to_pyarrow().as_py()
    if latest is None:
        raise QueryError(
            "the metrics table is empty: ingest metrics first (`earnright ingest metrics FILE`)"
        )
    return pd.Timestamp(latest).to_pydatetime()


def _default_end(wh: Warehouse, step: timedelta) -> datetime:
    """The end of the bucket holding the latest metrics observation (for metrics observed at
    bucket starts, as daily metrics at midnight are: the latest observed_at plus one step)."""
    latest = pd.Timestamp(_latest_observation(wh))
    start = (latest.value // _step_ns(step)) * _step_ns(step)
    return pd.Timestamp(start + _step_ns(step)).to_pydatetime()


def _last_bucket(end: datetime, step: timedelta) -> pd.Timestamp:
    """Start of the bucket holding the last instant before ``end``."""
    end_ns = pd.Timestamp(end).value - 1
    return pd.Timestamp((end_ns // _step_ns(step)) * _step_ns(step))


def _firing(
    wh: Warehouse, config: Config, indicator: Indicator, end: datetime
) -> tuple[dict[str, float], dict[str, list[tuple[str, str]]]]:
    """Per segment: the burn rate over the first alert's long window (only with at least
    ``min_events`` events in it), and the alerts firing, both at the last bucket before ``end``."""
    settings = config.reliability
    last = _last_bucket(end, settings.step)
    if not settings.burn_alerts:
        return {}, {}
    lookback = max(a.long for a in settings.burn_alerts)
    series = indicator_series(wh, config, indicator, start=last - lookback, end=end)
    alerts = burn_rate_alerts(series, indicator, settings)
    firing: dict[str, list[tuple[str, str]]] = {}
    for row in alerts[alerts["bucket"] == last].itertuples(index=False):
        firing.setdefault(str(row.segment), []).append((str(row.alert), str(row.severity)))
    first = settings.burn_alerts[0].long
    recent = series[(series["bucket"] > last - first) & (series["bucket"] <= last)]
    sums = (
        recent.assign(bad=recent["total"] - recent["good"])
        .groupby("segment")[["bad", "total"]]
        .sum()
    )
    # Like the alerts, a burn rate needs min_events events in the window: 1 bad of 2 is no rate.
    enough = sums["total"] >= max(settings.min_events, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        burn = np.where(enough, sums["bad"] / sums["total"] / indicator.error_budget, np.nan)
    return dict(zip(sums.index.astype(str), burn.astype(float), strict=True)), firing


def _assess_indicator(
    wh: Warehouse, config: Config, pair: tuple[Moment, Indicator], window: tuple[datetime, datetime]
) -> IndicatorReliability:
    moment, indicator = pair
    start, end = window
    series = indicator_series(wh, config, indicator, start=start, end=end)
    totals = series.groupby("segment", as_index=False)[["good", "total"]].sum()
    burn, firing = _firing(wh, config, indicator, end)
    overall, segments = assess_segments(totals, burn, firing, indicator, config.reliability)
    return IndicatorReliability(
        indicator=indicator.id,
        name=indicator.name,
        metric=indicator.metric,
        measure=indicator.measure,
        owner=config.owner_of(moment, indicator),
        target=indicator.target,
        error_budget=indicator.error_budget,
        window_start=start,
        window_end=end,
        overall=overall,
        segments=segments,
    )


def compute_reliability(
    wh: Warehouse,
    config: Config,
    *,
    at: datetime | None = None,
    period: Period | tuple[datetime, datetime] | None = None,
    indicator: str | None = None,
) -> ReliabilityReport:
    """Every moment's indicators rated, overall and per segment, against their objectives.

    The window is ``period`` (a :class:`~earnright.periods.Period`, or ``(start, end)``)
    ``[start, end)`` when given, else each indicator's rolling
    ``window`` ending at ``at`` (default: the end of the bucket holding the latest metrics
    observation, so the latest bucket counts whole).
    ``indicator`` limits the report to one indicator id. ConfigError when none is declared.
    """
    pairs = config.journey.indicators()
    if not pairs:
        raise ConfigError(NO_INDICATORS)
    if indicator is not None:
        pairs = [config.indicator(indicator)]
    settings = config.reliability
    if isinstance(period, Period):
        period = period.window
    if period is not None:
        start, end = _naive_utc(period[0]), _naive_utc(period[1])
        if start >= end:
            raise QueryError(
                f"the period {start} to {end} is empty: its start is not before its end"
            )
    else:
        end = _naive_utc(at) if at is not None else _default_end(wh, settings.step)
    by_moment: dict[str, list[IndicatorReliability]] = {}
    moments = {m.id: m for m, _ in pairs}
    for moment, ind in pairs:
        window = (start if period is not None else end - ind.window, end)
        by_moment.setdefault(moment.id, []).append(
            _assess_indicator(wh, config, (moment, ind), window)
        )
    alerts = settings.burn_alerts
    return ReliabilityReport(
        at=end,
        burn_window=format_duration(alerts[0].long) if alerts else "",
        period_start=start if period is not None else None,
        period_end=end if period is not None else None,
        step=format_duration(settings.step),
        min_events=settings.min_events,
        moments=[summarise_moment(moments[m], inds) for m, inds in by_moment.items()],
    )

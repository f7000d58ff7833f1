"""Detection: turn each indicator's segment series into alerts, point by point.

Two detectors watch every series of an indicator (the overall series and one per segment value,
from :func:`earnright.reliability.indicators.indicator_series`):

- **Burn-rate alerts** on the objective: multi-window, fast and slow, the SRE way
  (:func:`earnright.reliability.indicators.burn_rate_alerts`). Stateless: each run looks back the
  longest alert window.
- **Anomaly detection** with :class:`earnright.reliability.anomaly.AnomalyDetector`, one per
  series, streaming one bucket at a time; its state is kept in the ``detector_state`` table
  between runs, so a series is never re-read from its start. A score at or above
  ``[reliability] anomaly_threshold`` raises an alert when the bucket moved the bad way (an
  improvement is no warning). Hundreds of series are watched, so the threshold is calibrated on
  the series' false alarms (docs/reliability.md), and an alert only becomes an incident when
  localisation finds a segment departing from its own normal level
  (:mod:`earnright.reliability.incidents`).

Alerts carry the bucket and the time the bucket was complete (``fired_at``); grouping them into
incidents is :mod:`earnright.reliability.incidents`' job.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from earnright.config import Config, Indicator
from earnright.reliability.anomaly import AnomalyDetector, DetectorParams
from earnright.reliability.indicators import (
    OVERALL,
    burn_rate_alerts,
    indicator_events,
    indicator_series,
)
from earnright.warehouse import Warehouse

__all__ = ["Alert", "detector_params", "scan_indicator"]

SEVERITY_RANK = {"ticket": 1, "page": 2}
# The score scale (surprise in decades at score 0.5) that ``[reliability] anomaly_threshold``
# and its false-alarm calibration (docs/reliability.md) were measured with; the stand-alone
# detector's default moved to 2.2 with its NAB calibration, early warning keeps its own.
WATCH_SCALE = 2.6


@dataclass(frozen=True)
class Alert:
    """One detector firing on one series at one bucket."""

    indicator: str
    segment: str  # "" overall, else "dim=value"
    rule: str  # burn:<alert name> | anomaly
    severity: str  # page | ticket
    bucket: datetime
    fired_at: datetime  # when the bucket was complete
    score: float  # the long window's burn rate, or the anomaly score

    @property
    def alert_id(self) -> str:
        return f"{self.indicator}|{self.segment}|{self.rule}|{self.bucket.isoformat()}"


def detector_params(step: timedelta, threshold: float) -> DetectorParams:
    """The anomaly detector's settings for a series of this step: a year of long memory (at
    most 5,000 points, the NAB-scored default), so the state stays small for daily series; the
    alert threshold of ``[reliability]``; no rest after an alert: NAB rewards one alert per
    event, but an incident must hear that its failure goes on, or it resolves while the
    failure lasts; and no calibration against the series' own past surprises: a lasting
    failure would raise its own bar, and ``anomaly_threshold`` was calibrated without it (and
    with the score scale ``WATCH_SCALE``)."""
    per_year = int(timedelta(days=365) / step)
    return DetectorParams(
        long_window=max(DetectorParams.short_window, min(5000, per_year)),
        threshold=threshold,
        rest_points=0,
        calibration_weight=0.0,
        scale=WATCH_SCALE,
    )


@dataclass
class _SeriesState:
    last_bucket: datetime | None
    detector: AnomalyDetector
    batch: int | None = None  # the newest metrics batch when the series was last scanned


def _series_key(indicator: Indicator, segment: str) -> str:
    return f"{indicator.id}|{segment}"


def _load_states(
    wh: Warehouse, indicator: Indicator, params: DetectorParams
) -> dict[str, _SeriesState]:
    t = wh.table("detector_state")
    rows = t.filter(t.series_key.startswith(f"{indicator.id}|")).execute()
    states = {}
    for key, last, state in zip(rows.series_key, rows.last_bucket, rows.state, strict=True):
        data = json.loads(state)
        detector = AnomalyDetector.from_dict(data)
        if detector.params != params:  # settings changed: learn afresh
            detector = AnomalyDetector(params)
        last_bucket = pd.Timestamp(last).to_pydatetime()
        states[key.partition("|")[2]] = _SeriesState(last_bucket, detector, data.get("batch"))
    return states


def _save_states(wh: Warehouse, indicator: Indicator, states: dict[str, _SeriesState]) -> None:
    """Replace the indicator's stored states (call inside the run's transaction)."""
    t = wh.table("detector_state")
    keys = t.filter(t.series_key.startswith(f"{indicator.id}|")).series_key.execute()
    if len(keys):
        wh.delete("detector_state", {"series_key": list(keys)})
    now = datetime.now(UTC).replace(tzinfo=None)
    kept = {seg: s for seg, s in states.items() if s.last_bucket is not None}
    if kept:
        wh.insert(
            "detector_state",
            {
                "series_key": [_series_key(indicator, seg) for seg in kept],
                "last_bucket": [s.last_bucket for s in kept.values()],
                "state": [
                    json.dumps(s.detector.to_dict() | {"batch": s.batch}) for s in kept.values()
                ],
                "updated_at": [now] * len(kept),
            },
        )


def _worse(indicator: Indicator, value: float, median: float) -> bool:
    """Did the series move the bad way? Threshold indicators good above a threshold get worse
    downwards; everything else (values good below, bad shares of events) upwards."""
    if indicator.measure == "threshold" and indicator.good_when == "above":
        return value < median
    return value > median


def _anomaly_alerts(
    indicator: Indicator,
    series: pd.DataFrame,
    states: dict[str, _SeriesState],
    config: Config,
) -> list[Alert]:
    """Stream the new buckets of every segment through its detector; alerts that pass the gate."""
    step = config.reliability.step
    threshold = config.reliability.anomaly_threshold
    alerts = []
    for segment, frame in series.groupby("segment", sort=True):
        state = states.setdefault(
            str(segment), _SeriesState(None, AnomalyDetector(detector_params(step, threshold)))
        )
        if state.last_bucket is not None:
            frame = frame[frame.bucket > state.last_bucket]
        if frame.empty:
            continue
        detector = state.detector
        frame = frame.sort_values("bucket")
        buckets = list(frame.bucket.dt.to_pydatetime())
        values = frame["value"].to_numpy(float)
        for bucket, value in zip(buckets, values, strict=True):
            score = detector.update(bucket, value)
            if score < threshold or not math.isfinite(value):
                continue
            median = detector.signals["level"].short.quantile(0.5)
            if _worse(indicator, value, median):
                alerts.append(
                    Alert(
                        indicator.id,
                        str(segment),
                        "anomaly",
                        "ticket",
                        bucket,
                        bucket + step,
                        round(float(score), 6),
                    )
                )
        state.last_bucket = buckets[-1]
    return alerts


def _burn_alerts(
    indicator: Indicator, series: pd.DataFrame, config: Config, after: datetime | None
) -> list[Alert]:
    firing = burn_rate_alerts(series, indicator, config.reliability)
    if after is not None:
        firing = firing[firing.bucket > after]
    step = config.reliability.step
    return [
        Alert(
            indicator.id,
            str(seg),
            f"burn:{name}",
            str(sev),
            b.to_pydatetime(),
            b.to_pydatetime() + step,
            round(float(burn), 6),
        )
        for seg, b, name, sev, burn in zip(
            firing.segment,
            firing.bucket,
            firing.alert,
            firing.severity,
            firing.burn_long,
            strict=True,
        )
    ]


def _newest_batch(wh: Warehouse, indicator: Indicator) -> int | None:
    m = wh.table("metrics")
    newest = m.filter(m.metric == indicator.metric).batch_id.max().execute()
    return None if newest is None or pd.isna(newest) else int(newest)


def _late_rows(
    wh: Warehouse, indicator: Indicator, state: _SeriesState | None, step: timedelta
) -> int:
    """Rows of batches newer than the last scan observed in a bucket that scan had scored."""
    if state is None or state.batch is None or state.last_bucket is None:
        return 0  # a first scan (or a state stored before batches were kept) reads everything
    rows = indicator_events(wh, indicator, step, (None, state.last_bucket + step))
    return int(rows.filter(rows.batch_id > state.batch).count().execute())


def scan_indicator(
    wh: Warehouse, config: Config, indicator: Indicator, late: dict[str, int] | None = None
) -> tuple[list[Alert], datetime | None]:
    """Alerts on every series of the indicator since its last scan, and the newest bucket seen.

    Updates the stored detector states (inside the caller's transaction, so alerts and states
    commit together). A first scan streams the whole history. Metrics rows that arrived since
    the last scan for a bucket it had already scored (late rows) are counted into
    ``late[indicator.id]``: they are in the reliability figures and later burn-rate windows,
    but the anomaly detector scored their buckets without them.
    """
    step = config.reliability.step
    settings = config.reliability
    states = _load_states(wh, indicator, detector_params(step, settings.anomaly_threshold))
    batch = _newest_batch(wh, indicator)
    count = _late_rows(wh, indicator, states.get(OVERALL), step)
    if late is not None and count:
        late[indicator.id] = late.get(indicator.id, 0) + count
    known = [s.last_bucket for s in states.values() if s.last_bucket is not None]
    done = min(known) if known else None
    lookback = max((a.long for a in config.reliability.burn_alerts), default=step)
    start = None if done is None else done - lookback
    series = indicator_series(wh, config, indicator, start=start)
    if series.empty:
        return [], done
    alerts = _burn_alerts(indicator, series, config, done) + _anomaly_alerts(
        indicator, series, states, config
    )
    for state in states.values():
        state.batch = batch
    _save_states(wh, indicator, states)
    newest = pd.Timestamp(series.bucket.max()).to_pydatetime()
    alerts.sort(key=lambda a: (a.bucket, a.segment, a.rule))
    return alerts, newest

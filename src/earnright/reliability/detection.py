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

import base64
import json
import math
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from earnright.config import Config, Indicator
from earnright.reliability.anomaly import AnomalyDetector, DetectorParams
from earnright.reliability.anomaly_batch import score_block, supports
from earnright.reliability.indicators import (
    OVERALL,
    burn_rate_alerts,
    indicator_events,
    indicator_series,
)
from earnright.warehouse import Warehouse

__all__ = [
    "Alert",
    "anomaly_alerts",
    "detector_params",
    "pack_state",
    "scan_indicator",
    "unpack_state",
]

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
    detector: dict[str, Any] | None  # AnomalyDetector.to_dict(); None: a new detector
    batch: int | None = None  # the newest metrics batch when the series was last scanned


def _series_key(indicator: Indicator, segment: str) -> str:
    return f"{indicator.id}|{segment}"


def _load_states(
    wh: Warehouse, indicator: Indicator, params: DetectorParams
) -> dict[str, _SeriesState]:
    t = wh.table("detector_state")
    rows = t.filter(t.series_key.startswith(f"{indicator.id}|")).execute()
    known = {f.name for f in fields(DetectorParams)}
    states = {}
    for key, last, state in zip(rows.series_key, rows.last_bucket, rows.state, strict=True):
        data = unpack_state(json.loads(state))
        batch = data.pop("batch", None)
        stored = DetectorParams(**{k: v for k, v in data["params"].items() if k in known})
        detector = data if stored == params else None  # settings changed: learn afresh
        last_bucket = pd.Timestamp(last).to_pydatetime()
        states[key.partition("|")[2]] = _SeriesState(last_bucket, detector, batch)
    return states


def _state_json(state: _SeriesState, params: DetectorParams) -> str:
    detector = state.detector or AnomalyDetector(params).to_dict()
    return json.dumps(pack_state(detector) | {"batch": state.batch})


def pack_state(detector: dict[str, Any]) -> dict[str, Any]:
    """The detector's state with its windows of floats (a year of points per signal) written
    as little-endian float64 bytes in base64 (``{"f64": ...}``), not as JSON numbers: writing
    thousands of series' windows as decimal text was 6% of detection at 1,000 stores. Exact:
    the bytes are the floats."""
    signals = {
        name: {side: _pack(values) for side, values in windows.items()}
        for name, windows in detector["signals"].items()
    }
    return detector | {"signals": signals, "surprises": _pack(detector["surprises"])}


def unpack_state(data: dict[str, Any]) -> dict[str, Any]:
    """:func:`pack_state` undone (a state stored with plain lists is read as it is)."""
    signals = {
        name: {side: _unpack(values) for side, values in windows.items()}
        for name, windows in data["signals"].items()
    }
    return data | {"signals": signals, "surprises": _unpack(data.get("surprises", []))}


def _pack(values: list[float]) -> dict[str, str]:
    raw = np.asarray(values, dtype="<f8").tobytes()
    return {"f64": base64.b64encode(raw).decode("ascii")}


def _unpack(values: list[float] | dict[str, str]) -> list[float]:
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["f64"]), dtype="<f8").tolist()
    return values


def _save_states(
    wh: Warehouse, indicator: Indicator, states: dict[str, _SeriesState], params: DetectorParams
) -> None:
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
                "state": [_state_json(s, params) for s in kept.values()],
                "updated_at": [now] * len(kept),
            },
        )


def _worse(indicator: Indicator, value: float, median: float) -> bool:
    """Did the series move the bad way? Threshold indicators good above a threshold get worse
    downwards; everything else (values good below, bad shares of events) upwards."""
    if indicator.measure == "threshold" and indicator.good_when == "above":
        return value < median
    return value > median


def anomaly_alerts(
    indicator: Indicator,
    series: pd.DataFrame,
    states: dict[str, _SeriesState],
    config: Config,
) -> list[Alert]:
    """Stream the new buckets of every segment through its detector; alerts that pass the gate.

    All segments are scored together, a block of them at a time
    (:func:`earnright.reliability.anomaly_batch.score_block`, the same results as one
    :class:`AnomalyDetector` per segment, which remains the path for detectors it does not
    cover)."""
    step = config.reliability.step
    params = detector_params(step, config.reliability.anomaly_threshold)
    matrix = _SeriesMatrix.build(series, states)
    if matrix is None:
        return []
    alerts = []
    for start in range(0, len(matrix.segments), BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        segments = matrix.segments[rows]
        for segment in segments:
            states.setdefault(segment, _SeriesState(None, None))
        stored = [states[segment].detector for segment in segments]
        values = matrix.values[rows]
        if supports(params, stored):
            result = score_block(params, matrix.stamps, values, stored)
            hits = zip(result.rows, result.cols, result.scores, result.medians, strict=True)
            found = [(int(r), int(c), float(sc), float(m)) for r, c, sc, m in hits]
            detectors = result.states
        else:
            found, detectors = _stream_each(params, matrix.stamps, values, stored)
        for row, col, score, median in found:
            value = float(values[row, col])
            if math.isfinite(value) and _worse(indicator, value, median):
                bucket = matrix.stamps[col]
                alerts.append(
                    Alert(
                        indicator.id,
                        segments[row],
                        "anomaly",
                        "ticket",
                        bucket,
                        bucket + step,
                        round(score, 6),
                    )
                )
        for row, segment in enumerate(segments):
            states[segment].detector = detectors[row]
            states[segment].last_bucket = matrix.last[start + row]
    return alerts


BLOCK_ROWS = 4096  # series scored together: bounds the block's arrays (a few hundred MB)


@dataclass
class _SeriesMatrix:
    """The segments with new buckets (sorted), the new buckets, values (NaN where a segment has
    no row), and each segment's newest bucket with a row (its new ``last_bucket``)."""

    segments: list[str]
    stamps: list[datetime]
    values: np.ndarray
    last: list[datetime]

    @classmethod
    def build(cls, series: pd.DataFrame, states: dict[str, _SeriesState]) -> _SeriesMatrix | None:
        segment = series["segment"].astype(str)
        done = {seg: s.last_bucket for seg, s in states.items() if s.last_bucket is not None}
        seen = pd.to_datetime(segment.map(done))
        new = series[seen.isna().to_numpy() | (series.bucket > seen).to_numpy()]
        if new.empty:
            return None
        codes, segments = pd.factorize(new["segment"].astype(str), sort=True)
        cols, stamps = pd.factorize(new["bucket"], sort=True)
        values = np.full((len(segments), len(stamps)), np.nan)
        values[codes, cols] = new["value"].to_numpy(float)
        newest = np.full(len(segments), -1)
        np.maximum.at(newest, codes, cols)
        times = list(pd.DatetimeIndex(stamps).to_pydatetime())
        return cls(list(segments), times, values, [times[c] for c in newest])


def _stream_each(
    params: DetectorParams,
    stamps: list[datetime],
    values: np.ndarray,
    stored: list[dict[str, Any] | None],
) -> tuple[list[tuple[int, int, float, float]], list[dict[str, Any]]]:
    """The reference path: one detector per series, point by point (NaN: no point)."""
    found, detectors = [], []
    for row, state in enumerate(stored):
        detector = AnomalyDetector.from_dict(state) if state else AnomalyDetector(params)
        for col in np.flatnonzero(~np.isnan(values[row])).tolist():
            score = detector.update(stamps[col], float(values[row, col]))
            if score >= params.threshold:
                median = detector.signals["level"].short.quantile(0.5)
                found.append((row, col, score, median))
        detectors.append(detector.to_dict())
    return found, detectors


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
    params = detector_params(step, settings.anomaly_threshold)
    states = _load_states(wh, indicator, params)
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
    if wh.backend == "spark":  # the per-series pass per partition (reliability/partitioned.py)
        from earnright.reliability.partitioned import partitioned_anomaly_alerts

        anomalies = partitioned_anomaly_alerts(wh, indicator, series, states, config)
    else:
        anomalies = anomaly_alerts(indicator, series, states, config)
    alerts = _burn_alerts(indicator, series, config, done) + anomalies
    for state in states.values():
        state.batch = batch
    _save_states(wh, indicator, states, params)
    newest = pd.Timestamp(series.bucket.max()).to_pydatetime()
    alerts.sort(key=lambda a: (a.bucket, a.segment, a.rule))
    return alerts, newest

"""The streaming detector per partition: on Spark, each series' anomaly pass runs on the
executors, one group per indicator and segment, instead of every series on the driver.

:func:`earnright.reliability.detection.anomaly_alerts` streams the new buckets of every series
of an indicator through that series' detector, whose state (a year of points per signal) is kept
in ``detector_state`` between runs. The series are independent, so on Spark the same function
runs per group with ``applyInPandas``: the engine's aggregated series (segment, bucket, value)
and the stored states are co-grouped by indicator and segment, each group calls
:func:`~earnright.reliability.detection.anomaly_alerts` on its one series and its one state
(the detector's own code, not a copy), and returns its alerts and its new state. The driver
receives only those (alerts and states, the outcome of the pass), never the per-series work.

The results are those of the driver path (the same alerts, ids and scores, the same states):
:func:`~earnright.reliability.detection.anomaly_alerts` scores each series on its own whatever
the others are (tests/reliability/test_partitioned.py compares the two on the demo company).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from earnright.config import Config, Indicator
from earnright.reliability.detection import (
    Alert,
    _SeriesState,
    anomaly_alerts,
    pack_state,
    unpack_state,
)
from earnright.warehouse import Warehouse

__all__ = ["partitioned_anomaly_alerts"]

_SERIES = "indicator STRING, segment STRING, bucket_ns BIGINT, value DOUBLE"
_STATES = "indicator STRING, segment STRING, last_ns BIGINT, detector STRING"
_OUT = (
    "kind STRING, segment STRING, rule STRING, severity STRING, bucket_ns BIGINT, "
    "fired_ns BIGINT, score DOUBLE, last_ns BIGINT, detector STRING"
)
_COLUMNS = [c.split()[0] for c in _OUT.split(", ")]
_NONE = -(2**63)  # no time (never null: a null BIGINT would reach pandas as an inexact float)


def _ns(times: Any) -> np.ndarray:
    """Naive datetimes as int64 nanoseconds since the epoch (no time zone crosses to Spark)."""
    return pd.DatetimeIndex(pd.to_datetime(times)).as_unit("ns").asi8


def _stamp(time: Any) -> int:
    """One naive datetime as nanoseconds (None: :data:`_NONE`)."""
    return _NONE if time is None else int(_ns([time])[0])


def _time(ns: int) -> Any:
    return pd.Timestamp(int(ns)).to_pydatetime()


def _group_pass(
    indicator: Indicator, config: Config
) -> Any:  # the function each (indicator, segment) group runs
    def run(key: tuple[Any, ...], series: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
        segment = str(key[1])
        states: dict[str, _SeriesState] = {}
        if len(stored):
            row = stored.iloc[0]
            last = None if row.last_ns == _NONE else _time(row.last_ns)
            detector = unpack_state(json.loads(row.detector)) if row.detector else None
            states[segment] = _SeriesState(last, detector)
        if series.empty:
            return pd.DataFrame(columns=_COLUMNS)
        frame = pd.DataFrame(
            {
                "segment": segment,
                "bucket": pd.to_datetime(series.bucket_ns.to_numpy(np.int64)),
                "value": series.value.to_numpy(float),
            }
        )
        alerts = anomaly_alerts(indicator, frame, states, config)
        rows: list[dict[str, Any]] = [
            {"kind": "alert", "segment": a.segment, "rule": a.rule, "severity": a.severity,
             "bucket_ns": _stamp(a.bucket), "fired_ns": _stamp(a.fired_at),
             "score": a.score, "last_ns": _NONE, "detector": ""}
            for a in alerts
        ]  # fmt: skip
        state = states.get(segment)
        if state is not None and state.detector is not None:
            rows.append(
                {"kind": "state", "segment": segment, "rule": "", "severity": "",
                 "bucket_ns": _NONE, "fired_ns": _NONE, "score": 0.0,
                 "last_ns": _stamp(state.last_bucket),
                 "detector": json.dumps(pack_state(state.detector))}
            )  # fmt: skip
        return pd.DataFrame(rows, columns=_COLUMNS)

    return run


def partitioned_anomaly_alerts(
    wh: Warehouse,
    indicator: Indicator,
    series: pd.DataFrame,
    states: dict[str, _SeriesState],
    config: Config,
) -> list[Alert]:
    """:func:`~earnright.reliability.detection.anomaly_alerts` run per (indicator, segment)
    group on the Spark warehouse's executors (``applyInPandas``): the same alerts, and
    ``states`` updated the same way."""
    session = wh.dialect.session  # type: ignore[attr-defined]  # the Spark dialect's
    done = {s: st.last_bucket for s, st in states.items() if st.last_bucket is not None}
    segment = series["segment"].astype(str)
    seen = pd.to_datetime(segment.map(done))
    new = series[seen.isna().to_numpy() | (series.bucket > seen).to_numpy()]
    if new.empty:
        return []
    points = pd.DataFrame(
        {
            "indicator": indicator.id,
            "segment": new["segment"].astype(str).to_numpy(),
            "bucket_ns": _ns(new["bucket"]),
            "value": new["value"].to_numpy(float),
        }
    )
    wanted = set(points.segment)
    kept = {s: st for s, st in states.items() if s in wanted}
    stored = pd.DataFrame(
        {
            "indicator": indicator.id,
            "segment": list(kept),
            "last_ns": np.array([_stamp(st.last_bucket) for st in kept.values()], np.int64),
            "detector": [
                json.dumps(pack_state(st.detector)) if st.detector else "" for st in kept.values()
            ],
        },
        columns=["indicator", "segment", "last_ns", "detector"],
    )
    left = session.createDataFrame(points, _SERIES).groupBy("indicator", "segment")
    right = session.createDataFrame(stored, _STATES).groupBy("indicator", "segment")
    out = left.cogroup(right).applyInPandas(_group_pass(indicator, config), _OUT).toPandas()
    alerts = []
    for row in out.itertuples(index=False):
        if row.kind == "alert":
            alerts.append(
                Alert(indicator.id, str(row.segment), str(row.rule), str(row.severity),
                      _time(row.bucket_ns), _time(row.fired_ns), float(row.score))
            )  # fmt: skip
        else:
            state = states.setdefault(str(row.segment), _SeriesState(None, None))
            state.last_bucket = _time(row.last_ns)
            state.detector = unpack_state(json.loads(row.detector))
    alerts.sort(key=lambda a: (a.segment, a.bucket))
    return alerts

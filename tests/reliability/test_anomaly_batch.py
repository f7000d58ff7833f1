"""The block detector (``anomaly_batch.score_block``) equals one ``AnomalyDetector`` per series:
the same alerts with the same scores and medians, and the same stored states, bit for bit, on
random series of different shapes scored side by side, from new and from stored states."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from earnright.config import Config
from earnright.reliability import detection
from earnright.reliability.anomaly import AnomalyDetector, DetectorParams
from earnright.reliability.anomaly_batch import score_block, supports
from earnright.reliability.detection import detector_params

Found = list[tuple[int, int, float, float]]


def _reference(
    params: DetectorParams,
    stamps: list[datetime],
    values: np.ndarray,
    states: list[dict[str, Any] | None],
) -> tuple[Found, list[dict[str, Any]]]:
    """One detector per series, point by point: alerts (row, column, score, median) at the
    points with a value, and the states."""
    found, out = [], []
    for row, state in enumerate(states):
        detector = AnomalyDetector.from_dict(state) if state else AnomalyDetector(params)
        for col, stamp in enumerate(stamps):
            value = values[row, col]
            if math.isnan(value):  # no point: nothing scored, nothing learnt
                assert detector.update(stamp, None) == 0.0
                continue
            score = detector.update(stamp, float(value))
            if score >= params.threshold:
                found.append((row, col, score, detector.signals["level"].short.quantile(0.5)))
        out.append(detector.to_dict())
    return found, out


def _batch(
    params: DetectorParams,
    stamps: list[datetime],
    values: np.ndarray,
    states: list[dict[str, Any] | None],
) -> tuple[Found, list[dict[str, Any]]]:
    assert supports(params, states)
    r = score_block(params, stamps, values, states)
    columns = (r.rows, r.cols, r.scores, r.medians)
    found = zip(*(c.tolist() for c in columns), strict=True)
    return sorted(found), r.states


def _company(seed: int, rows: int, points: int) -> np.ndarray:
    """Series unlike each other: levels, noise, weekly swings, holes, ties, spikes, flat."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(0, 50, rows)[:, None] * rng.choice([1e-3, 1, 100], rows)[:, None]
    noise = rng.gamma(2, 0.3, (rows, points)) * rng.uniform(0.05, 2, rows)[:, None] * level / 10
    week = np.sin(np.arange(points) * 2 * np.pi / 7)[None, :] * rng.uniform(0, 2, rows)[:, None]
    values = level + noise + week * level / 10
    values[rng.random((rows, points)) < rng.uniform(0, 0.3, rows)[:, None]] = np.nan
    values[: rows // 5] = np.round(values[: rows // 5])  # ties
    for row in range(rows):
        cols = rng.integers(0, points, 4)
        values[row, cols] += rng.uniform(2, 30, 4) * level[row, 0] / 10
        start = int(rng.integers(0, points))  # a series that starts late or ends early
        values[row, :start] = np.nan if row % 3 == 0 else values[row, :start]
    values[-1] = 1.0  # nothing ever changes
    values[-2, : points // 2] = np.nan
    return values


@pytest.mark.parametrize(
    ("seed", "step", "threshold"), [(1, "1D", 0.6), (2, "1D", 0.3), (3, "1h", 0.6), (4, "1D", 0.0)]
)
def test_a_block_scores_every_series_as_its_own_detector_would(
    seed: int, step: str, threshold: float
) -> None:
    """Two runs (a first scan, then one resumed from the stored states): alerts, scores,
    medians and states equal the per-series detectors', with low thresholds (every score
    exact) and hourly series (daily seasons) too."""
    rows, points = 40, 420
    params = detector_params(pd.Timedelta(step).to_pytimedelta(), threshold)
    stamps = list(pd.date_range("2025-01-06", periods=points, freq=step).to_pydatetime())
    values = _company(seed, rows, points)
    cut = points * 2 // 3
    states: list[dict[str, Any] | None] = [None] * rows
    for part in (slice(0, cut), slice(cut, points)):
        want, want_states = _reference(params, stamps[part], values[:, part], states)
        got, got_states = _batch(params, stamps[part], values[:, part], states)
        assert got == sorted(want)
        assert [json.dumps(s) for s in got_states] == [json.dumps(s) for s in want_states]
        states = list(want_states)
    assert threshold > 0.5 or len(want) > 50  # the check is not vacuous


def test_no_series_state_leaks_into_another() -> None:
    """A series scored beside others, in any order, gets what it gets alone: swap two rows and
    each keeps its own alerts and state; copy one series' spike into another row and only that
    row changes."""
    params = detector_params(timedelta(days=1), 0.6)
    points = 300
    stamps = list(pd.date_range("2025-01-06", periods=points, freq="D").to_pydatetime())
    values = _company(5, 12, points)
    states: list[dict[str, Any] | None] = [None] * 12
    found, out = _batch(params, stamps, values, states)
    alone = [_batch(params, stamps, values[i : i + 1], [None]) for i in range(12)]
    for i in range(12):
        assert [f[1:] for f in found if f[0] == i] == [f[1:] for f in alone[i][0]]
        assert out[i] == alone[i][1][0]
    order = np.roll(np.arange(12), 5)
    swapped, swapped_out = _batch(params, stamps, values[order], states)
    assert sorted((int(order[r]), *rest) for r, *rest in swapped) == found
    assert [swapped_out[list(order).index(i)] for i in range(12)] == out
    spiked = values.copy()
    spiked[3, np.flatnonzero(np.isfinite(values[3]))[-1]] = np.nanmax(values[3]) * 50
    changed, changed_out = _batch(params, stamps, spiked, states)
    assert {f[0] for f in set(changed) ^ set(found)} == {3}
    assert [i for i in range(12) if changed_out[i] != out[i]] == [3]


def test_detection_scores_every_segment_as_the_reference_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``detection.anomaly_alerts`` gives the same alerts and states with the block path as
    with one detector per segment (the path kept for detectors the block does not cover), on
    segments with different histories, over a first scan and a resumed one."""
    config = Config.model_validate({"reliability": {"step": "1d", "anomaly_threshold": 0.6}})
    checks = {"id": "ok", "metric": "err", "measure": "events", "target": 0.9}
    moment = {"id": "m", "name": "M", "owner": "ops", "indicators": [checks]}
    stages = [{"id": "s", "name": "S", "moments": [moment]}]
    journey = Config.model_validate({"journey": {"stages": stages}}).journey
    indicator = journey.indicators()[0][1]
    values = _company(6, 30, 200)
    days = pd.date_range("2025-01-06", periods=200, freq="D")
    frame = pd.DataFrame(
        [
            {"segment": f"store=S{r}" if r else "", "bucket": days[c], "value": values[r, c]}
            for r in range(30)
            for c in range(200)
            if not (np.isnan(values[r, c]) and (r + c) % 2)  # some holes are rows with no value
        ]
    )

    def scan(batch: bool) -> tuple[list[Any], list[str]]:
        if not batch:
            monkeypatch.setattr(detection, "supports", lambda *_: False)
        states: dict[str, Any] = {}
        alerts = []
        for end in (days[120], days[-1] + timedelta(days=1)):
            part = frame[frame.bucket < end]
            alerts += detection.anomaly_alerts(indicator, part, states, config)
        monkeypatch.undo()
        kept = [json.dumps([k, str(s.last_bucket), s.detector]) for k, s in sorted(states.items())]
        return sorted(alerts, key=lambda a: a.alert_id), kept

    with_blocks, reference = scan(True), scan(False)
    assert len(with_blocks[0]) > 5
    assert with_blocks == reference

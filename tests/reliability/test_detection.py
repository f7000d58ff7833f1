"""Detection settings: the detector's rest follows the configured alert threshold."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from earnright.reliability.anomaly import AnomalyDetector
from earnright.reliability.detection import detector_params


def test_a_score_below_the_configured_threshold_does_not_silence_the_series() -> None:
    """The detector rests (scores 0) for a while after an alert. With ``[reliability]
    anomaly_threshold`` 0.6, a 0.55 is no alert, so the next, larger departure must be scored:
    at the detector's own 0.5 the rest used to hide a store's whole incident."""
    rng = np.random.default_rng(4)
    days = pd.date_range("2025-01-01", periods=80, freq="D")
    values = 3 + rng.normal(0, 0.3, len(days))
    params = detector_params(timedelta(days=1), 0.6)
    assert params.threshold == 0.6
    probe = AnomalyDetector(params)
    for day, value in zip(days[:70], values[:70], strict=True):
        probe.update(day, float(value))
    state = probe.to_dict()
    small = next(
        v
        for v in np.arange(3.5, 6.0, 0.01)
        if 0.5 <= AnomalyDetector.from_dict(state).update(days[70], v) < 0.6
    )
    detector = AnomalyDetector.from_dict(state)
    detector.update(days[70], float(small))
    assert detector.resting == 0
    assert detector.update(days[71], 12.0) >= 0.6


def test_late_and_out_of_order_metrics_are_counted_not_lost(tmp_path: Path) -> None:
    """A first file of 20 days; a second with days 21-25 in scrambled order and three rows of
    days 5 and 6, which the first scan had already scored: the pass does not fail, and it
    reports the three late rows (and only those) for the indicator, in the run and on watch's
    stderr."""
    from earnright.config import Config
    from earnright.ingest import ingest_file
    from earnright.reliability.incidents import run_detection
    from earnright.workspace import init_workspace

    moment = {"id": "checkout", "name": "Checkout", "owner": "store-ops"}
    moment["indicators"] = [  # type: ignore[assignment]
        {
            "id": "short_wait",
            "metric": "wait",
            "measure": "threshold",
            "threshold": 10.0,
            "target": 0.9,
            "window": "4d",
        }
    ]
    config = Config.model_validate(
        {
            "journey": {"stages": [{"id": "pay", "name": "I pay", "moments": [moment]}]},
            "reliability": {"step": "1d"},
        }
    )
    ws = init_workspace(tmp_path / "ws", config)
    rng = np.random.default_rng(1)

    def rows(days: list[int], hours: tuple[int, ...] = (9, 13)) -> list[str]:
        lines = []
        for day in days:
            for hour in hours:
                at = datetime(2026, 9, 1) + timedelta(days=day - 1, hours=hour)
                lines.append(f"{at.isoformat()},wait,S1,{5 + rng.normal(0, 1):.3f}")
        return lines

    head = ["observed_at,metric,unit_id,value"]
    first, second = tmp_path / "m1.csv", tmp_path / "m2.csv"
    first.write_text("\n".join(head + rows(list(range(1, 21)))) + "\n")
    late = rows([5], hours=(10, 15)) + rows([6], hours=(11,))
    second.write_text("\n".join(head + rows([23, 21, 25, 22, 24]) + late) + "\n")
    units = tmp_path / "units.csv"
    units.write_text(
        "unit_id,name,level,parent_id\nC,Acme,company,\nR1,North,region,C\n"
        "D1,North One,district,R1\nS1,Store 1,store,D1\n"
    )
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", units)
        assert ingest_file(wh, ws.config, "metrics", first).quarantined == 0
        assert run_detection(wh, ws.config).late_rows == {}
        assert ingest_file(wh, ws.config, "metrics", second).quarantined == 0
        run = run_detection(wh, ws.config)
        assert run.late_rows == {"short_wait": 3}
        assert run_detection(wh, ws.config).late_rows == {}  # counted once
        run.data_until = datetime(2026, 9, 26)
    from earnright.services.watch import Cycle

    said = "\n".join(Cycle(run, {}, None).sentences())
    assert "short_wait: 3 metrics row(s) arrived late" in said


def test_a_stored_detector_state_is_its_floats_exactly_and_old_states_still_load() -> None:
    """The windows of floats are stored as float64 bytes (not decimal text): the state read
    back scores the next points exactly as the detector it was taken from; a state stored
    before (plain JSON lists) reads as it is; the stored text is smaller."""
    import json

    from earnright.reliability.detection import pack_state, unpack_state

    rng = np.random.default_rng(11)
    days = pd.date_range("2025-01-01", periods=120, freq="D")
    params = detector_params(timedelta(days=1), 0.6)
    detector = AnomalyDetector(params)
    for day in days[:100]:
        detector.update(day, float(rng.gamma(2.0, 1.0)) / 3.0)  # floats with long expansions
    state = detector.to_dict()
    stored = json.dumps(pack_state(state))
    assert '"f64"' in stored and len(stored) < len(json.dumps(state))
    back = unpack_state(json.loads(stored))
    assert back == state and unpack_state(json.loads(json.dumps(state))) == state
    again, original = AnomalyDetector.from_dict(back), AnomalyDetector.from_dict(state)
    for day in days[100:]:
        value = float(rng.gamma(2.0, 1.0))
        assert again.update(day, value) == original.update(day, value)

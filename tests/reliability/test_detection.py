"""Detection settings: the detector's rest follows the configured alert threshold."""

from __future__ import annotations

from datetime import timedelta

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

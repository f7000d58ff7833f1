"""Experience reliability and early warning: is the operation reliable at each moment, right now?

- ``anomaly``: streaming anomaly detection on one indicator series, one point at a time, with
  bounded, serialisable state (``AnomalyDetector``, ``DetectorParams``, ``score_series``).
- ``nab``: scoring of anomaly detectors with the Numenta Anomaly Benchmark's method.
- ``localize``: the segments (dimension-value combinations) behind a deviation.
"""

from earnright.reliability.anomaly import AnomalyDetector, DetectorParams, score_series

__all__ = ["AnomalyDetector", "DetectorParams", "score_series"]

"""Experience reliability and early warning: is the operation reliable at each moment, right now?

- ``indicators``: indicator series (SLIs) per moment and segment from the metrics; ``budget``:
  error budgets and burn rates; ``detection``: burn-rate and anomaly alerts on a series;
- ``anomaly``: streaming anomaly detection on one indicator series, one point at a time, with
  bounded, serialisable state (``AnomalyDetector``, ``DetectorParams``, ``score_series``);
- ``localize`` (with ``search`` and ``segment``): the segments behind a deviation;
- ``incidents`` (with ``episode``, ``judge`` and ``records``): alerts folded into incidents,
  stored and announced through ``earnright.delivery``;
- ``revenue`` (with ``churn`` and ``pricing``): the customers an incident hurt, their value
  (``earnright.customers``) and the extra churn, as revenue at risk.
"""

from earnright.reliability.anomaly import AnomalyDetector, DetectorParams, score_series

__all__ = ["AnomalyDetector", "DetectorParams", "score_series"]

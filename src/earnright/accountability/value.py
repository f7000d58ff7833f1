"""The value of an action's effect in revenue, where the customer asset provides it.

An NPS or driver effect (points) × the value of one point at the acting unit
(:mod:`earnright.customers.pointvalue`: retained revenue over 180 days of one more point, the
per-customer value × the unit's active customers). The two estimates are independent (one from
the unit's answers before and after the action against its comparisons, the other from its
customers' spend after their first response), so the variance of the product is Goodman's
(1960) exact formula for independent factors

    Var(x·y) = y² σx² + x² σy² + σx² σy²

and the interval is the normal one at the outcomes' level (each factor's standard error is
its interval's half-width ÷ its quantile). Metrics without a point value
(retention, spend, indicators, CSAT) keep empty values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from earnright.config import Config
from earnright.stats import Z95

__all__ = ["VALUE_COLUMNS", "point_question", "product_interval", "value_effects"]

VALUE_COLUMNS = ["value", "value_low", "value_high"]
ALL = "all"


def point_question(config: Config, metric: str) -> str | None:
    """The question whose point value prices ``metric``: the NPS question for ``nps``, the
    driver question itself for a driver; None for other metrics."""
    if metric == "nps":
        question = config.question_of_kind("nps")
        return None if question is None else question.id
    question = config.question(metric)
    return None if question is None or question.kind in ("nps", "csat") else question.id


def product_interval(
    x: np.ndarray, x_se: np.ndarray, y: np.ndarray, y_se: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x·y with its interval, Goodman's variance for independent x and y."""
    z = stats.norm.ppf(0.5 + level / 2)
    est = x * y
    se = np.sqrt(y**2 * x_se**2 + x**2 * y_se**2 + x_se**2 * y_se**2)
    return est, est - z * se, est + z * se


def value_effects(
    frame: pd.DataFrame, points: pd.DataFrame | None, config: Config, level: float
) -> pd.DataFrame:  # fmt: skip
    """``frame`` (outcome rows) with :data:`VALUE_COLUMNS`: each measured NPS or driver
    effect × the point value of its question at its unit (``points``: POINT_COLUMNS rows)."""
    out = frame.copy()
    for col in VALUE_COLUMNS:
        out[col] = np.nan
    if points is None or points.empty or out.empty:
        return out
    z = stats.norm.ppf(0.5 + level / 2)
    unit_rows = points[points.moment == ALL].drop_duplicates(["question", "unit_id"])
    per_point = unit_rows.set_index(["question", "unit_id"])
    question = out.metric.map(lambda m: point_question(config, str(m)))
    keys = pd.MultiIndex.from_arrays([question.fillna(""), out.unit_id.astype(str)])
    value = per_point.value.reindex(keys).to_numpy(float)
    width = (per_point.value_high - per_point.value_low).reindex(keys).to_numpy(float)
    value_se = width / (2 * Z95)  # pointvalue's quantile
    effect = out.effect.to_numpy(float)
    effect_se = (out.effect_high - out.effect_low).to_numpy(float) / (2 * z)
    est, low, high = product_interval(effect, effect_se, value, value_se, level)
    out["value"], out["value_low"], out["value_high"] = est, low, high
    return out

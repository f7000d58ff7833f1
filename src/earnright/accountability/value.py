"""The value of an action's effect in revenue, where the customer asset provides it.

An NPS or driver effect (points) × the value of one point at the acting unit
(:mod:`earnright.customers.pointvalue`: retained revenue over 180 days of one more point, the
per-customer value × the unit's active customers). The two estimates are independent (one from
the unit's answers before and after the action against its comparisons, the other from its
customers' spend after their first response), so the variance of the product is Goodman's
(1960) exact formula for independent factors

    Var(x·y) = y² σx² + x² σy² + σx² σy²

and the interval is the normal one at the outcomes' level (each factor's standard error is
its interval's half-width ÷ its quantile).

Spend and retention are priced over the same horizon (``HORIZON_DAYS``, the point value's):

- ``spend``: the effect (per customer-week) × the unit's customers a week (its post-period
  customer-weeks ÷ its weeks) × the horizon's weeks; the customers are counted, not
  estimated, so the interval is the effect's scaled;
- ``retention``: the effect (points of % of a week's customers buying again) ÷ 100 × the
  unit's customers' summed lifetime value over the horizon as of the action's start (before
  it could move them; :func:`earnright.customers.value.customer_lifetime_values`, months = 6,
  per home unit): each customer the action keeps (or loses) is worth their expected spend.
  Goodman's formula again, the sum's standard error √n × the customers' standard deviation
  of value.

A synthetic control's placebo interval is taken as normal for its standard error. CSAT and
reliability indicators have no bridge to revenue yet: their values stay empty, and
``value_note`` says so in words (as it says why any other measured effect carries no value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from earnright.config import Config
from earnright.stats import Z95

__all__ = [
    "BASE_COLUMNS", "HORIZON_DAYS", "NOTE", "VALUE_COLUMNS", "point_question", "product_interval",
    "retention_bases", "value_effects",
]  # fmt: skip

VALUE_COLUMNS = ["value", "value_low", "value_high"]
NOTE = "value_note"  # why a measured effect has no value, in words
BASE_COLUMNS = ["unit_id", "customers", "ltv", "ltv_se"]  # per unit: the retention base
HORIZON_DAYS = 180  # the horizon of every value: the point value's
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
    frame: pd.DataFrame, points: pd.DataFrame | None, config: Config, level: float,
    bases: pd.DataFrame | None = None,
) -> pd.DataFrame:  # fmt: skip
    """``frame`` (outcome rows) with :data:`VALUE_COLUMNS`: each measured NPS or driver
    effect × the point value of its question at its unit (``points``: POINT_COLUMNS rows),
    each spend effect over the horizon and, with ``bases`` (:data:`BASE_COLUMNS` with
    ``action_id``), each retention effect × its unit's customers' lifetime value (module
    doc)."""
    out = frame.copy()
    for col in VALUE_COLUMNS:
        out[col] = np.nan
    out[NOTE] = ""
    if out.empty:
        return out
    _spend_values(out, config.outcomes.post_weeks)
    if bases is not None and not bases.empty:
        _retention_values(out, bases, level)
    if points is not None and not points.empty:
        _point_values(out, points, config, level)
    _explain_missing(out, config)
    return out


def _explain_missing(out: pd.DataFrame, config: Config) -> None:
    """``value_note`` of each measured effect left without a value (in place)."""
    missing = out.effect.notna() & out.value.isna()
    for i in out.index[missing]:
        metric = str(out.at[i, "metric"])
        if metric == "csat":
            why = "not valued: CSAT has no bridge to revenue"
        elif metric in ("spend", "retention"):
            why = "not valued: no customers or transactions at the unit"
        elif point_question(config, metric) is not None:
            why = "not valued: no point value at the unit (customers, transactions and "
            why += "respondents with 180 days of follow-up)"
        else:
            why = "not valued: a reliability indicator has no bridge to revenue"
        out.at[i, NOTE] = why


def _point_values(out: pd.DataFrame, points: pd.DataFrame, config: Config, level: float) -> None:
    """NPS and driver effects × their question's point value at the unit (in place)."""
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
    priced = np.isfinite(est)
    out.loc[priced, "value"], out.loc[priced, "value_low"] = est[priced], low[priced]
    out.loc[priced, "value_high"] = high[priced]


def _spend_values(out: pd.DataFrame, post_weeks: int) -> None:
    """Spend effects × customers a week × the horizon's weeks (in place)."""
    rows = (out.metric == "spend") & out.effect.notna()
    if not rows.any():
        return
    weekly = out.loc[rows, "post_n"].astype(float) / post_weeks
    scale = weekly * HORIZON_DAYS / 7
    for col, source in zip(VALUE_COLUMNS, ("effect", "effect_low", "effect_high"), strict=True):
        out.loc[rows, col] = out.loc[rows, source].astype(float) * scale


def _retention_values(out: pd.DataFrame, bases: pd.DataFrame, level: float) -> None:
    """Retention effects ÷ 100 × the unit's customers' lifetime value (in place)."""
    rows = (out.metric == "retention") & out.effect.notna()
    if not rows.any():
        return
    z = stats.norm.ppf(0.5 + level / 2)
    base = bases.set_index("action_id").reindex(out.loc[rows, "action_id"].astype(str))
    x = out.loc[rows, "effect"].to_numpy(float) / 100
    x_se = (out.loc[rows, "effect_high"] - out.loc[rows, "effect_low"]).to_numpy(float)
    est, low, high = product_interval(x, x_se / (2 * z) / 100, base.ltv.to_numpy(float),
                                      base.ltv_se.to_numpy(float), level)  # fmt: skip
    out.loc[rows, "value"], out.loc[rows, "value_low"], out.loc[rows, "value_high"] = (
        est,
        low,
        high,
    )


def retention_bases(values: pd.DataFrame, homes: pd.DataFrame) -> pd.DataFrame:
    """Per unit (:data:`BASE_COLUMNS`): its customers, their summed lifetime value and its
    standard error (√n × their standard deviation). ``values``: customer_id, home_unit_id,
    ltv; ``homes``: home_unit_id → unit_id (the acting units' level)."""
    frame = values.assign(home_unit_id=values.home_unit_id.astype(str))
    frame = frame.merge(homes.astype(str), on="home_unit_id")
    g = frame.groupby("unit_id", sort=True).ltv
    out = pd.DataFrame({"customers": g.size(), "ltv": g.sum(), "sd": g.std(ddof=1)})
    out["ltv_se"] = np.sqrt(out.customers) * out.sd.fillna(0.0)
    return out.reset_index()[BASE_COLUMNS]

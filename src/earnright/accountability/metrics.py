"""The metrics an action can target, and their weekly per-unit sufficient statistics.

An action names ``nps``, ``csat``, a question id (a driver), a reliability indicator's id,
``spend`` or ``retention``. For each, the engine returns per unit and week the count ``n``, the
sum ``s1`` and the sum of squares ``s2`` of one observation per row: a response's NPS score
(+100 promoter, 0 passive, −100 detractor), a CSAT answer's top-2-box (0 or 100), a driver
answer, a reliability indicator's good share in % per metrics row (higher is better: events
good of total, or a reading on the good side of the threshold); for ``spend`` a customer's spend at
the unit in the week (one observation per customer and week: spend per customer, not per
purchase) and for ``retention`` whether a customer who bought at the unit in the week bought
there again within ``[outcomes] retention_days`` after it (100 or 0; weeks whose follow-up has
not passed at the last transaction are left out).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from earnright.config import Config, Indicator
from earnright.errors import QueryError
from earnright.warehouse import Warehouse

__all__ = ["UNMEASURED", "weekly_stats"]

UNMEASURED: frozenset[str] = frozenset()
WEEKLY_COLUMNS = ["unit_id", "week", "n", "s1", "s2"]


def _feedback_scores(wh: Warehouse, config: Config, metric: str) -> tuple[ir.Table, ir.Value]:
    fb = wh.table("feedback")
    if metric in ("nps", "csat"):
        question = config.question_of_kind(metric)
        if question is None or question.id not in fb.columns:
            raise QueryError(f"no {metric} question answered in feedback", argument="metric")
        col = fb[question.id]
        if metric == "nps":
            score = ibis.cases((col >= 9, 100.0), (col <= 6, -100.0), else_=0.0)
        else:
            score = ibis.cases((col >= question.max - 1, 100.0), else_=0.0)
        return fb.filter(col.notnull()), score
    if metric not in fb.columns:
        raise QueryError(f"no answers to question '{metric}' in feedback", argument="metric")
    return fb.filter(fb[metric].notnull()), fb[metric].cast("float64")


def _customer_weeks(wh: Warehouse, metric: str, days: int) -> ir.Table:
    """One row per unit, customer and week with a purchase: the week's spend, or 100 when the
    customer's next purchase at the unit falls within ``days`` after the week's end (else 0)."""
    t = wh.table("transactions")
    t = t.filter(t.customer_id.notnull())
    cw = t.group_by([t.unit_id, t.customer_id, t.occurred_at.truncate("W").name("at")]).aggregate(
        spend=t.amount.sum().cast("float64"), first=t.occurred_at.min()
    )
    if metric == "spend":
        return cw.select(unit_id=cw.unit_id, at=cw.at, y=cw.spend)
    last = t.occurred_at.max().execute()
    follow = ibis.interval(days=days + 7)
    nxt = cw.first.lead().over(ibis.window(group_by=[cw.unit_id, cw.customer_id], order_by=cw.at))
    back = ibis.cases((nxt.notnull() & (nxt < cw.at + follow), 100.0), else_=0.0)
    rows = cw.select(unit_id=cw.unit_id, at=cw.at, y=back)
    if last is None or pd.isna(last):
        return rows.limit(0)
    horizon = pd.Timestamp(last) - pd.Timedelta(days=days + 7)  # follow-up passed by then
    return rows.filter(rows.at <= horizon.to_pydatetime())


def _indicator_rows(wh: Warehouse, indicator: Indicator) -> ir.Table:
    """One row per metrics row of the indicator's metric: the share of its events that were
    good, in % (an events indicator: 100 × good / total; a threshold indicator: 100 when the
    value is at or on the good side of the threshold, else 0), so higher is always better."""
    m = wh.table("metrics")
    m = m.filter(m.metric == indicator.metric)
    if indicator.measure == "threshold":
        ok = m.value <= indicator.threshold
        if indicator.good_when == "above":
            ok = m.value >= indicator.threshold
        m = m.filter(m.value.notnull())
        share = ibis.cases((ok, 100.0), else_=0.0)
    else:
        m = m.filter(m.total > 0)
        share = 100.0 * m.good.cast("float64") / m.total.cast("float64")
    return m.select(unit_id=m.unit_id, at=m.observed_at, y=share.name("y"))


def _rows(wh: Warehouse, config: Config, metric: str) -> ir.Table:
    """One row per observation: unit_id, at (timestamp), y (float)."""
    if metric in ("spend", "retention"):
        return _customer_weeks(wh, metric, config.outcomes.retention_days)
    indicators = {ind.id: ind for _, ind in config.journey.indicators()}
    if metric in indicators:
        return _indicator_rows(wh, indicators[metric])
    fb, score = _feedback_scores(wh, config, metric)
    return fb.select(unit_id=fb.unit_id, at=fb.responded_at, y=score.name("y"))


def weekly_stats(wh: Warehouse, config: Config, metric: str) -> pd.DataFrame:
    """Per unit and ISO week (its Monday): n, s1 = Σy, s2 = Σy² of ``metric``'s observations."""
    if metric in UNMEASURED:
        raise QueryError(f"'{metric}' outcomes are not measured yet", argument="metric")
    if not config.measurable(metric):
        raise QueryError(f"'{metric}' is not a metric outcomes can measure", argument="metric")
    rows = _rows(wh, config, metric)
    week = rows.at.truncate("W").name("week")
    agg = rows.group_by([rows.unit_id, week]).aggregate(
        n=rows.count(), s1=rows.y.sum(), s2=(rows.y * rows.y).sum()
    )
    frame = agg.to_pandas()
    if frame.empty:
        return pd.DataFrame(columns=WEEKLY_COLUMNS)
    frame["unit_id"] = frame["unit_id"].astype(str)
    frame["week"] = pd.to_datetime(frame["week"])
    return frame[WEEKLY_COLUMNS].sort_values(["unit_id", "week"]).reset_index(drop=True)

"""The metrics an action can target, and their weekly per-unit sufficient statistics.

An action names ``nps``, ``csat``, a question id (a driver), a reliability indicator's id,
``spend`` or ``retention``. For each, the engine returns per unit and week the count ``n``, the
sum ``s1`` and the sum of squares ``s2`` of one observation per row: a response's NPS score
(+100 promoter, 0 passive, −100 detractor), a CSAT answer's top-2-box (0 or 100), a driver
answer, an indicator observation's good share (or value), a purchase's amount (spend per
purchase). ``retention`` is accepted in files but not measured yet.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from earnright.config import Config
from earnright.errors import QueryError
from earnright.warehouse import Warehouse

__all__ = ["UNMEASURED", "weekly_stats"]

UNMEASURED = frozenset({"retention"})
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


def _rows(wh: Warehouse, config: Config, metric: str) -> ir.Table:
    """One row per observation: unit_id, at (timestamp), y (float)."""
    if metric == "spend":
        t = wh.table("transactions")
        return t.select(unit_id=t.unit_id, at=t.occurred_at, y=t.amount.cast("float64"))
    indicators = {ind.id: ind for _, ind in config.journey.indicators()}
    if metric in indicators:
        m = wh.table("metrics")
        m = m.filter(m.metric == indicators[metric].metric)
        share = (m.good.cast("float64") / m.total.nullif(0).cast("float64")).fill_null(m.value)
        return m.select(unit_id=m.unit_id, at=m.observed_at, y=share).filter(
            lambda t: t.y.notnull()
        )
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

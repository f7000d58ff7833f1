"""Scorecard v1: per unit and period, the listening numbers with their n and intervals.

The engine does one grouped scan of ``feedback`` (and one of ``invitations``) producing
sufficient statistics per unit and period: counts of promoters and detractors, top-2-box counts,
and n, Σx, Σx² of every driver question. numpy turns those into estimates and intervals. Units at
higher levels (district, region, company) aggregate every feedback row of the stores beneath them
*when it was given*: the hierarchy is effective-dated (``unit_history``), and each row joins the
ancestor valid at its timestamp, so a store that moved keeps its past with its old district.

Columns of the result (one row per unit and period):

- ``unit_id, name, level, period`` (``2026-09``, ``2026-W37`` or ``2026-Q3``), ``period_start``
- ``feedback`` (rows of every channel), ``responses`` (survey responses), ``invitations``,
  ``response_rate`` (responses ÷ invitations, 0..1; empty without invitations)
- ``n`` (answers to the NPS question in survey responses; every question's statistics use only
  channel ``survey``: unsolicited reviews and complaints are not a sample),
  ``promoters, passives, detractors``,
  ``nps, nps_low, nps_high`` (points, −100..100; 95% adjusted-Wald interval)
- ``n_csat, csat, csat_low, csat_high`` (top-2-box share 0..1; 95% Wilson interval)
- per driver question ``Q``: ``Q_n, Q_mean, Q_low, Q_high`` (95% t interval, clipped to the scale),
  ``Q_sd`` (standard deviation of the answers)

``compute_scorecard`` returns every estimate, for the analytics that pool or test them; wherever
a score is shown (the ``scorecard`` command, the page), ``suppress_scores`` first hides each score
with fewer than ``[listening] min_n`` answers: estimate, interval (and the NPS answer counts or a
driver's sd, which would give it away) are empty, its n stays.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.config import Config
from earnright.periods import Grain, choose_period, parse_period, period_label, truncate
from earnright.stats import mean_interval, mean_sd, nps_interval, wilson_interval
from earnright.units import attach_ancestors, read_units, unit_ancestors, unit_placements
from earnright.warehouse import Warehouse

__all__ = [
    "compute_scorecard",
    "latest_period",
    "suppress_scores",
]


def latest_period(wh: Warehouse, grain: Grain) -> str:
    """The label of the latest *complete* period of feedback and invitations (see
    ``earnright.periods.choose_period``); QueryError when there are none."""
    return choose_period(wh, grain).label


def _count(cond: ir.BooleanValue) -> ir.IntegerScalar:
    return cond.sum()  # true counts 1; Ibis casts for each backend (PostgreSQL: via int4)


def _feedback_stats(
    feedback: ir.Table, config: Config, drivers: list[str], grain: Grain
) -> ir.Table:
    fb = feedback.mutate(period_start=truncate(feedback.responded_at, grain))
    survey = fb.channel == "survey"

    def answers(question: str) -> ir.FloatingColumn:
        """Answers from survey responses only: unsolicited reviews are not a sample."""
        return survey.ifelse(fb[question], ibis.null("float64"))

    aggs: dict[str, ir.Scalar] = {
        "feedback": fb.count(),
        "responses": _count(fb.channel == "survey"),
    }
    nps_q = config.question_of_kind("nps")
    if nps_q is not None and nps_q.id in fb.columns:
        col = answers(nps_q.id)
        aggs |= {
            "n": col.count(),
            "promoters": _count(col >= 9),
            "detractors": _count(col <= 6),
        }
    csat_q = config.question_of_kind("csat")
    if csat_q is not None and csat_q.id in fb.columns:
        col = answers(csat_q.id)
        aggs |= {"n_csat": col.count(), "top2": _count(col >= csat_q.max - 1)}
    for q in drivers:
        col = answers(q)
        aggs |= {f"{q}_n": col.count(), f"{q}_sum": col.sum(), f"{q}_sumsq": (col * col).sum()}
    return fb.group_by(["ancestor_id", "period_start"]).aggregate(**aggs)


def _period_filter(t: ir.Table, column: str, period: tuple[datetime, datetime] | None) -> ir.Table:
    if period is None:
        return t
    start, end = period
    return t.filter((t[column] >= start) & (t[column] < end))


def compute_scorecard(
    wh: Warehouse,
    config: Config,
    *,
    level: str = "store",
    grain: Grain = Grain.month,
    period: str | None = None,
) -> pd.DataFrame:
    """The scorecard for every unit at ``level`` and every period (or the one named)."""
    units = read_units(wh)
    ancestors = unit_ancestors(unit_placements(wh), config.units.levels, level)
    window = parse_period(period, grain) if period else None

    fb = _period_filter(wh.table("feedback"), "responded_at", window)
    fb = attach_ancestors(fb, ancestors, "responded_at")
    drivers = [c for c in wh.open_columns("feedback") if _is_driver(config, c)]
    stats = _frame(_feedback_stats(fb, config, drivers, grain))

    inv = _period_filter(wh.table("invitations"), "sent_at", window)
    inv = attach_ancestors(inv, ancestors, "sent_at")
    inv = inv.mutate(period_start=truncate(inv.sent_at, grain))
    invitations = inv.group_by(["ancestor_id", "period_start"]).aggregate(invitations=inv.count())
    keys = ["ancestor_id", "period_start"]
    frame = pd.concat([stats.set_index(keys), _frame(invitations).set_index(keys)], axis=1)
    frame = frame.reset_index().rename(columns={"ancestor_id": "unit_id"})
    frame = frame.merge(units[["unit_id", "name", "level"]], on="unit_id", how="left")
    return _finish(frame, config, drivers, grain)


def _frame(expr: ir.Table) -> pd.DataFrame:
    """Run ``expr`` and hand back pandas via Arrow (faster than Ibis's own pandas conversion)."""
    return expr.to_pyarrow().to_pandas()


def _is_driver(config: Config, column: str) -> bool:
    q = config.question(column)
    return q is not None and q.kind == "driver"


def _finish(frame: pd.DataFrame, config: Config, drivers: list[str], grain: Grain) -> pd.DataFrame:
    """Estimates and intervals from the sufficient statistics (numpy, one row per unit-period)."""
    counts = ["feedback", "responses", "invitations", "n", "promoters", "detractors", "n_csat"]
    counts += ["top2"] + [f"{q}_n" for q in drivers]
    for col in counts:
        frame[col] = frame[col].fillna(0).astype("int64") if col in frame else 0
    out = pd.DataFrame(
        {
            "unit_id": frame["unit_id"].astype(str),
            "name": frame["name"],
            "level": frame["level"],
            "period": period_label(frame["period_start"], grain),
            "period_start": pd.to_datetime(frame["period_start"]),
            "feedback": frame["feedback"],
            "responses": frame["responses"],
            "invitations": frame["invitations"],
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = frame["responses"] / frame["invitations"].where(frame["invitations"] > 0)
    out["response_rate"] = rate
    out["n"] = frame["n"]
    out["promoters"] = frame["promoters"]
    out["passives"] = frame["n"] - frame["promoters"] - frame["detractors"]
    out["detractors"] = frame["detractors"]
    out["nps"], out["nps_low"], out["nps_high"] = nps_interval(
        frame["promoters"], frame["detractors"], frame["n"]
    )
    out["n_csat"] = frame["n_csat"]
    out["csat"], out["csat_low"], out["csat_high"] = wilson_interval(frame["top2"], frame["n_csat"])
    for q in drivers:
        question = config.question(q)
        assert question is not None
        mean, low, high = mean_interval(frame[f"{q}_sum"], frame[f"{q}_sumsq"], frame[f"{q}_n"])
        out[f"{q}_n"] = frame[f"{q}_n"]
        out[f"{q}_mean"] = mean
        out[f"{q}_sd"] = mean_sd(frame[f"{q}_sum"], frame[f"{q}_sumsq"], frame[f"{q}_n"])
        out[f"{q}_low"] = np.clip(low, question.min, question.max)
        out[f"{q}_high"] = np.clip(high, question.min, question.max)
    return out.sort_values(["period_start", "unit_id"], ignore_index=True)


def suppress_scores(frame: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """A copy of a scorecard frame with every score below ``min_n`` answers hidden, n kept.

    NPS (``n``): nps, its interval and the promoter/passive/detractor counts; CSAT (``n_csat``):
    csat and its interval; a driver ``Q`` (``Q_n``): its mean, interval and sd. Hidden counts
    become None (object columns), hidden estimates NaN.
    """
    out = frame.copy()
    hidden = {
        "n": ["nps", "nps_low", "nps_high"],
        "n_csat": ["csat", "csat_low", "csat_high"],
    } | {
        col: [f"{col[:-2]}_{s}" for s in ("mean", "low", "high", "sd")]
        for col in frame.columns
        if col.endswith("_n") and f"{col[:-2]}_mean" in frame.columns
    }
    for n_col, columns in hidden.items():
        if n_col not in out.columns:
            continue
        few = out[n_col].fillna(0).to_numpy() < max(min_n, 1)
        for col in columns:
            if col in out.columns:
                out.loc[few, col] = np.nan
    counts = [c for c in ("promoters", "passives", "detractors") if c in out.columns]
    if counts and "n" in out.columns:
        few = out["n"].fillna(0).to_numpy() < max(min_n, 1)
        keep = np.repeat(~few[:, None], len(counts), axis=1)
        out[counts] = out[counts].astype(object).where(keep, None)
    return out

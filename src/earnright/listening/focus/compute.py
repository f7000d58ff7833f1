"""Focus, the entry point: the window, its gaps, their worth and evidence, one list per unit.

Gaps are measured over a trailing window of periods (``earnright.listening.focus.gaps``), the
credible ones valued with a key-driver fit over a longer window (``worth``) and backed by
comments (``comments``); ``lists`` turns them into one ``FocusList`` per unit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.config import Config
from earnright.errors import QueryError
from earnright.listening.focus.comments import pick_comments
from earnright.listening.focus.gaps import Measured, credible, measure_gaps
from earnright.listening.focus.lists import FocusList, Found, ListContext, focus_list, method_text
from earnright.listening.focus.worth import driver_importance, gap_worth, ltr_counts
from earnright.listening.scorecard import latest_period
from earnright.periods import Grain, choose_period, parse_period, period_label
from earnright.units import pick_level, read_units, unit_ancestors, unit_placements
from earnright.warehouse import Warehouse

__all__ = ["IMPORTANCE_WINDOW", "WINDOW", "compute_focus"]

WINDOW = {Grain.month: 3, Grain.week: 13, Grain.quarter: 1}  # the last quarter, at any grain
IMPORTANCE_WINDOW = {Grain.month: 12, Grain.week: 52, Grain.quarter: 4}  # the last year


# -- the window --------------------------------------------------------------------------------
def _window(wh: Warehouse, start: datetime, end: datetime) -> Warehouse:
    """The warehouse seen through [start, end): feedback and invitations of the window only."""

    def within(column: str) -> Callable[[ir.Table], ir.Table]:
        return lambda t: t.filter((t[column] >= start) & (t[column] < end))

    return wh.view({"feedback": within("responded_at"), "invitations": within("sent_at")})


@dataclass(frozen=True)
class _Span:
    period: str
    first: str
    start: datetime
    end: datetime


def _span(wh: Warehouse, grain: Grain, period: str | None, window: int) -> _Span:
    period = period or latest_period(wh, grain)
    start, end = parse_period(period, grain)
    if grain is Grain.week:
        first_start = pd.Timestamp(start) - pd.Timedelta(weeks=window - 1)
    else:
        months = (window - 1) * (3 if grain is Grain.quarter else 1)
        first_start = pd.Timestamp(start) - pd.DateOffset(months=months)
    first = str(period_label(pd.Series([first_start]), grain).iloc[0])
    return _Span(period, first, first_start.to_pydatetime(), end)


def _rank(worth: pd.DataFrame, top: int) -> pd.DataFrame:
    ordered = worth.assign(_gain=worth.gain.fillna(-np.inf)).sort_values(
        ["unit_id", "_gain", "gap"], ascending=[True, False, True]
    )
    return ordered.groupby("unit_id").head(top).drop(columns="_gain")


# -- the steps -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ask:
    """One call's choices, defaults filled in."""

    unit: str | None
    level: str
    grain: Grain
    importance_window: int
    fdr: bool
    comments: int
    seed: int


def _worth(
    wh: Warehouse,
    view: Warehouse,
    config: Config,
    frame: pd.DataFrame,
    found: pd.DataFrame,
    span: _Span,
    ask: _Ask,
) -> pd.DataFrame:
    """The credible gaps with importance, slope and NPS gain (from a fit over a longer window)."""
    worth = found.assign(importance=np.nan, beta=np.nan, slope=np.nan, gain=np.nan)
    if found.empty:
        return worth
    long = _span(wh, ask.grain, span.period, ask.importance_window)
    within = _window(wh, long.start, long.end)
    units = set(found.unit_id.astype(str))  # only the units with a credible gap are valued
    importance = driver_importance(within, config, ask.level, ask.unit, ask.seed, units)
    return gap_worth(found, importance, ltr_counts(view, config, frame, ask.level))


def _evidence(
    wh: Warehouse, view: Warehouse, config: Config, picked: pd.DataFrame, ask: _Ask
) -> pd.DataFrame:
    """The comments behind the picked items."""
    ancestors = unit_ancestors(unit_placements(wh), config.units.levels, ask.level)
    ancestors = ancestors[ancestors.ancestor_id.isin(set(picked.unit_id))]
    return pick_comments(view, config, picked[["unit_id", "driver"]], ancestors, ask.comments)


def _context(
    config: Config, frame: pd.DataFrame, span: _Span, measured: Measured, ask: _Ask
) -> ListContext:
    spoken = span.period if span.first == span.period else f"{span.first} to {span.period}"
    names = dict(zip(frame.unit_id, frame.name.astype(str), strict=True))
    method = method_text(spoken, measured.margin, ask.fdr, ask.level, ask.importance_window)
    return ListContext(ask.level, spoken, measured.margin, config.listening.min_n, names, method)


# -- the entry point -----------------------------------------------------------------------------
def compute_focus(
    wh: Warehouse,
    config: Config,
    *,
    unit: str | None = None,
    level: str | None = None,
    grain: Grain = Grain.month,
    period: str | None = None,
    window: int | None = None,
    importance_window: int | None = None,
    top: int = 3,
    margin: float | None = None,
    fdr: bool = True,
    comments: int = 3,
    seed: int = 0,
) -> list[FocusList]:
    """The few things each unit at ``level`` (default: the lowest), or only ``unit``, should fix.

    Gaps are measured over the ``window`` periods of ``grain`` ending with ``period`` (default:
    the latest complete period, ``earnright.periods.choose_period``; QueryError for a period
    without data; window default: three months, 13 weeks or one quarter), driver importance over
    ``importance_window`` periods (default: a year). ``margin`` (answer points; default 2.5% of
    each scale's range) is the smallest gap worth focus; ``fdr`` adjusts across a unit's
    drivers; at most ``top`` items, ``comments`` comments each.
    """
    if top < 1 or comments < 0 or min(window or 1, importance_window or 1) < 1:
        raise QueryError(
            "top, window and importance window are at least 1 (periods or items), comments 0"
        )
    grain = Grain(grain)
    frame = read_units(wh)
    level = pick_level(frame, config.units.levels, level, unit, default=config.units.levels[-1])
    period = choose_period(wh, grain, period).label  # QueryError for a period without data
    long = importance_window or IMPORTANCE_WINDOW[grain]
    ask = _Ask(unit, level, grain, long, fdr, comments, seed)
    span = _span(wh, grain, period, window or WINDOW[grain])
    view = _window(wh, span.start, span.end)
    measured = measure_gaps(view, config, frame, level, grain, margin)
    gaps = measured.gaps.assign(credible=credible(measured.gaps, config.listening.min_n, fdr))
    found = gaps[gaps.credible & ((gaps.unit_id == unit) if unit else True)]
    picked = _rank(_worth(wh, view, config, frame, found, span, ask), top)
    said = _evidence(wh, view, config, picked, ask)
    by_unit = Found.of(
        (span.period, span.first), measured.totals, measured.peers, picked, said,
        found.unit_id.value_counts(),
    )  # fmt: skip
    ctx = _context(config, frame, span, measured, ask)
    wanted = [unit] if unit else sorted(frame.unit_id[frame.level == level])
    return [focus_list(ctx, u, by_unit, config) for u in wanted]

"""Survey hygiene, the entry point: prepare the run, scan, test each signal, report."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from earnright.config import Config
from earnright.errors import QueryError
from earnright.listening.hygiene.estimates import split_sides
from earnright.listening.hygiene.quick_response import quick_response
from earnright.listening.hygiene.rate_jump import rate_jump
from earnright.listening.hygiene.report import NUMBERS, HygieneFlag, HygieneReport, Signal
from earnright.listening.hygiene.run import Run, SignalTest
from earnright.listening.hygiene.scans import driver_questions, period_cells, period_window
from earnright.listening.hygiene.top_box import top_box
from earnright.periods import Grain, choose_period
from earnright.stats import benjamini_hochberg
from earnright.units import attach_ancestors, read_units, unit_ancestors, unit_placements
from earnright.warehouse import Warehouse

__all__ = ["check_hygiene"]


def _rows(
    signal: Signal, test: SignalTest, units: list[str], run: Run, fdr: float
) -> list[HygieneFlag]:
    q = benjamini_hochberg(np.where(test.tested, test.p_value, np.nan))
    flagged = test.tested & (q <= fdr) & (test.statistic > 0) & test.eligible
    columns = [test.statistic, test.p_value, q, test.observed, test.reference]
    rows = []
    for i, u in enumerate(units):
        numbers: dict[str, Any] = {k: float(c[i]) for k, c in zip(NUMBERS, columns, strict=True)}
        flag = HygieneFlag(
            unit_id=u, name=run.names.get(u, u), level=run.level, period=run.period,
            signal=signal, n=int(test.n[i]), flagged=bool(flagged[i]),
            evidence=test.evidence[i], **numbers,
        )  # fmt: skip
        rows.append(flag)
    return rows


def _rows_in_period(wh: Warehouse, run: Run) -> int:
    fb, inv = wh.table("feedback"), wh.table("invitations")
    fb = fb.filter((fb.channel == "survey") & (fb.responded_at >= run.start))
    fb = fb.filter(fb.responded_at < run.end)
    inv = inv.filter((inv.sent_at >= run.start) & (inv.sent_at < run.end))
    counts = [
        attach_ancestors(t, run.ancestors, at).count().execute()
        for t, at in ((fb, "responded_at"), (inv, "sent_at"))
    ]
    return int(sum(counts))


def _notes(wh: Warehouse) -> list[str]:
    columns = set(wh.table("feedback").columns) | set(wh.table("transactions").columns)
    if {"staff_id", "device_id"} & columns:
        return []
    return [
        "No staff or device ids in the data: quick responses are counted per unit; which staff "
        "member or device collected them cannot be told."
    ]


def _prepare(
    wh: Warehouse, config: Config, level: str, period: str | None, grain: Grain, history: int
) -> Run:
    top = config.question_of_kind("nps")
    if top is None or top.id not in wh.table("feedback").columns:
        raise QueryError("survey hygiene needs an NPS question ([[questions]] kind = 'nps')")
    units = read_units(wh)
    ancestors = unit_ancestors(unit_placements(wh), config.units.levels, level)
    period = period or choose_period(wh, grain).label
    since, start, end, labels = period_window(period, grain, history)
    scales = {(q.min, q.max) for q in driver_questions(wh, config)}
    return Run(
        level=level, ancestors=ancestors, period=period, grain=grain, history=labels,
        names=dict(zip(units.unit_id.astype(str), units.name.astype(str), strict=True)),
        since=since, start=start, end=end, min_n=config.listening.min_n, top=f"{top.max:g}s",
        scale=next(iter(scales)) if len(scales) == 1 else None,
    )  # fmt: skip


def check_hygiene(
    wh: Warehouse,
    config: Config,
    *,
    level: str = "store",
    period: str | None = None,
    grain: Grain = Grain.month,
    history: int = 6,
    fdr: float = 0.05,
    quick_minutes: float = 10.0,
    min_ratio: float = 2.0,
    min_n: int | None = None,
) -> HygieneReport:
    """Test every unit at ``level`` in ``period`` (default: the latest) for the three signals.

    The history is the ``history`` periods before ``period``. ``min_n`` (default ``[listening]
    min_n``) is the fewest answers, invitations or timed responses on each side to test a unit.
    """
    if not 0 < fdr < 1:
        raise QueryError(f"the false discovery rate must lie in (0, 1), got {fdr}", argument="fdr")
    if history < 1 or quick_minutes <= 0 or min_ratio < 1:
        raise QueryError(
            "the history is at least 1 period, a quick response above 0 minutes and the "
            "smallest quick-share ratio at least 1"
        )
    run = _prepare(wh, config, level, period, grain, history)
    run = replace(run, min_n=min_n) if min_n is not None else run
    if _rows_in_period(wh, run) == 0:
        raise QueryError(f"no survey responses or invitations at level '{level}' in {run.period}")
    cells = period_cells(wh, config, run, quick_minutes * 60)
    s = split_sides(cells, run.start)
    tests = {
        Signal.top_box: top_box(s, run),
        Signal.quick_response: quick_response(s, run, quick_minutes, min_ratio, fdr),
        Signal.rate_jump: rate_jump(s, run),
    }
    rows = [r for sig, t in tests.items() for r in _rows(sig, t, s.units, run, fdr)]
    rows.sort(key=lambda r: (not r.flagged, _nan_last(r.q_value), r.signal, r.unit_id))
    return HygieneReport(
        level=level, grain=str(grain), period=run.period, history=run.history, fdr=fdr,
        quick_minutes=quick_minutes, min_ratio=min_ratio, min_n=run.min_n, rows=rows,
        inflation={k: v for t in tests.values() for k, v in t.inflation.items()},
        notes=_notes(wh),
    )  # fmt: skip


def _nan_last(value: float) -> float:
    return value if math.isfinite(value) else 2.0

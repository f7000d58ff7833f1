"""What the report site shows, gathered once per run from the workspace's own results.

:func:`gather_site` calls the workspace's public methods once per level (never once per unit):
the monthly scorecard, the fair ranking, the focus lists priced by worth, the reliability of
every moment and the incidents. :mod:`earnright.report.site` then cuts one page per unit out
of them; nothing is computed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from earnright.errors import EarnrightError
from earnright.periods import Grain, choose_period
from earnright.units import read_units

if TYPE_CHECKING:
    from earnright.api.workspace import Workspace
    from earnright.progress import Progress

__all__ = ["SiteInputs", "gather_site"]


@dataclass
class SiteInputs:
    """Every result the site draws, each computed once for every unit (JSON-ready rows)."""

    company: str
    levels: list[str]
    period: str
    period_reason: str
    units: list[dict[str, Any]]  # unit_id, name, level, parent_id
    scorecard: list[dict[str, Any]]  # every level, every month up to the period
    rankings: dict[str, list[dict[str, Any]]]  # by level: the fair ranking in the period
    focus: dict[str, dict[str, Any]]  # by unit_id: its focus list
    reliability: dict[str, Any] | None
    incidents: list[dict[str, Any]]
    drivers: dict[str, str]  # driver column -> its label
    currency: str = ""
    notes: list[str] = field(default_factory=list)


def _stage(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def gather_site(ws: Workspace, period: str | None, progress: Progress | None) -> SiteInputs:
    """Compute every result of the site (module doc) for the month ``period`` (default: the
    latest complete month)."""
    config, levels = ws.config, list(ws.config.units.levels)
    with ws.warehouse() as wh:
        choice = choose_period(wh, Grain.month, period)
        units = read_units(wh)
    units = units.astype(object).where(units.notna(), None)
    notes: list[str] = []
    scorecard: list[dict[str, Any]] = []
    rankings: dict[str, list[dict[str, Any]]] = {}
    focus: dict[str, dict[str, Any]] = {}
    total = 2 * len(levels)
    for done, level in enumerate(levels):
        _stage(progress, "scorecard, ranking, focus", 2 * done, total)
        rows = ws.scorecard(level=level, grain=Grain.month).rows
        scorecard += [r for r in rows if str(r["period"]) <= choice.label]
        if level == levels[0]:
            continue  # the top unit has no peers to rank or to fall behind
        rankings[level] = _ranking(ws, level, choice.label, notes)
        _stage(progress, "scorecard, ranking, focus", 2 * done + 1, total)
        focus |= {f["unit_id"]: f for f in _focus(ws, level, choice.label, notes)}
    _stage(progress, "scorecard, ranking, focus", total, total)
    _stage(progress, "reliability and incidents", 0, 1)
    reliability = None
    if config.journey.indicators():
        reliability = ws.reliability(period=choice.label).to_dict()
    warnings = ws.warnings(status="all")
    _stage(progress, "reliability and incidents", 1, 1)
    columns = {str(c)[: -len("_mean")] for r in scorecard[:1] for c in r if c.endswith("_mean")}
    drivers = {c: _label(ws, c) for c in sorted(columns)}
    rows = [{str(k): v for k, v in u.items()} for u in units.to_dict(orient="records")]
    return SiteInputs(
        company=config.company.name, levels=levels, period=choice.label,
        period_reason=choice.reason, units=rows,
        scorecard=scorecard, rankings=rankings, focus=focus, reliability=reliability,
        incidents=warnings.rows, drivers=drivers, currency=config.company.currency, notes=notes,
    )  # fmt: skip


def _label(ws: Workspace, column: str) -> str:
    question = ws.config.question(column)
    return question.label or column if question is not None else column


def _ranking(ws: Workspace, level: str, period: str, notes: list[str]) -> list[dict[str, Any]]:
    """The level's fair ranking in ``period``, or none (with the reason in ``notes``)."""
    try:
        return ws.rank(level=level, period=period).rows
    except EarnrightError as error:
        notes.append(f"no {level} ranking: {error}")
        return []


def _focus(ws: Workspace, level: str, period: str, notes: list[str]) -> list[dict[str, Any]]:
    """Every unit's focus list at ``level``, priced by worth when the customers allow it."""
    try:
        return ws.focus(every=True, level=level, period=period, sort="worth").to_dict()
    except EarnrightError as error:
        notes.append(f"focus items at {level} not priced: {error}")
    try:
        return ws.focus(every=True, level=level, period=period).to_dict()
    except EarnrightError as error:
        notes.append(f"no focus items at {level}: {error}")
        return []

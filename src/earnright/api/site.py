"""What the report site shows, gathered once per run from the workspace's own results.

:func:`gather_site` asks for each result once per level (never once per unit), through a
:class:`~earnright.api.computed.Computed` that the pack of the same run shares: the monthly
scorecard, the fair ranking, the focus lists priced by worth, the reliability of every moment
and the incidents. :mod:`earnright.report.site` then cuts one page per unit out of them;
nothing is computed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from earnright.api.computed import Computed
from earnright.errors import EarnrightError, QueryError
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
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # month's, by unit
    currency: str = ""
    notes: list[str] = field(default_factory=list)


def _stage(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def _needed(levels: list[str], level: str | None) -> tuple[list[str], list[str], list[str]]:
    """The levels whose scorecard, ranking and focus lists the pages of a ``level`` unit's
    subtree show: scorecards from its parent's level down (a page compares its driver means
    with its parent's), rankings below it (a page races its children), focus from it down."""
    i = levels.index(level) if level is not None else 0
    return levels[max(i - 1, 0) :], levels[i + 1 :], [v for v in levels[i:] if v != levels[0]]


def gather_site(
    source: Workspace | Computed,
    period: str | None,
    progress: Progress | None,
    unit: str | None = None,
) -> SiteInputs:
    """Compute every result of the site (module doc) for the month ``period`` (default: the
    latest complete month); with ``unit``, only what the pages of its subtree show (its
    parent's scorecard, the races below it) and nothing of units outside it. ``source`` is
    the workspace, or the results of a run that may already hold some (the pack's)."""
    computed = source if isinstance(source, Computed) else Computed(source)
    ws = computed.ws
    config, levels = ws.config, list(ws.config.units.levels)
    with ws.warehouse() as wh:
        choice = choose_period(wh, Grain.month, period)
        units = read_units(wh)
    units = units.astype(object).where(units.notna(), None)
    keep = _kept(units, unit)
    level = None if keep is None else str(units.loc[units.unit_id == unit, "level"].iloc[0])
    cards, races, lists = _needed(levels, level)
    notes: list[str] = []
    scorecard: list[dict[str, Any]] = []
    rankings: dict[str, list[dict[str, Any]]] = {}
    focus: dict[str, dict[str, Any]] = {}
    total = 2 * len(cards)
    for done, level in enumerate(cards):
        _stage(progress, "site: scorecard, ranking, focus", 2 * done, total)
        rows = computed.scorecard(level)
        scorecard += [r for r in rows if str(r["period"]) <= choice.label]
        if level in races:
            rankings[level] = _ranking(computed, level, choice.label, notes)
        _stage(progress, "site: scorecard, ranking, focus", 2 * done + 1, total)
        if level in lists:
            focus |= {f["unit_id"]: f for f in _focus(computed, level, choice.label, notes)}
    _stage(progress, "site: scorecard, ranking, focus", total, total)
    if keep is not None:
        scorecard = [r for r in scorecard if r["unit_id"] in keep]
        rankings = {lv: [r for r in rows if r["unit_id"] in keep] for lv, rows in rankings.items()}
        focus = {u: f for u, f in focus.items() if u in keep}
        units = units[units.unit_id.isin(keep)]
    stage = "site: reliability, incidents, comments"  # "site" first: one pass in the logs
    _stage(progress, stage, 0, 1)
    reliability = None
    if config.journey.indicators():
        reliability = computed.reliability(choice.label)
    incidents = computed.incidents()
    if keep is not None:
        incidents = _incidents_within(incidents, units, levels, str(unit))
    comments = _month_comments(ws, choice.label, units, unit)
    _stage(progress, stage, 1, 1)
    columns = {str(c)[: -len("_mean")] for r in scorecard[:1] for c in r if c.endswith("_mean")}
    drivers = {c: _label(ws, c) for c in sorted(columns)}
    rows = [{str(k): v for k, v in u.items()} for u in units.to_dict(orient="records")]
    return SiteInputs(
        company=config.company.name, levels=levels, period=choice.label,
        period_reason=choice.reason, units=rows,
        scorecard=scorecard, rankings=rankings, focus=focus, reliability=reliability,
        incidents=incidents, drivers=drivers, comments=comments,
        currency=config.company.currency, notes=notes,
    )  # fmt: skip


def _month_comments(
    ws: Workspace, period: str, units: Any, unit: str | None
) -> dict[str, list[dict[str, Any]]]:
    """The month's comments with their labels (relabelled first when the themes changed), of
    ``unit``'s subtree only when given."""
    from earnright.comments.feed import month_comments
    from earnright.report.site import subtree

    ws._relabel()
    below = None
    if unit is not None:
        rows = [{str(k): v for k, v in u.items()} for u in units.to_dict(orient="records")]
        below = subtree(rows, unit)
    with ws.warehouse() as wh:
        return month_comments(wh, period, below)


def _incidents_within(
    incidents: list[dict[str, Any]], units: Any, levels: list[str], unit: str
) -> list[dict[str, Any]]:
    """The incidents that concern ``unit``'s subtree, each cut to its part inside it."""
    from earnright.report.site import subtree
    from earnright.services.pack import within_subtree

    rows = [{str(k): v for k, v in u.items()} for u in units.to_dict(orient="records")]
    level = next(str(u["level"]) for u in rows if str(u["unit_id"]) == unit)
    scope = {"below": subtree(rows, unit), "levels": levels, "level": level}
    return [row for ok, row in (within_subtree(i, scope) for i in incidents) if ok]


def _kept(units: Any, unit: str | None) -> set[str] | None:
    """``unit``'s subtree and its ancestors (None: every unit); QueryError when unknown."""
    if unit is None:
        return None
    if unit not in set(units.unit_id.astype(str)):
        raise QueryError(f"no unit '{unit}' in the workspace's hierarchy", argument="unit")
    from earnright.report.site import subtree

    rows = [{str(k): v for k, v in u.items()} for u in units.to_dict(orient="records")]
    parents = {str(u["unit_id"]): u["parent_id"] for u in rows}
    keep, parent = set(subtree(rows, unit)), parents.get(unit)
    while parent is not None and str(parent) in parents and str(parent) not in keep:
        keep.add(str(parent))
        parent = parents[str(parent)]
    return keep


def _label(ws: Workspace, column: str) -> str:
    question = ws.config.question(column)
    return question.label or column if question is not None else column


def _ranking(computed: Computed, level: str, period: str, notes: list[str]) -> list[dict[str, Any]]:
    """The level's fair ranking in ``period``, or none (with the reason in ``notes``)."""
    try:
        return computed.ranking(level, period)
    except EarnrightError as error:
        notes.append(f"no {level} ranking: {error}")
        return []


def _focus(computed: Computed, level: str, period: str, notes: list[str]) -> list[dict[str, Any]]:
    """Every unit's focus list at ``level``, priced by worth when the customers allow it."""
    try:
        return computed.focus(level, period, sort="worth")
    except EarnrightError as error:
        notes.append(f"focus items at {level} not priced: {error}")
    try:
        return computed.focus(level, period)
    except EarnrightError as error:
        notes.append(f"no focus items at {level}: {error}")
        return []

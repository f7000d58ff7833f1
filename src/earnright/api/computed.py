"""Every result the site and the pack draw, computed once per run and handed to both.

A :class:`Computed` asks the workspace's public methods for a result the first time a writer
needs it and hands the same result to every later ask: the site's pages, the pack, each
recipient's pack of ``pack --email``. So one run makes one scorecard per level (every month;
a month's rows are cut from it), one fair ranking per level and month, one focus pass per
level and month (priced with one pass over the respondents, whatever the level), one
reliability pass per month, one incident list, one asset ledger and loss summary per level
and month and one outcomes pass. An error is kept like a result: a section that cannot be
computed says why wherever it is drawn, without asking again.

:meth:`Computed.adopt` takes what :func:`earnright.services.report.build_report` has already
computed (``earnright demo`` runs it first): its scorecard of every level, its ranking and
focus lists of the lowest level, and its asset ledger of the top level, each equal to what
the workspace's method returns for the same question (tests/api/test_computed.py); and the
ledger's customer spells and lifetime-value fit, which every loss summary of the run reuses
(while the warehouse still gives them: :class:`earnright.customers.assets.SpellBasis`) rather
than reading the purchases and fitting again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from earnright.errors import EarnrightError
from earnright.periods import Grain

if TYPE_CHECKING:
    import pandas as pd

    from earnright.api.workspace import Workspace
    from earnright.config import Config
    from earnright.customers.assets import SpellBasis
    from earnright.customers.loyalty import Respondents
    from earnright.listening.focus import FocusList
    from earnright.services.report import Report

__all__ = ["Computed"]

T = TypeVar("T")


class Computed:
    """The results of one run over a workspace, each computed on first ask (module doc)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._kept: dict[tuple[Any, ...], tuple[bool, Any]] = {}
        self.computed: list[tuple[Any, ...]] = []  # what was asked of the workspace, in order
        self._spells: SpellBasis | None = None  # adopted from build_report's ledger

    @property
    def config(self) -> Config:
        return self.ws.config

    def _once(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        if key not in self._kept:
            self.computed.append(key)
            try:
                self._kept[key] = (True, compute())
            except EarnrightError as error:
                self._kept[key] = (False, error)
        ok, value = self._kept[key]
        if not ok:
            raise value
        return value

    def scorecard(self, level: str) -> list[dict[str, Any]]:
        """The monthly scorecard of every unit at ``level``, every month (``ws.scorecard``)."""
        return self._once(
            ("scorecard", level), lambda: self.ws.scorecard(level=level, grain=Grain.month).rows
        )

    def scorecard_in(self, level: str, period: str) -> list[dict[str, Any]]:
        """The monthly scorecard of ``level`` in ``period``: cut from :meth:`scorecard` when
        this run has it (the same rows as asking for the month alone), else the month alone."""
        if self._kept.get(("scorecard", level), (False, None))[0]:
            return [r for r in self.scorecard(level) if str(r["period"]) == period]
        return self._once(
            ("scorecard", level, period),
            lambda: self.ws.scorecard(level=level, grain=Grain.month, period=period).rows,
        )

    def ranking(self, level: str, period: str) -> list[dict[str, Any]]:
        """The fair ranking of ``level`` in ``period`` (``ws.rank``)."""
        return self._once(
            ("ranking", level, period), lambda: self.ws.rank(level=level, period=period).rows
        )

    def focus(self, level: str, period: str, sort: str = "gap") -> list[dict[str, Any]]:
        """Every unit's focus list at ``level`` (``ws.focus(every=True, ...)``); ``sort="worth"``
        prices it with the one respondents pass of the run."""
        from earnright.api.results import FocusResult

        def priced() -> list[dict[str, Any]]:
            lists = self._focus_lists(level, period)
            with self.ws.warehouse() as wh:
                found = self.ws._price_focus(wh, lists, self._respondents())
            return FocusResult(lists=found).to_dict()

        if sort == "worth":
            return self._once(("focus", level, period, "worth"), priced)
        return self._once(
            ("focus", level, period, "gap"),
            lambda: FocusResult(lists=self._focus_lists(level, period)).to_dict(),
        )

    def _focus_lists(self, level: str, period: str) -> list[FocusList]:
        return self._once(
            ("focus lists", level, period),
            lambda: self.ws.focus(every=True, level=level, period=period).lists,
        )

    def _respondents(self) -> Respondents:
        def read() -> Respondents:
            with self.ws.warehouse() as wh:
                return self.ws._respondents(wh)

        return self._once(("respondents",), read)

    def reliability(self, period: str) -> dict[str, Any]:
        """Every moment's indicators over the month ``period`` (``ws.reliability``)."""
        return self._once(
            ("reliability", period), lambda: self.ws.reliability(period=period).to_dict()
        )

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident, open or resolved (``ws.warnings(status="all")``)."""
        return self._once(("incidents",), lambda: self.ws.warnings(status="all").rows)

    def assets(self, level: str, period: str) -> list[dict[str, Any]]:
        """The customer asset ledger of ``level`` in ``period`` (``ws.assets``)."""
        return self._once(
            ("assets", level, period), lambda: self.ws.assets(level=level, period=period).rows
        )

    def losses(self, level: str, period: str) -> list[dict[str, Any]]:
        """Why customers left, per unit of ``level`` in ``period`` (``ws.losses``; on the
        adopted ledger's spells and fit, when there are)."""
        if self._spells is None:
            return self._once(
                ("losses", level, period), lambda: self.ws.losses(level=level, period=period).rows
            )
        basis = self._spells
        return self._once(
            ("losses", level, period),
            lambda: self.ws._losses_result(level, None, period, basis).rows,
        )

    def outcomes(self) -> pd.DataFrame:
        """Every action's measured outcome (``ws.outcomes``)."""
        return self._once(("outcomes",), lambda: self.ws.outcomes().to_frame())

    def adopt(self, report: Report) -> None:
        """Keep what ``build_report`` computed (module doc) as if asked here."""
        from earnright.api.customers import AssetsResult
        from earnright.api.listening import _plain
        from earnright.api.records import records
        from earnright.api.results import ScorecardResult
        from earnright.listening.scorecard import suppress_scores

        levels, period = list(self.config.units.levels), report.month.label
        frame = suppress_scores(report.scorecard, self.config.listening.min_n)
        for level in levels:
            rows = ScorecardResult.of(frame[frame.level == level].reset_index(drop=True)).rows
            self._kept[("scorecard", level)] = (True, rows)
        if report.ranking.period == period:
            ranked = records(_plain(report.ranking.units))
            self._kept[("ranking", levels[-1], period)] = (True, ranked)
        self._kept[("focus lists", levels[-1], period)] = (True, list(report.focus))
        if report.ledger is not None:
            month = report.ledger[report.ledger.period.astype(str) == period]
            if not month.empty:
                rows = AssetsResult.of(month.reset_index(drop=True)).rows
                self._kept[("assets", levels[0], period)] = (True, rows)
        self._spells = report.spells

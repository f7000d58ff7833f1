"""The scorecard report of a workspace: computed once, written as CSV, Parquet, JSON and HTML.

:func:`build_report` computes what the page shows (the scorecard at every level, the latest
complete month's ranking and focus lists, reliability and incidents when indicators are
declared) and renders the page; :meth:`Report.write` writes it all to a folder. ``earnright
demo`` calls it for the demo company; any workspace can.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from earnright.customers.assets import compute_ledger
from earnright.export import write_csv
from earnright.listening.focus import FocusList, compute_focus
from earnright.listening.ranking import Ranking, rank_units
from earnright.listening.scorecard import compute_scorecard
from earnright.periods import Grain, PeriodChoice, choose_period
from earnright.progress import Progress
from earnright.reliability.budget import ReliabilityReport
from earnright.reliability.incidents import list_incidents
from earnright.reliability.indicators import compute_reliability
from earnright.report import render_scorecard_page

if TYPE_CHECKING:
    from earnright.config import Config
    from earnright.customers.assets import SpellBasis
    from earnright.warehouse import Warehouse

__all__ = ["REPORT_FILES", "Report", "build_report"]

# The files Report.write writes, by key, in its folder.
REPORT_FILES = {
    "csv": "scorecard.csv",
    "parquet": "scorecard.parquet",
    "html": "scorecard.html",
    "reliability": "reliability.json",
    "warnings": "warnings.json",
    "focus": "focus.json",
    "ranking": "ranking.json",
    "assets": "assets.json",
}


@dataclass
class Report:
    """What the page shows, and the page."""

    scorecard: pd.DataFrame
    ranking: Ranking
    focus: list[FocusList]
    month: PeriodChoice
    html: str
    reliability: ReliabilityReport | None = None
    incidents: list[dict[str, Any]] = field(default_factory=list)
    ledger: pd.DataFrame | None = None  # the company's monthly customer asset ledger
    # the ledger's spells and lifetime-value fit, for the loss reasons (not written)
    spells: SpellBasis | None = None

    def write(self, folder: Path) -> dict[str, Path]:
        """Write every file of ``REPORT_FILES`` (reliability only with indicators) to
        ``folder``; the paths by key."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {key: folder / name for key, name in REPORT_FILES.items()}
        if self.reliability is None:
            del paths["reliability"]
        if self.ledger is None:
            del paths["assets"]
        else:
            paths["assets"].write_text(self.ledger.to_json(orient="records", indent=2))
        write_csv(self.scorecard, paths["csv"])  # cells a spreadsheet would run are neutralised
        self.scorecard.to_parquet(paths["parquet"], index=False)
        if self.reliability is not None:
            paths["reliability"].write_text(json.dumps(self.reliability.to_dict(), indent=2))
        paths["warnings"].write_text(json.dumps(self.incidents, indent=2))
        paths["focus"].write_text(json.dumps([f.to_dict() for f in self.focus], indent=2))
        ranking = json.dumps(self.ranking.to_dict(), indent=2, default=str)
        paths["ranking"].write_text(ranking)
        paths["html"].write_text(self.html, encoding="utf-8")
        return paths


def _stage(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def build_report(wh: Warehouse, config: Config, *, progress: Progress | None = None) -> Report:
    """Compute and render the scorecard report of the data in ``wh`` (module doc)."""
    levels = config.units.levels
    frames = []
    for done, level in enumerate(levels):
        _stage(progress, "scorecard", done, len(levels))
        frames.append(compute_scorecard(wh, config, level=level))
    _stage(progress, "scorecard", len(levels), len(levels))
    _stage(progress, "ranking and focus lists", 0, 2)
    month = choose_period(wh, Grain.month)  # the latest complete month
    ranking = rank_units(wh, config, level=levels[-1], period=month.label)
    _stage(progress, "ranking and focus lists", 1, 2)
    focus = compute_focus(wh, config, level=levels[-1], period=month.label)
    _stage(progress, "ranking and focus lists", 2, 2)
    _stage(progress, "reliability", 0, 1)
    reliability = compute_reliability(wh, config) if config.journey.indicators() else None
    _stage(progress, "reliability", 1, 1)
    currency = config.company.currency  # the page prints money in it
    ledger, spells = None, None
    if _has_customers(wh):  # a pass of its own in the progress lines (minutes at 1,000 stores)
        _stage(progress, "asset ledger", 0, 1)
        kept = compute_ledger(wh, config, level=levels[0], keep_spells=True)
        ledger, spells = kept.frame, kept.basis
        _stage(progress, "asset ledger", 1, 1)
    incidents = [i.record() | {"currency": currency} for i in list_incidents(wh)]
    _stage(progress, "page", 0, 1)
    scorecard = pd.concat(frames, ignore_index=True)
    page = render_scorecard_page(
        scorecard,
        config.company.name,
        store_level=levels[-1],
        ranking=ranking,
        focus=focus,
        reliability=reliability,
        incidents=incidents,
        period=month.label,
        period_reason=month.reason,
        min_n=config.listening.min_n,
        ledger=ledger,
        currency=currency,
    )
    _stage(progress, "page", 1, 1)
    return Report(scorecard, ranking, focus, month, page, reliability, incidents, ledger, spells)


def _has_customers(wh: Warehouse) -> bool:
    """Are there customers and transactions to keep a ledger of?"""
    return all(int(wh.table(t).count().execute()) > 0 for t in ("customers", "transactions"))

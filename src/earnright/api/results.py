"""The typed results of the public API: one per capability, each renderable by any surface.

Every result is a pydantic model with

- ``to_dict()``: JSON-ready data (lists, dicts, str, numbers, None), exactly what the command
  line prints with ``--format json`` for the same request;
- ``to_frame()``: a pandas DataFrame, the rows the command line's CSV, Parquet and Excel hold;
- ``notes``: what the command line says on standard error (the periods chosen, a left-out
  driver …);
- a short ``repr`` saying what it holds.

Table-like results give their rows as JSON-ready records (``rows``, made from the frame when first
asked for), so they round-trip through ``model_dump_json``; ``to_frame()`` returns the analytics'
own frame (with its dtypes) when the result was computed in this process, else a frame of the
rows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import Field, PrivateAttr

from earnright.api.localize import LocalizeResult
from earnright.api.records import jsonable
from earnright.api.result_base import Result, TableResult
from earnright.listening.drivers import DriverResult
from earnright.listening.focus import FocusList
from earnright.reliability.budget import ReliabilityReport

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ChangesResult",
    "CredibilityResult",
    "DetectResult",
    "DriversResult",
    "FocusResult",
    "HygieneResult",
    "IngestResults",
    "LocalizeResult",
    "NeededResult",
    "QuarantineResult",
    "RankResult",
    "ReliabilityResult",
    "Result",
    "ScorecardResult",
    "StatusResult",
    "TableResult",
    "WarningsResult",
    "WatchResult",
]


class _PerUnit(TableResult):
    level: str = "store"
    grain: str = "month"
    period: str | None = None

    def _what(self) -> str:
        return f"by {self.level}, {self.period or 'every ' + self.grain}"


class ScorecardResult(_PerUnit):
    """Per unit and period: responses, response rate, NPS and CSAT with 95% intervals."""


class CredibilityResult(_PerUnit):
    """Per unit, period and metric: estimate, 95% interval, n and whether it can be trusted."""


class NeededResult(_PerUnit):
    """Responses each unit needs per period to detect ``change`` NPS points."""

    change: float = 10.0
    power: float = 0.8


class ChangesResult(_PerUnit):
    """Units whose score changed by more than sampling noise (only the flagged ones unless
    ``show_all``); ``tested`` and ``flagged`` count every unit."""

    against: str = "previous"
    metric: str = "nps"
    fdr: float = 0.05
    tested: int = 0
    flagged: int = 0

    def _what(self) -> str:
        return (
            f"{self.metric} by {self.level} in {self.period} against {self.against}: "
            f"{self.flagged} of {self.tested} flagged"
        )


class RankResult(_PerUnit):
    """A fair ranking: per unit n, raw score, shrunk estimate with its interval, rank, tier."""

    metric: str = "nps"
    peer: str | None = None
    chain_mean: float = math.nan
    min_n: int = 0
    tau2: float = math.nan
    omega2: float = math.nan
    sigma2: float = math.nan
    _ranking: Any = PrivateAttr(default=None)

    @property
    def ranking(self) -> Any:
        """The analytics' :class:`~earnright.listening.ranking.Ranking` (this process only)."""
        return self._ranking

    def _what(self) -> str:
        return f"{self.metric} of {self.level}s, {self.period}"


class HygieneResult(_PerUnit):
    """Survey hygiene: the flagged units and signals (every test when ``show_all``);
    ``caveats`` says what limits the tests (a signal not testable, inflation corrected …)."""

    history: list[str] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    fdr: float = 0.05
    flags: int = 0
    tested: int = 0

    def _what(self) -> str:
        return f"by {self.level} in {self.period}: {self.flags} flags in {self.tested} tests"


class WarningsResult(TableResult):
    """Early-warning incidents, newest first."""

    currency: str = ""

    def _what(self) -> str:
        return "incidents"


class IngestResults(TableResult):
    """One row per file ingested; ``summaries`` says what each did in a sentence."""

    summaries: list[str] = Field(default_factory=list)

    def _what(self) -> str:
        return "files"


class QuarantineResult(TableResult):
    """Quarantined rows with their state (open or superseded)."""

    state: str = "all"

    def _what(self) -> str:
        return f"quarantined ({self.state})"


class DetectResult(TableResult):
    """A series with an ``anomaly_score`` per row, in file order."""

    def _what(self) -> str:
        return "scored"


class DriversResult(Result):
    """Key drivers per unit (or of a table): LMG and relative weight with 95% intervals; each
    unit's own notes (a driver left out, a model not fitted) are in its ``notes``."""

    results: list[DriverResult]

    def to_dict(self) -> Any:
        return jsonable([r.model_dump(mode="json") for r in self.results])

    def to_frame(self) -> pd.DataFrame:
        from earnright.listening.drivers import drivers_frame

        return drivers_frame(self.results)

    def _summary(self) -> str:
        outcome = self.results[0].outcome if self.results else "-"
        return f"drivers of {outcome}: {len(self.results)} unit(s)"


class FocusResult(Result):
    """The few things each unit should fix, with the evidence."""

    lists: list[FocusList]

    def to_dict(self) -> Any:
        return jsonable([f.to_dict() for f in self.lists])

    def to_frame(self) -> pd.DataFrame:
        from earnright.listening.focus import focus_frame

        return focus_frame(self.lists)

    def _summary(self) -> str:
        items = sum(len(f.items) for f in self.lists)
        return f"{len(self.lists)} unit(s), {items} item(s)"


class ReliabilityResult(Result):
    """Every journey moment's indicators rated against their objectives."""

    report: ReliabilityReport
    period: str | None = None

    def to_dict(self) -> Any:
        return jsonable(self.report.to_dict())

    def to_frame(self) -> pd.DataFrame:
        return self.report.to_frame()

    def _summary(self) -> str:
        ratings = ", ".join(f"{m.moment} {m.rating}" for m in self.report.moments)
        span = self.period or f"windows ending {self.report.at:%Y-%m-%d %H:%M}"
        return f"{span}: {ratings}"


class StatusResult(Result):
    """Rows per table, batches, the quarantine by reason and state, unknown customers."""

    report: dict[str, Any]

    def to_dict(self) -> Any:
        return jsonable(self.report)

    def to_frame(self) -> pd.DataFrame:
        """Rows per table (``tables()`` has every table of the report)."""
        return self.tables()["tables"][0]

    def tables(self) -> dict[str, tuple[pd.DataFrame, str]]:
        """The report as (frame, title) per sheet name."""
        from earnright.services.status import status_tables

        return status_tables(self.report)

    def _summary(self) -> str:
        rows = sum(self.report["tables"].values())
        return f"{rows:,} rows, {len(self.report['batches'])} batches, " + (
            f"{self.report['quarantine_open']:,} quarantined rows open"
        )


class WatchResult(Result):
    """What one early-warning cycle did: the inbox, detection and delivery."""

    detection: dict[str, Any]
    delivery: dict[str, Any] = Field(default_factory=dict)
    inbox: dict[str, list[Any]] | None = None

    def to_dict(self) -> Any:
        cycle: dict[str, Any] = {"detection": self.detection, "delivery": self.delivery}
        if self.inbox is not None:
            cycle["inbox"] = self.inbox
        return jsonable(cycle)

    def to_frame(self) -> pd.DataFrame:
        """The incidents the cycle opened, updated and resolved."""
        import pandas as pd

        rows = [
            {"incident": i, "change": change}
            for change in ("opened", "updated", "resolved")
            for i in self.detection.get(change, [])
        ]
        return pd.DataFrame(rows, columns=["incident", "change"])

    def _summary(self) -> str:
        d = self.detection
        return (
            f"{d.get('alerts', 0)} alert(s); opened {len(d.get('opened', []))}, "
            f"resolved {len(d.get('resolved', []))}"
        )

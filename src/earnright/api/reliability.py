"""The reliability capabilities behind :class:`~earnright.api.Workspace`'s methods."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from earnright.api.results import ReliabilityResult, WarningsResult
from earnright.errors import QueryError
from earnright.periods import METRICS, Period, require_data

if TYPE_CHECKING:
    from earnright.config import Config
    from earnright.warehouse import Warehouse

__all__ = ["INCIDENT_COLUMNS", "parse_at", "parse_since", "reliability_result", "warnings_result"]

INCIDENT_COLUMNS = [
    "id", "moment", "metric", "segment", "started_at", "status", "customers_affected",
    "revenue_at_risk", "revenue_at_risk_low", "revenue_at_risk_high", "owner",
]  # fmt: skip


def parse_at(value: datetime | str) -> datetime:
    """An ISO 8601 date or date-time (or a datetime) as naive UTC; QueryError naming ``at``."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise QueryError(
            f"'{value}' is not an ISO 8601 date-time (e.g. 2026-09-30 or 2026-09-30T12:00)",
            argument="at",
        ) from exc


def parse_since(value: datetime | str | None) -> datetime | None:
    """A date (ISO 8601 text or a datetime) as naive; QueryError naming ``since``."""
    import pandas as pd

    if value is None:
        return None
    try:
        return pd.Timestamp(value).tz_localize(None).to_pydatetime()
    except (ValueError, TypeError) as exc:
        raise QueryError(
            f"'{value}' is not a date; expected e.g. 2026-08-01", argument="since"
        ) from exc


def reliability_result(
    wh: Warehouse,
    config: Config,
    period: Period | None,
    at: datetime | str | None,
    options: tuple[str | None, bool],
) -> ReliabilityResult:
    """``compute_reliability`` over ``period`` or the windows ending ``at`` (``options``:
    the indicator to keep, and whether to keep the segments)."""
    from earnright.reliability.indicators import compute_reliability

    indicator, segments = options
    when = parse_at(at) if at is not None else None
    if period is not None:
        require_data(wh, period, period.grain, METRICS)
    report = compute_reliability(wh, config, at=when, period=period, indicator=indicator)
    notes = []
    if period is None and at is None:
        notes.append(
            f"windows ending {report.at:%Y-%m-%d %H:%M} UTC (the end of the step holding the "
            "latest metrics observation; give `at` or `period` to choose)"
        )
    if not segments:
        report = report.without_segments()
    label = period.label if period is not None else None
    return ReliabilityResult(report=report, period=label, notes=notes)


def warnings_result(
    wh: Warehouse, config: Config, since: datetime | str | None, status: str
) -> WarningsResult:
    """Stored incidents, newest first, as records (``Incident.record()``)."""
    import pandas as pd

    from earnright.reliability.incidents import list_incidents

    found = list_incidents(wh, since=parse_since(since), status=None if status == "all" else status)
    rows = [i.record() for i in found]
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else INCIDENT_COLUMNS)
    result = WarningsResult(
        columns=[str(c) for c in frame.columns], rows=rows, currency=config.company.currency
    )
    result._frame = frame
    return result

"""The incident record: one row of the ``incidents`` table, and how it is read and written."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from earnright.reliability.localize import parse_cause
from earnright.warehouse import Warehouse

__all__ = [
    "CAUSE_SEPARATOR",
    "Incident",
    "load_incidents",
    "save_incident",
    "save_incidents",
    "utcnow",
]

CAUSE_SEPARATOR = "; "


@dataclass
class Incident:
    """One incident as stored in the ``incidents`` table."""

    incident_id: str
    indicator: str
    moment: str
    metric: str
    owner: str
    segment: str
    status: str
    severity: str
    started_at: datetime
    detected_at: datetime
    last_alert_at: datetime
    resolved_at: datetime | None = None
    customers_affected: int | None = None
    customer_value: float | None = None
    extra_churn: float | None = None
    extra_churn_low: float | None = None
    extra_churn_high: float | None = None
    churn_basis: str = "none"
    revenue_at_risk: float | None = None
    revenue_at_risk_low: float | None = None
    revenue_at_risk_high: float | None = None
    updated_at: datetime | None = None
    # the episode's churn counts, measured once its follow-up is complete (see pricing.py)
    churn_exposed: int | None = None
    churn_exposed_lost: int | None = None
    churn_control: int | None = None
    churn_control_lost: int | None = None
    churn_measured_at: datetime | None = None
    # migration 5: the end (exclusive) of the failure measured on the segment's own series; the
    # exposure runs to it, not to the last alert (None: not measured, the last alert is used)
    ended_at: datetime | None = None
    # migration 9: what customer_value is: "lifetime value" or "a year of spend" (issue 12;
    # None: priced before migration 9, a year of spend)
    value_basis: str | None = None

    @property
    def segments(self) -> list[dict[str, str]]:
        """The root causes as dimension -> value conditions ([{}] when everyone is hurt)."""
        if not self.segment:
            return [{}]
        return [parse_cause(part) for part in self.segment.split(CAUSE_SEPARATOR)]

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The exposure: from the failure's start to its measured end (else the last alert)."""
        return self.started_at, self.ended_at or self.last_alert_at

    def record(self) -> dict[str, Any]:
        """The JSON-ready record ``earnright warnings`` prints and alerts carry."""
        out = {
            "id": self.incident_id,
            "moment": self.moment,
            "indicator": self.indicator,
            "metric": self.metric,
            "segment": self.segment,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "detected_at": self.detected_at,
            "resolved_at": self.resolved_at,
            "status": self.status,
            "severity": self.severity,
            "owner": self.owner,
            "customers_affected": self.customers_affected,
            "customer_value": self.customer_value,
            "value_basis": self.value_basis,
            "extra_churn": self.extra_churn,
            "extra_churn_low": self.extra_churn_low,
            "extra_churn_high": self.extra_churn_high,
            "churn_basis": self.churn_basis,
            "revenue_at_risk": self.revenue_at_risk,
            "revenue_at_risk_low": self.revenue_at_risk_low,
            "revenue_at_risk_high": self.revenue_at_risk_high,
        }
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _clean(value: Any) -> Any:
    """A stored value as Python: NaN and NaT are None, timestamps are datetimes."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    return value


def load_incidents(wh: Warehouse, **where: str) -> list[Incident]:
    t = wh.table("incidents")
    for col, value in where.items():
        t = t.filter(t[col] == value)
    rows = t.order_by("started_at").execute()
    names = [f.name for f in fields(Incident)]
    return [Incident(**{n: _clean(row[n]) for n in names}) for row in rows.to_dict("records")]


def save_incident(wh: Warehouse, incident: Incident) -> None:
    save_incidents(wh, [incident])


def save_incidents(wh: Warehouse, incidents: list[Incident]) -> None:
    """Replace the stored rows of ``incidents`` with them: one delete and one insert for all
    (an insert per incident was a statement compiled and run per incident: 20 s of a
    1,000-store pass's 430 s wall)."""
    if not incidents:
        return
    wh.delete("incidents", {"incident_id": [i.incident_id for i in incidents]})
    wh.insert(
        "incidents", {f.name: [getattr(i, f.name) for i in incidents] for f in fields(Incident)}
    )

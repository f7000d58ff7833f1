"""What an incident puts at risk, as a record (:func:`earnright.reliability.revenue.revenue_at_risk`
computes it; the incidents table and the JSON results keep it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from earnright.reliability.valuation import YEAR_OF_SPEND

__all__ = ["Basis", "RevenueAtRisk"]

Basis = Literal["observed", "history", "none"]


@dataclass(frozen=True)
class RevenueAtRisk:
    """What an incident puts at risk, and on what evidence.

    ``basis``: ``observed`` (this exposure's own follow-up is complete and measured), ``history``
    (pooled from ``episodes`` earlier ones; the interval is for a new episode), ``none`` (no
    estimate: the revenue figures are null). ``customer_value`` is what an affected customer is
    worth on average, on ``value_basis``: ``lifetime value`` (expected discounted spend over 36
    months) or ``a year of spend`` (annual revenue, where the lifetime value cannot be fitted).
    ``extra_churn`` and its interval are clipped to [0, 1]; revenue = customers ×
    value × extra churn. ``follow_up_end``: when this exposure's own measurement is (or was)
    complete. ``notes`` name segment dimensions that were ignored and other caveats.
    """

    customers_affected: int
    customer_value: float
    extra_churn: float | None
    extra_churn_low: float | None
    extra_churn_high: float | None
    basis: Basis
    revenue_at_risk: float | None
    revenue_at_risk_low: float | None
    revenue_at_risk_high: float | None
    episodes: int = 0
    follow_up_end: datetime | None = None
    notes: list[str] = field(default_factory=list)
    value_basis: str = YEAR_OF_SPEND

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["follow_up_end"] = self.follow_up_end.isoformat() if self.follow_up_end else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RevenueAtRisk:
        values = dict(data)
        end = values.get("follow_up_end")
        values["follow_up_end"] = datetime.fromisoformat(end) if end else None
        values["notes"] = list(values.get("notes", []))
        return cls(**values)

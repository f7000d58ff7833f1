"""What customers are worth and whether they stay: value and churn from the transactions.

Customers are assets (DESIGN.md, competency 1): these are the building blocks the asset ledger
and the growth link reuse, and what revenue at risk (``earnright.reliability.revenue``) prices an
incident with. Every pass over raw rows is one Ibis expression; Python gets counts and sums.

- :func:`transaction_range` — the first and last transaction time;
- :func:`customer_value` — how many customers and their mean annual value (spend per
  customer-year observed before a date);
- :func:`churn_counts` — of an exposed group and a control group, how many had no transaction
  in a follow-up window (churned).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis import _

from earnright.warehouse import Warehouse

__all__ = ["YEAR_SECONDS", "churn_counts", "customer_value", "transaction_range"]

YEAR_SECONDS = 365.25 * 86_400


def transaction_range(wh: Warehouse) -> tuple[datetime | None, datetime | None]:
    """First and last transaction time (None, None when there are none)."""
    t = wh.table("transactions")
    row = t.aggregate(first=t.occurred_at.min(), last=t.occurred_at.max()).to_pandas()
    first, last = row["first"].iloc[0], row["last"].iloc[0]
    if pd.isna(first):
        return None, None
    return pd.Timestamp(first).to_pydatetime(), pd.Timestamp(last).to_pydatetime()


def customer_value(
    wh: Warehouse,
    customers: ir.Table,
    start: datetime,
    *,
    window: timedelta,
    first: datetime | None = None,
) -> tuple[int, float | None]:
    """How many ``customers`` (a table with ``customer_id``) and their mean annual value.

    The value is their spend in ``[start − window, start)`` ÷ the customer-years observed, × 1
    year. Each customer is observed from the latest of the window's start, ``first`` (the first
    transaction of all, :func:`transaction_range`), and their own joining (or first transaction
    in the window, if earlier). (0, 0.0) without customers; (n, None) when nothing was observed.
    """
    lo = max(start - window, first or start)
    t = wh.table("transactions")
    spend = (
        t.filter(t.occurred_at >= lo, t.occurred_at < start)
        .group_by("customer_id")
        .aggregate(spend=t.amount.sum(), first_seen=t.occurred_at.min())
    )
    c = wh.table("customers").select(cid="customer_id", joined_at="joined_at")
    rows = (
        customers.left_join(spend, "customer_id")
        .select(customers.customer_id, spend.spend, spend.first_seen)
        .left_join(c, _.customer_id == c.cid)
        .drop("cid")
    )
    joined = ibis.least(rows.joined_at, rows.first_seen).fill_null(ibis.literal(lo))
    since = ibis.greatest(joined, ibis.literal(lo))
    span = ibis.greatest(ibis.literal(start).epoch_seconds() - since.epoch_seconds(), 0)
    agg = rows.aggregate(
        n=rows.count(), spend=rows.spend.fill_null(0).sum(), seconds=span.sum()
    ).to_pandas()
    n = int(agg["n"].iloc[0])
    if n == 0:
        return 0, 0.0
    seconds = float(agg["seconds"].iloc[0])
    if seconds <= 0:
        return n, None
    return n, float(agg["spend"].iloc[0]) / seconds * YEAR_SECONDS


def churn_counts(
    wh: Warehouse, exposed: ir.Table, control: ir.Table, window: tuple[datetime, datetime]
) -> dict[int, tuple[int, int]]:
    """{1: (exposed, churned), 0: (control, churned)}: churned = no transaction in ``window``."""
    t = wh.table("transactions")
    seen = (
        t.filter(t.occurred_at >= window[0], t.occurred_at < window[1])
        .select("customer_id")
        .distinct()
        .mutate(seen=ibis.literal(1))
    )
    groups = ibis.union(
        exposed.mutate(exposed=ibis.literal(1)),
        control.anti_join(exposed, "customer_id").mutate(exposed=ibis.literal(0)),
    )
    joined = groups.left_join(seen, "customer_id").select(groups.exposed, seen.seen)
    counts = (
        joined.group_by("exposed")
        .aggregate(n=joined.count(), churned=joined.seen.isnull().sum())
        .to_pandas()
    )
    return {int(r.exposed): (int(r.n), int(r.churned)) for r in counts.itertuples()}

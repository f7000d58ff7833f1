"""The customers of many exposures valued in one engine query.

Pricing a detection pass values the affected customers of every incident it touched
(:func:`earnright.reliability.revenue.revenue_at_risk`). :func:`customer_values` does for a
list of customer groups what :func:`earnright.customers.customer_value` does for one, with one
scan of the transactions for all of them instead of one per group: each group's customers are
tagged with its index and its window, joined to their own transactions, and summed per group.
The figures are the same (the same spend, customer-seconds and count per group; a spend sum may
differ in its last bits, the engine's order of addition being free either way).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from earnright.customers.value import YEAR_SECONDS
from earnright.warehouse import Warehouse

__all__ = ["customer_values"]


def customer_values(
    wh: Warehouse,
    groups: Sequence[tuple[ir.Table, datetime]],
    *,
    window: timedelta,
    first: datetime | None = None,
) -> list[tuple[int, float | None]]:
    """Per group (customers, a table with distinct ``customer_id``, and the ``start`` they are
    valued at): how many customers and their mean annual value, exactly as
    :func:`earnright.customers.customer_value` defines them, from one engine query."""
    if not groups:
        return []
    tagged = []
    for k, (customers, start) in enumerate(groups):
        lo = max(start - window, first or start)
        tagged.append(
            customers.select("customer_id").mutate(
                _k=ibis.literal(k, type="int64"), _lo=ibis.literal(lo), _start=ibis.literal(start)
            )
        )
    g = tagged[0] if len(tagged) == 1 else ibis.union(*tagged, distinct=False)
    t = wh.table("transactions").select("customer_id", "occurred_at", "amount")
    seen = t.inner_join(g, "customer_id")
    seen = seen.filter(seen.occurred_at >= seen._lo, seen.occurred_at < seen._start)
    spend = seen.group_by(["_k", "customer_id"]).aggregate(
        spend=seen.amount.sum(), first_seen=seen.occurred_at.min()
    )
    c = wh.table("customers").select(cid="customer_id", joined_at="joined_at")
    rows = g.left_join(spend, ["_k", "customer_id"]).select(
        g._k, g.customer_id, g._lo, g._start, spend.spend, spend.first_seen
    )
    rows = rows.left_join(c, rows.customer_id == c.cid).drop("cid")
    joined = ibis.least(rows.joined_at, rows.first_seen).fill_null(rows._lo)
    since = ibis.greatest(joined, rows._lo)
    span = ibis.greatest(rows._start.epoch_seconds() - since.epoch_seconds(), 0)
    agg = (
        rows.group_by("_k")
        .aggregate(n=rows.count(), spend=rows.spend.fill_null(0).sum(), seconds=span.sum())
        .to_pandas()
        .set_index("_k")
    )
    out: list[tuple[int, float | None]] = []
    for k in range(len(groups)):
        if k not in agg.index or int(agg.at[k, "n"]) == 0:
            out.append((0, 0.0))
            continue
        n, seconds = int(agg.at[k, "n"]), float(agg.at[k, "seconds"])
        spend = float(agg.at[k, "spend"])
        out.append((n, None) if seconds <= 0 else (n, spend / seconds * YEAR_SECONDS))
    return out

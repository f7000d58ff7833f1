"""The customers of many exposures valued in one engine query.

Pricing a detection pass values the affected customers of every incident it touched
(:func:`earnright.reliability.revenue.revenue_at_risk`). :func:`customer_values` does for a
list of customer groups what :func:`earnright.customers.customer_value` does for one, with one
scan of the transactions for all of them instead of one per group: each group's customers are
tagged with its index and its window, joined to their own transactions, and summed per group.
The figures are the same (the same spend, customer-seconds and count per group; a spend sum may
differ in its last bits, the engine's order of addition being free either way).

Where the lifetime-value models can be fitted, a pass prices customers at their lifetime value
instead (issue 12): :func:`fit_lifetime` fits BG/NBD and Gamma-Gamma once (on every purchase up
to the pass's data end, :func:`earnright.customers.value.customer_lifetime_values`), and
:func:`lifetime_values` scores each group's customers on their own history up to the day before
its ``start`` (the summaries of :mod:`earnright.customers.histories` with that day as the end of
the calibration; a customer without a purchase before is a new one: x = t_x = T = 0), all groups
in one engine query. The fit needs :data:`MIN_REPEAT_BUYERS` repeat buyers and a spend per
purchase with a finite mean (q > 1); else the pass falls back to a year of spend and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.customers.value import YEAR_SECONDS, lifetime_summaries
from earnright.errors import QueryError
from earnright.warehouse import Warehouse

__all__ = [
    "LIFETIME_VALUE",
    "MIN_REPEAT_BUYERS",
    "YEAR_OF_SPEND",
    "LifetimeFit",
    "customer_values",
    "fit_lifetime",
    "lifetime_values",
    "tagged_customer_values",
    "tagged_lifetime_values",
    "value_note",
]

LIFETIME_VALUE: Final = "lifetime value"
YEAR_OF_SPEND: Final = "a year of spend"
MIN_REPEAT_BUYERS: Final = 100  # fewer: the fit is too loose to price customers with
MONTHS, DISCOUNT = 36, 0.01  # as the ledger's lifetime value: 36 months, 1% a month
_WEEK = timedelta(days=7)


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
    tagged = [
        customers.select("customer_id").mutate(_k=ibis.literal(k, type="int64"))
        for k, (customers, _) in enumerate(groups)
    ]
    g = tagged[0] if len(tagged) == 1 else ibis.union(*tagged, distinct=False)
    return tagged_customer_values(wh, g, [s for _, s in groups], window=window, first=first)


def tagged_customer_values(
    wh: Warehouse,
    customers: ir.Table,
    starts: Sequence[datetime],
    *,
    window: timedelta,
    first: datetime | None = None,
) -> list[tuple[int, float | None]]:
    """:func:`customer_values` of the groups ``k`` (``starts[k]``) of ``customers``, a table of
    distinct (``_k``, ``customer_id``): every group's customers in one table."""
    if not starts:
        return []
    bounds = pd.DataFrame(
        {
            "_k": range(len(starts)),
            "_lo": [max(start - window, first or start) for start in starts],
            "_start": list(starts),
        }
    )
    schema = ibis.schema({"_k": "int64", "_lo": "timestamp", "_start": "timestamp"})
    g = customers.select("_k", "customer_id").inner_join(ibis.memtable(bounds, schema=schema), "_k")
    g = g.select("_k", "customer_id", "_lo", "_start")  # a table, not a join to extend
    t = wh.table("transactions").select("customer_id", "occurred_at", "amount")
    seen = t.inner_join(g, "customer_id")
    seen = seen.filter(seen.occurred_at >= seen._lo, seen.occurred_at < seen._start)
    spend = seen.group_by(["_k", "customer_id"]).aggregate(
        spend=seen.amount.sum(), first_seen=seen.occurred_at.min()
    )
    c = wh.table("customers").select(cid="customer_id", joined_at="joined_at")
    rows = g.left_join(spend, ["_k", "customer_id"]).select(
        "_k", "customer_id", "_lo", "_start", "spend", "first_seen"
    )  # by name: the join of g to a table built from g names g's columns ambiguously
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
    for k in range(len(starts)):
        if k not in agg.index or int(agg.at[k, "n"]) == 0:
            out.append((0, 0.0))
            continue
        n, seconds = int(agg.at[k, "n"]), float(agg.at[k, "seconds"])
        spend = float(agg.at[k, "spend"])
        out.append((n, None) if seconds <= 0 else (n, spend / seconds * YEAR_SECONDS))
    return out


@dataclass(frozen=True)
class LifetimeFit:
    """BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma) fitted on every purchase up to
    ``as_of`` (a day), and how many repeat buyers they were fitted on."""

    bg: np.ndarray
    gg: np.ndarray
    as_of: datetime
    repeat_buyers: int

    def note(self) -> str:
        return (
            f"customers valued at their lifetime value on the incident's start: expected spend "
            f"over {MONTHS} months, discounted {DISCOUNT:.0%} a month (BG/NBD and Gamma-Gamma "
            f"fitted on {self.repeat_buyers:,} repeat buyers up to {self.as_of:%Y-%m-%d})"
        )


def fit_lifetime(wh: Warehouse, as_of: datetime | None) -> tuple[LifetimeFit | None, str]:
    """(the fit, "") up to ``as_of`` (default: the latest transaction), or (None, why not)."""
    from earnright.customers.lifetime import fit_models

    try:
        day, summaries = lifetime_summaries(wh, as_of)
        repeat = int((summaries.x > 0).sum())
        if repeat < MIN_REPEAT_BUYERS:
            return None, f"only {repeat} repeat buyers (lifetime value needs {MIN_REPEAT_BUYERS})"
        bg, gg = fit_models(summaries)
    except QueryError as exc:
        return None, str(exc)
    if not gg.q > 1:
        return None, "the spend per purchase has no finite mean (Gamma-Gamma q <= 1)"
    at = pd.Timestamp(day).normalize().to_pydatetime()
    return LifetimeFit(bg.values, gg.values, at, repeat), ""


def lifetime_values(
    wh: Warehouse, groups: Sequence[tuple[ir.Table, datetime]], fit: LifetimeFit
) -> list[tuple[int, float | None]]:
    """Per group (customers, a table with distinct ``customer_id``, and the ``start`` they are
    valued at): how many customers and their mean lifetime value on their history up to the day
    before ``start`` (module doc), from one engine query; numpy scores them."""
    if not groups:
        return []
    tagged = [
        customers.select("customer_id").mutate(_k=ibis.literal(k, type="int64"))
        for k, (customers, _) in enumerate(groups)
    ]
    g = tagged[0] if len(tagged) == 1 else ibis.union(*tagged, distinct=False)
    return tagged_lifetime_values(wh, g, [s for _, s in groups], fit)


def tagged_lifetime_values(
    wh: Warehouse, customers: ir.Table, starts: Sequence[datetime], fit: LifetimeFit
) -> list[tuple[int, float | None]]:
    """:func:`lifetime_values` of the groups ``k`` (``starts[k]``) of ``customers``, a table of
    distinct (``_k``, ``customer_id``): every group's customers in one table."""
    from earnright.customers.lifetime import score_customers

    if not starts:
        return []
    cuts = [pd.Timestamp(start).normalize().to_pydatetime() for start in starts]
    bounds = pd.DataFrame({"_k": range(len(starts)), "_cut": cuts})
    schema = ibis.schema({"_k": "int64", "_cut": "timestamp"})
    g = customers.select("_k", "customer_id").inner_join(ibis.memtable(bounds, schema=schema), "_k")
    g = g.select("_k", "customer_id", "_cut")  # a table, not a join the next one extends
    t = wh.table("transactions")
    t = t.select("customer_id", "amount", day=t.occurred_at.truncate("D"))
    bought = t.inner_join(g, "customer_id")  # the groups' customers' rows only, then per day
    bought = bought.filter(bought.day < bought._cut)
    seen = bought.group_by(["_k", "customer_id", "day"]).aggregate(spend=bought.amount.sum())
    per = seen.group_by(["_k", "customer_id"]).aggregate(
        first=seen.day.min(),
        last=seen.day.max(),
        n=seen.count(),
        total=seen.spend.sum(),
        first_spend=seen.spend.argmin(seen.day),
    )
    rows = g.left_join(per, ["_k", "customer_id"]).select(
        "_k", "_cut", "first", "last", "n", "total", "first_spend"
    )  # by name: the join of g to a table built from g names g's columns ambiguously
    frame = _summaries(rows.to_pandas())
    ltv = score_customers(frame, fit.bg, fit.gg, months=MONTHS, discount=DISCOUNT).ltv
    grouped = ltv.groupby(frame._k.to_numpy())
    sizes, means = grouped.size().to_dict(), grouped.mean().to_dict()
    return [
        (int(sizes[k]), float(means[k])) if k in sizes else (0, 0.0) for k in range(len(starts))
    ]


def _summaries(rows: pd.DataFrame) -> pd.DataFrame:
    """x, t_x, T (weeks to the day before ``_cut``), m per row; no purchase before: all 0."""
    cut = pd.to_datetime(rows._cut) - pd.Timedelta(days=1)
    first, last = pd.to_datetime(rows["first"]), pd.to_datetime(rows["last"])
    new = first.isna()
    x = (rows.n.fillna(1).astype(float) - 1).to_numpy()
    repeat = (rows.total.astype(float) - rows.first_spend.astype(float)).fillna(0).round(6)
    weeks = lambda a, b: ((a - b) / _WEEK).where(~new, 0.0).astype(float)  # noqa: E731
    return pd.DataFrame(
        {
            "_k": rows._k.astype("int64").to_numpy(),
            "x": x,
            "t_x": weeks(last, first).to_numpy(),
            "T": weeks(cut, first).to_numpy(),
            "m": np.where(x > 0, repeat.to_numpy() / np.clip(x, 1, None), 0.0),
        }
    )


def value_note(fitted: tuple[LifetimeFit | None, str], basis: str) -> str:
    """What the customers were valued at (``basis``), and why not at their lifetime value."""
    fit, why = fitted
    if basis == LIFETIME_VALUE and fit is not None:
        return fit.note()
    return f"customers valued at a year of spend: no lifetime value ({why or 'not fitted'})"

"""What customers are worth and whether they stay: value and churn from the transactions.

Customers are assets (DESIGN.md, competency 1): these are the building blocks the asset ledger
and the growth link reuse, and what revenue at risk (``earnright.reliability.revenue``) prices an
incident with. Every pass over raw rows is one Ibis expression; Python gets counts and sums.

- :func:`transaction_range` — the first and last transaction time;
- :func:`customer_value` — how many customers and their mean annual value (spend per
  customer-year observed before a date);
- :func:`churn_counts` — of each of many exposed groups and its control group, how many had no
  transaction in its follow-up window (churned), in one engine query;
- :func:`customer_lifetime_values` — every customer's lifetime value (BG/NBD and Gamma-Gamma,
  :mod:`earnright.customers.lifetime`) as of a day: what revenue at risk and the growth link
  price a customer with, where a year of spend is the shortcut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis import _

from earnright.errors import QueryError
from earnright.warehouse import Warehouse

__all__ = [
    "YEAR_SECONDS",
    "CustomerValues",
    "churn_counts",
    "customer_lifetime_values",
    "customer_value",
    "lifetime_summaries",
    "transaction_range",
    "values_of_summaries",
]

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
    wh: Warehouse, groups: Sequence[tuple[ir.Table, ir.Table, tuple[datetime, datetime]]]
) -> list[dict[int, tuple[int, int]]]:
    """Per group (exposed, control, follow-up window): {1: (exposed, churned), 0: (control,
    churned)}, churned = no transaction in the window; a control customer also exposed counts
    as exposed only. Every group in ONE engine query (tagged with its index, joined to the
    transactions in its own window), so a pass measuring many incidents scans them once."""
    if not groups:
        return []
    tagged = []
    for k, (exposed, control, (lo, hi)) in enumerate(groups):
        tag = {
            "_k": ibis.literal(k, type="int64"),
            "_lo": ibis.literal(lo),
            "_hi": ibis.literal(hi),
        }
        hit = exposed.select("customer_id")
        rest = control.select("customer_id").anti_join(hit, "customer_id")
        tagged.append(hit.mutate(exposed=ibis.literal(1, type="int64"), **tag))
        tagged.append(rest.mutate(exposed=ibis.literal(0, type="int64"), **tag))
    windows = [w for *_, w in groups]
    return churn_of_tagged(wh, ibis.union(*tagged, distinct=False), windows)


def churn_of_tagged(
    wh: Warehouse, g: ir.Table, windows: Sequence[tuple[datetime, datetime]]
) -> list[dict[int, tuple[int, int]]]:
    """:func:`churn_counts` of customers already tagged with their group ``_k`` (an index into
    ``windows``), side ``exposed`` (1/0) and follow-up window ``_lo``-``_hi``: one scan of the
    transactions over the windows' span."""
    t = wh.table("transactions").select("customer_id", "occurred_at")
    lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    t = t.filter(t.occurred_at >= lo, t.occurred_at < hi)
    keys = g.select("customer_id", "_k", "_lo", "_hi").distinct()
    seen = t.inner_join(keys, "customer_id")
    seen = seen.filter(seen.occurred_at >= seen._lo, seen.occurred_at < seen._hi)
    seen = seen.select("_k", "customer_id").distinct().mutate(seen=ibis.literal(1))
    # columns by name: a join of g to a table built from g names g's columns ambiguously
    joined = g.left_join(seen, ["_k", "customer_id"]).select("_k", "exposed", "seen")
    counts = (
        joined.group_by(["_k", "exposed"])
        .aggregate(n=joined.count(), churned=joined.seen.isnull().sum())
        .to_pandas()
    )
    out: list[dict[int, tuple[int, int]]] = [{} for _ in windows]
    for k, exposed, n, churned in counts[["_k", "exposed", "n", "churned"]].to_numpy().tolist():
        out[int(k)][int(exposed)] = (int(n), int(churned))
    return out


@dataclass(frozen=True)
class CustomerValues:
    """Every customer's lifetime value as of ``as_of`` (the end of that day) and the fits.

    ``frame``: one row per customer with a home and a purchase by ``as_of``: customer_id,
    home_unit_id, x, t_x, T (weeks), m, holdout (purchase days after ``as_of``), ``alive``
    (P(alive)), ``purchases_12m`` and ``ltv`` (expected spend over ``months``, discounted).
    ``bg`` (r, alpha, a, b) and ``gg`` (p, q, gamma) are the fitted parameters."""

    frame: pd.DataFrame
    as_of: datetime
    bg: Any
    gg: Any

    def per_unit(self, mapping: pd.DataFrame | None = None) -> pd.DataFrame:
        """Customers, P(alive) summed, 12-month purchases and lifetime value per home unit, or
        per ``ancestor_id`` of a ``mapping`` (unit_id → ancestor_id, e.g. unit_ancestors)."""
        frame = self.frame.assign(unit_id=self.frame.home_unit_id.astype(str))
        if mapping is not None:
            up = mapping[["unit_id", "ancestor_id"]].astype(str)
            frame = frame.merge(up, on="unit_id").drop(columns="unit_id")
            frame = frame.rename(columns={"ancestor_id": "unit_id"})
        sums = {k: (k, "sum") for k in ("alive", "purchases_12m", "ltv")}
        grouped = frame.groupby("unit_id", sort=True)
        return grouped.agg(customers=("customer_id", "size"), **sums).reset_index()


def customer_lifetime_values(
    wh: Warehouse, as_of: datetime | None = None, *, months: int = 36, discount: float = 0.01
) -> CustomerValues:
    """Fit BG/NBD and Gamma-Gamma on every purchase up to ``as_of`` (default: the latest
    transaction's day) of the customers with a home (``customers``), and score each of them
    (:class:`CustomerValues`). One engine pass builds the summaries; numpy finishes."""
    as_of, summaries = lifetime_summaries(wh, as_of)
    return values_of_summaries(summaries, as_of, months=months, discount=discount)


def values_of_summaries(
    summaries: pd.DataFrame, as_of: datetime, *, months: int = 36, discount: float = 0.01
) -> CustomerValues:
    """:func:`customer_lifetime_values` from summaries already made (those of
    :func:`lifetime_summaries` up to ``as_of``, or the same numbers from elsewhere): both fits,
    every customer scored."""
    from earnright.customers.lifetime import fit_models, score_customers

    bg, gg = fit_models(summaries)
    frame = score_customers(summaries, bg.values, gg.values, months=months, discount=discount)
    day = pd.Timestamp(as_of).normalize().to_pydatetime()
    return CustomerValues(frame, day, bg, gg)


def lifetime_summaries(
    wh: Warehouse, as_of: datetime | None = None
) -> tuple[datetime, pd.DataFrame]:
    """``as_of`` (default: the latest transaction) and the purchase summaries up to it of the
    customers with a home (:func:`earnright.customers.histories.purchase_summaries`): what
    :func:`customer_lifetime_values` fits. QueryError without purchases."""
    from earnright.customers.histories import purchase_summaries

    if as_of is None:
        as_of = transaction_range(wh)[1]
        if as_of is None:
            raise QueryError("no transactions to value customers from", argument="as_of")
    t = wh.table("transactions")
    homes = wh.table("customers").select("customer_id", "home_unit_id")
    table = t.inner_join(homes, "customer_id").select(
        "customer_id", "home_unit_id", "occurred_at", "amount"
    )
    summaries = purchase_summaries(table, as_of, ("home_unit_id",))
    if summaries.empty:
        raise QueryError(f"no purchases by {as_of:%Y-%m-%d} to value customers from",
                         argument="as_of")  # fmt: skip
    return as_of, summaries

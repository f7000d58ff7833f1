"""Who an incident's segment reaches, as conditions on the transactions (:class:`Term`), and
the customers of many conditions found together.

:func:`term_customers` is one condition's customers (one filtered scan of the transactions);
:func:`tagged_active` finds those of many (group, condition) pairs in one query:
conditions with units reach the transactions by an equi-join on their units, the others (every
unit, or every unit but some: the control groups) by one range join on their windows, the
excluded units removed by an anti-join. :func:`churn_counts_of` counts the churn of a pricing
pass's groups of exposed and control conditions from them, ``GROUPS_A_QUERY`` groups a query
(:mod:`earnright.reliability.revenue`).

A control group is drawn from :func:`control_sample`: every customer up to ``CONTROL_CUSTOMERS``
customers, a fixed random share of them beyond. The exposed are always counted in full. Without
the sample, each incident's control group (the customers active anywhere else in its window)
grows with the company, and so does the number of incidents: at 10,000 stores their product
was the largest part of detection, which took 25 times as long as at 1,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

import ibis
import ibis.expr.types as ir
import pandas as pd

from earnright.customers.value import churn_of_tagged
from earnright.warehouse import Warehouse

__all__ = [
    "CONTROL_CUSTOMERS",
    "MISSING",
    "Term",
    "churn_counts_of",
    "control_sample",
    "control_terms",
    "exposed_and_control",
    "tagged_active",
    "term_customers",
    "union_distinct",
]

MISSING = "null"  # how a segment names a missing value (as earnright.reliability.localize does)


@dataclass(frozen=True)
class Term:
    """One AND-condition on transactions in ``[since, until)``.

    ``units``: unit ids whose transactions count (None: every unit; ``outside``: every unit but
    these); ``customer``: customer attribute values; ``hours``: hour-of-day ranges [from, to).
    """

    since: datetime
    until: datetime
    units: tuple[str, ...] | None = None
    outside: bool = False
    customer: tuple[tuple[str, str], ...] = ()
    hours: tuple[tuple[int, int], ...] = ()


def _within(hour: ir.IntegerValue, span: tuple[int, int]) -> ir.BooleanValue:
    lo, hi = span
    return (hour >= lo) & (hour < hi) if lo < hi else (hour >= lo) | (hour < hi)


# customers a control group is drawn from in full; beyond, a share of them (control_sample)
CONTROL_CUSTOMERS = 500_000
_SAMPLES: WeakKeyDictionary[Warehouse, tuple[tuple[int, int, int], ir.Table | None]]
_SAMPLES = WeakKeyDictionary()


@ibis.udf.scalar.builtin
def md5(value: str) -> str:  # type: ignore[empty-body]
    """The hex MD5 of a text: the same function, and the same result, on every engine."""


def control_sample(wh: Warehouse) -> ir.Table | None:
    """The customers control groups are drawn from (``customer_id``), or None: all of them.

    Up to ``CONTROL_CUSTOMERS`` customers in the customers table, all. Beyond, each customer
    whose id's MD5 falls in the first ``CONTROL_CUSTOMERS`` / customers of its range: a random
    sample of that size, the same customers in every pass and on every engine (customers the
    customers table does not hold are left out of it). A random sample's churn rate estimates
    the whole's without bias, and the interval, made from the sample's own counts, widens by
    what sampling costs (little: the control groups stay tens of thousands strong). Made once
    per warehouse, customers table state (rows, latest batch) and limit; kept in the engine."""
    c = wh.table("customers")
    row = c.aggregate(n=c.count(), b=c.batch_id.max().fill_null(0)).to_pandas().iloc[0]
    state = (int(row["n"]), int(row["b"]), CONTROL_CUSTOMERS)
    held = _SAMPLES.get(wh)
    if held is not None and held[0] == state:
        return held[1]
    sample = None
    if state[0] > CONTROL_CUSTOMERS:
        cut = f"{int(CONTROL_CUSTOMERS / state[0] * 16**8):08x}"
        sample = c.filter(md5(c.customer_id).substr(0, 8) < cut).select("customer_id")
        with suppress(NotImplementedError):  # a temporary table, gone with the connection
            sample = wh.con.create_table(ibis.util.gen_name("sample"), obj=sample, temp=True)
    _SAMPLES[wh] = (state, sample)
    return sample


def term_customers(wh: Warehouse, term: Term, among: ir.Table | None = None) -> ir.Table:
    """Distinct customer_id of customers with a transaction matching ``term`` (and, given
    ``among``, a ``customer_id`` of it: :func:`control_sample`)."""
    t = wh.table("transactions")
    if among is not None:
        t = t.semi_join(among, "customer_id")
    conds = [t.occurred_at >= term.since, t.occurred_at < term.until]
    if term.units is not None:
        inside = t.unit_id.isin(list(term.units))
        conds.append(~inside if term.outside else inside)
    conds += [_within(t.occurred_at.hour(), span) for span in term.hours]
    rows = t.filter(*conds)
    if term.customer:
        c = wh.table("customers")
        conds = [c[k].isnull() if v == MISSING else c[k] == v for k, v in term.customer]
        rows = rows.semi_join(c.filter(*conds), "customer_id")
    return rows.select("customer_id").distinct()


def union_distinct(tables: list[ir.Table]) -> ir.Table:
    return tables[0] if len(tables) == 1 else ibis.union(*tables, distinct=True)


def control_terms(terms: list[Term]) -> list[Term]:
    """Comparable conditions that the exposure did not meet.

    A term with units: the same customer attributes and hours in the same window at every unit
    outside the exposure's units. A term without: everyone active in its window (the exposed are
    removed afterwards, so this is the customers of other attributes or other hours).
    """
    exposed_units = sorted({u for t in terms if t.units is not None for u in t.units})
    controls = []
    for t in terms:
        if t.units is None:
            controls.append(Term(since=t.since, until=t.until))
        else:
            controls.append(Term(t.since, t.until, tuple(exposed_units), True, t.customer, t.hours))
    return controls


def tagged_active(
    wh: Warehouse, tagged: Sequence[tuple[int, Term]], among: ir.Table | None = None
) -> ir.Table:
    """Distinct (``_k``, ``customer_id``): for each (k, term), the customers with a
    transaction matching the term (:func:`term_customers`; only those of ``among``, if given),
    all terms from one scan of the transactions instead of one filtered scan per term.

    A term with units reaches the transactions through an equi-join on its units (each
    term's window then filters them); the others (every unit, or every unit but some) through
    one range join on their windows, the excluded units removed by an anti-join. Hours and
    customer attributes are the terms' own conditions, as columns of the terms' table."""
    t = wh.table("transactions").select("customer_id", "unit_id", "occurred_at")
    if among is not None:
        t = t.semi_join(among, "customer_id")
    if tagged:  # only the rows some window holds: a join on a window range scans the rest too
        since, until = min(term.since for _, term in tagged), max(term.until for _, term in tagged)
        t = t.filter(t.occurred_at >= since, t.occurred_at < until)
    terms, inside, outside, conds = _terms_table(tagged)
    spans = sum(c.endswith("lo") for c in terms.columns)
    unit_schema = ibis.schema({"_tid": "int64", "unit_id": "string"})
    parts = []
    if inside["_tid"]:
        units = ibis.memtable(pd.DataFrame(inside)[["_tid", "unit_id"]], schema=unit_schema)
        near = t.inner_join(units, "unit_id").inner_join(terms, "_tid")
        near = near.filter(near.occurred_at >= near._since, near.occurred_at < near._until)
        parts.append(near)
    reach = [k for k, (_, term) in enumerate(tagged) if term.units is None or term.outside]
    if reach:
        chosen = terms.filter(terms._tid.isin(reach))
        wide = t.inner_join(chosen, [t.occurred_at >= chosen._since, t.occurred_at < chosen._until])
        if outside["_tid"]:
            units = ibis.memtable(pd.DataFrame(outside)[["_tid", "unit_id"]], schema=unit_schema)
            wide = wide.anti_join(units, ["_tid", "unit_id"])
        parts.append(wide)
    found = [_in_hours(rows, spans).select("_k", "customer_id", "_cc") for rows in parts]
    hit = found[0] if len(found) == 1 else ibis.union(*found, distinct=False)
    return _of_customers(wh, hit, conds).select("_k", "customer_id").distinct()


Columns = dict[str, list[Any]]
Conditions = dict[tuple[tuple[str, str], ...], int]


def _terms_table(
    tagged: Sequence[tuple[int, Term]],
) -> tuple[ir.Table, Columns, Columns, Conditions]:
    """The terms as a table (``_tid``, ``_k``, window, customer condition ``_cc`` (-1: none),
    hour spans ``_h{j}lo``/``_h{j}hi``), the units of the terms with units and of those
    outside units, and the distinct customer conditions (numbered)."""
    spans = max((len(term.hours) for _, term in tagged), default=0)
    conds: Conditions = {}
    rows: Columns = {"_tid": [], "_k": [], "_since": [], "_until": [], "_cc": []}
    for j in range(spans):
        rows[f"_h{j}lo"], rows[f"_h{j}hi"] = [], []
    inside: Columns = {"_tid": [], "unit_id": []}
    outside: Columns = {"_tid": [], "unit_id": []}
    for tid, (k, term) in enumerate(tagged):
        rows["_tid"].append(tid)
        rows["_k"].append(k)
        rows["_since"].append(term.since)
        rows["_until"].append(term.until)
        rows["_cc"].append(conds.setdefault(term.customer, len(conds)) if term.customer else -1)
        hours = [*term.hours, *[(0, 24)] * (spans - len(term.hours))]  # (0, 24): every hour
        for j, (lo, hi) in enumerate(hours):
            rows[f"_h{j}lo"].append(lo)
            rows[f"_h{j}hi"].append(hi)
        members = outside if term.outside else inside
        for unit in term.units or ():
            members["_tid"].append(tid)
            members["unit_id"].append(unit)
    schema = {"_tid": "int64", "_k": "int64", "_since": "timestamp", "_until": "timestamp"}
    schema |= {"_cc": "int64"} | {c: "int64" for c in rows if c.startswith("_h")}
    return ibis.memtable(pd.DataFrame(rows), schema=ibis.schema(schema)), inside, outside, conds


def _in_hours(rows: ir.Table, spans: int) -> ir.Table:
    """The rows within each of their term's hour spans (a span may cross midnight)."""
    hour = rows.occurred_at.hour()
    for j in range(spans):
        lo, hi = rows[f"_h{j}lo"], rows[f"_h{j}hi"]
        rows = rows.filter(
            ibis.ifelse(lo < hi, (hour >= lo) & (hour < hi), (hour >= lo) | (hour < hi))
        )
    return rows


def _of_customers(wh: Warehouse, hit: ir.Table, conds: Conditions) -> ir.Table:
    """The rows whose customer meets their term's customer condition (``_cc`` -1: none)."""
    if not conds:
        return hit
    c = wh.table("customers")
    fits = []
    for values, cc in conds.items():
        where = [c[k].isnull() if v == MISSING else c[k] == v for k, v in values]
        fits.append(c.filter(*where).select("customer_id", _cc=ibis.literal(cc, "int64")))
    fit = fits[0] if len(fits) == 1 else ibis.union(*fits, distinct=False)
    fit = fit.mutate(_fits=ibis.literal(1, "int64"))
    hit = hit.left_join(fit, ["customer_id", "_cc"]).select(
        hit._k, hit.customer_id, hit._cc, fit._fits
    )
    return hit.filter((hit._cc < 0) | hit._fits.notnull())


GROUPS_A_QUERY = 8  # the range join holds every group's active customers at once: its memory


def exposed_and_control(
    wh: Warehouse, exposed: Sequence[tuple[int, Term]], control: Sequence[tuple[int, Term]]
) -> ir.Table:
    """Each group ``k``'s customers (``_k``, ``customer_id``, ``exposed``): those of its exposed
    terms (``exposed`` 1) and those of its control terms not among them (0), each side from one
    scan of the transactions (:func:`tagged_active`), the control side from
    :func:`control_sample`."""
    hit = tagged_active(wh, exposed)
    rest = tagged_active(wh, control, control_sample(wh)).anti_join(hit, ["_k", "customer_id"])
    one, zero = ibis.literal(1, type="int64"), ibis.literal(0, type="int64")
    return ibis.union(hit.mutate(exposed=one), rest.mutate(exposed=zero), distinct=False)


def churn_counts_of(
    wh: Warehouse,
    exposed: Sequence[tuple[int, Term]],
    control: Sequence[tuple[int, Term]],
    windows: Sequence[tuple[datetime, datetime]],
) -> list[dict[int, tuple[int, int]]]:
    """:func:`earnright.customers.churn_counts` of the groups ``k`` whose exposed and control
    customers are those of the terms tagged ``k`` (a group per follow-up window), each side's
    customers of up to ``GROUPS_A_QUERY`` groups from one scan of the transactions
    (:func:`tagged_active`) instead of two filtered scans per group: {1: (exposed, churned),
    0: (control, churned)}."""
    out: list[dict[int, tuple[int, int]]] = []
    for first in range(0, len(windows), GROUPS_A_QUERY):
        last = first + GROUPS_A_QUERY
        ex = [(k - first, term) for k, term in exposed if first <= k < last]
        co = [(k - first, term) for k, term in control if first <= k < last]
        out += _churn_counts(wh, ex, co, windows[first:last])
    return out


def _churn_counts(
    wh: Warehouse,
    exposed: Sequence[tuple[int, Term]],
    control: Sequence[tuple[int, Term]],
    windows: Sequence[tuple[datetime, datetime]],
) -> list[dict[int, tuple[int, int]]]:
    g = exposed_and_control(wh, exposed, control)
    spans = pd.DataFrame(
        {"_k": range(len(windows)), "_lo": [w[0] for w in windows], "_hi": [w[1] for w in windows]}
    )
    schema = ibis.schema({"_k": "int64", "_lo": "timestamp", "_hi": "timestamp"})
    g = g.inner_join(ibis.memtable(spans, schema=schema), "_k")
    g = g.select("_k", "customer_id", "exposed", "_lo", "_hi")
    return churn_of_tagged(wh, g, windows)

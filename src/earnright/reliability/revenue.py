"""Revenue at risk of an incident: affected customers × what they are worth × the extra churn.

- :func:`affected_customers`: customers with a transaction at the segment's units in ``[start,
  end)``, in its hours of the day, with its customer attributes. A customer attribute (the app
  platform) reaches customers without a visit: there, every customer active at the segment's
  units in ``[start − active_window, end)`` counts.
- Their value: their lifetime value on the day ``start`` begins (BG/NBD and Gamma-Gamma fitted
  once per pass; :func:`earnright.reliability.valuation.lifetime_values`) where the models can be
  fitted, else a year of spend: spend over ``value_window`` before ``start`` per customer-year
  observed, annualised (:func:`earnright.customers.customer_value`). ``value_basis`` says which.
- :func:`measure_extra_churn`: the share of the exposed with no transaction in the follow-up
  ``[end + churn_window, … + FOLLOW_UP)`` against comparable unexposed customers (same window,
  attributes and hours, at units outside the segment): c = (p_e − p_c) / (1 − p_c) = 1 − r_e/r_c,
  with a 95% interval on the log retention ratio (Katz's delta method; the statistics are in
  ``earnright.reliability.churn``, the counts from :func:`earnright.customers.churn_counts`).
- :func:`revenue_at_risk` multiplies them; before the follow-up is complete it pools the
  already-measured effects of earlier episodes (:func:`pool_history`: DerSimonian–Laird on the
  log retention ratio, same indicator first) and never invents a number when there are none. An
  episode is measured once: callers keep its counts and rebuild the effect with
  :meth:`ChurnEffect.from_counts` (the incidents table stores them).

Every pass over raw rows is an Ibis expression; numpy finishes on the counts. Definitions,
assumptions and the accuracy measured on the demo: docs/revenue-at-risk.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from earnright.config import Config
from earnright.customers.value import transaction_range
from earnright.errors import QueryError
from earnright.reliability.churn import (
    ChurnEffect,
    PooledChurn,
    extra_churn_interval,
    pool_extra_churn,
    pool_history,
)
from earnright.reliability.risk_figures import Basis, RevenueAtRisk
from earnright.reliability.valuation import (
    LIFETIME_VALUE,
    YEAR_OF_SPEND,
    LifetimeFit,
    fit_lifetime,
    tagged_customer_values,
    tagged_lifetime_values,
    value_note,
)
from earnright.units import read_units, unit_ancestors
from earnright.warehouse import Warehouse

__all__ = [
    "FOLLOW_UP",
    "ChurnEffect",
    "Exposure",
    "PooledChurn",
    "RevenueAtRisk",
    "RiskPass",
    "UnitIndex",
    "affected_customers",
    "churn_data_end",
    "comparable_customers",
    "extra_churn_interval",
    "follow_up_window",
    "measure_extra_churn",
    "measure_extra_churns",
    "pool_extra_churn",
    "pool_history",
    "revenue_at_risk",
]

FOLLOW_UP = timedelta(days=56)  # a customer without a transaction in it has churned
NOT_APPLICABLE = "all"  # the metrics tables' value of a dimension that does not apply
MISSING = "null"  # how a segment names a missing value (as earnright.reliability.localize does)
MEASURE: Final = "measure"  # revenue_at_risk's default ``effect``: measure the exposure's own churn


@dataclass(frozen=True)
class Exposure:
    """Who an incident hit and when: ``segments`` is an OR of AND-conditions (``[]``: everyone).

    ``start`` (inclusive) and ``end`` (exclusive) are naive UTC; ``indicator`` is the indicator id,
    used to pool the history of the same kind of failure first.
    """

    segments: list[dict[str, str]]
    start: datetime
    end: datetime
    indicator: str = ""


# -- the segment in warehouse terms ------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
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


class UnitIndex:
    """The units beneath each unit, per level: the units table read once (when first asked)
    and each level's ancestors walked once, however many segments a pass resolves."""

    def __init__(self, wh: Warehouse, levels: list[str]) -> None:
        self.wh, self.levels = wh, levels
        self._units: pd.DataFrame | None = None
        self._under: dict[str, tuple[dict[str, frozenset[str]], frozenset[str]]] = {}

    def under(self, level: str, unit_id: str) -> frozenset[str]:
        """Every unit id at or beneath ``unit_id`` at ``level`` (``MISSING``: the units
        without an ancestor at that level); empty when there is no such unit."""
        if level not in self._under:
            if self._units is None:
                self._units = read_units(self.wh)
            ancestors = unit_ancestors(self._units, self.levels, level)
            groups = ancestors.groupby("ancestor_id", sort=False).unit_id
            by_unit = {str(k): frozenset(map(str, v)) for k, v in groups}
            rest = frozenset(map(str, self._units.unit_id)) - frozenset(ancestors.unit_id)
            self._under[level] = by_unit, rest
        by_unit, rest = self._under[level]
        return rest if unit_id == MISSING else by_unit.get(unit_id, frozenset())


class _Resolver:
    """Turns segment dimensions into conditions: unit levels, hours, customer attributes."""

    def __init__(self, wh: Warehouse, config: Config, units: UnitIndex | None = None) -> None:
        self.wh, self.config = wh, config
        self.attributes = set(wh.open_columns("customers"))
        self.units = units or UnitIndex(wh, config.units.levels)
        self.notes: list[str] = []

    def units_under(self, level: str, unit_id: str) -> set[str]:
        """Every unit id at or beneath ``unit_id`` (a unit at ``level``)."""
        under = set(self.units.under(level, unit_id))
        if not under and unit_id != MISSING:
            raise QueryError(
                f"segment {level}={unit_id}: no {level} '{unit_id}' in the units table; "
                "name a unit id of that level"
            )
        return under

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def term(self, segment: dict[str, str], exposure: Exposure) -> _Term:
        units: set[str] | None = None
        customer, hours = [], []
        declared = self.config.reliability.hours
        for dim, value in sorted(segment.items()):
            if value == NOT_APPLICABLE:
                self.note(f"{dim}={value} means every {dim}: no condition")
            elif dim in self.config.units.levels:
                under = self.units_under(dim, value)
                units = under if units is None else units & under
            elif dim in declared and value in declared[dim]:
                hours.append(tuple(declared[dim][value]))
            elif dim in declared:
                self.note(f"{dim}={value} has no hours in [reliability.hours.{dim}]: ignored")
            elif dim in self.attributes:
                customer.append((dim, value))
            else:
                self.note(
                    f"dimension '{dim}' is neither a unit level, a customer attribute nor a time "
                    "of day in [reliability.hours]: ignored"
                )
        reach = self.config.reliability.active_window if customer else timedelta(0)
        return _Term(
            since=exposure.start - reach,
            until=exposure.end,
            units=None if units is None else tuple(sorted(units)),
            customer=tuple(customer),
            hours=tuple((int(a), int(b)) for a, b in hours),
        )


def _resolve(
    wh: Warehouse, config: Config, exposure: Exposure, units: UnitIndex | None = None
) -> tuple[list[_Term], list[str]]:
    if exposure.end <= exposure.start:
        raise QueryError(
            f"exposure ends ({exposure.end}) at or before it starts ({exposure.start}); "
            "end is exclusive and must come after start"
        )
    resolver = _Resolver(wh, config, units)
    terms = [resolver.term(s, exposure) for s in (exposure.segments or [{}])]
    return terms, resolver.notes


def _within(hour: ir.IntegerValue, span: tuple[int, int]) -> ir.BooleanValue:
    lo, hi = span
    return (hour >= lo) & (hour < hi) if lo < hi else (hour >= lo) | (hour < hi)


def _active(wh: Warehouse, term: _Term) -> ir.Table:
    """Distinct customer_id of customers with a transaction matching ``term``."""
    t = wh.table("transactions")
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


def _union(tables: list[ir.Table]) -> ir.Table:
    return tables[0] if len(tables) == 1 else ibis.union(*tables, distinct=True)


def affected_customers(wh: Warehouse, config: Config, exposure: Exposure) -> ir.Table:
    """The customers the exposure reached: one column ``customer_id``, distinct (an Ibis table)."""
    terms, _ = _resolve(wh, config, exposure)
    return _union([_active(wh, t) for t in terms])


def comparable_customers(wh: Warehouse, config: Config, exposure: Exposure) -> ir.Table:
    """The comparable unexposed customers of an exposure (the control group churn is measured
    against): ``customer_id``, distinct, the exposed removed (an Ibis table)."""
    terms, _ = _resolve(wh, config, exposure)
    control = _union([_active(wh, t) for t in _control_terms(terms)])
    return control.anti_join(_union([_active(wh, t) for t in terms]), "customer_id")


def _control_terms(terms: list[_Term]) -> list[_Term]:
    """Comparable conditions that the exposure did not meet.

    A term with units: the same customer attributes and hours in the same window at every unit
    outside the exposure's units. A term without: everyone active in its window (the exposed are
    removed afterwards, so this is the customers of other attributes or other hours).
    """
    exposed_units = sorted({u for t in terms if t.units is not None for u in t.units})
    controls = []
    for t in terms:
        if t.units is None:
            controls.append(_Term(since=t.since, until=t.until))
        else:
            controls.append(
                _Term(t.since, t.until, tuple(exposed_units), True, t.customer, t.hours)
            )
    return controls


# -- many terms in one scan ------------------------------------------------------------------


def tagged_active(wh: Warehouse, tagged: Sequence[tuple[int, _Term]]) -> ir.Table:
    """Distinct (``_k``, ``customer_id``): for each (k, term), the customers with a
    transaction matching the term (:func:`_active`), all terms from one scan of the
    transactions instead of one filtered scan per term.

    A term with units reaches the transactions through an equi-join on its units (each
    term's window then filters them); the others (every unit, or every unit but some) through
    one range join on their windows, the excluded units removed by an anti-join. Hours and
    customer attributes are the terms' own conditions, as columns of the terms' table."""
    t = wh.table("transactions").select("customer_id", "unit_id", "occurred_at")
    spans = max((len(term.hours) for _, term in tagged), default=0)
    conds: dict[tuple[tuple[str, str], ...], int] = {}
    rows: dict[str, list[Any]] = {"_tid": [], "_k": [], "_since": [], "_until": [], "_cc": []}
    for j in range(spans):
        rows[f"_h{j}lo"], rows[f"_h{j}hi"] = [], []
    inside: dict[str, list[Any]] = {"_tid": [], "unit_id": []}
    outside: dict[str, list[Any]] = {"_tid": [], "unit_id": []}
    reach: list[int] = []  # the terms without units of their own (every unit, or all but some)
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
        if term.units is None or term.outside:
            reach.append(tid)
        members = outside if term.outside else inside
        for unit in term.units or ():
            members["_tid"].append(tid)
            members["unit_id"].append(unit)
    schema = {"_tid": "int64", "_k": "int64", "_since": "timestamp", "_until": "timestamp"}
    schema |= {"_cc": "int64"} | {c: "int64" for c in rows if c.startswith("_h")}
    terms = ibis.memtable(pd.DataFrame(rows), schema=ibis.schema(schema))
    unit_schema = ibis.schema({"_tid": "int64", "unit_id": "string"})
    parts = []
    if inside["_tid"]:
        units = ibis.memtable(pd.DataFrame(inside)[["_tid", "unit_id"]], schema=unit_schema)
        near = t.inner_join(units, "unit_id").inner_join(terms, "_tid")
        near = near.filter(near.occurred_at >= near._since, near.occurred_at < near._until)
        parts.append(near)
    if reach:
        chosen = terms.filter(terms._tid.isin(reach))
        wide = t.inner_join(chosen, [t.occurred_at >= chosen._since, t.occurred_at < chosen._until])
        if outside["_tid"]:
            units = ibis.memtable(pd.DataFrame(outside)[["_tid", "unit_id"]], schema=unit_schema)
            wide = wide.anti_join(units, ["_tid", "unit_id"])
        parts.append(wide)
    found = []
    for rows_of in parts:
        hour = rows_of.occurred_at.hour()
        for j in range(spans):
            lo, hi = rows_of[f"_h{j}lo"], rows_of[f"_h{j}hi"]
            rows_of = rows_of.filter(
                ibis.ifelse(lo < hi, (hour >= lo) & (hour < hi), (hour >= lo) | (hour < hi))
            )
        found.append(rows_of.select("_k", "customer_id", "_cc"))
    hit = found[0] if len(found) == 1 else ibis.union(*found, distinct=False)
    if conds:
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
        hit = hit.filter((hit._cc < 0) | hit._fits.notnull())
    return hit.select("_k", "customer_id").distinct()


# -- a pass over many exposures -----------------------------------------------------------------


def _value_key(exposure: Exposure, end: datetime | None) -> tuple[Any, ...]:
    """What an exposure's customer value depends on: its segments, window and data end."""
    segments = tuple(tuple(sorted(s.items())) for s in exposure.segments)
    return segments, exposure.start, exposure.end, end


@dataclass
class RiskPass:
    """What pricing many exposures in one pass shares: the units (read once, each level's
    ancestors walked once), the transactions' first and last time (scanned once), and the
    customers' values of the exposures :meth:`value` computed together (one query), on the
    lifetime-value models fitted once (:meth:`lifetime`)."""

    units: UnitIndex
    first: datetime | None
    last: datetime | None
    values: dict[tuple[Any, ...], tuple[int, float | None, str]] = field(default_factory=dict)
    fitted: dict[datetime | None, tuple[LifetimeFit | None, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, wh: Warehouse, config: Config) -> RiskPass:
        first, last = transaction_range(wh)
        return cls(UnitIndex(wh, config.units.levels), first, last)

    def data_end(self, as_of: datetime | None) -> datetime | None:
        """:func:`churn_data_end` from the range read once."""
        return self.last if as_of is None or self.last is None else min(as_of, self.last)

    def lifetime(self, wh: Warehouse, as_of: datetime | None) -> tuple[LifetimeFit | None, str]:
        """The lifetime-value fit up to :meth:`data_end` (None and why if it cannot be fitted),
        fitted once per data end: once per pass (a detection run shares one)."""
        end = self.data_end(as_of)
        if end not in self.fitted:
            self.fitted[end] = fit_lifetime(wh, end) if end else (None, "no transactions")
        return self.fitted[end]

    def value(
        self,
        wh: Warehouse,
        config: Config,
        exposures: Sequence[Exposure],
        as_of: datetime | None = None,
    ) -> list[tuple[int, float | None, str]]:
        """Each exposure's affected customers, their mean value and its basis: lifetime value
        (:meth:`lifetime`) when it can be fitted, else a year of spend
        (:func:`earnright.customers.customer_value`), all in one engine query; kept for
        :func:`revenue_at_risk`."""
        todo: dict[tuple[Any, ...], Exposure] = {}
        end = self.data_end(as_of)  # the lifetime-value fit's: values are kept per data end
        for exposure in exposures:
            if _value_key(exposure, end) not in self.values:
                todo.setdefault(_value_key(exposure, end), exposure)
        tagged = [
            (k, term)
            for k, exposure in enumerate(todo.values())
            for term in _resolve(wh, config, exposure, self.units)[0]
        ]
        starts = [exposure.start for exposure in todo.values()]
        customers = tagged_active(wh, tagged) if starts else None
        fit = self.lifetime(wh, as_of)[0] if starts else None
        if customers is None:
            found = []
        elif fit is not None:
            values = tagged_lifetime_values(wh, customers, starts, fit)
            found = [(n, v, LIFETIME_VALUE) for n, v in values]
        else:
            window = config.reliability.value_window
            spend = tagged_customer_values(wh, customers, starts, window=window, first=self.first)
            found = [(n, v, YEAR_OF_SPEND) for n, v in spend]
        self.values.update(zip(todo, found, strict=True))
        return [self.values[_value_key(e, end)] for e in exposures]


# -- measuring -------------------------------------------------------------------------------


def churn_data_end(wh: Warehouse, as_of: datetime | None = None) -> datetime | None:
    """How far churn can be measured: the latest transaction, or ``as_of`` if earlier (None
    without transactions). A follow-up window ending after it is not complete."""
    last = transaction_range(wh)[1]
    return last if as_of is None or last is None else min(as_of, last)


def follow_up_window(config: Config, exposure: Exposure) -> tuple[datetime, datetime]:
    """``[end + churn_window, … + FOLLOW_UP)``: who has no transaction in it has churned."""
    start = exposure.end + config.reliability.churn_window
    return start, start + FOLLOW_UP


def _measure(
    wh: Warehouse,
    config: Config,
    exposures: Sequence[tuple[Exposure, list[_Term] | None]],
    data_end: datetime | None,
) -> list[ChurnEffect | None]:
    """Each exposure's churn effect (with its terms, None: resolved here), the counts of all
    whose follow-up is complete by ``data_end`` from one engine query."""
    out: list[ChurnEffect | None] = [None] * len(exposures)
    todo: list[tuple[int, tuple[datetime, datetime]]] = []
    exposed: list[tuple[int, _Term]] = []
    control: list[tuple[int, _Term]] = []
    for k, (exposure, terms) in enumerate(exposures):
        window = follow_up_window(config, exposure)
        if data_end is None or data_end < window[1]:
            continue
        terms = terms or _resolve(wh, config, exposure)[0]
        exposed += [(len(todo), t) for t in terms]
        control += [(len(todo), t) for t in _control_terms(terms)]
        todo.append((k, window))
    found = _churn_counts(wh, exposed, control, [w for _, w in todo])
    for (k, window), counts in zip(todo, found, strict=True):
        (n_e, k_e), (n_c, k_c) = counts.get(1, (0, 0)), counts.get(0, (0, 0))
        if n_e and n_c:
            out[k] = ChurnEffect.from_counts(
                (k_e, n_e, k_c, n_c), window, exposures[k][0].indicator
            )
    return out


def _churn_counts(
    wh: Warehouse,
    exposed: Sequence[tuple[int, _Term]],
    control: Sequence[tuple[int, _Term]],
    windows: Sequence[tuple[datetime, datetime]],
) -> list[dict[int, tuple[int, int]]]:
    """:func:`earnright.customers.churn_counts` of the groups ``k`` whose exposed and control
    customers are those of the terms tagged ``k`` (a group per follow-up window), each side's
    customers of every group from one scan of the transactions (:func:`tagged_active`)
    instead of two filtered scans per group: {1: (exposed, churned), 0: (control, churned)}."""
    if not windows:
        return []
    hit = tagged_active(wh, exposed)
    rest = tagged_active(wh, control).anti_join(hit, ["_k", "customer_id"])
    one = ibis.literal(1, type="int64")
    g = ibis.union(
        hit.mutate(exposed=one), rest.mutate(exposed=ibis.literal(0, type="int64")), distinct=False
    )
    spans = pd.DataFrame(
        {"_k": range(len(windows)), "_lo": [w[0] for w in windows], "_hi": [w[1] for w in windows]}
    )
    schema = ibis.schema({"_k": "int64", "_lo": "timestamp", "_hi": "timestamp"})
    g = g.inner_join(ibis.memtable(spans, schema=schema), "_k")
    g = g.select("_k", "customer_id", "exposed", "_lo", "_hi")
    t = wh.table("transactions").select("customer_id", "occurred_at")
    lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    t = t.filter(t.occurred_at >= lo, t.occurred_at < hi)
    keys = g.select("customer_id", "_k", "_lo", "_hi").distinct()
    seen = t.inner_join(keys, "customer_id")
    seen = seen.filter(seen.occurred_at >= seen._lo, seen.occurred_at < seen._hi)
    seen = seen.select("_k", "customer_id").distinct().mutate(seen=ibis.literal(1))
    joined = g.left_join(seen, ["_k", "customer_id"]).select("_k", "exposed", "seen")  # by
    # name: the join of g to a table built from g names g's columns ambiguously
    counts = (
        joined.group_by(["_k", "exposed"])
        .aggregate(n=joined.count(), churned=joined.seen.isnull().sum())
        .to_pandas()
    )
    out: list[dict[int, tuple[int, int]]] = [{} for _ in windows]
    for k, side, n, churned in counts[["_k", "exposed", "n", "churned"]].to_numpy().tolist():
        out[int(k)][int(side)] = (int(n), int(churned))
    return out


def measure_extra_churn(
    wh: Warehouse,
    config: Config,
    exposure: Exposure,
    *,
    as_of: datetime | None = None,
    context: RiskPass | None = None,
) -> ChurnEffect | None:
    """The extra churn the exposure caused, measured against comparable unexposed customers.

    None when the follow-up (:func:`follow_up_window`) is not complete by :func:`churn_data_end`
    (the latest transaction, or ``as_of`` if earlier), or when there is nobody exposed or nobody
    to compare with (a segment of every customer). The counts do not change once the follow-up
    is complete, so measure an episode once and keep them. ``context``: what a pass pricing
    many exposures shares (:class:`RiskPass`).
    """
    return measure_extra_churns(wh, config, [exposure], as_of=as_of, context=context)[0]


def measure_extra_churns(
    wh: Warehouse,
    config: Config,
    exposures: Sequence[Exposure],
    *,
    as_of: datetime | None = None,
    context: RiskPass | None = None,
) -> list[ChurnEffect | None]:
    """:func:`measure_extra_churn` of each exposure, all counted in one engine query."""
    if context is None:
        return _measure(wh, config, [(e, None) for e in exposures], churn_data_end(wh, as_of))
    items = [(e, _resolve(wh, config, e, context.units)[0]) for e in exposures]
    return _measure(wh, config, items, context.data_end(as_of))


def revenue_at_risk(
    wh: Warehouse,
    config: Config,
    exposure: Exposure,
    *,
    history: Sequence[ChurnEffect] = (),
    as_of: datetime | None = None,
    effect: ChurnEffect | Literal["measure"] | None = MEASURE,
    context: RiskPass | None = None,
) -> RevenueAtRisk:
    """Customers affected × value (lifetime value, else a year of spend) × extra churn, with a
    95% interval.

    The extra churn is this exposure's own (basis ``observed``) when its follow-up is complete by
    ``as_of`` (default: the latest transaction), else pooled from ``history``, the measured
    effects of earlier episodes (basis ``history``: same-indicator episodes first, else all;
    :func:`pool_history`), else unknown (basis ``none``: the revenue figures are null).
    ``effect``: the exposure's own effect when the caller has already measured it (from stored
    counts), None when it is not measurable (yet); by default it is measured here.
    ``context``: what a pass pricing many exposures shares (:class:`RiskPass`: the units, the
    transactions' range, the customers' values when :meth:`RiskPass.value` computed them).
    """
    context = context or RiskPass.read(wh, config)
    terms, notes = _resolve(wh, config, exposure, context.units)
    data_end = context.data_end(as_of)
    valued = context.values.get(_value_key(exposure, data_end))
    n, value, value_basis = valued or context.value(wh, config, [exposure], as_of)[0]
    notes = [*notes, value_note(context.lifetime(wh, as_of), value_basis)]
    if value is None:
        notes = [*notes, "no transactions before the start to value the customers by"]
    if isinstance(effect, str):
        own = _measure(wh, config, [(exposure, terms)], data_end)[0]
    elif effect is not None and effect.follow_up_end != follow_up_window(config, exposure)[1]:
        raise ValueError(f"the effect given was measured for another exposure than {exposure}")
    else:
        own = effect
    basis: Basis = "none"
    c: list[float | None] = [None, None, None]
    episodes = 0
    if own is not None:
        basis, episodes = "observed", 1
        c = [own.extra_churn, own.extra_churn_low, own.extra_churn_high]
    elif (pooled := pool_history(history, exposure.indicator)) is not None:
        basis, episodes = "history", pooled.episodes
        c = [pooled.extra_churn, pooled.prediction_low, pooled.prediction_high]
    c = [None if x is None else min(max(x, 0.0), 1.0) for x in c]
    worth = [None if x is None or value is None else n * value * x for x in c]
    return RevenueAtRisk(
        customers_affected=n,
        customer_value=value or 0.0,
        extra_churn=c[0],
        extra_churn_low=c[1],
        extra_churn_high=c[2],
        basis=basis,
        revenue_at_risk=worth[0],
        revenue_at_risk_low=worth[1],
        revenue_at_risk_high=worth[2],
        episodes=episodes,
        follow_up_end=follow_up_window(config, exposure)[1],
        notes=notes,
        value_basis=value_basis,
    )

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
from earnright.reliability.terms import (
    MISSING,
    Term,
    churn_counts_of,
    control_sample,
    control_terms,
    tagged_active,
    term_customers,
    union_distinct,
)
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
    "Term",
    "UnitIndex",
    "affected_customers",
    "churn_counts_of",
    "churn_data_end",
    "comparable_customers",
    "control_terms",
    "extra_churn_interval",
    "follow_up_window",
    "measure_extra_churn",
    "measure_extra_churns",
    "pool_extra_churn",
    "pool_history",
    "resolve_terms",
    "revenue_at_risk",
    "tagged_active",
    "term_customers",
    "union_distinct",
]

FOLLOW_UP = timedelta(days=56)  # a customer without a transaction in it has churned
NOT_APPLICABLE = "all"  # the metrics tables' value of a dimension that does not apply
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

    def term(self, segment: dict[str, str], exposure: Exposure) -> Term:
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
        return Term(
            since=exposure.start - reach,
            until=exposure.end,
            units=None if units is None else tuple(sorted(units)),
            customer=tuple(customer),
            hours=tuple((int(a), int(b)) for a, b in hours),
        )


def resolve_terms(
    wh: Warehouse, config: Config, exposure: Exposure, units: UnitIndex | None = None
) -> tuple[list[Term], list[str]]:
    if exposure.end <= exposure.start:
        raise QueryError(
            f"exposure ends ({exposure.end}) at or before it starts ({exposure.start}); "
            "end is exclusive and must come after start"
        )
    resolver = _Resolver(wh, config, units)
    terms = [resolver.term(s, exposure) for s in (exposure.segments or [{}])]
    return terms, resolver.notes


def affected_customers(wh: Warehouse, config: Config, exposure: Exposure) -> ir.Table:
    """The customers the exposure reached: one column ``customer_id``, distinct (an Ibis table)."""
    terms, _ = resolve_terms(wh, config, exposure)
    return union_distinct([term_customers(wh, t) for t in terms])


def comparable_customers(wh: Warehouse, config: Config, exposure: Exposure) -> ir.Table:
    """The comparable unexposed customers of an exposure (the control group churn is measured
    against): ``customer_id``, distinct, the exposed removed (an Ibis table); drawn from
    :func:`earnright.reliability.terms.control_sample` (a share of them beyond
    ``CONTROL_CUSTOMERS`` customers)."""
    terms, _ = resolve_terms(wh, config, exposure)
    among = control_sample(wh)
    control = union_distinct([term_customers(wh, t, among) for t in control_terms(terms)])
    return control.anti_join(union_distinct([term_customers(wh, t) for t in terms]), "customer_id")


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
            for term in resolve_terms(wh, config, exposure, self.units)[0]
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
    exposures: Sequence[tuple[Exposure, list[Term] | None]],
    data_end: datetime | None,
) -> list[ChurnEffect | None]:
    """Each exposure's churn effect (with its terms, None: resolved here), the counts of all
    whose follow-up is complete by ``data_end`` from one engine query."""
    out: list[ChurnEffect | None] = [None] * len(exposures)
    todo: list[tuple[int, tuple[datetime, datetime]]] = []
    exposed: list[tuple[int, Term]] = []
    control: list[tuple[int, Term]] = []
    for k, (exposure, terms) in enumerate(exposures):
        window = follow_up_window(config, exposure)
        if data_end is None or data_end < window[1]:
            continue
        terms = terms or resolve_terms(wh, config, exposure)[0]
        exposed += [(len(todo), t) for t in terms]
        control += [(len(todo), t) for t in control_terms(terms)]
        todo.append((k, window))
    found = churn_counts_of(wh, exposed, control, [w for _, w in todo])
    for (k, window), counts in zip(todo, found, strict=True):
        (n_e, k_e), (n_c, k_c) = counts.get(1, (0, 0)), counts.get(0, (0, 0))
        if n_e and n_c:
            out[k] = ChurnEffect.from_counts(
                (k_e, n_e, k_c, n_c), window, exposures[k][0].indicator
            )
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
    items = [(e, resolve_terms(wh, config, e, context.units)[0]) for e in exposures]
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
    terms, notes = resolve_terms(wh, config, exposure, context.units)
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

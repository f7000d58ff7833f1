"""Revenue at risk of an incident: affected customers × what they are worth × the extra churn.

- :func:`affected_customers`: customers with a transaction at the segment's units in ``[start,
  end)``, in its hours of the day, with its customer attributes. A customer attribute (the app
  platform) reaches customers without a visit: there, every customer active at the segment's
  units in ``[start − active_window, end)`` counts.
- Their value: spend over ``value_window`` before ``start`` per customer-year observed, annualised.
- :func:`measure_extra_churn`: the share of the exposed with no transaction in the follow-up
  ``[end + churn_window, … + FOLLOW_UP)`` against comparable unexposed customers (same window,
  attributes and hours, at units outside the segment): c = (p_e − p_c) / (1 − p_c) = 1 − r_e/r_c,
  with a 95% interval on the log retention ratio (Katz's delta method).
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
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import _

from earnright.config import Config
from earnright.errors import QueryError
from earnright.listening.scorecard import unit_ancestors
from earnright.warehouse import Warehouse

__all__ = [
    "FOLLOW_UP",
    "ChurnEffect",
    "Exposure",
    "PooledChurn",
    "RevenueAtRisk",
    "affected_customers",
    "churn_data_end",
    "extra_churn_interval",
    "follow_up_window",
    "measure_extra_churn",
    "pool_extra_churn",
    "pool_history",
    "revenue_at_risk",
]

FOLLOW_UP = timedelta(days=56)  # a customer without a transaction in it has churned
YEAR_SECONDS = 365.25 * 86_400
Z95 = 1.959963984540054
NOT_APPLICABLE = "all"  # the metrics tables' value of a dimension that does not apply
MISSING = "null"  # how a segment names a missing value (as earnright.reliability.localize does)
Basis = Literal["observed", "history", "none"]
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


@dataclass(frozen=True)
class ChurnEffect:
    """The measured extra churn of one exposure: counts, shares, c and its 95% interval.

    ``log_retention`` = log(r_exposed / r_control) = log(1 − c) and ``variance`` its delta-method
    variance: what :func:`pool_extra_churn` pools. ``extra_churn`` is unclipped (it is negative
    when the exposed churned less than the control).
    """

    exposed: int
    exposed_churned: int
    control: int
    control_churned: int
    p_exposed: float
    p_control: float
    extra_churn: float
    extra_churn_low: float
    extra_churn_high: float
    log_retention: float
    variance: float
    follow_up_start: datetime
    follow_up_end: datetime
    indicator: str = ""

    @classmethod
    def from_counts(
        cls,
        counts: tuple[int, int, int, int],
        follow_up: tuple[datetime, datetime],
        indicator: str = "",
    ) -> ChurnEffect:
        """From (exposed churned, exposed, control churned, control) and the follow-up window."""
        k_e, n_e, k_c, n_c = counts
        c, low, high = extra_churn_interval(k_e, n_e, k_c, n_c)
        theta, var = _log_retention(*(np.array(x) for x in counts))
        return cls(
            exposed=n_e,
            exposed_churned=k_e,
            control=n_c,
            control_churned=k_c,
            p_exposed=k_e / n_e,
            p_control=k_c / n_c,
            extra_churn=float(c),
            extra_churn_low=float(low),
            extra_churn_high=float(high),
            log_retention=float(theta),
            variance=float(var),
            follow_up_start=follow_up[0],
            follow_up_end=follow_up[1],
            indicator=indicator,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["follow_up_start"] = self.follow_up_start.isoformat()
        out["follow_up_end"] = self.follow_up_end.isoformat()
        return out


@dataclass(frozen=True)
class PooledChurn:
    """The pooled extra churn of several episodes (DerSimonian–Laird random effects).

    ``extra_churn_low/high`` is the 95% interval of the mean effect; ``prediction_low/high`` the
    95% interval of a new episode's effect (wider by the between-episode variance ``tau2`` on the
    log retention scale; equal to the former when the episodes agree).
    """

    extra_churn: float
    extra_churn_low: float
    extra_churn_high: float
    prediction_low: float
    prediction_high: float
    tau2: float
    episodes: int


@dataclass(frozen=True)
class RevenueAtRisk:
    """What an incident puts at risk, and on what evidence.

    ``basis``: ``observed`` (this exposure's own follow-up is complete and measured), ``history``
    (pooled from ``episodes`` earlier ones; the interval is for a new episode), ``none`` (no
    estimate: the revenue figures are null). ``customer_value`` is annual revenue per affected
    customer. ``extra_churn`` and its interval are clipped to [0, 1]; revenue = customers ×
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


# -- the estimator (numpy, on counts) ----------------------------------------------------------


def _log_retention(
    k_e: np.ndarray, n_e: np.ndarray, k_c: np.ndarray, n_c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log(r_e / r_c) and its delta-method variance; 0.5 added to every cell of a zero cell."""
    k_e, n_e, k_c, n_c = (np.asarray(a, dtype=float) for a in (k_e, n_e, k_c, n_c))
    zero = (k_e == 0) | (k_e == n_e) | (k_c == 0) | (k_c == n_c)
    half = np.where(zero, 0.5, 0.0)
    k_e, k_c = k_e + half, k_c + half
    n_e, n_c = n_e + 2 * half, n_c + 2 * half
    theta = np.log((n_e - k_e) / n_e) - np.log((n_c - k_c) / n_c)
    variance = k_e / (n_e * (n_e - k_e)) + k_c / (n_c * (n_c - k_c))
    return theta, variance


def extra_churn_interval(
    exposed_churned: Any, exposed: Any, control_churned: Any, control: Any, z: float = Z95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extra churn c = 1 − r_exposed / r_control and its interval (vectorised).

    c is exactly (p_e − p_c) / (1 − p_c) of the observed shares. The interval is Katz's: the
    delta method on log(r_e / r_c), whose variance is p_e / (n_e r_e) + p_c / (n_c r_c); with a
    zero cell (nobody or everybody churned in a group) 0.5 is added to every cell first.
    """
    k_e, n_e = np.asarray(exposed_churned, float), np.asarray(exposed, float)
    k_c, n_c = np.asarray(control_churned, float), np.asarray(control, float)
    estimate = (k_e / n_e - k_c / n_c) / (1.0 - k_c / n_c)
    theta, variance = _log_retention(k_e, n_e, k_c, n_c)
    se = np.sqrt(variance)
    return estimate, 1.0 - np.exp(theta + z * se), 1.0 - np.exp(theta - z * se)


def pool_extra_churn(effects: Sequence[ChurnEffect]) -> PooledChurn | None:
    """DerSimonian–Laird pool of the log retention ratios; None without effects.

    With one effect, or when the episodes agree (Cochran's Q ≤ its degrees of freedom), this is
    the inverse-variance (fixed-effect) pool.
    """
    if not effects:
        return None
    theta = np.array([e.log_retention for e in effects])
    var = np.array([e.variance for e in effects])
    w = 1.0 / var
    fixed = float((w * theta).sum() / w.sum())
    q = float((w * (theta - fixed) ** 2).sum())
    scale = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = max(0.0, (q - (len(effects) - 1)) / scale) if scale > 0 else 0.0
    w_star = 1.0 / (var + tau2)
    mean = float((w_star * theta).sum() / w_star.sum())
    se = float(np.sqrt(1.0 / w_star.sum()))
    spread = float(np.sqrt(se**2 + tau2))
    return PooledChurn(
        extra_churn=1.0 - np.exp(mean),
        extra_churn_low=1.0 - np.exp(mean + Z95 * se),
        extra_churn_high=1.0 - np.exp(mean - Z95 * se),
        prediction_low=1.0 - np.exp(mean + Z95 * spread),
        prediction_high=1.0 - np.exp(mean - Z95 * spread),
        tau2=tau2,
        episodes=len(effects),
    )


def pool_history(history: Sequence[ChurnEffect], indicator: str = "") -> PooledChurn | None:
    """Pool the measured effects of the episodes of ``indicator`` if there are any, else of all
    of them (:func:`pool_extra_churn`); None without any. Numpy only: nothing is re-measured."""
    same = [e for e in history if indicator and e.indicator == indicator]
    return pool_extra_churn(same or list(history))


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


class _Resolver:
    """Turns segment dimensions into conditions: unit levels, hours, customer attributes."""

    def __init__(self, wh: Warehouse, config: Config) -> None:
        self.wh, self.config = wh, config
        self.attributes = set(wh.open_columns("customers"))
        self._units: pd.DataFrame | None = None
        self.notes: list[str] = []

    def units_under(self, level: str, unit_id: str) -> set[str]:
        """Every unit id at or beneath ``unit_id`` (a unit at ``level``)."""
        if self._units is None:
            cols = ["unit_id", "level", "parent_id"]
            self._units = self.wh.table("units").select(*cols).to_pandas()
        ancestors = unit_ancestors(self._units, self.config.units.levels, level)
        if unit_id == MISSING:  # the units without an ancestor at this level
            return set(self._units.unit_id) - set(ancestors.unit_id)
        under = set(ancestors.unit_id[ancestors.ancestor_id == unit_id])
        if not under:
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


def _resolve(wh: Warehouse, config: Config, exposure: Exposure) -> tuple[list[_Term], list[str]]:
    if exposure.end <= exposure.start:
        raise QueryError(
            f"exposure ends ({exposure.end}) at or before it starts ({exposure.start}); "
            "end is exclusive and must come after start"
        )
    resolver = _Resolver(wh, config)
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


# -- measuring -------------------------------------------------------------------------------


def _data_range(wh: Warehouse) -> tuple[datetime | None, datetime | None]:
    """First and last transaction time (None, None when there are none)."""
    t = wh.table("transactions")
    row = t.aggregate(first=t.occurred_at.min(), last=t.occurred_at.max()).to_pandas()
    first, last = row["first"].iloc[0], row["last"].iloc[0]
    if pd.isna(first):
        return None, None
    return pd.Timestamp(first).to_pydatetime(), pd.Timestamp(last).to_pydatetime()


def churn_data_end(wh: Warehouse, as_of: datetime | None = None) -> datetime | None:
    """How far churn can be measured: the latest transaction, or ``as_of`` if earlier (None
    without transactions). A follow-up window ending after it is not complete."""
    last = _data_range(wh)[1]
    return last if as_of is None or last is None else min(as_of, last)


def follow_up_window(config: Config, exposure: Exposure) -> tuple[datetime, datetime]:
    """``[end + churn_window, … + FOLLOW_UP)``: who has no transaction in it has churned."""
    start = exposure.end + config.reliability.churn_window
    return start, start + FOLLOW_UP


def _churn_counts(
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


def _measure(
    wh: Warehouse,
    config: Config,
    exposure: Exposure,
    data_end: datetime | None,
    terms: list[_Term] | None = None,
) -> ChurnEffect | None:
    window = follow_up_window(config, exposure)
    if data_end is None or data_end < window[1]:
        return None
    terms = terms or _resolve(wh, config, exposure)[0]
    exposed = _union([_active(wh, t) for t in terms])
    control = _union([_active(wh, t) for t in _control_terms(terms)])
    counts = _churn_counts(wh, exposed, control, window)
    (n_e, k_e), (n_c, k_c) = counts.get(1, (0, 0)), counts.get(0, (0, 0))
    if n_e == 0 or n_c == 0:
        return None
    return ChurnEffect.from_counts((k_e, n_e, k_c, n_c), window, exposure.indicator)


def measure_extra_churn(
    wh: Warehouse, config: Config, exposure: Exposure, *, as_of: datetime | None = None
) -> ChurnEffect | None:
    """The extra churn the exposure caused, measured against comparable unexposed customers.

    None when the follow-up (:func:`follow_up_window`) is not complete by :func:`churn_data_end`
    (the latest transaction, or ``as_of`` if earlier), or when there is nobody exposed or nobody
    to compare with (a segment of every customer). The counts do not change once the follow-up
    is complete, so measure an episode once and keep them.
    """
    return _measure(wh, config, exposure, churn_data_end(wh, as_of))


def _affected_value(
    wh: Warehouse, config: Config, affected: ir.Table, start: datetime, first: datetime | None
) -> tuple[int, float | None]:
    """Customers affected and their annual value: spend ÷ customer-years observed, × 1 year.

    Each customer is observed from the latest of the value window's start, the first
    transaction, and their own joining (or first transaction in the window, if earlier).
    """
    lo = max(start - config.reliability.value_window, first or start)
    t = wh.table("transactions")
    spend = (
        t.filter(t.occurred_at >= lo, t.occurred_at < start)
        .group_by("customer_id")
        .aggregate(spend=t.amount.sum(), first_seen=t.occurred_at.min())
    )
    c = wh.table("customers").select(cid="customer_id", joined_at="joined_at")
    rows = (
        affected.left_join(spend, "customer_id")
        .select(affected.customer_id, spend.spend, spend.first_seen)
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


def revenue_at_risk(
    wh: Warehouse,
    config: Config,
    exposure: Exposure,
    *,
    history: Sequence[ChurnEffect] = (),
    as_of: datetime | None = None,
    effect: ChurnEffect | Literal["measure"] | None = MEASURE,
) -> RevenueAtRisk:
    """Customers affected × annual value × extra churn, with a 95% interval.

    The extra churn is this exposure's own (basis ``observed``) when its follow-up is complete by
    ``as_of`` (default: the latest transaction), else pooled from ``history``, the measured
    effects of earlier episodes (basis ``history``: same-indicator episodes first, else all;
    :func:`pool_history`), else unknown (basis ``none``: the revenue figures are null).
    ``effect``: the exposure's own effect when the caller has already measured it (from stored
    counts), None when it is not measurable (yet); by default it is measured here.
    """
    terms, notes = _resolve(wh, config, exposure)
    first, last = _data_range(wh)
    data_end = last if as_of is None or last is None else min(as_of, last)
    affected = _union([_active(wh, t) for t in terms])
    n, value = _affected_value(wh, config, affected, exposure.start, first)
    if value is None:
        notes = [*notes, "no transactions before the start to value the customers by"]
    if isinstance(effect, str):
        own = _measure(wh, config, exposure, data_end, terms)
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
    )

"""The customer asset ledger: per unit and period, customers gained, reactivated, lost and kept.

Customers are assets (DESIGN.md, competency 1). Every customer's purchases (``transactions``)
split into *spells* of activity by the lapse rule (``[assets]``, :class:`earnright.config.Assets`):

- a customer is **gained** on the day of their first purchase ever;
- they are **lost** on the day their last purchase becomes ``lapse_after_days`` old with no
  purchase since (day of last purchase + the lapse), provided that day has come by the data's
  end (the latest transaction day); a next purchase on or before that day keeps them;
- a purchase after that day **reactivates** them (a new spell begins).

A row counts the events whose day falls in the period, so ``start + gained + reactivated − lost
= end`` in every row, ``start`` being the customers active when the period begins and ``end``
those active when it ends (or at the data's end, for a period that has just begun). A lapse
shorter than a period can count one customer twice in a row (lost and reactivated).

Among the customers who **stayed** through the period (active before it began, not lost in it),
``grew`` and ``declined`` count those whose spend in the period differs from their spend in the
period before by more than noise: ``z = (S₁ − S₀) / √(Q₁ + Q₀)`` beyond ±1.96, where S is a
period's spend and Q its sum of squared purchase amounts (the compound-Poisson variance of a
spend total). Values: ``gained_value`` and ``reactivated_value`` are the customers' spend in the
365 days from the day they came (observed so far), ``lost_value`` their spend in the 365 days up
to their last purchase: the annual spend that walked out.

A customer belongs to the unit at ``level`` above their ``home_unit_id`` in the current
hierarchy; customers without a row in ``customers`` are left out (the note counts them). Every
pass over raw rows is an Ibis expression; pandas finishes per unit and period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.config import Assets, Config
from earnright.errors import QueryError
from earnright.periods import Grain, period_label, truncate
from earnright.units import read_units, unit_ancestors
from earnright.warehouse import Warehouse

if TYPE_CHECKING:
    import pyarrow as pa

    from earnright.customers.value import CustomerValues

__all__ = [
    "GROWTH_Z",
    "LEDGER_COLUMNS",
    "Ledger",
    "SpellBasis",
    "came_spells",
    "compute_ledger",
    "customer_attributes",
    "customer_spells",
    "spell_state",
    "went_spells",
]

GROWTH_Z = 1.96
YEAR_DAYS = 365
LEDGER_COLUMNS = [
    "unit_id",
    "period",
    "start",
    "gained",
    "reactivated",
    "lost",
    "end",
    "grew",
    "declined",
    "gained_value",
    "reactivated_value",
    "lost_value",
    "gained_ltv",
    "reactivated_ltv",
    "lost_ltv",
]
_FLOWS = ["gained", "reactivated", "lost", "grew", "declined"]
_VALUES = ["gained_value", "reactivated_value", "lost_value"]
_LTV = ["gained_ltv", "reactivated_ltv", "lost_ltv"]
_FIXED = {"customer_id", "home_unit_id", "joined_at", "batch_id"}
_DAY = 86_400


@dataclass(frozen=True)
class SpellBasis:
    """What a ledger computed that the loss reasons reuse (:mod:`earnright.customers.losses`):
    every customer's spells (:func:`customer_spells`, no ``by``), the lifetime-value fit on them
    (:func:`earnright.customers.flow_values.ledger_values`; None where it cannot be fitted), and
    the warehouse state they were computed on (:func:`spell_state`): a reader uses them only
    while the state is the same, and computes again otherwise."""

    spells: pa.Table
    values: CustomerValues | None
    state: tuple[Any, ...]

    def holds(self, wh: Warehouse, rule: Assets) -> bool:
        """Are these the spells and the fit ``wh`` gives under ``rule`` now?"""
        return self.state == spell_state(wh, rule)


def spell_state(wh: Warehouse, rule: Assets) -> tuple[Any, ...]:
    """What the spells and their fit depend on: the lapse rule; of ``customers`` and
    ``transactions`` the rows, the batches that wrote them and the span of their times (rows
    are added and removed in batches: a batch or a row more or less changes it); and the
    customers forgotten (``earnright forget`` rewrites ids in place: one more changes it)."""
    out: list[Any] = [rule.model_dump_json()]
    for name, at in (("customers", "joined_at"), ("transactions", "occurred_at")):
        t = wh.table(name)
        row = t.aggregate(
            n=t.count(), batches=t.batch_id.nunique(), batch=t.batch_id.max(),
            first=t[at].min(), last=t[at].max(),
        ).to_pandas()  # fmt: skip
        out.append(tuple(str(v) for v in row.iloc[0].tolist()))
    if "forgotten" in wh.list_tables():
        out.append(int(wh.table("forgotten").count().execute()))
    return tuple(out)


@dataclass(frozen=True)
class Ledger:
    """The ledger rows (:data:`LEDGER_COLUMNS`, plus the ``by`` attribute after unit_id), the
    data's end, how many customers with transactions had no row in ``customers``, and why the
    lifetime-value columns are empty, if they are; ``basis``: the spells and the lifetime-value
    fit, when asked to keep them (:func:`compute_ledger`)."""

    frame: pd.DataFrame
    as_of: datetime | None
    unlisted: int
    note: str | None = None
    basis: SpellBasis | None = None


def customer_attributes(wh: Warehouse) -> list[str]:
    """The customer attribute columns (segment, tier …) of the ``customers`` table."""
    return [c for c in wh.table("customers").columns if c not in _FIXED]


def _check_attribute(wh: Warehouse, name: str, argument: str) -> None:
    known = customer_attributes(wh)
    if name not in known:
        raise QueryError(
            f"'{name}' is not a customer attribute; the customers table has {known or 'none'}",
            argument=argument,
        )


def _lapse(customers: ir.Table, rule: Assets) -> ir.IntegerValue:
    """Each customer's lapse in days: the override of their ``lapse_by`` value, else default."""
    default = ibis.literal(rule.lapse_after_days, "int64")
    if not rule.lapse_by or not rule.lapse_overrides:
        return default
    col = customers[rule.lapse_by]
    cases = [
        (col == value, ibis.literal(days, "int64")) for value, days in rule.lapse_overrides.items()
    ]
    return ibis.cases(*cases, else_=default)


def _days_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.IntegerValue:
    return ((later.epoch_seconds() - earlier.epoch_seconds()) // _DAY).cast("int64")


def _alive_lapse(wh: Warehouse, days: ir.Table, running: Any) -> ir.Table:
    """``days`` with each purchase day's lapse under ``lapse_rule = "p_alive"``: the days of
    silence after which BG/NBD (fitted on every purchase) judges the customer more likely gone
    than not, 7 (α + t_x) (((b + x − 1)/a)^(1/(r + x)) − 1) with x the repeat purchases so far
    and t_x the weeks since the first; a one-time buyer (x = 0) keeps the fixed lapse."""
    from earnright.customers.value import customer_lifetime_values

    try:
        r, alpha, a, b = customer_lifetime_values(wh).bg.values
    except QueryError as exc:
        raise QueryError(f"lapse_rule = \"p_alive\" needs the lifetime-value model: {exc}",
                         argument="lapse_rule") from exc  # fmt: skip
    whole = ibis.window(group_by="customer_id")
    days = days.mutate(_n=days.spend.count().over(running), _first=days.day.min().over(whole))
    x = days._n - 1
    weeks = _days_between(days.day, days._first) / 7
    ratio = ((float(b) + x - 1) / float(a)) ** (1 / (float(r) + x))
    model = ibis.greatest((7 * (float(alpha) + weeks) * (ratio - 1)).floor(), 0).cast("int64")
    return days.mutate(lapse=(x > 0).ifelse(model, days.lapse)).drop("_n", "_first")


def customer_spells(
    wh: Warehouse, rule: Assets, by: str | None = None
) -> tuple[ir.Table, ir.Table]:
    """(spells, customers): one row per customer and spell of activity (engine expression).

    Spell columns: customer_id, home_unit_id, the ``by`` attribute, ``spell`` (1 = the first),
    ``opened`` and ``last`` (days of its first and last purchase), ``lapse`` (days),
    ``value_in`` (spend in the 365 days from ``opened``), ``value_out`` (spend in the 365 days
    up to ``last``); the customer's history up to ``last``: ``upto_days`` (purchase days),
    ``upto_spend`` (their spend), ``first_day`` and ``first_spend`` (their first purchase ever).

    One ordered window over the purchase days (the gap to the previous one opens a spell, the
    gap to the next closes it; running counts and sums give the history up to each day); only
    the days that open or close a spell are numbered and grouped into spells, a few per
    customer, and the two years around a spell are summed by joining the purchase days to their
    customer's spells: no range window over the purchase days.
    """
    if rule.lapse_by:
        _check_attribute(wh, rule.lapse_by, "lapse_by")
    keep = ["customer_id", "home_unit_id", "joined_at", *([by] if by else [])]
    c = wh.table("customers")
    customers = c.select(*keep, lapse=_lapse(c, rule))
    t = wh.table("transactions")
    purchases = t.group_by("customer_id", day=t.occurred_at.truncate("D")).aggregate(
        spend=t.amount.sum()
    )
    days = purchases.inner_join(customers.select("customer_id", "lapse"), "customer_id")
    running = ibis.window(group_by="customer_id", order_by="day", preceding=None, following=0)
    if rule.lapse_rule == "p_alive":
        days = _alive_lapse(wh, days, running)
    order = ibis.window(group_by="customer_id", order_by="day")
    prev, prev_lapse = days.day.lag().over(order), days.lapse.lag().over(order)
    after = days.day.lead().over(order)
    days = days.mutate(
        opens=prev.isnull() | (_days_between(days.day, prev) > prev_lapse),
        closes=after.isnull() | (_days_between(after, days.day) > days.lapse),
        first=prev.isnull(),
        upto_days=days.spend.count().over(running),
        upto_spend=days.spend.sum().over(running),
    )
    # a spell is the purchase day that opens it and the one that closes it (the same day for a
    # spell of one purchase): only those days are numbered and grouped, a few per customer
    ends = days.filter(days.opens | days.closes)
    ends = ends.mutate(spell=ends.opens.ifelse(1, 0).sum().over(running))
    per = ends.group_by(["customer_id", "spell"]).aggregate(
        lapse=ends.lapse.argmax(ends.day),
        opened=ends.day.min(),
        last=ends.day.max(),
        upto_days=ends.upto_days.max(),
        upto_spend=ends.upto_spend.argmax(ends.day),
        first_spend=ends.first.ifelse(ends.spend, 0.0).sum(),
    )
    return _spell_totals(per, purchases, customers, by), customers


def _spell_totals(
    per: ir.Table, purchases: ir.Table, customers: ir.Table, by: str | None
) -> ir.Table:
    """The spells of :func:`customer_spells` from their ends: the first purchase (over the
    spells), the customer's columns, and the spend in the year from the spell's first day and
    in the year to its last."""
    whole = ibis.window(group_by="customer_id")
    per = per.mutate(
        first_day=per.opened.min().over(whole),
        first_spend=per.first_spend.sum().over(whole),  # the first spell's (the others: 0)
    )
    year = ibis.interval(days=YEAR_DAYS - 1)
    p = purchases.rename(_cid="customer_id")
    pairs = per.select("customer_id", "spell", "opened", "last").inner_join(
        p, per.customer_id == p._cid
    )
    came = (pairs.day >= pairs.opened) & (pairs.day <= pairs.opened + year)
    went = (pairs.day >= pairs["last"] - year) & (pairs.day <= pairs["last"])
    years = pairs.group_by(["customer_id", "spell"]).aggregate(
        value_in=came.ifelse(pairs.spend, 0.0).sum(),
        value_out=went.ifelse(pairs.spend, 0.0).sum(),
    )
    extra = customers.select(*(["customer_id", "home_unit_id", "joined_at"] + ([by] if by else [])))
    out = per.inner_join(years, ["customer_id", "spell"]).inner_join(extra, "customer_id")
    return out.select(
        "customer_id", "spell", "home_unit_id", "joined_at", *([by] if by else []), "lapse",
        "opened", "last", "value_in", "value_out", "upto_days", "upto_spend", "first_day",
        "first_spend",
    )  # fmt: skip


def _periods(first: datetime, last: datetime, grain: Grain) -> pd.DataFrame:
    """Every period from the one holding ``first`` to the one holding ``last``: start, end."""
    freq = {Grain.month: "MS", Grain.quarter: "QS", Grain.week: "W-MON"}[grain]
    lo = pd.Timestamp(first).normalize()
    lo = {
        Grain.month: lo.replace(day=1),
        Grain.quarter: lo.replace(day=1, month=3 * ((lo.month - 1) // 3) + 1),
        Grain.week: lo - pd.Timedelta(days=lo.weekday()),
    }[grain]
    starts = pd.date_range(lo, pd.Timestamp(last), freq=freq)
    ends = starts.append(pd.DatetimeIndex([starts[-1] + pd.tseries.frequencies.to_offset(freq)]))
    return pd.DataFrame(
        {"ps": starts.astype("datetime64[us]"), "pe": ends[1:].astype("datetime64[us]")}
    )


def _opening(spells: ir.Table, first: datetime) -> ir.BooleanValue:
    """A first spell of a customer who joined before the data begin and bought within their
    lapse of its first day: a customer already, carried in (the opening balance)."""
    before = spells.joined_at < ibis.literal(first)
    soon = spells.opened <= ibis.literal(first) + spells.lapse.as_interval("D")
    return (spells.spell == 1) & before.fill_null(False) & soon


def came_spells(spells: ir.Table, grain: Grain, first: datetime) -> ir.Table:
    """The spells that begin in the data (not carried in), with the period ``ps`` of their
    first day and ``new``: a gain (the customer's first spell, not a customer before the data
    began), else a reactivation."""
    came = spells.filter(~spells.opening).mutate(ps=truncate(spells.opened, grain))
    joined_before = came.joined_at.fill_null(ibis.literal(first)) < ibis.literal(first)
    return came.mutate(new=(came.spell == 1) & ~joined_before)


def went_spells(spells: ir.Table, grain: Grain, as_of: datetime) -> ir.Table:
    """The spells that ended in a loss by ``as_of``, with the period ``ps`` of the loss day."""
    lost_at = spells.last + spells.lapse.as_interval("D")
    went = spells.mutate(lost_at=lost_at).filter(lambda s: s.lost_at <= ibis.literal(as_of))
    return went.mutate(ps=truncate(went.lost_at, grain))


def _flows(
    spells: ir.Table, keys: list[str], grain: Grain, span: tuple[datetime, datetime]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(flows, opening): gained, reactivated and lost (with values) per unit key and period
    start ``ps``; the customers carried in per unit key."""
    first, as_of = span
    carried = spells.filter(spells.opening).group_by(keys).aggregate(opening=lambda s: s.count())
    came = came_spells(spells, grain, first)
    new = came.new
    came = came.group_by([*keys, "ps"]).aggregate(
        gained=new.ifelse(1, 0).sum(),
        reactivated=(~new).ifelse(1, 0).sum(),
        gained_value=new.ifelse(came.value_in, 0.0).sum(),
        reactivated_value=(~new).ifelse(came.value_in, 0.0).sum(),
    )
    went = went_spells(spells, grain, as_of)
    went = went.group_by([*keys, "ps"]).aggregate(
        lost=went.count(), lost_value=went.value_out.sum()
    )
    return _merge(came.to_pandas(), went.to_pandas(), [*keys, "ps"]), carried.to_pandas()


def _changes(
    wh: Warehouse,
    spells: ir.Table,
    keys: list[str],
    grain: Grain,
    periods: pd.DataFrame,
    as_of: datetime,
) -> pd.DataFrame:
    """Grew and declined per unit key and period, among customers who stayed through it."""
    grid = ibis.memtable(periods.assign(prev=periods.ps.shift(1)).dropna())
    spells = spells.mutate(lost_at=spells.last + spells.lapse.as_interval("D"))
    stayed = spells.cross_join(grid).filter(
        lambda s: (
            ((s.opened < s.ps) | s.opening)
            & ((s.lost_at >= s.pe) | (s.lost_at > ibis.literal(as_of)))
        )
    )
    t = wh.table("transactions")
    spend = t.group_by("customer_id", at=truncate(t.occurred_at, grain)).aggregate(
        s=t.amount.sum(), q=(t.amount * t.amount).sum()
    )
    now, before = spend.view(), spend.view()
    joined = stayed.left_join(
        now, [stayed.customer_id == now.customer_id, stayed.ps == now.at]
    ).select(
        *[stayed[k] for k in keys], stayed.customer_id, stayed.ps, stayed.prev, s1=now.s, q1=now.q
    )
    joined = joined.left_join(
        before, [joined.customer_id == before.customer_id, joined.prev == before.at]
    ).select(*[joined[k] for k in keys], joined.ps, joined.s1, joined.q1, s0=before.s, q0=before.q)
    diff = joined.s1.fill_null(0.0) - joined.s0.fill_null(0.0)
    var = joined.q1.fill_null(0.0) + joined.q0.fill_null(0.0)
    grew = (var > 0) & (diff > GROWTH_Z * var.sqrt())
    declined = (var > 0) & (diff < -GROWTH_Z * var.sqrt())
    out = joined.group_by([*keys, "ps"]).aggregate(
        grew=grew.ifelse(1, 0).sum(), declined=declined.ifelse(1, 0).sum()
    )
    return out.to_pandas()


def _plain(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``keys`` as Python strings (an empty engine result has no string type to merge on)."""
    return frame.astype({k: object for k in keys if k != "ps"})


def _merge(a: pd.DataFrame, b: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    a, b = _plain(a, on), _plain(b, on)
    for frame in (a, b):
        frame["ps"] = pd.to_datetime(frame["ps"]).astype("datetime64[us]")
    return a.merge(b, on=on, how="outer")


def _data_span(wh: Warehouse) -> tuple[datetime, datetime] | None:
    t = wh.table("transactions")
    row = t.aggregate(first=t.occurred_at.min(), last=t.occurred_at.max()).to_pandas()
    if pd.isna(row["last"].iloc[0]):
        return None
    first, last = (pd.Timestamp(row[k].iloc[0]).normalize() for k in ("first", "last"))
    return first.to_pydatetime(), last.to_pydatetime()


def _unlisted(wh: Warehouse) -> int:
    t, c = wh.table("transactions"), wh.table("customers")
    ids = t.select("customer_id").distinct()
    return int(ids.anti_join(c, "customer_id").count().execute())


def compute_ledger(
    wh: Warehouse,
    config: Config,
    *,
    level: str = "store",
    grain: Grain = Grain.month,
    period: str | None = None,
    by: str | None = None,
    keep_spells: bool = False,
) -> Ledger:
    """The ledger per unit of ``level`` (and value of the ``by`` attribute) and period of
    ``grain``: every period from the first transaction to the data's end, or only ``period``.
    Units of the level with no customers have rows of zeros; the lifetime-value columns are
    :mod:`earnright.customers.flow_values`. ``keep_spells`` (without ``by``): the ledger also
    hands over its spells and lifetime-value fit (``basis``), for the loss reasons to reuse."""
    from earnright.customers.flow_values import ledger_values, lifetime_flows

    grain = Grain(grain)
    if by is not None:
        _check_attribute(wh, by, "by")
    units = read_units(wh)
    ancestors = unit_ancestors(units, config.units.levels, level)
    unit_ids = sorted(units.loc[units.level == level, "unit_id"].astype(str))
    span = _data_span(wh)
    keys = ["unit_id", *([by] if by else [])]
    if span is None:
        return Ledger(pd.DataFrame(columns=keys + LEDGER_COLUMNS[1:]), None, 0)
    everyone, _ = customer_spells(wh, config.assets, by)
    # materialised once: the flows, the changes and the lifetime values each read it (every
    # customer's: the lifetime-value models are fitted on them all)
    everyone = everyone.mutate(opening=_opening(everyone, span[0])).cache()
    mapping = ibis.memtable(ancestors[["unit_id", "ancestor_id"]].astype(str))
    spells = everyone.inner_join(mapping, everyone.home_unit_id == mapping.unit_id)
    spells = spells.drop("home_unit_id", "unit_id").rename(unit_id="ancestor_id")
    periods = _periods(*span, grain)
    flows, opening = _flows(spells, keys, grain, span)
    changes = _changes(wh, spells, keys, grain, periods, span[1])
    merged = _merge(flows, changes, [*keys, "ps"])
    values, why = ledger_values(everyone, span[1])
    if values is not None:
        merged = _merge(merged, lifetime_flows(spells, keys, grain, span, values), [*keys, "ps"])
    frame = _finish(merged, opening, keys, unit_ids, (periods, grain))
    if values is None:
        frame[_LTV] = np.nan
    if period is not None:
        frame = frame[frame.period == period].reset_index(drop=True)
    basis = None
    if keep_spells and by is None:
        state = spell_state(wh, config.assets)
        basis = SpellBasis(everyone.drop("opening").to_pyarrow(), values, state)
    return Ledger(frame, span[1], _unlisted(wh), why, basis)


def _finish(
    flows: pd.DataFrame,
    opening: pd.DataFrame,
    keys: list[str],
    unit_ids: list[str],
    periods: tuple[pd.DataFrame, Grain],
) -> pd.DataFrame:
    """Every unit × period (× attribute value) with its flows; start and end from the opening
    balance and the flows."""
    (periods_frame, grain), index = periods, pd.DataFrame({"unit_id": unit_ids})
    if len(keys) > 1:
        seen = pd.concat([flows[keys[1]], opening[keys[1]]]).dropna().astype(str)
        index = index.merge(pd.DataFrame({keys[1]: sorted(seen.unique())}), how="cross")
    grid = index.merge(periods_frame[["ps"]], how="cross")
    index, flows, opening = _plain(index, keys), _plain(flows, keys), _plain(opening, keys)
    frame = grid.merge(flows, on=[*keys, "ps"], how="left").merge(opening, on=keys, how="left")
    frame["opening"] = frame["opening"].fillna(0).astype(np.int64)
    for col in _FLOWS:
        frame[col] = frame[col].fillna(0).astype(np.int64) if col in frame else 0
    for col in [*_VALUES, *_LTV]:
        frame[col] = frame[col].fillna(0.0).astype(float).round(2) if col in frame else 0.0
    frame = frame.sort_values([*keys, "ps"]).reset_index(drop=True)
    net = frame.gained + frame.reactivated - frame.lost
    frame["end"] = frame.opening + net.groupby([frame[k] for k in keys]).cumsum().astype(np.int64)
    frame["start"] = (frame["end"] - net).astype(np.int64)
    frame["period"] = period_label(frame.ps, grain).to_numpy()
    return frame[[keys[0], *keys[1:], *LEDGER_COLUMNS[1:]]]


def as_of_note(ledger: Ledger, grain: Grain) -> str | None:
    """What to tell the user about the data's end (the last period may have just begun)."""
    if ledger.as_of is None:
        return None
    end = ledger.as_of + timedelta(days=1)
    label = period_label(pd.Series([pd.Timestamp(ledger.as_of)]), grain).iloc[0]
    complete = period_label(pd.Series([pd.Timestamp(end)]), grain).iloc[0] != label
    state = "" if complete else f"; {label} has begun and counts to that day"
    return f"the data end {ledger.as_of:%Y-%m-%d}{state}"

"""Why customers left: the reasons behind every loss of the customer asset ledger.

A customer is **lost** exactly as the ledger counts them (:mod:`earnright.customers.assets`): on
the day their last purchase becomes their lapse (``[assets] lapse_after_days``) old. For each
loss, what happened in their lapse (180 days) before the last purchase, up to the day they were
lost (the *look-back* ``[last − lapse, lost)``):

- ``call`` (confidence ``recorded``): a loss call (``loss_calls``) on or after their last
  purchase: the reason they gave. It outranks every other reason;
- ``incident`` (``exposure``): an early-warning incident whose segment and window reached them
  (:func:`earnright.reliability.revenue.affected_customers`: a transaction at the segment's
  units, hours and customer attributes during the incident), with the window overlapping the
  look-back and starting by their last purchase;
- ``complaint`` (``told``): feedback on a complaint channel (``[assets] complaint_channels``),
  with its comment;
- ``detractor`` (``told``): an answer of 0-6 to the NPS question, with its comment;
- ``fewer_visits`` (``behaviour``): purchase days in the 90 days up to the last purchase
  against their own rate in up to a year before: fewer than Poisson noise allows (a one-sided
  binomial test on the split of their visits, p < 0.05, with at least 90 earlier days);
- ``no_signal``: none of these.

A customer may have several reasons; their *primary* reason is the first in that order. Every
reason is one Ibis query over all lost customers; numpy finishes per customer row (no loop).
The value of a loss is the ledger's ``lost_value``: their spend in the 365 days up to their
last purchase (:data:`VALUE_HOOK`), and beside it the ledger's ``lost_ltv``: the lifetime value
they carried on the day of their last purchase (:data:`VALUE_LTV_HOOK`; BG/NBD and Gamma-Gamma
fitted once on every purchase up to the data's end, :mod:`earnright.customers.flow_values`;
null where the models cannot be fitted, too few repeat buyers). The summary's ``value_ltv`` and
``lost_ltv`` sum it as ``value`` and ``lost_value`` sum the spend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from earnright.config import Config
from earnright.customers.assets import SpellBasis, _data_span, customer_spells
from earnright.customers.flow_values import LOST_COLUMNS, lost_lifetime_values
from earnright.customers.loss_incidents import (
    EXCESS_COLUMNS,
    incident_excesses,
    incident_exposures,
    incident_reasons,
    incident_terms,
    loss_keys,
)
from earnright.customers.value import customer_lifetime_values
from earnright.errors import QueryError
from earnright.periods import Grain, parse_period, period_label, truncate
from earnright.units import read_units, unit_ancestors
from earnright.warehouse import Warehouse

__all__ = [
    "CONFIDENCE",
    "REASONS",
    "RECENT_DAYS",
    "SUMMARY_COLUMNS",
    "VALUE_HOOK",
    "VALUE_LTV_HOOK",
    "Losses",
    "check_loss_period",
    "explain_losses",
    "lost_customers",
    "summarise_losses",
]

REASONS = ("call", "incident", "complaint", "detractor", "fewer_visits", "no_signal")
CONFIDENCE = {
    "call": "recorded",
    "incident": "exposure",
    "complaint": "told",
    "detractor": "told",
    "fewer_visits": "behaviour",
    "no_signal": "",
}
RECENT_DAYS = 90  # the recent window of the visit test
EARLIER_DAYS = 365  # at most this much earlier history is the customer's own rate
DROP_P = 0.05
DETRACTOR_MAX = 6
VALUE_HOOK = "lost_value"  # the column valuing a loss in a year of spend
VALUE_LTV_HOOK = "lost_ltv"  # … and in lifetime value (null where it cannot be fitted)
_DAY = 86_400
REASON_COLUMNS = ["customer_id", "lost_at", "reason", "detail", "moment", "comment", "at"]
SUMMARY_COLUMNS = [
    "unit_id",
    "period",
    "reason",
    "detail",
    "moment",
    "customers",
    "share",
    "value",
    "value_ltv",
    "primary",
    "excess",
    "lost",
    "lost_value",
    "lost_ltv",
]


@dataclass(frozen=True)
class Losses:
    """Every lost customer (``lost``: one row per loss) and their reasons (``reasons``: one row
    per loss and reason, :data:`REASON_COLUMNS`), the data's end, and each incident's excess
    (``incidents``: :data:`~earnright.customers.loss_incidents.EXCESS_COLUMNS`)."""

    lost: pd.DataFrame
    reasons: pd.DataFrame
    as_of: datetime | None
    incidents: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EXCESS_COLUMNS))


def lost_customers(
    wh: Warehouse,
    config: Config,
    *,
    level: str = "store",
    grain: Grain = Grain.month,
    period: str | None = None,
    basis: SpellBasis | None = None,
) -> tuple[ir.Table | None, datetime | None]:
    """(the ledger's lost customers as an engine table, the data's end).

    Columns: customer_id, home_unit_id, unit_id (at ``level``), ps (start of the period of
    ``grain`` they were lost in), last (day of the last purchase), lost_at, since (the look-back's
    start), lost_value, and what :func:`lost_lifetime_values` values them by (``LOST_COLUMNS``).
    Only ``period`` when given. (None, None) without transactions. ``basis``: the ledger's
    spells, already computed on this warehouse (:func:`explain_losses` checks)."""
    span = _data_span(wh)
    if span is None:
        return None, None
    units = read_units(wh)
    ancestors = unit_ancestors(units, config.units.levels, level)
    mapping = ibis.memtable(ancestors[["unit_id", "ancestor_id"]].astype(str))
    spells = _registered(wh, basis)
    if spells is None:
        spells, _ = customer_spells(wh, config.assets)
    spells = spells.inner_join(mapping, spells.home_unit_id == mapping.unit_id)
    spells = spells.drop("unit_id").rename(unit_id="ancestor_id")
    lapse = spells.lapse.as_interval("D")
    lost = spells.mutate(lost_at=spells["last"] + lapse, since=spells["last"] - lapse)
    lost = lost.filter(lost.lost_at <= ibis.literal(span[1]))
    lost = lost.mutate(ps=truncate(lost.lost_at, grain))
    if period is not None:
        start, _end = parse_period(period, grain)
        lost = lost.filter(lost.ps == ibis.literal(start))
    return lost.select(
        "customer_id", "home_unit_id", "unit_id", "ps", "opened", "last", "lost_at", "since",
        *(c for c in LOST_COLUMNS if c != "last"), lost_value=lost.value_out,
    ), span[1]  # fmt: skip


def _registered(wh: Warehouse, basis: SpellBasis | None) -> ir.Table | None:
    """The spells of ``basis`` as a temporary table of the warehouse (the reason queries join
    them to its tables), or None without a basis or where the backend cannot hold one."""
    if basis is None:
        return None
    try:
        return wh.con.create_table(ibis.util.gen_name("spells"), obj=basis.spells, temp=True)
    except (NotImplementedError, AttributeError):  # pragma: no cover - no temporary tables
        return None


def _feedback_reasons(wh: Warehouse, config: Config, lost: ir.Table) -> list[ir.Table]:
    """Detractor answers and complaints in the look-back, with their comment."""
    f = wh.table("feedback")
    keys = loss_keys(lost)
    joined = keys.inner_join(
        f,
        [
            keys.lid == f.customer_id,
            f.responded_at >= keys.l_since,
            f.responded_at < keys.l_lost,
        ],
    )
    out = []
    channels = [c.lower() for c in config.assets.complaint_channels]
    nps = config.question_of_kind("nps")
    conditions: list[tuple[str, ir.BooleanValue, ir.StringValue]] = []
    if channels:
        complaint = joined.channel.lower().isin(channels)
        conditions.append(("complaint", complaint, joined.channel))
    if nps is not None and nps.id in joined.columns:
        score = joined[nps.id]
        text = ibis.literal(f"{nps.id} ") + score.cast("int64").cast("string")
        conditions.append(("detractor", score.notnull() & (score <= DETRACTOR_MAX), text))
    for reason, condition, detail in conditions:
        rows = joined.filter(condition)
        out.append(
            rows.select(
                customer_id=rows.lid,
                lost_at=rows.l_lost,
                reason=ibis.literal(reason),
                detail=detail.cast("string"),
                moment=rows.moment.fill_null("").cast("string"),
                comment=rows.comment.cast("string"),
                at=rows.responded_at,
            )
        )
    return out


def _call_reasons(wh: Warehouse, lost: ir.Table) -> ir.Table | None:
    """Recorded loss calls on or after the last purchase: the reason the customer gave."""
    if "loss_calls" not in wh.list_tables():
        return None
    c = wh.table("loss_calls")
    keys = loss_keys(lost)
    joined = keys.inner_join(c, [keys.lid == c.customer_id, c.called_at >= keys.l_last])
    code = joined.reason_code.fill_null("").cast("string")
    by = ibis.literal(" (by ") + joined.caller.fill_null("?") + ibis.literal(")")
    return joined.select(
        customer_id=joined.lid,
        lost_at=joined.l_lost,
        reason=ibis.literal("call"),
        detail=(code == "").ifelse(ibis.literal("recorded"), code) + by,
        moment=ibis.literal(""),
        comment=joined.outcome.cast("string"),
        at=joined.called_at,
    )


def _visit_counts(wh: Warehouse, lost: ir.Table) -> pd.DataFrame:
    """Per loss: purchase days in the recent 90 days up to the last purchase (k), before them
    within a year (n), and the earlier days observed (days)."""
    t = wh.table("transactions")
    t = t.semi_join(lost.select("customer_id").distinct(), "customer_id")  # only the lost's days
    days = t.select("customer_id", day=t.occurred_at.truncate("D")).distinct()
    keys = lost.select(lid="customer_id", l_last="last", l_lost="lost_at", opened="opened")
    recent_from = keys.l_last - ibis.interval(days=RECENT_DAYS - 1)
    earlier_from = ibis.greatest(
        keys.opened, keys.l_last - ibis.interval(days=RECENT_DAYS + EARLIER_DAYS - 1)
    )
    keys = keys.mutate(r0=recent_from, e0=earlier_from)
    joined = keys.inner_join(
        days, [keys.lid == days.customer_id, days.day >= keys.e0, days.day <= keys.l_last]
    )
    recent = joined.day >= joined.r0
    agg = joined.group_by(["lid", "l_lost", "r0", "e0"]).aggregate(
        k=recent.ifelse(1, 0).sum(), n=(~recent).ifelse(1, 0).sum()
    )
    span = (agg.r0.epoch_seconds() - agg.e0.epoch_seconds()) // _DAY
    return agg.select(
        customer_id=agg.lid, lost_at=agg.l_lost, k=agg.k, n=agg.n, days=span.cast("int64")
    ).to_pandas()


def visit_drop(k: np.ndarray, n: np.ndarray, days: np.ndarray) -> np.ndarray:
    """One-sided p-value that k recent visits in 90 days (n in ``days`` earlier days) are as few
    as their own earlier rate gives: under one Poisson rate, k | k + n is binomial with
    probability 90 / (90 + days). NaN where fewer than 90 earlier days were observed."""
    k, n, days = (np.asarray(a, dtype=float) for a in (k, n, days))
    share = RECENT_DAYS / (RECENT_DAYS + np.maximum(days, 1))
    p = stats.binom.cdf(k, k + n, share)
    return np.where(days >= RECENT_DAYS, p, np.nan)


def _fewer_visits(wh: Warehouse, lost: ir.Table) -> pd.DataFrame:
    counts = _visit_counts(wh, lost)
    p = visit_drop(counts.k.to_numpy(), counts.n.to_numpy(), counts.days.to_numpy())
    dropped = counts[p < DROP_P]
    rate = lambda a, d: a / d * 30  # noqa: E731  purchases a month
    detail = [
        f"{rate(k, RECENT_DAYS):.1f}/month in the last {RECENT_DAYS} days, {rate(n, d):.1f} before"
        for k, n, d in zip(dropped.k, dropped.n, dropped.days, strict=True)
    ]
    return pd.DataFrame(
        {
            "customer_id": dropped.customer_id,
            "lost_at": dropped.lost_at,
            "reason": "fewer_visits",
            "detail": detail,
            "moment": "",
            "comment": None,
            "at": dropped.lost_at,
        }
    )


def explain_losses(
    wh: Warehouse,
    config: Config,
    *,
    level: str = "store",
    grain: Grain = Grain.month,
    period: str | None = None,
    basis: SpellBasis | None = None,
) -> Losses:
    """Every loss (of ``period``, else all) with its reasons (module doc), and the excess of
    every incident (:mod:`earnright.customers.loss_incidents`). ``basis``: the spells and the
    lifetime-value fit a ledger computed (:func:`~earnright.customers.assets.compute_ledger`,
    ``keep_spells``), reused while the warehouse still gives them (else computed again): the
    same losses, without a second pass over the purchases or a second fit."""
    grain = Grain(grain)
    if basis is not None and not basis.holds(wh, config.assets):
        basis = None
    table, as_of = lost_customers(wh, config, level=level, grain=grain, period=period, basis=basis)
    if table is None:
        return Losses(_empty_lost(), pd.DataFrame(columns=REASON_COLUMNS), None)
    table = _cached(table)
    lost = _finish_lost(_with_ltv(wh, table.to_pandas(), as_of, basis), grain)
    if lost.empty:
        return Losses(lost, pd.DataFrame(columns=REASON_COLUMNS), as_of)
    hits = incident_exposures(wh)
    terms = incident_terms(wh, config, hits)  # resolved once for the reasons and the excesses
    queries = [
        _call_reasons(wh, table),
        incident_reasons(wh, config, table, hits, terms),
        *_feedback_reasons(wh, config, table),
    ]
    frames = [q.to_pandas() for q in queries if q is not None] + [_fewer_visits(wh, table)]
    reasons = pd.concat([f for f in frames if len(f)] or [frames[-1]], ignore_index=True)
    reasons = _with_no_signal(lost, _normalise(reasons))
    return Losses(lost, reasons, as_of, incident_excesses(wh, config, table, hits, terms))


def check_loss_period(wh: Warehouse, period: str, grain: Grain) -> None:
    """QueryError unless ``period`` begins by the data's end and ends after their first day
    (customers are lost after their last purchase: a period without purchases may hold losses)."""
    span = _data_span(wh)
    start, end = parse_period(period, grain)
    if span is None or start > span[1] or end <= span[0]:
        cover = f"{span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}" if span else "nothing"
        raise QueryError(
            f"no losses can fall in {period}: the transactions cover {cover}; pick a period "
            "in that range",
            argument="period",
        )


def _cached(table: ir.Table) -> ir.Table:
    """The lost customers computed once (a temporary table) for the reason queries that follow;
    the expression itself where the backend cannot cache."""
    try:
        return table.cache()
    except (NotImplementedError, AttributeError):  # pragma: no cover - backend without caching
        return table


def _with_ltv(
    wh: Warehouse, lost: pd.DataFrame, as_of: datetime | None, basis: SpellBasis | None = None
) -> pd.DataFrame:
    """``lost`` with ``lost_ltv``: the ledger's lifetime value of each loss (null without a
    fit), on the fit of ``basis`` when given (the same numbers: :func:`~earnright.customers.
    flow_values.spell_summaries` are the summaries of :func:`customer_lifetime_values`)."""
    if basis is not None:
        values = basis.values
        if values is None:  # the ledger could not fit the models either
            return lost.assign(lost_ltv=np.nan)
    else:
        try:
            values = customer_lifetime_values(wh, as_of)
        except QueryError:  # too few repeat buyers: the ledger's lost_ltv is empty too
            return lost.assign(lost_ltv=np.nan)
    return lost.assign(lost_ltv=lost_lifetime_values(lost, values) if len(lost) else [])


def _empty_lost() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["customer_id", "home_unit_id", "unit_id", "period", "last", "lost_at",
                 "lost_value", "lost_ltv"]
    )  # fmt: skip


def _finish_lost(lost: pd.DataFrame, grain: Grain) -> pd.DataFrame:
    out = lost.copy()
    for col in ("ps", "last", "lost_at"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    out["period"] = period_label(out.ps, grain).to_numpy() if len(out) else []
    out["lost_value"] = out.lost_value.astype(float).fillna(0.0)
    out["lost_ltv"] = out.lost_ltv.astype(float)
    out = out.astype({"customer_id": object, "home_unit_id": object, "unit_id": object})
    return out[_empty_lost().columns].sort_values(["unit_id", "lost_at", "customer_id"])


def _normalise(reasons: pd.DataFrame) -> pd.DataFrame:
    out = reasons.copy()
    out["lost_at"] = pd.to_datetime(out.lost_at).astype("datetime64[us]")
    out["at"] = pd.to_datetime(out["at"]).astype("datetime64[us]")
    out["customer_id"] = out.customer_id.astype(object)
    out["moment"] = out.moment.fillna("").astype(object)
    out["comment"] = out.comment.astype(object).where(out.comment.notna(), None)
    return out[REASON_COLUMNS]


def _with_no_signal(lost: pd.DataFrame, reasons: pd.DataFrame) -> pd.DataFrame:
    """The reasons, plus ``no_signal`` for every loss without one, ordered by rank."""
    have = reasons[["customer_id", "lost_at"]].drop_duplicates()
    keyed = lost[["customer_id", "lost_at"]].merge(have, how="left", indicator=True)
    silent = keyed[keyed["_merge"] == "left_only"]
    none = pd.DataFrame(
        {"customer_id": silent.customer_id, "lost_at": silent.lost_at, "reason": "no_signal"}
    ).assign(detail="", moment="", comment=None, at=silent.lost_at)
    out = pd.concat([r for r in (reasons, none) if len(r)] or [reasons], ignore_index=True)
    rank = out.reason.map({r: i for i, r in enumerate(REASONS)})
    out = out.assign(_rank=rank).sort_values(["customer_id", "lost_at", "_rank", "at"])
    return out.drop(columns="_rank").reset_index(drop=True)


def primary_reasons(reasons: pd.DataFrame) -> pd.DataFrame:
    """Each loss's primary reason (the first of :data:`REASONS` it has)."""
    return reasons.drop_duplicates(["customer_id", "lost_at"], keep="first")


def summarise_losses(losses: Losses) -> pd.DataFrame:
    """Per unit, period, reason (and incident or channel, and moment): the customers with that
    reason, their share of the unit's losses, their value, how many have it as primary reason,
    and the unit-period's losses and their value (:data:`SUMMARY_COLUMNS`)."""
    lost, reasons = losses.lost, losses.reasons
    if lost.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    cols = ["customer_id", "lost_at", "unit_id", "period", VALUE_HOOK, VALUE_LTV_HOOK]
    tagged = reasons.merge(lost[cols], on=["customer_id", "lost_at"])
    tagged["group"] = np.where(tagged.reason == "incident", tagged.detail, "")
    tagged["group"] = np.where(tagged.reason == "call", tagged.detail.str.split(" \\(by").str[0],
                               tagged.group)  # fmt: skip
    prim = primary_reasons(tagged).assign(primary=1)
    keys = ["unit_id", "period", "reason", "group", "moment"]
    each = tagged.drop_duplicates(["customer_id", "lost_at", "reason", "group", "moment"])
    out = each.groupby(keys, as_index=False).agg(
        customers=("customer_id", "size"), value=(VALUE_HOOK, "sum"),
        value_ltv=(VALUE_LTV_HOOK, _sum_or_null),
    )  # fmt: skip
    firsts = prim.groupby(keys, as_index=False).agg(primary=("primary", "sum"))
    out = out.merge(firsts, on=keys, how="left")
    totals = lost.groupby(["unit_id", "period"], as_index=False).agg(
        lost=("customer_id", "size"), lost_value=(VALUE_HOOK, "sum"),
        lost_ltv=(VALUE_LTV_HOOK, _sum_or_null),
    )  # fmt: skip
    out = out.merge(totals, on=["unit_id", "period"])
    out["primary"] = out["primary"].fillna(0).astype(np.int64)
    out["share"] = (out.customers / out.lost).round(4)
    out["value"] = out.value.round(2)
    out["lost_value"] = out.lost_value.round(2)
    out["value_ltv"] = out.value_ltv.round(2)
    out["lost_ltv"] = out.lost_ltv.round(2)
    out = out.rename(columns={"group": "detail"})
    out["excess"] = _allocate_excess(out, losses.incidents)
    out["_rank"] = out.reason.map({r: i for i, r in enumerate(REASONS)})
    out = out.sort_values(
        ["unit_id", "period", "_rank", "customers"], ascending=[True, True, True, False]
    )
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


def _sum_or_null(values: pd.Series) -> float:
    """The sum, null when every value is (no lifetime value could be fitted)."""
    return float(values.sum(min_count=1))


def _allocate_excess(rows: pd.DataFrame, incidents: pd.DataFrame) -> pd.Series:
    """Each incident row's part of its incident's excess, in proportion to the losses it hit
    (NaN for other reasons and incidents without an estimate)."""
    hit = rows.reason == "incident"
    total = rows[hit].groupby("detail").customers.sum()
    per = incidents.set_index("detail").excess.astype(float) if len(incidents) else pd.Series()
    ratio = rows.detail.map(per / total.reindex(per.index)) if len(per) else np.nan
    return (rows.customers * ratio).where(hit).astype(float).round(1)


def headline(losses: Losses, period: str | None) -> str | None:
    """ "Lost 310 customers worth $92,000 in 2026-Q3; 41% had been hit by INC03 …": the
    company's losses of ``period`` (else the latest period with losses) and the incident that
    touched most of them."""
    lost = losses.lost
    if lost.empty:
        return None
    period = period or str(lost.period.max())
    mine = lost[lost.period == period]
    if mine.empty:
        return None
    text = f"Lost {len(mine):,} customers worth {mine[VALUE_HOOK].sum():,.0f} in {period}"
    keys = mine[["customer_id", "lost_at"]]
    hit = losses.reasons.merge(keys, on=["customer_id", "lost_at"])
    hit = hit[hit.reason == "incident"].drop_duplicates(["customer_id", "lost_at", "detail"])
    if len(hit):
        top = hit.detail.value_counts()
        text += f"; {top.iloc[0] / len(mine):.0%} had been hit by the {top.index[0]} incident"
        excess = _period_excess(losses, top.index[0], int(top.iloc[0]))
        if excess is not None:
            text += f" (about {excess:,.0f} of them beyond the usual rate)"
    return text


def _period_excess(losses: Losses, detail: str, hits: int) -> float | None:
    """The part of an incident's excess that falls on ``hits`` of its losses."""
    found = losses.incidents[losses.incidents.detail == detail]
    reasons = losses.reasons
    every = reasons[(reasons.reason == "incident") & (reasons.detail == detail)]
    if found.empty or pd.isna(found.excess.iloc[0]) or len(every) == 0:
        return None
    return max(float(found.excess.iloc[0]) * hits / len(every), 0.0)

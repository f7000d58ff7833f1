"""Losses and the early-warning incidents that reached them: who was exposed, and how many of
those losses are beyond the usual rate.

Exposure is :func:`earnright.reliability.revenue.affected_customers` (a transaction at the
segment's units, hours and customer attributes during the incident), never re-implemented here.
A loss is *hit* by an incident when the customer was exposed and the incident's window overlaps
their look-back ``[last − lapse, lost)`` (a segment of units needs a purchase during the incident,
so it began by their last purchase; a customer attribute such as the app platform reaches
customers who bought at its units within ``[reliability] active_window`` before it).

Being hit is not being driven away: some of the exposed would have left anyway. The **excess**
of an incident compares the exposed with the comparable unexposed customers
(:func:`earnright.reliability.revenue.comparable_customers`, the control group revenue at risk
measures churn against): of each group, how many were lost with their last purchase in
``[start − active_window, end + [reliability] churn_window)`` (both groups bought at the units
in the segment's window, so for a segment of units the last purchase is after the start
anyway; an attribute's customers may have bought last up to ``active_window`` before it).
excess = k_e − n_e · k_c / n_c, with a 95% interval from the binomial variance of both shares:
n_e p_e (1 − p_e) + n_e² p_c (1 − p_c) / n_c.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.config import Config
from earnright.reliability.records import load_incidents
from earnright.reliability.revenue import Exposure, affected_customers, comparable_customers
from earnright.warehouse import Warehouse

__all__ = [
    "EXCESS_COLUMNS",
    "HitBy",
    "incident_excess",
    "incident_excesses",
    "incident_exposures",
    "incident_reasons",
    "loss_keys",
]

Z = 1.959964
EXCESS_COLUMNS = [
    "detail", "exposed", "exposed_lost", "control", "control_lost", "excess", "excess_low",
    "excess_high",
]  # fmt: skip


@dataclass(frozen=True)
class HitBy:
    """An incident as a reason: its ``detail`` (id, indicator and segment), moment, exposure."""

    detail: str
    moment: str
    exposure: Exposure


def loss_keys(lost: ir.Table) -> ir.Table:
    """The losses' keys and look-back, renamed for joins: lid, l_last, l_lost, l_since."""
    return lost.select(
        lid="customer_id", l_last="last", l_lost="lost_at", l_since="since"
    ).distinct()


def incident_exposures(wh: Warehouse) -> list[HitBy]:
    """Every stored incident with a window (start before end) as an exposure."""
    out = []
    for inc in load_incidents(wh):
        start, end = inc.window
        if end is None or end <= start:
            continue
        detail = f"{inc.incident_id} {inc.indicator}" + (f" ({inc.segment})" if inc.segment else "")
        exposure = Exposure(inc.segments, start, end, inc.indicator)
        out.append(HitBy(detail, inc.moment or "", exposure))
    return out


def incident_reasons(
    wh: Warehouse, config: Config, lost: ir.Table, hits: list[HitBy]
) -> ir.Table | None:
    """Losses hit by an incident: one query over the union of every incident's exposed."""
    if not hits:
        return None
    parts = [
        affected_customers(wh, config, h.exposure).mutate(
            detail=ibis.literal(h.detail),
            moment=ibis.literal(h.moment),
            i_start=ibis.literal(h.exposure.start),
            i_end=ibis.literal(h.exposure.end),
        )
        for h in hits
    ]
    exposed = parts[0] if len(parts) == 1 else ibis.union(*parts)
    keys = loss_keys(lost)
    joined = keys.inner_join(
        exposed,
        [
            keys.lid == exposed.customer_id,
            exposed.i_start < keys.l_lost,
            exposed.i_end > keys.l_since,
        ],
    )
    return joined.select(
        customer_id=joined.lid,
        lost_at=joined.l_lost,
        reason=ibis.literal("incident"),
        detail=joined.detail,
        moment=joined.moment,
        comment=ibis.null().cast("string"),
        at=joined.i_start,
    )


def incident_excess(
    wh: Warehouse, config: Config, exposure: Exposure, lost: ir.Table
) -> dict[str, float]:
    """Exposed and comparable customers, how many of each were lost with their last purchase
    in ``[start − active_window, end + churn_window)``, and the excess with its 95% interval
    (module doc)."""
    day = exposure.start.replace(hour=0, minute=0, second=0, microsecond=0)
    day -= config.reliability.active_window
    until = exposure.end + config.reliability.churn_window
    gone = lost.filter(lost["last"] >= ibis.literal(day), lost["last"] < ibis.literal(until))
    gone = gone.select("customer_id").distinct().mutate(gone=ibis.literal(1))
    groups = ibis.union(
        affected_customers(wh, config, exposure).mutate(g=ibis.literal(1)),
        comparable_customers(wh, config, exposure).mutate(g=ibis.literal(0)),
    )
    joined = groups.left_join(gone, "customer_id").select(groups.g, gone.gone)
    counts = joined.group_by("g").aggregate(n=joined.count(), k=joined.gone.notnull().sum())
    got = {int(r.g): (int(r.n), int(r.k)) for r in counts.to_pandas().itertuples()}
    (n_e, k_e), (n_c, k_c) = got.get(1, (0, 0)), got.get(0, (0, 0))
    return excess_of(k_e, n_e, k_c, n_c)


def excess_of(k_e: int, n_e: int, k_c: int, n_c: int) -> dict[str, float]:
    """The excess of k_e losses among n_e exposed over the rate k_c / n_c of the comparable."""
    out: dict[str, float] = {
        "exposed": n_e, "exposed_lost": k_e, "control": n_c, "control_lost": k_c,
        "excess": np.nan, "excess_low": np.nan, "excess_high": np.nan,
    }  # fmt: skip
    if n_e == 0 or n_c == 0:
        return out
    p_e, p_c = k_e / n_e, k_c / n_c
    excess = k_e - n_e * p_c
    sd = float(np.sqrt(n_e * p_e * (1 - p_e) + n_e**2 * p_c * (1 - p_c) / n_c))
    out.update(excess=excess, excess_low=excess - Z * sd, excess_high=excess + Z * sd)
    return out


def incident_excesses(
    wh: Warehouse, config: Config, lost: ir.Table, hits: list[HitBy]
) -> pd.DataFrame:
    """:func:`incident_excess` of every incident (:data:`EXCESS_COLUMNS`)."""
    rows = [{"detail": h.detail, **incident_excess(wh, config, h.exposure, lost)} for h in hits]
    return pd.DataFrame(rows, columns=EXCESS_COLUMNS)

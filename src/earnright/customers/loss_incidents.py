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

A pass over every incident resolves their segments on one :class:`~earnright.reliability.revenue.
UnitIndex` (the units read once, each level's ancestors walked once) and finds their customers
together (:func:`earnright.reliability.revenue.tagged_active`): the hit losses of every incident
in one query, the excesses ``GROUPS_A_QUERY`` incidents a query (each side's customers of those
incidents from one scan of the transactions; the comparable customers of every incident at once
would be held in memory together). :func:`incident_excess` prices one incident on its own (the
reference the pass is tested against).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.config import Config
from earnright.reliability.records import load_incidents
from earnright.reliability.revenue import (
    Exposure,
    Term,
    UnitIndex,
    affected_customers,
    comparable_customers,
    control_terms,
    resolve_terms,
    tagged_active,
)
from earnright.reliability.terms import GROUPS_A_QUERY, exposed_and_control
from earnright.warehouse import Warehouse

__all__ = [
    "EXCESS_COLUMNS",
    "HitBy",
    "incident_excess",
    "incident_excesses",
    "incident_exposures",
    "incident_reasons",
    "incident_terms",
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


def incident_terms(wh: Warehouse, config: Config, hits: list[HitBy]) -> list[list[Term]]:
    """Every incident's terms (:func:`~earnright.reliability.revenue.resolve_terms`), resolved
    on one :class:`~earnright.reliability.revenue.UnitIndex`."""
    units = UnitIndex(wh, config.units.levels)
    return [resolve_terms(wh, config, h.exposure, units)[0] for h in hits]


def incident_reasons(
    wh: Warehouse,
    config: Config,
    lost: ir.Table,
    hits: list[HitBy],
    terms: list[list[Term]] | None = None,
) -> ir.Table | None:
    """Losses hit by an incident: one query over every incident's exposed customers (the
    customers of :func:`~earnright.reliability.revenue.affected_customers`, all incidents'
    from one scan of the transactions). ``terms``: each incident's, when already resolved."""
    if not hits:
        return None
    terms = terms if terms is not None else incident_terms(wh, config, hits)
    exposed = tagged_active(wh, [(k, t) for k, each in enumerate(terms) for t in each])
    about = ibis.memtable(
        pd.DataFrame(
            {
                "_k": range(len(hits)),
                "detail": [h.detail for h in hits],
                "moment": [h.moment for h in hits],
                "i_start": [h.exposure.start for h in hits],
                "i_end": [h.exposure.end for h in hits],
            }
        ),
        schema=ibis.schema(
            {"_k": "int64", "detail": "string", "moment": "string", "i_start": "timestamp",
             "i_end": "timestamp"}
        ),
    )  # fmt: skip
    exposed = exposed.inner_join(about, "_k")
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
    day, until = _gone_since(config, exposure)
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


def _gone_since(config: Config, exposure: Exposure) -> tuple[datetime, datetime]:
    """``[start − active_window, end + churn_window)``: the last purchases whose losses count."""
    day = exposure.start.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - config.reliability.active_window, exposure.end + config.reliability.churn_window


def incident_excesses(
    wh: Warehouse,
    config: Config,
    lost: ir.Table,
    hits: list[HitBy],
    terms: list[list[Term]] | None = None,
) -> pd.DataFrame:
    """:func:`incident_excess` of every incident (:data:`EXCESS_COLUMNS`), ``GROUPS_A_QUERY``
    incidents a query (module doc). ``terms``: each incident's, when already resolved."""
    terms = terms if terms is not None else incident_terms(wh, config, hits)
    rows = []
    for first in range(0, len(hits), GROUPS_A_QUERY):
        chunk = list(range(first, min(first + GROUPS_A_QUERY, len(hits))))
        counts = _excess_counts(wh, config, lost, [hits[k] for k in chunk],
                                [terms[k] for k in chunk])  # fmt: skip
        for j, k in enumerate(chunk):
            (n_e, k_e), (n_c, k_c) = counts.get((j, 1), (0, 0)), counts.get((j, 0), (0, 0))
            rows.append({"detail": hits[k].detail, **excess_of(k_e, n_e, k_c, n_c)})
    return pd.DataFrame(rows, columns=EXCESS_COLUMNS)


def _excess_counts(
    wh: Warehouse, config: Config, lost: ir.Table, hits: list[HitBy], terms: list[list[Term]]
) -> dict[tuple[int, int], tuple[int, int]]:
    """{(k, 1): (exposed, of them lost), (k, 0): (comparable, of them lost)} of the incidents
    ``k`` of ``hits`` (:func:`incident_excess`'s counts), from one query."""
    exposed = [(k, t) for k, each in enumerate(terms) for t in each]
    control = [(k, t) for k, each in enumerate(terms) for t in control_terms(each)]
    groups = exposed_and_control(wh, exposed, control)
    one = ibis.literal(1, type="int64")
    spans = [_gone_since(config, h.exposure) for h in hits]
    windows = ibis.memtable(
        pd.DataFrame({"_k": range(len(hits)), "_lo": [w[0] for w in spans],
                      "_hi": [w[1] for w in spans]}),
        schema=ibis.schema({"_k": "int64", "_lo": "timestamp", "_hi": "timestamp"}),
    )  # fmt: skip
    last = lost.select("customer_id", "last")
    gone = last.inner_join(windows, [last["last"] >= windows._lo, last["last"] < windows._hi])
    gone = gone.select("_k", "customer_id").distinct().mutate(gone=one)
    joined = groups.left_join(gone, ["_k", "customer_id"])
    joined = joined.select(groups._k, g=groups.exposed, gone=gone.gone)
    counts = joined.group_by(["_k", "g"]).aggregate(n=joined.count(), k=joined.gone.notnull().sum())
    found = counts.to_pandas()
    return {
        (int(k), int(g)): (int(n), int(lost))
        for k, g, n, lost in zip(found._k, found.g, found.n, found.k, strict=True)
    }

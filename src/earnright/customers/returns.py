"""The return of a fix: what closing a focus item, or an incident, is worth in revenue.

A focus item says how many NPS points closing its gap is worth at its unit
(``expected_nps_gain``); the value of one NPS point at that unit
(:func:`earnright.customers.pointvalue.point_values`, the unit's ``ltr`` row over every moment:
per customer × the unit's active customers, retained revenue over 180 days, pooled toward the
chain where the unit's data are thin) prices it::

    worth = expected_nps_gain × value of one point        (and its 95% interval's ends)

The interval carries the value's uncertainty only (the NPS gain is taken as known). A unit
missing from the values (no active customers at that level) has no worth.

An early-warning incident touched ``customers_affected`` customers; their NPS before it (their
answers in the 90 days before it started) against after (from its start to 30 days after its
end) is what it cost them in points (:func:`nps_drop`), priced by the chain's value of one
point per customer::

    worth = NPS points lost × value of one point per customer × customers touched

with a 95% interval by the delta method over the drop's and the value's sampling error. No
worth with fewer than 10 answers from the touched customers on either side.

Basis: both worths are **180 days of retained spend**, the basis the value of a point is
estimated on; not lifetime value, and not the basis of the incident's ``revenue_at_risk``
(lifetime value where it can be fitted, :mod:`earnright.reliability.revenue`). Putting a point on
a lifetime basis means re-estimating it, not scaling it: not done (docs/growth.md).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from earnright.config import Config
from earnright.listening.focus import FocusList
from earnright.reliability.records import Incident
from earnright.reliability.revenue import Exposure, affected_customers
from earnright.stats import Z95
from earnright.warehouse import Warehouse

__all__ = [
    "SORTS",
    "incident_worth",
    "nps_drop",
    "price_focus",
    "price_incidents",
    "sort_by_worth",
]

SORTS = ("gap", "worth")


def _unit_values(points: pd.DataFrame, question: str) -> dict[str, tuple[float, float, float]]:
    """Per unit: the value of one point of ``question`` over every moment and its interval."""
    rows = points[(points["question"] == question) & (points["moment"] == "all")]
    triples = zip(rows["value"], rows["value_low"], rows["value_high"], strict=True)
    return {
        str(u): (float(v), float(lo), float(hi))
        for u, (v, lo, hi) in zip(rows["unit_id"], triples, strict=True)
    }


def price_focus(lists: list[FocusList], points: pd.DataFrame, question: str) -> list[FocusList]:
    """Every item's ``worth`` (with ``worth_low``/``worth_high``): module doc."""
    values = _unit_values(points, question)
    priced = []
    for f in lists:
        items = []
        for item in f.items:
            gain = item.expected_nps_gain
            if gain is None or f.unit_id not in values:
                items.append(item)
                continue
            value, low, high = values[f.unit_id]
            ends = sorted([gain * low, gain * high])
            worth = {"worth": gain * value, "worth_low": ends[0], "worth_high": ends[1]}
            items.append(item.model_copy(update=worth))
        priced.append(f.model_copy(update={"items": items}))
    return priced


def _worth(value: float | None) -> float:
    return float("-inf") if value is None else value


def sort_by_worth(lists: list[FocusList]) -> list[FocusList]:
    """Items by worth, largest first (no worth last); lists by their items' total worth."""
    ordered = [
        f.model_copy(update={"items": sorted(f.items, key=lambda i: -_worth(i.worth))})
        for f in lists
    ]
    total = [sum(i.worth for i in f.items if i.worth is not None) for f in ordered]
    pairs = sorted(zip(total, range(len(ordered)), strict=True), key=lambda p: -p[0])
    return [ordered[k] for _, k in pairs]


# -- incidents ----------------------------------------------------------------------------------
BEFORE_DAYS = 90  # the touched customers' answers before the incident ...
AFTER_DAYS = 30  # ... against theirs from its start to this long after its end
MIN_ANSWERS = 10


def _nps(frame: pd.DataFrame, after: bool) -> tuple[float, float, int]:
    """NPS (points), its sampling variance and n of the answers before or after."""
    rows = frame[frame["after"] == int(after)]
    n = int(rows["n"].sum())
    if n == 0:
        return float("nan"), float("nan"), 0
    p, d = float(rows["promoters"].sum()) / n, float(rows["detractors"].sum()) / n
    return 100 * (p - d), 100**2 * (p + d - (p - d) ** 2) / n, n


def nps_drop(wh: Warehouse, config: Config, incident: Incident) -> tuple[float, float] | None:
    """NPS points the incident cost its touched customers (their answers in the BEFORE_DAYS
    before it against theirs from its start to AFTER_DAYS after its end) and the variance;
    None with fewer than MIN_ANSWERS either side or no NPS question."""
    import ibis

    question = config.question_of_kind("nps")
    if question is None or question.id not in wh.open_columns("feedback"):
        return None
    start, end = incident.window
    exposure = Exposure(segments=incident.segments, start=start, end=end)
    touched = affected_customers(wh, config, exposure)
    f = wh.table("feedback")
    ltr = f[question.id]
    lo, hi = start - timedelta(days=BEFORE_DAYS), end + timedelta(days=AFTER_DAYS)
    f = f.filter(ltr.notnull(), f.responded_at >= lo, f.responded_at < hi)
    f = f.inner_join(touched, "customer_id")
    after = (f.responded_at >= start).ifelse(1, 0)
    counts = (
        f.mutate(
            after=after, p=(f[question.id] >= 9).ifelse(1, 0), d=(f[question.id] <= 6).ifelse(1, 0)
        )
        .group_by("after")
        .aggregate(n=ibis._.count(), promoters=ibis._.p.sum(), detractors=ibis._.d.sum())
        .to_pandas()
    )
    before_nps, before_var, n0 = _nps(counts, after=False)
    after_nps, after_var, n1 = _nps(counts, after=True)
    if min(n0, n1) < MIN_ANSWERS:
        return None
    return before_nps - after_nps, before_var + after_var


def incident_worth(
    drop: tuple[float, float] | None, customers: int | None, point: tuple[float, float]
) -> tuple[float, float, float] | None:
    """worth = NPS points lost × the value of a point per customer × customers touched, with
    a 95% interval (delta method over both factors); ``point`` is (per customer, its sd)."""
    if drop is None or not customers:
        return None
    d, var_d = drop
    p, sd_p = point
    worth = customers * d * p
    sd = customers * float(np.sqrt(p**2 * var_d + d**2 * sd_p**2))
    return worth, worth - Z95 * sd, worth + Z95 * sd


def price_incidents(
    wh: Warehouse, config: Config, incidents: list[Incident], points: pd.DataFrame, question: str
) -> list[tuple[float, float, float] | None]:
    """Each incident's (worth, low, high) or None, priced by the chain's value of one point of
    ``question`` per customer (the ``all`` row of ``points``)."""
    if points.empty:
        return [None] * len(incidents)
    chain = points[(points["unit_id"] == "all") & (points["question"] == question)]
    if chain.empty:
        return [None] * len(incidents)
    c = chain.iloc[0]
    sd = (float(c["per_customer_high"]) - float(c["per_customer_low"])) / (2 * Z95)
    point = (float(c["per_customer"]), sd)
    return [incident_worth(nps_drop(wh, config, i), i.customers_affected, point) for i in incidents]

"""Planted operational incidents, who they hurt, and the churn and survey damage they do.

Each incident degrades one metric for one segment (a platform, a daypart, or everyone) of some
units for a few days. Customers in the hurt segment get an extra lapse probability over the four
weeks after they were exposed, and their survey answers about the related driver at the
affected stores worsen from ``survey_lag_days`` after exposure until two weeks after the incident
ends (operations see it first; the survey follows).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from earnright.demo.behaviour import NEVER, Visits
from earnright.demo.calendar import Calendar
from earnright.demo.company import Units
from earnright.demo.customers import Customers
from earnright.demo.questionnaire import APP, DAYPARTS, PLATFORMS, QUESTIONS, RX, STOCK, WAIT

__all__ = ["Exposures", "Hurt", "Incident", "apply_incidents", "plan_incidents"]

CHURN_WEEKS = 4
SURVEY_TAIL_DAYS = 14
_ORDER = ("app_errors", "rx_fill_minutes", "queue_wait_minutes", "out_of_stock_rate")
_DRIVER = {
    "app_errors": APP,
    "rx_fill_minutes": RX,
    "queue_wait_minutes": WAIT,
    "out_of_stock_rate": STOCK,
}
_SEVERITY = {  # app: error rate; stock: added share; others: multiplier
    "app_errors": (0.06, 0.15),
    "rx_fill_minutes": (2.0, 3.0),
    "queue_wait_minutes": (2.0, 3.0),
    "out_of_stock_rate": (0.10, 0.20),
}


@dataclass(frozen=True)
class Incident:
    """One planted incident; days are offsets from the calendar start, ``end`` inclusive."""

    id: str
    metric: str
    segment: dict[str, str]
    units: list[str]
    stores: np.ndarray
    start: int
    end: int
    severity: float
    churn_effect: float
    survey_lag_days: int
    survey_shift: float

    @property
    def driver(self) -> int:
        return _DRIVER[self.metric]

    @property
    def survey_end(self) -> int:
        """Last day (inclusive) whose visits carry the survey damage."""
        return self.end + self.survey_lag_days + SURVEY_TAIL_DAYS

    def stores_within(self, lo: int, hi: int) -> np.ndarray:
        """The affected stores in the range [lo, hi)."""
        return self.stores[(self.stores >= lo) & (self.stores < hi)]

    def to_truth(self, calendar: Calendar, store_ids: list[str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "segment": dict(self.segment),
            "units": list(self.units),
            "stores": [store_ids[s] for s in self.stores],
            "start": calendar.iso_date(self.start),
            "end": calendar.iso_date(self.end),
            "severity": round(self.severity, 6),
            "churn_effect": round(self.churn_effect, 6),
            "churn_window_days": CHURN_WEEKS * 7,
            "driver": QUESTIONS[self.driver],
            "survey_lag_days": self.survey_lag_days,
            "survey_shift": round(self.survey_shift, 6),
            "survey_end": calendar.iso_date(self.survey_end),
        }


@dataclass(frozen=True)
class Hurt:
    """Visits whose survey answers are damaged: visit index, driver, latent points lost."""

    visit: np.ndarray
    driver: np.ndarray
    shift: np.ndarray


@dataclass(frozen=True)
class Exposures:
    """Per incident: each customer's exposure day (NEVER if not exposed), and the customers
    whose lapse the incident brought forward within the period with their new lapse day."""

    days: list[np.ndarray]
    lapsed: list[tuple[np.ndarray, np.ndarray]]

    def counts(self, cut: np.ndarray) -> np.ndarray:
        """(incidents, 2): customers exposed and extra lapses, given that customer c buys
        nothing from day ``cut[c]`` on for another reason (a later plant): an exposure on or
        after it never happened, nor a lapse it pre-empted."""
        rows = [
            (int((day < cut).sum()), int(((day[who] < cut[who]) & (when < cut[who])).sum()))
            for day, (who, when) in zip(self.days, self.lapsed, strict=True)
        ]
        return np.array(rows, dtype=np.int64).reshape(len(rows), 2)


def _kinds(count: int, regions: int) -> list[str]:
    if count < 3:
        return ["queue_wait_minutes", "rx_fill_minutes"][:count]
    kinds, apps = [], 0
    for i in range(count):
        kind = _ORDER[i % 4]
        if kind == "app_errors" and apps >= regions:
            kind = _ORDER[1 + i % 3]
        apps += kind == "app_errors"
        kinds.append(kind)
    return kinds


def _place(
    kind: str, units: Units, pools: dict[str, list[int]], rng: np.random.Generator
) -> tuple[dict[str, str], list[str], np.ndarray]:
    """The segment, declared units and affected stores of one incident."""
    if kind == "app_errors":
        first = len(pools["regions"]) == len(units.region_ids)
        unit = units.region_ids[pools["regions"].pop()]
        platform = "android" if first else str(rng.choice(["android", "ios"]))
        return {"platform": platform}, [unit], units.stores_of(unit)
    district = units.district_ids[pools["districts"].pop()]
    stores = units.stores_of(district)
    if kind == "queue_wait_minutes":
        take = min(len(stores), int(rng.integers(2, 5)))
        stores = np.sort(rng.choice(stores, take, replace=False))
        return {}, [units.store_ids[s] for s in stores], stores
    segment = {"daypart": "evening"} if kind == "rx_fill_minutes" else {}
    return segment, [district], stores


def _draw(
    kind: str,
    units: Units,
    pools: dict[str, list[int]],
    calendar: Calendar,
    rng: np.random.Generator,
) -> Incident:
    """One incident of ``kind`` (id set later) starting two weeks in at the earliest."""
    segment, declared, stores = _place(kind, units, pools, rng)
    lo = min(14, calendar.days // 4)
    start = int(rng.integers(lo, max(lo, calendar.days - 45) + 1))
    return Incident(
        id="",
        metric=kind,
        segment=segment,
        units=declared,
        stores=stores,
        start=start,
        end=min(start + int(rng.integers(3, 11)) - 1, calendar.days - 1),
        severity=float(rng.uniform(*_SEVERITY[kind])),
        churn_effect=float(rng.uniform(0.03, 0.10)),
        survey_lag_days=int(rng.integers(4, 10)),
        survey_shift=float(rng.uniform(1.6, 2.2)),
    )


def plan_incidents(units: Units, calendar: Calendar, rng: np.random.Generator) -> list[Incident]:
    """About one incident per 15 stores (at least 3 from 10 stores), numbered by start day.

    App incidents hit one platform of a whole region (at most one per region); prescription
    incidents the evening of a district; queue incidents 2-4 stores of a district; stock
    incidents a district. Districts are drawn without replacement while they last.
    """
    count = 1 if units.stores < 10 else max(3, round(units.stores / 15))
    n_districts = len(units.district_ids)
    order = rng.permutation(n_districts)
    pools = {
        "regions": [int(r) for r in rng.permutation(len(units.region_ids))],
        "districts": [int(order[i % n_districts]) for i in range(count)],
    }
    drawn = [_draw(k, units, pools, calendar, rng) for k in _kinds(count, len(units.region_ids))]
    drawn.sort(key=lambda incident: incident.start)
    width = max(2, len(str(count)))
    return [replace(inc, id=f"INC{i + 1:0{width}d}") for i, inc in enumerate(drawn)]


def _exposure_day(
    incident: Incident,
    customers: Customers,
    visits: Visits,
    lapse: np.ndarray,
    affected: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Day each customer was exposed to the incident, NEVER if not exposed.

    ``affected`` flags, per customer and per visit, a home store / visited store hit.
    """
    home_hit, visit_hit = affected
    if "platform" in incident.segment:
        platform = PLATFORMS.index(incident.segment["platform"])
        hit = (
            (customers.platform == platform)
            & home_hit
            & (customers.join_day <= incident.start)
            & (lapse > incident.start)
        )
        return np.where(hit, incident.start, NEVER)
    seen = (
        visit_hit
        & (visits.day >= incident.start)
        & (visits.day <= incident.end)
        & (visits.day < lapse[visits.customer])
    )
    if "daypart" in incident.segment:
        seen &= visits.daypart == DAYPARTS.index(incident.segment["daypart"])
    exposed = np.full(len(customers), NEVER, dtype=np.int64)
    np.minimum.at(exposed, visits.customer[seen], visits.day[seen])
    return exposed


def apply_incidents(
    incidents: list[Incident],
    customers: Customers,
    visits: Visits,
    lapse: np.ndarray,
    context: tuple[np.ndarray, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, Hurt, Exposures]:
    """Apply incidents in start order: exposures, extra lapses, damaged survey visits.

    ``context`` is (the chunk's contiguous stores, days in the period). Returns the updated lapse
    days, the damaged visits (indices into ``visits``, only visits before lapsing) and the
    exposures (``Exposures.counts``: customers exposed and extra lapses within the period).
    """
    stores, days = context
    lo, hi = int(stores[0]), int(stores[-1]) + 1
    lapse = lapse.copy()
    none = np.zeros(0, dtype=np.int64)
    exposures = Exposures(
        [np.full(len(customers), NEVER, dtype=np.int64) for _ in incidents],
        [(none, none) for _ in incidents],
    )
    parts: list[tuple[np.ndarray, int, float]] = []
    for i, incident in enumerate(incidents):
        local = incident.stores_within(lo, hi) - lo
        if len(local) == 0:
            continue
        flags = np.zeros(hi - lo, dtype=bool)
        flags[local] = True
        visit_hit = flags[visits.store - lo]
        exposed = _exposure_day(
            incident, customers, visits, lapse, (flags[customers.home - lo], visit_hit)
        )
        who = np.flatnonzero(exposed < NEVER)
        churned = who[rng.uniform(size=len(who)) < incident.churn_effect]
        lapse_day = exposed[churned] + 1 + rng.integers(0, CHURN_WEEKS * 7, len(churned))
        sooner = lapse_day < np.minimum(lapse[churned], days)
        exposures.days[i][:] = exposed
        exposures.lapsed[i] = (churned[sooner], lapse_day[sooner])
        lapse[churned] = np.minimum(lapse[churned], lapse_day)
        since = exposed[visits.customer] + incident.survey_lag_days
        hurt = visit_hit & (visits.day >= since) & (visits.day <= incident.survey_end)
        parts.append((np.flatnonzero(hurt), incident.driver, incident.survey_shift))
    alive = visits.day < lapse[visits.customer]
    visit = np.concatenate([p[0] for p in parts] + [np.zeros(0, dtype=np.int64)])
    driver = np.concatenate([np.full(len(p[0]), p[1]) for p in parts] + [np.zeros(0, np.int64)])
    shift = np.concatenate([np.full(len(p[0]), p[2]) for p in parts] + [np.zeros(0)])
    keep = alive[visit]
    return lapse, Hurt(visit=visit[keep], driver=driver[keep], shift=shift[keep]), exposures

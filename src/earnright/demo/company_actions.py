"""Actions with known effects planted in the demo company (``earnright demo``), written as the
``actions`` kind, with their truth.

A few stores act once, spread over the districts, none touched by an incident (so the
incidents' planted churn stays their own), on one metric each (:data:`TEMPLATE`):

- ``nps``: the store's ltr intercept moves by ``size`` latent points from a month's first day;
  the action starts ``delay`` weeks before it (on a Monday), so a delay is a diluted window;
- ``spend``: the store's purchases from the effect day on cost (1 + ``size``) times as much;
- ``retention``: the store's own customers still buying on the effect day lapse at ``size``
  times their hazard from then on (memoryless: the remaining time ÷ ``size``); a customer's
  visits are drawn up to their lapse, so a retention action can only harm (or do nothing);
- ``short_queue`` (a reliability indicator): queue waits × ``size`` from the effect day on;
  only shorter (or unchanged) waits, at the free store with the longest ones: a store whose
  waits grew would be an incident the demo did not plan (its truth lists every incident).

Sizes include zero effects, harmful ones, delayed ones and an action too recent to judge. The
planted random stream is its own (``[seed, STREAM]``): every other draw of the demo is
unchanged. The truth of an action is its effect over its measurement window (``POST_WEEKS``
from the action's week), in the metric's units as :mod:`earnright.accountability.metrics`
measures it: the exact expectation for ``nps`` (the answer model's normal tails, over the
window's days weighted by visits) and ``short_queue`` (lognormal waits below the threshold),
and the realised difference for ``spend`` and ``retention`` (the same purchases with and
without the action: per customer-week spend, the share of customer-weeks bought again within
``RETENTION_DAYS`` after the week).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from earnright.demo import answers
from earnright.demo.behaviour import NEVER, WEEKDAY_WEIGHT, Visits
from earnright.demo.calendar import SECONDS_PER_DAY, Calendar
from earnright.demo.company import StoreParams, Units, operations_factor
from earnright.demo.incidents import Hurt, Incident
from earnright.demo.loyalty import _filter_listening, _reindex
from earnright.demo.questionnaire import DEMO_JOURNEY, MOMENT_OFFSETS, MOMENT_PROBS
from earnright.demo.surveys import Listening

__all__ = [
    "TEMPLATE",
    "PlannedAction",
    "adjust_lapse",
    "nps_truth",
    "plan_actions",
    "queue_truth",
    "raise_spend",
    "retention_truth",
    "scale_queues",
    "shift_intercepts",
    "spend_truth",
    "write_actions",
]  # fmt: skip

STREAM = 13  # the planted actions' random stream: [seed, STREAM]
PRE_WEEKS, POST_WEEKS, RETENTION_DAYS = 12, 8, 28  # the outcomes' defaults ([outcomes])
QUEUE_SD = 0.25  # operations.py's lognormal noise of queue waits
QUEUE_BASE, QUEUE_DAYPART = 3.0, np.array([0.8, 1.0, 1.2])  # operations.py's queue levels
BUSY_WEEKDAY = np.array([1.0, 0.95, 0.95, 1.0, 1.15, 1.3, 0.9])  # operations.py's
# metric, kind, size, delay in weeks, too recent: the actions in the order they are planted
TEMPLATE: tuple[tuple[str, str, float, int, bool], ...] = (
    ("nps", "service_fix", 1.5, 0, False),
    ("spend", "promotion", 0.4, 0, False),
    ("retention", "operational_fix", 25.0, 0, False),
    ("short_queue", "operational_fix", 0.5, 0, False),
    ("nps", "staffing", -1.5, 0, False),
    ("nps", "training", 0.0, 0, False),
    ("spend", "promotion", 0.0, 0, False),
    ("short_queue", "staffing", 1.0, 0, False),
    ("nps", "training", 1.5, 3, False),
    ("nps", "service_fix", 1.0, 0, True),
    ("retention", "loyalty", 1.0, 0, False),
    ("spend", "promotion", 0.4, 3, False),
)
OWNER = {"nps": "store-operations", "spend": "marketing", "retention": "marketing",
         "short_queue": "store-operations"}  # fmt: skip
STORES_PER_ACTION = 5  # one action per this many stores (at most one per district)


@dataclass(frozen=True)
class PlannedAction:
    """One planted action: its store (index), metric, kind, start day (a Monday), the day
    its effect begins, its size (see the module doc) and whether its window has passed."""

    action_id: str
    store: int
    metric: str
    kind: str
    start: int
    effect_day: int
    size: float
    complete: bool

    def window(self, calendar: Calendar) -> tuple[int, int]:
        """The first and after-last day of the measurement window (whole weeks from start)."""
        return self.start, min(self.start + 7 * POST_WEEKS, calendar.days)


def _monday(calendar: Calendar, day: int) -> int:
    """The Monday on or before ``day``."""
    return int(day - calendar.weekday(np.array(day)))


def _start(metric: str, delay: int, recent: bool, calendar: Calendar,
           rng: np.random.Generator) -> tuple[int, int] | None:  # fmt: skip
    """The start and effect days of an action, or None when the calendar is too short."""
    first = 7 * (PRE_WEEKS + 1)
    tail = 7 * POST_WEEKS + (RETENTION_DAYS + 14 if metric == "retention" else 7)
    if recent:
        start = _monday(calendar, calendar.days - 7 * (POST_WEEKS // 2))
        return (start, start) if start >= first else None
    last = calendar.days - tail
    if metric == "nps":  # the intercept moves on a month's first day
        months = [int(d) for d in calendar.month_first_day[:-1]]
        fits = [d for d in months if first <= _monday(calendar, d) - 7 * delay and d <= last]
        if not fits:
            return None
        day = fits[int(rng.integers(len(fits)))]
        return _monday(calendar, day) - 7 * delay, day
    if last < first:
        return None
    start = _monday(calendar, int(rng.integers(first, last + 1)))
    start = start if start >= first else start + 7
    return start, start + 7 * delay


def _acting_stores(units: Units, hit: set[int], rng: np.random.Generator) -> list[int]:
    """Stores free of incidents, taken a district at a time in turn (districts of 3 or more
    stores; at most a third of a district acts)."""
    pools = []
    for district in rng.permutation(len(units.district_ids)):
        first, size = int(units.district_first[district]), int(units.district_size[district])
        free = [s for s in range(first, first + size) if s not in hit]
        if size >= 3 and free:
            pools.append(list(rng.permutation(free))[: max(1, size // 3)])
    stores = []
    for turn in range(max((len(p) for p in pools), default=0)):
        stores += [int(p[turn]) for p in pools if turn < len(p)]
    return stores


def plan_actions(units: Units, params: StoreParams, calendar: Calendar,
                 incidents: list[Incident], seed: int) -> list[PlannedAction]:  # fmt: skip
    """The actions of :data:`TEMPLATE` that fit the company, one per ``STORES_PER_ACTION``
    stores, at stores no incident touched (:func:`_acting_stores`); a queue improvement at the
    one of them with the longest waits. Where incidents touch every store (a large company's
    regional incidents reach them all), at stores no incident touches during the action's own
    window (:func:`_plan_by_window`)."""
    rng = np.random.default_rng([seed, STREAM])
    hit = set().union(*(set(i.stores.tolist()) for i in incidents)) if incidents else set()
    stores = _acting_stores(units, hit, rng)
    wanted = min(len(TEMPLATE), units.stores // STORES_PER_ACTION)
    if not stores:
        return _plan_by_window(units, params, calendar, incidents, seed, wanted)
    count = min(wanted, len(stores))
    queue = operations_factor(params)["queue"]
    for i, (metric, _, size, _, _) in enumerate(TEMPLATE[:count]):
        if metric == "short_queue" and size < 1:
            j = i + int(np.argmax(queue[stores[i:]]))
            stores[i], stores[j] = stores[j], stores[i]
    planned = []
    for i, (metric, kind, size, delay, recent) in enumerate(TEMPLATE[:count]):
        days = _start(metric, delay, recent, calendar, rng)
        if days is None:
            continue
        planned.append(_action(i, stores[i], metric, kind, days, size, calendar))
    return planned


def _action(i: int, store: int, metric: str, kind: str, days: tuple[int, int], size: float,
            calendar: Calendar) -> PlannedAction:  # fmt: skip
    complete = days[0] + 7 * POST_WEEKS <= calendar.days
    return PlannedAction(f"DA{i + 1:02d}", store, metric, kind, days[0], days[1], size, complete)


def _plan_by_window(
    units: Units,
    params: StoreParams,
    calendar: Calendar,
    incidents: list[Incident],
    seed: int,
    count: int,
) -> list[PlannedAction]:
    """Each action's days first, then its store: the first in districts-in-turn order that no
    incident touches from ``PRE_WEEKS`` before the action's start to the end of its window
    (the retention tail included), survey damage included; for a queue improvement, the one of
    the first ten such stores with the longest waits."""
    rng = np.random.default_rng([seed, STREAM, 1])
    order = _acting_stores(units, set(), rng)
    queue = operations_factor(params)["queue"]
    taken: set[int] = set()
    planned = []
    for i, (metric, kind, size, delay, recent) in enumerate(TEMPLATE[:count]):
        days = _start(metric, delay, recent, calendar, rng)
        if days is None:
            continue
        lo = days[0] - 7 * PRE_WEEKS
        hi = days[0] + 7 * POST_WEEKS + RETENTION_DAYS + 14
        busy = {int(s) for inc in incidents if inc.start < hi and inc.survey_end >= lo
                for s in inc.stores}  # fmt: skip
        free = [s for s in order if s not in busy and s not in taken]
        if not free:
            continue
        store = free[0]
        if metric == "short_queue" and size < 1:
            store = max(free[:10], key=lambda s: queue[s])
        taken.add(store)
        planned.append(_action(i, store, metric, kind, days, size, calendar))
    return planned


def shift_intercepts(params: StoreParams, planned: list[PlannedAction],
                     calendar: Calendar) -> StoreParams:  # fmt: skip
    """``params`` with each nps action's intercept shift from its effect month on."""
    intercept = params.ltr_intercept.copy()
    for a in planned:
        if a.metric == "nps":
            intercept[a.store, int(calendar.month_of(np.array(a.effect_day))) :] += a.size
    return replace(params, ltr_intercept=intercept)


def _store_actions(planned: list[PlannedAction], metric: str, stores: np.ndarray) -> list[Any]:
    return [a for a in planned if a.metric == metric and stores[0] <= a.store <= stores[-1]]


def adjust_lapse(planned: list[PlannedAction], home: np.ndarray, lapse: np.ndarray,
                 stores: np.ndarray) -> np.ndarray:  # fmt: skip
    """Each retention action's store's own customers still buying on its effect day lapse at
    ``size`` times their hazard from then on (``home``: each customer's store)."""
    out = lapse.copy()
    for a in _store_actions(planned, "retention", stores):
        sel = (home == a.store) & (lapse > a.effect_day) & (lapse < NEVER)
        rest = (lapse[sel] - a.effect_day).astype(float)
        moved = np.full(len(rest), float(NEVER)) if a.size == 0 else a.effect_day + rest / a.size
        out[sel] = np.minimum(np.floor(moved), NEVER).astype(np.int64)
    return out


def cut_visits(
    visits: Visits, hurt: Hurt, listening: Listening, cut: np.ndarray
) -> tuple[Visits, Hurt, Listening]:  # fmt: skip
    """The visits before each customer's ``cut`` day, with the incident damage and listening
    rows re-indexed to them (as the loyalty plant cuts detractors' visits)."""
    keep = visits.day < cut[visits.customer]
    if keep.all():
        return visits, hurt, listening
    position = np.full(len(visits), -1, dtype=np.int64)
    position[keep] = np.arange(int(keep.sum()))
    hit = keep[hurt.visit]
    kept_hurt = Hurt(visit=position[hurt.visit[hit]], driver=hurt.driver[hit],
                     shift=hurt.shift[hit])  # fmt: skip
    kept = _reindex(_filter_listening(listening, keep), position)
    return visits.take(np.flatnonzero(keep)), kept_hurt, kept


def _weeks(calendar: Calendar, day: np.ndarray) -> np.ndarray:
    """Each day's week (Monday-based) as the day offset of its Monday."""
    return day - calendar.weekday(day)


def retention_truth(
    planned: list[PlannedAction], visits: Visits, lapse: tuple[np.ndarray, np.ndarray],
    calendar: Calendar, stores: np.ndarray,
) -> dict[str, float]:  # fmt: skip
    """Each retention action's realised effect: the share (in %) of its store's customer-weeks
    in the window bought again within ``RETENTION_DAYS`` after the week, with the action's
    lapses less without (``lapse``: each customer's home store and lapse day before it); other
    actions' customers buying at the store are left as they were."""
    found = {}
    for a in _store_actions(planned, "retention", stores):
        first, last = a.window(calendar)
        shares = []
        home, before = lapse
        after = adjust_lapse([a], home, before, stores)
        for days in (after, before):
            sel = (visits.day < days[visits.customer]) & (visits.store == a.store)
            cust, day = visits.customer[sel], visits.day[sel]
            time = visits.time[sel]
            order = np.lexsort((time, cust))
            cust, day, time = cust[order], day[order], time[order]
            week = _weeks(calendar, day)
            starts = np.flatnonzero(np.r_[True, (cust[1:] != cust[:-1]) | (week[1:] != week[:-1])])
            c, w = cust[starts], week[starts]
            nxt = np.r_[time[starts[1:]], np.inf]
            same = np.r_[c[1:] == c[:-1], False]
            follow = (w + 7 + RETENTION_DAYS) * SECONDS_PER_DAY
            back = same & (nxt < follow)
            inside = (w >= first) & (w < last)
            shares.append(100.0 * back[inside].mean() if inside.any() else np.nan)
        found[a.action_id] = shares[0] - shares[1]
    return found


def raise_spend(planned: list[PlannedAction], visits: Visits, stores: np.ndarray) -> Visits:
    """Visits with each spend action's store's purchases from its effect day × (1 + size)."""
    amount = visits.amount.copy()
    for a in _store_actions(planned, "spend", stores):
        after = (visits.store == a.store) & (visits.day >= a.effect_day)
        amount[after] = np.round(amount[after] * (1 + a.size), 2)
    return replace(visits, amount=amount)


def spend_truth(
    planned: list[PlannedAction], visits: Visits, calendar: Calendar, stores: np.ndarray
) -> tuple[dict[str, float], dict[str, float]]:  # fmt: skip
    """Each spend action's realised effect on spend per customer-week in its window (the
    final amounts less the same ÷ (1 + size) after the effect day: what they would have been)
    and the extra revenue over the window."""
    found, revenue = {}, {}
    week = _weeks(calendar, visits.day)
    for a in _store_actions(planned, "spend", stores):
        first, last = a.window(calendar)
        sel = (visits.store == a.store) & (week >= first) & (week < last)
        after = visits.day[sel] >= a.effect_day
        extra_each = np.where(after, visits.amount[sel] * a.size / (1 + a.size), 0.0)
        _, group = np.unique(visits.customer[sel] * 10_000 + week[sel], return_inverse=True)
        extra = np.bincount(group, weights=extra_each)
        found[a.action_id] = float(extra.mean()) if len(extra) else np.nan
        revenue[a.action_id] = round(float(extra.sum()), 2)
    return found, revenue


def scale_queues(planned: list[PlannedAction], queue: np.ndarray, stores: np.ndarray) -> None:
    """Queue waits (stores × days × dayparts of ``stores``) × size from each short_queue
    action's effect day on (in place)."""
    for a in _store_actions(planned, "short_queue", stores):
        queue[a.store - stores[0], a.effect_day :, :] *= a.size


def _queue_threshold() -> float:
    for stage in DEMO_JOURNEY:
        for moment in stage["moments"]:
            for indicator in moment.get("indicators", []):
                if indicator["id"] == "short_queue":
                    return float(indicator["threshold"])
    raise LookupError("the demo journey has no short_queue indicator")


def queue_truth(a: PlannedAction, params: StoreParams, calendar: Calendar) -> float:
    """The expected change (points of %) of the share of queue readings at or below the
    threshold over the window: waits are lognormal with mean ``QUEUE_BASE`` × the store's
    factor × weekday × daypart."""
    first, last = a.window(calendar)
    days = np.arange(first, last)
    level = QUEUE_BASE * operations_factor(params)["queue"][a.store]
    mean = level * BUSY_WEEKDAY[calendar.weekday(days)][:, None] * QUEUE_DAYPART
    factor = np.where(days >= a.effect_day, a.size, 1.0)[:, None]

    def good(m: np.ndarray) -> np.ndarray:
        return ndtr((np.log(_queue_threshold() / m) + QUEUE_SD**2 / 2) / QUEUE_SD)

    return float(100.0 * (good(mean * factor) - good(mean)).mean())


def nps_truth(a: PlannedAction, params: StoreParams, calendar: Calendar,
              group_share: np.ndarray) -> float:  # fmt: skip
    """The expected NPS change over the window: the answer model's NPS at the shifted
    intercept less at the original, mixed over moments, weighted by the days' visits."""
    first, last = a.window(calendar)
    days = np.arange(first, last)
    month = calendar.month_of(days)
    shifted = params.ltr_intercept[a.store, month] + MOMENT_OFFSETS[:, None]
    mean = shifted + params.driver_part[a.store]  # moments × days, with the action
    sd = answers.ltr_sd(params, np.array([a.store]))[0]
    moment_p = group_share @ MOMENT_PROBS
    on = days >= a.effect_day
    change = (answers.expected_nps(mean, sd) - answers.expected_nps(mean - a.size, sd)) * on
    weight = WEEKDAY_WEIGHT[calendar.weekday(days)]
    return float((moment_p @ change * weight).sum() / weight.sum())


def write_actions(planned: list[PlannedAction], units: Units, calendar: Calendar,
                  path: Path) -> int:  # fmt: skip
    """Write ``actions.csv`` (the actions kind); returns the rows written."""
    rows = [
        {
            "action_id": a.action_id, "unit_id": units.store_ids[a.store],
            "started_at": f"{calendar.iso_date(a.start)} 09:00:00", "metric": a.metric,
            "kind": a.kind, "owner": OWNER[a.metric], "decided_by": "regional-vp",
        }
        for a in planned
    ]  # fmt: skip
    columns = ["action_id", "unit_id", "started_at", "metric", "kind", "owner", "decided_by"]
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return len(rows)


def truth_records(planned: list[PlannedAction], units: Units, calendar: Calendar,
                  effects: dict[str, float],
                  revenue: dict[str, float]) -> list[dict[str, Any]]:  # fmt: skip
    """The truth of each action: its plan, its effect over the window (``effect``) and, for
    spend, the extra revenue over the window (``revenue``; else null)."""
    out = []
    for a in planned:
        record = asdict(a) | {"unit_id": units.store_ids[a.store],
                              "started_at": calendar.iso_date(a.start),
                              "effect_date": calendar.iso_date(a.effect_day)}  # fmt: skip
        record.pop("store")
        record["effect"] = round(float(effects.get(a.action_id, np.nan)), 6)
        record["revenue"] = revenue.get(a.action_id)
        out.append(record)
    return out

"""Purchase behaviour: when customers lapse, when and where they visit, what they spend."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

from earnright.demo.calendar import SECONDS_PER_DAY, Calendar
from earnright.demo.company import Units
from earnright.demo.customers import DAYS_PER_MONTH, Customers
from earnright.demo.questionnaire import DAYPART_HOURS
from earnright.demo.tables import serial_ids, timestamps

__all__ = ["Visits", "draw_lapse_days", "draw_visits", "transactions_table"]

# Relative visit intensity by weekday (Monday first): Saturdays are busiest.
WEEKDAY_WEIGHT = np.array([0.95, 0.9, 0.9, 0.95, 1.1, 1.35, 0.85])
DAYPART_P = np.array([0.35, 0.40, 0.25])
AWAY_P = 0.07  # share of visits made at another store of the home district
NEVER = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class Visits:
    """One element per visit (= transaction) of a chunk's customers."""

    customer: np.ndarray  # index into the chunk's Customers
    store: np.ndarray  # store index
    day: np.ndarray  # day offset
    second: np.ndarray  # second of the day
    daypart: np.ndarray  # index into DAYPARTS
    amount: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    def take(self, index: np.ndarray) -> Visits:
        return Visits(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @property
    def time(self) -> np.ndarray:
        """Seconds since the calendar's first midnight."""
        return self.day * SECONDS_PER_DAY + self.second


def draw_lapse_days(customers: Customers, rng: np.random.Generator) -> np.ndarray:
    """The day each customer lapses (buys nothing from then on), from their monthly hazard."""
    start = np.maximum(customers.join_day, 0)
    daily = -np.log1p(-customers.hazard) / DAYS_PER_MONTH
    wait = rng.exponential(1.0, len(customers)) / np.maximum(daily, 1e-12)
    return np.minimum(start + np.floor(wait), NEVER).astype(np.int64)


def _visit_stores(
    customers: Customers, cust: np.ndarray, units: Units, rng: np.random.Generator
) -> np.ndarray:
    """Mostly the home store; AWAY_P of visits at another store of the same district."""
    home = customers.home[cust]
    district = units.store_district[home]
    first, size = units.district_first[district], units.district_size[district]
    away = (rng.uniform(size=len(cust)) < AWAY_P) & (size > 1)
    other = first + rng.integers(0, np.maximum(size - 1, 1))
    other = np.where(other >= home, other + 1, other)
    return np.where(away, other, home)


def draw_visits(
    customers: Customers,
    lapse: np.ndarray,
    units: Units,
    calendar: Calendar,
    rng: np.random.Generator,
) -> Visits:
    """Poisson visits at each customer's rate between joining (or the start) and lapsing.

    Planted: weekday seasonality (WEEKDAY_WEIGHT), dayparts in DAYPART_P, spend per visit gamma
    (shape 4) around the customer's mean spend.
    """
    start = np.maximum(customers.join_day, 0)
    span = np.clip(np.minimum(lapse, calendar.days) - start, 0, None)
    keep_p = WEEKDAY_WEIGHT / WEEKDAY_WEIGHT.max()
    counts = rng.poisson(customers.visit_rate * span / keep_p.mean())
    cust = np.repeat(np.arange(len(customers)), counts)
    day = start[cust] + np.floor(rng.uniform(size=len(cust)) * span[cust]).astype(np.int64)
    kept = rng.uniform(size=len(cust)) < keep_p[calendar.weekday(day)]
    cust, day = cust[kept], day[kept]
    n = len(cust)
    daypart = rng.choice(3, size=n, p=DAYPART_P).astype(np.int8)
    hours = DAYPART_HOURS[daypart]
    second = (hours[:, 0] * 3600 + rng.uniform(size=n) * (hours[:, 1] - hours[:, 0]) * 3600).astype(
        np.int64
    )
    amount = np.maximum(np.round(customers.spend[cust] * rng.gamma(4.0, 0.25, n), 2), 0.5)
    return Visits(
        customer=cust,
        store=_visit_stores(customers, cust, units, rng),
        day=day,
        second=second,
        daypart=daypart,
        amount=amount,
    )


def transactions_table(
    visits: Visits, customer_ids: pa.Array, store_ids: pa.Array, calendar: Calendar, first: int
) -> pa.Table:
    """The rows of ``transactions.parquet``; ids count up from ``first``."""
    return pa.table(
        {
            "transaction_id": serial_ids("T", first + 1 + np.arange(len(visits)), 10),
            "customer_id": customer_ids.take(visits.customer),
            "unit_id": store_ids.take(visits.store),
            "occurred_at": timestamps(calendar, visits.time),
            "amount": visits.amount,
        }
    )

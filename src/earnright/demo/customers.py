"""Customers of a chunk of stores: who they are and their planted purchase behaviour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from earnright.demo.calendar import SECONDS_PER_DAY, Calendar
from earnright.demo.company import StoreParams
from earnright.demo.questionnaire import PLATFORMS, SEGMENTS, TIERS
from earnright.demo.tables import labels, serial_ids, timestamps

__all__ = ["Customers", "customer_ids", "customers_table", "generate_customers"]

DAYS_PER_MONTH = 30.4375
_SEGMENT_P = np.array([0.30, 0.25, 0.25, 0.20])
# P(platform | segment): rows SEGMENTS, columns PLATFORMS (ios, android, web, none).
_PLATFORM_P = np.array(
    [
        [0.35, 0.35, 0.10, 0.20],
        [0.10, 0.15, 0.15, 0.60],
        [0.45, 0.35, 0.10, 0.10],
        [0.20, 0.25, 0.15, 0.40],
    ]
)
_PLUS_P = np.array([0.20, 0.15, 0.10, 0.35])
_VISITS_PER_MONTH = np.array([1.6, 1.5, 1.1, 2.2])  # mean by segment; plus tier x1.15
_SPEND = np.array([32.0, 24.0, 18.0, 45.0])  # mean spend per visit by segment
MEAN_HAZARD = 0.025  # mean monthly lapse hazard at an average store
JOIN_RATE = MEAN_HAZARD  # new customers per month per initial customer (keeps the base stable)


@dataclass(frozen=True)
class Customers:
    """Customer attributes and latent behaviour, one element per customer."""

    number: np.ndarray  # global serial, the customer_id
    home: np.ndarray  # store index
    join_day: np.ndarray  # day offset of joining (negative: before the period)
    join_second: np.ndarray  # second of the join day
    segment: np.ndarray  # index into SEGMENTS
    tier: np.ndarray  # index into TIERS
    platform: np.ndarray  # index into PLATFORMS
    visit_rate: np.ndarray  # expected visits per active day
    spend: np.ndarray  # expected spend per visit
    hazard: np.ndarray  # monthly lapse hazard before incidents

    def __len__(self) -> int:
        return len(self.number)


def _categorical(cum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of the row-wise cumulative probabilities ``cum``."""
    u = rng.uniform(size=(len(cum), 1))
    return (u > cum[:, :-1]).sum(axis=1).astype(np.int8)


def _join_days(initial: int, joiners: int, days: int, rng: np.random.Generator) -> np.ndarray:
    """Initial customers joined months to years before the period; joiners during it."""
    tenure = np.minimum(np.ceil(rng.exponential(3 * 365, initial)), 15 * 365) + 1
    return np.concatenate([-tenure.astype(np.int64), rng.integers(0, days, joiners)])


def generate_customers(
    stores: np.ndarray,
    params: StoreParams,
    calendar: Calendar,
    first_number: int,
    rng: np.random.Generator,
) -> Customers:
    """The customers of ``stores``: the active base at the start plus joiners during the period.

    Planted: visit rates are gamma (shape 2) around a segment mean, spend per visit gamma (shape
    3), and the monthly lapse hazard gamma (shape 2, mean 2.5%) times exp(-0.3 x store quality),
    so poor stores lose customers faster.
    """
    base = params.base_customers[stores]
    joiners = rng.poisson(base * JOIN_RATE * calendar.months)
    home = np.concatenate([np.repeat(stores, base), np.repeat(stores, joiners)])
    join_day = _join_days(int(base.sum()), int(joiners.sum()), calendar.days, rng)
    order = np.argsort(home, kind="stable")
    home, join_day = home[order], join_day[order]
    n = len(home)
    segment = _categorical(np.tile(np.cumsum(_SEGMENT_P), (n, 1)), rng)
    platform = _categorical(np.cumsum(_PLATFORM_P, axis=1)[segment], rng)
    tier = (rng.uniform(size=n) < _PLUS_P[segment]).astype(np.int8)
    monthly = _VISITS_PER_MONTH[segment] * np.where(tier == 1, 1.15, 1.0)
    hazard = rng.gamma(2.0, MEAN_HAZARD / 2, n) * np.exp(-0.3 * params.quality[home])
    return Customers(
        number=first_number + np.arange(n, dtype=np.int64),
        home=home,
        join_day=join_day,
        join_second=rng.integers(0, 8 * 3600, n),
        segment=segment,
        tier=tier,
        platform=platform,
        visit_rate=rng.gamma(2.0, monthly / 2) / DAYS_PER_MONTH,
        spend=rng.gamma(3.0, _SPEND[segment] / 3),
        hazard=np.minimum(hazard, 0.5),
    )


def customer_ids(customers: Customers) -> pa.Array:
    """The customer ids, ``CU`` + 8 digits."""
    return serial_ids("CU", customers.number + 1, 8)


def customers_table(
    customers: Customers, ids: pa.Array, store_ids: pa.Array, calendar: Calendar
) -> pa.Table:
    """The rows of ``customers.parquet`` for this chunk."""
    seconds = customers.join_day * SECONDS_PER_DAY + customers.join_second
    return pa.table(
        {
            "customer_id": ids,
            "home_unit_id": store_ids.take(customers.home),
            "joined_at": timestamps(calendar, seconds),
            "segment": labels(SEGMENTS, customers.segment),
            "tier": labels(TIERS, customers.tier),
            "platform": labels(PLATFORMS, customers.platform),
        }
    )

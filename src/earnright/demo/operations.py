"""Operational metrics per store and day, with the planted incidents written into them.

Ten rows per store-day: queue wait and prescription fill minutes per daypart, the out-of-stock
rate, and app requests (good / total) per platform; GAP_P of the readings are missing (no row).
Levels depend on the store's quality, size and weak drivers; weekday seasonality and lognormal
noise on top.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from earnright.demo.calendar import SECONDS_PER_DAY, Calendar
from earnright.demo.company import StoreParams, operations_factor
from earnright.demo.company_actions import PlannedAction, scale_queues
from earnright.demo.customers import Customers
from earnright.demo.incidents import Incident
from earnright.demo.questionnaire import APP_PLATFORMS, DAYPARTS
from earnright.demo.tables import labels, timestamps

__all__ = ["metrics_table"]

_METRICS = ("queue_wait_minutes", "out_of_stock_rate", "rx_fill_minutes", "app_errors")
# The ten rows of a store-day: metric, daypart and platform codes.
_SLOT_METRIC = np.array([0, 0, 0, 1, 2, 2, 2, 3, 3, 3])
_DAYPARTS = (*DAYPARTS, "all")
_SLOT_DAYPART = np.array([0, 1, 2, 3, 0, 1, 2, 3, 3, 3])
_PLATFORMS = (*APP_PLATFORMS, "all")
_SLOT_PLATFORM = np.array([3, 3, 3, 3, 3, 3, 3, 0, 1, 2])
_QUEUE_DAYPART = np.array([0.8, 1.0, 1.2])
_RX_DAYPART = np.array([0.9, 1.0, 1.25])
_BUSY_WEEKDAY = np.array([1.0, 0.95, 0.95, 1.0, 1.15, 1.3, 0.9])
_STOCK_WEEKDAY = np.array([1.25, 1.1, 1.0, 0.95, 0.95, 1.0, 1.1])
GAP_P = 0.002  # share of readings missing (no row)


def _noise(rng: np.random.Generator, sd: float, shape: tuple[int, ...]) -> np.ndarray:
    return np.exp(rng.normal(-sd * sd / 2, sd, shape))


def _levels(
    stores: np.ndarray, params: StoreParams, calendar: Calendar, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Queue (S, D, 3), stock (S, D), rx (S, D, 3) values and app error rates (S, D, 3)."""
    factor = {k: v[stores] for k, v in operations_factor(params).items()}
    shape = (len(stores), calendar.days)
    busy = _BUSY_WEEKDAY[calendar.weekday(np.arange(calendar.days))]
    stock_day = _STOCK_WEEKDAY[calendar.weekday(np.arange(calendar.days))]
    return {
        "queue": 3.0
        * factor["queue"][:, None, None]
        * busy[None, :, None]
        * _QUEUE_DAYPART
        * _noise(rng, 0.25, (*shape, 3)),
        "stock": 0.035 * factor["stock"][:, None] * stock_day * _noise(rng, 0.3, shape),
        "rx": 14.0
        * factor["rx"][:, None, None]
        * busy[None, :, None]
        * _RX_DAYPART
        * _noise(rng, 0.2, (*shape, 3)),
        "app": 0.004 * factor["app"][:, None, None] * _noise(rng, 0.4, (*shape, 3)),
    }


def _plant(
    levels: dict[str, np.ndarray],
    stores: np.ndarray,
    incidents: list[Incident],
    rng: np.random.Generator,
) -> None:
    """Write each incident into its metric, segment, stores and days (in place)."""
    for incident in incidents:
        local = incident.stores_within(int(stores[0]), int(stores[-1]) + 1) - stores[0]
        if len(local) == 0:
            continue
        days = slice(incident.start, incident.end + 1)
        if incident.metric == "queue_wait_minutes":
            levels["queue"][local, days, :] *= incident.severity
        elif incident.metric == "rx_fill_minutes":
            daypart = DAYPARTS.index(incident.segment["daypart"])
            levels["rx"][local, days, daypart] *= incident.severity
        elif incident.metric == "out_of_stock_rate":
            levels["stock"][local, days] += incident.severity
        else:
            platform = APP_PLATFORMS.index(incident.segment["platform"])
            shape = (len(local), incident.end + 1 - incident.start)
            levels["app"][local, days, platform] = incident.severity * _noise(rng, 0.15, shape)


def _app_counts(
    stores: np.ndarray,
    customers: Customers,
    rates: np.ndarray,
    calendar: Calendar,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Good and total app requests (S, D, 3) from each store's app users and the error rates."""
    users = np.zeros((len(stores), len(APP_PLATFORMS)))
    app = customers.platform < len(APP_PLATFORMS)
    np.add.at(users, (customers.home[app] - stores[0], customers.platform[app]), 1.0)
    busy = _BUSY_WEEKDAY[calendar.weekday(np.arange(calendar.days))]
    total = rng.poisson(5.0 + 2.5 * users[:, None, :] * busy[None, :, None])
    errors = rng.binomial(total, np.clip(rates, 0.0, 1.0))
    return total - errors, total


def metrics_table(
    stores: np.ndarray,
    customers: Customers,
    params: StoreParams,
    incidents: list[Incident],
    context: tuple[pa.Array, Calendar],
    rng: np.random.Generator,
    actions: tuple[PlannedAction, ...] = (),
) -> pa.Table:
    """The rows of ``metrics.parquet`` for a contiguous range of ``stores``.

    Planted: every incident's metric is degraded for its segment (platform or daypart) in its
    stores from ``start`` to ``end``: queue and prescription minutes multiplied by the
    severity, the out-of-stock rate raised by it, the app error rate set to it; the planted
    short-queue ``actions`` scale their store's queue waits from their effect day on.
    """
    store_ids, calendar = context
    levels = _levels(stores, params, calendar, rng)
    _plant(levels, stores, incidents, rng)
    scale_queues(list(actions), levels["queue"], stores)
    good, total = _app_counts(stores, customers, levels["app"], calendar, rng)
    shape = (len(stores), calendar.days, len(_SLOT_METRIC))
    value = np.full(shape, np.nan)
    value[:, :, 0:3] = np.round(levels["queue"], 2)
    value[:, :, 3] = np.round(np.clip(levels["stock"], 0.0, 1.0), 4)
    value[:, :, 4:7] = np.round(levels["rx"], 2)
    counts = np.zeros((2, *shape), dtype=np.int64)
    counts[0, :, :, 7:], counts[1, :, :, 7:] = good, total
    slots = np.tile(np.arange(shape[2]), shape[0] * shape[1])
    day = np.tile(np.repeat(np.arange(calendar.days), shape[2]), shape[0])
    not_app = _SLOT_METRIC[slots] != 3
    table = pa.table(
        {
            "observed_at": timestamps(calendar, day * SECONDS_PER_DAY),
            "metric": labels(_METRICS, _SLOT_METRIC[slots]),
            "unit_id": store_ids.take(np.repeat(stores, calendar.days * shape[2])),
            "platform": labels(_PLATFORMS, _SLOT_PLATFORM[slots]),
            "daypart": labels(_DAYPARTS, _SLOT_DAYPART[slots]),
            "value": pa.array(value.ravel(), from_pandas=True),
            "good": pa.array(counts[0].ravel(), mask=not_app),
            "total": pa.array(counts[1].ravel(), mask=not_app),
        }
    )
    return table.filter(pa.array(rng.uniform(size=table.num_rows) >= GAP_P))

"""The demo company's structure: the unit hierarchy and each store's planted parameters.

Stores are numbered in district order, so every district is a contiguous range of stores and a
chunk of whole districts is a contiguous range too.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import norm

from earnright.demo.questionnaire import APP, DEMO_COMPANY_NAME, QUESTIONS, RX, STOCK, WAIT

__all__ = ["StoreParams", "Units", "build_store_params", "build_units", "write_units_csv"]

_REGION_NAMES = ("North", "South", "East", "West", "Central", "Coast", "Highlands", "Lakes")
_TOWN_HEADS = (
    "Ash", "Bar", "Bel", "Black", "Brook", "Cam", "Clay", "Cold", "Dun", "East", "Elm", "Fair",
    "Glen", "Green", "Hart", "High", "Kings", "Lang", "Lin", "Mill", "New", "North", "Oak", "Pen",
    "Red", "Rich", "Rose", "Stan", "Stone", "West", "White", "Wood",
)  # fmt: skip
_TOWN_TAILS = (
    "bury", "by", "field", "ford", "gate", "ham", "hill", "ley", "mere", "mouth", "stead",
    "ton", "wick", "worth",
)  # fmt: skip
_STREETS = (
    "High Street", "Market Square", "Station Road", "Church Lane", "Mill Road", "Park Avenue",
    "Queen Street", "King Street", "Bridge Street", "Victoria Road", "The Parade", "Green Lane",
    "London Road", "North Street", "South Street", "West End", "Castle Street", "Harbour Road",
    "Retail Park", "Shopping Centre", "Old Town", "Riverside", "Hospital Road", "Broadway",
)  # fmt: skip

# Company-wide planted driver parameters, in QUESTIONS order.
DRIVER_BASE = np.array([4.3, 4.0, 4.1, 4.1, 4.4, 4.1])  # latent mean of a typical store
COMPANY_WEIGHTS = np.array([0.55, 0.45, 0.40, 0.50, 0.25, 0.30])  # ltr points per latent point
_WEAK_CHOICE = np.array([0.20, 0.22, 0.22, 0.18, 0.13, 0.05])  # which drivers go weak
_WEAK_COUNT = np.array([0.30, 0.35, 0.25, 0.10])  # P(0, 1, 2, 3 weak drivers)
_WEAK_FLOOR = 0.6  # a weak driver's latent mean is at least this far below DRIVER_BASE
LTR_INTERCEPT = 9.4  # company ltr latent mean at an average store


@dataclass(frozen=True)
class Units:
    """Regions, districts and stores with their ids, names and parents."""

    region_ids: list[str]
    region_names: list[str]
    district_ids: list[str]
    district_names: list[str]
    district_region: np.ndarray
    store_ids: list[str]
    store_names: list[str]
    store_district: np.ndarray

    @property
    def stores(self) -> int:
        return len(self.store_ids)

    @property
    def district_first(self) -> np.ndarray:
        """Index of each district's first store."""
        return np.searchsorted(self.store_district, np.arange(len(self.district_ids)))

    @property
    def district_size(self) -> np.ndarray:
        return np.bincount(self.store_district, minlength=len(self.district_ids))

    def stores_of(self, unit_id: str) -> np.ndarray:
        """Indices of the stores under a region, district or store id."""
        if unit_id in self.region_ids:
            region = self.region_ids.index(unit_id)
            return np.flatnonzero(self.district_region[self.store_district] == region)
        if unit_id in self.district_ids:
            return np.flatnonzero(self.store_district == self.district_ids.index(unit_id))
        return np.array([self.store_ids.index(unit_id)])


@dataclass(frozen=True)
class StoreParams:
    """The planted truth of every store (arrays indexed by store, then month or question)."""

    quality: np.ndarray  # latent quality, N(0, 1) clipped to +-2.5
    base_customers: np.ndarray  # active customers at the start of the period
    response_rate: np.ndarray  # P(response | invitation)
    ltr_intercept: np.ndarray  # (stores, months): ltr latent mean before drivers and moment
    driver_means: np.ndarray  # (stores, questions): mean of the driver latents
    driver_weights: np.ndarray  # (stores, questions): ltr points per driver latent point
    weak: np.ndarray  # (stores, questions) bool: planted deficit

    @property
    def driver_part(self) -> np.ndarray:
        """(stores,): the drivers' contribution to the ltr latent mean."""
        return ((self.driver_means - DRIVER_BASE) * self.driver_weights).sum(axis=1)


def _ids(prefix: str, count: int, width: int) -> list[str]:
    width = max(width, len(str(count)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def _town_names(count: int, rng: np.random.Generator) -> list[str]:
    towns = [h + t for h in _TOWN_HEADS for t in _TOWN_TAILS]
    order = rng.permutation(len(towns))
    return [
        towns[order[i % len(towns)]] + ("" if i < len(towns) else f" {i // len(towns) + 1}")
        for i in range(count)
    ]


def _split(total: int, parts: int, minimum: int, rng: np.random.Generator) -> np.ndarray:
    """Random part sizes, each at least ``minimum`` (or as even as possible), summing to total."""
    floor = min(minimum, total // parts)
    extra = rng.multinomial(total - floor * parts, np.full(parts, 1.0 / parts))
    return floor + extra


def build_units(stores: int, rng: np.random.Generator) -> Units:
    """Regions (4-8 once there are enough districts), districts of ~5-12 stores, and stores."""
    if stores < 1:
        raise ValueError(f"stores must be at least 1, got {stores}")
    n_districts = max(1, round(stores / 8))
    n_regions = min(n_districts, max(4, min(8, n_districts // 3)))
    district_sizes = _split(stores, n_districts, 5, rng)
    region_sizes = _split(n_districts, n_regions, 1, rng)
    district_region = np.repeat(np.arange(n_regions), region_sizes)
    store_district = np.repeat(np.arange(n_districts), district_sizes)
    towns = _town_names(n_districts, rng)
    streets = [rng.permutation(len(_STREETS)) for _ in range(n_districts)]
    first = np.concatenate([[0], np.cumsum(district_sizes)[:-1]])
    store_names = [
        f"{towns[d]} {_STREETS[streets[d][(s - first[d]) % len(_STREETS)]]}"
        + ("" if s - first[d] < len(_STREETS) else f" {(s - first[d]) // len(_STREETS) + 1}")
        for s, d in enumerate(store_district)
    ]
    return Units(
        region_ids=_ids("R", n_regions, 2),
        region_names=[
            _REGION_NAMES[i % 8] + ("" if i < 8 else f" {i // 8 + 1}") for i in range(n_regions)
        ],
        district_ids=_ids("D", n_districts, 3),
        district_names=[f"{t} district" for t in towns],
        district_region=district_region,
        store_ids=_ids("S", stores, 4),
        store_names=store_names,
        store_district=store_district,
    )


def write_units_csv(units: Units, path: Path) -> int:
    """Write ``units.csv`` (company, regions, districts, stores); return the number of rows."""
    rows = [("C", DEMO_COMPANY_NAME, "company", "")]
    rows += [
        (r, n, "region", "C") for r, n in zip(units.region_ids, units.region_names, strict=True)
    ]
    rows += [
        (d, n, "district", units.region_ids[r])
        for d, n, r in zip(
            units.district_ids, units.district_names, units.district_region, strict=True
        )
    ]
    rows += [
        (s, n, "store", units.district_ids[d])
        for s, n, d in zip(units.store_ids, units.store_names, units.store_district, strict=True)
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["unit_id", "name", "level", "parent_id"])
        writer.writerows(rows)
    return len(rows)


def _store_sizes(stores: int, rng: np.random.Generator) -> np.ndarray:
    """Lognormal customer bases (median 150, 30-1500), stratified so every scale spans them."""
    quantile = (rng.permutation(stores) + rng.uniform(0.2, 0.8, stores)) / stores
    return np.clip(np.round(150 * np.exp(0.95 * norm.ppf(quantile))), 30, 1500).astype(np.int64)


def _driver_means(quality: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Driver latent means per store and the planted weak drivers (0-3 per store)."""
    stores, k = len(quality), len(QUESTIONS)
    means = DRIVER_BASE + 0.15 * quality[:, None] + rng.normal(0, 0.15, (stores, k))
    count = rng.choice(4, size=stores, p=_WEAK_COUNT)
    # Gumbel top-k: each store's `count` weak drivers, drawn without replacement by _WEAK_CHOICE.
    keys = np.log(_WEAK_CHOICE) + rng.gumbel(size=(stores, k))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    weak = rank < count[:, None]
    deficit = rng.uniform(0.6, 1.0, (stores, k))
    weak_means = np.minimum(means - deficit, DRIVER_BASE - _WEAK_FLOOR)
    return np.where(weak, weak_means, means), weak


def build_store_params(stores: int, months: int, rng: np.random.Generator) -> StoreParams:
    """Plant every store's quality, size, response rate, ltr level and drivers."""
    quality = np.clip(rng.normal(0, 1, stores), -2.5, 2.5)
    base = _store_sizes(stores, rng)
    response_rate = 0.05 + 0.40 * rng.beta(2.0, 3.0, stores)
    level = LTR_INTERCEPT + 0.1 * quality + rng.normal(0, 0.2, stores)
    trend = rng.normal(0, 0.03, stores)
    month = np.arange(months) - (months - 1) / 2
    intercept = level[:, None] + trend[:, None] * month + rng.normal(0, 0.1, (stores, months))
    means, weak = _driver_means(quality, rng)
    weights = np.maximum(COMPANY_WEIGHTS + rng.normal(0, 0.06, (stores, len(QUESTIONS))), 0.05)
    return StoreParams(
        quality=quality,
        base_customers=base,
        response_rate=response_rate,
        ltr_intercept=intercept,
        driver_means=means,
        driver_weights=weights,
        weak=weak,
    )


def operations_factor(params: StoreParams) -> dict[str, np.ndarray]:
    """Per store multipliers of each operational metric: worse for low quality and weak drivers."""
    q, weak = params.quality, params.weak
    busy = (params.base_customers / 150) ** 0.25
    return {
        "queue": busy * np.exp(-0.15 * q) * np.where(weak[:, WAIT], 1.35, 1.0),
        "stock": np.exp(-0.2 * q) * np.where(weak[:, STOCK], 1.6, 1.0),
        "rx": np.exp(-0.12 * q) * np.where(weak[:, RX], 1.3, 1.0),
        "app": np.where(weak[:, APP], 1.5, 1.0),
    }

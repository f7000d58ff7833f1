"""A second, independent test company for early warning: not the demo's shapes.

The default :class:`Company` has 24 stores in 4 districts (levels company → district → store:
no regions) and a year of daily checkout events (good of total) per store × platform {web, ios,
android}, normally failing about 0.5% of the time, against a 99% objective: an ordinary store
spends half its budget. The indicator is count-based (``measure = "events"``) with platforms
crossed with units, configured in ``earnright.toml`` the documented way (docs/reliability.md),
daily series and day windows.

``PLANTED`` failures (the Adobe cases of issue 18):

- one store failing about 7% of the time on every platform, for 2 days;
- web failing about 3.5% everywhere, for 2 days (the other platforms fine);
- iOS at one store failing about 15%, for 4 days.

Besides the documented daily rules (a 2-day page at 4×, a 7-day ticket at 3×), a ``slower``
ticket at 1× over 3 days fires for days on ordinary noise at small stores (their normal error
rate uses half the budget): noise that must neither open an incident nor keep one open.

Other companies (tests/reliability/test_planted.py draws them at random) change the hierarchy's
size, the volumes, the objective and normal error rate, the kind of indicator — a threshold
indicator is a pick-up waiting time per order, exponential, good at or below ``THRESHOLD``
minutes, whose mean grows so that the planted share of orders waits too long — and whether
there is a platform dimension at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from earnright.config import load_config
from earnright.ingest import ingest_file
from earnright.reliability.incidents import Incident
from earnright.reliability.localize import format_cause
from earnright.workspace import Workspace, init_workspace

START = datetime(2025, 1, 1)
DAYS = 365
PLATFORMS = {"web": 400, "ios": 250, "android": 250}  # mean checkouts per store-day
NORMAL_ERROR = 0.005
THRESHOLD = 15.0  # minutes: a pick-up is good when it waits at most this long
METRIC = {"events": "checkout", "threshold": "pickup_minutes"}


@dataclass(frozen=True)
class Company:
    """A healthy company's shape; see the module docstring."""

    stores: int = 24
    districts: int = 4
    platforms: dict[str, float] = field(default_factory=lambda: dict(PLATFORMS))  # {}: none
    measure: str = "events"  # or "threshold"
    target: float = 0.99
    normal_error: float = NORMAL_ERROR
    volume: float = 1.0  # scales every platform's mean events per store-day
    days: int = DAYS
    weak: dict[str, float] = field(default_factory=dict)  # store -> its own normal error
    hourly: bool = False  # metrics per hour (a day's events spread evenly), step "1h" and the
    # documented default rules (the SRE workbook's four) instead of the daily ones

    @property
    def store_ids(self) -> list[str]:
        return [f"S{n:02d}" for n in range(1, self.stores + 1)]

    @property
    def district_of(self) -> dict[str, str]:
        per = -(-self.stores // self.districts)  # stores per district, the last one smaller
        return {s: f"D{n // per + 1}" for n, s in enumerate(self.store_ids)}

    @property
    def dimensions(self) -> list[str]:
        return [*(["platform"] if self.platforms else []), "district", "store"]

    def segments(self) -> int:
        """How many series detection watches: overall and one per value of each dimension."""
        return 1 + len(set(self.district_of.values())) + self.stores + len(self.platforms)

    def leaves(self, segment: dict[str, str]) -> int:
        """How many store (× platform) leaves a segment holds."""
        stores = [
            s
            for s in self.store_ids
            if segment.get("store", s) == s
            and segment.get("district", self.district_of[s]) == (self.district_of[s])
        ]
        return len(stores) * (1 if "platform" in segment else max(len(self.platforms), 1))

    def daily_events(self, segment: dict[str, str]) -> float:
        """About how many events a segment has per day (stores are 0.6-1.4× the mean size)."""
        per_leaf = self.volume * (
            (
                self.platforms[segment["platform"]]
                if "platform" in segment
                else float(np.mean(list(self.platforms.values())))
            )
            if self.platforms
            else 1.0
        )
        return per_leaf * self.leaves(segment) * 1.1  # weekends are 20% busier


COMPANY2 = Company()
STORES = COMPANY2.store_ids
DISTRICT = COMPANY2.district_of


@dataclass(frozen=True)
class Planted:
    segment: dict[str, str]  # the failing leaves: dimension -> value
    start: datetime
    days: int
    error: float  # the bad share of the segment's events while it fails
    hours: int = 0  # and this many hours more

    @property
    def cause(self) -> str:
        return format_cause(self.segment)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days, hours=self.hours)


PLANTED = (
    Planted({"store": "S07"}, datetime(2025, 5, 6), 2, 0.07),
    Planted({"platform": "web"}, datetime(2025, 7, 15), 2, 0.035),
    Planted({"platform": "ios", "store": "S19"}, datetime(2025, 10, 7), 4, 0.15),
)

# an hourly company (metrics per hour, the documented default rules) and failures of 3-8x the
# budget lasting hours: web everywhere at 5x for 6 hours, one store at 8x for 4 hours, iOS in one
# district at 5x for 8 hours
HOURLY = Company(stores=12, districts=3, days=42, hourly=True)
HOURS = (
    Planted({"platform": "web"}, datetime(2025, 2, 5, 10), 0, 0.05, hours=6),
    Planted({"store": "S05"}, datetime(2025, 2, 5, 10), 0, 0.08, hours=4),
    Planted({"district": "D2", "platform": "ios"}, datetime(2025, 2, 5, 10), 0, 0.05, hours=8),
)

RULES = """
[reliability]
step = "1d"
min_events = 10
anomaly_threshold = 0.6

[[reliability.burn_alerts]]
name = "fast"
long = "2d"
short = "1d"
factor = 4.0
severity = "page"

[[reliability.burn_alerts]]
name = "slow"
long = "7d"
short = "1d"
factor = 3.0
severity = "ticket"

[[reliability.burn_alerts]]
name = "slower"
long = "3d"
short = "1d"
factor = 1.0
severity = "ticket"
"""

# hourly metrics: the documented defaults (fast 1h ×14.4 and medium 6h ×6 pages, slow 1d ×3 and
# slower 3d ×1 tickets; their short windows hold the current hour)
HOURLY_RULES = """
[reliability]
step = "1h"
min_events = 10
anomaly_threshold = 0.6
"""


def config_text(company: Company) -> str:
    """The company's ``earnright.toml``: one indicator, the documented daily rules."""
    if company.measure == "events":
        moment, indicator = (
            ("checkout", "Checking out"),
            (
                'id = "checkout_ok"\nname = "Checkouts that succeed"\nmetric = "checkout"\n'
                'measure = "events"\n'
            ),
        )
    else:
        moment, indicator = (
            ("pickup", "Picking up"),
            (
                'id = "pickup_on_time"\nname = "Pick-ups within 15 minutes"\n'
                f'metric = "pickup_minutes"\nmeasure = "threshold"\nthreshold = {THRESHOLD}\n'
            ),
        )
    return f"""
[company]
name = "Second Company"

[units]
levels = ["company", "district", "store"]

[[journey.stages]]
id = "buy"
name = "I buy"

[[journey.stages.moments]]
id = "{moment[0]}"
name = "{moment[1]}"
owner = "commerce"

[[journey.stages.moments.indicators]]
{indicator}target = {company.target}
dimensions = {company.dimensions!r}
{HOURLY_RULES if company.hourly else RULES}""".replace("'", '"')


CONFIG = config_text(COMPANY2)


def _units(company: Company) -> pd.DataFrame:
    district = company.district_of
    rows = [("C", "Second Company", "company", "")]
    rows += [(d, f"District {d}", "district", "C") for d in sorted(set(district.values()))]
    rows += [(s, f"Store {s}", "store", district[s]) for s in company.store_ids]
    return pd.DataFrame(rows, columns=["unit_id", "name", "level", "parent_id"])


def _grid(company: Company, rng: np.random.Generator) -> pd.DataFrame:
    """One row per day × store (× platform) with its mean events and its normal bad share."""
    hours = 24 if company.hourly else 1
    days = pd.date_range(START, periods=company.days * hours, freq=f"{24 // hours}h", tz="UTC")
    platforms = list(company.platforms) or ["all"]
    grid = pd.MultiIndex.from_product(
        [days, company.store_ids, platforms], names=["observed_at", "unit_id", "platform"]
    ).to_frame(index=False)
    mean = grid.platform.map(company.platforms).fillna(1.0).to_numpy(float) * company.volume
    weekly = 1 + 0.2 * (grid.observed_at.dt.day_of_week >= 5).to_numpy(float)
    size = 0.6 + 0.8 * rng.random(company.stores)  # stores differ in size
    store_size = grid.unit_id.map(dict(zip(company.store_ids, size, strict=True)))
    grid["mean"] = mean * weekly * store_size.to_numpy(float) / hours
    grid["error"] = grid.unit_id.map(company.weak).fillna(company.normal_error)
    return grid


def _plant(company: Company, grid: pd.DataFrame, planted: tuple[Planted, ...]) -> None:
    day = grid.observed_at.dt.tz_localize(None)
    district = grid.unit_id.map(company.district_of)
    for p in planted:
        hit = (day >= p.start) & (day < p.end)
        for dim, value in p.segment.items():
            column = {"store": grid.unit_id, "district": district}.get(dim, grid.get(dim))
            hit &= column == value
        grid.loc[hit, "error"] = p.error


def _metrics(seed: int, planted: tuple[Planted, ...], company: Company = COMPANY2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    grid = _grid(company, rng)
    _plant(company, grid, planted)
    grid["metric"] = METRIC[company.measure]
    if company.measure == "events":
        total = rng.poisson(grid["mean"].to_numpy(float))
        grid["total"] = total.astype(float)
        grid["good"] = (total - rng.binomial(total, grid.error.to_numpy(float))).astype(float)
        grid["value"] = np.nan
    else:  # one row per order; its wait exceeds THRESHOLD with the leaf-day's error
        grid = grid.loc[grid.index.repeat(rng.poisson(grid["mean"].to_numpy(float)))]
        scale = THRESHOLD / -np.log(grid.error.to_numpy(float))
        order = grid.groupby(level=0).cumcount().to_numpy()  # the day's n-th order
        grid = grid.assign(
            observed_at=grid.observed_at + pd.to_timedelta(order * 60, unit="s"),
            value=rng.exponential(scale),
            good=np.nan,
            total=np.nan,
        )
    columns = ["observed_at", "unit_id", "platform", "metric", "good", "total", "value"]
    return grid[[c for c in columns if c != "platform" or company.platforms]].reset_index(drop=True)


def build(
    root: Path, seed: int = 1, planted: tuple[Planted, ...] = PLANTED, company: Company = COMPANY2
) -> Workspace:
    """The company's workspace under ``root``, its units and metrics ingested."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(config_text(company), encoding="utf-8")
    ws = init_workspace(root / "ws", load_config(root / "config.toml"))
    _units(company).to_csv(root / "units.csv", index=False)
    _metrics(seed, planted, company).to_parquet(root / "metrics.parquet")
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", root / "units.csv")
        ingest_file(wh, ws.config, "metrics", root / "metrics.parquet")
    return ws


def _shapes(company: Company, rnd: random.Random) -> list[dict[str, str]]:
    """One segment of each shape, depth 1-2 across units and dimensions, picked at random."""
    store = rnd.choice(company.store_ids)
    district = rnd.choice(sorted(set(company.district_of.values())))
    shapes = [{"store": store}, {"district": district}]
    if company.platforms:
        platform = rnd.choice(sorted(company.platforms))
        shapes += [
            {"platform": platform},
            {"platform": platform, "district": district},
            {"platform": platform, "store": store},
        ]
    return shapes


MIN_BAD_PER_DAY = 20  # a failure's segment must have this many bad events a day to be seen


def _failure(company: Company, rnd: random.Random, start: datetime) -> Planted:
    """A failure burning ``3×`` the budget or more, in a segment with enough events to tell it
    from noise in a day (``MIN_BAD_PER_DAY`` expected bad events)."""
    budget = 1 - company.target
    shapes = _shapes(company, rnd)
    rnd.shuffle(shapes)
    for segment in shapes:
        burn = rnd.choice([3.0, rnd.uniform(3.0, 6.0), rnd.uniform(6.0, 15.0)])
        error = max(min(budget * burn, 0.5), MIN_BAD_PER_DAY / company.daily_events(segment))
        if error <= 0.5:
            return Planted(segment, start, rnd.randint(1, 5), round(error, 4))
    return Planted({}, start, rnd.randint(1, 5), round(budget * 3, 4))  # everyone


def random_company(rnd: random.Random) -> Company:
    """A random healthy company: hierarchy, volumes, objective, indicator kind, dimensions."""
    measure = rnd.choice(["events", "events", "threshold"])
    stores = rnd.randint(6, 24)
    if measure == "events":
        target = rnd.choice([0.98, 0.99, 0.995])
        volume = 10 ** rnd.uniform(2.0, 3.3)  # events per store (× platform) a day
        platforms = rnd.choice([{}, {"web": 1.0, "ios": 0.6, "android": 0.6}])
    else:  # pick-up waits of each order, per store
        target, volume, platforms = rnd.choice([0.9, 0.95]), rnd.uniform(20, 40), {}
    return Company(
        stores=stores,
        districts=rnd.randint(2, min(5, stores // 2)),
        platforms=platforms,
        measure=measure,
        target=target,
        normal_error=round((1 - target) * rnd.uniform(0.2, 0.6), 5),
        volume=volume,
        days=rnd.randint(150, 240),
    )


def random_case(rnd: random.Random) -> tuple[Company, tuple[Planted, ...]]:
    """A random healthy company and 1-3 failures planted into it, 3 weeks apart or more, each
    lasting 1-5 days, after 45 days of history (the baseline and the longest alert window)."""
    company = random_company(rnd)
    planted: list[Planted] = []
    day, count = 45 + rnd.randint(0, 20), rnd.randint(1, 3)
    while len(planted) < count and day + 15 < company.days:
        failure = _failure(company, rnd, START + timedelta(days=day))
        planted.append(failure)
        day += failure.days + rnd.randint(21, 50)
    return company, tuple(planted)


RESOLVE_AFTER = timedelta(days=2)  # the config's default


def overlapping(found: list[Incident], planted: Planted) -> list[Incident]:
    """Incidents whose window overlaps the failure (or the ``RESOLVE_AFTER`` after it)."""
    end = planted.end + RESOLVE_AFTER
    return [i for i in found if i.started_at < end and i.window[1] > planted.start]


def score(found: list[Incident], planted: tuple[Planted, ...]) -> dict[str, Any]:
    """Each failure against the incidents found (the first overlapping one), and the others:
    false incidents. Days: onset error (found start − planted start), detection delay
    (detected − planted start), resolution delay (resolved − planted end)."""
    rows = []
    for failure in planted:
        near = overlapping(found, failure)
        best = near[0] if near else None
        rows.append(
            {
                "planted": failure.cause,
                "start": failure.start.date().isoformat(),
                "days": failure.days,
                "hours": failure.hours,
                "error": failure.error,
                "detected": best is not None,
                "incidents": len(near),
                "segment": best.segment if best else None,
                "exact_segment": best is not None and best.segment == failure.cause,
                "onset_error_days": _days(best.started_at - failure.start) if best else None,
                "detected_after_days": _days(best.detected_at - failure.start) if best else None,
                "resolution_delay_days": _days(best.resolved_at - failure.end)
                if best and best.resolved_at
                else None,
            }
        )
    false = [i for i in found if not any(i in overlapping(found, p) for p in planted)]
    return {"failures": rows, "false_incidents": [(i.segment, str(i.started_at)) for i in false]}


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400

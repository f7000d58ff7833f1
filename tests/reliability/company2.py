"""A second, independent test company for early warning: not the demo's shapes.

24 stores in 4 districts (levels company → district → store: no regions), a year of daily
checkout events (good of total) per store × platform {web, ios, android}, normally failing
about 0.5% of the time, against a 99% objective: an ordinary store spends half its budget. The
indicator is count-based (``measure = "events"``) with platforms crossed with units, configured
in ``earnright.toml`` the documented way (docs/reliability.md), daily series and day windows.

``PLANTED`` failures (the Adobe cases of issue 18):

- one store failing about 7% of the time on every platform, for 2 days;
- web failing about 3.5% everywhere, for 2 days (the other platforms fine);
- iOS at one store failing about 15%, for 4 days.

Besides the documented daily rules (a 2-day page at 4×, a 7-day ticket at 3×), a ``slower``
ticket at 1× over 3 days fires for days on ordinary noise at small stores (their normal error
rate uses half the budget): noise that must neither open an incident nor keep one open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from earnright.config import load_config
from earnright.ingest import ingest_file
from earnright.reliability.localize import format_cause
from earnright.workspace import Workspace, init_workspace

START = datetime(2025, 1, 1)
DAYS = 365
PLATFORMS = {"web": 400, "ios": 250, "android": 250}  # mean checkouts per store-day
NORMAL_ERROR = 0.005
STORES = [f"S{n:02d}" for n in range(1, 25)]
DISTRICT = {s: f"D{n // 6 + 1}" for n, s in enumerate(STORES)}


@dataclass(frozen=True)
class Planted:
    segment: dict[str, str]  # the failing leaves: dimension -> value
    start: datetime
    days: int
    error: float

    @property
    def cause(self) -> str:
        return format_cause(self.segment)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)


PLANTED = (
    Planted({"store": "S07"}, datetime(2025, 5, 6), 2, 0.07),
    Planted({"platform": "web"}, datetime(2025, 7, 15), 2, 0.035),
    Planted({"platform": "ios", "store": "S19"}, datetime(2025, 10, 7), 4, 0.15),
)

CONFIG = """
[company]
name = "Second Company"

[units]
levels = ["company", "district", "store"]

[[journey.stages]]
id = "buy"
name = "I buy"

[[journey.stages.moments]]
id = "checkout"
name = "Checking out"
owner = "commerce"

[[journey.stages.moments.indicators]]
id = "checkout_ok"
name = "Checkouts that succeed"
metric = "checkout"
measure = "events"
target = 0.99
dimensions = ["platform", "district", "store"]

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


def _units() -> pd.DataFrame:
    rows = [("C", "Second Company", "company", "")]
    rows += [(d, f"District {d}", "district", "C") for d in sorted(set(DISTRICT.values()))]
    rows += [(s, f"Store {s}", "store", DISTRICT[s]) for s in STORES]
    return pd.DataFrame(rows, columns=["unit_id", "name", "level", "parent_id"])


def _metrics(seed: int, planted: tuple[Planted, ...]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, periods=DAYS, freq="D", tz="UTC")
    grid = pd.MultiIndex.from_product(
        [days, STORES, list(PLATFORMS)], names=["observed_at", "unit_id", "platform"]
    ).to_frame(index=False)
    mean = grid.platform.map(PLATFORMS).to_numpy(float)
    weekly = 1 + 0.2 * (grid.observed_at.dt.day_of_week >= 5).to_numpy(float)
    size = 0.6 + 0.8 * rng.random(len(STORES))  # stores differ in size
    store_size = grid.unit_id.map(dict(zip(STORES, size, strict=True))).to_numpy(float)
    total = rng.poisson(mean * weekly * store_size)
    error = np.full(len(grid), NORMAL_ERROR)
    for p in planted:
        hit = (grid.observed_at.dt.tz_localize(None) >= p.start) & (
            grid.observed_at.dt.tz_localize(None) < p.end
        )
        for dim, value in p.segment.items():
            if dim == "district":
                hit &= grid.unit_id.map(DISTRICT) == value
            else:
                hit &= grid["unit_id" if dim == "store" else dim] == value
        error[hit.to_numpy()] = p.error
    grid["metric"] = "checkout"
    grid["total"] = total.astype(float)
    grid["good"] = (total - rng.binomial(total, error)).astype(float)
    grid["value"] = np.nan
    return grid


def build(root: Path, seed: int = 1, planted: tuple[Planted, ...] = PLANTED) -> Workspace:
    """The company's workspace under ``root``, its units and metrics ingested."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(CONFIG, encoding="utf-8")
    ws = init_workspace(root / "ws", load_config(root / "config.toml"))
    _units().to_csv(root / "units.csv", index=False)
    _metrics(seed, planted).to_parquet(root / "metrics.parquet")
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", root / "units.csv")
        ingest_file(wh, ws.config, "metrics", root / "metrics.parquet")
    return ws

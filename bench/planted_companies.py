"""Early warning on companies the detection was not built around (a helper of
bench/early_warning.py): the independent company of tests/reliability/company2.py with its
planted failures, and random failures planted into random healthy companies drawn by its
generator (the same one tests/reliability/test_planted.py draws from, with other seeds).

Each company is generated, ingested and replayed through the public API — ``Workspace.watch``
(one early-warning cycle, what ``earnright watch --once`` runs) and ``Workspace.warnings`` (the
incidents) — in a temporary folder, and scored by ``company2.score``: per failure, found (an
incident overlapping it), exact segment, onset error, detection and resolution delay; the other
incidents are false ones. The hourly company (``company2.HOURLY``: metrics per hour, the
documented default rules) is replayed with each of its ``HOURS`` failures on several seeds.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the generator lives with the tests
    sys.path.insert(0, str(ROOT))

from tests.reliability import company2  # noqa: E402
from tests.reliability.company2 import Company, Planted  # noqa: E402

from earnright.api import Workspace, open_workspace  # noqa: E402

TIMES = ("started_at", "ended_at", "detected_at", "resolved_at")


class Found:
    """An incident as the public API gives it (a record of ``Workspace.warnings()``), with
    the attributes the scoring reads."""

    def __init__(self, record: dict[str, Any]) -> None:
        self._record = record
        self.incident_id: str = record["id"]
        for key, value in record.items():
            setattr(self, key, datetime.fromisoformat(value) if key in TIMES and value else value)

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The exposure: from the failure's start to its measured end (else its resolution,
        else its detection: the record holds no last alert)."""
        end = self.ended_at or self.resolved_at or self.detected_at  # type: ignore[attr-defined]
        return self.started_at, end  # type: ignore[attr-defined]

    def record(self) -> dict[str, Any]:
        return dict(self._record)


def detect(ws: Workspace) -> dict[str, Any]:
    """One early-warning cycle (nothing delivered): what it did, as ``watch`` reports it."""
    return dict(ws.watch(once=True, deliver=False).detection)


def incidents(ws: Workspace) -> list[Any]:
    """Every stored incident, newest first."""
    return [Found(row) for row in ws.warnings().rows]


def replay(company: Company, planted: tuple[Planted, ...], seed: int) -> dict[str, Any]:
    """Generate, ingest, detect and score one company."""
    with tempfile.TemporaryDirectory(prefix="bench-planted-") as tmp:
        company2.build(Path(tmp), seed=seed, planted=planted, company=company)
        ws = open_workspace(Path(tmp) / "ws")
        started = time.monotonic()
        detect(ws)
        found = incidents(ws)
        seconds = time.monotonic() - started
    healthy_days = company.days - sum(p.days for p in planted)
    return {
        "seed": seed,
        "company": {
            "measure": company.measure,
            "stores": company.stores,
            "districts": len(set(company.district_of.values())),
            "platforms": list(company.platforms),
            "target": company.target,
            "normal_error": company.normal_error,
            "volume": round(company.volume, 1),
            "days": company.days,
        },
        "detection_seconds": seconds,
        "weeks": company.days / 7,
        "segment_years": company.segments() * healthy_days / 365,
        **company2.score(found, planted),
    }


def independent_company() -> list[dict[str, Any]]:
    return [replay(company2.COMPANY2, company2.PLANTED, seed=1)]


def random_plantings(seeds: list[int]) -> list[dict[str, Any]]:
    out = []
    for seed in seeds:
        company, planted = company2.random_case(random.Random(seed))
        out.append(replay(company, planted, seed))
    return out


def hourly_company(seeds: list[int]) -> list[dict[str, Any]]:
    """The hourly company with each of its ``HOURS`` failures, one company per seed and shape."""
    return [
        replay(company2.HOURLY, (failure,), seed) for seed in seeds for failure in company2.HOURS
    ]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The side-by-side measures over a set of replayed companies."""
    rows = [r for run in runs for r in run["failures"]]
    false = sum(len(run["false_incidents"]) for run in runs)
    weeks = sum(run["weeks"] for run in runs)
    return {
        "companies": len(runs),
        **measures(rows, false, weeks),
        "false_per_50_segment_years": 50 * false / sum(run["segment_years"] for run in runs),
        "customers_affected_ratio_median": None,  # these companies have no customers
    }


def measures(rows: list[dict[str, Any]], false: int, weeks: float) -> dict[str, Any]:
    """Detection rate, exact-segment rate, false incidents per week, onset error, detection
    and resolution delay (days; median and worst) of planted failures' rows."""
    found = [r for r in rows if r["detected"]]

    def pick(key: str) -> list[float]:
        return [r[key] for r in found if r[key] is not None]

    def median(key: str) -> float | None:
        return float(np.median(pick(key))) if pick(key) else None

    def worst(key: str) -> float | None:
        return float(np.max(pick(key))) if pick(key) else None

    return {
        "planted_failures": len(rows),
        "detection_rate": len(found) / len(rows) if rows else None,
        "exact_segment_rate": sum(r["exact_segment"] for r in rows) / len(rows) if rows else None,
        "false_incidents": false,
        "false_incidents_per_week": false / weeks if weeks else None,
        "median_onset_error_days": median("onset_error_days"),
        "max_onset_error_days": worst("onset_error_days"),
        "min_onset_error_days": float(np.min(pick("onset_error_days"))) if found else None,
        "median_detection_delay_days": median("detected_after_days"),
        "max_detection_delay_days": worst("detected_after_days"),
        "median_resolution_delay_days": median("resolution_delay_days"),
        "max_resolution_delay_days": worst("resolution_delay_days"),
    }

"""The departure watch (earnright.reliability.departures) on planted truth (company2)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from earnright.reliability.departures import departure_alerts, watched_kinds
from earnright.reliability.episode import leaf_buckets
from earnright.units import read_units, unit_ancestors
from tests.reliability import company2
from tests.reliability.company2 import Company, Planted


def test_watched_kinds_cross_metric_dimensions_with_levels_never_two_levels() -> None:
    assert watched_kinds(["district", "store"], ["platform", "daypart"]) == [
        (),
        ("district",),
        ("store",),
        ("platform",),
        ("daypart",),
        ("platform", "district"),
        ("platform", "store"),
        ("platform", "daypart"),
        ("daypart", "district"),
        ("daypart", "store"),
    ]


def test_only_the_failing_crossed_segment_alerts_not_a_chronically_weak_store(
    tmp_path: Path,
) -> None:
    """Android in D2 at 3x the budget for a day: the one alert of a healthy year, although S03
    fails 3% of its checkouts every day (3x the budget, its normal level)."""
    planted = Planted({"platform": "android", "district": "D2"}, datetime(2025, 6, 10), 1, 0.03)
    company = Company(weak={"S03": 0.03})
    ws = company2.build(tmp_path, seed=3, planted=(planted,), company=company)
    with ws.warehouse() as wh:
        units = read_units(wh)
        levels = ws.config.units.levels
        ancestors = units[["unit_id"]].astype("string")
        for level in levels:
            up = unit_ancestors(units, levels, level).rename(columns={"ancestor_id": level})
            ancestors = ancestors.merge(up, on="unit_id", how="left")
        _, indicator = ws.config.indicator("checkout_ok")
        span = (datetime(2025, 6, 1), datetime(2025, 6, 2))
        s03 = leaf_buckets(wh, ws.config, indicator, (ancestors, ["platform"]), span, ["S03"])
        assert 1 - s03.good.sum() / s03.total.sum() > 2 * indicator.error_budget  # burning
        alerts = departure_alerts(wh, ws.config, indicator, ancestors, None)
    assert [(a.segment, a.bucket, a.rule) for a in alerts] == [
        (planted.cause, planted.start, "departure")
    ]

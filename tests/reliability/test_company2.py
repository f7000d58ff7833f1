"""Early warning on a company nobody built the detection around (tests/reliability/company2.py).

Issue 18: on such a company the alerts fired for three of its failures (pages at 6-8× the
budget, anomalies on the right segment on the first day), but each candidate was dismissed as a
chronic miss: localisation, scoring the few bad events per leaf, found no segment departing.
Each failure must become one incident with its exact segment, its start day and its length;
nothing else may open one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from earnright.reliability.incidents import Incident, list_incidents, run_detection
from tests.reliability import company2
from tests.reliability.company2 import HOURLY, HOURS, PLANTED, Planted


def _detect(root: Path, planted: tuple[Planted, ...], seed: int) -> list[Incident]:
    ws = company2.build(root, seed=seed, planted=planted)
    with ws.warehouse() as wh:
        run_detection(wh, ws.config)
        return list_incidents(wh)


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> list[Incident]:
    return _detect(tmp_path_factory.mktemp("company2"), PLANTED, seed=1)


@pytest.mark.parametrize("planted", PLANTED, ids=[p.cause for p in PLANTED])
def test_each_planted_failure_is_one_incident_with_its_exact_segment_and_span(
    found: list[Incident], planted: Planted
) -> None:
    hits = [i for i in found if i.started_at < planted.end and i.window[1] > planted.start]
    assert len(hits) == 1, [(i.segment, i.started_at) for i in found]
    (incident,) = hits
    assert incident.segment == planted.cause
    assert incident.started_at == planted.start
    assert incident.detected_at <= planted.end  # found while it was going on
    # its window is the failure: a 2-day failure gets 2 days, not the span of its alerts
    assert incident.window == (planted.start, planted.end)
    assert incident.status == "resolved"
    assert incident.resolved_at is not None
    assert incident.resolved_at <= planted.end + timedelta(days=2)  # resolve_after


def test_no_other_incident(found: list[Incident]) -> None:
    assert len(found) == len(PLANTED)


def test_a_healthy_year_opens_no_incident(tmp_path: Path) -> None:
    """72 leaves, 32 watched series, a 'slower' ticket rule firing on noise for days: nothing."""
    assert _detect(tmp_path, (), seed=2) == []


# other shapes, one per company: a whole district on every platform with a small shift over its
# volume (0.5% -> 2%, burning twice the budget), one platform everywhere for a single day
SHAPES = (
    Planted({"district": "D2"}, datetime(2025, 8, 20), 2, 0.02),
    Planted({"platform": "ios"}, datetime(2025, 9, 2), 1, 0.02),
)


@pytest.mark.parametrize("planted", SHAPES, ids=[p.cause for p in SHAPES])
def test_other_shapes_are_found_exactly(tmp_path: Path, planted: Planted) -> None:
    (incident,) = _detect(tmp_path, (planted,), seed=4 + SHAPES.index(planted))
    assert (incident.segment, incident.window) == (planted.cause, (planted.start, planted.end))


def test_android_in_one_district_for_one_day(tmp_path: Path) -> None:
    """Issue 18's last named shape: one platform in one district, 3% (3x the budget), a day."""
    planted = Planted({"platform": "android", "district": "D2"}, datetime(2025, 6, 10), 1, 0.03)
    (incident,) = _detect(tmp_path, (planted,), seed=3)
    assert (incident.segment, incident.window) == (planted.cause, (planted.start, planted.end))


def test_a_weak_stores_ticket_noise_neither_keeps_an_incident_open_nor_joins_it(
    tmp_path: Path,
) -> None:
    """S03 normally fails 0.9% of its checkouts (90% of its budget): its 'slower' tickets fire
    for days on noise, around and after a failure of its district."""
    planted = Planted({"district": "D1"}, datetime(2025, 6, 10), 2, 0.03)
    company = company2.Company(weak={"S03": 0.009})
    ws = company2.build(tmp_path, seed=5, planted=(planted,), company=company)
    with ws.warehouse() as wh:
        run_detection(wh, ws.config)
        (incident,) = list_incidents(wh)
        alerts = wh.table("alerts").execute()
    noise = alerts[(alerts.segment == "store=S03") & (alerts.fired_at > planted.end)]
    assert len(noise) > 0  # the noise is there …
    assert noise.incident_id.isna().all()  # … and attached to nothing
    assert (incident.segment, incident.window) == (planted.cause, (planted.start, planted.end))
    assert incident.resolved_at is not None
    assert incident.resolved_at <= planted.end + timedelta(days=2)


UNSEEN = (
    "issue 18, open: below the issue's target (3x the budget for a day) and below what the data "
    "can tell at the false-incident bar. Windows of 2-24 hours are checked now, but at seed 11 "
    "the store's 4 failing hours hold 6 bad checkouts of 110 (0.6 expected: z 4.0, its first "
    "hour none of 23) and iOS in D2's 8 hours 13 of ~300 (1.35 expected: z 5.8), short of the "
    "6 spreads any confirmation needs"
)


@pytest.mark.parametrize(
    "planted",
    [
        HOURS[0],
        pytest.param(HOURS[1], marks=pytest.mark.xfail(strict=True, reason=UNSEEN)),
        pytest.param(HOURS[2], marks=pytest.mark.xfail(strict=True, reason=UNSEEN)),
    ],
    ids=[p.cause for p in HOURS],
)
def test_a_failure_of_hours_is_found_within_its_day(tmp_path: Path, planted: Planted) -> None:
    """Hourly data: web everywhere at 5x for 6 hours (~16 bad checkouts an hour against 2) is
    found that day with its hours; one store at 8x for 4 hours, and iOS in one district at 5x
    for 8 hours (0-4 bad an hour), are not (see ``UNSEEN``)."""
    ws = company2.build(tmp_path, seed=11, planted=(planted,), company=HOURLY)
    with ws.warehouse() as wh:
        run_detection(wh, ws.config)
        found = list_incidents(wh)
    assert [(i.segment, i.window) for i in found] == [(planted.cause, (planted.start, planted.end))]
    (incident,) = found
    assert incident.detected_at < planted.start.replace(hour=0) + timedelta(days=1)
    assert incident.resolved_at is not None


# the target on hourly data: 3x the budget for a day, in segments with a few bad events
# an hour (about 1 while failing, against 0.2), which no single hour shows
DAY_LONG = (
    Planted({"store": "S05"}, datetime(2025, 2, 5, 6), 1, 0.03),
    Planted({"district": "D2", "platform": "ios"}, datetime(2025, 2, 5, 6), 1, 0.03),
)


@pytest.mark.parametrize("planted", DAY_LONG, ids=[p.cause for p in DAY_LONG])
def test_a_small_segment_failing_for_a_day_on_hourly_data_is_found_by_its_windows(
    tmp_path: Path, planted: Planted
) -> None:
    """Its windows of several hours depart where no hour does: one incident, its exact
    segment, found within a day of its start, its window the failing hours but for edge hours
    that look like their neighbours (a failing hour with no bad event, a healthy one with one:
    4 at most, at about 1 bad event an hour against 0.2)."""
    ws = company2.build(tmp_path, seed=11, planted=(planted,), company=HOURLY)
    with ws.warehouse() as wh:
        run_detection(wh, ws.config)
        (incident,) = list_incidents(wh)
    assert incident.segment == planted.cause
    assert incident.detected_at <= planted.start + timedelta(days=1)
    start, end = incident.window
    edge = timedelta(hours=4)
    assert abs(start - planted.start) <= edge
    assert abs(end - planted.end) <= edge
    assert incident.resolved_at is not None
    assert incident.resolved_at <= planted.end + timedelta(days=2)  # resolve_after

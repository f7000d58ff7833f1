"""Random failures planted into random healthy companies (tests/reliability/company2.py).

Issue 18's target for detection, as a property: every failure whose segment burns its error
budget at 3× or more for a day is found, with its exact segment, starting within a day of its
start and detected within a day where the page rule sees it (8× the budget on its first day;
else before it ends: how soon a 3-8× failure alerts is the anomaly detector's and the ticket
rule's business); it resolves within ``resolve_after`` of its end; and false incidents in
healthy periods stay within one per 50 indicator-segment-years. Companies differ in hierarchy
size, volumes, objective, indicator kind (events, or a threshold on waiting times) and
dimensions (units alone, or units × platforms); failures in shape (a store, a district, a
platform, a platform × district, a store × platform), duration (1-5 days) and size (3× the
budget upward, also small relative shifts over large volumes). Derandomized: CI sees the same
companies every run.
"""

from __future__ import annotations

import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from earnright.reliability.incidents import Incident, list_incidents, run_detection
from tests.reliability import company2
from tests.reliability.company2 import RESOLVE_AFTER, Company, Planted, overlapping

FALSE_PER_SEGMENT_YEAR = 1 / 50
TALLY: list[tuple[int, float]] = []  # (false incidents, healthy indicator-segment-years)


def detect(company: Company, planted: tuple[Planted, ...], seed: int) -> list[Incident]:
    with tempfile.TemporaryDirectory(prefix="planted-") as tmp:
        ws = company2.build(Path(tmp), seed=seed, planted=planted, company=company)
        with ws.warehouse() as wh:
            run_detection(wh, ws.config)
            return list_incidents(wh)


def check(found: list[Incident], planted: Planted, company: Company) -> None:
    near = overlapping(found, planted)
    what = f"{planted} in {company}: {[(i.segment, i.window, i.detected_at) for i in found]}"
    assert len(near) == 1, what
    (incident,) = near
    assert incident.segment == planted.cause, what
    assert abs(incident.started_at - planted.start) <= timedelta(days=1), what
    # within a day where the documented page rule (2 days at 4x) sees it on its first day; else
    # before it ends (the anomaly detector and the 7-day ticket decide how soon: detection.py)
    soon = timedelta(days=2 if planted.error >= 8 * (1 - company.target) else max(planted.days, 2))
    assert incident.detected_at <= planted.start + soon, what
    assert incident.resolved_at is not None, what
    assert incident.resolved_at <= planted.end + RESOLVE_AFTER, what


@pytest.mark.slow
@settings(
    max_examples=12,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is a company-year
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(rnd=st.randoms(use_true_random=False), seed=st.integers(0, 2**16))
def test_planted_failures_are_found_exactly_and_resolve(rnd: random.Random, seed: int) -> None:
    company, planted = company2.random_case(rnd)
    found = detect(company, planted, seed)
    for failure in planted:
        check(found, failure, company)
    false = [i for i in found if not any(i in overlapping(found, p) for p in planted)]
    healthy_days = company.days - sum(p.days for p in planted)
    TALLY.append((len(false), company.segments() * healthy_days / 365))
    assert len(false) <= 1, [(i.segment, i.window) for i in false]


@pytest.mark.slow
def test_false_incidents_in_healthy_periods_stay_rare() -> None:
    """Over every company the property drew (it runs first, in this module's order)."""
    if not TALLY:
        pytest.skip("run with test_planted_failures_are_found_exactly_and_resolve")
    false, years = sum(n for n, _ in TALLY), sum(y for _, y in TALLY)
    assert false <= FALSE_PER_SEGMENT_YEAR * years, (false, years)


def test_a_quiet_store_of_another_district_is_never_added_to_a_district_failure() -> None:
    """The company the property drew when it failed (issue 18): 10 stores in 3 districts, pick-up
    waits, district D2 (S05-S08) failing 50% for 2 days. Over the whole episode (its failure and
    the quiet days after it) the search also names S02 and S10, stores of D1 and D3 whose own
    series moved at most ~3 spreads on one day: noise, no failure; they must not join D2."""
    company = Company(
        stores=10,
        districts=3,
        platforms={},
        measure="threshold",
        target=0.9,
        normal_error=0.0466,
        volume=26.719536267960137,
        days=201,
    )
    planted = Planted({"district": "D2"}, datetime(2025, 2, 28), 2, 0.5)
    found = detect(company, (planted,), seed=2949)
    assert [(i.segment, i.window) for i in found] == [("district=D2", (planted.start, planted.end))]

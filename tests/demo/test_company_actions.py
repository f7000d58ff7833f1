"""Planted actions: every company large enough gets them, at stores no incident confounds."""

from __future__ import annotations

import numpy as np
import pytest

from earnright.demo import generate as g
from earnright.demo.company_actions import (
    POST_WEEKS,
    PRE_WEEKS,
    RETENTION_DAYS,
    STORES_PER_ACTION,
    TEMPLATE,
    plan_actions,
)


def _plan(stores: int, seed: int) -> tuple[list, list]:
    calendar = g.build_calendar("2026-09", 24)
    rng = np.random.default_rng(seed)
    units = g.build_units(stores, rng)
    params = g.build_store_params(stores, 24, rng)
    incidents = g.plan_incidents(units, calendar, rng)
    return plan_actions(units, params, calendar, incidents, seed), incidents


@pytest.mark.parametrize(("stores", "seed"), [(300, 7), (1000, 7), (2000, 1)])
def test_a_large_company_gets_every_action_at_a_store_no_incident_touches_in_its_window(
    stores: int, seed: int
) -> None:
    # At 1,000 stores the regional incidents touch every store: before, no store was free of
    # incidents and the demo planted no action at all (an empty actions.csv).
    planned, incidents = _plan(stores, seed)
    assert len(planned) == min(len(TEMPLATE), stores // STORES_PER_ACTION)
    assert len({a.store for a in planned}) == len(planned)
    for action in planned:
        lo = action.start - 7 * PRE_WEEKS
        hi = action.start + 7 * POST_WEEKS + RETENTION_DAYS
        for incident in incidents:
            if incident.start < hi and incident.survey_end >= lo:
                assert action.store not in set(incident.stores.tolist()), (action, incident.id)


def test_the_incidents_of_a_thousand_stores_reach_every_store() -> None:
    # the case the window rule exists for: the plain rule (no incident ever) finds no store
    _, incidents = _plan(1000, 7)
    touched = set().union(*(set(i.stores.tolist()) for i in incidents))
    assert len(touched) == 1000

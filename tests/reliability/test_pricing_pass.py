"""Pricing a detection pass's incidents together: the units read once, the customers of every
exposure valued in one engine query, the figures those of one exposure at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from earnright.reliability import revenue, terms, valuation
from earnright.reliability.revenue import Exposure, RiskPass, revenue_at_risk
from earnright.reliability.valuation import YEAR_OF_SPEND
from earnright.workspace import Workspace
from tests.reliability.test_revenue import YEAR_DAYS, _churn_data, build_workspace

D = datetime.fromisoformat
START, END = D("2026-03-01"), D("2026-03-05")
EXPOSURES = [
    Exposure([{"store": "S1"}], START, END),  # E1-E5: 20 each on Feb 1, observed since Dec 31
    Exposure([{"store": "S1"}, {"store": "S2"}], START, END),  # the same customers (E5 at S2)
    Exposure([{"store": "S3"}], START, END),  # F1-F5: no spend before the start
    Exposure([{"district": "D1"}], D("2026-01-01"), D("2026-01-05")),  # J1-J4 (S1), no L yet
    Exposure([{"store": "S2"}], D("2025-12-01"), D("2025-12-02")),  # nobody
    Exposure([{"platform": "ios"}], START, END),  # everyone active in [start - 28d, end)
]


@pytest.fixture(scope="module")
def churn_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build_workspace(tmp_path_factory.mktemp("pass"), *_churn_data())


def _count(module: Any, name: str, patch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    patch.setattr(module, name, counted)
    return calls


def test_a_pass_values_every_exposure_in_one_query_with_the_same_figures(
    churn_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = churn_ws.config
    with churn_ws.warehouse(read_only=True) as wh:
        alone = [revenue_at_risk(wh, config, e) for e in EXPOSURES]
        reads = _count(revenue, "read_units", monkeypatch)
        queries = _count(revenue, "tagged_customer_values", monkeypatch)
        context = RiskPass.read(wh, config)
        together = context.value(wh, config, EXPOSURES)
        priced = [revenue_at_risk(wh, config, e, context=context) for e in EXPOSURES]
    assert len(queries) == 1 and len(reads) == 1  # one query, one read of the units table
    # the hand-computed figures: five customers who spent 20 each, observed for the 60 days
    # since the first transaction of all (Dec 31), annualised; nobody; no spend before
    assert together[0][0] == 5
    assert together[0][1] == pytest.approx(5 * 20.0 / (5 * 60) * YEAR_DAYS)
    assert together[1] == together[0]
    # a handful of customers: too few repeat buyers for lifetime value, a year of spend instead
    assert together[2] == (5, 0.0, YEAR_OF_SPEND)
    assert together[4] == (0, 0.0, YEAR_OF_SPEND)
    for one, many, risk in zip(alone, together, priced, strict=True):
        assert (one.customers_affected, one.customer_value) == pytest.approx(many[:2])
        assert one.value_basis == many[2] == YEAR_OF_SPEND
        assert risk == one


def test_units_beneath_each_level_are_walked_once_per_pass(
    churn_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    walks = _count(revenue, "unit_ancestors", monkeypatch)
    with churn_ws.warehouse(read_only=True) as wh:
        units = revenue.UnitIndex(wh, churn_ws.config.units.levels)
        assert units.under("store", "S1") == {"S1"}
        assert units.under("district", "D1") == {"D1", "S1", "S2"}  # at or beneath
        assert units.under("store", "S2") == {"S2"}
        assert units.under("region", "R9") == frozenset()
    assert len(walks) == 3  # store, district and region: each level walked once


def test_no_exposure_needs_no_query(churn_ws: Workspace) -> None:
    window = churn_ws.config.reliability.value_window
    with churn_ws.warehouse(read_only=True) as wh:
        assert valuation.customer_values(wh, [], window=window) == []


@pytest.mark.parametrize("groups", [terms.GROUPS_A_QUERY, 2, 1])
def test_a_pass_counts_the_churn_of_every_exposure_in_one_query_with_the_same_effects(
    churn_ws: Workspace, monkeypatch: pytest.MonkeyPatch, groups: int
) -> None:
    """The churn of several exposures (overlapping customers, different windows, nobody
    exposed, a follow-up not complete) counted together is each one's counted alone, however
    many of them one engine query holds (``GROUPS_A_QUERY`` bounds its memory)."""
    monkeypatch.setattr(terms, "GROUPS_A_QUERY", groups)
    config = churn_ws.config
    exposures = [*EXPOSURES, Exposure([{"store": "S1"}], D("2026-06-01"), D("2026-06-02"))]
    with churn_ws.warehouse(read_only=True) as wh:
        alone = [revenue.measure_extra_churn(wh, config, e) for e in exposures]
        queries = _count(revenue, "churn_counts_of", monkeypatch)
        context = RiskPass.read(wh, config)
        together = revenue.measure_extra_churns(wh, config, exposures, context=context)
    assert len(queries) == 1
    assert together == alone
    assert sum(e is not None for e in alone) >= 2  # measured ones: the comparison is not empty
    assert alone[-1] is None  # its follow-up runs past the data

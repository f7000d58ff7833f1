"""Revenue at risk: affected customers, their value, the extra churn and its interval.

Hand-made warehouses with exact expected counts; a simulation of the estimator and of its
interval's coverage; the demo company's planted incidents (customers exposed, churn effect).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from earnright.config import Config
from earnright.customers import value
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.reliability import revenue
from earnright.reliability.revenue import (
    FOLLOW_UP,
    ChurnEffect,
    Exposure,
    RevenueAtRisk,
    affected_customers,
    extra_churn_interval,
    follow_up_window,
    measure_extra_churn,
    pool_extra_churn,
    pool_history,
    revenue_at_risk,
)
from earnright.workspace import Workspace, find_workspace, init_workspace
from tests.conftest import UNITS_CSV

D = datetime.fromisoformat
YEAR_DAYS = 365.25


def _config(**reliability: Any) -> Config:
    return Config.model_validate(
        {
            "reliability": {
                "churn_window": "28d",
                "active_window": "28d",
                "value_window": "365d",
                "hours": {"daypart": {"morning": (8, 12), "evening": (17, 21)}},
                **reliability,
            }
        }
    )


def build_workspace(
    root: Path, customers: dict[str, tuple[str, str]], visits: list[tuple[str, str, str, float]]
) -> Workspace:
    """A workspace with the conftest units, ``customers`` {id: (home store, platform)} joined in
    2020, and ``visits`` (customer, store, ISO time, amount) as transactions."""
    ws = init_workspace(root / "ws", _config())
    (root / "units.csv").write_text(UNITS_CSV)
    pd.DataFrame(
        {
            "customer_id": list(customers),
            "home_unit_id": [home for home, _ in customers.values()],
            "joined_at": "2020-01-01T00:00:00",
            "platform": [platform for _, platform in customers.values()],
        }
    ).to_csv(root / "customers.csv", index=False)
    pd.DataFrame(
        {
            "transaction_id": [f"T{i:04d}" for i in range(len(visits))],
            "customer_id": [v[0] for v in visits],
            "unit_id": [v[1] for v in visits],
            "occurred_at": [v[2] for v in visits],
            "amount": [v[3] for v in visits],
        }
    ).to_csv(root / "transactions.csv", index=False)
    with ws.warehouse() as wh:
        for kind, name in [("units", "units"), ("customers", "customers")]:
            ingest_file(wh, ws.config, kind, root / f"{name}.csv")
        ingest_file(wh, ws.config, "transactions", root / "transactions.csv")
    return ws


# -- who is affected ------------------------------------------------------------------------

WINDOW = (D("2026-03-01"), D("2026-03-05"))  # exposure [start, end)
DIM_CUSTOMERS = {
    "A1": ("S1", "android"),  # S1, in the window, morning
    "A2": ("S1", "android"),  # S1, 19 days before the start only
    "A3": ("S2", "ios"),  # S2, in the window, evening
    "A4": ("S3", "android"),  # S3 (region R2), in the window
    "A5": ("S1", "android"),  # S1, 45 days before the start only
    "A6": ("S1", "ios"),  # S1, exactly at the (exclusive) end
    "A7": ("S2", "android"),  # S2, a minute before the start
    "A8": ("S3", ""),  # S3, no platform, in the window, afternoon
}
DIM_VISITS = [
    ("A1", "S1", "2026-03-02T10:00:00", 10.0),
    ("A2", "S1", "2026-02-10T10:00:00", 10.0),
    ("A3", "S2", "2026-03-03T18:30:00", 10.0),
    ("A4", "S3", "2026-03-04T09:00:00", 10.0),
    ("A5", "S1", "2026-01-15T10:00:00", 10.0),
    ("A6", "S1", "2026-03-05T00:00:00", 10.0),
    ("A7", "S2", "2026-02-28T23:59:00", 10.0),
    ("A8", "S3", "2026-03-01T14:00:00", 10.0),
]


@pytest.fixture(scope="module")
def dims_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build_workspace(tmp_path_factory.mktemp("dims"), DIM_CUSTOMERS, DIM_VISITS)


def _affected(ws: Workspace, segments: list[dict[str, str]]) -> list[str]:
    with ws.warehouse(read_only=True) as wh:
        table = affected_customers(wh, ws.config, Exposure(segments, *WINDOW))
        assert table.columns == ("customer_id",)
        ids = table.to_pandas().customer_id.tolist()
    assert len(ids) == len(set(ids)), "customer ids must be distinct"
    return sorted(ids)


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        ([{"store": "S1"}], ["A1"]),  # A6 at the exclusive end, A2/A5 before the start
        ([{"district": "D1"}], ["A1", "A3"]),
        ([{"region": "R2"}], ["A4", "A8"]),
        ([{"company": "C"}], ["A1", "A3", "A4", "A8"]),
        ([{"store": "S1"}, {"store": "S2"}], ["A1", "A3"]),  # an OR of stores
        ([{"daypart": "evening", "district": "D1"}], ["A3"]),
        ([{"daypart": "morning"}], ["A1", "A4"]),
        # a customer attribute reaches customers active in [start - active_window, end)
        ([{"platform": "android", "region": "R1"}], ["A1", "A2", "A7"]),
        ([{"platform": "android"}], ["A1", "A2", "A4", "A7"]),
        ([{"platform": "ios", "store": "S1"}], []),  # A6 came at the end, not before it
        ([{}], ["A1", "A3", "A4", "A8"]),
        ([], ["A1", "A3", "A4", "A8"]),  # no segment: everyone active in the window
        ([{"store": "S1", "region": "R2"}], []),  # contradictory units
        # "null" (localize's name of a missing value): ingest gives every store a region
        ([{"region": "null"}], []),
        ([{"platform": "null"}], ["A8"]),
    ],
)
def test_affected_customers_per_dimension_kind(
    dims_ws: Workspace, segments: list[dict[str, str]], expected: list[str]
) -> None:
    assert _affected(dims_ws, segments) == expected


def test_metric_only_dimensions_are_ignored_with_a_note(dims_ws: Workspace) -> None:
    segment = [{"store": "S1", "os_version": "14", "daypart": "all"}]
    assert _affected(dims_ws, segment) == ["A1"]
    with dims_ws.warehouse(read_only=True) as wh:
        result = revenue_at_risk(wh, dims_ws.config, Exposure(segment, *WINDOW))
    assert any("os_version" in note and "ignored" in note for note in result.notes)
    assert any("daypart=all" in note for note in result.notes)


def test_unknown_unit_and_backwards_window_are_user_errors(dims_ws: Workspace) -> None:
    with dims_ws.warehouse(read_only=True) as wh:
        with pytest.raises(QueryError, match="no region 'R9'"):
            affected_customers(wh, dims_ws.config, Exposure([{"region": "R9"}], *WINDOW))
        with pytest.raises(QueryError, match="at or before it starts"):
            affected_customers(wh, dims_ws.config, Exposure([{}], WINDOW[1], WINDOW[0]))


# -- customer value ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def value_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("value")
    ws = build_workspace(
        root,
        {"V1": ("S1", "ios"), "V2": ("S1", "ios")},
        [
            ("V1", "S1", "2025-12-01T00:00:00", 100.0),  # the first transaction of all
            ("V2", "S1", "2026-02-20T10:00:00", 30.0),
            ("V1", "S1", "2026-03-02T10:00:00", 999.0),  # during the exposure: not value
            ("V2", "S1", "2026-03-03T10:00:00", 10.0),
        ],
    )
    with ws.warehouse() as wh:  # V2 joined 15 days before the start
        wh.update("customers", {"customer_id": "V2"}, {"joined_at": D("2026-02-14")})
    return ws


def test_value_is_annualised_over_the_span_each_customer_was_observed(
    value_ws: Workspace,
) -> None:
    exposure = Exposure([{"store": "S1"}], *WINDOW)
    with value_ws.warehouse(read_only=True) as wh:
        full = revenue_at_risk(wh, value_ws.config, exposure)
        short = _config(value_window="30d")
        month = revenue_at_risk(wh, short, exposure)
    assert full.customers_affected == 2
    # history starts at the first transaction (Dec 1, 90 days before); V2 joined 15 days before
    assert full.customer_value == pytest.approx(130.0 / (90 + 15) * YEAR_DAYS)
    # a 30-day window leaves out V1's December spend
    assert month.customer_value == pytest.approx(30.0 / (30 + 15) * YEAR_DAYS)


def test_no_history_before_the_start_gives_no_revenue(value_ws: Workspace) -> None:
    exposure = Exposure([{"store": "S1"}], D("2025-11-01"), D("2025-12-02"))
    with value_ws.warehouse(read_only=True) as wh:
        result = revenue_at_risk(wh, value_ws.config, exposure)
    assert result.customers_affected == 1
    assert result.revenue_at_risk is None
    assert any("no transactions before the start" in n for n in result.notes)


# -- extra churn and basis selection ---------------------------------------------------------

OLD = Exposure([{"store": "S1"}], D("2026-01-01"), D("2026-01-05"), "x")  # c = 1/3
OTHER = Exposure([{"store": "S2"}], D("2026-01-10"), D("2026-01-12"), "y")
NOW = Exposure([{"store": "S1"}], D("2026-03-01"), D("2026-03-05"), "x")  # c = 1/4


def _churn_data() -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str, float]]]:
    """Three episodes. OLD: 4 exposed at S1, 2 churn; 4 control at S3, 1 churns. OTHER: 2
    exposed at S2, 1 churns; 2 control at S3, none churns. NOW: 5 exposed (E5 also visits S2),
    2 churn; 5 control at S3, 1 churns. Each E spent 20 on Feb 1; the data start on Dec 31."""
    visits = [("Z0", "S3", "2025-12-31T00:00:00", 1.0), ("F1", "S3", "2026-06-01T10:00:00", 5.0)]
    groups = [  # (customer prefix, count, store, time, retained, follow-up visit)
        ("J", 4, "S1", "2026-01-02T10:00:00", 2, "2026-02-10T10:00:00"),
        ("K", 4, "S3", "2026-01-03T10:00:00", 3, "2026-02-10T10:00:00"),
        ("L", 2, "S2", "2026-01-10T10:00:00", 1, "2026-02-20T10:00:00"),
        ("M", 2, "S3", "2026-01-11T10:00:00", 2, "2026-02-20T10:00:00"),
        ("E", 5, "S1", "2026-03-02T10:00:00", 3, "2026-04-10T10:00:00"),
        ("F", 5, "S3", "2026-03-03T10:00:00", 4, "2026-04-10T10:00:00"),
    ]
    customers = {"Z0": ("S3", "ios")}
    for prefix, count, store, at, retained, later in groups:
        for i in range(1, count + 1):
            who = f"{prefix}{i}"
            customers[who] = (store, "ios")
            visits.append((who, store, at, 10.0))
            if i <= retained:
                visits.append((who, store, later, 10.0))
            if prefix == "E":
                visits.append((who, store, "2026-02-01T10:00:00", 20.0))
    visits.append(("E5", "S2", "2026-03-03T11:00:00", 10.0))  # both: exposed, not control
    return customers, visits


@pytest.fixture(scope="module")
def churn_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build_workspace(tmp_path_factory.mktemp("churn"), *_churn_data())


def test_measure_counts_exposed_and_control_exactly(churn_ws: Workspace) -> None:
    with churn_ws.warehouse(read_only=True) as wh:
        now = measure_extra_churn(wh, churn_ws.config, NOW)
        old = measure_extra_churn(wh, churn_ws.config, OLD)
    assert now is not None and old is not None
    assert (now.exposed, now.exposed_churned, now.control, now.control_churned) == (5, 2, 5, 1)
    assert now.extra_churn == pytest.approx((0.4 - 0.2) / 0.8)
    assert now.follow_up_start == D("2026-04-02")
    assert now.follow_up_end == D("2026-04-02") + FOLLOW_UP
    assert (old.exposed, old.exposed_churned, old.control, old.control_churned) == (4, 2, 4, 1)
    assert old.extra_churn == pytest.approx(1 / 3)
    assert old.extra_churn_low < 1 / 3 < old.extra_churn_high


def test_incomplete_follow_up_gives_none(churn_ws: Workspace) -> None:
    late = Exposure([{"store": "S1"}], D("2026-04-20"), D("2026-04-25"))
    with churn_ws.warehouse(read_only=True) as wh:
        assert measure_extra_churn(wh, churn_ws.config, late) is None
        # everyone is exposed: nobody to compare with
        assert measure_extra_churn(wh, churn_ws.config, Exposure([{}], *WINDOW)) is None


def test_observed_basis_multiplies_customers_value_and_churn(churn_ws: Workspace) -> None:
    with churn_ws.warehouse(read_only=True) as wh:
        history = [measure_extra_churn(wh, churn_ws.config, e) for e in (OLD, OTHER)]
        result = revenue_at_risk(wh, churn_ws.config, NOW, history=[e for e in history if e])
        own = measure_extra_churn(wh, churn_ws.config, NOW)
    assert own is not None
    assert result.basis == "observed" and result.episodes == 1
    assert result.customers_affected == 5
    value = 20.0 / 60 * YEAR_DAYS  # 20 each over the 60 days since Dec 31
    assert result.customer_value == pytest.approx(value)
    assert result.extra_churn == pytest.approx(0.25)
    assert result.revenue_at_risk == pytest.approx(5 * value * 0.25)
    assert result.revenue_at_risk_low == pytest.approx(5 * value * max(own.extra_churn_low, 0))
    assert result.revenue_at_risk_high == pytest.approx(5 * value * own.extra_churn_high)
    assert json.loads(json.dumps(result.to_dict()))["basis"] == "observed"
    assert RevenueAtRisk.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_without_repeat_buyers_customers_are_valued_at_a_year_of_spend(tmp_path: Path) -> None:
    """A tiny workspace where nobody bought twice: no lifetime value can be fitted, so the
    incident falls back to a year of spend, and says so."""
    customers = {f"C{i}": ("S1", "ios") for i in range(4)} | {"Z0": ("S3", "android")}
    visits = [(f"C{i}", "S1", "2026-02-15T10:00:00", 30.0) for i in range(4)]
    visits.append(("Z0", "S3", "2026-01-01T00:00:00", 1.0))  # the data start on Jan 1
    ws = build_workspace(tmp_path, customers, visits)
    # the app failed for iOS: it reaches the iOS customers active in the 28 days before
    exposure = Exposure([{"platform": "ios"}], D("2026-03-02"), D("2026-03-03"))
    with ws.warehouse(read_only=True) as wh:
        result = revenue_at_risk(wh, ws.config, exposure)
    assert result.value_basis == "a year of spend"
    assert any("a year of spend" in n and "repeat buyers" in n for n in result.notes)
    # 30 each, observed for the 60 days since Jan 1 (the data's start), annualised
    assert result.customers_affected == 4
    assert result.customer_value == pytest.approx(30.0 / 60 * YEAR_DAYS)
    assert RevenueAtRisk.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_history_basis_prefers_the_same_indicator(churn_ws: Workspace) -> None:
    as_of = D("2026-04-15")  # after OLD's and OTHER's follow-up, before NOW's
    config = churn_ws.config
    with churn_ws.warehouse(read_only=True) as wh:
        old = measure_extra_churn(wh, config, OLD)
        other = measure_extra_churn(wh, config, OTHER)
        assert old is not None and other is not None
        same = revenue_at_risk(wh, config, NOW, history=[old, other], as_of=as_of)
        new_kind = Exposure(NOW.segments, NOW.start, NOW.end, "z")
        pooled_all = revenue_at_risk(wh, config, new_kind, history=[old, other], as_of=as_of)
    assert same.basis == "history" and same.episodes == 1
    assert same.extra_churn == pytest.approx(old.extra_churn)
    assert same.extra_churn_high == pytest.approx(old.extra_churn_high)
    pooled = pool_extra_churn([old, other])
    assert pooled is not None
    assert pooled_all.basis == "history" and pooled_all.episodes == 2
    assert pooled_all.extra_churn == pytest.approx(pooled.extra_churn)
    assert pooled_all.revenue_at_risk == pytest.approx(
        5 * pooled_all.customer_value * pooled.extra_churn
    )


def test_no_measured_history_gives_basis_none_and_null_revenue(churn_ws: Workspace) -> None:
    as_of = D("2026-03-20")  # before OLD's and OTHER's follow-up is complete
    with churn_ws.warehouse(read_only=True) as wh:
        measured = [measure_extra_churn(wh, churn_ws.config, e, as_of=as_of) for e in (OLD, OTHER)]
        assert measured == [None, None]
        result = revenue_at_risk(wh, churn_ws.config, NOW, history=[], as_of=as_of)
    assert result.basis == "none" and result.episodes == 0
    assert result.customers_affected == 5 and result.customer_value > 0
    assert result.extra_churn is None and result.extra_churn_low is None
    assert result.revenue_at_risk is None and result.revenue_at_risk_high is None


@pytest.fixture
def churn_scans(monkeypatch: pytest.MonkeyPatch) -> list[tuple[datetime, datetime]]:
    """The follow-up window of every churn measurement (the grouped count over transactions)."""
    calls: list[tuple[datetime, datetime]] = []
    count = revenue.churn_counts_of

    def counted(wh: Any, exposed: Any, control: Any, windows: Any) -> Any:
        calls.extend(windows)
        return count(wh, exposed, control, windows)

    monkeypatch.setattr(revenue, "churn_counts_of", counted)
    return calls


def test_stored_counts_price_without_measuring_again(
    churn_ws: Workspace, churn_scans: list[tuple[datetime, datetime]]
) -> None:
    """An effect rebuilt from its four counts is the measured one, and pricing with it, or
    pooling already-measured history, scans no churn again."""
    config = churn_ws.config
    with churn_ws.warehouse(read_only=True) as wh:
        old, other, own = (measure_extra_churn(wh, config, e) for e in (OLD, OTHER, NOW))
        assert old is not None and other is not None and own is not None
        assert churn_scans == [follow_up_window(config, e) for e in (OLD, OTHER, NOW)]
        counts = (own.exposed_churned, own.exposed, own.control_churned, own.control)
        stored = ChurnEffect.from_counts(counts, follow_up_window(config, NOW), NOW.indicator)
        assert stored == own
        churn_scans.clear()
        given = revenue_at_risk(wh, config, NOW, history=[old, other], effect=stored)
        new_kind = Exposure(NOW.segments, NOW.start, NOW.end, "z")
        pooled = revenue_at_risk(wh, config, new_kind, history=[old, other], effect=None)
        assert churn_scans == []
        measured = revenue_at_risk(wh, config, NOW, history=[old, other])  # measures its own
        assert churn_scans == [follow_up_window(config, NOW)]
        with pytest.raises(ValueError, match="another exposure"):
            revenue_at_risk(wh, config, NOW, effect=old)
    assert given == measured and given.basis == "observed"
    direct = pool_extra_churn([old, other])
    assert direct is not None and pooled.basis == "history" and pooled.episodes == 2
    assert pooled.extra_churn == pytest.approx(direct.extra_churn, abs=1e-15)
    assert pooled.extra_churn_low == pytest.approx(max(direct.prediction_low, 0.0), abs=1e-15)
    assert pooled.extra_churn_high == pytest.approx(direct.prediction_high, abs=1e-15)


def test_pool_history_prefers_the_same_indicator_else_pools_all() -> None:
    window = (D("2026-01-01"), D("2026-02-26"))
    x1 = ChurnEffect.from_counts((60, 300, 100, 1000), window, "x")
    x2 = ChurnEffect.from_counts((90, 300, 100, 1000), window, "x")
    y = ChurnEffect.from_counts((20, 300, 100, 1000), window, "y")
    assert pool_history([x1, y, x2], "x") == pool_extra_churn([x1, x2])
    assert pool_history([x1, y, x2], "y") == pool_extra_churn([y])
    assert pool_history([x1, y, x2], "z") == pool_extra_churn([x1, y, x2])
    assert pool_history([x1, y, x2]) == pool_extra_churn([x1, y, x2])  # no indicator: all
    assert pool_history([], "x") is None


# -- the estimator -------------------------------------------------------------------------


def test_extra_churn_is_the_excess_over_the_baseline_share() -> None:
    c, low, high = extra_churn_interval(40, 100, 20, 100)
    assert float(c) == pytest.approx(0.25)
    se = np.sqrt(0.4 / (100 * 0.6) + 0.2 / (100 * 0.8))  # Katz: p / (n r) per group
    assert float(low) == pytest.approx(1 - 0.75 * np.exp(1.959964 * se), rel=1e-6)
    assert float(high) == pytest.approx(1 - 0.75 * np.exp(-1.959964 * se), rel=1e-6)
    # a zero cell (nobody churned) still gives a finite interval
    c0, low0, high0 = extra_churn_interval(0, 30, 5, 100)
    assert np.isfinite([low0, high0]).all() and low0 < c0 < high0


@pytest.mark.parametrize(
    ("c", "baseline", "n_exposed", "n_control"),
    [(0.07, 0.12, 500, 10_000), (0.05, 0.15, 2_000, 8_000), (0.0, 0.12, 300, 3_000)],
)
def test_estimator_is_unbiased_and_its_interval_covers(
    c: float, baseline: float, n_exposed: int, n_control: int
) -> None:
    """Exposure makes a share c leave on top of an independent baseline churn."""
    rng = np.random.default_rng(20260301)
    reps = 4000
    k_e = rng.binomial(n_exposed, c + (1 - c) * baseline, reps)
    k_c = rng.binomial(n_control, baseline, reps)
    est, low, high = extra_churn_interval(k_e, n_exposed, k_c, n_control)
    assert abs(est.mean() - c) < 3 * est.std() / np.sqrt(reps) + 1e-4
    assert 0.935 <= ((low <= c) & (c <= high)).mean() <= 0.965
    if c > 0:  # the naive difference of shares misses c by the factor (1 - baseline)
        naive = (k_e / n_exposed - k_c / n_control).mean()
        assert naive == pytest.approx(c * (1 - baseline), abs=0.003)


def _effect(k_e: int, n_e: int, k_c: int, n_c: int) -> ChurnEffect:
    effect = ChurnEffect.from_counts((k_e, n_e, k_c, n_c), (D("2026-01-01"), D("2026-02-26")))
    r_e, r_c = 1 - k_e / n_e, 1 - k_c / n_c
    assert effect.log_retention == pytest.approx(np.log(r_e / r_c))
    assert effect.variance == pytest.approx((k_e / n_e) / (n_e * r_e) + (k_c / n_c) / (n_c * r_c))
    return effect


def test_pool_is_inverse_variance_when_episodes_agree() -> None:
    effects = [_effect(60, 300, 100, 1000), _effect(130, 600, 200, 2000)]
    pooled = pool_extra_churn(effects)
    assert pooled is not None and pooled.tau2 == 0.0 and pooled.episodes == 2
    w = np.array([1 / e.variance for e in effects])
    theta = np.array([e.log_retention for e in effects])
    mean = (w * theta).sum() / w.sum()
    assert pooled.extra_churn == pytest.approx(1 - np.exp(mean))
    assert pooled.prediction_low == pytest.approx(pooled.extra_churn_low)
    assert pool_extra_churn([]) is None


def test_random_effects_pool_widens_for_disagreeing_episodes_and_covers_the_mean() -> None:
    rng = np.random.default_rng(11)
    disagree = [_effect(30, 1000, 100, 1000), _effect(300, 1000, 100, 1000)]
    pooled = pool_extra_churn(disagree)
    assert pooled is not None and pooled.tau2 > 0
    assert pooled.prediction_high - pooled.prediction_low > (
        pooled.extra_churn_high - pooled.extra_churn_low
    )
    covered, reps = 0, 300
    for _ in range(reps):  # 10 episodes, each with its own c ~ U(3%, 10%), as in the demo
        cs = rng.uniform(0.03, 0.10, 10)
        n_e = rng.integers(100, 3000, 10)
        k_e = rng.binomial(n_e, cs + (1 - cs) * 0.12)
        k_c = rng.binomial(10_000, 0.12, 10)
        pooled = pool_extra_churn([_effect(*a, 10_000) for a in zip(k_e, n_e, k_c, strict=True)])
        assert pooled is not None
        weights = n_e / n_e.sum()  # what the pool targets: a size-weighted mean effect
        covered += pooled.extra_churn_low <= float(weights @ cs) <= pooled.extra_churn_high
    assert covered / reps >= 0.90


# -- planted truth -------------------------------------------------------------------------

INDICATOR = {
    "app_errors": "app_success",
    "queue_wait_minutes": "short_queue",
    "rx_fill_minutes": "rx_on_time",
    "out_of_stock_rate": "in_stock",
}
LEVEL = {"R": "region", "D": "district", "S": "store"}


def exposure_of(incident: dict[str, Any]) -> Exposure:
    """The Exposure of a planted incident: queue incidents one segment per store."""
    if incident["metric"] == "queue_wait_minutes":
        segments = [{"store": s} for s in incident["units"]]
    else:
        segments = [{**incident["segment"], LEVEL[u[0]]: u} for u in incident["units"]]
    start = D(incident["start"])
    end = D(incident["end"]) + timedelta(days=1)
    return Exposure(segments, start, end, INDICATOR[incident["metric"]])


def measure_demo(root: Path, stores: int, seed: int) -> list[dict[str, Any]]:
    """Run the demo; per planted incident its truth, Exposure and what this module makes of it."""
    from earnright.services.demo import run_demo

    run = run_demo(root, stores=stores, seed=seed, loyalty_lapse=False)
    truth = json.loads(run.truth.read_text())
    ws = find_workspace(run.workspace)
    exposures = [exposure_of(i) for i in truth["incidents"]]
    rows = []
    with ws.warehouse(read_only=True) as wh:
        measured = [measure_extra_churn(wh, ws.config, e) for e in exposures]
        history = [e for e in measured if e is not None]
        for incident, exposure in zip(truth["incidents"], exposures, strict=True):
            rows.append(
                {
                    **incident,
                    "data": run.truth.parent,
                    "workspace": run.workspace,
                    "exposure": exposure,
                    "affected": int(affected_customers(wh, ws.config, exposure).count().execute()),
                    "effect": measure_extra_churn(wh, ws.config, exposure),
                    "risk": revenue_at_risk(wh, ws.config, exposure, history=history),
                }
            )
    return rows


@pytest.fixture(scope="module")
def demo60(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return measure_demo(tmp_path_factory.mktemp("demo"), stores=60, seed=7)


@pytest.fixture(scope="module")
def demo200(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return measure_demo(tmp_path_factory.mktemp("demo200"), stores=200, seed=11)


def _check_affected(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        ratio = row["affected"] / row["customers_exposed"]
        if "platform" in row["segment"]:
            # truth: every not-yet-lapsed customer of the platform; the warehouse sees those
            # active in the 90 days (active_window) up to the end: 95-97% measured
            assert 0.9 <= ratio <= 1.05, (row["id"], ratio)
        else:  # a visit at an affected store in the window, as the generator exposes them
            assert row["affected"] == row["customers_exposed"], row["id"]


@pytest.mark.slow
def test_demo_affected_customers_match_the_planted_exposure(demo60: list[dict[str, Any]]) -> None:
    _check_affected(demo60)


@pytest.mark.slow
def test_demo_extra_churn_recovers_the_planted_effect(demo60: list[dict[str, Any]]) -> None:
    measured = [r for r in demo60 if r["effect"] is not None]
    assert len(measured) == 3  # INC04's follow-up runs past the data
    for row in measured:
        effect = row["effect"]
        assert effect.extra_churn_low <= row["churn_effect"] <= effect.extra_churn_high, row["id"]
        assert row["risk"].basis == "observed"
        assert row["risk"].revenue_at_risk > 0
    late = next(r for r in demo60 if r["effect"] is None)
    assert late["risk"].basis == "history"  # no rx episode measured: falls back to all three
    assert late["risk"].episodes == 3
    assert late["risk"].revenue_at_risk_low <= late["risk"].revenue_at_risk


def _demo_affected(row: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    """The demo's transactions (naive UTC) and the customers an incident hit, with pandas."""
    tx = pd.read_parquet(row["data"] / "transactions.parquet")
    tx["occurred_at"] = tx.occurred_at.dt.tz_localize(None)  # naive UTC, as in the warehouse
    start, end = row["exposure"].start, row["exposure"].end
    stores = row["stores"]
    hit = tx[tx.unit_id.isin(stores) & (tx.occurred_at >= start) & (tx.occurred_at < end)]
    return tx, hit.customer_id.unique()


@pytest.mark.slow
def test_demo_incidents_are_priced_at_lifetime_value_computed_independently(
    demo60: list[dict[str, Any]],
) -> None:
    """The demo has thousands of repeat buyers: each incident's customers are valued at their
    lifetime value on the day it began; recompute it from the files with pandas (summaries)
    and the published formulas (scoring) on the fit of every purchase up to the data's end."""
    from earnright.customers.lifetime import score_customers

    row = next(r for r in demo60 if r["metric"] == "out_of_stock_rate" and r["effect"])
    tx, who = _demo_affected(row)
    with find_workspace(row["workspace"]).warehouse(read_only=True) as wh:
        fit = value.customer_lifetime_values(wh, tx.occurred_at.max())
    cut = pd.Timestamp(row["exposure"].start).normalize()
    days = tx[tx.customer_id.isin(who) & (tx.occurred_at < cut)].assign(
        day=lambda f: f.occurred_at.dt.normalize()
    )
    daily = days.groupby(["customer_id", "day"], as_index=False).amount.sum()
    per = daily.sort_values("day").groupby("customer_id").agg(
        first=("day", "min"), last=("day", "max"), n=("day", "size"),
        total=("amount", "sum"), first_spend=("amount", "first"),
    ).reindex(who)  # fmt: skip
    x = per.n.fillna(1).to_numpy() - 1
    week = pd.Timedelta(days=7)
    summaries = pd.DataFrame(
        {
            "x": x,
            "t_x": ((per["last"] - per["first"]) / week).fillna(0).to_numpy(),
            "T": ((cut - pd.Timedelta(days=1) - per["first"]) / week).fillna(0).to_numpy(),
            "m": np.where(x > 0, (per.total - per.first_spend).fillna(0) / np.maximum(x, 1), 0),
        }
    )
    assert (summaries.x > 0).sum() > 100 and summaries.x.eq(0).any()  # both kinds scored
    ltv = score_customers(summaries, fit.bg.values, fit.gg.values, months=36, discount=0.01).ltv
    risk = row["risk"]
    assert risk.value_basis == "lifetime value"
    assert any("lifetime value" in note for note in risk.notes)
    assert risk.customers_affected == len(who)
    assert risk.customer_value == pytest.approx(ltv.mean(), rel=1e-6)
    assert risk.revenue_at_risk == pytest.approx(len(who) * ltv.mean() * risk.extra_churn, rel=1e-6)


@pytest.mark.slow
def test_demo_year_of_spend_matches_a_direct_computation(demo60: list[dict[str, Any]]) -> None:
    """The fallback basis (a year of spend) of one incident, recomputed with pandas."""
    row = next(r for r in demo60 if r["metric"] == "out_of_stock_rate")
    tx, who = _demo_affected(row)
    customers = pd.read_parquet(row["data"] / "customers.parquet").set_index("customer_id")
    customers["joined_at"] = customers.joined_at.dt.tz_localize(None)
    start = row["exposure"].start
    lo = max(start - timedelta(days=365), tx.occurred_at.min())
    before = tx[tx.customer_id.isin(who) & (tx.occurred_at >= lo) & (tx.occurred_at < start)]
    first = before.groupby("customer_id").occurred_at.min().reindex(who)
    joined = customers.joined_at.reindex(who)
    since = np.maximum(np.fmin(joined, first).fillna(lo), lo)
    years = (start - since).dt.total_seconds().clip(lower=0).sum() / (YEAR_DAYS * 86_400)
    with find_workspace(row["workspace"]).warehouse(read_only=True) as wh:
        config = find_workspace(row["workspace"]).config
        exposed = affected_customers(wh, config, row["exposure"])
        n, spend = value.customer_value(
            wh, exposed, start, window=timedelta(days=365), first=tx.occurred_at.min()
        )
    assert n == len(who)
    assert spend == pytest.approx(before.amount.sum() / years, rel=1e-9)


@pytest.mark.slow
def test_larger_demo_covers_most_planted_effects_and_the_pooled_mean(
    demo200: list[dict[str, Any]],
) -> None:
    _check_affected(demo200)
    measured = [r for r in demo200 if r["effect"] is not None]
    assert len(measured) >= 10
    covered = [
        r["effect"].extra_churn_low <= r["churn_effect"] <= r["effect"].extra_churn_high
        for r in measured
    ]
    assert sum(covered) >= len(measured) - 2
    pooled = pool_extra_churn([r["effect"] for r in measured])
    assert pooled is not None
    mean = float(np.mean([r["churn_effect"] for r in measured]))
    assert pooled.extra_churn_low <= mean <= pooled.extra_churn_high


# -- many terms in one scan ----------------------------------------------------------------


def test_tagged_terms_find_each_terms_customers_from_one_scan(dims_ws: Workspace) -> None:
    """Every term of the segments above, their control terms and a few built by hand (hours
    across midnight, every unit but some, no unit at all), tagged and found together, are each
    term's own customers (:func:`revenue.term_customers`, one filtered scan per term)."""
    segments = [
        [{"store": "S1"}],
        [{"district": "D1"}],
        [{"region": "R2"}],
        [{"store": "S1"}, {"store": "S2"}],
        [{"daypart": "evening", "district": "D1"}],
        [{"daypart": "morning"}],
        [{"platform": "android", "region": "R1"}],
        [{"platform": "android"}],
        [{"platform": "null"}],
        [{}],
        [{"store": "S1", "region": "R2"}],
    ]
    start, end = WINDOW
    terms: list[Any] = [
        revenue.Term(start, end, hours=((18, 9),)),  # across midnight: 18:00 to 09:00
        revenue.Term(start, end, ("S1",), True, hours=((9, 19),)),
        revenue.Term(D("2026-01-01"), end, ("S2", "S3"), True, (("platform", "android"),)),
        revenue.Term(start, end, ()),  # no unit: nobody
        revenue.Term(start, end, (), True),  # every unit but none: everyone
    ]
    with dims_ws.warehouse(read_only=True) as wh:
        for segment in segments:
            found = revenue.resolve_terms(wh, dims_ws.config, Exposure(segment, *WINDOW))[0]
            terms += [*found, *revenue.control_terms(found)]
        tagged = revenue.tagged_active(wh, list(enumerate(terms))).to_pandas()
        for k, term in enumerate(terms):
            alone = sorted(revenue.term_customers(wh, term).to_pandas().customer_id)
            assert sorted(tagged[tagged["_k"] == k].customer_id) == alone, term
    assert len(tagged) == len(tagged.drop_duplicates())
    assert tagged["_k"].nunique() >= 20  # most terms found someone: the comparison is not empty


def test_churn_counts_of_tagged_terms_are_the_groups_counts(churn_ws: Workspace) -> None:
    """The churn counts of many exposures from their tagged terms are those of
    :func:`earnright.customers.churn_counts` over each exposure's own exposed and control
    tables (the per-exposure queries they replace)."""
    config = churn_ws.config
    exposures = [OLD, OTHER, NOW, Exposure([{"store": "S1"}, {"district": "D1"}], *WINDOW)]
    with churn_ws.warehouse(read_only=True) as wh:
        groups, exposed, control, windows = [], [], [], []
        for k, exposure in enumerate(exposures):
            terms = revenue.resolve_terms(wh, config, exposure)[0]
            hit = revenue.union_distinct([revenue.term_customers(wh, t) for t in terms])
            rest = revenue.control_terms(terms)
            window = follow_up_window(config, exposure)
            groups.append(
                (hit, revenue.union_distinct([revenue.term_customers(wh, t) for t in rest]), window)
            )
            exposed += [(k, t) for t in terms]
            control += [(k, t) for t in rest]
            windows.append(window)
        assert revenue.churn_counts_of(wh, exposed, control, windows) == value.churn_counts(
            wh, groups
        )

"""The value of an effect in revenue: effect × the unit's point value, Goodman's interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from earnright.accountability.value import product_interval, value_effects
from earnright.config import Config


def test_product_interval_covers_the_planted_value() -> None:
    """Planted: an effect of 6 points estimated with sd 2 (a worked effect), a point value of
    1,000 estimated with sd 200. Goodman's sd is the simulated product's, and the interval
    around the estimated product covers the true 6,000 about 95% of the time."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(6, 2, 200_000), rng.normal(1000, 200, 200_000)
    est, low, high = product_interval(
        np.array([6.0]), np.array([2.0]), np.array([1000.0]), np.array([200.0]), 0.95
    )
    assert est[0] == 6000.0
    assert (high[0] - low[0]) / (2 * 1.959964) == pytest.approx((x * y).std(), rel=0.01)
    _, lows, highs = product_interval(x, np.full_like(x, 2.0), y, np.full_like(y, 200.0), 0.95)
    assert 0.93 <= ((lows <= 6000) & (highs >= 6000)).mean() <= 0.97


def test_nps_and_driver_effects_take_their_units_point_value() -> None:
    config = Config.model_validate({})
    nps = config.question_of_kind("nps")
    driver = config.question("q_wait")  # a driver by the driver prefix
    assert nps is not None and driver is not None
    frame = pd.DataFrame(
        {
            "action_id": ["A1", "A2", "A3", "A4"],
            "unit_id": ["S1", "S2", "S1", "S9"],
            "metric": ["nps", driver.id, "retention", "nps"],
            "effect": [5.0, -2.0, 3.0, 5.0],
            "effect_low": [1.0, -4.0, 1.0, 1.0],
            "effect_high": [9.0, 0.0, 5.0, 9.0],
        }
    )
    points = pd.DataFrame(
        {
            "question": [nps.id, driver.id, nps.id],
            "unit_id": ["S1", "S2", "all"],
            "moment": ["all", "all", "all"],
            "value": [1000.0, 500.0, 800.0],
            "value_low": [1000.0, 500.0, 700.0],
            "value_high": [1000.0, 500.0, 900.0],
        }
    )
    got = value_effects(frame, points, config, 0.95).set_index("action_id")
    assert got.loc["A1", "value"] == 5000.0
    z = 1.959964
    assert got.loc["A1", "value_low"] == pytest.approx(5000 - z * 1000 * 4 / z)
    assert got.loc["A2", "value"] == -1000.0
    assert got[["value", "value_low"]].loc[["A3", "A4"]].isna().all().all()
    assert got.loc["A1", "value_note"] == ""
    assert got.loc["A3", "value_note"].startswith("not valued: no customers")
    assert got.loc["A4", "value_note"].startswith("not valued: no point value")


def test_spend_and_retention_effects_are_priced_over_the_horizon() -> None:
    """Spend: 2.0 a customer-week × 80 customer-weeks over 8 weeks (10 a week) × 180/7 weeks;
    the count is exact, so the interval scales. Retention: −5 points × a base of 40,000 of
    lifetime value known to ±1,000 (se): Goodman's interval."""
    from earnright.accountability.value import HORIZON_DAYS, retention_bases

    config = Config.model_validate({})
    frame = pd.DataFrame(
        {
            "action_id": ["A1", "A2", "A3"],
            "unit_id": ["S1", "S2", "S3"],
            "metric": ["spend", "retention", "csat"],
            "effect": [2.0, -5.0, 4.0],
            "effect_low": [0.5, -8.0, 1.0],
            "effect_high": [3.5, -2.0, 7.0],
            "post_n": [80, 400, 50],
        }
    )
    bases = pd.DataFrame({"action_id": ["A2"], "unit_id": ["S2"], "customers": [100],
                          "ltv": [40_000.0], "ltv_se": [1_000.0]})  # fmt: skip
    got = value_effects(frame, None, config, 0.95, bases).set_index("action_id")
    weeks = HORIZON_DAYS / 7
    assert got.loc["A1", "value"] == pytest.approx(2.0 * 10 * weeks)
    assert got.loc["A1", "value_low"] == pytest.approx(0.5 * 10 * weeks)
    est, low, high = product_interval(
        np.array([-0.05]), np.array([0.03 / 1.959964]), np.array([40_000.0]),
        np.array([1_000.0]), 0.95,
    )  # fmt: skip
    assert got.loc["A2", "value"] == pytest.approx(-2000.0) == pytest.approx(est[0])
    assert (got.loc["A2", "value_low"], got.loc["A2", "value_high"]) == pytest.approx(
        (low[0], high[0])
    )
    assert np.isnan(got.loc["A3", "value"])  # no bridge from CSAT to revenue, said in words
    assert got.loc["A3", "value_note"] == "not valued: CSAT has no bridge to revenue"
    assert got.loc[["A1", "A2"], "value_note"].eq("").all()
    values = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "home_unit_id": ["S1", "S1", "S2"],
                           "ltv": [10.0, 30.0, 5.0]})  # fmt: skip
    homes = pd.DataFrame({"home_unit_id": ["S1", "S2"], "unit_id": ["D1", "D1"]})
    (row,) = retention_bases(values, homes).itertuples()
    assert (row.unit_id, row.customers, row.ltv) == ("D1", 3, 45.0)
    assert row.ltv_se == pytest.approx(np.sqrt(3) * np.std([10.0, 30.0, 5.0], ddof=1))

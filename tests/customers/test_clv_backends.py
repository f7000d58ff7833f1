"""`earnright clv` on every warehouse backend: the workspace's customers fitted on DuckDB and on
PostgreSQL give the fit of the same transactions read from their file, and
:func:`customer_lifetime_values` (what revenue at risk and loyalty price a customer with) adds up
to the per-unit values of the command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import earnright
from earnright.api.customers import clv_table
from earnright.customers.value import customer_lifetime_values
from tests.customers.test_assets import build


def shop(seed: int = 7) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, float]]]:
    """120 customers of three stores, each buying on random days of 2025 at their own rate."""
    rng = np.random.default_rng(seed)
    people, visits = [], []
    for i in range(120):
        cid, first = f"C{i:03d}", int(rng.integers(0, 300))
        people.append((cid, f"S{i % 3 + 1}", "2020-01-01", "a"))
        days = {first, *(first + rng.integers(0, 365 - first, rng.poisson(rng.gamma(1.0, 4.0))))}
        for day in sorted(days):
            at = pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(day), hours=10)
            visits.append((cid, at.isoformat(), round(float(rng.gamma(4.0, 10.0)), 2)))
    return people, visits


def test_clv_is_the_same_on_every_backend(tmp_path: Path, warehouse_url: str) -> None:
    people, visits = shop()
    ws = build(tmp_path, people, visits, url=warehouse_url)
    out = earnright.open_workspace(ws.root).clv(level="store", draws=0).to_dict()
    ref = clv_table(tmp_path / "transactions.csv", draws=0).to_dict()
    assert out["customers"] == ref["customers"] == 120
    for fit in ("params", "gamma_gamma"):
        assert out[fit] == pytest.approx(ref[fit], rel=1e-5)
    units = pd.DataFrame(out["units"])
    assert list(units.unit_id) == ["S1", "S2", "S3"]
    assert units.clv_total.sum() == pytest.approx(ref["units"][0]["clv_total"], rel=1e-5)
    with ws.warehouse() as wh:
        values = customer_lifetime_values(wh)
    per = values.per_unit()
    assert len(values.frame) == 120 and values.frame.ltv.gt(0).all()
    assert per.ltv.to_numpy() == pytest.approx(units.clv_total.to_numpy(), rel=1e-5)
    assert per.alive.to_numpy() == pytest.approx((units.alive * units.customers).to_numpy())

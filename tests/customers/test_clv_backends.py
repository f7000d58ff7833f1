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
from tests.customers.test_assets import NEW, build


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


def test_the_ledger_flows_carry_their_lifetime_value(tmp_path: Path) -> None:
    """gained_ltv and reactivated_ltv: the customers' value as of the data's end; lost_ltv: the
    value each carried at their last purchase, rebuilt here customer by customer."""
    from earnright.customers.clv import discounted_purchases, expected_spend

    people, visits = shop(seed=3)
    people = [(c, home, NEW, seg) for c, home, _, seg in people]
    ws = build(tmp_path, people, visits, lapse_after_days=30)
    frame = earnright.open_workspace(ws.root).assets(level="company").to_frame()
    with ws.warehouse() as wh:
        values = customer_lifetime_values(wh)
    ltv = dict(zip(values.frame.customer_id, values.frame.ltv, strict=True))
    bg, gg = values.bg.values, values.gg.values
    want: dict[str, dict[str, float]] = {}
    sales = pd.DataFrame(visits, columns=["customer_id", "at", "amount"])
    sales["day"] = pd.to_datetime(sales["at"]).dt.normalize()
    end = sales.day.max()
    for cid, own in sales.groupby("customer_id"):
        days = own.groupby("day").amount.sum()
        for i, (day, _) in enumerate(days.items()):
            month = f"{day:%Y-%m}"
            if i == 0 or (day - days.index[i - 1]).days > 30:
                col = "gained_ltv" if i == 0 else "reactivated_ltv"
                want.setdefault(month, {}).setdefault(col, 0.0)
                want[month][col] += ltv[cid]
            gone = day + pd.Timedelta(days=30)
            if (i + 1 == len(days) or days.index[i + 1] > gone) and gone <= end:
                x, age = i, (day - days.index[0]).days / 7
                m = (days.iloc[: i + 1].sum() - days.iloc[0]) / x if x else 0.0
                one = (np.array([x]), np.array([age]), np.array([age]))
                found = discounted_purchases(bg, one) * expected_spend(gg, one[0], np.array([m]))
                want.setdefault(f"{gone:%Y-%m}", {}).setdefault("lost_ltv", 0.0)
                want[f"{gone:%Y-%m}"]["lost_ltv"] += float(found[0])
    for row in frame.itertuples():
        for col in ("gained_ltv", "reactivated_ltv", "lost_ltv"):
            expected = want.get(row.period, {}).get(col, 0.0)
            assert getattr(row, col) == pytest.approx(expected, rel=1e-6, abs=0.01), (row, col)
    assert frame.lost_ltv.sum() > 0 and frame.reactivated_ltv.sum() > 0


def test_without_repeat_buyers_the_ledger_says_why_its_values_are_empty(tmp_path: Path) -> None:
    people = [("C1", "S1", NEW, "a"), ("C2", "S2", NEW, "a")]
    visits = [("C1", "2026-01-10T10:00:00", 40.0), ("C2", "2026-03-12T10:00:00", 5.0)]
    result = earnright.open_workspace(build(tmp_path, people, visits).root).assets()
    assert result.to_frame().gained_ltv.isna().all()
    assert any("no lifetime values in the ledger" in n for n in result.notes)


def test_the_probability_alive_lapse_follows_the_fitted_model(
    tmp_path: Path, warehouse_url: str
) -> None:
    """lapse_rule = "p_alive": after a purchase that made x repeat purchases t_x weeks after the
    first, a customer is lost once silent 7 (α + t_x) (((b + x − 1)/a)^(1/(r + x)) − 1) days
    (the fixed lapse for one-time buyers); rebuilt here customer by customer."""
    people, visits = shop(seed=3)
    people = [(c, home, NEW, seg) for c, home, _, seg in people]
    ws = build(tmp_path, people, visits, lapse_after_days=60, lapse_rule="p_alive",
               url=warehouse_url)  # fmt: skip
    frame = earnright.open_workspace(ws.root).assets(level="company").to_frame()
    with ws.warehouse() as wh:
        r, alpha, a, b = customer_lifetime_values(wh).bg.values
    sales = pd.DataFrame(visits, columns=["customer_id", "at", "amount"])
    sales["day"] = pd.to_datetime(sales["at"]).dt.normalize()
    end, want = sales.day.max(), pd.DataFrame(0, index=frame.period, columns=["lost", "reac"])
    for _, own in sales.groupby("customer_id"):
        days = sorted(own.day.unique())
        for i, day in enumerate(days):
            weeks = (day - days[0]).days / 7
            lapse = 60 if i == 0 else max(
                int(np.floor(7 * (alpha + weeks) * (((b + i - 1) / a) ** (1 / (r + i)) - 1))), 0
            )  # fmt: skip
            gone = day + pd.Timedelta(days=lapse)
            if i + 1 < len(days) and days[i + 1] <= gone:
                continue
            if gone <= end:
                want.loc[f"{gone:%Y-%m}", "lost"] += 1
            if i + 1 < len(days):
                want.loc[f"{days[i + 1]:%Y-%m}", "reac"] += 1
    assert frame.lost.tolist() == want.lost.tolist()
    assert frame.reactivated.tolist() == want.reac.tolist()
    assert frame.lost.sum() > 10 and frame.reactivated.sum() > 5
    assert ((frame.start + frame.gained + frame.reactivated - frame.lost) == frame.end).all()

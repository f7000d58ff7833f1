"""Behavioural loyalty: the groups, adjusted differences and values of a point recover the
effects the demo plants (``earnright.demo.loyalty``), and the statistics match references."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from earnright.api import open_workspace
from earnright.cli import app
from earnright.customers.loyalty import adjusted_differences, answer_groups
from earnright.demo.generate import generate_company
from earnright.ingest import ingest_file
from earnright.services.demo import FILES, demo_config
from earnright.workspace import init_workspace


def demo_workspace(out: Path, seed: int, stores: int = 12, months: int = 24) -> Path:
    """The demo company generated and ingested (no detection or report)."""
    generate_company(out / "data", stores=stores, months=months, seed=seed)
    ws = init_workspace(out, demo_config())
    with ws.warehouse() as wh:
        for kind, name in FILES:
            ingest_file(wh, ws.config, kind, out / "data" / name)
    return out


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = demo_workspace(tmp_path_factory.mktemp("loyalty") / "ws", seed=1)
    truth = json.loads((out / "data" / "truth.json").read_text())["loyalty"]
    return out, truth


@pytest.fixture(scope="module")
def result(company: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = open_workspace(company[0]).loyalty().to_dict()
    return data


def _nps_rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["group"]: r for r in result["groups"] if r["question"] == "ltr"}


def test_groups_count_exactly_the_planted_respondents(
    company: tuple[Path, dict[str, Any]], result: dict[str, Any]
) -> None:
    """n, retention and spend per NPS group equal the generator's own tally of first
    responses with 180 days of follow-up (same window, same retention rule)."""
    truth = company[1]["groups"]
    rows = _nps_rows(result)
    for group, planted in truth.items():
        assert rows[group]["n"] == planted["n"] > 100
        assert rows[group]["retained"] == pytest.approx(planted["retained"], abs=1e-6)
        assert rows[group]["spend"] == pytest.approx(planted["spend"], rel=1e-6)
        assert rows[group]["retained_low"] < rows[group]["retained"] < rows[group]["retained_high"]
    assert result["left_out"] > 0
    assert result["respondents"] >= sum(r["n"] for r in rows.values())  # some gave no ltr


def test_the_plant_does_what_it_says(company: tuple[Path, dict[str, Any]]) -> None:
    """Detractors lose retention; promoters spend PROMOTER_SPEND_LIFT more after answering."""
    truth = company[1]
    groups = truth["groups"]
    assert groups["detractor"]["retained_effect"] < -0.05
    assert groups["passive"]["retained_effect"] == 0 == groups["promoter"]["retained_effect"]
    before = groups["promoter"]["spend"] - groups["promoter"]["spend_effect"]
    lift = groups["promoter"]["spend_effect"] / before
    assert lift == pytest.approx(truth["promoter_spend_lift"], abs=2e-3)


def test_adjusted_differences_cover_the_planted_effects(
    company: tuple[Path, dict[str, Any]], result: dict[str, Any]
) -> None:
    rows = _nps_rows(result)
    for group, planted in company[1]["difference_from_promoters"].items():
        for outcome in ("retained", "spend"):
            low, high = rows[group][f"{outcome}_diff_low"], rows[group][f"{outcome}_diff_high"]
            assert low <= planted[outcome] <= high, (group, outcome, low, planted, high)
    assert rows["detractor"]["retained_diff_high"] < 0  # the effect is found, not just covered


def test_value_of_a_point_covers_the_planted_value(
    company: tuple[Path, dict[str, Any]], result: dict[str, Any]
) -> None:
    """Chain: one NPS point per customer = (promoter − detractor spend effect) / 100."""
    planted = -company[1]["difference_from_promoters"]["detractor"]["spend"] / 100
    values = [v for v in result["point_values"] if v["question"] == "ltr"]
    chain = next(v for v in values if v["unit_id"] == "all" and v["moment"] == "all")
    assert chain["per_customer_low"] <= planted <= chain["per_customer_high"]
    assert chain["per_customer_low"] > 0
    stores = [v for v in values if v["unit_id"] != "all" and v["moment"] == "all"]
    assert len(stores) == 12
    for v in stores:  # shrunk: every store between its raw value and the chain, or near
        assert v["per_customer_low"] < v["per_customer"] < v["per_customer_high"]
        assert v["value"] == pytest.approx(v["per_customer"] * v["customers"])
    raw = np.array([v["raw"] for v in stores if v["raw"] is not None])
    shrunk = np.array([v["per_customer"] for v in stores if v["raw"] is not None])
    assert shrunk.std() < raw.std()
    assert {v["moment"] for v in values} > {"all"}


def test_adjusted_differences_equal_dummy_regression() -> None:
    """Within-store demeaning gives the least-squares coefficients of an explicit store-dummy
    regression (Frisch-Waugh-Lovell), and recovers a planted effect."""
    rng = np.random.default_rng(3)
    n = 4000
    store = rng.integers(0, 8, n)
    x = rng.normal(size=(n, 2)) + store[:, None] * 0.3
    d = (rng.uniform(size=n) < 0.2 + 0.05 * store).astype(float)
    y = -2.0 * d + x @ np.array([1.0, -0.5]) + store * 1.5 + rng.normal(size=n)
    beta, se = adjusted_differences(y, d[:, None], x, store)
    dummies = (store[:, None] == np.arange(8)).astype(float)
    full = np.linalg.lstsq(np.column_stack([d, x, dummies]), y, rcond=None)[0]
    assert beta[0] == pytest.approx(full[0], abs=1e-9)
    assert abs(beta[0] + 2.0) < 1.96 * se[0] * 1.5
    assert 0.02 < se[0] < 0.06


def test_answer_groups() -> None:
    import pandas as pd

    ltr = pd.Series([0, 6, 7, 8, 9, 10, None])
    assert list(answer_groups(ltr, "nps", (0, 10))) == [
        "detractor", "detractor", "passive", "passive", "promoter", "promoter", None,
    ]  # fmt: skip
    box = pd.Series([1, 2, 3, 4, 5])
    assert list(answer_groups(box, "driver", (1, 5))) == [
        "bottom", "bottom", "middle", "top", "top",
    ]  # fmt: skip


def test_cli_json_is_the_api_result(
    company: tuple[Path, dict[str, Any]], result: dict[str, Any]
) -> None:
    run = CliRunner().invoke(app, ["loyalty", "--workspace", str(company[0]), "--format", "json"])
    assert run.exit_code == 0, run.output
    printed = json.loads(run.stdout)
    assert len(printed["groups"]) == len(result["groups"])
    for got, want in zip(printed["groups"], result["groups"], strict=True):  # sums: last bits
        assert got.keys() == want.keys()
        for key, value in want.items():
            same = value == got[key] or got[key] == pytest.approx(value, rel=1e-9)
            assert same, (key, got[key], value)
    assert printed["left_out"] == result["left_out"]
    table = CliRunner().invoke(app, ["loyalty", "--workspace", str(company[0]), "--values"])
    assert table.exit_code == 0 and "per_customer" in table.stdout


def test_focus_sorted_by_worth_prices_items_with_the_stores_value(
    company: tuple[Path, dict[str, Any]], result: dict[str, Any]
) -> None:
    lists = open_workspace(company[0]).focus(every=True, sort="worth").lists
    values = {
        v["unit_id"]: v["value"]
        for v in result["point_values"]
        if v["question"] == "ltr" and v["moment"] == "all"
    }
    items = [(f.unit_id, i) for f in lists for i in f.items]
    assert items
    for unit, item in items:
        assert item.expected_nps_gain is not None and item.worth is not None
        assert item.worth == pytest.approx(item.expected_nps_gain * values[unit])
    totals = [sum(i.worth or 0.0 for i in f.items) for f in lists]
    assert totals == sorted(totals, reverse=True)


SMALL = {
    "units": "unit_id,name,level,parent_id\nC,Co,company,\nR,R,region,C\nD,D,district,R\n"
    "S1,A,store,D\nS2,B,store,D\n",
    "customers": "customer_id,home_unit_id,joined_at\nc1,S1,2025-01-01\nc2,S1,2025-01-01\n"
    "c3,S2,2025-01-01\nc4,S2,2025-01-01\n",
    "transactions": "transaction_id,customer_id,unit_id,occurred_at,amount\n"
    "t0,c1,S1,2025-01-05,10\nt1,c1,S1,2025-03-01,20\nt2,c2,S1,2025-01-06,5\n"
    "t3,c3,S2,2025-01-07,7\nt4,c3,S2,2025-05-20,8\nt5,c1,S1,2025-12-30,9\n",
    "feedback": "response_id,unit_id,responded_at,customer_id,channel,ltr\n"
    "r1,S1,2025-01-05T12:00,c1,survey,10\nr2,S1,2025-01-06T12:00,c2,survey,3\n"
    "r3,S2,2025-01-07T12:00,c3,survey,8\nr4,S2,2025-12-21T00:00,c3,survey,2\n"
    "r5,S2,2025-12-22T00:00,c4,survey,9\nr6,S2,2025-01-08T00:00,,survey,0\n",
}


def test_small_messy_data_by_hand(tmp_path: Path) -> None:
    """Four customers: c1 a promoter who bought 20 in the window but nothing in its last 90
    days; c2 a detractor who never came back; c3 a passive whose later detractor answer does
    not count, who bought again on day 133 (retained); c4 answered too late (left out); r6 is
    anonymous."""
    from earnright.api import create_workspace

    ws = create_workspace(tmp_path / "ws")
    for kind, text in SMALL.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text)
        ws.ingest(kind, path)
    data = ws.loyalty().to_dict()
    assert (data["respondents"], data["left_out"], data["as_of"]) == (3, 1, "2025-12-30")
    rows = {r["group"]: r for r in data["groups"] if r["question"] == "ltr"}
    got = {g: (r["n"], r["retained"], r["spend"]) for g, r in rows.items()}
    assert got == {"promoter": (1, 0.0, 20.0), "passive": (1, 1.0, 8.0), "detractor": (1, 0.0, 0.0)}
    assert data["point_values"] == []  # too few respondents to compare


def test_every_level_priced_from_one_respondents_pass_gives_its_own_values(
    company: tuple[Path, dict[str, Any]],
) -> None:
    """A respondents pass shared by the levels (the site prices every level with one) keeps
    each question's chain and the active customers per home unit: every level's point values
    and customers are those of the same respondents asked afresh, to the last digit, and a
    level whose units leave respondents out fits a chain of its own."""
    from dataclasses import replace

    import pandas as pd

    from earnright.customers.loyalty import respondent_summaries
    from earnright.customers.pointvalue import active_customers, point_values
    from earnright.units import read_units, unit_ancestors

    ws = open_workspace(company[0])
    levels = ws.config.units.levels
    with ws.warehouse() as wh:
        units, shared = read_units(wh), respondent_summaries(wh, ws.config)
        mappings = []
        for level in reversed(levels):
            anc = unit_ancestors(units, levels, level)
            mappings.append(anc[["unit_id", "ancestor_id"]].rename(
                columns={"unit_id": "home_unit_id", "ancestor_id": "unit_id"}))  # fmt: skip
        stores = mappings[0]  # one store left out: its respondents are not in the chain
        mappings.append(stores[stores.home_unit_id != stores.home_unit_id.iloc[0]])
        for homes in [*mappings, mappings[0]]:
            fresh = replace(shared, kept={})  # the same respondents, nothing kept
            want = active_customers(wh, fresh, homes)
            got = active_customers(wh, shared, homes)
            pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False)
            found = point_values(shared, ws.config, homes, got)
            assert len(found) > 3
            pd.testing.assert_frame_equal(
                found, point_values(fresh, ws.config, homes, want), check_exact=True
            )
    assert ("active customers",) in shared.kept
    assert any(key[0] == "point chain" for key in shared.kept)


def test_respondents_are_the_same_whatever_order_the_engine_sums_in() -> None:
    """The engine sums a respondent's purchases in no fixed order; sums that differ only in
    their last bits (0.1 + 0.2 against 0.3) give the same respondents, so every run prices the
    same point values (they differed by ~2e-7 between runs)."""
    import pandas as pd

    from earnright.customers.loyalty import finish_respondents

    def rows(spend: float, prior: float) -> pd.DataFrame:
        return pd.DataFrame({
            "response_id": ["r1"], "customer_id": ["c1"], "home_unit_id": ["S1"],
            "responded_at": [pd.Timestamp("2026-01-05")], "spend": [spend], "late": [1],
            "prior_visits": [2], "prior_spend": [prior],
            "last_before": [pd.Timestamp("2026-01-01")],
        })  # fmt: skip

    one, other = finish_respondents(rows(0.1 + 0.2, 0.7 + 0.1)), finish_respondents(rows(0.3, 0.8))
    assert 0.1 + 0.2 != 0.3 and 0.7 + 0.1 != 0.8  # the sums differ in their last bits ...
    pd.testing.assert_frame_equal(one, other, check_exact=True)  # ... the respondents do not
    assert one.spend.iloc[0] == 0.3 and one.prior_spend.iloc[0] == 0.8

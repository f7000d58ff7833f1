"""The main job on the demo company: nothing lost, and intervals that hold the planted truth."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pandas as pd
import pytest

from earnright.services.demo import DemoRun, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run_demo(tmp_path_factory.mktemp("demo") / "ws", stores=60, months=12, seed=11)


@pytest.fixture(scope="module")
def joined(demo: DemoRun) -> pd.DataFrame:
    card = pd.read_parquet(demo.outputs["parquet"])
    stores = card[card.level == "store"]
    truth = pd.DataFrame(json.loads(demo.truth.read_text())["store_month"])
    return truth.merge(stores, on=["unit_id", "period"], how="left", suffixes=("_true", ""))


@pytest.mark.slow
def test_every_generated_row_arrives(demo: DemoRun, joined: pd.DataFrame) -> None:
    assert all(r.quarantined == 0 for r in demo.ingests)
    assert (joined.responses_true == joined.responses.fillna(0)).all()
    assert (joined.invitations_true == joined.invitations.fillna(0)).all()


@pytest.mark.slow
def test_true_store_nps_inside_the_interval_for_92_to_98_percent(joined: pd.DataFrame) -> None:
    scored = joined[joined.n > 0]
    assert len(scored) >= 0.95 * len(joined)
    inside = (scored.nps_low <= scored.nps_true) & (scored.nps_true <= scored.nps_high)
    assert 0.92 <= inside.mean() <= 0.98, inside.mean()


@pytest.mark.slow
def test_true_csat_inside_the_wilson_interval_for_92_to_98_percent(joined: pd.DataFrame) -> None:
    scored = joined[joined.n_csat > 0]
    inside = (scored.csat_low <= scored.csat_true) & (scored.csat_true <= scored.csat_high)
    assert 0.92 <= inside.mean() <= 0.98, inside.mean()


@pytest.mark.slow
def test_outputs_cover_every_level_and_the_page_is_written(demo: DemoRun) -> None:
    card = pd.read_csv(demo.outputs["csv"])
    assert set(card.level) == {"company", "region", "district", "store"}
    assert (card[card.level == "company"].groupby("period").size() == 1).all()
    html = demo.outputs["html"].read_text()
    assert "<svg" in html and "Northwind Pharmacy" in html
    assert "ranked on a fair NPS estimate" in html and "Funnel plot" in html
    ranking = json.loads(demo.outputs["ranking"].read_text())
    assert ranking["period"] == "2026-09" and len(ranking["units"]) == 60
    tiers = {"top", "middle", "bottom", "uncertain", "suppressed"}  # suppressed: n < min_n
    assert {u["tier"] for u in ranking["units"]} <= tiers
    focus = json.loads(demo.outputs["focus"].read_text())
    assert len(focus) == 60 and "What each store should focus on" in html
    listed = [f for f in focus if f["items"]]
    assert listed and all(escape(i["sentence"]) in html for f in listed for i in f["items"])
    reliability = json.loads(demo.outputs["reliability"].read_text())
    assert len(reliability["moments"]) == 4 and "Reliability at the moments that matter" in html
    warnings = json.loads(demo.outputs["warnings"].read_text())
    truth = json.loads(demo.truth.read_text())
    assert 0 < len(warnings) <= len(truth["incidents"]) and demo.detection["alerts"] > 0
    assert all(escape(w["segment"]) in html for w in warnings)


@pytest.mark.slow
def test_the_page_opens_with_the_company_ledger(demo: DemoRun) -> None:
    from earnright import open_workspace

    ledger = pd.DataFrame(json.loads(demo.outputs["assets"].read_text()))
    expected = open_workspace(demo.workspace).assets(level="company").to_frame()
    pd.testing.assert_frame_equal(ledger, expected, check_dtype=False)
    assert (ledger.start + ledger.gained + ledger.reactivated - ledger.lost == ledger.end).all()
    html = demo.outputs["html"].read_text()
    month = ledger[ledger.period == "2026-09"].iloc[0]
    assert month.lost > 0  # a year of data: customers of the first months have lapsed
    section = html[html.index("Customers as assets, 2026-09") : html.index("Scores, 2026-09")]
    for value in (month.end, month.gained, month.lost, month.start):
        assert f">{value:,}<" in section


def test_demo_refuses_to_replace_a_directory_it_did_not_make(tmp_path: Path) -> None:
    from earnright.errors import WorkspaceError

    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(WorkspaceError, match="not a demo workspace"):
        run_demo(tmp_path, stores=3, months=1)
    assert (tmp_path / "precious.txt").exists()

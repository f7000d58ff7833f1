"""Why customers left, against the demo's planted truth: each planted incident's excess losses
(losses among the exposed beyond the comparable customers' rate) recover the extra lapses the
generator planted among the customers it exposed (demo/incidents.py, truth.json), within the
95% interval; the losses are exactly the ledger's; the excess per row adds up per incident."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import earnright
from earnright.customers.loss_incidents import incident_excess
from earnright.customers.losses import explain_losses, lost_customers, summarise_losses
from earnright.reliability.revenue import Exposure
from earnright.services.demo import DemoRun, run_demo
from earnright.units import read_units

CHURN_DAYS = 28  # the generator's churn window (demo/incidents.py CHURN_WEEKS)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run_demo(tmp_path_factory.mktemp("planted") / "ws", stores=20, months=14, seed=3)


def planted(demo: DemoRun) -> list[dict[str, Any]]:
    truth = json.loads((Path(demo.workspace) / "data" / "truth.json").read_text())
    return list(truth["incidents"])


def test_each_planted_incident_excess_recovers_its_extra_lapses(demo: DemoRun) -> None:
    ws = earnright.open_workspace(demo.workspace)
    lapse = timedelta(days=ws.config.assets.lapse_after_days)
    checked = []
    with ws.warehouse() as wh:
        levels = dict(zip(*read_units(wh)[["unit_id", "level"]].T.values, strict=True))
        lost, as_of = lost_customers(wh, ws.config, level="company")
        assert lost is not None and as_of is not None
        for inc in planted(demo):
            start = datetime.fromisoformat(inc["start"])
            end = datetime.fromisoformat(inc["end"]) + timedelta(days=1)  # exclusive
            if end + timedelta(days=CHURN_DAYS) + lapse > as_of:
                continue  # some of its extra lapses are not lost yet by the data's end
            segments = [{levels[u]: u, **inc["segment"]} for u in inc["units"]]
            got = incident_excess(wh, ws.config, Exposure(segments, start, end), lost)
            assert got["excess_low"] <= inc["extra_lapses"] <= got["excess_high"], (inc, got)
            assert got["excess_high"] - got["excess_low"] < 4 * max(inc["extra_lapses"], 5)
            checked.append(inc["metric"])
    # an incident of units and hours (evening prescriptions) and one of a customer attribute
    assert {"rx_fill_minutes", "app_errors"} <= set(checked)


def test_the_demo_losses_are_the_ledgers_and_the_excess_adds_up(demo: DemoRun) -> None:
    ws = earnright.open_workspace(demo.workspace)
    ledger = ws.assets(level="region", grain="quarter").to_frame()
    with ws.warehouse() as wh:
        losses = explain_losses(wh, ws.config, level="region", grain="quarter")
    frame = summarise_losses(losses)
    expected = ledger[ledger.lost > 0].set_index(["unit_id", "period"]).lost.sort_index()
    got = frame.groupby(["unit_id", "period"]).lost.first().sort_index()
    assert got.to_dict() == expected.to_dict()
    assert frame.groupby(["unit_id", "period"])["primary"].sum().sort_index().equals(got)
    assert len(losses.incidents) > 0 and (frame.reason == "incident").any()
    rows = frame[frame.reason == "incident"].groupby("detail").excess.agg(["sum", "size"])
    whole = losses.incidents.set_index("detail").excess
    for detail, (value, n) in rows.iterrows():
        assert value == pytest.approx(whole[detail], abs=0.05 * n + 1e-9)  # rows round to 0.1


def test_the_pass_over_every_incident_equals_each_incident_on_its_own(
    demo: DemoRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """incident_excesses (a few incidents a query) and incident_reasons (every incident at
    once) count exactly what incident_excess and affected_customers give one at a time."""
    from earnright.customers import loss_incidents
    from earnright.customers.loss_incidents import (
        incident_excesses,
        incident_exposures,
        incident_reasons,
    )
    from earnright.reliability.revenue import affected_customers

    ws = earnright.open_workspace(demo.workspace)
    with ws.warehouse() as wh:
        lost, _ = lost_customers(wh, ws.config, level="company")
        assert lost is not None
        hits = incident_exposures(wh)
        assert len(hits) >= 3, len(hits)
        # two queries, the second with fewer incidents
        monkeypatch.setattr(loss_incidents, "GROUPS_A_QUERY", len(hits) // 2 + 1)
        batched = incident_excesses(wh, ws.config, lost, hits)
        for h, row in zip(hits, batched.to_dict(orient="records"), strict=True):
            alone = incident_excess(wh, ws.config, h.exposure, lost)
            assert row == pytest.approx({"detail": h.detail, **alone}, nan_ok=True)
        assert batched.exposed.sum() > 0 and batched.control_lost.sum() > 0
        reasons = incident_reasons(wh, ws.config, lost, hits)
        assert reasons is not None
        got = reasons.to_pandas()
        keys = lost.select("customer_id", "lost_at", "since").to_pandas()
        expected = set()
        for h in hits:
            ids = set(affected_customers(wh, ws.config, h.exposure).to_pandas().customer_id)
            mine = keys[keys.customer_id.isin(ids)]
            mine = mine[(h.exposure.start < mine.lost_at) & (h.exposure.end > mine.since)]
            pairs = zip(mine.customer_id, mine.lost_at, strict=True)
            expected |= {(c, t, h.detail) for c, t in pairs}
        found = set(zip(got.customer_id, got.lost_at, got.detail, strict=True))
        assert found == expected and len(found) == len(got) and len(found) > 0

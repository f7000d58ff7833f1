"""Incidents from the demo's planted failures: found, localised, priced, stored once, routed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from earnright.cli import app
from earnright.config import Config, render_config
from earnright.reliability.incidents import _compatible, list_incidents, run_detection
from earnright.reliability.localize import format_cause
from earnright.workspace import Workspace, find_workspace

ANCESTORS = pd.DataFrame(
    {
        "unit_id": ["C", "R1", "D1", "S1", "S2", "D2", "S3"],
        "company": ["C"] * 7,
        "region": [None, "R1", "R1", "R1", "R1", "R1", "R1"],
        "district": [None, None, "D1", "D1", "D1", "D2", "D2"],
        "store": [None, None, None, "S1", "S2", None, "S3"],
    }
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({}, {"store": "S1"}, True),
        ({"store": "S1"}, {"store": "S2"}, False),
        ({"store": "S1"}, {"district": "D1"}, True),
        ({"district": "D2"}, {"store": "S1"}, False),
        ({"platform": "ios"}, {"platform": "android", "region": "R1"}, False),
        ({"region": "R1"}, {"platform": "android", "store": "S3"}, True),
    ],
)
def test_segments_overlap_through_the_unit_hierarchy(
    a: dict[str, str], b: dict[str, str], expected: bool
) -> None:
    assert _compatible(a, b, ANCESTORS) is expected
    assert _compatible(b, a, ANCESTORS) is expected


def expected_segment(planted: dict[str, Any]) -> set[str]:
    if planted["metric"] == "queue_wait_minutes":
        return {format_cause({"store": s}) for s in planted["units"]}
    level = {"R": "region", "D": "district"}[planted["units"][0][0]]
    return {format_cause({**planted["segment"], level: planted["units"][0]})}


@pytest.fixture(scope="module")
def detected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict[str, Any]]:
    from earnright.pipeline import run_demo

    run = run_demo(tmp_path_factory.mktemp("incidents") / "ws", stores=60, months=12, seed=7)
    ws = find_workspace(run.workspace)
    with ws.warehouse() as wh:  # the demo already ran detection; start again from nothing
        for table in ("incidents", "alerts", "outbox", "detector_state"):
            wh.execute_sql(f"DELETE FROM {table}")
        run_detection(wh, ws.config)
    return ws, json.loads(run.truth.read_text())


@pytest.mark.slow
def test_every_planted_incident_is_found_with_its_segment_and_nothing_else(
    detected: tuple[Workspace, dict[str, Any]],
) -> None:
    ws, truth = detected
    with ws.warehouse(read_only=True) as wh:
        found = list_incidents(wh)
    assert len(found) == len(truth["incidents"])
    for planted in truth["incidents"]:
        start = pd.Timestamp(planted["start"])
        end = pd.Timestamp(planted["end"]) + pd.Timedelta(days=1)
        hits = [
            i
            for i in found
            if i.metric == planted["metric"] and i.started_at < end and i.last_alert_at > start
        ]
        assert len(hits) == 1, planted["id"]
        incident = hits[0]
        assert set(incident.segment.split("; ")) == expected_segment(planted), planted["id"]
        assert incident.detected_at <= end  # found while it was still going on
        assert abs((incident.started_at - start).days) <= 1
        # the detected window can outlast the planted one by the alerts' windows (seed 7: the
        # evening prescription incident counts 59 customers for the truth's 41); others within 5%
        assert incident.customers_affected == pytest.approx(planted["customers_exposed"], rel=0.5)
        if incident.churn_basis == "observed":
            assert incident.extra_churn_low <= planted["churn_effect"] <= incident.extra_churn_high
        assert incident.revenue_at_risk_low <= incident.revenue_at_risk
        assert incident.revenue_at_risk <= incident.revenue_at_risk_high


@pytest.mark.slow
def test_a_second_pass_finds_nothing_new(detected: tuple[Workspace, dict[str, Any]]) -> None:
    ws, _ = detected
    with ws.warehouse() as wh:
        before = wh.count("alerts"), wh.count("incidents")
        again = run_detection(wh, ws.config)
        assert (again.alerts, again.opened, again.updated) == (0, [], [])
        assert (wh.count("alerts"), wh.count("incidents")) == before


@pytest.mark.slow
def test_warnings_and_watch_on_the_command_line(
    detected: tuple[Workspace, dict[str, Any]], tmp_path: Path
) -> None:
    ws, truth = detected
    runner = CliRunner()
    out = runner.invoke(app, ["warnings", "-w", str(ws.root), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    keys = {"id", "moment", "metric", "segment", "started_at", "status", "customers_affected"}
    keys |= {"revenue_at_risk", "revenue_at_risk_low", "revenue_at_risk_high", "owner"}
    assert keys <= set(rows[0]) and len(rows) == len(truth["incidents"])
    assert {r["owner"] for r in rows} <= {"store-operations", "pharmacy-operations", "digital"}
    since = runner.invoke(
        app, ["warnings", "-w", str(ws.root), "--since", "2026-06-01", "-f", "json"]
    )
    assert 0 < len(json.loads(since.stdout)) < len(rows)

    # watch routes a new incident to its owner's webhook through the outbox
    copy = tmp_path / "ws"
    shutil.copytree(ws.root, copy)
    routed = {"owners": {"digital": {"webhooks": ["http://127.0.0.1:9/x"]}}}
    config = Config.model_validate(ws.config.model_dump() | routed)
    (copy / "earnright.toml").write_text(render_config(config))
    moved = find_workspace(copy)
    with moved.warehouse() as wh:
        for table in ("incidents", "alerts", "outbox", "detector_state"):
            wh.execute_sql(f"DELETE FROM {table}")
    out = runner.invoke(app, ["watch", "-w", str(copy), "--once", "--no-deliver", "-f", "json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout[out.stdout.index("{") :])
    assert summary["detection"]["messages"] >= 1
    with moved.warehouse(read_only=True) as wh:
        outbox = wh.table("outbox").execute()
    assert set(outbox.target) == {"http://127.0.0.1:9/x"} and set(outbox.status) == {"pending"}
    assert all(json.loads(p)["incident"]["moment"] == "order_in_app" for p in outbox.payload)

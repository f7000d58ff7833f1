"""Incidents from the demo's planted failures: found, localised, priced, stored once, routed."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from earnright.cli import app
from earnright.config import Config, render_config
from earnright.ingest import ingest_file
from earnright.reliability import revenue
from earnright.reliability.incidents import Incident, list_incidents, run_detection
from earnright.reliability.judge import Hierarchy, compatible
from earnright.reliability.localize import format_cause
from earnright.reliability.revenue import (
    ChurnEffect,
    Exposure,
    follow_up_window,
    measure_extra_churn,
    pool_extra_churn,
)
from earnright.workspace import Workspace, find_workspace, init_workspace

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
    assert compatible(a, b, ANCESTORS) is expected
    assert compatible(b, a, ANCESTORS) is expected


@pytest.mark.parametrize("dtype", [object, "string"])
def test_the_indexed_hierarchy_answers_as_filtering_the_frame(dtype: object) -> None:
    """``Hierarchy``'s lookups equal filtering the ancestors frame (object and pyarrow string
    columns, missing values, values no row holds), for every pair of columns and values."""
    frame = ANCESTORS.astype(dtype)
    tree = Hierarchy(frame)
    values = sorted({str(v) for v in ANCESTORS.to_numpy().ravel() if v is not None} | {"X"})
    for where, column in itertools.product(frame.columns, frame.columns):
        for key, value in itertools.product(values, values):
            rows = frame[frame[where] == key]
            assert tree.meets((where, key), column, value) is bool((rows[column] == value).any())
        for key in values:
            rows = frame[frame[where] == key]
            first = None if rows.empty or pd.isna(rows[column].iloc[0]) else rows[column].iloc[0]
            assert tree.first((where, key), column) == first
    for a, b in itertools.product([{}, *({c: v} for c in frame.columns for v in values)], repeat=2):
        assert compatible(a, b, tree) is compatible(a, b, frame)


def expected_segment(planted: dict[str, Any]) -> set[str]:
    if planted["metric"] == "queue_wait_minutes":
        return {format_cause({"store": s}) for s in planted["units"]}
    level = {"R": "region", "D": "district"}[planted["units"][0][0]]
    return {format_cause({**planted["segment"], level: planted["units"][0]})}


@pytest.fixture(scope="module")
def detected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict[str, Any]]:
    from earnright.services.demo import run_demo

    run = run_demo(  # the incidents' churn apart from the loyalty plant (revenue-at-risk.md)
        tmp_path_factory.mktemp("incidents") / "ws", stores=60, months=12, seed=7,
        loyalty_lapse=False,
    )  # fmt: skip
    return detect_afresh(run.workspace), json.loads(run.truth.read_text())


def detect_afresh(workspace: Path) -> Workspace:
    ws = find_workspace(workspace)
    with ws.warehouse() as wh:  # the demo already ran detection; start again from nothing
        for table in ("incidents", "alerts", "outbox", "detector_state"):
            wh.execute_sql(f"DELETE FROM {table}")
        run_detection(wh, ws.config)
    return ws


@pytest.mark.slow
def test_detected_incidents_store_and_show_their_value_basis(
    detected: tuple[Workspace, dict[str, Any]],
) -> None:
    """The demo has thousands of repeat buyers: every incident is priced at lifetime value,
    stored (migration 9) and shown in its record."""
    with detected[0].warehouse(read_only=True) as wh:
        found = list_incidents(wh)
    assert found and all(i.value_basis == "lifetime value" for i in found)
    assert all(i.record()["value_basis"] == "lifetime value" for i in found)


@pytest.mark.slow
def test_every_planted_incident_is_found_with_its_segment_and_nothing_else(
    detected: tuple[Workspace, dict[str, Any]],
) -> None:
    assert_planted_found(*detected)
    with detected[0].warehouse(read_only=True) as wh:
        assert all(i.churn_basis != "none" for i in list_incidents(wh))  # every one priced


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 5])
def test_the_hard_planted_incidents_of_other_demos(tmp_path: Path, seed: int) -> None:
    """Seed 4: a 2-day queue incident at 4 of a district's 7 stores (once named as the
    district). Seed 5: a queue incident at 3 small stores whose waits stay under the threshold
    (once never alerted: the detector's weekly profile was still warming up, and its rest
    after a 0.55 silenced the store; then named by the one store that alerted)."""
    from earnright.services.demo import run_demo

    run = run_demo(tmp_path / "ws", stores=60, months=12, seed=seed, loyalty_lapse=False)
    assert_planted_found(detect_afresh(run.workspace), json.loads(run.truth.read_text()))


def assert_planted_found(ws: Workspace, truth: dict[str, Any]) -> None:
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
        # a sanity bound for every seed; seed 7 is held to 5% below
        assert incident.customers_affected == pytest.approx(planted["customers_exposed"], rel=0.5)
        if incident.churn_basis == "observed":
            assert incident.extra_churn_low <= planted["churn_effect"] <= incident.extra_churn_high
        if incident.churn_basis != "none":  # none: no follow-up and no history to pool yet
            assert incident.revenue_at_risk_low <= incident.revenue_at_risk
            assert incident.revenue_at_risk <= incident.revenue_at_risk_high


# Seed 7's planted incidents against the detected ones. An incident's exposure is the span in
# which its segment's own series departs from its baseline, not the span of its alerts: slow-burn
# alerts (multi-day windows) still fire a day or two after a failure ended, and once counted
# INC03 (out of stock Jun 3-12, last alert Jun 14) at 545 customers for 487 and INC04 (evening
# prescriptions Aug 6-13, last alert Aug 16) at 59 for 41.
@pytest.mark.slow
@pytest.mark.parametrize("planted_id", ["INC01", "INC02", "INC03", "INC04"])
def test_customers_affected_are_the_planted_exposure_within_5_percent(
    detected: tuple[Workspace, dict[str, Any]], planted_id: str
) -> None:
    ws, truth = detected
    (planted,) = [p for p in truth["incidents"] if p["id"] == planted_id]
    start = pd.Timestamp(planted["start"])
    with ws.warehouse(read_only=True) as wh:
        (found,) = [
            i
            for i in list_incidents(wh)
            if i.metric == planted["metric"] and abs((i.started_at - start).days) <= 1
        ]
    assert found.customers_affected == pytest.approx(planted["customers_exposed"], rel=0.05)
    # the exposure is the failure's span: it resolves with the failure, not days later
    end = pd.Timestamp(planted["end"]) + pd.Timedelta(days=1)
    assert found.window[1] <= end + ws.config.reliability.step
    assert found.resolved_at is not None and found.resolved_at <= end + pd.Timedelta(days=1)


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


# -- churn measured once per incident, stored, and re-priced when the follow-up completes -------

# seed 7, the data in three parts: by May 15 the follow-up of the queue (Nov) and app (Feb)
# incidents is complete; by Aug 1 the stock incident of June 3-13 is resolved, its own follow-up
# (to Sept 5) is not; then the rest
CUTOFFS = (datetime(2026, 5, 15), datetime(2026, 8, 1))


def _stored_effect(config: Config, incident: Incident) -> ChurnEffect | None:
    counts = (
        incident.churn_exposed_lost,
        incident.churn_exposed,
        incident.churn_control_lost,
        incident.churn_control,
    )
    if incident.churn_measured_at is None or None in counts:
        return None
    k_e, n_e, k_c, n_c = (int(c or 0) for c in counts)
    window = follow_up_window(config, Exposure(incident.segments, *incident.window))
    return ChurnEffect.from_counts((k_e, n_e, k_c, n_c), window, incident.indicator)


def _fresh_effect(wh: Any, config: Config, incident: Incident) -> ChurnEffect | None:
    exposure = Exposure(incident.segments, *incident.window, incident.indicator)
    return measure_extra_churn(wh, config, exposure)


@contextmanager
def _count_churn_scans() -> Iterator[list[tuple[datetime, datetime]]]:
    """The follow-up windows of the churn measurements made inside the block."""
    calls: list[tuple[datetime, datetime]] = []
    count = revenue.churn_counts_of

    def counted(wh: Any, exposed: Any, control: Any, windows: Any) -> Any:
        calls.extend(windows)
        return count(wh, exposed, control, windows)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(revenue, "churn_counts_of", counted)
        yield calls


@pytest.mark.slow
def test_stored_churn_counts_are_a_fresh_measurement_and_are_not_measured_again(
    detected: tuple[Workspace, dict[str, Any]],
) -> None:
    ws, _ = detected
    with ws.warehouse() as wh:
        found = list_incidents(wh)
        observed = [i for i in found if i.churn_basis == "observed"]
        assert len(observed) == 3  # the prescription incident's follow-up runs past the data
        for incident in found:
            fresh = _fresh_effect(wh, ws.config, incident)
            assert _stored_effect(ws.config, incident) == fresh, incident.incident_id
            assert (incident.churn_measured_at is not None) == (fresh is not None)
            if fresh is not None:
                assert incident.churn_basis == "observed"
                assert incident.extra_churn == pytest.approx(max(fresh.extra_churn, 0.0))
        with _count_churn_scans() as scans:
            again = run_detection(wh, ws.config)
        assert scans == [] and (again.opened, again.updated, again.resolved) == ([], [], [])
        assert [i.record() for i in list_incidents(wh)] == [i.record() for i in found]


@pytest.fixture(scope="module")
def three_parts(
    detected: tuple[Workspace, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The seed-7 demo ingested in three parts (CUTOFFS), a detection pass after each."""
    ws, _ = detected
    data = ws.root / "data"
    root = tmp_path_factory.mktemp("three_parts")
    cuts = [pd.Timestamp.min.tz_localize("UTC")]
    cuts += [pd.Timestamp(c, tz="UTC") for c in CUTOFFS] + [pd.Timestamp.max.tz_localize("UTC")]
    for kind, column in (("transactions", "occurred_at"), ("metrics", "observed_at")):
        frame = pd.read_parquet(data / f"{kind}.parquet")
        for n, (lo, hi) in enumerate(itertools.pairwise(cuts), start=1):
            frame[(frame[column] >= lo) & (frame[column] < hi)].to_parquet(root / f"{kind}-{n}.pq")
    hook = {"webhooks": ["http://127.0.0.1:9/x"]}  # every owner gets messages (not sent)
    teams = ("store-operations", "pharmacy-operations", "digital")
    routed = {"owners": {team: hook for team in teams}}
    part = init_workspace(root / "ws", Config.model_validate(ws.config.model_dump() | routed))
    out: dict[str, Any] = {"config": part.config}
    with part.warehouse() as wh:
        ingest_file(wh, part.config, "units", data / "units.csv")
        ingest_file(wh, part.config, "customers", data / "customers.parquet")
        for n in (1, 2, 3):
            for kind in ("transactions", "metrics"):
                ingest_file(wh, part.config, kind, root / f"{kind}-{n}.pq")
            with _count_churn_scans() as scans:
                run = run_detection(wh, part.config)
            outbox = wh.table("outbox").execute()
            incidents = {i.incident_id: i for i in list_incidents(wh)}
            effects = {k: _fresh_effect(wh, part.config, i) for k, i in incidents.items()}
            out[n] = {"run": run, "scans": scans, "incidents": incidents, "fresh": effects}
            out[n]["messages"] = outbox.incident_id.value_counts().to_dict()
    return out


def _pooled_history(config: Config, incident: Incident, stored: dict[str, Incident]) -> Any:
    earlier = [
        e
        for i in stored.values()
        if i.incident_id != incident.incident_id and i.last_alert_at <= incident.started_at
        if (e := _stored_effect(config, i)) is not None
    ]
    return earlier, pool_extra_churn(earlier)


@pytest.mark.slow
def test_a_history_priced_incident_is_repriced_on_its_own_churn_once_its_follow_up_is_in(
    three_parts: dict[str, Any], detected: tuple[Workspace, dict[str, Any]]
) -> None:
    config, first, second = three_parts["config"], three_parts[2], three_parts[3]
    stock = next(i for i in first["incidents"].values() if i.indicator == "in_stock")
    assert stock.status == "resolved" and stock.churn_basis == "history"
    assert stock.churn_measured_at is None and stock.churn_exposed is None
    assert first["fresh"][stock.incident_id] is None  # its follow-up is not in the data yet
    # its history: the stored effects of the incidents that ended before it began, pooled
    earlier, pooled = _pooled_history(config, stock, first["incidents"])
    assert len(earlier) == 2 and pooled is not None
    assert stock.extra_churn == pytest.approx(pooled.extra_churn, abs=1e-12)
    assert stock.extra_churn_low == pytest.approx(max(pooled.prediction_low, 0.0), abs=1e-12)
    assert stock.extra_churn_high == pytest.approx(pooled.prediction_high, abs=1e-12)

    after = second["incidents"][stock.incident_id]
    own = second["fresh"][stock.incident_id]
    assert own is not None and _stored_effect(config, after) == own
    assert after.churn_basis == "observed" and after.window == stock.window
    assert after.extra_churn == pytest.approx(max(own.extra_churn, 0.0), abs=1e-12)
    assert after.revenue_at_risk == pytest.approx(
        after.customers_affected * after.customer_value * after.extra_churn
    )
    assert after.extra_churn != stock.extra_churn
    # re-priced quietly: no event and no message for an incident that was resolved before
    run = second["run"]
    assert stock.incident_id not in run.opened + run.updated + run.resolved
    assert first["messages"][stock.incident_id] >= 1
    assert second["messages"][stock.incident_id] == first["messages"][stock.incident_id]
    # the same figures as a single pass over all the data
    ws, _ = detected
    with ws.warehouse(read_only=True) as wh:
        replay = {i.incident_id: i for i in list_incidents(wh)}[stock.incident_id]
    assert replay.churn_basis == "observed"
    assert (replay.extra_churn, replay.churn_exposed) == (after.extra_churn, after.churn_exposed)
    assert replay.revenue_at_risk == pytest.approx(after.revenue_at_risk)


@pytest.mark.slow
def test_each_incident_churn_is_measured_once_over_the_passes(three_parts: dict[str, Any]) -> None:
    config = three_parts["config"]
    scans = three_parts[1]["scans"] + three_parts[2]["scans"] + three_parts[3]["scans"]
    assert len(scans) == len(set(scans))  # no follow-up window measured twice
    assert len(three_parts[1]["scans"]) == 2 and three_parts[2]["scans"] == []
    measured = [i for i in three_parts[3]["incidents"].values() if i.churn_measured_at is not None]
    windows = {
        follow_up_window(config, Exposure(i.segments, *i.window, i.indicator)) for i in measured
    }
    assert set(scans) == windows and len(measured) == 3
    for n in (1, 2, 3):
        for incident_id, incident in three_parts[n]["incidents"].items():
            assert _stored_effect(config, incident) == three_parts[n]["fresh"][incident_id]


# -- an incident still open when a pass ends, resolved by a later pass ---------------------------

MID_RX = datetime(2026, 8, 10)  # seed 7's evening prescription incident runs Aug 6-13


@pytest.fixture(scope="module")
def mid_incident(
    detected: tuple[Workspace, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The seed-7 demo with its data cut in the middle of an incident: a pass, then the rest of
    the data arrives, then another pass (the way `earnright watch` meets a live incident)."""
    ws, _ = detected
    copy = tmp_path_factory.mktemp("mid_incident") / "ws"
    shutil.copytree(ws.root, copy)
    teams = ("store-operations", "pharmacy-operations", "digital")
    routed = {"owners": {team: {"webhooks": ["http://127.0.0.1:9/x"]} for team in teams}}
    (copy / "earnright.toml").write_text(render_config(Config.model_validate(
        ws.config.model_dump() | routed
    )))  # fmt: skip
    moved = find_workspace(copy)
    late = {"metrics": "observed_at", "transactions": "occurred_at"}
    cut = f"TIMESTAMP '{MID_RX:%Y-%m-%d %H:%M:%S}'"
    out: dict[str, Any] = {}
    with moved.warehouse() as wh:
        for table in ("incidents", "alerts", "outbox", "detector_state"):
            wh.execute_sql(f"DELETE FROM {table}")
        for table, column in late.items():
            wh.execute_sql(
                f"CREATE TABLE later_{table} AS SELECT * FROM {table} WHERE {column} >= {cut}"
            )
            wh.execute_sql(f"DELETE FROM {table} WHERE {column} >= {cut}")
        for n in (1, 2):
            if n == 2:  # the rest of the data arrives
                for table in late:
                    wh.execute_sql(f"INSERT INTO {table} SELECT * FROM later_{table}")
            run = run_detection(wh, moved.config)
            out[n] = {
                "run": run,
                "incidents": {i.incident_id: i for i in list_incidents(wh)},
                "outbox": wh.table("outbox").execute(),
            }
    return out


@pytest.mark.slow
def test_an_incident_open_at_the_end_of_a_pass_is_opened_then_resolved(
    mid_incident: dict[str, Any], detected: tuple[Workspace, dict[str, Any]]
) -> None:
    first, second = mid_incident[1], mid_incident[2]
    (rx,) = [i for i in first["incidents"].values() if i.metric == "rx_fill_minutes"]
    assert rx.status == "open" and rx.incident_id in first["run"].opened
    assert rx.incident_id not in first["run"].resolved
    sent = first["outbox"][first["outbox"].incident_id == rx.incident_id]
    assert list(sent.event) == ["opened"]  # one owner, one webhook, one message
    payload = json.loads(sent.payload.iloc[0])
    assert payload["event"] == "opened" and payload["text"].startswith("[opened]")
    assert payload["incident"]["status"] == "open"
    # the rest of the data: the same incident resolves; it is not opened a second time
    after = second["incidents"][rx.incident_id]
    assert after.status == "resolved" and rx.incident_id in second["run"].resolved
    assert rx.incident_id not in second["run"].opened
    events = second["outbox"][second["outbox"].incident_id == rx.incident_id].event
    assert sorted(events) == ["opened", "resolved"]
    # and it is the incident a single pass over all the data finds
    ws, _ = detected
    with ws.warehouse(read_only=True) as wh:
        replay = {i.incident_id: i for i in list_incidents(wh)}[rx.incident_id]
    assert (after.started_at, after.segment) == (replay.started_at, replay.segment)
    assert after.last_alert_at == replay.last_alert_at

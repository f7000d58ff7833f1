"""Every backend gives the same tables and the same numbers as the reference backend (DuckDB).

The demo company's files (12 stores, 6 months: long enough for churn to be measured after its
incidents) are ingested into a workspace on the reference backend and one on each other backend
(``other``: PostgreSQL on a throwaway server, tests/conftest.py), and every comparison runs the
same code on both. The reference's own numbers are tested against planted truth elsewhere; the
warehouse and ingest tests themselves run on every backend (tests/warehouse/test_warehouse.py,
tests/ingest/).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from earnright.cli import app
from earnright.cli.output import records
from earnright.config import Config, Owner
from earnright.delivery import deliver_pending, enqueue_messages
from earnright.ingest import IngestResult, ingest_file
from earnright.listening.changes import find_changes
from earnright.listening.credibility import assess_credibility
from earnright.listening.drivers import compute_drivers, drivers_frame
from earnright.listening.focus import compute_focus
from earnright.listening.hygiene import check_hygiene
from earnright.listening.ranking import rank_units
from earnright.listening.scorecard import compute_scorecard
from earnright.periods import Grain
from earnright.reliability.detection import scan_indicator
from earnright.reliability.incidents import list_incidents, run_detection
from earnright.reliability.indicators import compute_reliability
from earnright.reliability.localize import aggregate_leaves
from earnright.services.demo import FILES, demo_config
from earnright.warehouse import Warehouse, connect
from earnright.warehouse.schema import TABLES
from earnright.workspace import Workspace, init_workspace
from tests.conftest import BACKENDS, database_url, with_url

OTHERS = BACKENDS[1:]  # every backend but the reference
DEMO = {"stores": 12, "months": 6, "seed": 3}
# Bad rows on purpose, so that the quarantine has something to compare.
BAD_FEEDBACK = """response_id,unit_id,responded_at,channel,comment,ltr,osat,q_wait
x1,S0001,2026-05-01T10:00:00,survey,great,10,5,4
x2,S0002,2026-13-02,survey,,11,3,2.5
x3,S9999,2026-05-02,survey,,6,3,2
x1,S0001,2026-05-01T10:00:00,survey,great,10,5,4
x4,S0002,2026-05-03T10:00:00+02:00,Survey,"multi, comma",,4,
x5,S0003,2026-05-04,survey,"",abc,,
"""
WALL_CLOCK = {"started_at", "finished_at", "updated_at", "created_at", "detected_at"}


def _config(url: str) -> Config:
    config = demo_config()
    return config.model_copy(update={"warehouse": config.warehouse.model_copy(update={"url": url})})


def _ingest_all(ws: Workspace, data: Path) -> list[IngestResult]:
    files = [*FILES, ("feedback", "bad_feedback.csv")]
    with ws.warehouse() as wh:
        return [ingest_file(wh, ws.config, kind, data / name) for kind, name in files]


@dataclass(frozen=True)
class Pair:
    duck: Workspace
    other: Workspace
    duck_ingests: list[IngestResult]
    other_ingests: list[IngestResult]


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from earnright.demo import generate_company

    data = tmp_path_factory.mktemp("pg_demo") / "data"
    generate_company(data, **DEMO)
    (data / "bad_feedback.csv").write_text(BAD_FEEDBACK)
    return data


@pytest.fixture(scope="module", params=OTHERS)
def other(request: pytest.FixtureRequest) -> str:
    """A backend compared with the reference."""
    return str(request.param)


@pytest.fixture(scope="module")
def pair(
    demo_files: Path,
    other: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Pair:
    root = tmp_path_factory.mktemp("pair")
    duck = init_workspace(root / "duck", _config("duckdb:///earnright.duckdb"))
    them = init_workspace(root / other, _config(database_url(other, request, "pair")))
    return Pair(duck, them, _ingest_all(duck, demo_files), _ingest_all(them, demo_files))


def _table(wh: Warehouse, name: str) -> pd.DataFrame:
    frame = wh.table(name).to_pyarrow().to_pandas()
    frame = frame.drop(columns=[c for c in frame.columns if c in WALL_CLOCK])
    key = list(TABLES[name].key) or ["batch_id", "line"]
    return frame.sort_values(key, ignore_index=True)


def _assert_close(a: Any, b: Any, rel: float = 1e-9, path: str = "") -> None:
    """Equal structures; floats within ``rel`` (NaN equals NaN)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            _assert_close(a[k], b[k], rel, f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, rel, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float | int):
        assert (math.isnan(a) and math.isnan(b)) or b == pytest.approx(a, rel=rel, abs=1e-12), path
    else:
        assert a == b, path


# -- ingestion -------------------------------------------------------------------------------------
def test_ingest_gives_the_same_tables_as_duckdb(pair: Pair) -> None:
    assert len(pair.other_ingests) == len(FILES) + 1
    for d, p in zip(pair.duck_ingests, pair.other_ingests, strict=True):
        assert (p.kind, p.rows_read, p.accepted, p.quarantined, p.duplicates, p.batch_id) == (
            d.kind,
            d.rows_read,
            d.accepted,
            d.quarantined,
            d.duplicates,
            d.batch_id,
        )
        assert p.quarantine_reasons == d.quarantine_reasons
    bad = pair.other_ingests[-1]
    assert (bad.accepted, bad.quarantined) == (2, 4)
    with pair.duck.warehouse(read_only=True) as dw, pair.other.warehouse(read_only=True) as pw:
        for name in [*(kind for kind, _ in FILES), "batches", "quarantine", "open_columns"]:
            pd.testing.assert_frame_equal(_table(pw, name), _table(dw, name), obj=name)
        assert pw.open_columns("feedback") == dw.open_columns("feedback")
        assert {"q_wait", "ltr", "osat"} <= set(pw.open_columns("feedback"))
        assert pw.open_columns("customers") == ["segment", "tier", "platform"]
        assert pw.count("quarantine") == 4
        fb = pw.table("feedback")
        x4 = fb.filter(fb.response_id == "x4").execute().iloc[0]
        assert x4.responded_at == pd.Timestamp("2026-05-03T08:00:00")  # stored as naive UTC
        assert (x4.channel, x4.comment, x4.osat) == ("survey", "multi, comma", 4.0)
        assert pd.isna(x4.ltr) and pd.isna(x4.q_wait)


def test_ingesting_again_adds_nothing_and_a_failed_batch_leaves_nothing(
    warehouse_url: str, demo_files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On every backend, the reference included."""
    ws = init_workspace(tmp_path / "ws", _config(warehouse_url))
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", demo_files / "units.csv")
        first = ingest_file(wh, ws.config, "feedback", demo_files / "bad_feedback.csv")
        before = {t: wh.count(t) for t in ("feedback", "quarantine", "batches", "open_columns")}
        again = ingest_file(wh, ws.config, "feedback", demo_files / "bad_feedback.csv")
        assert again.already_ingested_as == first.batch_id
        copy = tmp_path / "copy.csv"
        copy.write_text(BAD_FEEDBACK + "\n")  # the same rows, other bytes
        forced = ingest_file(wh, ws.config, "feedback", copy)
        assert (forced.accepted, forced.duplicates) == (0, first.accepted)
        assert wh.count("feedback") == before["feedback"]
        columns = list(wh.table("metrics").columns)
        before = {t: wh.count(t) for t in ("metrics", "quarantine", "batches", "open_columns")}

        original = Warehouse.insert

        def insert(self: Warehouse, table: str, data: Any) -> None:
            if table == "batches":  # the last write of the commit: the rows are in by now
                raise RuntimeError("the disk is full")
            original(self, table, data)

        monkeypatch.setattr(Warehouse, "insert", insert)
        with pytest.raises(RuntimeError, match="disk is full"):
            ingest_file(wh, ws.config, "metrics", demo_files / "metrics.parquet")
        monkeypatch.undo()
        assert {t: wh.count(t) for t in before} == before
        assert list(wh.table("metrics").columns) == columns  # the new dimensions rolled back
        assert not [t for t in wh.list_tables() if t.startswith("_stage_")]
        done = ingest_file(wh, ws.config, "metrics", demo_files / "metrics.parquet")
        assert done.accepted == wh.count("metrics") > 0


# -- the analytics ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("level", "grain", "period"),
    [
        ("store", Grain.month, None),
        ("store", Grain.month, "2026-04"),
        ("region", Grain.week, None),
        ("district", Grain.quarter, "2026-Q3"),
    ],
)
def test_scorecard_and_credibility_match_duckdb(
    pair: Pair, level: str, grain: Grain, period: str | None
) -> None:
    with pair.duck.warehouse(read_only=True) as dw, pair.other.warehouse(read_only=True) as pw:
        duck = compute_scorecard(dw, pair.duck.config, level=level, grain=grain, period=period)
        pg = compute_scorecard(pw, pair.other.config, level=level, grain=grain, period=period)
    assert len(duck) > 0 and duck["n"].sum() > 0
    pd.testing.assert_frame_equal(pg, duck, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(
        assess_credibility(pg), assess_credibility(duck), check_exact=False, rtol=1e-9
    )


def test_reliability_matches_duckdb(pair: Pair) -> None:
    with pair.duck.warehouse(read_only=True) as dw, pair.other.warehouse(read_only=True) as pw:
        duck = compute_reliability(dw, pair.duck.config).to_dict()
        pg = compute_reliability(pw, pair.other.config).to_dict()
    assert len(duck["moments"]) == 4
    _assert_close(pg, duck)


def _listening(wh: Warehouse, config: Config, name: str) -> Any:
    if name == "ranking":
        return rank_units(wh, config).to_dict()
    if name == "focus":
        return [f.to_dict() for f in compute_focus(wh, config)]
    if name == "hygiene":
        return check_hygiene(wh, config).to_dict()
    if name == "changes":
        return records(find_changes(wh, config))
    return records(drivers_frame(compute_drivers(wh, config)))


@pytest.mark.parametrize("name", ["ranking", "focus", "hygiene", "changes", "drivers"])
def test_the_other_listening_results_match_duckdb(pair: Pair, name: str) -> None:
    with pair.duck.warehouse(read_only=True) as dw, pair.other.warehouse(read_only=True) as pw:
        duck = _listening(dw, pair.duck.config, name)
        _assert_close(_listening(pw, pair.other.config, name), duck)
    assert duck


def _alerts(ws: Workspace) -> list[dict[str, Any]]:
    """Every indicator's alerts from a first scan, rolled back (detector states not kept)."""
    found: list[dict[str, Any]] = []
    with ws.warehouse() as wh:
        with pytest.raises(KeyboardInterrupt), wh.transaction():
            for _, indicator in ws.config.journey.indicators():
                alerts, _ = scan_indicator(wh, ws.config, indicator)
                found += [asdict(a) for a in alerts]
            assert wh.count("detector_state") > 0
            raise KeyboardInterrupt  # roll back
        assert wh.count("detector_state") == 0
    return found


def test_alerts_match_duckdb(pair: Pair) -> None:
    duck = _alerts(pair.duck)
    assert len(duck) > 10
    _assert_close(_alerts(pair.other), duck)


def test_detection_finds_the_same_incidents_as_duckdb(pair: Pair) -> None:
    runs, incidents = [], []
    for ws in (pair.duck, pair.other):
        with ws.warehouse() as wh:
            runs.append(run_detection(wh, ws.config).to_dict())
            incidents.append([i.record() for i in list_incidents(wh)])
    assert runs[1] == runs[0]
    duck, pg = incidents
    assert [i["revenue_at_risk"] for i in duck if i["revenue_at_risk"] is not None]
    assert len(pg) == len(duck) >= 2
    for p, d in zip(pg, duck, strict=True):
        same = ("id", "indicator", "segment", "started_at", "customers_affected", "status")
        assert {k: p[k] for k in same} == {k: d[k] for k in same}
        for k in ("revenue_at_risk", "revenue_at_risk_low", "revenue_at_risk_high"):
            assert (p[k] is None) == (d[k] is None)
            assert p[k] is None or p[k] == pytest.approx(d[k], rel=1e-6)


def test_localize_sums_leaves_like_duckdb(pair: Pair) -> None:
    found = []
    for ws in (pair.duck, pair.other):
        with ws.warehouse(read_only=True) as wh:
            m = wh.table("metrics")
            m = m.filter(m.metric == "app_errors").mutate(
                real=(m.total - m.good).cast("float64"), predict=m.total.cast("float64") * 0.01
            )
            leaves = aggregate_leaves(m, ["platform", "unit_id"])
            found.append(leaves.sort_values(["platform", "unit_id"], ignore_index=True))
    assert len(found[0]) == 36  # 3 platforms x 12 stores
    pd.testing.assert_frame_equal(found[1], found[0], check_exact=False, rtol=1e-9)


def test_outbox_delivery_on_every_backend(warehouse_url: str, tmp_path: Path) -> None:
    owners = {"digital": Owner(webhooks=["https://hooks.example.com/a"])}
    config = _config(warehouse_url).model_copy(update={"owners": owners})
    now = pd.Timestamp("2026-09-01 10:00:00.250000").to_pydatetime()
    incident = {"id": "app-1", "moment": "order_in_app", "indicator": "app_success"}
    incident |= {"owner": "digital", "status": "open", "segment": "platform=android"}
    incident |= {"started_at": "2026-09-01T00:00:00", "severity": "page"}
    attempts: list[str] = []

    def flaky(message: Any, delivery: Any) -> None:
        attempts.append(message.message_id)
        if len(attempts) == 1:
            raise OSError("connection refused")

    with connect(warehouse_url, tmp_path) as wh:
        with pytest.raises(RuntimeError), wh.transaction():
            assert enqueue_messages(wh, config, incident, "opened", now=now) == 1
            raise RuntimeError("the incident write failed")
        assert wh.count("outbox") == 0
        with wh.transaction():
            assert enqueue_messages(wh, config, incident, "opened", now=now) == 1
        assert deliver_pending(wh, config, now=now, send_webhook=flaky).retrying == 1
        row = wh.table("outbox").to_pyarrow().to_pylist()[0]
        assert row["attempts"] == 1 and row["last_error"] == "connection refused"
        later = row["next_attempt_at"]
        assert later > now
        assert deliver_pending(wh, config, now=later, send_webhook=flaky).delivered == 1
        row = wh.table("outbox").to_pyarrow().to_pylist()[0]
        assert (row["status"], row["delivered_at"]) == ("delivered", later)


# -- the command line ------------------------------------------------------------------------------
def test_cli_status_and_scorecard_match_duckdb(pair: Pair) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["status", "--workspace", str(pair.other.root)])
    assert shown.exit_code == 0, shown.output
    assert "Rows per table" in shown.output and "Quarantine: 4 rows" in shown.output
    outputs = {}
    for name, ws in (("duck", pair.duck), ("other", pair.other)):
        status = runner.invoke(app, ["status", "--workspace", str(ws.root), "--format", "json"])
        card = runner.invoke(app, ["scorecard", "--workspace", str(ws.root), "--format", "json"])
        assert status.exit_code == 0 and card.exit_code == 0, status.output + card.output
        report = json.loads(status.output)
        for batch in report["batches"]:
            del batch["started_at"], batch["finished_at"]
        report["quarantine_by_reason"].sort(key=json.dumps)
        outputs[name] = (report, json.loads(card.stdout))  # stderr says which periods
    assert outputs["other"][0]["tables"]["feedback"] == outputs["duck"][0]["tables"]["feedback"] > 0
    _assert_close(outputs["other"], outputs["duck"])
    assert sorted({r["period"] for r in outputs["other"][1]}) == [
        f"2026-{m:02d}" for m in range(4, 10)
    ]


def test_hierarchy_changes_and_quarantine_states_match_duckdb(
    other: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Renames and dated moves (set-based UPDATE … FROM), the dated rollup's range join and the
    superseded quarantine rows give the same tables and numbers on both backends."""
    from earnright.ingest.quarantine import quarantine_with_state
    from tests.conftest import UNITS_CSV

    duck = init_workspace(tmp_path / "duck")
    config = duck.config
    pg = init_workspace(tmp_path / other, with_url(config, database_url(other, request)))
    files = {
        "u1.csv": UNITS_CSV + "S4,Four,store,D9\n",
        "u2.csv": "unit_id,name,level,parent_id,valid_from\nS2,Store Two,store,D2,2026-09-15\n"
        "S4,Four,store,D2,\n",
        "fb.csv": "response_id,unit_id,responded_at,ltr\n"
        + "".join(f"r{i},S2,2026-09-{1 + i % 28:02d},{i % 11}\n" for i in range(40)),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    kinds = [("units", "u1.csv"), ("units", "u2.csv"), ("feedback", "fb.csv")]
    results = []
    for ws in (duck, pg):
        with ws.warehouse() as wh:
            results.append([ingest_file(wh, ws.config, k, tmp_path / n) for k, n in kinds])
    assert results[1][1].changes == results[0][1].changes
    assert "moved S2 D1 → D2 from 2026-09-15" in results[1][1].changes
    with duck.warehouse(read_only=True) as dw, pg.warehouse(read_only=True) as pw:
        for name in ("units", "unit_history"):
            pd.testing.assert_frame_equal(_table(pw, name), _table(dw, name), obj=name)
        states = [
            quarantine_with_state(w).select("line", "state", "superseded_by").execute()
            for w in (pw, dw)
        ]
        pd.testing.assert_frame_equal(*states)
        assert states[0].state.tolist() == ["superseded"]
        cards = [compute_scorecard(w, config, level="district") for w in (pw, dw)]
    pd.testing.assert_frame_equal(*cards, check_exact=False, rtol=1e-9)
    assert cards[0].set_index("unit_id").n.to_dict() == {"D1": 26, "D2": 14}

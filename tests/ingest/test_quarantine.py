"""After the fact: superseded quarantine rows, clearing them, and unknown customers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from earnright.cli import app
from earnright.config import Config
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.ingest.quarantine import clear_quarantine, quarantine_with_state
from earnright.services.status import status_report
from earnright.warehouse import Warehouse
from earnright.workspace import Workspace

pytestmark = pytest.mark.usefixtures("backend")  # every test on every backend

BAD = """response_id,unit_id,responded_at,customer_id,ltr
r1,S1,2026-09-01,c1,10
r2,S1,2026-13-01,c1,9
r3,S9,2026-09-02,c2,7
r4,S2,2026-09-03,,11
r1,S1,2026-09-01,c1,10
"""
FIXED = """response_id,unit_id,responded_at,customer_id,ltr
r1,S1,2026-09-01,c1,10
r2,S1,2026-09-01,c1,9
r4,S2,2026-09-03,,10
"""


def _states(wh: Warehouse) -> dict[int, tuple[str, object]]:
    rows = quarantine_with_state(wh).execute()
    return {
        int(r.line): (r.state, None if r.superseded_by != r.superseded_by else r.superseded_by)
        for r in rows.itertuples()
    }


def test_a_fixed_file_supersedes_the_rows_it_brings_again(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    bad, fixed = tmp_path / "bad.csv", tmp_path / "fixed.csv"
    bad.write_text(BAD)
    fixed.write_text(FIXED)
    first = ingest_file(wh, config, "feedback", bad)
    assert (first.accepted, first.quarantined) == (1, 4)
    # line 6 repeats r1 of line 2, kept in the same batch: nothing left to fix
    assert _states(wh) == {
        3: ("open", None),
        4: ("open", None),
        5: ("open", None),
        6: ("superseded", first.batch_id),
    }
    second = ingest_file(wh, config, "feedback", fixed)
    assert second.accepted == 2
    assert _states(wh) == {
        3: ("superseded", second.batch_id),
        4: ("open", None),  # S9 is still unknown: its row was not brought again
        5: ("superseded", second.batch_id),
        6: ("superseded", first.batch_id),
    }
    report = status_report(wh, 20)
    assert (report["quarantine_open"], report["quarantine_superseded"]) == (1, 3)
    assert clear_quarantine(wh, superseded=True).cleared == 3
    assert _states(wh) == {4: ("open", None)}
    assert clear_quarantine(wh, batch=first.batch_id).cleared == 1
    assert wh.count("quarantine") == 0
    batches = wh.table("batches").execute().set_index("batch_id")
    assert batches.loc[first.batch_id, "rows_quarantined"] == 4  # the record keeps its counts


def test_units_and_metrics_rows_are_superseded_by_their_keys(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    units = tmp_path / "u.csv"
    units.write_text("unit_id,name,level,parent_id\nS7,Seven,store,D7\n")
    ingest_file(wh, config, "units", units)
    units.write_text("unit_id,name,level,parent_id\nS7,Seven,store,D2\n")
    fixed = ingest_file(wh, config, "units", units)
    metrics = tmp_path / "m.csv"
    metrics.write_text("observed_at,metric,unit_id,value,platform\n2026-09-01,wait,S1,,ios\n")
    ingest_file(wh, config, "metrics", metrics)
    metrics.write_text("observed_at,metric,unit_id,value,platform\n2026-09-01,wait,S1,3,ios\n")
    again = ingest_file(wh, config, "metrics", metrics)
    rows = quarantine_with_state(wh).execute().set_index("kind")
    assert rows.loc["units", "superseded_by"] == fixed.batch_id
    assert rows.loc["metrics", "superseded_by"] == again.batch_id


def test_clear_needs_a_choice_and_a_real_batch(wh: Warehouse) -> None:
    with pytest.raises(QueryError, match="say what to clear"):
        clear_quarantine(wh)
    with pytest.raises(QueryError, match="there is no batch 99"):
        clear_quarantine(wh, batch=99)


def test_unknown_customers_are_kept_counted_and_reported(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    customers = tmp_path / "c.csv"
    customers.write_text("customer_id,home_unit_id,joined_at\nc1,S1,2026-01-01\n")
    ingest_file(wh, config, "customers", customers)
    feedback = tmp_path / "f.csv"
    feedback.write_text(
        "response_id,unit_id,responded_at,customer_id,ltr\n"
        "r1,S1,2026-09-01,c1,10\nr2,S1,2026-09-01,c2,9\nr3,S1,2026-09-02,c3,9\n"
        "r4,S2,2026-09-03,,10\nr5,S2,2026-09-03,c2,8\n"
    )
    result = ingest_file(wh, config, "feedback", feedback)
    assert (result.accepted, result.unknown_customers) == (5, 3)
    assert "3 accepted rows name a customer_id not in customers" in result.summary()
    assert status_report(wh, 5)["unknown_customers"]["feedback"] == 3
    customers.write_text("customer_id,home_unit_id,joined_at\nc2,S1,2026-01-01\n")
    ingest_file(wh, config, "customers", customers)  # customers may arrive later
    assert status_report(wh, 5)["unknown_customers"]["feedback"] == 1


def test_quarantine_commands(workspace: Workspace, wh: Warehouse, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    ingest_file(wh, workspace.config, "feedback", bad)
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(FIXED)
    ingest_file(wh, workspace.config, "feedback", fixed)
    wh.close()
    runner, where = CliRunner(), ["--workspace", str(workspace.root)]
    listed = runner.invoke(app, ["quarantine", "list", "--state", "open", "-f", "json", *where])
    assert listed.exit_code == 0, listed.output
    assert [r["line"] for r in json.loads(listed.output)] == [4]
    status = runner.invoke(app, ["status", *where])
    assert "1 open, 3 superseded" in status.output
    cleared = runner.invoke(app, ["quarantine", "clear", "--superseded", *where])
    assert cleared.exit_code == 0, cleared.output
    assert "Cleared 3 quarantined rows; 1 remain." in cleared.output
    refused = runner.invoke(app, ["quarantine", "clear", *where])
    assert isinstance(refused.exception, QueryError)  # main() prints it and exits 2

"""Forgetting a customer, on every backend: no table holds their id or their words afterwards,
the ledger's and the scorecard's numbers do not change, a second forget changes nothing and
says so, an unknown id is refused, and a failure half-way leaves everything as it was."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import earnright
import earnright.customers.forget as forget_module
from earnright.cli import app, main
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.warehouse import STAGE_PREFIX
from earnright.workspace import Workspace

pytestmark = pytest.mark.usefixtures("backend")

WORDS = ("the queue was awful", "Great pharmacist, thanks", "moved to Leeds")
CUSTOMERS = "customer_id,home_unit_id,joined_at,segment,email\n" + "".join(
    f"{c},{'S1' if i % 2 else 'S2'},2026-01-01,{'gold' if i <= 6 else 'silver'},{c}@example.com\n"
    for i, c in enumerate(["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c10"], start=1)
)
TRANSACTIONS = "transaction_id,customer_id,unit_id,occurred_at,amount\n" + "".join(
    f"t{c}{m},{c},S1,2026-{m:02d}-0{1 + i % 5}T10:00:00,{10 + 3 * i + m}\n"
    for i, c in enumerate(["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c10"])
    for m in range(1, 8)
    if not (c == "c1" and m > 3)  # c1 stops buying in March
)
FEEDBACK = f"""response_id,unit_id,responded_at,customer_id,comment,ltr
r1,S1,2026-02-03T10:00:00,c1,"Mail me at ana@example.com, {WORDS[0]}",2
r2,S1,2026-03-03T10:00:00,c1,"{WORDS[1]}",10
r3,S1,2026-03-04T10:00:00,c10,fine,8
r4,S1,2026-03-05T10:00:00,c2,,9
r5,S1,2026-03-06T10:00:00,c1,"{WORDS[0]} again",12
"""
INVITATIONS = """invitation_id,unit_id,customer_id,sent_at
i1,S1,c1,2026-02-01T09:00:00
i2,S1,c10,2026-03-01T09:00:00
i3,S1,c2,2026-03-01T09:00:00
"""
LOSS_CALLS = f"""customer_id,called_at,caller,outcome
c1,2026-06-10T10:00:00,ana,{WORDS[2]}
"""
BAD_TRANSACTIONS = """transaction_id,customer_id,unit_id,occurred_at,amount
tx1,c1,S1,2026-03-09T10:00:00,lots
tx2,c10,S1,2026-03-09T10:00:00,lots
"""


def _company(workspace: Workspace) -> Path:
    data = workspace.root.parent
    files = [("customers", CUSTOMERS), ("transactions", TRANSACTIONS), ("feedback", FEEDBACK),
             ("invitations", INVITATIONS), ("loss_calls", LOSS_CALLS)]  # fmt: skip
    spark = workspace.root / "spark-warehouse"
    made = data.parent / "forget-company-spark"  # Spark: ingested once, then copied
    if spark.is_dir() and made.is_dir():
        shutil.rmtree(spark)
        shutil.copytree(made, spark)
        return workspace.root
    with workspace.warehouse() as wh:
        ingest_file(wh, workspace.config, "units", data / "units.csv")
        for kind, text in [*files, ("transactions", BAD_TRANSACTIONS)]:
            path = data / f"{kind}{len(text)}.csv"
            path.write_text(text)
            ingest_file(wh, workspace.config, kind, path)
    if spark.is_dir():
        shutil.copytree(spark, made)
    return workspace.root


def _everything(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as text, in a fixed order."""
    ws = earnright.open_workspace(root)
    out = {}
    with ws.warehouse() as wh:
        for name in sorted(wh.list_tables()):
            if name.startswith(STAGE_PREFIX):
                continue
            frame = wh.table(name).execute()
            frame = frame.astype(object).where(frame.notna(), None).map(str)
            out[name] = frame.sort_values(list(frame.columns)).to_dict("records")
    return out


def _numbers(ws: earnright.Workspace) -> list[Any]:
    return [ws.assets().to_dict(), ws.assets(by="segment").to_dict(), ws.scorecard().to_dict()]


def test_forget_erases_the_customer_and_keeps_the_numbers(workspace: Workspace) -> None:
    root = _company(workspace)
    ws = earnright.open_workspace(root)
    before, rows_before = _numbers(ws), _everything(root)
    assert any('"c1"' in str(r) for r in rows_before["quarantine"])  # the bad row, as read
    done = ws.forget("c1", reason="erasure request from c1 (c1@example.com)", by="dpo")
    assert not done.already and done.requested_by == "dpo"
    assert done.tables == {"customers": 1, "feedback": 2, "invitations": 1, "loss_calls": 1,
                           "quarantine": 2, "transactions": 3}  # fmt: skip
    after = _everything(root)
    text = json.dumps(after)
    for value in [r for rows in after.values() for row in rows for r in row.values()]:
        assert value != "c1"
    assert '\\"c1\\"' not in text and "c1@example.com" not in text
    assert not any(w in text for w in WORDS)
    assert _numbers(ws) == before  # ledger, ledger by segment, scorecard
    # c10 (an id that starts like c1) and everyone else untouched
    for table in ("customers", "transactions", "invitations", "feedback"):
        others = [r for r in rows_before[table] if r["customer_id"] != "c1"]
        assert [r for r in after[table] if not r["customer_id"].startswith("anon-")] == others
    # one pseudonym across the tables; the common segment kept, the rare e-mail erased
    (me,) = [r for r in after["customers"] if r["customer_id"].startswith("anon-")]
    assert me["segment"] == "gold" and me["email"] == "None"
    assert {r["customer_id"] for r in after["transactions"]} >= {me["customer_id"]}
    (record,) = ws.forgotten().to_dict()
    assert record["requested_by"] == "dpo" and record["rows"] == 10
    assert "c1" not in record["reason"] and "[EMAIL]" in record["reason"]


def test_a_second_forget_changes_nothing_and_says_when(workspace: Workspace) -> None:
    root = _company(workspace)
    ws = earnright.open_workspace(root)
    first = ws.forget("c1", by="dpo")
    rows = _everything(root)
    again = ws.forget(" c1 ", by="someone else")
    assert again.already and again.forget_id == first.forget_id and again.tables == first.tables
    assert "already forgotten on " + first.forgotten_at in again.notes[0]
    assert _everything(root) == rows
    done = CliRunner().invoke(app, ["forget", "c1", "-w", str(root)])
    assert done.exit_code == 0 and "already forgotten" in done.stderr


def test_an_unknown_customer_is_refused(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _company(workspace)
    with pytest.raises(QueryError, match="no customer 'c99' in any table") as err:
        earnright.open_workspace(root).forget("c99")
    assert err.value.argument == "customer"
    monkeypatch.setattr(sys, "argv", ["earnright", "forget", "c99", "-w", str(root)])
    with pytest.raises(SystemExit) as done:  # the installed command's error handling
        main()
    assert done.value.code == 2
    assert "no customer 'c99' in any table" in " ".join(capsys.readouterr().err.split())
    assert len(earnright.open_workspace(root).forgotten()) == 0


def test_a_failure_half_way_leaves_everything_as_it_was(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _company(workspace)
    rows = _everything(root)

    def broken(customer_id: str, salt: str) -> str:  # the record is the last write
        raise RuntimeError("disk full")

    monkeypatch.setattr(forget_module, "id_hash", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        earnright.open_workspace(root).forget("c1", by="dpo")
    assert _everything(root) == rows


def test_the_command_prints_the_record_as_json(workspace: Workspace) -> None:
    root = _company(workspace)
    done = CliRunner().invoke(
        app, ["forget", "c10", "--reason", "asked", "--by", "dpo", "-w", str(root), "--format",
              "json"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    assert shown["tables"]["customers"] == 1 and shown["reason"] == "asked"
    listed = CliRunner().invoke(app, ["forgotten", "-w", str(root), "--format", "json"])
    (record,) = json.loads(listed.stdout)
    assert record["forget_id"] == shown["forget_id"]
    assert pd.Timestamp(record["forgotten_at"]) == pd.Timestamp(shown["forgotten_at"])

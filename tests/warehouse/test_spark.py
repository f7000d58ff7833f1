"""The Spark warehouse's own promises: the commit is one manifest rename (a process killed after
its Parquet segments are written and before the rename leaves nothing visible, and the next
writer sweeps the segments), writers take turns, and the URL says where everything lives."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from earnright.config import Config
from earnright.ingest import ingest_file
from earnright.warehouse import connect
from earnright.warehouse.spark import UniqueViolation, spark_location
from earnright.warehouse.sparkstore import MANIFEST
from earnright.workspace import find_workspace, init_workspace
from tests.conftest import SPARK_URL, UNITS_CSV, with_url

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from earnright.ingest import ingest_file
    from earnright.warehouse import sparkstore
    from earnright.workspace import find_workspace

    def die(self, state):  # the segments are on disk; the manifest is not replaced
        print("segments", len(self.written), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    sparkstore.Store.replace_manifest = die
    ws = find_workspace(Path(sys.argv[1]))
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "feedback", Path(sys.argv[2]))
    """
)

FEEDBACK = """response_id,unit_id,responded_at,channel,ltr
r1,S1,2026-01-05,survey,9
r2,S2,2026-01-06,survey,3
r3,S3,2026-01-07,survey,eleven
r4,S9,2026-01-08,survey,7
"""


def test_spark_urls_name_the_master_the_directory_and_the_settings(tmp_path: Path) -> None:
    assert spark_location("spark:///wh", tmp_path) == ("local[*]", tmp_path / "wh", {})
    assert spark_location("spark:////abs/wh?master=local[2]&spark.driver.memory=2g", tmp_path) == (
        "local[2]",
        Path("/abs/wh"),
        {"spark.driver.memory": "2g"},
    )
    assert spark_location("spark://head:7077//shared/wh", tmp_path)[:2] == (
        "spark://head:7077",
        Path("/shared/wh"),
    )
    assert spark_location("sc://head:15002//shared/wh", tmp_path)[0] == "sc://head:15002"


@pytest.mark.slow
def test_a_batch_killed_before_the_manifest_rename_leaves_nothing(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", with_url(Config(), SPARK_URL))
    (tmp_path / "units.csv").write_text(UNITS_CSV)
    (tmp_path / "feedback.csv").write_text(FEEDBACK)
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", tmp_path / "units.csv")
    root = ws.root / "spark-warehouse"
    before = (root / MANIFEST).read_bytes()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(ws.root), str(tmp_path / "feedback.csv")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    written = int(child.stdout.split()[-1])
    assert written >= 3  # the feedback rows, the quarantine rows and the batch were on disk
    assert (root / MANIFEST).read_bytes() == before
    named = {s for t in json.loads(before)["tables"].values() for s in t["segments"]}
    on_disk = {f"data/{p.parent.name}/{p.name}" for p in (root / "data").glob("*/*")}
    assert len(on_disk - named) >= written

    ws = find_workspace(ws.root)
    with ws.warehouse() as wh:  # a writer opens: the killed batch's segments are swept
        on_disk = {f"data/{p.parent.name}/{p.name}" for p in (root / "data").glob("*/*")}
        assert on_disk == named
        assert wh.count("feedback") == 0 and wh.count("quarantine") == 0
        assert list(wh.table("batches").kind.execute()) == ["units"]
        first = ingest_file(wh, ws.config, "feedback", tmp_path / "feedback.csv")
        again = ingest_file(wh, ws.config, "feedback", tmp_path / "feedback.csv")
        assert (first.accepted, first.quarantined) == (2, 2)
        assert again.accepted == 0
        assert wh.count("feedback") == 2 and wh.count("quarantine") == 2
        bad = wh.table("quarantine").execute().sort_values("line")
        assert bad.line.tolist()[:2] == [4, 5]
        assert bad.field.tolist()[:2] == ["ltr", "unit_id"]
        assert "eleven" in bad.raw.iloc[0] and "S9" in bad.reason.iloc[1]


def test_spark_writers_take_turns(tmp_path: Path) -> None:
    """A second writer waits for the first one's commit, then sees its rows."""
    with connect(SPARK_URL, tmp_path) as one, connect(SPARK_URL, tmp_path) as two:
        done: list[int] = []

        def second() -> None:
            with two.transaction():
                done.append(two.count("units"))
                two.insert("units", {"unit_id": ["B"], "level": ["store"]})

        with one.transaction():
            one.insert("units", {"unit_id": ["A"], "level": ["store"]})
            waiter = threading.Thread(target=second)
            waiter.start()
            time.sleep(2)
            assert not done  # blocked on the writer lock
        waiter.join(timeout=120)
        assert done == [1]
        assert sorted(one.table("units").unit_id.execute()) == ["A", "B"]


def test_a_unique_index_refuses_a_repeated_key_and_the_transaction_rolls_back(
    tmp_path: Path, spark_migrated: Path
) -> None:
    """Migration 14's unique indexes are kept in the manifest and checked by every append, as
    DuckDB and PostgreSQL refuse a second row with the key: against the table, within one
    insert, and through every insert path; a key with a null part never clashes."""
    shutil.copytree(spark_migrated, tmp_path / "spark-warehouse")
    at = datetime(2026, 9, 1, 9, 0)

    def answer(invitation: str | None, response: str) -> dict[str, object]:
        return {"invitation_id": invitation, "response_id": response, "channel": "form",
                "answered_at": at, "batch_id": 1}  # fmt: skip

    with connect(SPARK_URL, tmp_path) as wh:
        manifest = json.loads((tmp_path / "spark-warehouse" / MANIFEST).read_text())
        assert manifest["tables"]["survey_answers"]["unique"] == {
            "survey_answers_once": ["invitation_id"]
        }
        wh.insert_rows("survey_answers", [answer("inv-1", "r1"), answer(None, "n1")])
        clash = r"invitation_id='inv-1'\) violates the unique index survey_answers_once"
        with pytest.raises(UniqueViolation, match=clash), wh.transaction():
            wh.insert_rows("units", [{"unit_id": "X", "level": "store"}])
            wh.insert_rows("survey_answers", [answer("inv-1", "r2")])
        with pytest.raises(UniqueViolation, match="inv-2"):  # twice in one insert
            wh.insert("survey_answers", pd.DataFrame([answer("inv-2", "a"), answer("inv-2", "b")]))
        with pytest.raises(UniqueViolation, match="inv-1"):  # INSERT … SELECT
            wh.execute_sql("INSERT INTO survey_answers SELECT * FROM survey_answers LIMIT 1")
        wh.insert_rows("survey_answers", [answer("inv-2", "r3"), answer(None, "n2")])
        rows = wh.table("survey_answers").execute().sort_values("response_id")
        assert rows.response_id.tolist() == ["n1", "n2", "r1", "r3"]
        assert wh.count("units") == 0  # the failed transaction's other write rolled back too

"""The command line, run as a user runs it: the installed `earnright` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import UNITS_CSV

EARNRIGHT = str(Path(sys.executable).with_name("earnright"))
FEEDBACK = """response_id,unit_id,responded_at,ltr,osat,q_staff
a1,S1,2026-09-01,10,5,5
a2,S1,2026-09-02,9,4,4
a3,S1,2026-09-03,3,2,2
a4,S2,2026-09-03,8,4,3
a5,S2,2026-08-30,7,3,3
a6,S2,2026-08-30,70,3,3
"""


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EARNRIGHT, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    (root / "units.csv").write_text(UNITS_CSV)
    (root / "feedback.csv").write_text(FEEDBACK)
    assert run("init", "ws", cwd=root).returncode == 0
    ws = root / "ws"
    assert "# earnright workspace config" in (ws / "earnright.toml").read_text()
    done = run("ingest", "units", "units.csv", "--workspace", "ws", cwd=root)
    assert done.returncode == 0, done.stderr
    done = run("ingest", "feedback", "feedback.csv", cwd=root, env={"EARNRIGHT_WORKSPACE": str(ws)})
    assert done.returncode == 0, done.stderr
    assert "accepted 5 as batch 2; quarantined 1 (ltr out of scale: 1)" in done.stdout
    return ws


def test_scorecard_json_has_the_documented_fields(loaded: Path) -> None:
    done = run("scorecard", "--format", "json", cwd=loaded)
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    fields = {"unit_id", "level", "period", "n", "nps", "nps_low", "nps_high"}
    fields |= {"csat", "csat_low", "csat_high", "response_rate"}
    assert all(fields <= set(r) for r in records)
    s1 = next(r for r in records if r["unit_id"] == "S1" and r["period"] == "2026-09")
    assert s1["response_rate"] is None  # no invitations: unknown, not zero
    # 3 answers, below [listening] min_n = 5: the n is shown, the score and all it implies not
    hidden = ("nps", "nps_low", "nps_high", "promoters", "detractors", "csat", "q_staff_mean")
    assert s1["n"] == 3 and all(s1[k] is None for k in hidden)
    done = run(
        "scorecard", "--level", "company", "--format", "json", "--grain", "quarter", cwd=loaded
    )
    (company,) = json.loads(done.stdout)
    assert (company["n"], company["nps"]) == (5, pytest.approx(20.0))  # 2 promoters, 1 detractor
    assert company["nps_low"] < company["nps"] < company["nps_high"]


def test_scorecard_levels_periods_and_files(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "card.parquet"
    args = ["--level", "region", "--period", "2026-08", "--format", "parquet", "--output", str(out)]
    done = run("scorecard", *args, cwd=loaded)
    assert done.returncode == 0, done.stderr
    frame = pd.read_parquet(out)
    assert list(frame.unit_id) == ["R1"] and list(frame.period) == ["2026-08"]
    assert frame.n.iloc[0] == 1
    quarter = run("scorecard", "--level", "company", "--grain", "quarter", "-f", "csv", cwd=loaded)
    assert pd.read_csv(pd.io.common.StringIO(quarter.stdout)).period.tolist() == ["2026-Q3"]
    table = run("scorecard", cwd=loaded)
    assert "S1" in table.stdout and "nps_low" in table.stdout


def test_status_reports_tables_batches_and_quarantine(loaded: Path) -> None:
    done = run("status", "--format", "json", cwd=loaded)
    report = json.loads(done.stdout)
    assert report["tables"]["feedback"] == 5 and report["tables"]["units"] == 8
    assert [b["kind"] for b in report["batches"]] == ["units", "feedback"]
    assert report["quarantined_rows"] == 1
    (row,) = report["quarantine_recent"]
    assert (row["line"], row["field"]) == (7, "ltr")
    assert "out of scale: 70.0 (expected 0 to 10)" in row["reason"]
    assert "Quarantine" in run("status", cwd=loaded).stdout


def test_user_errors_are_one_clear_message(loaded: Path, tmp_path: Path) -> None:
    nowhere = run("scorecard", cwd=tmp_path)
    assert nowhere.returncode == 2
    assert "no earnright workspace at" in nowhere.stderr and "earnright init" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    bad = run("scorecard", "--period", "Sept", cwd=loaded)
    assert bad.returncode == 2 and "expected e.g. 2026-09" in bad.stderr
    missing = run("ingest", "feedback", str(tmp_path / "nope.csv"), cwd=loaded)
    assert missing.returncode == 2 and "nope.csv: no such file" in missing.stderr
    parquet = run("scorecard", "--format", "parquet", cwd=loaded)
    assert parquet.returncode == 2 and "--output" in parquet.stderr


@pytest.mark.parametrize("command", ["init", "demo", "ingest", "status", "scorecard"])
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    done = run(command, "--help", cwd=tmp_path)
    assert done.returncode == 0 and "Usage" in done.stdout


def test_error_messages_keep_their_square_brackets(loaded: Path, tmp_path: Path) -> None:
    """The terminal formatter must not eat `[sources.NAME]` or `[[questions]]` as markup."""
    extra = tmp_path / "units_extra.csv"
    extra.write_text("unit_id,name,level,parent_id,manager\nS9,Store 9,store,D1,Ann\n")
    done = run("ingest", "units", str(extra), cwd=loaded)
    assert done.returncode == 2, done.stdout
    assert "Drop them with `ignore` in a [sources.NAME] mapping" in done.stderr

"""`earnright watch --inbox`: a file that fails is set aside with its reason; the cycle goes on."""

from __future__ import annotations

import json
from pathlib import Path

from earnright.config import Config
from earnright.workspace import init_workspace
from tests.cli.test_commands import run
from tests.conftest import UNITS_CSV

CONFIG = {
    "journey": {
        "stages": [
            {
                "id": "order",
                "name": "I order in the app",
                "moments": [
                    {
                        "id": "order_in_app",
                        "name": "Order in the app",
                        "indicators": [{"id": "app_ok", "metric": "app_requests"}],
                    }
                ],
            }
        ]
    }
}


def _metrics(day: int) -> str:
    """A day of hourly app requests at stores S1-S3 (95-98 of 100 good)."""
    rows = [
        f"2026-08-{day:02d}T{h:02d}:00:00,app_requests,S{s},{95 + s},100"
        for s in (1, 2, 3)
        for h in range(24)
    ]
    return "observed_at,metric,unit_id,good,total\n" + "\n".join(rows) + "\n"


def test_bad_files_in_the_inbox_are_set_aside_and_the_good_ones_still_go_in(
    tmp_path: Path,
) -> None:
    ws = init_workspace(tmp_path / "ws", Config.model_validate(CONFIG))
    (tmp_path / "units.csv").write_text(UNITS_CSV)
    assert run("ingest", "units", str(tmp_path / "units.csv"), cwd=ws.root).returncode == 0
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "README.txt").write_text("Drop the hourly metrics exports here.\n")
    (inbox / "a_wrong_kind.csv").write_text("response_id,ltr\n1,9\n")
    (inbox / "b_day1.csv").write_text(_metrics(1))
    (inbox / "c_day2.csv").write_text(_metrics(2))
    (inbox / "done").mkdir()
    (inbox / "done" / "c_day2.csv").write_text("an earlier file of the same name")

    done = run("watch", "--once", "--inbox", str(inbox), "--no-deliver", "-f", "json", cwd=ws.root)
    assert done.returncode == 0, done.stderr
    cycle = json.loads(done.stdout)
    assert cycle["inbox"]["ingested"] == ["b_day1.csv", "c_day2.csv"]
    rejected = {r["file"]: r["reason"] for r in cycle["inbox"]["rejected"]}
    assert set(rejected) == {"README.txt", "a_wrong_kind.csv"}
    assert all(reason and "Traceback" not in reason for reason in rejected.values())
    assert "rejected README.txt: " in done.stderr and "rejected a_wrong_kind.csv: " in done.stderr
    aside = inbox / "rejected"
    assert (aside / "README.txt").read_text() == "Drop the hourly metrics exports here.\n"
    assert (aside / "README.txt.reason.txt").read_text().strip() == rejected["README.txt"]
    assert (aside / "a_wrong_kind.csv.reason.txt").exists()
    assert sorted(p.name for p in inbox.iterdir()) == ["done", "rejected"]
    kept = {p.name for p in (inbox / "done").iterdir()}
    (renamed,) = kept - {"b_day1.csv", "c_day2.csv"}  # nothing overwritten
    assert renamed.startswith("c_day2.") and renamed.endswith(".csv") and len(kept) == 3
    assert (inbox / "done" / "c_day2.csv").read_text() == "an earlier file of the same name"
    with ws.warehouse(read_only=True) as wh:
        assert wh.count("metrics") == 2 * 24 * 3
    assert cycle["detection"]["data_until"] is not None  # detection ran after the bad files


def test_an_interval_that_is_not_a_finite_number_of_seconds_is_refused(tmp_path: Path) -> None:
    for bad in ("nan", "inf", "1e308"):
        done = run("watch", "--interval", bad, cwd=tmp_path)
        assert done.returncode == 2 and "--interval" in done.stderr, (bad, done.stderr)

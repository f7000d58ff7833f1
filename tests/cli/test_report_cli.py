"""``earnright report`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_commands import run


def test_report_writes_a_page_per_unit_and_says_where(loaded: Path, tmp_path: Path) -> None:
    done = run("report", "--out", str(tmp_path / "site"), cwd=loaded)
    assert done.returncode == 0, done.stderr
    assert "Wrote 8 pages" in done.stdout and "pages: done" in done.stderr
    store = json.loads((tmp_path / "site/units/S1/page.json").read_text())
    assert store["unit_id"] == "S1" and store["period"] == "2026-08"  # the latest complete month


def test_an_unknown_unit_exits_2_naming_it(loaded: Path, tmp_path: Path) -> None:
    done = run("report", "--out", str(tmp_path / "site"), "--unit", "S9", cwd=loaded)
    assert done.returncode == 2
    assert "no unit 'S9'" in done.stderr and "Traceback" not in done.stderr

"""`earnright credibility` and `earnright needed` on a small loaded workspace."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_commands import run


def test_credibility_suppresses_below_min_n(loaded: Path) -> None:
    done = run("credibility", "--period", "2026-09", "-f", "json", cwd=loaded)
    assert done.returncode == 0, done.stderr
    rows = {(r["unit_id"], r["metric"]): r for r in json.loads(done.stdout)}
    s1 = rows[("S1", "nps")]  # 3 answers, below the default minimum of 5
    assert s1["suppressed"] is True and s1["estimate"] is None
    assert s1["reason"] == "n=3 below the minimum of 5"


def test_needed_reports_a_target_per_unit(loaded: Path) -> None:
    # the data end 2026-09-03: by default only August, the complete month, would count
    done = run("needed", "--level", "company", "--period", "2026-09", "-f", "json", cwd=loaded)
    assert done.returncode == 0, done.stderr
    (company,) = json.loads(done.stdout)
    assert company["unit_id"] == "C" and company["needed"] > 100

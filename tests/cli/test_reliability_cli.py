"""``earnright reliability`` on a small hand-made workspace, through Typer's test runner."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from earnright.cli.output import user_message
from earnright.cli.reliability import register
from earnright.errors import ConfigError, QueryError
from earnright.ingest import ingest_file
from earnright.reliability.budget import FRAME_COLUMNS, ReliabilityReport
from earnright.workspace import Workspace, init_workspace
from tests.conftest import UNITS_CSV
from tests.reliability.test_indicators import indicator, make_config, wait_rows

app = typer.Typer()
register(app)


@app.callback()
def _root() -> None:
    """A group, so the command is invoked by name as in the real app."""


@pytest.fixture
def rated(tmp_path: Path) -> Path:
    """A workspace with two indicators on one moment and the hand-made wait readings."""
    config = make_config(indicator(), indicator(id="fast_wait", threshold=20.0, dimensions=[]))
    ws = init_workspace(tmp_path / "rated", config)
    (tmp_path / "units.csv").write_text(UNITS_CSV)
    (tmp_path / "metrics.csv").write_text("\n".join(wait_rows()) + "\n")
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", tmp_path / "units.csv")
        ingest_file(wh, ws.config, "metrics", tmp_path / "metrics.csv")
    return ws.root


def run(root: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["reliability", "-w", str(root), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_is_the_report(rated: Path) -> None:
    report = ReliabilityReport.from_dict(json.loads(run(rated, "--format", "json")))
    assert report.at.isoformat() == "2026-09-05T00:00:00"
    moment = report.moments[0]
    assert (moment.moment, moment.rating, moment.broken_segments) == ("checkout", "broken", 1)
    wait, fast = moment.indicators
    assert (wait.indicator, fast.indicator) == ("short_wait", "fast_wait")
    s1 = next(s for s in wait.segments if s.segment == "store=S1")
    assert (s1.good, s1.total, s1.rating, s1.alerts_firing) == (17, 20, "broken", ["fast"])
    assert (fast.overall.good, fast.overall.total, fast.overall.rating) == (44, 44, "reliable")


def test_csv_has_a_row_per_indicator_and_segment(rated: Path) -> None:
    frame = pd.read_csv(io.StringIO(run(rated, "--format", "csv")), keep_default_na=False)
    assert list(frame.columns) == FRAME_COLUMNS
    assert list(zip(frame.indicator, frame.segment, strict=True)) == [
        ("short_wait", ""),
        ("short_wait", "store=S1"),
        ("short_wait", "store=S2"),
        ("short_wait", "store=S3"),
        ("fast_wait", ""),
    ]
    assert frame.rating.tolist() == ["broken", "broken", "at risk", "no data", "reliable"]
    overall = pd.read_csv(io.StringIO(run(rated, "-f", "csv", "--no-segments")))
    assert overall.segment.isna().all() and len(overall) == 2


def test_table_shows_moments_indicators_and_weak_segments(rated: Path) -> None:
    text = run(rated)
    assert "Checkout" in text and "1 broken, 1 at risk" in text
    assert "short_wait" in text and "85.00%" in text and "90.0%" in text and "-50%" in text
    assert "store=S1" in text and "store=S2" in text and "3.00×" in text
    assert "store=S3" not in text  # no data: only broken and at-risk segments are listed
    assert "store=S1" not in run(rated, "--no-segments")


def test_period_at_indicator_and_output(rated: Path, tmp_path: Path) -> None:
    data = json.loads(run(rated, "-f", "json", "--period", "2026-W36", "--grain", "week"))
    assert (data["period_start"], data["period_end"]) == (
        "2026-08-31T00:00:00",
        "2026-09-07T00:00:00",
    )
    data = json.loads(run(rated, "-f", "json", "--at", "2026-09-04", "--indicator", "fast_wait"))
    [fast] = data["moments"][0]["indicators"]
    assert (fast["indicator"], fast["window_start"]) == ("fast_wait", "2026-08-31T00:00:00")
    assert fast["overall"]["total"] == 33  # days 1-3
    out = tmp_path / "r.json"
    assert run(rated, "-f", "json", "-o", str(out)) == ""
    assert ReliabilityReport.from_dict(json.loads(out.read_text())).moments


def test_user_errors(rated: Path, workspace: Workspace) -> None:
    def fails(root: Path, *args: str) -> BaseException | None:
        result = CliRunner().invoke(app, ["reliability", "-w", str(root), *args])
        assert result.exit_code != 0
        return result.exception

    none = fails(workspace.root)
    assert isinstance(none, ConfigError) and "docs/reliability.md" in str(none)
    assert "[[journey.stages.moments.indicators]]" in str(none)
    both = fails(rated, "--period", "2026-09", "--at", "2026-09-04")
    assert isinstance(both, QueryError) and "not both" in str(both)
    odd = fails(rated, "--at", "yesterday")
    assert isinstance(odd, QueryError) and "--at: 'yesterday'" in user_message(odd)
    unknown = fails(rated, "--indicator", "nope")
    assert isinstance(unknown, ConfigError) and "short_wait" in str(unknown)

"""``earnright changes`` on a small demo company, through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from earnright.cli.changes import register
from earnright.errors import QueryError
from earnright.listening.changes import CHANGE_COLUMNS
from earnright.services.demo import run_demo

app = typer.Typer()
register(app)


@app.callback()
def _root() -> None:
    """A group, so the command is invoked by name as in the real app."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_demo(tmp_path_factory.mktemp("demo") / "ws", stores=20, months=3, seed=3).workspace


def invoke(demo: Path, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["changes", "-w", str(demo), *args])
    assert result.exit_code == 0, result.output
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


def test_json_lists_flagged_units_and_all_lists_every_unit(demo: Path) -> None:
    every = invoke(demo, "--against", "peers", "--period", "2026-09", "--all", "-f", "json")
    assert len(every) == 20 and all(list(r) == CHANGE_COLUMNS for r in every)
    assert {r["period"] for r in every} == {"2026-09"}
    flagged = invoke(demo, "--against", "peers", "--period", "2026-09", "--format", "json")
    assert flagged == [r for r in every if r["flagged"]]
    assert flagged, "the demo's stores differ from their peers: some must be flagged"
    for r in flagged:
        assert isinstance(r["q_value"], float) and r["q_value"] <= 0.05
        assert r["change"] == pytest.approx(r["estimate"] - r["previous"])
    untested = [r for r in every if r["p_value"] is None]
    assert all(r["q_value"] is None and not r["flagged"] for r in untested)


def test_previous_period_is_the_default_and_period_defaults_to_the_latest(demo: Path) -> None:
    records = invoke(demo, "--all", "--fdr", "0.2", "--min-n", "10", "-f", "json")
    assert {(r["period"], r["against"], r["reference"]) for r in records} == {
        ("2026-09", "previous", "2026-08")
    }
    short = [r for r in records if int(r["n"]) < 10 or int(r["n_previous"]) < 10]
    assert all(
        r["p_value"] is None and "below the minimum of 10" in str(r["reason"]) for r in short
    )


def test_driver_metric_to_a_csv_file_and_a_table(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "changes.csv"
    args = ["changes", "-w", str(demo), "--metric", "q_wait", "--against", "peers", "--all"]
    result = CliRunner().invoke(app, [*args, "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == CHANGE_COLUMNS and set(frame.metric) == {"q_wait"}
    table = CliRunner().invoke(app, ["changes", "-w", str(demo), "--grain", "quarter"])
    assert table.exit_code == 0, table.output
    assert "nps changes by store in 2026-Q3 against previous" in table.stdout
    assert "q_value" in table.stdout and "change_low" in table.stdout


def test_bad_options_are_refused(demo: Path) -> None:
    result = CliRunner().invoke(app, ["changes", "-w", str(demo), "--metric", "q_nope"])
    assert isinstance(result.exception, QueryError) and "expected one of" in str(result.exception)
    result = CliRunner().invoke(app, ["changes", "-w", str(demo), "--period", "2027-01"])
    assert isinstance(result.exception, QueryError) and "in 2027-01" in str(result.exception)
    first = invoke(demo, "--period", "2026-07", "--all", "-f", "json")  # nothing before it
    assert first and all(str(r["reason"]).startswith("not tested: ") for r in first)
    assert all(r["reason"] == "not tested: no answers in 2026-06" for r in first if r["n"] >= 5)
    assert all(r["previous"] is None and r["n_previous"] == 0 for r in first)
    result = CliRunner().invoke(app, ["changes", "-w", str(demo), "--fdr", "0.9"])
    assert result.exit_code == 2 and "--fdr" in result.output

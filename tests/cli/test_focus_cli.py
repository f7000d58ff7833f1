"""``earnright focus`` on a small workspace (Typer's test runner)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from earnright.cli import focus as focus_cli
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.listening.focus import FRAME_COLUMNS, FocusList
from earnright.workspace import init_workspace
from tests.listening.test_focus import LABELS, UNITS, _config, _feedback

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()
    focus_cli.register(app)

    @app.callback()
    def main() -> None:
        """earnright (test)."""

    return app


APP = make_app()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("focus_cli")
    workspace = init_workspace(root / "ws", _config())
    (root / "units.csv").write_text(UNITS)
    _feedback().to_parquet(root / "fb.parquet")
    with workspace.warehouse() as wh:
        ingest_file(wh, workspace.config, "units", root / "units.csv")
        ingest_file(wh, workspace.config, "feedback", root / "fb.parquet")
    return workspace.root


def run(ws: Path, *args: str) -> list[dict[str, object]]:
    done = runner.invoke(APP, ["focus", "--workspace", str(ws), *args, "--format", "json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert isinstance(data, list)
    return data


def test_one_unit_as_json(ws: Path) -> None:
    (found,) = run(ws, "--unit", "S1", "--period", "2026-09")
    result = FocusList.model_validate(found)
    assert result.unit_id == "S1" and result.period == "2026-09"
    assert [i.driver for i in result.items] == ["q_wait", "q_clean"]
    wait = result.items[0]
    assert wait.label == LABELS["q_wait"] and wait.owner == "store-ops"
    assert wait.gap < wait.gap_high < 0 and wait.expected_nps_gain and wait.comments
    assert wait.sentence.startswith("Customers rate") and "Owner: store-ops." in wait.sentence


def test_every_unit_and_the_options(ws: Path) -> None:
    every = run(ws, "--all", "--period", "2026-09", "--grain", "month", "--level", "store")
    assert [f["unit_id"] for f in every] == ["S1", "S2", "S3", "S4", "S5", "S6"]
    assert every[1]["items"] == [] and str(every[1]["message"]).startswith("Nothing credible")
    (one,) = run(ws, "--unit", "S1", "--top", "1", "--comments", "1", "--margin", "0.5")
    assert [(i["driver"], len(i["comments"])) for i in one["items"]] == [("q_wait", 1)]
    (wide,) = run(ws, "--unit", "S1", "--window", "12", "--importance-window", "6", "--no-fdr")
    assert (wide["window_start"], wide["window_end"]) == ("2025-10", "2026-09")
    (quarter,) = run(ws, "--unit", "S1", "--grain", "quarter", "--period", "2026-Q3", "--fdr")
    assert quarter["window_start"] == quarter["window_end"] == "2026-Q3"


def test_table_and_csv(ws: Path, tmp_path: Path) -> None:
    base = ["focus", "--workspace", str(ws), "--all", "--period", "2026-09"]
    done = runner.invoke(APP, base)
    assert done.exit_code == 0, done.output
    assert "q_wait" in done.stdout and "Nothing credible" in done.stdout
    done = runner.invoke(APP, [*base, "--format", "csv"])
    assert done.exit_code == 0, done.output
    frame = pd.read_csv(io.StringIO(done.stdout))
    assert list(frame.columns) == FRAME_COLUMNS and len(frame) == 7
    out = tmp_path / "focus.json"
    done = runner.invoke(APP, [*base, "--format", "json", "--output", str(out)])
    assert done.exit_code == 0 and len(json.loads(out.read_text())) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--unit ID for one unit or --all"),
        (["--unit", "S1", "--all"], "--unit ID for one unit or --all"),
        (["--unit", "S99"], "not in the units table"),
        (["--all", "--level", "company"], "top level"),
        (["--all", "--period", "2026-9"], "not a month"),
    ],
)
def test_user_errors(ws: Path, args: list[str], message: str) -> None:
    done = runner.invoke(APP, ["focus", "--workspace", str(ws), *args])
    assert isinstance(done.exception, QueryError) and message in str(done.exception)

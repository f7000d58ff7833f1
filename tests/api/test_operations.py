"""The operations of a workspace and the capabilities that read any table: ingest, status,
quarantine, watch, detect, localize and drivers of a file, each equal to the CLI's JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import earnright
from earnright.api.operations import detect_file, localize_table
from earnright.services.demo import DemoRun
from tests.api.conftest import cli, same

FEEDBACK = """response_id,unit_id,responded_at,ltr,osat
x1,{store},2026-09-29,10,5
x2,{store},2026-09-29,11,5
"""


def _without_seconds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_ingest_is_the_cli_json_and_says_each_file(
    demo: DemoRun, copy: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    import shutil

    shutil.copytree(copy, other / "ws")
    store = earnright.open_workspace(copy).scorecard(period="2026-09").rows[0]["unit_id"]
    path = tmp_path / "late.csv"
    path.write_text(FEEDBACK.format(store=store))
    said: list[str] = []
    result = earnright.open_workspace(copy).ingest("feedback", [path], say=said.append)
    expected = cli("ingest", "feedback", str(path), "-w", str(other / "ws"))
    assert not same(
        _without_seconds(result.to_dict()), _without_seconds(expected)
    )  # elapsed time aside
    assert (result.rows[0]["accepted"], result.rows[0]["quarantined"]) == (1, 1)
    assert said == result.summaries and "quarantined 1" in said[0]
    again = earnright.open_workspace(copy).ingest("feedback", path)
    assert again.rows[0]["already_ingested_as"] == result.rows[0]["batch_id"]


def test_status_and_quarantine_are_the_cli_json(copy: Path) -> None:
    ws = earnright.open_workspace(copy)
    assert not same(ws.status(limit=5).to_dict(), cli("status", "-w", str(copy), "--limit", "5"))
    assert not same(ws.quarantine().to_dict(), cli("quarantine", "list", "-w", str(copy)))
    assert ws.clear_quarantine(superseded=True).cleared == 0


def test_one_watch_cycle_is_the_cli_json(demo: DemoRun, copy: Path, tmp_path: Path) -> None:
    import shutil

    twin = tmp_path / "twin"
    shutil.copytree(copy, twin)
    said: list[str] = []
    cycle = earnright.open_workspace(copy).watch(once=True, deliver=False, say=said.append)
    expected = cli("watch", "--once", "--no-deliver", "-w", str(twin))
    assert not same(cycle.to_dict(), expected)
    assert said and said[0].startswith("data until 2026-")
    assert list(cycle.to_frame().columns) == ["incident", "change"]


@pytest.fixture
def series(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    stamps = pd.date_range("2026-03-01", periods=300, freq="h")
    values = 50 + rng.normal(0, 1, len(stamps))
    values[250] += 40
    path = tmp_path / "orders.csv"
    pd.DataFrame({"timestamp": stamps.astype(str), "value": values.round(3)}).to_csv(
        path, index=False
    )
    return path


def test_detect_is_the_cli_json(ws: earnright.Workspace, series: Path) -> None:
    result = ws.detect(series)
    assert not same(result.to_dict(), cli("detect", str(series)))
    frame = result.to_frame()
    assert frame.anomaly_score.idxmax() == 250 and detect_file(series).to_dict() == result.to_dict()


def test_localize_is_the_cli_json_from_a_file_or_a_frame(
    ws: earnright.Workspace, tmp_path: Path
) -> None:
    from tests.cli.test_localize_cli import case_frame

    frame = case_frame()
    path = tmp_path / "case.csv"
    frame.to_csv(path, index=False)
    result = ws.localize(path, details=True)
    assert not same(result.to_dict(), cli("localize", str(path), "--details"))
    assert set(result.to_dict()["root_causes"]) == {"mode=m4&zone=z1", "age=a2"}
    assert localize_table(frame).to_dict()["root_causes"] == result.to_dict()["root_causes"]
    assert list(result.to_frame().cause) == result.to_dict()["root_causes"]


def test_drivers_of_a_file_or_a_frame_is_the_cli_json(
    ws: earnright.Workspace, tmp_path: Path
) -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.standard_normal((300, 2)), columns=["a", "b"])
    frame["y"] = 0.9 * frame.a + 0.1 * frame.b + rng.standard_normal(300)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    result = ws.drivers(source=path, outcome="y", bootstrap=30)
    expected = cli("drivers", "--from", str(path), "--outcome", "y", "--bootstrap", "30")
    assert not same(result.to_dict(), expected)
    assert [d.driver for d in result.results[0].drivers] == ["a", "b"]
    from_frame = ws.drivers(source=frame, outcome="y", drivers="a,b", bootstrap=0)
    assert [d.driver for d in from_frame.results[0].drivers] == ["a", "b"]


def test_the_report_of_any_workspace_is_the_demos_page(
    demo: DemoRun, ws: earnright.Workspace, tmp_path: Path
) -> None:
    """The report service builds the page the demo wrote, from the workspace alone."""
    from earnright.services.report import REPORT_FILES

    report = ws.report(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(REPORT_FILES.values())
    assert report.html == demo.outputs["html"].read_text(encoding="utf-8")
    assert report.month.label == "2026-09" and set(report.scorecard.level) == set(
        ws.config.units.levels
    )

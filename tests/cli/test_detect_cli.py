"""``earnright detect`` on small CSV files (Typer's test runner on a local app)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from earnright.cli import detect as detect_cli
from earnright.errors import IngestError
from earnright.reliability.anomaly import score_series

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()
    detect_cli.register(app)

    @app.callback()
    def main() -> None:
        """earnright (test)."""

    return app


APP = make_app()
SPIKE = 700


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thirty days of hourly values with a daily cycle, one missing value and one spike."""
    rng = np.random.default_rng(5)
    stamps = pd.date_range("2026-03-01", periods=24 * 30, freq="h")
    hour = stamps.hour.to_numpy()
    values = 100 + 20 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 2, len(stamps))
    values[SPIKE] += 60
    text = [f"{v:.3f}" for v in values]
    text[400] = ""
    path = tmp_path_factory.mktemp("detect") / "orders.csv"
    pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": text}).to_csv(
        path, index=False
    )
    return path


def test_csv_out_has_every_row_with_a_score_and_flags_the_spike(series_csv: Path) -> None:
    done = runner.invoke(APP, ["detect", str(series_csv)])
    assert done.exit_code == 0, done.output
    out = pd.read_csv(io.StringIO(done.stdout))
    assert list(out.columns) == ["timestamp", "value", "anomaly_score"]
    assert len(out) == 24 * 30
    assert out["anomaly_score"].between(0, 1).all()
    assert out["anomaly_score"].iloc[400] == 0.0 and np.isnan(out["value"].iloc[400])
    assert out["anomaly_score"].idxmax() == SPIKE and out["anomaly_score"].iloc[SPIKE] >= 0.5
    expected = score_series(pd.to_datetime(out["timestamp"]), out["value"])
    np.testing.assert_allclose(out["anomaly_score"], expected, atol=1e-12)


def test_json_to_a_file(series_csv: Path, tmp_path: Path) -> None:
    target = tmp_path / "scores.json"
    args = ["detect", str(series_csv), "--format", "json", "--output", str(target)]
    done = runner.invoke(APP, args)
    assert done.exit_code == 0, done.output
    rows = json.loads(target.read_text())
    assert len(rows) == 24 * 30 and rows[0]["timestamp"] == "2026-03-01T00:00:00"
    assert rows[400]["value"] is None and rows[400]["anomaly_score"] == 0.0
    assert max(range(len(rows)), key=lambda i: rows[i]["anomaly_score"]) == SPIKE


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,value\n2026-01-01,1\n", "no column timestamp"),
        ("timestamp,value\n2026-01-01,1\n2026-01-02,abc\n", "line 3, value 'abc'"),
        ("timestamp,value\n2026-01-01,1\nyesterday,2\n", "line 3, timestamp 'yesterday'"),
        ("timestamp,value\n2026-01-02,1\n2026-01-01,2\n", "earlier than the row before"),
        ("timestamp,value\n2026-01-01T00:00:00Z,1\n2026-01-01 01:00,2\n", "column timestamp"),
    ],
)
def test_bad_files_are_user_errors_naming_line_and_field(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    done = runner.invoke(APP, ["detect", str(path)])
    assert isinstance(done.exception, IngestError)
    assert message in str(done.exception) and str(path) in str(done.exception)


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    done = runner.invoke(APP, ["detect", str(tmp_path / "none.csv")])
    assert isinstance(done.exception, IngestError) and "no such file" in str(done.exception)

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
from earnright.services.detect import arrival_flags

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
    assert len(rows) == 24 * 30 and rows[0]["timestamp"] == "2026-03-01 00:00:00"  # as given
    assert rows[400]["value"] is None and rows[400]["anomaly_score"] == 0.0
    assert max(range(len(rows)), key=lambda i: rows[i]["anomaly_score"]) == SPIKE


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,value\n2026-01-01,1\n", "no column timestamp"),
        ("timestamp,value\n2026-01-01,1\n2026-01-02,abc\n", "line 3, value 'abc'"),
        ("timestamp,value\n2026-01-01,1\nyesterday,2\n", "line 3, timestamp 'yesterday'"),
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


def test_late_and_duplicate_rows_are_scored_in_file_order_and_counted(tmp_path: Path) -> None:
    """A feed with a row 52 minutes late (NAB's machine_temperature file has 55) and repeated
    times: every row is scored where it arrives, from the rows before it in the file, the
    timestamps come back as written, and stderr counts both kinds."""
    rng = np.random.default_rng(9)
    stamps = pd.date_range("2025-10-01", periods=600, freq="5min")
    text = list(stamps.strftime("%Y-%m-%dT%H:%M:%S"))
    values = 50 + rng.normal(0, 1, len(text))
    text[300] = (stamps[300] - pd.Timedelta(minutes=52)).strftime("%Y-%m-%dT%H:%M:%S")
    text[301] = text[302]  # a duplicate of a row that arrives after it...
    text[450] = text[449]  # ...and a plain repeat
    path = tmp_path / "feed.csv"
    pd.DataFrame({"timestamp": text, "value": values}).to_csv(path, index=False)
    done = runner.invoke(APP, ["detect", str(path)])
    assert done.exit_code == 0, done.output
    out = pd.read_csv(io.StringIO(done.stdout), dtype={"timestamp": str})
    assert list(out["timestamp"]) == text  # 2025-10-01T00:00:00 stays as written
    expected = score_series(pd.to_datetime(text), values)
    np.testing.assert_allclose(out["anomaly_score"], expected, atol=1e-12)
    prefix = score_series(pd.to_datetime(text[:301]), values[:301])
    np.testing.assert_allclose(out["anomaly_score"][:301], prefix, atol=1e-12)
    assert "1 late row(s), earlier than a row before them (first at line 302)" in done.stderr
    assert "2 row(s) repeating the time of the row before them (first at line 304)" in done.stderr


def test_arrival_flags_on_a_hand_made_feed() -> None:
    hours = [3, 1, 3, 4, 1, 4, 5]
    times = np.datetime64("2025-01-01T00:00") + np.array(hours) * np.timedelta64(1, "h")
    late, duplicate = arrival_flags(times)
    assert late.tolist() == [False, True, False, False, True, False, False]
    assert duplicate.tolist() == [False, False, True, False, False, True, False]

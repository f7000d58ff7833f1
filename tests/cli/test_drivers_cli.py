"""``earnright drivers`` on a CSV file and on a workspace (Typer's test runner)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from earnright.cli import drivers as drivers_cli
from earnright.cli.output import user_message
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.listening.shapley import lmg, relative_weights
from earnright.workspace import init_workspace
from tests.listening.test_drivers import SWISS, SWISS_LMG, UNITS, _config, _feedback

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()
    drivers_cli.register(app)

    @app.callback()
    def main() -> None:
        """earnright (test)."""

    return app


APP = make_app()


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(12)
    frame = pd.DataFrame(rng.standard_normal((400, 3)), columns=["price", "speed", "noise"])
    frame["satisfaction"] = 0.9 * frame.price - 0.5 * frame.speed + rng.standard_normal(400)
    frame["region"] = rng.choice(["north", "south", "east", "west", "mid"], 400)
    frame.loc[::40, "speed"] = np.nan
    path = tmp_path_factory.mktemp("csv") / "survey.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_csv_json_has_every_numeric_driver_and_the_exact_decomposition(
    table_csv: tuple[Path, pd.DataFrame],
) -> None:
    path, frame = table_csv
    args = ["drivers", "--from", str(path), "--outcome", "satisfaction", "--format", "json"]
    done = runner.invoke(APP, [*args, "--bootstrap", "50", "--seed", "3"])
    assert done.exit_code == 0, done.output
    (result,) = json.loads(done.stdout)
    complete = frame[["satisfaction", "price", "speed", "noise"]].dropna()
    corr = np.corrcoef(complete.to_numpy().T)
    expected = dict(zip(["price", "speed", "noise"], lmg(corr).values, strict=True))
    weights = dict(zip(["price", "speed", "noise"], relative_weights(corr), strict=True))
    assert result["n"] == len(complete) and result["bootstrap"] == 50
    assert [d["driver"] for d in result["drivers"]] == ["price", "speed", "noise"]
    for d in result["drivers"]:
        assert d["lmg"] == pytest.approx(expected[d["driver"]], abs=1e-12)
        assert d["relative_weight"] == pytest.approx(weights[d["driver"]], abs=1e-12)
        assert d["lmg_low"] <= d["lmg_high"] and d["rw_low"] <= d["rw_high"]
    assert sum(d["lmg"] for d in result["drivers"]) == pytest.approx(result["r2"], abs=1e-12)
    assert sum(d["share"] for d in result["drivers"]) == pytest.approx(1.0)
    by_name = {d["driver"]: d for d in result["drivers"]}
    assert by_name["speed"]["direction"] == "negative"
    assert by_name["price"]["direction"] == "positive"


def test_csv_driver_subset_cluster_and_formats(table_csv: tuple[Path, pd.DataFrame]) -> None:
    path, _ = table_csv
    base = ["drivers", "--from", str(path), "--outcome", "satisfaction"]
    done = runner.invoke(
        APP, [*base, "--drivers", "speed,price", "--cluster", "region", "-f", "json"]
    )
    assert done.exit_code == 0, done.output
    (result,) = json.loads(done.stdout)
    assert {d["driver"] for d in result["drivers"]} == {"speed", "price"}
    assert result["resampled"] == "values of region"
    done = runner.invoke(APP, [*base, "--bootstrap", "0", "--format", "csv"])
    assert done.exit_code == 0, done.output
    rows = pd.read_csv(io.StringIO(done.stdout))
    assert list(rows.driver) == ["price", "speed", "noise"]
    assert rows.lmg_low.isna().all() and {"lmg", "share", "relative_weight"} <= set(rows.columns)
    done = runner.invoke(APP, [*base, "--bootstrap", "20"])
    assert done.exit_code == 0, done.output
    assert "Drivers of satisfaction" in done.stdout and "price" in done.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--from needs --outcome"),
        (["--outcome", "region"], "not a numeric column"),
        (["--outcome", "satisfaction", "--drivers", "region"], "--drivers"),
        (["--outcome", "satisfaction", "--cluster", "nope"], "--cluster: cluster 'nope'"),
        (["--outcome", "satisfaction", "--level", "store"], "with --from the whole file"),
    ],
)
def test_csv_mistakes_are_user_errors(
    table_csv: tuple[Path, pd.DataFrame], extra: list[str], message: str
) -> None:
    done = runner.invoke(APP, ["drivers", "--from", str(table_csv[0]), *extra])
    assert isinstance(done.exception, QueryError)
    assert message in user_message(done.exception)  # as the command line says it


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    args = ["drivers", "--from", str(tmp_path / "no.csv"), "--outcome", "y"]
    done = runner.invoke(APP, args)
    assert isinstance(done.exception, QueryError) and "no such file" in str(done.exception)


@pytest.mark.realdata
def test_swiss_csv_through_the_command_line() -> None:
    if not (SWISS / "swiss.csv").is_file():
        pytest.skip(f"{SWISS} is absent: the relaimpo reference data set is not on this machine")
    args = ["drivers", "--from", str(SWISS / "swiss.csv"), "--outcome", "Fertility", "-f", "json"]
    done = runner.invoke(APP, args)
    assert done.exit_code == 0, done.output
    (result,) = json.loads(done.stdout)
    found = {d["driver"]: d["lmg"] for d in result["drivers"]}
    assert found == pytest.approx(SWISS_LMG, abs=5e-9)
    assert round(result["r2"], 4) == 0.7067


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    ws = init_workspace(root / "ws", _config())
    (root / "units.csv").write_text(UNITS)
    _feedback().to_parquet(root / "fb.parquet")
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", root / "units.csv")
        ingest_file(wh, ws.config, "feedback", root / "fb.parquet")
    return ws.root


def test_workspace_levels_units_and_pooled(workspace: Path) -> None:
    base = ["drivers", "-w", str(workspace), "--bootstrap", "20", "-f", "json"]
    done = runner.invoke(APP, [*base, "--level", "store", "--outcome", "ltr"])
    assert done.exit_code == 0, done.output
    stores = json.loads(done.stdout)
    assert [r["unit_id"] for r in stores] == [f"S{i}" for i in range(1, 7)]
    assert all(0 <= r["shrinkage"] <= 1 and r["parent_id"] in {"R1", "R2"} for r in stores)
    done = runner.invoke(APP, [*base, "--unit", "R2", "--no-shrink", "--period", "2026-07"])
    assert done.exit_code == 0, done.output
    (region,) = json.loads(done.stdout)
    assert region["level"] == "region" and region["shrinkage"] == 0.0
    assert region["period"] == "2026-07" and region["resampled"] == "stores"
    assert {m["moment"] for m in region["models"]} == {"buy", "pay"}
    done = runner.invoke(APP, [*base, "--pooled", "--drivers", "q_b"])
    assert done.exit_code == 0, done.output
    (pooled,) = json.loads(done.stdout)
    assert [m["moment"] for m in pooled["models"]] == [None]
    done = runner.invoke(APP, ["drivers", "-w", str(workspace), "--pooled", "-f", "csv"])
    assert done.exit_code == 0 and "too few complete responses" in done.output
    done = runner.invoke(APP, ["drivers", "-w", str(workspace), "--cluster", "unit_id"])
    assert isinstance(done.exception, QueryError)

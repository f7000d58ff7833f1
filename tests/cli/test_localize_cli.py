"""``earnright localize`` on files in the Squeeze benchmark layout, through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from earnright.cli.localize import register
from earnright.errors import QueryError

app = typer.Typer()
register(app)

B0 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "squeeze_B0"
FIELDS = [
    "cause",
    "elements",
    "layer",
    "leaves",
    "real",
    "predict",
    "deviation",
    "relative",
    "share",
    "z",
]


@app.callback()
def _root() -> None:
    """A group, so the command is invoked by name as in the real app."""


def case_frame(seed: int = 0) -> pd.DataFrame:
    """3 × 6 × 5 leaves (columns in a shuffled order) with two planted causes."""
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [[f"z{i}" for i in range(3)], [f"m{i}" for i in range(6)], [f"a{i}" for i in range(5)]],
        names=["zone", "mode", "age"],
    )
    frame = index.to_frame(index=False)
    frame["predict"] = np.round(rng.lognormal(4, 1, len(frame))) + 1
    frame["real"] = frame["predict"] * (1 + rng.normal(0, 0.01, len(frame)))
    hit = (frame["zone"] == "z1") & (frame["mode"] == "m4")
    frame.loc[hit, "real"] *= 0.4
    frame.loc[frame["age"] == "a2", "real"] *= 1.5
    return frame[["real", "zone", "predict", "mode", "age"]]


@pytest.fixture
def case(tmp_path: Path) -> Path:
    path = tmp_path / "case.csv"
    case_frame().to_csv(path, index=False)
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["localize", *args])


def run_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_json_names_the_causes_with_sorted_dims(case: Path) -> None:
    data = run_json(str(case))
    assert list(data) == ["root_causes"]
    assert set(data["root_causes"]) == {"mode=m4&zone=z1", "age=a2"}  # mode < zone


def test_details_carry_the_figures_of_each_cause(case: Path) -> None:
    data = run_json(str(case), "--details")
    assert [d["cause"] for d in data["details"]] == data["root_causes"]
    for detail in data["details"]:
        assert list(detail) == FIELDS
    by_cause = {d["cause"]: d for d in data["details"]}
    assert by_cause["mode=m4&zone=z1"]["elements"] == {"mode": "m4", "zone": "z1"}
    assert by_cause["mode=m4&zone=z1"]["relative"] == pytest.approx(-0.6, abs=0.01)
    assert by_cause["mode=m4&zone=z1"]["z"] < 0 < by_cause["age=a2"]["z"]


def test_dims_real_and_predict_options(tmp_path: Path) -> None:
    path = tmp_path / "renamed.parquet"
    frame = case_frame().rename(columns={"real": "revenue", "predict": "expected"})
    frame.assign(note="x").to_parquet(path)
    args = [str(path), "--real", "revenue", "--predict", "expected"]
    assert set(run_json(*args, "--dims", "zone,mode,age")["root_causes"]) == {
        "mode=m4&zone=z1",
        "age=a2",
    }
    assert run_json(*args, "--dims", "zone,mode,age", "--max-layer", "1")["root_causes"][0] == (
        "age=a2"
    )
    assert len(run_json(*args, "--dims", "zone,mode,age", "--max-causes", "1")["root_causes"]) == 1


def test_table_and_csv(case: Path, tmp_path: Path) -> None:
    result = run(str(case))
    assert result.exit_code == 0, result.output
    assert "2 root cause(s) in case.csv" in result.stdout and "mode=m4&zone=z1" in result.stdout
    out = tmp_path / "causes.csv"
    assert run(str(case), "--format", "csv", "--output", str(out)).exit_code == 0
    written = pd.read_csv(out)
    assert list(written.columns) == [f for f in FIELDS if f != "elements"]
    assert set(written["cause"]) == {"mode=m4&zone=z1", "age=a2"}


def test_no_cause_is_said_plainly(tmp_path: Path) -> None:
    path = tmp_path / "calm.csv"
    case_frame().assign(real=lambda f: f["predict"]).to_csv(path, index=False)
    assert run_json(str(path)) == {"root_causes": []}
    result = run(str(path))
    assert result.exit_code == 0 and "stands out" in result.stdout


def test_errors_name_the_problem(case: Path, tmp_path: Path) -> None:
    result = run(str(tmp_path / "absent.csv"))
    assert isinstance(result.exception, QueryError) and "no such file" in str(result.exception)
    result = run(str(case), "--predict", "forecast")
    assert isinstance(result.exception, QueryError) and "forecast" in str(result.exception)
    assert run(str(case), "--max-layer", "0").exit_code == 2  # Typer rejects it


@pytest.mark.realdata
def test_a_b0_case_matches_its_injection_info() -> None:
    setting = B0 / "B_cuboid_layer_2_n_ele_3"
    if not setting.is_dir():
        pytest.skip(f"{B0} is absent: the Squeeze B0 benchmark cases are not on this machine")
    info = pd.read_csv(setting / "injection_info.csv")
    for stamp, truth in zip(info["timestamp"], info["set"], strict=True):
        data = run_json(str(setting / f"{stamp}.csv"))
        assert set(data["root_causes"]) == set(truth.split(";"))


def test_negative_leaves_are_left_out_and_said_on_stderr(tmp_path: Path) -> None:
    frame = case_frame()
    frame.loc[frame.index[:2], "real"] = -3.0  # a refund on two leaves outside both causes
    path = tmp_path / "refunds.csv"
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(app, ["localize", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["root_causes"]) == {"mode=m4&zone=z1", "age=a2"}
    assert "refunds.csv: 2 of 90 leaves have a negative 'real'" in result.stderr
    assert "left out" in result.stderr

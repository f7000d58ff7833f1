"""``earnright rank`` on a small demo company, through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from earnright.cli.output import user_message
from earnright.cli.rank import register
from earnright.errors import QueryError
from earnright.services.demo import run_demo

app = typer.Typer()
register(app)

FIELDS = [
    "unit_id",
    "name",
    "peer_id",
    "period",
    "n",
    "raw",
    "lasting_level",
    "target",
    "estimate",
    "estimate_low",
    "estimate_high",
    "rank",
    "rank_low",
    "rank_high",
    "tier",
]


@app.callback()
def _root() -> None:
    """A group, so the command is invoked by name as in the real app."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_demo(tmp_path_factory.mktemp("demo") / "ws", stores=20, months=4, seed=3).workspace


def invoke(demo: Path, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["rank", "-w", str(demo), *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


def test_json_gives_every_field_per_store(demo: Path) -> None:
    records = invoke(demo, "--level", "store", "--period", "2026-09", "--grain", "month")
    assert len(records) == 20 and all(list(r) == FIELDS for r in records)
    assert [r["rank"] for r in records] == list(range(1, 21))  # sorted, 1 = best
    for r in records:
        assert r["period"] == "2026-09" and r["peer_id"].startswith("D")
        assert isinstance(r["n"], int) and r["n"] > 0
        assert r["estimate_low"] <= r["estimate"] <= r["estimate_high"]
        assert r["rank_low"] <= r["rank"] <= r["rank_high"]
        assert r["tier"] in {"top", "middle", "bottom", "uncertain"}
    estimates = [r["estimate"] for r in records]
    assert estimates == sorted(estimates, reverse=True)


def test_options_change_the_ranking(demo: Path) -> None:
    default = invoke(demo, "--period", "2026-09")
    alone = invoke(demo, "--period", "2026-09", "--history", "0", "--peer", "company")
    assert {r["peer_id"] for r in alone} == {"C"}
    assert [r["estimate"] for r in alone] != [r["estimate"] for r in default]
    assert invoke(demo) == default  # the latest period by default
    again = invoke(demo, "--period", "2026-09", "--seed", "0", "--draws", "2000")
    assert again == default  # seeded
    wait = invoke(demo, "--metric", "q_wait", "--grain", "quarter", "--period", "2026-Q3")
    assert all(1 <= r["estimate"] <= 5 and r["period"] == "2026-Q3" for r in wait)


def test_table_and_csv(demo: Path, tmp_path: Path) -> None:
    table = CliRunner().invoke(app, ["rank", "-w", str(demo), "--period", "2026-08"])
    assert table.exit_code == 0, table.output
    assert "nps ranking of stores, 2026-08" in table.stdout and "rank_high" in table.stdout
    out = tmp_path / "rank.csv"
    args = ["rank", "-w", str(demo), "--format", "csv", "--output", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert list(pd.read_csv(out).columns) == FIELDS


def test_bad_options_are_refused(demo: Path) -> None:
    bad = CliRunner().invoke(app, ["rank", "-w", str(demo), "--metric", "q_nope"])
    assert isinstance(bad.exception, QueryError) and "metric 'q_nope'" in str(bad.exception)
    assert user_message(bad.exception).startswith("--metric: metric 'q_nope' is not a question")
    peer = CliRunner().invoke(app, ["rank", "-w", str(demo), "--peer", "store"])
    assert isinstance(peer.exception, QueryError) and "level above" in str(peer.exception)
    empty = CliRunner().invoke(app, ["rank", "-w", str(demo), "--period", "2020-01"])
    assert isinstance(empty.exception, QueryError)
    assert "no feedback or invitations in 2020-01: the data cover 2026-06" in str(empty.exception)
    draws = CliRunner().invoke(app, ["rank", "-w", str(demo), "--draws", "5"])
    assert draws.exit_code == 2  # below the minimum of 100

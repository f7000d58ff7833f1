"""A small demo company, built once for the API tests, and the command line run in-process."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import earnright
from earnright.cli import app
from earnright.services.demo import DemoRun, run_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """6 stores, 7 months: every capability has data (feedback, metrics, incidents)."""
    return run_demo(tmp_path_factory.mktemp("api") / "ws", stores=6, months=7, seed=3)


@pytest.fixture(scope="session")
def ws(demo: DemoRun) -> earnright.Workspace:
    return earnright.open_workspace(demo.workspace)


@pytest.fixture
def copy(demo: DemoRun, tmp_path: Path) -> Iterator[Path]:
    """A copy of the demo workspace, for what writes to the warehouse."""
    target = tmp_path / "copy"
    shutil.copytree(demo.workspace, target, ignore=shutil.ignore_patterns("data", "results"))
    yield target


def cli(*args: str) -> Any:
    """What ``earnright ARGS --format json`` prints, parsed (the command must succeed)."""
    done = CliRunner().invoke(app, [*args, "--format", "json"])
    assert done.exit_code == 0, (args, done.output, done.exception)
    return json.loads(done.stdout)


def same(got: Any, expected: Any, path: str = "") -> list[str]:
    """Where ``got`` and ``expected`` differ (an empty list: nowhere). Floats may differ in
    their last bits (relative 1e-9): the engine sums in parallel, in no fixed order, so two
    runs of the same command can too."""
    if isinstance(got, float) and isinstance(expected, float):
        return [] if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12) else [path]
    if isinstance(got, dict) and isinstance(expected, dict):
        if got.keys() != expected.keys():
            return [f"{path} keys"]
        return [d for k in got for d in same(got[k], expected[k], f"{path}.{k}")]
    if isinstance(got, list) and isinstance(expected, list):
        if len(got) != len(expected):
            return [f"{path} length"]
        return [
            d
            for i, (a, b) in enumerate(zip(got, expected, strict=True))
            for d in same(a, b, f"{path}[{i}]")
        ]
    return [] if got == expected else [f"{path}: {got!r} != {expected!r}"]


def cli_error(*args: str) -> str:
    """What ``earnright ARGS`` says on standard error when it refuses them (exit status 2), as
    the installed command's error handler renders it."""
    from earnright.cli.output import user_message
    from earnright.errors import EarnrightError

    done = CliRunner().invoke(app, list(args))
    assert isinstance(done.exception, EarnrightError), (args, done.output)
    return user_message(done.exception)

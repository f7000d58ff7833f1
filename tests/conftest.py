"""Shared fixtures: small workspaces with known content; the policy for ``../shared/data``.

Tests marked ``realdata`` read ``../shared/data`` and skip, saying so, where it is absent. Where
the data must be there (CI: the Makefile's ``unit`` target sets ``EARNRIGHT_REQUIRE_DATA=1``), such
a skip is a failure instead, so a moved or missing data set cannot pass unnoticed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from earnright.config import Config
from earnright.warehouse import Warehouse
from earnright.workspace import Workspace, init_workspace

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REQUIRE_DATA = "EARNRIGHT_REQUIRE_DATA"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """With EARNRIGHT_REQUIRE_DATA=1, a ``realdata`` test that skips fails instead."""
    outcome = yield
    report = outcome.get_result()
    required = os.environ.get(REQUIRE_DATA, "") not in ("", "0")
    skipped = call.excinfo is not None and call.excinfo.errisinstance(pytest.skip.Exception)
    if required and skipped and report.skipped and item.get_closest_marker("realdata"):
        reason = call.excinfo.value.msg if call.excinfo is not None else ""
        report.outcome = "failed"
        report.longrepr = f"{REQUIRE_DATA}=1 and this test needs ../shared/data: {reason}"


UNITS_CSV = """unit_id,name,level,parent_id
C,Acme,company,
R1,North,region,C
R2,South,region,C
D1,North One,district,R1
D2,South One,district,R2
S1,Store 1,store,D1
S2,Store 2,store,D1
S3,Store 3,store,D2
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    (tmp_path / "units.csv").write_text(UNITS_CSV)
    return ws


@pytest.fixture
def wh(workspace: Workspace) -> Iterator[Warehouse]:
    from earnright.ingest import ingest_file

    with workspace.warehouse() as warehouse:
        ingest_file(warehouse, workspace.config, "units", workspace.root.parent / "units.csv")
        yield warehouse


@pytest.fixture
def config(workspace: Workspace) -> Config:
    return workspace.config

"""Shared fixtures: small workspaces with known content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from earnright.config import Config
from earnright.warehouse import Warehouse
from earnright.workspace import Workspace, init_workspace

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

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

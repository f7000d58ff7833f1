"""A small company with planted actions, ingested once for the accountability tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import earnright
from earnright.demo.actions import PlantedActions, plant_actions


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[earnright.Workspace, PlantedActions]:
    """60 stores, 40 weeks, ~60 answers a store-week; 20 actions with known effects: none,
    +25 or −25 NPS points (large enough to be found at this n)."""
    root = tmp_path_factory.mktemp("planted")
    effects = (0.0, 25.0, -25.0)
    truth = plant_actions(root / "data", seed=11, stores=10, rate=60.0, effects=effects)
    ws = earnright.create_workspace(root / "ws")
    for kind in ("units", "feedback", "actions"):
        ws.ingest(kind, root / "data" / f"{kind}.csv")
    return ws, truth


def write_rights(ws_root: Path, rights: str) -> earnright.Workspace:
    """The workspace with ``rights`` (TOML) appended to its config, reopened."""
    config = ws_root / "earnright.toml"
    config.write_text(config.read_text() + "\n" + rights)
    return earnright.open_workspace(ws_root)

"""The unit hierarchy on ingest: every parent error, orphans, renames and dated moves."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from earnright.config import Config
from earnright.ingest import ingest_file
from earnright.warehouse import Warehouse
from earnright.workspace import Workspace
from tests.conftest import UNITS_CSV

pytestmark = pytest.mark.usefixtures("backend")  # every test on every backend

HEADER = "unit_id,name,level,parent_id\n"


def _ingest(wh: Warehouse, config: Config, path: Path, text: str) -> pd.DataFrame:
    """Ingest ``text`` as units; the quarantine of that batch, by line."""
    path.write_text(text)
    result = ingest_file(wh, config, "units", path, force=True)
    q = wh.table("quarantine").execute()
    return q[q.batch_id == result.batch_id].set_index("line").sort_index()


@pytest.fixture
def empty(workspace: Workspace) -> Warehouse:
    return workspace.warehouse()


def test_orphans_without_regions_are_rejected_down_the_tree(
    empty: Warehouse, config: Config, tmp_path: Path
) -> None:
    """Default 4 levels, no regions: districts are rejected, and so are their stores."""
    text = HEADER + "C,Acme,company,\nD1,One,district,R1\n"
    text += "S1,Store 1,store,D1\nS2,Store 2,store,D1\n"
    with empty as wh:
        q = _ingest(wh, config, tmp_path / "units.csv", text)
        assert wh.table("units").unit_id.execute().tolist() == ["C"]
    assert q.loc[3, "reason"] == "parent_id: unknown unit: 'R1'"
    assert q.loc[4, "reason"] == "parent_id: parent rejected: 'D1' (line 3)"
    assert q.loc[5, "reason"] == "parent_id: parent rejected: 'D1' (line 3)"


def test_a_rejection_reaches_grandchildren_and_names_each_parent(
    empty: Warehouse, config: Config, tmp_path: Path
) -> None:
    text = HEADER + "S1,Store 1,store,D1\nD1,One,district,R1\nR1,North,region,X\nC,Acme,company,\n"
    with empty as wh:
        q = _ingest(wh, config, tmp_path / "units.csv", text)
        assert wh.table("units").unit_id.execute().tolist() == ["C"]
    assert q.loc[4, "reason"] == "parent_id: unknown unit: 'X'"
    assert q.loc[3, "reason"] == "parent_id: parent rejected: 'R1' (line 4)"
    assert q.loc[2, "reason"] == "parent_id: parent rejected: 'D1' (line 3)"


BASE = "C,Acme,company,\nR1,North,region,C\nD1,One,district,R1\n"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("S1,Store 1,store,D9", "parent_id: unknown unit: 'D9'"),
        ("S1,Store 1,store,", "parent_id: missing parent"),
        ("C2,Other,company,C", "parent_id: a company is the top level and has no parent"),
        ("S1,Store 1,store,R1", "parent_id: parent is a region, expected a district"),
        ("S1,Store 1,store,S1", "parent_id: parent is a store, expected a district"),
        ("D2,Two,district,D1", "parent_id: parent is a district, expected a region"),
        ("S1,Store 1,shop,D1", "level: unknown level: 'shop'"),
    ],
)
def test_every_parent_error_is_quarantined_with_its_reason(
    empty: Warehouse, config: Config, tmp_path: Path, row: str, reason: str
) -> None:
    with empty as wh:
        q = _ingest(wh, config, tmp_path / "units.csv", HEADER + BASE + row + "\n")
        assert sorted(wh.table("units").unit_id.execute()) == ["C", "D1", "R1"]
    assert q.loc[5, "reason"].startswith(reason)
    assert len(q) == 1


def test_a_cycle_is_rejected_whole(empty: Warehouse, config: Config, tmp_path: Path) -> None:
    """Two districts naming each other: neither is one level below the other."""
    text = HEADER + BASE + "D2,Two,district,D3\nD3,Three,district,D2\nS1,Store,store,D2\n"
    with empty as wh:
        q = _ingest(wh, config, tmp_path / "units.csv", text)
        assert sorted(wh.table("units").unit_id.execute()) == ["C", "D1", "R1"]
    assert q.loc[5, "reason"] == "parent_id: parent is a district, expected a region"
    assert q.loc[6, "reason"] == "parent_id: parent is a district, expected a region"
    assert q.loc[7, "reason"] == "parent_id: parent rejected: 'D2' (line 5)"


def test_a_child_of_a_row_rejected_for_another_reason_is_rejected(
    empty: Warehouse, config: Config, tmp_path: Path
) -> None:
    text = HEADER + BASE + "D2,Two,zone,R1\nS1,Store,store,D2\n"
    with empty as wh:
        q = _ingest(wh, config, tmp_path / "units.csv", text)
    assert q.loc[5, "reason"].startswith("level: unknown level: 'zone'")
    assert q.loc[6, "reason"] == "parent_id: parent rejected: 'D2' (line 5)"


def test_a_parent_already_in_the_warehouse_holds_even_if_its_new_row_is_rejected(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    q = _ingest(wh, config, tmp_path / "u.csv", HEADER + "D1,One,zone,R1\nS9,New,store,D1\n")
    assert q.loc[2, "reason"].startswith("level: unknown level")
    assert "S9" in set(wh.table("units").unit_id.execute())


def test_a_unit_cannot_change_level(wh: Warehouse, config: Config, tmp_path: Path) -> None:
    q = _ingest(wh, config, tmp_path / "u.csv", HEADER + "S3,Store 3,district,R2\n")
    assert q.loc[2, "reason"] == (
        "level: was a store, cannot become a district; give the unit a new id"
    )
    assert wh.table("units").filter(lambda t: t.unit_id == "S3").level.execute().tolist() == [
        "store"
    ]


MOVED = UNITS_CSV.replace("S2,Store 2,store,D1", "S2,Store 2,store,D2").replace(
    "S3,Store 3,store,D2", "S3,Store Three,store,D2"
)


def _history(wh: Warehouse, unit: str) -> pd.DataFrame:
    h = wh.table("unit_history").execute()
    return h[h.unit_id == unit].sort_values("valid_from", na_position="first", ignore_index=True)


def test_a_rename_and_a_dated_move_are_applied_and_reported(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    rows = [line + "," for line in MOVED.splitlines()[1:]]
    text = "unit_id,name,level,parent_id,valid_from\n" + "\n".join(rows) + "\n"
    text = text.replace("S2,Store 2,store,D2,", "S2,Store 2,store,D2,2026-09-01")
    path = tmp_path / "units2.csv"
    path.write_text(text)
    result = ingest_file(wh, config, "units", path)
    assert (result.accepted, result.updated, result.duplicates, result.quarantined) == (0, 2, 6, 0)
    assert result.changes == [
        "renamed S3 'Store 3' → 'Store Three'",
        "moved S2 D1 → D2 from 2026-09-01",
    ]
    summary = result.summary()
    assert "updated 2 (renamed S3 'Store 3' → 'Store Three'; moved S2 D1 → D2 from 2026-09-01)" in (
        summary
    )
    assert "skipped 6 unchanged" in summary
    units = wh.table("units").execute().set_index("unit_id")
    assert units.loc["S3", "name"] == "Store Three" and units.loc["S2", "parent_id"] == "D2"
    history = _history(wh, "S2")
    assert history.parent_id.tolist() == ["D1", "D2"]
    assert pd.isna(history.valid_from[0]) and pd.isna(history.valid_to[1])
    assert history.valid_to[0] == history.valid_from[1] == pd.Timestamp("2026-09-01")
    assert len(_history(wh, "S3")) == 1  # a rename is not a move
    again = tmp_path / "units3.csv"
    again.write_text(text + "\n")  # the same rows again: nothing changes
    repeat = ingest_file(wh, config, "units", again)
    assert (repeat.accepted, repeat.updated, repeat.duplicates) == (0, 0, 8)
    assert len(_history(wh, "S2")) == 2


def test_a_move_without_valid_from_applies_from_the_day_of_the_ingest(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "units2.csv"
    path.write_text(MOVED)
    result = ingest_file(wh, config, "units", path)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert f"moved S2 D1 → D2 from {today}" in result.changes
    assert _history(wh, "S2").valid_from[1] == pd.Timestamp(today)


def test_a_move_dated_before_the_current_placement_is_rejected(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    head = "unit_id,name,level,parent_id,valid_from\n"
    _ingest(wh, config, tmp_path / "a.csv", head + "S2,Store 2,store,D2,2026-09-01\n")
    q = _ingest(wh, config, tmp_path / "b.csv", head + "S2,Store 2,store,D1,2026-08-01\n")
    assert q.loc[2, "reason"] == (
        "valid_from: the move must start after the unit's current placement (from 2026-09-01)"
    )
    assert wh.table("units").filter(lambda t: t.unit_id == "S2").parent_id.execute()[0] == "D2"

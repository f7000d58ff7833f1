"""The warehouse: migrations, transactions, open columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from earnright.errors import WarehouseError
from earnright.warehouse import connect
from earnright.warehouse.schema import MIGRATIONS, TABLES


def test_migrations_create_every_table_once(tmp_path: Path) -> None:
    with connect("duckdb:///w.duckdb", tmp_path) as wh:
        assert set(TABLES) <= set(wh.con.list_tables())
        assert wh.schema_version() == MIGRATIONS[-1].version
    with connect("duckdb:///w.duckdb", tmp_path) as wh:  # reopening applies nothing twice
        assert wh.count("schema_migrations") == len(MIGRATIONS)


def test_absolute_duckdb_url(tmp_path: Path) -> None:
    with connect(f"duckdb:///{tmp_path}/abs.duckdb", Path("/nonexistent")) as wh:
        assert wh.schema_version() == MIGRATIONS[-1].version
    assert (tmp_path / "abs.duckdb").exists()


def test_a_version_1_warehouse_is_upgraded_in_place(tmp_path: Path) -> None:
    with connect("duckdb:///w.duckdb", tmp_path) as wh:
        wh.insert("units", {"unit_id": ["X"], "level": ["store"]})
        wh.execute_sql("DROP TABLE incidents; DROP TABLE alerts; DROP TABLE outbox")
        wh.execute_sql("DROP TABLE detector_state; DELETE FROM schema_migrations WHERE version > 1")
    with connect("duckdb:///w.duckdb", tmp_path) as wh:
        assert wh.schema_version() == MIGRATIONS[-1].version
        assert wh.count("units") == 1 and wh.count("incidents") == 0


def test_update_and_delete_touch_only_the_keyed_rows(tmp_path: Path) -> None:
    with connect("duckdb:///w.duckdb", tmp_path) as wh:
        wh.insert("units", {"unit_id": ["A", "B"], "level": ["store", "store"], "name": ["a", "b"]})
        wh.update("units", {"unit_id": "A"}, {"name": "O'Hara's", "batch_id": 3})
        rows = wh.table("units").order_by("unit_id").execute()
        assert rows.name.tolist() == ["O'Hara's", "b"] and rows.batch_id.iloc[0] == 3
        wh.delete("units", {"unit_id": "B"})
        assert wh.table("units").unit_id.execute().tolist() == ["A"]
        wh.insert("units", {"unit_id": ["C", "D"], "level": ["store", "store"]})
        wh.delete("units", {"unit_id": ["A", "C"]})  # a list matches any of its values
        assert wh.table("units").unit_id.execute().tolist() == ["D"]
        with pytest.raises(ValueError, match="key is required"):
            wh.delete("units", {})


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    with connect("duckdb:///w.duckdb", tmp_path) as wh:
        wh.insert("schema_migrations", {"version": [99], "description": ["future"]})
    with pytest.raises(WarehouseError, match="schema version 99 is newer"):
        connect("duckdb:///w.duckdb", tmp_path)


def test_transaction_rolls_back_rows_and_added_columns(tmp_path: Path) -> None:
    with connect("duckdb:///w.duckdb", tmp_path) as wh:
        with pytest.raises(RuntimeError), wh.transaction():
            wh.add_open_columns("feedback", ["q_new"], batch_id=1)
            wh.insert("units", {"unit_id": ["X"], "level": ["store"]})
            raise RuntimeError("crash")
        assert "q_new" not in wh.table("feedback").columns
        assert wh.count("units") == 0 and wh.count("open_columns") == 0
        with wh.transaction():
            wh.add_open_columns("feedback", ["q_new"], batch_id=1)
        assert wh.open_columns("feedback") == ["q_new"]


def test_memory_limit_from_config_reaches_duckdb(tmp_path: Path) -> None:
    with connect("duckdb:///w.duckdb", tmp_path, memory_limit="512MB") as wh:
        (setting,) = wh.con.raw_sql("SELECT current_setting('memory_limit')").fetchone()
    assert setting in {"512.0 MiB", "488.2 MiB"}

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
        wh.execute_sql("DROP TABLE detector_state; DROP TABLE unit_history")
        wh.execute_sql("DELETE FROM schema_migrations WHERE version > 1")
    with connect("duckdb:///w.duckdb", tmp_path) as wh:
        assert wh.schema_version() == MIGRATIONS[-1].version
        assert wh.count("units") == 1 and wh.count("incidents") == 0
        # migration 4 gives every existing unit its first placement, open at both ends
        history = wh.table("unit_history").execute()
        assert history.unit_id.tolist() == ["X"]
        assert history[["valid_from", "valid_to"]].isna().all(axis=None)


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


def test_a_version_2_warehouse_gains_the_churn_columns_and_keeps_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migrations 3 and 5 add columns to a table migration 2 created; a fresh warehouse has them
    from its creation (TABLES is the final schema) and the migrations leave them alone."""
    import earnright.warehouse as warehouse
    from earnright.warehouse.schema import CHURN_COUNT_COLUMNS, TableSpec

    spec = TABLES["incidents"]
    later = {*CHURN_COUNT_COLUMNS, "ended_at"}  # added by migrations 3 and 5
    old = {c: t for c, t in spec.columns.items() if c not in later}
    with monkeypatch.context() as patch:  # what earnright knew at version 2
        patch.setattr(warehouse, "MIGRATIONS", MIGRATIONS[:2])
        patch.setattr(warehouse, "TABLES", TABLES | {"incidents": TableSpec("incidents", old, ())})
        with connect("duckdb:///w.duckdb", tmp_path) as wh:
            assert wh.schema_version() == 2
            assert not later & set(wh.table("incidents").columns)
            wh.insert("incidents", {"incident_id": ["I1"], "status": ["resolved"]})
    with connect("duckdb:///w.duckdb", tmp_path) as wh:
        assert wh.schema_version() == MIGRATIONS[-1].version >= 3
        rows = wh.table("incidents").execute()
        assert rows.incident_id.tolist() == ["I1"] and rows.status.tolist() == ["resolved"]
        assert rows[[*CHURN_COUNT_COLUMNS, "ended_at"]].isna().all(axis=None)
        migrated = wh.table("incidents").schema()
        wh.update("incidents", {"incident_id": "I1"}, {"churn_exposed": 7})
        assert wh.table("incidents").churn_exposed.execute().tolist() == [7]
    with connect("duckdb:///fresh.duckdb", tmp_path) as wh:
        assert wh.table("incidents").schema() == migrated
        assert list(migrated.names) == list(spec.columns)

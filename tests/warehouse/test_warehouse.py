"""The warehouse on every backend: migrations, transactions, locks, open columns, writes.

Each test that takes ``backend`` runs on DuckDB and on a real PostgreSQL server (one throwaway
cluster per session, tests/conftest.py); ``notimpl``/``never`` mark what a backend lacks.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import psycopg
import pytest

from earnright.errors import WarehouseError
from earnright.warehouse import connect, redact_url
from earnright.warehouse.dialect import Dialect
from earnright.warehouse.migrations import MIGRATIONS
from earnright.warehouse.schema import TABLES
from tests.conftest import SPARK_ERROR
from tests.postgres import find_binaries


def test_migrations_create_every_table_once(
    warehouse_url: str, backend: str, tmp_path: Path
) -> None:
    with connect(warehouse_url, tmp_path) as wh:
        assert wh.backend == backend
        assert set(TABLES) <= set(wh.list_tables())
        assert wh.schema_version() == MIGRATIONS[-1].version
    with connect(warehouse_url, tmp_path) as wh:  # reopening applies nothing twice
        assert wh.count("schema_migrations") == len(MIGRATIONS)


def test_absolute_duckdb_url(tmp_path: Path) -> None:
    with connect(f"duckdb:///{tmp_path}/abs.duckdb", Path("/nonexistent")) as wh:
        assert wh.schema_version() == MIGRATIONS[-1].version
    assert (tmp_path / "abs.duckdb").exists()


def test_a_version_1_warehouse_is_upgraded_in_place(warehouse_url: str, tmp_path: Path) -> None:
    with connect(warehouse_url, tmp_path) as wh:
        wh.insert("units", {"unit_id": ["X"], "level": ["store"]})
        for table in (t for m in MIGRATIONS[1:] for t in m.tables):  # every later table
            wh.execute_sql(f"DROP TABLE {table}")
        wh.execute_sql("DELETE FROM schema_migrations WHERE version > 1")
    with connect(warehouse_url, tmp_path) as wh:
        assert wh.schema_version() == MIGRATIONS[-1].version
        assert wh.count("units") == 1 and wh.count("incidents") == 0
        # migration 4 gives every existing unit its first placement, open at both ends
        history = wh.table("unit_history").execute()
        assert history.unit_id.tolist() == ["X"]
        assert history[["valid_from", "valid_to"]].isna().all(axis=None)
        assert wh.count("schema_migrations") == len(MIGRATIONS)


def test_a_warehouse_an_older_earnright_wrote_is_upgraded_before_it_is_read(
    warehouse_url: str, tmp_path: Path
) -> None:
    """Opened only to read (report, warnings), a warehouse missing the newest migration's
    tables and columns is upgraded first: its readers find them."""
    newest = MIGRATIONS[-1]
    assert newest.tables or newest.columns
    with connect(warehouse_url, tmp_path) as wh:
        for name in newest.tables:
            wh.execute_sql(f"DROP TABLE {name}")
        for table, column in newest.columns:
            wh.execute_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        wh.execute_sql(f"DELETE FROM schema_migrations WHERE version = {newest.version}")
    with connect(warehouse_url, tmp_path, read_only=True) as wh:
        assert wh.schema_version() == newest.version
        assert set(newest.tables) <= set(wh.list_tables())
        assert all(column in wh.table(table).columns for table, column in newest.columns)


def test_processes_opening_a_new_database_at_once_migrate_it_once(
    warehouse_url: str, tmp_path: Path
) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        try:
            start.wait()
            connect(warehouse_url, tmp_path).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with connect(warehouse_url, tmp_path) as wh:
        assert wh.count("schema_migrations") == len(MIGRATIONS)


@pytest.mark.never(
    ["duckdb"],
    raises=duckdb.Error,
    reason="one process holds a DuckDB file for writing: there are no advisory locks to take",
)
@pytest.mark.never(
    ["spark"],
    raises=SPARK_ERROR,
    reason="no advisory locks: Spark writers take turns on a file lock (test_spark.py)",
)
def test_lock_serialises_writers_until_the_transaction_ends(
    warehouse_url: str, tmp_path: Path
) -> None:
    probe = "SELECT pg_try_advisory_xact_lock(hashtext('earnright:ingest'))"
    with connect(warehouse_url, tmp_path) as one, connect(warehouse_url, tmp_path) as two:
        with one.transaction():
            one.lock("ingest")
            (taken,) = two.con.raw_sql(probe).fetchone()
            assert taken is False
        (taken,) = two.con.raw_sql(probe).fetchone()
        assert taken is True


def test_transaction_rolls_back_rows_and_added_columns(warehouse_url: str, tmp_path: Path) -> None:
    with connect(warehouse_url, tmp_path) as wh:
        with pytest.raises(RuntimeError), wh.transaction():
            wh.add_open_columns("feedback", ["q_new"], batch_id=1)
            wh.insert("units", {"unit_id": ["X"], "level": ["store"]})
            raise RuntimeError("crash")
        assert "q_new" not in wh.table("feedback").columns
        assert wh.count("units") == 0 and wh.count("open_columns") == 0
        with wh.transaction():
            wh.add_open_columns("feedback", ["q_new"], batch_id=1)
            wh.insert("units", {"unit_id": ["A"], "level": ["store"]})
        assert wh.open_columns("feedback") == ["q_new"]
        with pytest.raises(Exception, match="no_such_table"), wh.transaction():
            wh.insert("units", {"unit_id": ["C"], "level": ["store"]})
            wh.execute_sql("DELETE FROM no_such_table")  # a failing statement
        assert wh.table("units").unit_id.execute().tolist() == ["A"]


@pytest.mark.notimpl(
    ["duckdb"], raises=duckdb.TransactionException, reason="DuckDB has no savepoints"
)
def test_a_nested_transaction_is_a_savepoint(warehouse_url: str, tmp_path: Path) -> None:
    with connect(warehouse_url, tmp_path) as wh:
        with wh.transaction():
            wh.insert("units", {"unit_id": ["A"], "level": ["store"]})
            with pytest.raises(RuntimeError), wh.transaction():  # nested: a savepoint
                wh.insert("units", {"unit_id": ["B"], "level": ["store"]})
                raise RuntimeError("inner")
        assert wh.table("units").unit_id.execute().tolist() == ["A"]


def test_update_and_delete_touch_only_the_keyed_rows(warehouse_url: str, tmp_path: Path) -> None:
    with connect(warehouse_url, tmp_path) as wh:
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


def test_typed_inserts_and_timestamp_updates(warehouse_url: str, tmp_path: Path) -> None:
    when = pd.Timestamp("2026-09-01 10:11:12.345678").to_pydatetime()
    with connect(warehouse_url, tmp_path) as wh:
        # a column of only None is typed from the table, not as null
        wh.insert("units", {"unit_id": ["A", "B"], "level": ["store"] * 2, "parent_id": [None] * 2})
        wh.insert("detector_state", {"series_key": ["k"], "last_bucket": [None], "state": ["{}"]})
        wh.update("detector_state", {"series_key": "k"}, {"last_bucket": when})
        assert wh.table("detector_state").last_bucket.execute().tolist() == [pd.Timestamp(when)]
        wh.delete("units", {"unit_id": ["A", "B"]})
        assert wh.count("units") == 0


def test_a_newer_schema_is_refused(warehouse_url: str, tmp_path: Path) -> None:
    with connect(warehouse_url, tmp_path) as wh:
        wh.insert("schema_migrations", {"version": [99], "description": ["future"]})
    with pytest.raises(WarehouseError, match="schema version 99 is newer"):
        connect(warehouse_url, tmp_path)


def test_memory_limit_from_config_reaches_duckdb(tmp_path: Path) -> None:
    with connect("duckdb:///w.duckdb", tmp_path, memory_limit="512MB") as wh:
        (setting,) = wh.con.raw_sql("SELECT current_setting('memory_limit')").fetchone()
    assert setting in {"512.0 MiB", "488.2 MiB"}


def test_a_schema_in_the_postgres_url_holds_the_tables_and_options_reach_the_driver(
    pg_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute("CREATE SCHEMA earnright")
    with connect(f"{pg_url}/earnright?application_name=earnright-test", tmp_path) as wh:
        assert wh.schema_version() == MIGRATIONS[-1].version
        (name,) = wh.con.raw_sql("SHOW application_name").fetchone()
        assert name == "earnright-test"
    with psycopg.connect(pg_url, autocommit=True) as raw:
        found = raw.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') GROUP BY 1"
        ).fetchall()
    assert found == [("earnright", len(TABLES) + 1)]  # and schema_migrations


def test_a_bad_url_names_the_server_and_hides_the_password(tmp_path: Path) -> None:
    url = "postgresql://me:s3cret@127.0.0.1:1/nowhere"
    with pytest.raises(WarehouseError, match=r"me:\*\*\*@127.0.0.1:1/nowhere") as err:
        connect(url, tmp_path)
    assert "s3cret" not in str(err.value)
    assert redact_url("postgresql://me@h/db") == "postgresql://me@h/db"


def test_missing_postgres_binaries_fail_naming_the_install_script(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"install them with `scripts/postgres\.sh`"):
        find_binaries(tmp_path)
    (tmp_path / "15" / "bin").mkdir(parents=True)
    (tmp_path / "15" / "bin" / "initdb").touch()
    (tmp_path / "9" / "bin").mkdir(parents=True)
    (tmp_path / "9" / "bin" / "initdb").touch()
    assert find_binaries(tmp_path) == tmp_path / "15" / "bin"  # the newest, numerically


RESPONSES = [  # unit, customer, responded at
    ("S1", "a", "2026-05-02 10:00"),  # a contact at the same instant counts
    ("S1", "a", "2026-05-03"),  # the latest of two earlier contacts
    ("S1", "b", "2026-05-02"),  # the only contact comes a second later: none
    ("S2", "a", "2026-05-02"),  # contacts at another unit do not count
    ("S1", "c", "2026-05-01"),  # a month-old contact
]
CONTACTS = [
    ("S1", "a", "2026-05-01"),
    ("S1", "a", "2026-05-02 10:00"),
    ("S1", "b", "2026-05-02 00:00:01"),
    ("S1", "c", "2026-04-01"),
    ("S2", "b", "2026-05-01"),
]
ASOF_COLUMNS = ["unit_id", "customer_id", "responded_at", "at"]
ASOF_BY = [("unit_id", "c_unit"), ("customer_id", "c_cust")]


def _asof_tables() -> tuple[ibis.Table, ibis.Table]:
    fb = pd.DataFrame(RESPONSES, columns=["unit_id", "customer_id", "responded_at"])
    fb = fb.assign(ancestor_id="S1", responded_at=pd.to_datetime(fb.responded_at, format="ISO8601"))
    ct = pd.DataFrame(CONTACTS, columns=["c_unit", "c_cust", "at"])
    ct = ct.assign(at=pd.to_datetime(ct["at"], format="ISO8601"))
    return ibis.memtable(fb), ibis.memtable(ct)


def test_the_portable_as_of_window_equals_duckdbs_as_of_join(tmp_path: Path) -> None:
    """The window the engines without an as-of join run gives DuckDB's as-of join, ties included."""
    with connect("duckdb:///w.duckdb", tmp_path) as wh:
        f, c = _asof_tables()
        on = [f.unit_id == c.c_unit, f.customer_id == c.c_cust]
        asof = f.asof_join(c, on=f.responded_at >= c.at, predicates=on).select(*ASOF_COLUMNS)
        want = wh.con.execute(asof).sort_values(ASOF_COLUMNS[:3], ignore_index=True)
        window = Dialect(wh.con).asof_time(f, c, time=("responded_at", "at"), by=ASOF_BY, name="at")
        got = wh.con.execute(window.select(*ASOF_COLUMNS))
    got = got.sort_values(ASOF_COLUMNS[:3], ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert want["at"].notna().tolist() == [True, True, False, True, False]


def test_asof_time_finds_each_rows_latest_contact(warehouse_url: str, tmp_path: Path) -> None:
    with connect(warehouse_url, tmp_path) as wh:
        f, c = _asof_tables()
        joined = wh.asof_time(f, c, time=("responded_at", "at"), by=ASOF_BY, name="at")
        assert list(joined.columns) == [*f.columns, "at"]
        got = wh.con.execute(joined.select(*ASOF_COLUMNS))
    got = got.sort_values(ASOF_COLUMNS[:3], ignore_index=True)
    want = ["2026-05-02 10:00", "2026-05-02 10:00", None, "2026-04-01", None]
    assert [None if pd.isna(t) else t for t in got["at"]] == [
        None if t is None else pd.Timestamp(t) for t in want
    ]


def test_the_word_edge_matches_whole_words_only(warehouse_url: str, tmp_path: Path) -> None:
    with connect(warehouse_url, tmp_path) as wh:
        edge = wh.dialect.word_edge
        text = ibis.literal("not rude, but rudely notable")
        parts = text.re_split(edge + "(rude|not)" + edge).length()
        assert wh.con.execute(parts) == 3  # "not" and "rude"; not "rudely" nor "notable"


@pytest.mark.notimpl(
    ["spark"],
    raises=AssertionError,
    reason="Ibis reads Spark's TIMESTAMP_NTZ as a timestamp of no scale, DuckDB's as scale 6 "
    "(the same microseconds; every other column and value matches)",
)
def test_a_version_2_warehouse_gains_the_churn_columns_and_keeps_its_rows(
    warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migrations 3, 5 and 9 add columns to a table migration 2 created; a fresh warehouse has them
    from its creation (TABLES is the final schema) and the migrations leave them alone."""
    import earnright.warehouse as warehouse
    from earnright.warehouse.schema import CHURN_COUNT_COLUMNS, TableSpec

    spec = TABLES["incidents"]
    later = {*CHURN_COUNT_COLUMNS, "ended_at", "value_basis"}  # added by migrations 3, 5, 9
    old = {c: t for c, t in spec.columns.items() if c not in later}
    with monkeypatch.context() as patch:  # what earnright knew at version 2
        patch.setattr(warehouse, "MIGRATIONS", MIGRATIONS[:2])
        patch.setattr(warehouse, "TABLES", TABLES | {"incidents": TableSpec("incidents", old, ())})
        with connect(warehouse_url, tmp_path) as wh:
            assert wh.schema_version() == 2
            assert not later & set(wh.table("incidents").columns)
            wh.insert("incidents", {"incident_id": ["I1"], "status": ["resolved"]})
    with connect(warehouse_url, tmp_path) as wh:
        assert wh.schema_version() == MIGRATIONS[-1].version >= 3
        rows = wh.table("incidents").execute()
        assert rows.incident_id.tolist() == ["I1"] and rows.status.tolist() == ["resolved"]
        assert rows[[*CHURN_COUNT_COLUMNS, "ended_at", "value_basis"]].isna().all(axis=None)
        migrated = wh.table("incidents").schema()
        wh.update("incidents", {"incident_id": "I1"}, {"churn_exposed": 7})
        assert wh.table("incidents").churn_exposed.execute().tolist() == [7]
    with connect("duckdb:///fresh.duckdb", tmp_path) as wh:
        assert wh.table("incidents").schema() == migrated
        assert list(migrated.names) == list(spec.columns)


def test_the_config_accepts_the_url_of_every_backend_and_no_other() -> None:
    from pydantic import ValidationError

    from earnright.config import Warehouse as WarehouseSettings
    from earnright.warehouse.dialect import DIALECTS

    urls = ("duckdb:///w.duckdb", "postgresql://u@h/db", "postgres://u@h/db", "spark:///wh")
    for url in (*urls, "sc://head:15002//shared/wh"):
        assert WarehouseSettings(url=url).url == url
    schemes = {s for d in DIALECTS for s in d.schemes}
    assert schemes == {"duckdb", "postgresql", "postgres", "spark", "sc"}
    with pytest.raises(ValidationError, match="not a supported URL"):
        WarehouseSettings(url="sqlite:///w.db")

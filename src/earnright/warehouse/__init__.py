"""The warehouse: one schema behind an Ibis backend (DuckDB embedded by default).

``connect(url, base_dir)`` opens the backend, applies pending migrations and returns a
:class:`Warehouse`. Analytics read tables as Ibis expressions (``wh.table("feedback")``) and let
the backend scan; writes go through :meth:`Warehouse.transaction` so a batch is all or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from earnright.errors import WarehouseError
from earnright.warehouse.schema import DATA_KINDS, MIGRATIONS, OPEN_COLUMN_TYPE, TABLES, TableSpec

__all__ = ["DATA_KINDS", "TABLES", "TableSpec", "Warehouse", "connect"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STAGE_PREFIX = "_stage_"


def _quote(name: str) -> str:
    if not _IDENT.match(name):
        raise WarehouseError(f"'{name}' is not a valid column or table name")
    return f'"{name}"'


def _literal(value: Any) -> str:
    """A SQL literal for a Python value (strings escaped; timestamps as naive UTC)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return "'" + str(value).replace("'", "''") + "'"


def _condition(column: str, value: Any) -> str:
    if value is None:
        return f"{_quote(column)} IS NULL"
    if isinstance(value, list | tuple):  # any of these values
        if not value:
            return "FALSE"
        return f"{_quote(column)} IN ({', '.join(_literal(v) for v in value)})"
    return f"{_quote(column)} = {_literal(value)}"


def _where(key: dict[str, Any]) -> str:
    if not key:
        raise ValueError("a key is required; refusing to touch every row")
    return " AND ".join(_condition(c, v) for c, v in key.items())


def _sql_type(dtype: dt.DataType) -> str:
    if dtype.is_string():
        return "VARCHAR"
    if dtype.is_float64():
        return "DOUBLE PRECISION"
    if dtype.is_int64():
        return "BIGINT"
    raise WarehouseError(f"no SQL type for {dtype}")


class Warehouse:
    """An open warehouse. Use as a context manager or call :meth:`close`."""

    def __init__(self, con: ibis.BaseBackend, url: str) -> None:
        self.con = con
        self.url = url
        self.backend = con.name

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.disconnect()

    # -- reading ---------------------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        return self.con.table(name)

    def count(self, name: str) -> int:
        return int(self.table(name).count().execute())

    def open_columns(self, table: str) -> list[str]:
        """The open columns of a table (questions, attributes or dimensions), in added order."""
        core = TABLES[table].columns
        return [c for c in self.table(table).columns if c not in core]

    # -- writing ---------------------------------------------------------------------------
    def execute_sql(self, sql: str) -> None:
        cur = self.con.raw_sql(sql)
        if self.backend != "duckdb":  # DuckDB returns the connection itself, not a cursor
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all."""
        self.execute_sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute_sql("ROLLBACK")
            raise
        self.execute_sql("COMMIT")

    def update(self, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        """Set ``values`` on the rows matching every ``key`` column (inside any transaction).

        A key value that is a list matches any of its values."""
        sets = ", ".join(f"{_quote(c)} = {_literal(v)}" for c, v in values.items())
        self.execute_sql(f"UPDATE {_quote(table)} SET {sets} WHERE {_where(key)}")

    def delete(self, table: str, key: dict[str, Any]) -> None:
        """Delete the rows matching every ``key`` column."""
        self.execute_sql(f"DELETE FROM {_quote(table)} WHERE {_where(key)}")

    def add_open_columns(self, table: str, columns: list[str], batch_id: int) -> None:
        """Add open columns to a table (inside the caller's transaction), recording each."""
        dtype = OPEN_COLUMN_TYPE[table]
        existing = set(self.table(table).columns)
        new = [c for c in columns if c not in existing]
        for col in new:
            self.execute_sql(
                f"ALTER TABLE {_quote(table)} ADD COLUMN {_quote(col)} {_sql_type(dtype)}"
            )
        if new:
            self.insert(
                "open_columns",
                {
                    "table_name": [table] * len(new),
                    "column_name": new,
                    "column_type": [str(dtype)] * len(new),
                    "added_in_batch": [batch_id] * len(new),
                },
            )

    def insert(self, table: str, data: ir.Table | dict[str, list[Any]] | Any) -> None:
        """Insert rows (an Ibis expression, a pyarrow table or a dict of columns)."""
        if not isinstance(data, ir.Table):
            data = ibis.memtable(data)
        target = self.table(table).schema()
        cols = [c for c in target.names if c in data.columns]
        self.con.insert(table, data.select(*[data[c].cast(target[c]).name(c) for c in cols]))

    def append_arrow(self, table: str, data: pa.Table) -> None:
        """Append an Arrow table whose columns match ``table`` by name.

        On DuckDB the table is scanned in place and released at once (an Ibis memtable would
        stay registered, and its memory held, until garbage collection).
        """
        if self.backend != "duckdb":
            self.con.insert(table, data)
            return
        raw = self.con.con
        view = f"_append_{id(data)}"
        raw.register(view, data)
        try:
            cols = ", ".join(_quote(c) for c in data.column_names)
            raw.execute(f"INSERT INTO {_quote(table)} ({cols}) SELECT {cols} FROM {_quote(view)}")
        finally:
            raw.unregister(view)

    def create_stage(self, schema: ibis.Schema) -> str:
        """Create an empty staging table and return its name; drop it with drop_stage.

        Staging tables are temporary: they live only as long as this connection, so a process
        that dies mid-ingest leaves nothing behind, and DuckDB keeps them out of its WAL.
        """
        name = f"{STAGE_PREFIX}{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"
        self.con.create_table(name, schema=schema, temp=True)
        return name

    def drop_stage(self, name: str) -> None:
        self.con.drop_table(name, force=True)

    # -- schema ----------------------------------------------------------------------------
    def schema_version(self) -> int:
        if "schema_migrations" not in self.con.list_tables():
            return 0
        return int(self.table("schema_migrations").version.max().execute() or 0)

    def migrate(self) -> int:
        """Apply pending migrations; return the schema version."""
        current = self.schema_version()
        latest = MIGRATIONS[-1].version
        if current > latest:
            raise WarehouseError(
                f"{self.url}: schema version {current} is newer than this earnright "
                f"(knows up to {latest}); upgrade earnright"
            )
        if current == 0:
            self.con.create_table(
                "schema_migrations",
                schema=ibis.schema(
                    {"version": "int64", "description": "string", "applied_at": "timestamp"}
                ),
            )
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            with self.transaction():
                for name in migration.tables:
                    self.con.create_table(name, schema=ibis.schema(TABLES[name].columns))
                self.insert(
                    "schema_migrations",
                    {
                        "version": [migration.version],
                        "description": [migration.description],
                        "applied_at": [datetime.now(UTC).replace(tzinfo=None)],
                    },
                )
        return latest


def _duckdb_path(url: str, base_dir: Path) -> Path:
    """``duckdb:///rel.duckdb`` is relative to the workspace; ``duckdb:////abs.duckdb`` absolute."""
    rest = url.removeprefix("duckdb://")
    path = Path(rest[1:]) if rest.startswith("//") else Path(rest.lstrip("/"))
    return path if path.is_absolute() else base_dir / path


def connect(
    url: str, base_dir: Path, *, read_only: bool = False, memory_limit: str | None = None
) -> Warehouse:
    """Open the warehouse at ``url`` (relative DuckDB paths are under ``base_dir``).

    ``memory_limit`` caps DuckDB's memory (e.g. ``"2GB"``); beyond it DuckDB spills to disk.
    """
    try:
        if url.startswith("duckdb://"):
            path = _duckdb_path(url, base_dir)
            con = ibis.duckdb.connect(str(path), read_only=read_only)
            con.raw_sql("SET enable_progress_bar = false")  # our own progress bars speak
            if memory_limit:
                con.raw_sql(f"SET memory_limit = '{memory_limit}'")
        else:
            con = ibis.connect(url)
    except Exception as exc:  # the backends raise many types; name the URL and the cause
        raise WarehouseError(f"cannot open the warehouse {url}: {exc}") from exc
    wh = Warehouse(con, url)
    if not read_only:
        wh.migrate()
    return wh

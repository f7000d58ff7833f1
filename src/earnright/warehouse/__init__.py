"""The warehouse: one schema behind an Ibis backend (DuckDB embedded by default).

``connect(url, base_dir)`` opens the backend, applies pending migrations and returns a
:class:`Warehouse`. Analytics read tables as Ibis expressions (``wh.table("feedback")``) and let
the backend scan; writes go through :meth:`Warehouse.transaction` so a batch is all or nothing.
Whatever differs between engines is the warehouse's :class:`~earnright.warehouse.dialect.Dialect`
(``wh.dialect``); callers never ask which engine they run on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from earnright.errors import WarehouseError
from earnright.warehouse.dialect import Dialect, dialect_for
from earnright.warehouse.dialect import quote as _quote
from earnright.warehouse.migrations import MIGRATIONS
from earnright.warehouse.schema import DATA_KINDS, OPEN_COLUMN_TYPE, TABLES, TableSpec

__all__ = [
    "DATA_KINDS",
    "STAGE_PREFIX",
    "TABLES",
    "Dialect",
    "TableSpec",
    "Warehouse",
    "connect",
    "redact_url",
    "sql_value",
]

STAGE_PREFIX = "_stage_"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"^([a-z]+://[^:/@]*):[^@/]*@", r"\1:***@", url)


def sql_value(value: Any) -> str:
    """A SQL literal for a Python value (strings escaped; timestamps as naive UTC)."""
    return _literal(value)


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


class Warehouse:
    """An open warehouse. Use as a context manager or call :meth:`close`."""

    def __init__(self, dialect: Dialect, url: str) -> None:
        self.dialect = dialect
        self.con = dialect.con
        self.url = url
        self.backend = dialect.backend_name

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.dialect.close()

    # -- reading ---------------------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        return self.dialect.table(name)

    def count(self, name: str) -> int:
        return int(self.table(name).count().execute())

    def open_columns(self, table: str) -> list[str]:
        """The open columns of a table (questions, attributes or dimensions), in added order."""
        core = TABLES[table].columns
        return [c for c in self.table(table).columns if c not in core]

    def view(self, filters: Mapping[str, Callable[[ir.Table], ir.Table]]) -> Warehouse:
        """This warehouse seen through ``filters`` (table name -> the rows to show), for reading:
        it shares the connection, and closing it leaves the connection open."""
        return _View(self, filters)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of one SQL query as tuples: for small lookups where compiling an Ibis
        expression would cost more than the query (build literals with :func:`sql_value`)."""
        return self.dialect.fetch(sql)

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert a few rows (column -> value; the first row's columns) with one ``INSERT …
        VALUES`` (inside any transaction): no staging, for the small writes of a request."""
        if not rows:
            return
        names = list(rows[0])
        cols = ", ".join(_quote(c) for c in names)
        values = ", ".join("(" + ", ".join(_literal(r.get(c)) for c in names) + ")" for r in rows)
        self.execute_sql(f"INSERT INTO {_quote(table)} ({cols}) VALUES {values}")

    def list_tables(self) -> list[str]:
        return self.dialect.list_tables()

    # -- writing ---------------------------------------------------------------------------
    def execute_sql(self, sql: str) -> None:
        """Run SQL statements that return nothing (inside any transaction)."""
        self.dialect.execute(sql)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all; a nested ``transaction()`` is
        a savepoint where the engine has them (PostgreSQL)."""
        with self.dialect.transaction():
            yield

    def lock(self, name: str) -> None:
        """Serialise writers on ``name`` until the current transaction ends.

        PostgreSQL takes a transaction-scoped advisory lock (several processes may write at
        once); DuckDB needs none, one process holds the file for writing.
        """
        self.dialect.lock(name)

    def update(self, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        """Set ``values`` on the rows matching every ``key`` column (inside any transaction).

        A key value that is a list matches any of its values."""
        sets = ", ".join(f"{_quote(c)} = {_literal(v)}" for c, v in values.items())
        self.execute_sql(f"UPDATE {_quote(table)} SET {sets} WHERE {_where(key)}")

    def delete(self, table: str, key: dict[str, Any]) -> None:
        """Delete the rows matching every ``key`` column."""
        self.execute_sql(f"DELETE FROM {_quote(table)} WHERE {_where(key)}")

    def delete_repeated(self, table: str, key: str, batch_id: int) -> None:
        """Delete the rows of batch ``batch_id`` whose ``key`` an earlier batch brought (inside
        the caller's transaction): a row ingested twice is one row, the first."""
        t, k, b = _quote(table), _quote(key), _quote("batch_id")
        self.execute_sql(
            f"DELETE FROM {t} WHERE {b} = {batch_id} AND {k} IN "
            f"(SELECT {k} FROM {t} WHERE {b} < {batch_id})"
        )

    def add_open_columns(self, table: str, columns: list[str], batch_id: int) -> None:
        """Add open columns to a table (inside the caller's transaction), recording each."""
        dtype = OPEN_COLUMN_TYPE[table]
        existing = set(self.table(table).columns)
        new = [c for c in columns if c not in existing]
        for col in new:
            self.add_column(table, col, dtype)
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
        target = self.table(table).schema()
        if not isinstance(data, ir.Table):
            # Typed from the target: a column of only None must not be null-typed (PostgreSQL
            # cannot stage one).
            if not isinstance(data, dict | pa.Table):
                data = pa.Table.from_pandas(data, preserve_index=False)
            names = list(data.keys() if isinstance(data, dict) else data.column_names)
            kept = [c for c in names if c in target]
            if self.dialect.arrow_inserts:
                rows = (
                    data.select(kept)
                    if isinstance(data, pa.Table)
                    else pa.table({c: data[c] for c in kept})
                )
                if rows.num_rows:
                    self.append_arrow(table, rows)
                return
            data = {c: data[c] for c in kept} if isinstance(data, dict) else data.select(kept)
            data = ibis.memtable(data, schema=ibis.schema({c: target[c] for c in kept}))
        cols = [c for c in target.names if c in data.columns]
        self.dialect.insert(table, data.select(*[data[c].cast(target[c]).name(c) for c in cols]))

    def add_column(self, table: str, column: str, dtype: dt.DataType) -> None:
        """``ALTER TABLE … ADD COLUMN`` (inside any transaction); staging tables too."""
        self.dialect.add_column(table, column, dtype)

    def append_arrow(self, table: str, data: pa.Table) -> None:
        """Append an Arrow table whose columns match ``table`` by name (the engine's fastest
        bulk path: DuckDB scans it in place, PostgreSQL streams it through COPY)."""
        self.dialect.append_arrow(table, data)

    def create_stage(self, schema: ibis.Schema) -> str:
        """Create an empty staging table and return its name; drop it with drop_stage.

        Staging tables are temporary: they live only as long as this connection, so a process
        that dies mid-ingest leaves nothing behind, and DuckDB keeps them out of its WAL.
        """
        name = f"{STAGE_PREFIX}{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"
        self.dialect.create_stage(name, schema)
        return name

    def drop_stage(self, name: str) -> None:
        self.dialect.drop_stage(name)

    def asof_time(
        self,
        left: ir.Table,
        right: ir.Table,
        *,
        time: tuple[str, str],
        by: Sequence[tuple[str, str]],
        name: str,
    ) -> ir.Table:
        """``left`` with a column ``name``: the latest ``right`` time at or before each row's,
        among right rows with equal ``by`` columns (see :meth:`Dialect.asof_time`)."""
        return self.dialect.asof_time(left, right, time=time, by=by, name=name)

    # -- schema ----------------------------------------------------------------------------
    def schema_version(self) -> int:
        if "schema_migrations" not in self.list_tables():
            return 0
        return int(self.table("schema_migrations").version.max().execute() or 0)

    def migrate(self) -> int:
        """Apply pending migrations; return the schema version (processes opening a new
        database at once take turns)."""
        with self.dialect.session_lock("migrate"):
            return self._migrate()

    def _migrate(self) -> int:
        current = self.schema_version()
        latest = MIGRATIONS[-1].version
        if current > latest:
            raise WarehouseError(
                f"{redact_url(self.url)}: schema version {current} is newer than this earnright "
                f"(knows up to {latest}); upgrade earnright"
            )
        if current == 0:
            self.dialect.create_table(
                "schema_migrations",
                ibis.schema(
                    {"version": "int64", "description": "string", "applied_at": "timestamp"}
                ),
            )
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            with self.transaction():
                existing = set(self.list_tables())  # re-applied: its tables are there
                for name in migration.tables:
                    if name not in existing:
                        self.dialect.create_table(name, ibis.schema(TABLES[name].columns))
                for table, column in migration.columns:
                    if column not in self.table(table).columns:
                        self.add_column(table, column, TABLES[table].columns[column])
                for statement in migration.statements:
                    self.execute_sql(statement)
                self.insert(
                    "schema_migrations",
                    {
                        "version": [migration.version],
                        "description": [migration.description],
                        "applied_at": [datetime.now(UTC).replace(tzinfo=None)],
                    },
                )
        return latest


class _View(Warehouse):
    """A warehouse seen through per-table filters; the connection belongs to the one it views."""

    def __init__(self, base: Warehouse, filters: Mapping[str, Callable[[ir.Table], ir.Table]]):
        super().__init__(base.dialect, base.url)
        self.base, self.filters = base, dict(filters)

    def table(self, name: str) -> ir.Table:
        t = self.base.table(name)
        keep = self.filters.get(name)
        return t if keep is None else keep(t)

    def close(self) -> None:
        pass


def connect(
    url: str, base_dir: Path, *, read_only: bool = False, memory_limit: str | None = None
) -> Warehouse:
    """Open the warehouse at ``url`` (relative DuckDB paths are under ``base_dir``).

    ``memory_limit`` caps DuckDB's memory (e.g. ``"2GB"``); beyond it DuckDB spills to disk.
    Pending migrations are applied on opening, also for reading: a warehouse an older
    earnright wrote is upgraded once (opened for writing) before it is read.
    """
    wh = _open(url, base_dir, read_only, memory_limit)
    if not read_only:
        wh.migrate()
    elif 0 < wh.schema_version() < MIGRATIONS[-1].version:
        wh.close()
        with _open(url, base_dir, False, memory_limit) as writer:
            writer.migrate()
        wh = _open(url, base_dir, True, memory_limit)
    return wh


def _open(url: str, base_dir: Path, read_only: bool, memory_limit: str | None) -> Warehouse:
    dialect = dialect_for(url)
    try:
        con = dialect.open(url, base_dir, read_only=read_only, memory_limit=memory_limit)
    except Exception as exc:  # the backends raise many types; name the URL and the cause
        raise WarehouseError(f"cannot open the warehouse {redact_url(url)}: {exc}") from exc
    return Warehouse(dialect(con), url)

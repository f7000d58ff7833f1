"""The warehouse: one schema behind an Ibis backend (DuckDB embedded by default).

``connect(url, base_dir)`` opens the backend, applies pending migrations and returns a
:class:`Warehouse`. Analytics read tables as Ibis expressions (``wh.table("feedback")``) and let
the backend scan; writes go through :meth:`Warehouse.transaction` so a batch is all or nothing.
"""

from __future__ import annotations

import io
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
import pyarrow.csv as pacsv

from earnright.errors import WarehouseError
from earnright.warehouse.schema import DATA_KINDS, MIGRATIONS, OPEN_COLUMN_TYPE, TABLES, TableSpec

__all__ = ["DATA_KINDS", "TABLES", "TableSpec", "Warehouse", "connect", "redact_url"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STAGE_PREFIX = "_stage_"
_LOCK = "earnright:"  # prefix of advisory lock names (PostgreSQL)
_COPY_ROWS = 50_000  # rows per CSV block sent to PostgreSQL's COPY


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"^([a-z]+://[^:/@]*):[^@/]*@", r"\1:***@", url)


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
    if dtype.is_timestamp():  # naive UTC
        return "TIMESTAMP"
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
        if self.backend == "postgres":
            # Our own cursor: Ibis's raw_sql rolls the whole connection back on an error,
            # which would end the caller's transaction half-way. Statements outside a
            # transaction commit at once (the connection autocommits).
            with self.con.con.cursor() as cur:
                cur.execute(sql)
            return
        cur = self.con.raw_sql(sql)
        if self.backend != "duckdb":  # DuckDB returns the connection itself, not a cursor
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all.

        On PostgreSQL this is psycopg's transaction block: everything Ibis runs inside it
        (each in its own nested block, i.e. a savepoint) commits or rolls back with it, and a
        nested ``transaction()`` is a savepoint.
        """
        if self.backend == "postgres":
            with self.con.con.transaction():
                yield
            return
        self.execute_sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute_sql("ROLLBACK")
            raise
        self.execute_sql("COMMIT")

    def lock(self, name: str) -> None:
        """Serialise writers on ``name`` until the current transaction ends.

        PostgreSQL takes a transaction-scoped advisory lock (several processes may write at
        once); DuckDB needs none, one process holds the file for writing.
        """
        if self.backend == "postgres":
            self.execute_sql(f"SELECT pg_advisory_xact_lock(hashtext({_literal(_LOCK + name)}))")

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
        target = self.table(table).schema()
        if not isinstance(data, ir.Table):
            # Typed from the target: a column of only None must not be null-typed (PostgreSQL
            # cannot stage one).
            if not isinstance(data, dict | pa.Table):
                data = pa.Table.from_pandas(data, preserve_index=False)
            names = list(data.keys() if isinstance(data, dict) else data.column_names)
            kept = [c for c in names if c in target]
            data = {c: data[c] for c in kept} if isinstance(data, dict) else data.select(kept)
            data = ibis.memtable(data, schema=ibis.schema({c: target[c] for c in kept}))
        cols = [c for c in target.names if c in data.columns]
        self.con.insert(table, data.select(*[data[c].cast(target[c]).name(c) for c in cols]))

    def append_arrow(self, table: str, data: pa.Table) -> None:
        """Append an Arrow table whose columns match ``table`` by name.

        On DuckDB the table is scanned in place and released at once (an Ibis memtable would
        stay registered, and its memory held, until garbage collection).
        """
        if self.backend == "postgres":
            _copy_arrow(self.con.con, table, data)
            return
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
        if self.backend == "postgres":  # two processes opening a new database at once
            self.execute_sql(f"SELECT pg_advisory_lock(hashtext({_literal(_LOCK + 'migrate')}))")
            try:
                return self._migrate()
            finally:
                self.execute_sql(
                    f"SELECT pg_advisory_unlock(hashtext({_literal(_LOCK + 'migrate')}))"
                )
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
                for table, column in migration.columns:
                    if column not in self.table(table).columns:
                        dtype = _sql_type(TABLES[table].columns[column])
                        self.execute_sql(
                            f"ALTER TABLE {_quote(table)} ADD COLUMN {_quote(column)} {dtype}"
                        )
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


def _copy_arrow(raw: Any, table: str, data: pa.Table) -> None:
    """Stream an Arrow table into a PostgreSQL table with COPY, as CSV blocks.

    In PostgreSQL's CSV format an unquoted empty field is NULL and a quoted one ("") the empty
    string, which is what Arrow's writer produces; floats are written to round-trip.
    """
    cols = ", ".join(_quote(c) for c in data.column_names)
    options = pacsv.WriteOptions(include_header=False)
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {_quote(table)} ({cols}) FROM STDIN (FORMAT csv)") as copy,
    ):
        for batch in data.to_batches(max_chunksize=_COPY_ROWS):
            block = io.BytesIO()
            pacsv.write_csv(batch, block, options)
            copy.write(block.getvalue())


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
        raise WarehouseError(f"cannot open the warehouse {redact_url(url)}: {exc}") from exc
    wh = Warehouse(con, url)
    if not read_only:
        wh.migrate()
    return wh

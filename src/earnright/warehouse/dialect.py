"""What differs between engines, in one place: one :class:`Dialect` subclass per backend.

The :class:`~earnright.warehouse.Warehouse` delegates every engine-specific step to its dialect:
opening the connection, running a statement, transactions and savepoints, advisory locks,
staging tables, bulk appends, ``ALTER TABLE``, the SQL type map, the regular expressions' word
boundary and the as-of join. Nothing outside ``warehouse/`` asks which engine it runs on.

:class:`Dialect` itself is a plain Ibis backend: what any Ibis engine can do, done the portable
way. :class:`DuckDB` and :class:`Postgres` override what their engine does better or
differently. A new backend is one more subclass, listed in :data:`DIALECTS`.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.csv as pacsv

from earnright.errors import WarehouseError

__all__ = [
    "DIALECTS",
    "Dialect",
    "DuckDB",
    "Postgres",
    "Spark",
    "dialect_for",
    "quote",
    "sql_literal",
]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOCK = "earnright:"  # prefix of advisory lock names (PostgreSQL)
_COPY_ROWS = 50_000  # rows per CSV block sent to PostgreSQL's COPY


def quote(name: str) -> str:
    """A quoted SQL identifier; WarehouseError for anything but a plain name."""
    if not _IDENT.match(name):
        raise WarehouseError(f"'{name}' is not a valid column or table name")
    return f'"{name}"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Dialect:
    """A backend reached through Ibis: the portable way to do each engine-specific step."""

    name: ClassVar[str] = "ibis"
    schemes: ClassVar[tuple[str, ...]] = ()  # the URL schemes this dialect opens
    word_edge: ClassVar[str] = r"\b"  # a word boundary in the engine's regular expressions
    # rows a caller holds (dicts, Arrow) are inserted with append_arrow, not an Ibis memtable
    arrow_inserts: ClassVar[bool] = False

    def __init__(self, con: ibis.BaseBackend) -> None:
        self.con = con

    @classmethod
    def open(
        cls, url: str, base_dir: Path, *, read_only: bool, memory_limit: str | None
    ) -> ibis.BaseBackend:
        """Open the engine at ``url`` (relative paths are under ``base_dir``)."""
        return ibis.connect(url)

    @property
    def backend_name(self) -> str:
        """The engine's name (``wh.backend``): Ibis's name of the connection."""
        return str(self.con.name)

    def close(self) -> None:
        self.con.disconnect()

    # -- tables as Ibis sees them ----------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        return self.con.table(name)

    def list_tables(self) -> list[str]:
        return list(self.con.list_tables())

    def create_table(self, name: str, schema: ibis.Schema) -> None:
        self.con.create_table(name, schema=schema)

    def insert(self, table: str, data: ir.Table) -> None:
        """Insert the rows of ``data`` (columns named and typed as the table's)."""
        self.con.insert(table, data)

    # -- statements and transactions -------------------------------------------------------
    def execute(self, sql: str) -> None:
        """Run one or more SQL statements that return nothing."""
        self.con.raw_sql(sql).close()

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of one query, as tuples (small lookups on a hot path; no Ibis compile)."""
        cursor = self.con.raw_sql(sql)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all."""
        self.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def lock(self, name: str) -> None:
        """Serialise writers on ``name`` until the current transaction ends (none needed when
        one process holds the database for writing)."""

    @contextmanager
    def session_lock(self, name: str) -> Iterator[None]:
        """Hold ``name`` across transactions (opening a new database: migrate once)."""
        yield

    # -- tables ----------------------------------------------------------------------------
    def sql_type(self, dtype: dt.DataType) -> str:
        """The column type of ``dtype`` in ``CREATE``/``ALTER TABLE`` (timestamps: naive UTC)."""
        if dtype.is_string():
            return "VARCHAR"
        if dtype.is_float64():
            return "DOUBLE PRECISION"
        if dtype.is_int64():
            return "BIGINT"
        if dtype.is_timestamp():
            return "TIMESTAMP"
        raise WarehouseError(f"no SQL type for {dtype}")

    def add_column(self, table: str, column: str, dtype: dt.DataType) -> None:
        """``ALTER TABLE … ADD COLUMN`` (inside any transaction)."""
        self.execute(
            f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} {self.sql_type(dtype)}"
        )

    def create_stage(self, name: str, schema: ibis.Schema) -> None:
        """A staging table that lives only as long as this connection."""
        self.con.create_table(name, schema=schema, temp=True)

    def drop_stage(self, name: str) -> None:
        self.con.drop_table(name, force=True)

    def append_arrow(self, table: str, data: pa.Table) -> None:
        """Append an Arrow table whose columns match ``table`` by name."""
        self.con.insert(table, data)

    # -- expressions -----------------------------------------------------------------------
    def asof_time(
        self,
        left: ir.Table,
        right: ir.Table,
        *,
        time: tuple[str, str],
        by: Sequence[tuple[str, str]],
        name: str,
    ) -> ir.Table:
        """``left`` with one more column ``name``: the latest ``right`` time at or before each
        left row's (``time`` = (left column, right column)), among the right rows whose ``by``
        columns equal its own; null without one. A right row at the very same instant counts.

        Portable form: one sorted window over both tables (an engine without a native as-of
        join would otherwise run a lateral subquery per left row, scanning ``right`` each time).
        """
        lt, rt = time
        ts = left[lt].type()  # PostgreSQL's are timestamp(6): every branch alike
        keys = dict(by)
        mine = {c: left[c] for c in left.columns}
        theirs = {
            c: right[keys[c]].cast(left[c].type()) if c in keys else ibis.null(left[c].type())
            for c in left.columns
        }
        rows = left.select(
            **mine, _asof_t=left[lt], _asof_at=ibis.null(ts), _asof_kind=ibis.literal(1, "int8")
        ).union(
            right.select(
                **theirs,
                _asof_t=right[rt].cast(ts),
                _asof_at=right[rt].cast(ts),
                _asof_kind=ibis.literal(0, "int8"),
            )
        )
        # a right row at the very time of a left one counts (right rows sort first on ties)
        w = ibis.window(
            group_by=[rows[c] for c in keys],
            order_by=[rows._asof_t, rows._asof_kind],
            rows=(None, 0),
        )
        rows = rows.mutate(_asof_at=rows._asof_at.max().over(w))
        rows = rows.filter(rows._asof_kind == 1)
        return rows.select(*left.columns, **{name: rows._asof_at})


class DuckDB(Dialect):
    """DuckDB, embedded: one process holds the file for writing; a native as-of join."""

    name = "duckdb"
    schemes = ("duckdb",)
    _sessions: ClassVar[threading.RLock] = threading.RLock()  # threads of the one writer process

    @contextmanager
    def session_lock(self, name: str) -> Iterator[None]:
        """Threads of the process take turns (other processes cannot open the file at all)."""
        with self._sessions:
            yield

    @classmethod
    def open(
        cls, url: str, base_dir: Path, *, read_only: bool, memory_limit: str | None
    ) -> ibis.BaseBackend:
        """``duckdb:///rel.duckdb`` is under ``base_dir``; ``duckdb:////abs.duckdb`` absolute.

        ``memory_limit`` caps DuckDB's memory (e.g. ``"2GB"``); beyond it DuckDB spills to disk.
        """
        path = cls.path_of(url, base_dir)
        con = ibis.duckdb.connect(str(path), read_only=read_only)
        con.raw_sql("SET enable_progress_bar = false")  # our own progress bars speak
        if memory_limit:
            con.raw_sql(f"SET memory_limit = {sql_literal(memory_limit)}")
        return con

    @staticmethod
    def path_of(url: str, base_dir: Path) -> Path:
        """The database file of ``url``: ``duckdb:///rel.duckdb`` under ``base_dir``,
        ``duckdb:////abs.duckdb`` absolute."""
        rest = url.split("://", 1)[1]
        path = Path(rest[1:]) if rest.startswith("//") else Path(rest.lstrip("/"))
        return path if path.is_absolute() else base_dir / path

    def execute(self, sql: str) -> None:
        self.con.raw_sql(sql)  # returns the connection itself, not a cursor: nothing to close

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.con.con.execute(sql).fetchall())

    def append_arrow(self, table: str, data: pa.Table) -> None:
        """The Arrow table is scanned in place and released at once (an Ibis memtable would stay
        registered, and its memory held, until garbage collection)."""
        raw = self.con.con
        view = f"_append_{id(data)}"
        raw.register(view, data)
        try:
            cols = ", ".join(quote(c) for c in data.column_names)
            raw.execute(f"INSERT INTO {quote(table)} ({cols}) SELECT {cols} FROM {quote(view)}")
        finally:
            raw.unregister(view)

    def asof_time(
        self,
        left: ir.Table,
        right: ir.Table,
        *,
        time: tuple[str, str],
        by: Sequence[tuple[str, str]],
        name: str,
    ) -> ir.Table:
        lt, rt = time
        right = right.select(
            _asof_at=right[rt], **{f"_asof_k{i}": right[b] for i, (_, b) in enumerate(by)}
        )
        predicates = [left[a] == right[f"_asof_k{i}"] for i, (a, _) in enumerate(by)]
        joined = left.asof_join(right, on=left[lt] >= right._asof_at, predicates=predicates)
        return joined.select(*left.columns, **{name: joined._asof_at})


class Postgres(Dialect):
    """PostgreSQL, a server: several processes write at once, so writers take advisory locks;
    transactions are psycopg's (a nested one is a savepoint); appends stream through COPY."""

    name = "postgres"
    schemes = ("postgresql", "postgres")
    word_edge = r"\y"  # in PostgreSQL's regular expressions \b is a backspace

    def execute(self, sql: str) -> None:
        # Our own cursor: Ibis's raw_sql rolls the whole connection back on an error, which
        # would end the caller's transaction half-way. Statements outside a transaction commit
        # at once (the connection autocommits).
        with self.con.con.cursor() as cur:
            cur.execute(sql)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        with self.con.con.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """psycopg's transaction block: everything Ibis runs inside it (each in its own nested
        block, i.e. a savepoint) commits or rolls back with it; a nested one is a savepoint."""
        with self.con.con.transaction():
            yield

    def lock(self, name: str) -> None:
        """A transaction-scoped advisory lock: several processes may write at once."""
        self.execute(f"SELECT pg_advisory_xact_lock(hashtext({sql_literal(_LOCK + name)}))")

    @contextmanager
    def session_lock(self, name: str) -> Iterator[None]:
        key = f"hashtext({sql_literal(_LOCK + name)})"
        self.execute(f"SELECT pg_advisory_lock({key})")
        try:
            yield
        finally:
            self.execute(f"SELECT pg_advisory_unlock({key})")

    def append_arrow(self, table: str, data: pa.Table) -> None:
        """Stream the Arrow table with COPY, as CSV blocks.

        In PostgreSQL's CSV format an unquoted empty field is NULL and a quoted one ("") the
        empty string, which is what Arrow's writer produces; floats are written to round-trip.
        """
        cols = ", ".join(quote(c) for c in data.column_names)
        options = pacsv.WriteOptions(include_header=False)
        with (
            self.con.con.cursor() as cur,
            cur.copy(f"COPY {quote(table)} ({cols}) FROM STDIN (FORMAT csv)") as copy,
        ):
            for batch in data.to_batches(max_chunksize=_COPY_ROWS):
                block = io.BytesIO()
                pacsv.write_csv(batch, block, options)
                copy.write(block.getvalue())


from earnright.warehouse.spark import Spark  # noqa: E402 (it builds on Dialect)

DIALECTS: tuple[type[Dialect], ...] = (DuckDB, Postgres, Spark)


def dialect_for(url: str) -> type[Dialect]:
    """The dialect that opens ``url`` (by its scheme); any other scheme is a plain Ibis one."""
    scheme = url.split("://", 1)[0].lower()
    for dialect in DIALECTS:
        if scheme in dialect.schemes:
            return dialect
    return Dialect

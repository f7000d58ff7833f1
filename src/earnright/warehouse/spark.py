"""Apache Spark through Ibis, with tables stored as a manifest of immutable Parquet segments.

Spark's own tables cannot UPDATE, DELETE or roll back without Delta Lake or Iceberg, whose jars
these machines cannot install; so every table is a list of Parquet segment directories named by
one manifest (:mod:`earnright.warehouse.sparkstore`), and a transaction commits by replacing the
manifest in one atomic rename. Each connection reads its tables as session temporary views over
the segments of the manifest it sees; the statements the warehouse runs (``INSERT``, ``UPDATE``,
``DELETE``, ``ALTER TABLE … ADD COLUMN``, ``CREATE TABLE``) are translated into Spark queries
whose results become new segments (see docs/spark.md).

URL: ``spark:///DIR`` (``DIR`` relative to the workspace; ``spark:////ABS`` absolute) runs a local
session, ``local[*]`` unless ``?master=local[2]`` or ``?master=spark://host:7077`` says otherwise;
``sc://host:15002/ABS_DIR`` reaches a Spark Connect server. Any other query parameter
(``spark.driver.memory=4g``) is a session setting. pyspark is imported only here, when a Spark
warehouse opens: ``pip install earnright[spark]``.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot
from sqlglot import exp

from earnright.errors import WarehouseError
from earnright.warehouse.dialect import Dialect
from earnright.warehouse.sparkstore import COMPACT_SEGMENTS, Store
from earnright.warehouse.sparkunique import UniqueViolation, first_clash

__all__ = ["Spark", "UniqueViolation", "spark_location"]

_SESSION_LOCK = threading.Lock()
_SESSIONS: dict[str, Any] = {}  # master -> the process's one root session (a JVM each)
_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # results reach pandas through Arrow, not row by row through pickled Python objects
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
_SPARK_TYPES = {
    "string": "STRING",
    "float64": "DOUBLE",
    "int64": "BIGINT",
    "boolean": "BOOLEAN",
    "int32": "INT",
    "int8": "TINYINT",
}


def _type_name(dtype: dt.DataType) -> str:
    """The manifest's name of a column type (nullable; timestamps naive, microseconds)."""
    if dtype.is_timestamp():
        return "timestamp"
    return str(dtype.copy(nullable=True))


def spark_location(url: str, base_dir: Path) -> tuple[str, Path, dict[str, str]]:
    """The master, warehouse directory and session settings a Spark URL names."""
    parts = urlsplit(url)
    settings = dict(parse_qsl(parts.query))
    master = settings.pop("master", "local[*]")
    if parts.scheme == "sc":
        master = f"sc://{parts.netloc}"
    elif parts.netloc:
        master = f"spark://{parts.netloc}"
    rest = parts.path
    path = Path(rest[1:]) if rest.startswith("//") else Path(rest.lstrip("/") or "spark-warehouse")
    return master, path if path.is_absolute() else base_dir / path, settings


def _root_session(master: str, settings: dict[str, str]) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # the extra is missing: name it
        raise WarehouseError(
            "a spark:// warehouse needs pyspark: pip install 'earnright[spark]'"
        ) from exc
    with _SESSION_LOCK:
        if master not in _SESSIONS:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            # Python workers (applyInPandas: reliability/partitioned.py) run this interpreter,
            # whose packages they import, not whatever `python3` is first on the PATH
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = SparkSession.builder
            builder = builder.remote(master) if master.startswith("sc://") else builder
            if not master.startswith("sc://"):
                builder = builder.master(master)
            for key, value in {**_DEFAULTS, **settings}.items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
            if not master.startswith("sc://"):
                session.sparkContext.setLogLevel("ERROR")
            _SESSIONS[master] = session
            atexit.register(session.stop)
        return _SESSIONS[master]


def _backend(master: str, settings: dict[str, str]) -> Any:
    """An Ibis connection on a new session of the process's one Spark context: its own temporary
    views (one warehouse directory each), the context's executors shared."""
    root = _root_session(master, settings)
    session = root if master.startswith("sc://") else root.newSession()
    for key, value in {**_DEFAULTS, **settings}.items():
        if key.startswith("spark.sql."):
            session.conf.set(key, value)
    con = ibis.pyspark.connect(session)
    cache = con._create_cached_table

    def cached(name: str, expr: ir.Table) -> Any:
        # Ibis 12's PySpark backend compiles ``.cache()`` without registering the expression's
        # memtables (a TABLE_OR_VIEW_NOT_FOUND); execute does, so do it here as well
        con._run_pre_execute_hooks(expr)
        return cache(name, expr)

    con._create_cached_table = cached
    return con


class Spark(Dialect):
    """Spark: tables are manifest-named Parquet segments, commits one atomic rename."""

    name = "spark"
    schemes = ("spark", "sc")
    arrow_inserts = True  # rows the caller holds go straight to a Parquet segment (no job)
    _stores: ClassVar[dict[int, Store]] = {}

    @classmethod
    def open(
        cls, url: str, base_dir: Path, *, read_only: bool, memory_limit: str | None
    ) -> ibis.BaseBackend:
        master, root, settings = spark_location(url, base_dir)
        con = _backend(master, settings)
        store = Store(root)
        if not read_only:
            with store.locks.held():
                store.sweep()
        cls._stores[id(con)] = store
        return con

    def __init__(self, con: ibis.BaseBackend) -> None:
        super().__init__(con)
        self.store = self._stores.pop(id(con))
        self.session: Any = con._session
        self.seen = -1  # the manifest stamp the views were made from
        self.views: dict[str, str] = {}  # view -> the entry it was made from (as JSON)
        self.refresh()

    @property
    def backend_name(self) -> str:
        return "spark"

    def close(self) -> None:
        """Drop this connection's views; the process's Spark context stays for the next one."""
        for name in self.views:
            self.session.catalog.dropTempView(name)
        self.views = {}

    # -- views over the manifest --------------------------------------------------------
    def refresh(self) -> None:
        """Re-make the views when another process committed (outside a transaction)."""
        if self.store.in_transaction:
            return
        stamp = self.store.stamp()
        if stamp == self.seen:
            return
        self.store.state = self.store.read()
        self.sync()
        self.seen = stamp

    def sync(self) -> None:
        """Re-make the views whose table changed (and drop those of dropped tables)."""
        names = set(self.store.names())
        for name in [v for v in self.views if v not in names]:
            self.session.catalog.dropTempView(name)
            del self.views[name]
        for name in names:
            self.register(name)

    def register(self, name: str) -> None:
        """(Re)define the view ``name`` over its segments, typed by the manifest's columns."""
        entry = self.store.entry(name)
        key = json.dumps(entry, sort_keys=True)
        if self.views.get(name) == key:
            return
        paths = self.store.paths(name)
        if paths:
            df = self._read(name, paths)
        else:
            df = self.session.createDataFrame([], self._schema(name))
        df.createOrReplaceTempView(name)
        self.views[name] = key

    def _schema(self, name: str) -> Any:
        """The Spark schema of the table ``name``, from the manifest's columns."""
        from pyspark.sql.types import StructType

        columns = self.store.entry(name)["columns"]
        return StructType.fromDDL(
            ", ".join(f"`{c}` {self.sql_type(dt.dtype(t))}" for c, t in columns)
        )

    def _read(self, name: str, paths: list[str]) -> Any:
        """The rows of these segments of ``name``, typed by the manifest's columns."""
        return self.session.read.schema(self._schema(name)).parquet(*paths)

    def table(self, name: str) -> ir.Table:
        self.refresh()
        return self.con.table(name)

    def list_tables(self) -> list[str]:
        self.refresh()
        return [n for n in self.store.names() if n not in self.store.stages]

    def sql_type(self, dtype: dt.DataType) -> str:
        if dtype.is_timestamp():
            return "TIMESTAMP_NTZ"
        spark = _SPARK_TYPES.get(str(dtype))
        if spark is None:
            raise WarehouseError(f"no Spark type for {dtype}")
        return spark

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes inside go to new segments; the commit is one rename of the manifest. A nested
        transaction is a savepoint: failing, it restores the manifest it started from."""
        if self.store.in_transaction:
            with self._savepoint():
                yield
            return
        with self.store.locks.held():
            self.store.begin()
            self.sync()
            try:
                yield
            except BaseException:
                self.store.rollback()
                self.sync()
                raise
            self.store.commit()
            self.seen = self.store.stamp()

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        saved = self.store.savepoint()
        try:
            yield
        except BaseException:
            self.store.restore(saved)
            self.sync()
            raise

    @contextmanager
    def session_lock(self, name: str) -> Iterator[None]:
        with self.store.locks.held():
            yield

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write: inside the caller's transaction, else in one of its own."""
        with self.transaction():
            yield

    # -- writes -------------------------------------------------------------------------
    def create_table(self, name: str, schema: ibis.Schema) -> None:
        with self._writing():
            self.store.create(name, [[c, _type_name(t)] for c, t in schema.items()])
            self.register(name)

    def create_stage(self, name: str, schema: ibis.Schema) -> None:
        self.store.create(name, [[c, _type_name(t)] for c, t in schema.items()], stage=True)
        self.register(name)

    def drop_stage(self, name: str) -> None:
        self.session.catalog.dropTempView(name)
        self.views.pop(name, None)
        self.store.drop_stage(name)

    def add_column(self, table: str, column: str, dtype: dt.DataType) -> None:
        """A new column is the manifest's alone: older segments read it as null."""
        with self._writing():
            entry = self.store.entry(table)
            if column in (c for c, _ in entry["columns"]):
                raise WarehouseError(f"{table} already has a column {column}")
            self.sql_type(dtype)  # a type Spark stores
            entry["columns"] = [*entry["columns"], [column, _type_name(dtype)]]
            self.store.set(table, entry)
            self.register(table)

    def append_arrow(self, table: str, data: pa.Table) -> None:
        with self._writing():
            self._append(table, self.store.write_arrow(table, data))

    def insert(self, table: str, data: ir.Table) -> None:
        with self._writing():
            self.con._run_pre_execute_hooks(data)  # registers the memtables
            self._append_frame(table, self.session.sql(self.con.compile(data)))

    def _append(self, table: str, segment: str) -> None:
        entry = self.store.entry(table)
        if entry.get("unique"):  # the writer lock is held: no other writer can slip in
            new = self._read(table, [str(self.store.root / segment)])
            first_clash(self.session.table(table), new, table, entry["unique"])
        if len(entry["segments"]) >= COMPACT_SEGMENTS and table not in self.store.stages:
            self._rewrite(table, self.session.table(table))
            entry = self.store.entry(table)
        entry["segments"] = [*entry["segments"], segment]
        self.store.set(table, entry)
        self.register(table)

    # -- unique indexes -----------------------------------------------------------------
    def _create_index(self, statement: exp.Create) -> None:
        """``CREATE UNIQUE INDEX name ON table (columns)``: the manifest records the key, and
        every later append to the table is checked against it (:mod:`.sparkunique`). Other
        indexes are nothing on Parquet segments."""
        if not statement.args.get("unique"):
            return
        index = statement.this
        name, table = index.name, index.args["table"].name
        columns = [c.name for c in index.args["params"].args["columns"]]
        entry = self.store.entry(table)
        unique = dict(entry.get("unique", {}))
        if name in unique:
            if statement.args.get("exists"):
                return
            raise WarehouseError(f"{table} already has an index {name}")
        missing = set(columns) - {c for c, _ in entry["columns"]}
        if missing:
            raise WarehouseError(f"{table} has no column(s) {sorted(missing)} for {name}")
        first_clash(self.session.table(table), None, table, {name: columns})  # rows there
        entry["unique"] = {**unique, name: columns}
        self.store.set(table, entry)
        self.register(table)

    def _typed(self, table: str, df: Any, *, every: bool) -> Any:
        """``df``'s columns cast to the table's types (all of them, nulls for missing, when
        ``every``), in the table's order."""
        from pyspark.sql import functions as F

        cols = []
        for c, t in self.store.entry(table)["columns"]:
            if c in df.columns:
                cols.append(F.col(f"`{c}`").cast(self.sql_type(dt.dtype(t))).alias(c))
            elif every:
                cols.append(F.lit(None).cast(self.sql_type(dt.dtype(t))).alias(c))
        return df.select(*cols)

    def _write_frame(self, table: str, df: Any, *, every: bool) -> str:
        rel, path = self.store.new_segment(table)
        self._typed(table, df, every=every).write.parquet(str(path))
        return rel

    def _append_frame(self, table: str, df: Any) -> None:
        self._append(table, self._write_frame(table, df, every=False))

    def _rewrite(self, table: str, df: Any) -> None:
        """The table's rows become ``df``'s, in one new segment."""
        segment = self._write_frame(table, df, every=True)
        entry = self.store.entry(table)
        entry["segments"] = [segment]
        self.store.set(table, entry)
        self.register(table)

    # -- statements ---------------------------------------------------------------------
    def execute(self, sql: str) -> None:
        """Run the warehouse's DML, translated: INSERT appends a segment, UPDATE and DELETE
        rewrite the table (all in the current transaction)."""
        with self._writing():
            for statement in sqlglot.parse(sql, read="postgres"):
                if statement is not None:
                    self._statement(statement)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        self.refresh()
        query = sqlglot.transpile(sql, read="postgres", write="spark")[0]
        return [tuple(row) for row in self.session.sql(query).collect()]

    def _statement(self, statement: exp.Expr) -> None:
        if isinstance(statement, exp.Insert):
            self._insert_sql(statement)
        elif isinstance(statement, exp.Update):
            self._update_sql(statement)
        elif isinstance(statement, exp.Delete):
            table, where = statement.this.name, statement.args.get("where")
            self.store.entry(table)  # a missing table is named
            keep = f"({self._spark(where.this)}) IS NOT TRUE" if where is not None else "FALSE"
            self._rewrite(table, self.session.sql(f"SELECT * FROM `{table}` WHERE {keep}"))
        elif isinstance(statement, exp.Drop) and statement.args.get("kind") == "TABLE":
            self.store.drop(statement.this.name, missing_ok=bool(statement.args.get("exists")))
            self.sync()
        elif isinstance(statement, exp.Alter) and all(
            isinstance(a, exp.Drop) and a.args.get("kind") == "COLUMN"
            for a in statement.args["actions"]
        ):
            self._drop_columns(
                statement.this.name, [a.this.name for a in statement.args["actions"]]
            )
        elif isinstance(statement, exp.Create) and statement.args.get("kind") == "INDEX":
            self._create_index(statement)  # unique ones checked on append: see docs/spark.md
        else:
            raise WarehouseError(f"the Spark warehouse cannot run: {statement.sql()[:200]}")

    def _drop_columns(self, table: str, columns: list[str]) -> None:
        """The table rewritten without the columns (a column added again later starts empty)."""
        entry = self.store.entry(table)
        missing = set(columns) - {c for c, _ in entry["columns"]}
        if missing:
            raise WarehouseError(f"{table} has no column(s) {sorted(missing)}")
        rows = self.session.table(table)  # the view as it was, read by the rewrite
        entry["columns"] = [[c, t] for c, t in entry["columns"] if c not in columns]
        self.store.set(table, entry)
        self._rewrite(table, rows)

    @staticmethod
    def _spark(node: exp.Expression) -> str:
        return node.sql(dialect="spark")

    def _insert_sql(self, statement: exp.Insert) -> None:
        target = statement.this
        if isinstance(target, exp.Schema):
            table, names = target.this.name, [c.name for c in target.expressions]
        else:
            table, names = target.name, [c for c, _ in self.store.entry(target.name)["columns"]]
        df = self.session.sql(self._spark(statement.expression)).toDF(*names)
        self._append_frame(table, df)

    def _update_sql(self, statement: exp.Update) -> None:
        """``UPDATE t SET … [FROM s AS c] WHERE …``: matched rows take the new values (each row
        numbered, the matches found with a join when there is a FROM)."""
        table = statement.this.name
        sets = {e.this.name: self._spark(e.expression) for e in statement.expressions}
        where = statement.args.get("where")
        cond = self._spark(where.this) if where is not None else "TRUE"
        columns = [c for c, _ in self.store.entry(table)["columns"]]
        source = statement.args.get("from_")
        if source is None:
            picks = [
                f"CASE WHEN ({cond}) IS TRUE THEN {sets[c]} ELSE `{c}` END AS `{c}`"
                if c in sets
                else f"`{c}`"
                for c in columns
            ]
            self._rewrite(table, self.session.sql(f"SELECT {', '.join(picks)} FROM `{table}`"))
            return
        numbered = f"_er_rows_{table}"
        self.session.table(table).selectExpr(
            "*", "monotonically_increasing_id() AS _er_rid"
        ).localCheckpoint().createOrReplaceTempView(numbered)
        new = ", ".join(f"{v} AS `_er_{c}`" for c, v in sets.items())
        matches = (
            f"SELECT `{table}`._er_rid AS _er_hit, {new} FROM `{numbered}` AS `{table}`, "
            f"{self._spark(source.this)} WHERE {cond}"
        )
        picks = [
            f"CASE WHEN m._er_hit IS NOT NULL THEN m.`_er_{c}` ELSE t.`{c}` END AS `{c}`"
            if c in sets
            else f"t.`{c}`"
            for c in columns
        ]
        query = (
            f"SELECT {', '.join(picks)} FROM `{numbered}` AS t LEFT JOIN "
            f"(SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY _er_hit ORDER BY "
            f"_er_hit) AS _er_n FROM ({matches})) WHERE _er_n = 1) AS m ON t._er_rid = m._er_hit"
        )
        self._rewrite(table, self.session.sql(query))
        self.session.catalog.dropTempView(numbered)

"""The engine path: a clean Parquet file goes into its table in one SQL statement (DuckDB).

At 1,000 stores and beyond most of an ingest's CPU went to moving rows through Python: Arrow to
pandas, the checks, pandas back to Arrow, and the engine compressing the appended rows again at
the checkpoint. On DuckDB a Parquet file of the kinds below is instead read by the engine itself
(``read_parquet``): one ``INSERT … SELECT`` applies the same normalisation as the row checks of
:mod:`earnright.ingest.kinds` (text stripped, an empty text missing, times in UTC without a zone,
NaN missing, a metric's row key) and keeps only the rows that pass every check. If it kept every
row of the file, and no key repeats within the file, the batch is done in that transaction; if a
single row fails any check (or the file has a column type, name or shape this path does not
take), the transaction rolls back and the general path reads the file, so every rejected row is
quarantined with the same file, line, field and reason as before. The check here is at least as
strict as the general one: a row it keeps, the general path keeps identically (a test compares
the two on the same files); it may refuse more (text with an edge space, a nanosecond time),
which only costs the second reading.

Only DuckDB reads files itself; PostgreSQL (and any kind with free text to mask, or with a
``[sources.NAME]`` mapping) takes the general path.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from earnright.config import Config
from earnright.ingest.kinds import KINDS, KindSpec, open_columns_of
from earnright.ingest.readers import check_column_names
from earnright.ingest.result import IngestResult
from earnright.progress import StepProgress
from earnright.warehouse import Warehouse, sql_value

__all__ = ["ENGINE_KINDS", "KINDS", "engine_ingest", "keys_ascend"]

# kinds whose every check this path makes in SQL (no free text to mask, no questions)
ENGINE_KINDS = frozenset({"customers", "invitations", "transactions", "metrics"})
ENABLED = True  # tests switch it off to compare with the general path
# Parquet column types (DuckDB's names) taken per field type; anything else: general path
TEXT_TYPES = frozenset({"VARCHAR"})
TIME_TYPES = frozenset({"TIMESTAMP", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"})
INT_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT"})
INT_TYPES |= frozenset({"UTINYINT", "USMALLINT", "UINTEGER"})
FLOAT_TYPES = INT_TYPES | {"FLOAT", "DOUBLE"}
# Python's str.strip() removes every character str.isspace() holds: the general path strips,
# so a text with one at either end is left to it
SPACE = r"[\x{09}-\x{0d}\x{1c}-\x{20}\x{85}\pZ]"
EXACT = 2**53  # integers a float64 holds exactly (the general path reads counts as float64)


class Declined(Exception):
    """This file is not for the engine path; the general path reads it."""


def engine_ingest(
    wh: Warehouse,
    spec: KindSpec,
    config: Config,
    path: Path,
    progress: StepProgress | None,
) -> tuple[IngestResult, int, bool] | None:
    """Insert a clean Parquet file in one statement, inside the caller's transaction, under a
    new batch id. Returns the result (rows read, accepted), the batch id and whether its keys
    are known to be distinct (``keys_ascend``), or None when the file is not for this path
    (then nothing was written: the caller rolls back)."""
    if not _eligible(wh, spec, config, path):
        return None
    try:
        plan = _Plan(wh, spec, config, path)
    except Declined:
        return None
    total = pq.ParquetFile(path).metadata.num_rows
    if progress:
        progress(0, total)
    batch_id = int(wh.table("batches").batch_id.max().fill_null(0).execute()) + 1
    if plan.open_cols:
        wh.add_open_columns(spec.table, plan.open_cols, batch_id)
    kept = int(wh.fetch(plan.insert_sql(batch_id))[0][0])
    if kept < total:  # a row failed a check: the general path quarantines it
        return None
    if progress:
        progress(total, total)
    result = IngestResult(kind=spec.kind, source=str(path), rows_read=total)
    return result, batch_id, keys_ascend(path, spec)


def keys_ascend(path: Path, spec: KindSpec, batch_rows: int = 1 << 20) -> bool:
    """Whether the file's key column strictly ascends, row after row (byte order): then no
    key repeats in the batch, and the count of its distinct keys (``finish_direct``; 2-4 CPU s
    on 8.7M transactions) is not needed. Exported files are often in key order, the demo's
    always. The rows this path keeps are every row of the file with its key as written (an
    empty key is refused, one with an edge space left to the general path), so distinct keys
    in the file are distinct keys in the table. False for a computed key (metrics) or a
    missing one: the count decides. Reads the one column, ``batch_rows`` at a time."""
    if spec.kind == "metrics" or len(spec.key) != 1:
        return False
    last = None
    batches = pq.ParquetFile(path).iter_batches(columns=[spec.key[0]], batch_size=batch_rows)
    for batch in batches:
        keys = batch.column(0)
        if not pa.types.is_string(keys.type) or keys.null_count:
            return False
        if not len(keys):
            continue
        if last is not None and not pc.less(last, keys[0]).as_py():
            return False
        if len(keys) > 1 and not pc.all(pc.less(keys[:-1], keys[1:])).as_py():
            return False
        last = keys[-1]
    return True


def _eligible(wh: Warehouse, spec: KindSpec, config: Config, path: Path) -> bool:
    return (
        ENABLED
        and wh.dialect.name == "duckdb"
        and spec.kind in ENGINE_KINDS
        and path.suffix.lower() in (".parquet", ".pq")
        and config.source_for(spec.kind) is None
    )


class _Plan:
    """The SELECT that reads, normalises and checks the file's rows, column by column."""

    def __init__(self, wh: Warehouse, spec: KindSpec, config: Config, path: Path) -> None:
        self.spec, self.config = spec, config
        self.source = f"read_parquet({sql_value(str(path))})"
        types = {str(r[0]): str(r[1]) for r in wh.fetch(f"DESCRIBE SELECT * FROM {self.source}")}
        check_column_names(list(types), str(path))
        for index in _pandas_index(path):  # read back as the index, not a column
            types.pop(index, None)
        if any(c not in types for c in spec.required):
            raise Declined  # the general path names the missing columns
        self.open_cols = open_columns_of(spec, list(types), config, str(path))
        self.values: dict[str, str] = {}  # column -> its normalised value
        self.checks: list[str] = []  # conditions every kept row meets
        for name, ftype in spec.fields.items():
            if name not in types:
                self.values[name] = "NULL"
            elif ftype in ("id", "text"):
                required = ftype == "id" and name in spec.required
                # a unit column is checked against the units table, whose ids were stripped
                # when they went in (units take the general path): one in it has no edge space
                edges = name not in spec.unit_columns
                self._text(name, types[name], required=required, edges=edges)
            elif ftype == "timestamp":
                self._time(name, types[name], required=name in spec.required)
            else:
                self._number(name, types[name], ftype, required=name in spec.required)
        for col in self.open_cols:
            self._text(col, types[col], required=False)
        self._kind_checks(wh)

    def _text(self, name: str, ctype: str, *, required: bool, edges: bool = True) -> None:
        if ctype not in TEXT_TYPES:
            raise Declined
        col = _q(name)
        self.values[name] = f"NULLIF({col}, '')"
        edge = f"regexp_matches({col}, '^{SPACE}|{SPACE}$')"
        self.checks.append(f"({col} IS NOT NULL AND {col} <> '')" if required else "TRUE")
        if edges:
            self.checks.append(f"NOT coalesce({edge}, FALSE)")

    def _time(self, name: str, ctype: str, *, required: bool) -> None:
        if ctype not in TIME_TYPES:
            raise Declined
        col = _q(name)
        zoned = ctype.endswith("TIME ZONE")
        # an instant to UTC without a zone: its microseconds since the epoch, as a plain time
        # (timezone('UTC', …) gives the same, for ten times the CPU: 3.4 s on 8.7M rows)
        utc = f"make_timestamp(epoch_us({col}))"
        self.values[name] = utc if zoned else f"CAST({col} AS TIMESTAMP)"
        if required:
            self.checks.append(f"{col} IS NOT NULL")

    def _number(self, name: str, ctype: str, ftype: str, *, required: bool) -> None:
        if ctype not in (INT_TYPES if ftype == "int" else FLOAT_TYPES):
            raise Declined
        col = _q(name)
        if ctype in ("FLOAT", "DOUBLE"):
            self.values[name] = f"CASE WHEN isnan({col}) THEN NULL ELSE CAST({col} AS DOUBLE) END"
            self.checks.append(f"NOT coalesce(isinf({col}), FALSE)")
        else:
            cast = "BIGINT" if ftype == "int" else "DOUBLE"
            self.values[name] = f"CAST({col} AS {cast})"
            self.checks.append(f"coalesce(abs({col}) < {EXACT}, TRUE)")
        if required:
            self.checks.append(f"({self.values[name]}) IS NOT NULL")

    def _kind_checks(self, wh: Warehouse) -> None:
        v = self.values
        for col in self.spec.unit_columns:
            self.checks.append(f"{v[col]} IN (SELECT unit_id FROM units)")
        moments = self.config.journey.moment_ids()
        if self.spec.kind == "invitations" and moments:
            known = ", ".join(sql_value(m) for m in moments)
            self.checks.append(f"coalesce({v['moment']} IN ({known}), TRUE)")
        if self.spec.kind == "metrics":
            value, good, total = v["value"], v["good"], v["total"]
            has_value = f"({value}) IS NOT NULL"
            has_counts = f"(({good}) IS NOT NULL AND ({total}) IS NOT NULL)"
            self.checks.append(f"({has_value}) <> ({has_counts})")
            for count in (good, total):
                self.checks.append(f"coalesce(({count}) >= 0, TRUE)")
            self.checks.append(f"coalesce(({good}) <= ({total}), TRUE)")
            self.values["row_key"] = self._metric_key()

    def _metric_key(self) -> str:
        """kinds.metric_row_key in SQL: time to the microsecond, metric, unit, then each
        non-empty dimension as |name=value, the names sorted."""
        v = self.values
        stamp = f"strftime({v['observed_at']}, '%Y-%m-%dT%H:%M:%S.%f')"
        key = f"{stamp} || '|' || {v['metric']} || '|' || {v['unit_id']}"
        for dim in sorted(self.open_cols):
            key += f" || coalesce('|{dim}=' || {v[dim]}, '')"
        return key

    def insert_sql(self, batch_id: int) -> str:
        names = [*self.spec.fields, *self.open_cols]
        if self.spec.kind == "metrics":
            names.append("row_key")
        columns = ", ".join(_q(n) for n in names)
        values = ", ".join(f"{self.values[n]} AS {_q(n)}" for n in names)
        where = " AND ".join(f"({c})" for c in self.checks) or "TRUE"
        return (
            f"INSERT INTO {_q(self.spec.table)} ({columns}, batch_id) "
            f"SELECT {values}, {batch_id} FROM {self.source} WHERE {where}"
        )


def _pandas_index(path: Path) -> list[str]:
    """The columns a file written by pandas stores its index in (the general path reads the
    file through pandas, which makes them the index again)."""
    meta = pq.ParquetFile(path).schema_arrow.pandas_metadata or {}
    return [c for c in meta.get("index_columns", []) if isinstance(c, str)]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

"""Tables from outside a workspace: a file (CSV, Parquet, JSON Lines), a DataFrame or an Ibis
table, for the capabilities that analyse any table (``drivers`` with a source, ``localize``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["as_table", "read_table"]


def read_table(path: Path, argument: str | None = None) -> ir.Table:
    """A CSV, Parquet or JSON Lines file (gzipped or not) as an Ibis table on in-memory DuckDB;
    QueryError naming ``argument`` when it is missing or unreadable."""
    import ibis

    from earnright.errors import QueryError
    from earnright.export import protect

    if not path.is_file():
        raise QueryError(f"{path}: no such file", argument=argument)
    protect(path)
    con = ibis.duckdb.connect()
    name = path.name.lower().removesuffix(".gz")
    try:
        if name.endswith(".parquet"):
            return con.read_parquet(path)
        if name.endswith((".jsonl", ".ndjson", ".json")):
            return con.read_json(path)
        return con.read_csv(path)
    except Exception as exc:  # DuckDB's own message says what is wrong with the file
        raise QueryError(f"{path}: cannot read it as a table: {exc}", argument=argument) from exc


def as_table(source: Any, argument: str | None = None) -> ir.Table:
    """``source`` as an Ibis table: a path read with :func:`read_table`, a pandas DataFrame,
    or an Ibis table as it is."""
    import ibis
    import pandas as pd

    if isinstance(source, str | Path):
        return read_table(Path(source), argument)
    if isinstance(source, pd.DataFrame):
        return ibis.memtable(source)
    return source

"""Unique indexes on the Spark warehouse: Parquet segments have none, so the writer checks them.

A unique index (``CREATE UNIQUE INDEX name ON table (columns)``) is kept in the manifest (the
table's ``unique`` entry: name -> key columns) and every append to the table is checked by
:func:`first_clash` before it joins the table: inside the writer's transaction, with the writer
lock held and the table as the transaction sees it, so of two writers the later one sees the
earlier one's committed row and is refused (:class:`UniqueViolation`), its transaction rolled
back whole, as DuckDB's and PostgreSQL's unique indexes refuse it (docs/spark.md).
"""

from __future__ import annotations

from typing import Any

from earnright.errors import WarehouseError

__all__ = ["UniqueViolation", "first_clash"]


class UniqueViolation(WarehouseError):
    """A write would repeat the key of a unique index (as DuckDB and PostgreSQL refuse it)."""


def first_clash(old: Any, new: Any, table: str, indexes: dict[str, list[str]]) -> None:
    """Raise :class:`UniqueViolation` for the first key of ``indexes`` that the ``new`` rows (a
    Spark DataFrame; None: check ``old`` alone) repeat among themselves or that ``old`` (the
    table's rows) already holds. Keys with a null part never clash, as in SQL."""
    for name, columns in indexes.items():
        keyed = " AND ".join(f"`{c}` IS NOT NULL" for c in columns)
        cols = [f"`{c}`" for c in columns]
        held = old.select(*cols).where(keyed)
        if new is None:
            clash = held.groupBy(*cols).count().where("count > 1").select(*cols)
        else:
            rows = new.select(*cols).where(keyed)
            twice = rows.groupBy(*cols).count().where("count > 1").select(*cols)
            clash = twice.unionByName(rows.join(held, on=list(columns), how="left_semi"))
        hit = clash.limit(1).collect()
        if hit:
            key = ", ".join(f"{c}={v!r}" for c, v in zip(columns, hit[0], strict=True))
            raise UniqueViolation(
                f"duplicate key ({key}) violates the unique index {name} on {table}"
            )

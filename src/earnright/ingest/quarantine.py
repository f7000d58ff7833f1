"""The quarantine after the fact: which rejected rows were superseded, and clearing them.

A quarantined row is *superseded* when the warehouse holds a row with the same key (unit_id,
response_id …; for metrics the measurement's identity) brought by the same or a later batch:
the user fixed the file and ingested it again, or the row was a repeat within its file whose
first copy was kept. Rows whose key could not be read (an unparsable line, a missing id) and
rows quarantined before the key was recorded (schema version < 4) stay *open* until cleared by
batch. Clearing deletes quarantine rows only; each batch's record keeps its counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from earnright.errors import QueryError
from earnright.ingest.kinds import KINDS
from earnright.warehouse import Warehouse

__all__ = ["ClearResult", "clear_quarantine", "quarantine_with_state", "unknown_customers"]


def _superseding(wh: Warehouse, q: ir.Table) -> ir.Table:
    """(batch_id, line, superseded_by) of every superseded quarantine row: one join per kind,
    the small quarantine against the kind's table."""
    parts = []
    for spec in KINDS.values():
        t = wh.table(spec.table)
        key = t[spec.key[0]].cast("string")
        for part in spec.key[1:]:  # a key of several columns: joined by | (kinds.row_keys)
            key = key + "|" + t[part].cast("string")
        mine = q.filter((q.kind == spec.kind) & q.row_key.notnull())
        hits = mine.inner_join(t, [mine.row_key == key, t.batch_id >= mine.batch_id])
        parts.append(
            hits.group_by([mine.batch_id, mine.line]).aggregate(superseded_by=t.batch_id.min())
        )
    return ibis.union(*parts)


def quarantine_with_state(wh: Warehouse) -> ir.Table:
    """The quarantine with ``superseded_by`` (the batch that brought the key again, or null)
    and ``state`` (``superseded`` or ``open``)."""
    q = wh.table("quarantine")
    found = _superseding(wh, q).rename(s_batch="batch_id", s_line="line")
    joined = q.left_join(found, [q.batch_id == found.s_batch, q.line == found.s_line])
    out = joined.select(q, found.superseded_by)
    return out.mutate(state=out.superseded_by.isnull().ifelse("open", "superseded"))


@dataclass
class ClearResult:
    cleared: int
    remaining: int


def clear_quarantine(
    wh: Warehouse, *, superseded: bool = False, batch: int | None = None
) -> ClearResult:
    """Delete the superseded quarantine rows, or every row of ``batch``, or both together
    (the superseded rows of that batch)."""
    if not superseded and batch is None:
        raise QueryError(
            "say what to clear: the `superseded` rows, a `batch`'s rows, or both together"
        )
    rows = quarantine_with_state(wh)
    if superseded:
        rows = rows.filter(rows.state == "superseded")
    if batch is not None:
        if batch not in set(wh.table("batches").batch_id.execute()):
            raise QueryError(f"there is no batch {batch}; `earnright status` lists the batches")
        rows = rows.filter(rows.batch_id == batch)
    doomed = rows.select("batch_id", "line").execute()
    with wh.transaction():
        for batch_id, group in doomed.groupby("batch_id"):
            lines = [int(x) for x in group.line]
            for start in range(0, len(lines), 10_000):  # bounded statements
                wh.delete("quarantine", {"batch_id": int(batch_id), "line": lines[start:][:10_000]})
    return ClearResult(cleared=len(doomed), remaining=wh.count("quarantine"))


def unknown_customers(wh: Warehouse) -> dict[str, int]:
    """Per kind, the rows naming a customer_id that ``customers`` does not hold (yet)."""
    customers = wh.table("customers")
    out = {}
    for spec in KINDS.values():
        if "customer_id" not in spec.fields or spec.kind == "customers":
            continue
        t = wh.table(spec.table)
        named = t.filter(t.customer_id.notnull()).anti_join(customers, "customer_id")
        out[spec.kind] = int(named.count().execute())
    return out


def quarantine_counts(wh: Warehouse) -> pd.DataFrame:
    """Rows per state (open, superseded)."""
    rows = quarantine_with_state(wh)
    return rows.group_by("state").aggregate(rows=rows.count()).execute()

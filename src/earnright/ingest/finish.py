"""The end of a batch whose rows went straight into their table (the engine and direct paths):
the checks made once the rows are in, and the batch's record."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import ibis.expr.types as ir
import pandas as pd

from earnright.ingest.kinds import KindSpec
from earnright.ingest.result import IngestResult
from earnright.warehouse import Warehouse

__all__ = ["Restart", "finish_direct", "record_batch", "unknown_customers"]


class Restart(Exception):
    """The direct or engine path cannot finish this file (rows repeated within it, an open column
    first seen after rows went in, a row the engine path would not keep): its transaction rolls
    back and the next path reads it."""


def finish_direct(
    wh: Warehouse,
    spec: KindSpec,
    result: IngestResult,
    staged_rows: int,
    had_rows: bool,
    sha: str,
    started: float,
    batch_id: int,
    *,
    keys_distinct: bool = False,
) -> None:
    """The end of a batch whose rows went straight into the table: no key may repeat within
    the batch (else ``Restart``), which the engine counts unless the caller has shown it
    (``keys_distinct``: the engine path's ``keys_ascend``); rows an earlier batch brought are
    deleted; the batch is recorded (inside the caller's transaction)."""
    target = wh.table(spec.table)
    mine = target.filter(target.batch_id == batch_id)
    key = spec.key[0]
    if staged_rows and not keys_distinct and mine[key].nunique().execute() < staged_rows:
        raise Restart
    if had_rows and staged_rows:
        wh.delete_repeated(spec.table, key, batch_id)
    # into an empty table, with no key repeated, every staged row went in
    result.accepted = int(mine.count().execute()) if had_rows else staged_rows
    result.duplicates = staged_rows - result.accepted
    result.unknown_customers = unknown_customers(wh, spec, mine)
    record_batch(wh, spec, result.source, result, sha, started, batch_id)
    result.batch_id = batch_id
    result.seconds = time.monotonic() - started


def unknown_customers(wh: Warehouse, spec: KindSpec, rows: ir.Table) -> int:
    """Rows naming a customer the customers table does not hold (yet): kept, and counted."""
    if "customer_id" not in spec.fields or spec.kind == "customers":
        return 0
    named = rows.filter(rows.customer_id.notnull())
    return int(named.anti_join(wh.table("customers"), "customer_id").count().execute())


def record_batch(
    wh: Warehouse,
    spec: KindSpec,
    source: str,
    result: IngestResult,
    sha: str,
    started: float,
    batch_id: int,
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    wh.insert(
        "batches",
        {
            "batch_id": [batch_id],
            "kind": [spec.kind],
            "source": [source],
            "sha256": [sha],
            "rows_read": [result.rows_read],
            "rows_accepted": [result.accepted],
            "rows_quarantined": [result.quarantined],
            "rows_duplicate": [result.duplicates],
            "started_at": [now - pd.Timedelta(seconds=time.monotonic() - started)],
            "finished_at": [now],
        },
    )

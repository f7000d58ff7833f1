"""What a workspace holds: rows per table, batches, the quarantine by reason and state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from earnright.api.records import records
from earnright.ingest.quarantine import quarantine_with_state, unknown_customers
from earnright.warehouse import DATA_KINDS

if TYPE_CHECKING:
    from earnright.warehouse import Warehouse

__all__ = ["status_report", "status_tables"]


def status_report(wh: Warehouse, limit: int = 20) -> dict[str, Any]:
    """Rows per table, every batch, the quarantine grouped by reason and state (open or
    superseded by a later batch) with the ``limit`` most recent rows, and rows naming unknown
    customers. JSON-ready."""
    tables = {name: wh.count(name) for name in DATA_KINDS}
    batches = wh.table("batches").order_by("batch_id").execute()
    q = quarantine_with_state(wh)
    by_kind = q.mutate(reason_kind=q.reason.split(": ")[1])
    reasons = (
        by_kind.group_by(["kind", "field", "reason_kind", "state"])
        .aggregate(rows=by_kind.count(), first_line=by_kind.line.min())
        .order_by([ibis.desc("rows"), "kind", "field", "reason_kind", "state"])
        .execute()
    )
    recent = q.order_by([ibis.desc("batch_id"), "line"]).limit(limit).execute()
    states = reasons.groupby("state").rows.sum()
    return {
        "tables": tables,
        "batches": records(batches),
        "quarantined_rows": wh.count("quarantine"),
        "quarantine_open": int(states.get("open", 0)),
        "quarantine_superseded": int(states.get("superseded", 0)),
        "quarantine_by_reason": records(reasons),
        "quarantine_recent": records(recent),
        "unknown_customers": unknown_customers(wh),
    }


def status_tables(report: dict[str, Any]) -> dict[str, tuple[pd.DataFrame, str]]:
    """The status report as tables, by sheet name: (frame, title) each."""
    counts = report["tables"]
    rows = pd.DataFrame({"table": list(counts), "rows": list(counts.values())})
    tables = {"tables": (rows, "Rows per table")}
    batches = pd.DataFrame(report["batches"])
    if not batches.empty:
        cols = ["batch_id", "kind", "source", "rows_read", "rows_accepted", "rows_quarantined"]
        tables["batches"] = (batches[[*cols, "rows_duplicate"]], "Batches")
    unknown = {k: v for k, v in report["unknown_customers"].items() if v}
    if unknown:
        frame = pd.DataFrame({"kind": list(unknown), "rows": list(unknown.values())})
        title = (
            "Rows naming a customer_id not in customers (kept; ingest those customers to link them)"
        )
        tables["unknown customers"] = (frame, title)
    if report["quarantined_rows"]:
        by_reason = pd.DataFrame(report["quarantine_by_reason"])
        title = (
            f"Quarantine: {report['quarantined_rows']:,} rows by reason "
            f"({report['quarantine_open']:,} open, {report['quarantine_superseded']:,} superseded"
        )
        if report["quarantine_superseded"]:
            title += "; clear superseded rows with `earnright quarantine clear --superseded`"
        tables["quarantine by reason"] = (by_reason, title + ")")
        recent = pd.DataFrame(report["quarantine_recent"])
        recent = recent[["batch_id", "source", "line", "field", "reason", "state"]]
        tables["quarantine recent"] = (recent, "Quarantined rows (most recent batch first)")
    return tables

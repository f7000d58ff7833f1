"""``earnright init`` and ``earnright status``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import ibis
import pandas as pd
import typer

from earnright.cli.common import FormatOpt, OutputOpt, WorkspaceOpt
from earnright.cli.output import Format, records, write_frame, write_json
from earnright.ingest.quarantine import quarantine_with_state, unknown_customers
from earnright.warehouse import DATA_KINDS, Warehouse
from earnright.workspace import find_workspace, init_workspace


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("status")(status)


def init(
    directory: Annotated[Path, typer.Argument(help="Directory to create the workspace in.")],
) -> None:
    """Create a workspace: a commented earnright.toml and an empty warehouse."""
    ws = init_workspace(directory)
    typer.echo(f"Created workspace {ws.root}")
    typer.echo(f"  config:    {ws.config_path}  (edit units, journey, questions, sources)")
    typer.echo(f"  warehouse: {ws.config.warehouse.url}")
    typer.echo(f"Next: earnright ingest units FILE --workspace {ws.root}")


def status_report(wh: Warehouse, limit: int) -> dict[str, Any]:
    """Rows per table, every batch, the quarantine grouped by reason and state (open or
    superseded by a later batch) with recent rows, and rows naming unknown customers."""
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


def status(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
    limit: Annotated[int, typer.Option(help="Quarantined rows to list.")] = 20,
) -> None:
    """Rows per table, batches ingested, and quarantined rows with their reasons."""
    ws = find_workspace(workspace)
    with ws.warehouse() as wh:
        report = status_report(wh, limit)
    if fmt is Format.json:
        write_json(report, output)
        return
    typer.echo(f"Workspace {ws.root}")
    tables = pd.DataFrame(
        {"table": list(report["tables"]), "rows": list(report["tables"].values())}
    )
    write_frame(tables, Format.table, output, title="Rows per table")
    batches = pd.DataFrame(report["batches"])
    if not batches.empty:
        cols = ["batch_id", "kind", "source", "rows_read", "rows_accepted", "rows_quarantined"]
        write_frame(batches[[*cols, "rows_duplicate"]], Format.table, output, title="Batches")
    unknown = {k: v for k, v in report["unknown_customers"].items() if v}
    if unknown:
        listed = ", ".join(f"{v:,} {k}" for k, v in unknown.items())
        typer.echo(
            f"Rows naming a customer_id not in customers: {listed} (kept; ingest those "
            "customers to link them)"
        )
    if report["quarantined_rows"]:
        write_frame(
            pd.DataFrame(report["quarantine_by_reason"]),
            Format.table,
            output,
            title=f"Quarantine: {report['quarantined_rows']:,} rows by reason "
            f"({report['quarantine_open']:,} open, {report['quarantine_superseded']:,} "
            "superseded)",
        )
        if report["quarantine_superseded"]:
            typer.echo(
                "Superseded: a later batch brought the same key again. Clear them with "
                "`earnright quarantine clear --superseded`."
            )
        recent = pd.DataFrame(report["quarantine_recent"])[
            ["batch_id", "source", "line", "field", "reason", "state"]
        ]
        write_frame(
            recent, Format.table, output, title="Quarantined rows (most recent batch first)"
        )

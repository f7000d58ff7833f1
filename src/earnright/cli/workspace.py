"""``earnright init`` and ``earnright status``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import ibis
import pandas as pd
import typer

from earnright.cli.common import OutputOpt, WorkspaceOpt
from earnright.cli.output import Format, choose_format, records, write_json, write_tables
from earnright.ingest.quarantine import quarantine_with_state, unknown_customers
from earnright.warehouse import DATA_KINDS, Warehouse
from earnright.workspace import find_workspace, init_workspace


class StatusFormat(StrEnum):
    """status has several tables: a terminal view, JSON, or one Excel sheet per table."""

    table = "table"
    json = "json"
    xlsx = "xlsx"


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
    fmt: Annotated[
        StatusFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format: table, json, or xlsx with one sheet per table (default: the "
            "extension of --output, else table).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
    limit: Annotated[int, typer.Option(help="Quarantined rows to list.")] = 20,
) -> None:
    """Rows per table, batches ingested, and quarantined rows with their reasons."""
    chosen = choose_format(fmt, output, offered=list(StatusFormat))
    ws = find_workspace(workspace)
    with ws.warehouse() as wh:
        report = status_report(wh, limit)
    if chosen is Format.json:
        write_json(report, output)
        return
    tables = status_tables(report)
    if chosen is Format.xlsx and output is not None:
        from earnright.export import write_sheets

        write_sheets({sheet: frame for sheet, (frame, _) in tables.items()}, output)
        return
    if output is None:
        typer.echo(f"Workspace {ws.root}")
    write_tables(list(tables.values()), output)


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

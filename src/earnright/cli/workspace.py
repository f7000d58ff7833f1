"""``earnright init`` and ``earnright status``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from earnright.api.workspace import create_workspace
from earnright.cli.common import OutputOpt, WorkspaceOpt, open_workspace
from earnright.cli.output import Format, choose_format, write_json, write_tables


class StatusFormat(StrEnum):
    """status has several tables: a terminal view, JSON, or one Excel sheet per table."""

    table = "table"
    json = "json"
    xlsx = "xlsx"


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("status")(status)


class WarehouseKind(StrEnum):
    """The engine of a new workspace's warehouse (docs/spark.md for Spark)."""

    duckdb = "duckdb"
    spark = "spark"


def init(
    directory: Annotated[Path, typer.Argument(help="Directory to create the workspace in.")],
    warehouse: Annotated[
        WarehouseKind,
        typer.Option(
            help="duckdb: DIR/earnright.duckdb; spark: a local Spark session (local[*]) with its "
            "warehouse in DIR/spark-warehouse (pip install 'earnright[spark]'). A cluster or "
            "PostgreSQL: edit [warehouse] url.",
        ),
    ] = WarehouseKind.duckdb,
) -> None:
    """Create a workspace: a commented earnright.toml and an empty warehouse."""
    ws = create_workspace(directory, warehouse=warehouse.value)
    typer.echo(f"Created workspace {ws.root}")
    typer.echo(f"  config:    {ws.config_path}  (edit units, journey, questions, sources)")
    typer.echo(f"  warehouse: {ws.config.warehouse.url}")
    typer.echo(f"Next: earnright ingest units FILE --workspace {ws.root}")


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
    ws = open_workspace(workspace)
    result = ws.status(limit=limit)
    if chosen is Format.json:
        write_json(result.to_dict(), output)
        return
    tables = result.tables()
    if chosen is Format.xlsx and output is not None:
        from earnright.export import write_sheets

        write_sheets({sheet: frame for sheet, (frame, _) in tables.items()}, output)
        return
    if output is None:
        typer.echo(f"Workspace {ws.root}")
    write_tables(list(tables.values()), output)

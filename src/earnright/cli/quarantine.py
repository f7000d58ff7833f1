"""``earnright quarantine list`` and ``earnright quarantine clear``."""

from __future__ import annotations

from typing import Annotated

import ibis
import typer

from earnright.cli.common import FormatOpt, OutputOpt, WorkspaceOpt
from earnright.cli.output import choose_format, write_frame
from earnright.workspace import find_workspace

group = typer.Typer(
    help="Quarantined rows: which are still open, which a later batch superseded; clear them.",
    no_args_is_help=True,
)

StateOpt = Annotated[str, typer.Option("--state", help="Rows to list: open, superseded or all.")]
BatchOpt = Annotated[
    int | None, typer.Option("--batch", help="Only the rows of this batch.", show_default=False)
]


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="quarantine")


@group.command("list")
def list_rows(
    workspace: WorkspaceOpt = None,
    state: StateOpt = "all",
    batch: BatchOpt = None,
    limit: Annotated[int, typer.Option(help="Rows to list (0: all).")] = 50,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Quarantined rows with their state: open, or superseded by the batch that brought the
    same key again (the fixed file re-ingested)."""
    from earnright.errors import QueryError
    from earnright.ingest.quarantine import quarantine_with_state

    if state not in ("open", "superseded", "all"):
        raise QueryError(f"--state '{state}': expected open, superseded or all")
    ws = find_workspace(workspace)
    with ws.warehouse() as wh:
        rows = quarantine_with_state(wh)
        if state != "all":
            rows = rows.filter(rows.state == state)
        if batch is not None:
            rows = rows.filter(rows.batch_id == batch)
        rows = rows.order_by([ibis.desc("batch_id"), "line"])
        frame = (rows.limit(limit) if limit > 0 else rows).execute()
    columns = ["batch_id", "kind", "source", "line", "field", "reason", "state", "superseded_by"]
    write_frame(
        frame[columns], choose_format(fmt, output), output, title=f"Quarantined rows ({state})"
    )


@group.command("clear")
def clear(
    workspace: WorkspaceOpt = None,
    superseded: Annotated[
        bool, typer.Option("--superseded", help="Clear the rows a later batch superseded.")
    ] = False,
    batch: BatchOpt = None,
) -> None:
    """Delete quarantined rows: the superseded ones, every row of a batch, or (both options)
    the superseded rows of that batch. The batch records keep their counts."""
    from earnright.ingest.quarantine import clear_quarantine

    ws = find_workspace(workspace)
    with ws.warehouse() as wh:
        result = clear_quarantine(wh, superseded=superseded, batch=batch)
    typer.echo(f"Cleared {result.cleared:,} quarantined rows; {result.remaining:,} remain.")

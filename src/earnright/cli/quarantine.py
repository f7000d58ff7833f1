"""``earnright quarantine list`` and ``earnright quarantine clear``."""

from __future__ import annotations

from typing import Annotated

import typer

from earnright.cli.common import FormatOpt, OutputOpt, WorkspaceOpt, open_workspace, render
from earnright.cli.output import choose_format

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
    result = open_workspace(workspace).quarantine(state=state, batch=batch, limit=limit)
    render(result, choose_format(fmt, output), output, title=f"Quarantined rows ({state})")


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
    result = open_workspace(workspace).clear_quarantine(superseded=superseded, batch=batch)
    typer.echo(f"Cleared {result.cleared:,} quarantined rows; {result.remaining:,} remain.")

"""``earnright ingest KIND FILE...``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from earnright.cli.common import FormatOpt, WorkspaceOpt
from earnright.cli.output import Format, err_console, write_json
from earnright.ingest import IngestResult, ingest_file
from earnright.workspace import find_workspace


class Kind(StrEnum):
    units = "units"
    customers = "customers"
    feedback = "feedback"
    invitations = "invitations"
    transactions = "transactions"
    metrics = "metrics"


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


def updater(bar: Progress, task: TaskID) -> Callable[[int, int], None]:
    """A progress callback that moves ``task`` of ``bar``."""

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update


def ingest(
    kind: Annotated[Kind, typer.Argument(help="What the files hold.")],
    files: Annotated[list[Path], typer.Argument(help="CSV, Parquet or JSON Lines; .gz allowed.")],
    workspace: WorkspaceOpt = None,
    source: Annotated[
        str | None,
        typer.Option(help="Name of a [sources.NAME] column mapping in earnright.toml."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Re-read a file already ingested (rows are still deduplicated).")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Ingest files: each is one atomic batch; bad rows go to quarantine with their reason.

    Ingesting the same file or the same rows again adds nothing.
    """
    ws = find_workspace(workspace)
    results: list[IngestResult] = []
    with ws.warehouse() as wh:
        for path in files:
            with progress_bar() as bar:
                task = bar.add_task(f"{path.name}", total=None)
                result = ingest_file(
                    wh,
                    ws.config,
                    kind.value,
                    path,
                    source=source,
                    force=force,
                    progress=updater(bar, task),
                )
            results.append(result)
            if fmt is not Format.json:
                typer.echo(result.summary())
    if fmt is Format.json:
        write_json([asdict(r) for r in results], None)

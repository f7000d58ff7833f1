"""``earnright ingest KIND FILE...``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from earnright.cli.common import FormatOpt, OutputOpt, WorkspaceOpt
from earnright.cli.output import Format, choose_format, err_console, visible, write_frame
from earnright.export import protect
from earnright.ingest import IngestResult, ingest_file
from earnright.workspace import find_workspace

if TYPE_CHECKING:
    import pandas as pd


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
        TextColumn("{task.description}", markup=False),
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
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Ingest files: each is one atomic batch; bad rows go to quarantine with their reason.

    Ingesting the same file or the same rows again adds nothing. The table format says what
    each file did in a sentence; the others give a row per file.
    """
    fmt = choose_format(fmt, output)
    protect(*files)
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
            if fmt is Format.table and output is None:
                typer.echo(visible(result.summary()))
    if fmt is not Format.table or output is not None:
        write_frame(results_frame(results), fmt, output, title="Ingested")


def results_frame(results: list[IngestResult]) -> pd.DataFrame:
    """One row per file ingested; ``quarantine_reasons`` as ``reason: rows`` joined by '; '."""
    import pandas as pd

    rows = []
    for result in results:
        row = asdict(result)
        reasons = sorted(row["quarantine_reasons"].items())
        row["quarantine_reasons"] = "; ".join(f"{k}: {v}" for k, v in reasons)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[f.name for f in fields(IngestResult)])
    return frame.astype({"batch_id": "Int64", "already_ingested_as": "Int64"})

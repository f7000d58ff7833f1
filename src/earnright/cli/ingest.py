"""``earnright ingest KIND FILE...``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
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

from earnright.cli.common import FormatOpt, OutputOpt, WorkspaceOpt, open_workspace, render
from earnright.cli.output import Format, choose_format, cli_words, err_console, visible
from earnright.progress import Progress as ProgressCallback
from earnright.progress import ProgressLines


class Kind(StrEnum):
    units = "units"
    customers = "customers"
    feedback = "feedback"
    invitations = "invitations"
    transactions = "transactions"
    metrics = "metrics"
    loss_calls = "loss_calls"
    issues = "issues"
    actions = "actions"


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
    ws = open_workspace(workspace)
    shown: AbstractContextManager[ProgressCallback]
    shown = _bars() if err_console.is_terminal else ProgressLines(sys.stderr)
    with shown as progress:
        each = fmt is Format.table and output is None  # a sentence per file, as it is done
        result = ws.ingest(
            kind.value, files, source=source, force=force, progress=progress,
            say=(lambda text: typer.echo(visible(cli_words(text)))) if each else _quiet,
        )  # fmt: skip
    if not each:
        render(result, fmt, output, title="Ingested")


@contextmanager
def _bars() -> Iterator[ProgressCallback]:
    """A bar per file on a terminal (a log gets ``ProgressLines`` instead: bars draw nothing
    there, and a long ingest would leave it silent)."""
    with progress_bar() as bar:
        tasks: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=None)
            bar.update(tasks[name], completed=done, total=total)

        yield progress


def _quiet(_text: str) -> None:
    """Nothing: the result is written whole at the end."""

"""Options shared by every command, so they mean the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from earnright.cli.output import Format, cli_words, err_console, write_frame, write_json
from earnright.periods import Grain

if TYPE_CHECKING:
    import pandas as pd

    from earnright.api.results import Result
    from earnright.api.workspace import Workspace

LevelOpt = Annotated[str, typer.Option(help="Unit level: store, district, region, company …")]
WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace directory, or its warehouse URL (postgresql://USER@HOST/DB, "
        "duckdb:///FILE) (default: $EARNRIGHT_WORKSPACE, else the current directory).",
        show_default=False,
    ),
]
GrainOpt = Annotated[
    Grain, typer.Option("--grain", help="Length of a period: month, week (ISO) or quarter.")
]
PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="One period at --grain, e.g. 2026-09, 2026-W37 or 2026-Q3 (default: all).",
        show_default=False,
    ),
]
LatestPeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="The period at --grain, e.g. 2026-09, 2026-W37 or 2026-Q3 (default: the latest "
        "complete one).",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format (default: the extension of --output: .csv, .json, .parquet or "
        ".xlsx; else a table).",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to FILE instead of standard output (never over the workspace's warehouse, "
        "config or an input file).",
        show_default=False,
    ),
]


def say(text: str) -> None:
    """One line on standard error, as plain text (never read as terminal markup)."""
    err_console.print(text, markup=False, highlight=False, soft_wrap=True)


def open_workspace(workspace: str | None) -> Workspace:
    """The API's workspace at ``--workspace``, a folder or a warehouse URL (else
    $EARNRIGHT_WORKSPACE, else the current directory)."""
    from earnright.api.workspace import open_workspace as open_api

    return open_api(workspace)


def say_notes(result: Result) -> None:
    """What the result says for a person (the periods chosen …), on standard error."""
    for note in result.notes:
        say(cli_words(note))


def render(
    result: Result,
    fmt: Format,
    output: Path | None,
    *,
    title: str = "",
    table_columns: list[str] | None = None,
    frame: pd.DataFrame | None = None,
) -> None:
    """Write ``result``: ``to_dict()`` as JSON, else ``frame`` (default ``to_frame()``) as a
    table or file."""
    if fmt is Format.json:
        write_json(result.to_dict(), output)
        return
    shown = result.to_frame() if frame is None else frame
    write_frame(shown, fmt, output, title=title, table_columns=table_columns)

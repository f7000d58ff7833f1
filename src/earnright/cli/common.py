"""Options shared by every command, so they mean the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from earnright.cli.output import Format
from earnright.periods import Grain

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace directory (default: $EARNRIGHT_WORKSPACE, else the current directory).",
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
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write to FILE instead of standard output.", show_default=False
    ),
]

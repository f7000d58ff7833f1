"""Options shared by every command, so they mean the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from earnright.cli.output import Format
from earnright.errors import QueryError
from earnright.export import protect
from earnright.periods import Grain

if TYPE_CHECKING:
    import ibis.expr.types as ir

LevelOpt = Annotated[str, typer.Option(help="Unit level: store, district, region, company …")]
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


def read_table(path: Path, option: str = "") -> ir.Table:
    """A CSV, Parquet or JSON Lines file (gzipped or not) as an Ibis table on in-memory DuckDB.

    ``option`` names the command-line option the path came from, for the error message.
    """
    import ibis

    where = f"{option} {path}".strip()
    if not path.is_file():
        raise QueryError(f"{where}: no such file")
    protect(path)
    con = ibis.duckdb.connect()
    name = path.name.lower().removesuffix(".gz")
    try:
        if name.endswith(".parquet"):
            return con.read_parquet(path)
        if name.endswith((".jsonl", ".ndjson", ".json")):
            return con.read_json(path)
        return con.read_csv(path)
    except Exception as exc:  # DuckDB's own message says what is wrong with the file
        raise QueryError(f"{where}: cannot read it as a table: {exc}") from exc

"""Options shared by every command, so they mean the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from earnright.cli.output import Format, err_console
from earnright.errors import QueryError
from earnright.export import protect
from earnright.periods import (
    LISTENING,
    Grain,
    Source,
    choose_period,
    data_coverage,
    label_of,
    require_data,
)

if TYPE_CHECKING:
    from earnright.warehouse import Warehouse

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


def one_period(
    wh: Warehouse, grain: Grain, period: str | None, sources: tuple[Source, ...] = LISTENING
) -> str:
    """The period of a one-period command: ``period`` checked to hold data (else a user error
    naming the range the data cover), or the latest complete one, said on standard error."""
    choice = choose_period(wh, grain, period, sources)
    if not choice.given:
        say(choice.note)
    return choice.label


def every_period(
    wh: Warehouse,
    grain: Grain,
    period: str | None,
    *,
    complete_only: bool = False,
    sources: tuple[Source, ...] = LISTENING,
) -> str | None:
    """For a command whose default is every period: ``period`` checked to hold data, or the
    periods used said on standard error. Returns the last period to keep (the latest complete
    one when ``complete_only`` and the latest has only begun), else None: keep them all."""
    if period is not None:
        require_data(wh, period, grain, sources)
        return None
    choice = choose_period(wh, grain, None, sources)
    coverage = data_coverage(wh, sources)
    assert coverage is not None  # choose_period raised otherwise
    first, last = label_of(coverage.first, grain), label_of(coverage.last, grain)
    ends = f"the data end {coverage.last:%Y-%m-%d}"
    if choice.label == last:
        state = "" if choice.complete else f"; {last} is not complete"
        say(f"periods {coverage.span(grain)} (every {grain} with data{state}; {ends})")
        return None
    if complete_only:
        kept = first if first == choice.label else f"{first} to {choice.label}"
        say(
            f"periods {kept} (every complete {grain}; {last} has begun but is not complete and "
            f"is left out: {ends})"
        )
        return choice.label
    say(
        f"periods {first} to {last} (every {grain} with data; {last} has begun but is not "
        f"complete: {ends})"
    )
    return None


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

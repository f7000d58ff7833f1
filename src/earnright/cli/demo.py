"""``earnright demo``: the demo company end to end."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from earnright.cli.output import err_console
from earnright.progress import Progress as ProgressCallback
from earnright.progress import ProgressLines
from earnright.services.demo import DemoRun, run_demo


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    out: Annotated[Path, typer.Option("--out", help="Workspace directory to create.")] = Path(
        "demo-workspace"
    ),
    stores: Annotated[int, typer.Option(min=3, help="Number of stores.")] = 60,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace a previous demo in --out: remove only the files the demo wrote, keep "
            "everything else.",
        ),
    ] = False,
) -> None:
    """Generate the demo company (with planted truth) into a workspace and run the pipeline.

    Writes data/ (the generated files and truth.json), the warehouse, and results/ (the
    scorecard as CSV, Parquet and a self-contained HTML page, the report site in results/site/
    and the month's pack in results/pack.pdf). --out must be new or empty; a
    previous demo there is replaced only with --replace, which removes the demo's own files
    and nothing else. Any other non-empty directory is refused. Progress goes to stderr: bars
    on a terminal, plain lines (one per pass start and end, tenth, and 10 s) otherwise.
    """
    shown: AbstractContextManager[ProgressCallback]
    shown = _bars() if err_console.is_terminal else ProgressLines(sys.stderr)
    with shown as progress:
        run: DemoRun = run_demo(
            out, stores=stores, months=months, seed=seed, progress=progress, replace=replace,
            documents=True,
        )  # fmt: skip
    typer.echo(
        f"Demo company: {stores} stores, {months} months, seed {seed}, in {run.seconds:.1f} s"
    )
    for result in run.ingests:
        typer.echo(
            f"  {result.kind:<13} {result.accepted:>12,} rows accepted, "
            f"{result.quarantined:,} quarantined"
        )
    typer.echo(f"Workspace:  {run.workspace}  (try: earnright status -w {run.workspace})")
    typer.echo(f"Truth:      {run.truth}")
    typer.echo("Results:")
    for name, path in run.outputs.items():
        typer.echo(f"  {name + ':':<9} {path}")


@contextmanager
def _bars() -> Iterator[ProgressCallback]:
    """Progress bars on a terminal (a log gets ``ProgressLines`` instead)."""
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
    ) as bar:

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or 1)
            bar.update(tasks[stage], completed=done, total=total or 1)

        yield progress

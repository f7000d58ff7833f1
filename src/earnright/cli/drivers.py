"""``earnright drivers``: key-driver analysis of a workspace's feedback, or of any table."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from earnright.api.listening import table_drivers
from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    OutputOpt,
    PeriodOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say_notes,
)
from earnright.cli.output import Format, choose_format, cli_words, err_console, visible
from earnright.errors import QueryError
from earnright.listening.drivers import DEFAULT_BOOTSTRAP
from earnright.periods import Grain

TABLE_COLUMNS = [
    "unit_id",
    "name",
    "rank",
    "driver",
    "lmg",
    "lmg_low",
    "lmg_high",
    "share",
    "relative_weight",
    "direction",
    "n",
    "r2",
    "shrinkage",
]


def register(app: typer.Typer) -> None:
    app.command("drivers")(drivers)


def drivers(
    outcome: Annotated[
        str | None,
        typer.Option(help="Outcome column (default: the config's nps question, e.g. ltr)."),
    ] = None,
    driver_list: Annotated[
        str | None,
        typer.Option(
            "--drivers",
            help="Comma-separated driver columns (default: every driver question; with --from, "
            "every other numeric column).",
        ),
    ] = None,
    level: Annotated[
        str | None, typer.Option(help="Unit level (default: --unit's level, else the top).")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit id.")] = None,
    grain: GrainOpt = Grain.month,
    period: PeriodOpt = None,
    by_moment: Annotated[
        bool | None,
        typer.Option(
            "--by-moment/--pooled",
            help="One model per journey moment over the drivers it asks, or one model over "
            "responses that answered every driver (default: by moment when the journey says "
            "which moment asks which question).",
            show_default=False,
        ),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap replicates for the 95% intervals (0: none).")
    ] = DEFAULT_BOOTSTRAP,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    shrink: Annotated[
        bool,
        typer.Option(
            "--shrink/--no-shrink", help="Shrink units below the top toward their parent."
        ),
    ] = True,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Analyse this CSV, Parquet or JSON Lines file instead of a workspace.",
            show_default=False,
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(help="With --from: resample the values of this column in the bootstrap."),
    ] = None,
    themes: Annotated[
        bool,
        typer.Option(
            "--themes",
            help="The drivers are the config's themes: whether a comment mentions each.",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Key drivers: how much of the outcome each driver explains, with 95% intervals.

    Per driver: LMG (the Shapley decomposition of R²) and Johnson's relative weight, both in
    R² units, the share of the drivers' total, the direction of the effect; per unit R² and n.
    See docs/drivers.md.
    """
    fmt = choose_format(fmt, output)
    options: dict[str, Any] = {
        "outcome": outcome,
        "drivers": driver_list,
        "bootstrap": bootstrap,
        "seed": seed,
    }
    if source is not None:
        if outcome is None:
            raise QueryError("--from needs --outcome COLUMN")
        if level or unit or period or by_moment is not None or workspace or themes:
            raise QueryError(
                "--level, --unit, --period, --by-moment/--pooled, --themes and --workspace read "
                "a workspace; with --from the whole file is one table"
            )
        result = table_drivers(source, cluster=cluster, **options)
    else:
        if cluster is not None:
            raise QueryError("--cluster goes with --from; a workspace resamples its stores")
        result = open_workspace(workspace).drivers(
            level=level, unit=unit, grain=grain, period=period, by_moment=by_moment,
            shrink=shrink, themes=themes, **options,
        )  # fmt: skip
    say_notes(result)
    if fmt is Format.json:
        render(result, fmt, output)
        return
    results = result.results
    for r in results:  # the table and CSV have no room for notes: say them on stderr
        for note in r.notes:
            err_console.print(visible(f"{r.unit_id or source}: {cli_words(note)}"))
    frame = result.to_frame()
    if fmt is Format.table:  # three decimals: parts of R² are often below 0.05
        for col in ("lmg", "lmg_low", "lmg_high", "share", "relative_weight", "r2", "shrinkage"):
            frame[col] = [_three(v) for v in frame[col]]
    title = f"Drivers of {results[0].outcome}" if results else "Drivers"
    render(result, fmt, output, title=title, table_columns=TABLE_COLUMNS, frame=frame)


def _three(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"

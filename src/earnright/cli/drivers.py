"""``earnright drivers``: key-driver analysis of a workspace's feedback, or of any table."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    OutputOpt,
    PeriodOpt,
    WorkspaceOpt,
    every_period,
    read_table,
)
from earnright.cli.output import (
    Format,
    choose_format,
    err_console,
    visible,
    write_frame,
    write_json,
)
from earnright.errors import QueryError
from earnright.listening.drivers import (
    DEFAULT_BOOTSTRAP,
    DriverResult,
    compute_drivers,
    compute_table_drivers,
    drivers_frame,
)
from earnright.periods import Grain
from earnright.workspace import find_workspace

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


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


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
    results: list[DriverResult]
    if source is not None:
        if outcome is None:
            raise QueryError("--from needs --outcome COLUMN")
        if level or unit or period or by_moment is not None or workspace:
            raise QueryError(
                "--level, --unit, --period, --by-moment/--pooled and --workspace read a "
                "workspace; with --from the whole file is one table"
            )
        table = read_table(source, "--from")
        found = compute_table_drivers(
            table, outcome, _split(driver_list), cluster=cluster, bootstrap=bootstrap, seed=seed
        )
        results = [found]
    else:
        if cluster is not None:
            raise QueryError("--cluster goes with --from; a workspace resamples its stores")
        ws = find_workspace(workspace)
        with ws.warehouse(read_only=True) as wh:
            every_period(wh, grain, period)
            results = compute_drivers(
                wh,
                ws.config,
                outcome=outcome,
                drivers=_split(driver_list),
                level=level,
                unit=unit,
                grain=grain,
                period=period,
                by_moment=by_moment,
                bootstrap=bootstrap,
                seed=seed,
                shrink=shrink,
            )
    if fmt is Format.json:
        write_json([r.model_dump(mode="json") for r in results], output)
        return
    for r in results:  # the table and CSV have no room for notes: say them on stderr
        for note in r.notes:
            err_console.print(visible(f"{r.unit_id or source}: {note}"))
    frame = drivers_frame(results)
    if fmt is Format.table:  # three decimals: parts of R² are often below 0.05
        for col in ("lmg", "lmg_low", "lmg_high", "share", "relative_weight", "r2", "shrinkage"):
            frame[col] = [_three(v) for v in frame[col]]
    title = f"Drivers of {results[0].outcome}" if results else "Drivers"
    write_frame(frame, fmt, output, title=title, table_columns=TABLE_COLUMNS)


def _three(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"

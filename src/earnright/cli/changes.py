"""``earnright changes``: the units whose score really changed."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    LevelOpt,
    OutputOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say_notes,
)
from earnright.cli.output import Format, choose_format, err_console
from earnright.listening.changes import Against
from earnright.periods import Grain

TABLE_COLUMNS = [
    "unit_id",
    "name",
    "metric",
    "period",
    "previous",
    "estimate",
    "change",
    "change_low",
    "change_high",
    "p_value",
    "q_value",
    "n",
    "n_previous",
    "flagged",
]


def register(app: typer.Typer) -> None:
    app.command("changes")(changes)


def _for_table(frame: pd.DataFrame) -> pd.DataFrame:
    """p- and q-values to 2 significant digits (fixed decimals would show 0.00); yes/no."""
    shown = frame.copy()
    for col in ("p_value", "q_value"):
        shown[col] = [("–" if pd.isna(v) else f"{v:.2g}") for v in frame[col]]
    shown["flagged"] = frame["flagged"].map({True: "yes", False: "no"})
    return shown


def changes(
    level: LevelOpt = "store",
    grain: GrainOpt = Grain.month,
    period: Annotated[
        str | None,
        typer.Option(
            help="The period to test at --grain, e.g. 2026-09, 2026-W37 or 2026-Q3 "
            "(default: the latest complete one).",
            show_default=False,
        ),
    ] = None,
    against: Annotated[
        Against,
        typer.Option(help="Compare with the unit's previous period, or with its peers."),
    ] = Against.previous,
    metric: Annotated[
        str, typer.Option(help="nps, csat, or a driver question id such as q_wait.")
    ] = "nps",
    fdr: Annotated[
        float,
        typer.Option(min=0.0001, max=0.5, help="False discovery rate (Benjamini–Hochberg)."),
    ] = 0.05,
    min_n: Annotated[
        int, typer.Option("--min-n", min=1, help="Fewest answers on each side to test a unit.")
    ] = 5,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every unit, not only the flagged ones.")
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Units whose score changed by more than sampling noise, against --against.

    A unit is flagged when the change is significant given both n's (z-test for NPS and CSAT,
    Welch's t-test for driver means) after controlling the false discovery rate at --fdr across
    all units tested. --period defaults to the latest complete period.
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).changes(
        level=level, grain=grain, period=period, against=against, metric=metric, fdr=fdr,
        min_n=min_n, show_all=show_all,
    )  # fmt: skip
    say_notes(result)
    if fmt is not Format.table:
        render(result, fmt, output)
        return
    title = (
        f"{metric} changes by {level} in {result.period} against {against}: "
        f"{result.flagged} of {result.tested} units tested flagged at FDR {fdr:g}"
    )
    shown = _for_table(result.to_frame())
    render(result, fmt, output, title=title, table_columns=TABLE_COLUMNS, frame=shown)
    if result.flagged == 0 and not show_all:
        err_console.print("No real change found; --all lists every unit with its q-value.")

"""``earnright focus``: the few things a store (or every store) should fix, with the evidence."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import pandas as pd
import typer

from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    OutputOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say_notes,
)
from earnright.cli.output import Format, choose_format
from earnright.errors import QueryError
from earnright.periods import Grain

TABLE_COLUMNS = [
    "unit_id",
    "name",
    "item",
    "driver",
    "owner",
    "gap",
    "gap_low",
    "gap_high",
    "n",
    "importance",
    "expected_nps_gain",
    "worth",
    "comments",
    "message",
]


class FocusSort(StrEnum):
    """How items (and, with --all, units) are ordered."""

    gap = "gap"
    worth = "worth"


def register(app: typer.Typer) -> None:
    app.command("focus")(focus)


def focus(
    unit: Annotated[
        str | None, typer.Option(help="The unit (store) to focus; or --all.", show_default=False)
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every unit at --level.")] = False,
    level: Annotated[
        str | None,
        typer.Option(help="Unit level (default: --unit's level, else the lowest, e.g. store)."),
    ] = None,
    grain: GrainOpt = Grain.month,
    period: Annotated[
        str | None,
        typer.Option(
            help="The last period of the window at --grain, e.g. 2026-09 (default: the latest "
            "complete one).",
            show_default=False,
        ),
    ] = None,
    window: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Periods in the window of the gaps, ending with --period (default: the last "
            "quarter: 3 months, 13 weeks or 1 quarter).",
            show_default=False,
        ),
    ] = None,
    importance_window: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Periods of the key-driver fit that sizes each gap's worth (default: a year).",
            show_default=False,
        ),
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Items per unit at most.")] = 3,
    margin: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Smallest gap worth focus, in answer points (default: 2.5% of the scale, 0.1 "
            "on 1-5).",
            show_default=False,
        ),
    ] = None,
    fdr: Annotated[
        bool,
        typer.Option(
            "--fdr/--no-fdr", help="Benjamini-Hochberg across each unit's drivers, or not."
        ),
    ] = True,
    comments: Annotated[int, typer.Option(min=0, help="Comments per item at most.")] = 3,
    sort: Annotated[
        FocusSort,
        typer.Option(
            "--sort",
            help="gap: items as found (largest credible gaps); worth: price every item in "
            "retained revenue and order items and units by it.",
        ),
    ] = FocusSort.gap,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The few things to focus on: drivers a unit is credibly behind its peers on.

    Per item: the gap to similar units with its 95% interval and n, the driver's importance,
    the NPS points closing it is worth, the journey moments and owning team, comments, and a
    sentence a store manager can act on. See docs/focus.md.
    """
    fmt = choose_format(fmt, output)
    if (unit is None) == (not every):
        raise QueryError("give --unit ID for one unit or --all for every unit at --level")
    result = open_workspace(workspace).focus(
        unit=unit, every=every, level=level, grain=grain, period=period, window=window,
        importance_window=importance_window, top=top, margin=margin, fdr=fdr, comments=comments,
        sort=str(sort),
    )  # fmt: skip
    say_notes(result)
    if fmt is Format.json:
        render(result, fmt, output)
        return
    lists = result.lists
    frame = result.to_frame()
    if fmt is Format.table:  # whole numbers, and a dash where a unit has no items
        for col in ("item", "n", "comments"):
            frame[col] = pd.Series(
                [None if pd.isna(v) else int(v) for v in frame[col]], dtype=object
            )
    title = f"Focus, {lists[0].window_start} to {lists[0].window_end}" if lists else "Focus"
    render(result, fmt, output, title=title, table_columns=TABLE_COLUMNS, frame=frame)

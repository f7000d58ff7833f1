"""``earnright credibility`` and ``earnright needed``: what can be shown, and what it would take."""

from __future__ import annotations

from typing import Annotated

import typer

from earnright.api.listening import NEEDED_COLUMNS
from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    LevelOpt,
    OutputOpt,
    PeriodOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say_notes,
)
from earnright.cli.output import choose_format
from earnright.periods import Grain


def register(app: typer.Typer) -> None:
    app.command("credibility")(credibility)
    app.command("needed")(needed)


def credibility(
    level: LevelOpt = "store",
    grain: GrainOpt = Grain.month,
    period: PeriodOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Per unit, period and metric: estimate, 95% interval, n, and whether it can be trusted.

    Below [listening] min_n answers (default 5) a number is suppressed (empty, with the reason),
    never shown as zero.
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).credibility(level=level, grain=grain, period=period)
    say_notes(result)
    render(result, fmt, output, title=f"Credibility by {level} and {grain}")


def needed(
    level: LevelOpt = "store",
    grain: GrainOpt = Grain.month,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="One period at --grain, e.g. 2026-09 (default: every complete period).",
            show_default=False,
        ),
    ] = None,
    change: Annotated[
        float, typer.Option(min=1.0, max=100.0, help="NPS change to detect, in points.")
    ] = 10.0,
    power: Annotated[float, typer.Option(min=0.5, max=0.99, help="Power of the test.")] = 0.8,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Responses each unit needs per period to detect a --change in NPS, and the response rate.

    Averaged over the periods selected by --grain and --period (default: every complete period);
    two-sided test at the 5% level comparing two periods of equal n. Where one period cannot be
    credible, says what can with today's invitations: the rolling window (in periods) and the
    shortest grain whose answers reach the number needed, and the window at a realistic 50%
    response rate.
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).needed(
        level=level, grain=grain, period=period, change=change, power=power
    )
    say_notes(result)
    render(result, fmt, output, title=f"Responses needed per {grain}",
           table_columns=NEEDED_COLUMNS)  # fmt: skip

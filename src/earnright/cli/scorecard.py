"""``earnright scorecard``."""

from __future__ import annotations

import typer

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

TABLE_COLUMNS = [
    "unit_id",
    "name",
    "period",
    "responses",
    "invitations",
    "response_rate",
    "n",
    "nps",
    "nps_low",
    "nps_high",
    "csat",
    "csat_low",
    "csat_high",
]


def register(app: typer.Typer) -> None:
    app.command("scorecard")(scorecard)


def scorecard(
    level: LevelOpt = "store",
    grain: GrainOpt = Grain.month,
    period: PeriodOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Per unit and period: responses, response rate, NPS and CSAT with 95% intervals, drivers.

    NPS is in points (−100..100) with an adjusted-Wald interval; CSAT is the top-2-box share
    (0..1) with a Wilson interval; response_rate is responses ÷ invitations (0..1). A score
    with fewer than [listening] min_n answers (default 5) is hidden; its n is shown. Standard
    error names the periods shown and whether the latest is complete.
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).scorecard(level=level, grain=grain, period=period)
    say_notes(result)
    render(result, fmt, output, title=f"Scorecard by {level} and {grain}",
           table_columns=TABLE_COLUMNS)  # fmt: skip

"""``earnright loyalty``: behavioural loyalty and the value of one point."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from earnright.cli.common import LevelOpt, OutputOpt, WorkspaceOpt, open_workspace, say_notes
from earnright.cli.output import Format, write_frame, write_json


class LoyaltyFormat(StrEnum):
    """The whole result is JSON; a table shows the groups (or, with --values, the values)."""

    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("loyalty")(loyalty)


def loyalty(
    level: LevelOpt = "store",
    values: Annotated[
        bool,
        typer.Option(
            "--values", help="Show the value of one point per unit and moment instead of groups."
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: Annotated[
        LoyaltyFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="json: the whole result (groups and point_values); table: the groups, or the "
            "values with --values (default: json when --output ends .json, else table).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Behavioural loyalty: what respondents did after answering, and the value of one point.

    Each respondent counts once, at their first survey answer, if it was given at least 180
    days before the data's end (the others are counted as left out). Per question (NPS, CSAT,
    each driver) and answer group (promoter / passive / detractor; top / middle / bottom box):
    n, retained (a purchase in the last 90 of the 180 days) and spend in the 180 days, with 95%
    intervals, and the difference from promoters (the top box) adjusted for prior visits,
    spend and recency and the home store. The value of one point (of NPS, of each driver): the
    retained revenue over 180 days of one more point per unit of --level and moment, thin
    units pooled toward the chain (docs/growth.md).
    """
    ws = open_workspace(workspace)
    result = ws.loyalty(level=level)
    say_notes(result)
    if fmt is None:
        json_file = output is not None and output.suffix.lower() == ".json"
        fmt = LoyaltyFormat.json if json_file else LoyaltyFormat.table
    if fmt is LoyaltyFormat.json:
        write_json(result.to_dict(), output)
        return
    if values:
        import pandas as pd

        from earnright.customers.pointvalue import POINT_COLUMNS

        frame = pd.DataFrame(result.data["point_values"], columns=POINT_COLUMNS)
        write_frame(frame, Format.table, output, title=f"Value of one point by {level}")
        return
    title = "Retention and spend in the 180 days after answering, by answer group"
    write_frame(result.to_frame(), Format.table, output, title=title)

"""``earnright credibility`` and ``earnright needed``: what can be shown, and what it would take."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    LevelOpt,
    OutputOpt,
    PeriodOpt,
    WorkspaceOpt,
    every_period,
)
from earnright.cli.output import choose_format, write_frame
from earnright.listening.credibility import assess_credibility, responses_needed
from earnright.listening.scorecard import compute_scorecard
from earnright.periods import Grain, parse_period
from earnright.workspace import find_workspace


def with_names(frame: pd.DataFrame, card: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each unit's name (from the scorecard ``card``) beside its id."""
    if "name" in frame.columns or "name" not in card.columns or "unit_id" not in frame.columns:
        return frame
    names = card.drop_duplicates("unit_id").set_index("unit_id")["name"]
    named = frame.copy()
    named.insert(list(frame.columns).index("unit_id") + 1, "name", frame["unit_id"].map(names))
    return named


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
    ws = find_workspace(workspace)
    with ws.warehouse(read_only=True) as wh:
        every_period(wh, grain, period)
        card = compute_scorecard(wh, ws.config, level=level, grain=grain, period=period)
    frame = with_names(assess_credibility(card, min_n=ws.config.listening.min_n), card)
    write_frame(frame, fmt, output, title=f"Credibility by {level} and {grain}")


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
    ws = find_workspace(workspace)
    with ws.warehouse(read_only=True) as wh:
        last = every_period(wh, grain, period, complete_only=True)
        card = compute_scorecard(wh, ws.config, level=level, grain=grain, period=period)
    if last is not None:  # a period that has only begun would understate answers per period
        card = card[card.period_start < parse_period(last, grain)[1]]
    frame = with_names(responses_needed(card, change=change, power=power, grain=str(grain)), card)
    columns = ["unit_id", "name", "responses_per_period", "needed", "invitations_per_period"]
    columns += ["response_rate", "implied_response_rate", "window", "credible_grain", "reason"]
    write_frame(frame, fmt, output, title=f"Responses needed per {grain}", table_columns=columns)

"""``earnright hygiene``: units whose answers look solicited or manipulated, with the evidence."""

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
from earnright.cli.output import Format, choose_format, err_console, visible
from earnright.periods import Grain

TABLE_COLUMNS = ["unit_id", "name", "signal", "statistic", "p_value", "q_value", "n", "evidence"]


def register(app: typer.Typer) -> None:
    app.command("hygiene")(hygiene)


def _for_table(frame: pd.DataFrame) -> pd.DataFrame:
    shown = frame.copy()
    for col in ("p_value", "q_value"):
        shown[col] = [("–" if pd.isna(v) else f"{v:.2g}") for v in frame[col]]
    return shown


def hygiene(
    level: LevelOpt = "store",
    grain: GrainOpt = Grain.month,
    period: Annotated[
        str | None,
        typer.Option(
            help="The period to check at --grain, e.g. 2026-09 (default: the latest complete one).",
            show_default=False,
        ),
    ] = None,
    history: Annotated[
        int, typer.Option(min=1, help="How many periods before --period are the unit's history.")
    ] = 6,
    fdr: Annotated[
        float,
        typer.Option(min=0.0001, max=0.5, help="False discovery rate (Benjamini–Hochberg)."),
    ] = 0.05,
    quick_minutes: Annotated[
        float,
        typer.Option(
            "--quick-minutes",
            min=0.1,
            help="A response this soon after the customer's invitation or purchase is quick.",
        ),
    ] = 10.0,
    min_ratio: Annotated[
        float,
        typer.Option(
            "--min-ratio", min=1.0, help="A quick share must be at least this × the peers'."
        ),
    ] = 2.0,
    min_n: Annotated[
        int | None,
        typer.Option(
            "--min-n",
            min=1,
            help="Fewest answers, invitations or timed responses on each side to test a unit "
            "(default: [listening] min_n).",
            show_default=False,
        ),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every unit and signal, not only the flagged.")
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Units whose answers look solicited or manipulated: the evidence, never an accusation.

    Signals: top_box (more 10s than the respondents' drivers, comments and history predict),
    quick_response (answers given minutes after the invitation or purchase, far more often than
    at peers) and rate_jump (response rate and NPS jumped together). Each row gives the test
    statistic, p- and q-value, n and a sentence of evidence.
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).hygiene(
        level=level, grain=grain, period=period, history=history, fdr=fdr,
        quick_minutes=quick_minutes, min_ratio=min_ratio, min_n=min_n, show_all=show_all,
    )  # fmt: skip
    say_notes(result)
    if fmt is not Format.table:
        render(result, fmt, output)
        return
    title = (
        f"Survey hygiene by {level} in {result.period} against {result.history[0]}–"
        f"{result.history[-1]} and peers: {result.flags} flags in {result.tested} tests "
        f"at FDR {fdr:g}"
    )
    frame = _for_table(result.to_frame())
    render(result, fmt, output, title=title, table_columns=TABLE_COLUMNS, frame=frame)
    for note in result.caveats:
        err_console.print(visible(note))
    err_console.print("A flag is evidence to look at, not a finding; see docs/hygiene.md.")

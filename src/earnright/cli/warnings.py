"""``earnright warnings`` and ``earnright watch``: the early-warning process on the command line."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import TaskID

from earnright.cli.common import FormatOpt, OutputOpt, WorkspaceOpt, open_workspace, render
from earnright.cli.ingest import progress_bar
from earnright.cli.output import Format, choose_format, err_console, visible, write_json
from earnright.delivery import format_money
from earnright.errors import QueryError

COLUMNS = [
    "id", "moment", "metric", "segment", "started_at", "status", "customers_affected",
    "revenue_at_risk", "revenue_at_risk_low", "revenue_at_risk_high", "owner",
]  # fmt: skip


class WarningSort(StrEnum):
    newest = "newest"
    worth = "worth"


class WatchFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("warnings")(warnings)
    app.command("watch")(watch)


def warnings(
    since: Annotated[
        str | None,
        typer.Option(help="Only incidents open or alerting since this date (ISO 8601)."),
    ] = None,
    status: Annotated[str, typer.Option(help="open, resolved or all.")] = "all",
    sort: Annotated[
        WarningSort,
        typer.Option(
            "--sort",
            help="newest: newest first; worth: price each incident in retained revenue (the "
            "NPS its customers lost × the value of a point × customers affected) and order by it.",
        ),
    ] = WarningSort.newest,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Incidents found by early warning, newest first: the moment and metric, the segment of
    customers hurt, when it started, its status, customers affected and revenue at risk (with
    its 95% interval), and the owning team. Run `earnright watch` to find them."""
    fmt = choose_format(fmt, output)
    ws = open_workspace(workspace)
    result = ws.warnings(since=since, status=status, sort=str(sort))
    if fmt is not Format.table:
        render(result, fmt, output)
        return
    frame = result.to_frame()
    money = [c for c in frame.columns if c.startswith(("revenue_at_risk", "worth"))]
    for col in money:
        frame[col] = [None if pd.isna(v) else format_money(v, result.currency) for v in frame[col]]
    columns = [*COLUMNS, "worth"] if "worth" in frame.columns else COLUMNS
    render(result, fmt, output, title="Early warnings", table_columns=columns, frame=frame)


def _say(text: str) -> None:
    err_console.print(visible(text), highlight=False, markup=False)


def watch(
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
    interval: Annotated[
        float, typer.Option(min=1.0, max=86_400.0, help="Seconds between cycles (1 to 86400).")
    ] = 60.0,
    inbox: Annotated[
        Path | None,
        typer.Option(
            help="Directory where metrics files arrive; each cycle ingests them and moves "
            "them to INBOX/done. A file that fails is moved to INBOX/rejected with its reason "
            "(NAME.reason.txt) and the cycle goes on.",
            file_okay=False,
        ),
    ] = None,
    deliver: Annotated[
        bool, typer.Option(help="Deliver queued alerts (webhooks, email) each cycle.")
    ] = True,
    workspace: WorkspaceOpt = None,
    fmt: Annotated[
        WatchFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="json: with --once, print what the cycle did (default: the extension of "
            "--output, else a line on stderr per cycle).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Run early warning continuously as metrics arrive: each cycle ingests new files from
    --inbox (if given), scans every indicator's segment series for burn-rate and anomaly
    alerts, groups them into incidents with the segment hurt and the revenue at risk, queues
    alerts to the owning team and delivers them. Stop with Ctrl-C. With --format json, --once
    prints what the cycle did."""
    if not math.isfinite(interval):
        raise QueryError(f"--interval {interval} is not a number of seconds from 1 to 86400")
    chosen = choose_format(fmt, output, offered=list(WatchFormat))
    ws = open_workspace(workspace)
    with progress_bar() as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=None)
            bar.update(tasks[stage], completed=done, total=total)

        cycle = ws.watch(
            once=once, interval=interval, inbox=inbox, deliver=deliver, say=_say, progress=progress
        )
    if once and chosen is Format.json:
        write_json(cycle.to_dict(), output)

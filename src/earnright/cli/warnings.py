"""``earnright warnings`` and ``earnright watch``: the early-warning process on the command line."""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from earnright.cli.common import FormatOpt, OutputOpt, WorkspaceOpt
from earnright.cli.ingest import progress_bar, updater
from earnright.cli.output import Format, err_console, write_frame, write_json
from earnright.config import Config
from earnright.errors import ConfigError, QueryError
from earnright.ingest import ingest_file
from earnright.reliability.delivery import deliver_pending
from earnright.reliability.incidents import DetectionRun, list_incidents, run_detection
from earnright.warehouse import Warehouse
from earnright.workspace import find_workspace

COLUMNS = [
    "id", "moment", "metric", "segment", "started_at", "status", "customers_affected",
    "revenue_at_risk", "revenue_at_risk_low", "revenue_at_risk_high", "owner",
]  # fmt: skip
STATUSES = ("open", "resolved", "all")


def register(app: typer.Typer) -> None:
    app.command("warnings")(warnings)
    app.command("watch")(watch)


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return pd.Timestamp(text).tz_localize(None).to_pydatetime()
    except (ValueError, TypeError) as exc:
        raise QueryError(f"--since '{text}' is not a date; expected e.g. 2026-08-01") from exc


def warnings(
    since: Annotated[
        str | None,
        typer.Option(help="Only incidents open or alerting since this date (ISO 8601)."),
    ] = None,
    status: Annotated[str, typer.Option(help="open, resolved or all.")] = "all",
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
) -> None:
    """Incidents found by early warning, newest first: the moment and metric, the segment of
    customers hurt, when it started, its status, customers affected and revenue at risk (with
    its 95% interval), and the owning team. Run `earnright watch` to find them."""
    if status not in STATUSES:
        raise QueryError(f"--status '{status}' is not one of {', '.join(STATUSES)}")
    ws = find_workspace(workspace)
    with ws.warehouse(read_only=True) as wh:
        found = list_incidents(wh, since=_since(since), status=None if status == "all" else status)
    rows = [i.record() for i in found]
    if fmt is Format.json:
        write_json(rows, output)
        return
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else COLUMNS)
    write_frame(frame, fmt, output, title="Early warnings", table_columns=COLUMNS)


def _ingest_inbox(wh: Warehouse, config: Config, inbox: Path) -> int:
    """Ingest every metrics file waiting in ``inbox``, then move it to ``inbox/done``."""
    files = sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))
    done = inbox / "done"
    for path in files:
        with progress_bar() as bar:
            task = bar.add_task(f"ingest {path.name}", total=None)
            result = ingest_file(wh, config, "metrics", path, progress=updater(bar, task))
        err_console.print(result.summary(), highlight=False)
        done.mkdir(exist_ok=True)
        shutil.move(str(path), done / path.name)
    return len(files)


def _detect(wh: Warehouse, config: Config) -> DetectionRun:
    with progress_bar() as bar:
        move = updater(bar, bar.add_task("detection", total=None))
        return run_detection(wh, config, progress=lambda _stage, d, t: move(d, t))


def _say(run: DetectionRun, delivered: dict[str, int]) -> None:
    until = run.data_until.isoformat() if run.data_until else "no metrics yet"
    err_console.print(
        f"data until {until}: {run.alerts} new alert(s); opened {len(run.opened)}, "
        f"updated {len(run.updated)}, resolved {len(run.resolved)}; "
        f"messages queued {run.messages}, delivered {delivered.get('delivered', 0)}, "
        f"retrying {delivered.get('retrying', 0)}, failed {delivered.get('failed', 0)}, "
        f"refused {delivered.get('refused', 0)}",
        highlight=False,
    )
    for incident_id in run.opened:
        err_console.print(f"  opened {incident_id}", highlight=False)
    for indicator_id, count in run.late_rows.items():
        err_console.print(
            f"  {indicator_id}: {count} metrics row(s) arrived late, for buckets already scored: "
            "they count in the reliability figures and later burn-rate windows; the anomaly "
            "detector had scored those buckets without them",
            highlight=False,
            markup=False,
        )


def watch(
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
    interval: Annotated[float, typer.Option(min=1.0, help="Seconds between cycles.")] = 60.0,
    inbox: Annotated[
        Path | None,
        typer.Option(
            help="Directory where metrics files arrive; each cycle ingests them and moves "
            "them to INBOX/done.",
            file_okay=False,
        ),
    ] = None,
    deliver: Annotated[
        bool, typer.Option(help="Deliver queued alerts (webhooks, email) each cycle.")
    ] = True,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
) -> None:
    """Run early warning continuously as metrics arrive: each cycle ingests new files from
    --inbox (if given), scans every indicator's segment series for burn-rate and anomaly
    alerts, groups them into incidents with the segment hurt and the revenue at risk, queues
    alerts to the owning team and delivers them. Stop with Ctrl-C. With --format json, --once
    prints what the cycle did."""
    ws = find_workspace(workspace)
    if not ws.config.journey.indicators():
        raise ConfigError(
            "no reliability indicators declared: add [[journey.stages.moments.indicators]] to "
            "earnright.toml (docs/reliability.md)"
        )
    if inbox is not None and not inbox.is_dir():
        raise QueryError(f"--inbox {inbox} is not a directory")
    while True:
        with ws.warehouse() as wh:
            if inbox is not None:
                _ingest_inbox(wh, ws.config, inbox)
            run = _detect(wh, ws.config)
            delivered = deliver_pending(wh, ws.config).to_dict() if deliver else {}
        _say(run, delivered)
        if once:
            if fmt is Format.json:
                write_json({"detection": run.to_dict(), "delivery": delivered}, output)
            return
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return

"""``earnright warnings`` and ``earnright watch``: the early-warning process on the command line."""

from __future__ import annotations

import math
import shutil
import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from earnright.cli.common import FormatOpt, OutputOpt, WorkspaceOpt
from earnright.cli.ingest import progress_bar, updater
from earnright.cli.output import (
    Format,
    choose_format,
    err_console,
    visible,
    write_frame,
    write_json,
)
from earnright.config import Config
from earnright.delivery import deliver_pending, format_money
from earnright.errors import ConfigError, EarnrightError, QueryError
from earnright.ingest import ingest_file
from earnright.reliability.incidents import DetectionRun, list_incidents, run_detection
from earnright.warehouse import Warehouse
from earnright.workspace import find_workspace

COLUMNS = [
    "id", "moment", "metric", "segment", "started_at", "status", "customers_affected",
    "revenue_at_risk", "revenue_at_risk_low", "revenue_at_risk_high", "owner",
]  # fmt: skip
STATUSES = ("open", "resolved", "all")


class WatchFormat(StrEnum):
    table = "table"
    json = "json"


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
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Incidents found by early warning, newest first: the moment and metric, the segment of
    customers hurt, when it started, its status, customers affected and revenue at risk (with
    its 95% interval), and the owning team. Run `earnright watch` to find them."""
    fmt = choose_format(fmt, output)
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
    if fmt is Format.table:  # money in the config's currency
        for col in ("revenue_at_risk", "revenue_at_risk_low", "revenue_at_risk_high"):
            frame[col] = [
                None if pd.isna(v) else format_money(v, ws.config.company.currency)
                for v in frame[col]
            ]
    write_frame(frame, fmt, output, title="Early warnings", table_columns=COLUMNS)


def _move_aside(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` without overwriting an earlier file of the same name."""
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
    shutil.move(str(path), target)
    return target


def _reject(path: Path, inbox: Path, reason: str) -> dict[str, str]:
    """Move a file that failed to ``inbox/rejected`` with its reason next to it; report it."""
    moved = _move_aside(path, inbox / "rejected")
    moved.with_name(moved.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    err_console.print(f"rejected {path.name}: {reason}", highlight=False, markup=False)
    return {"file": path.name, "moved_to": str(moved), "reason": reason}


def _ingest_inbox(wh: Warehouse, config: Config, inbox: Path) -> dict[str, list[Any]]:
    """Ingest every metrics file waiting in ``inbox`` and move it to ``inbox/done``; a file that
    fails is moved to ``inbox/rejected`` with its reason, and the others still go in."""
    files = sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))
    done: dict[str, list[Any]] = {"ingested": [], "rejected": []}
    for path in files:
        try:
            with progress_bar() as bar:
                task = bar.add_task(f"ingest {path.name}", total=None)
                result = ingest_file(wh, config, "metrics", path, progress=updater(bar, task))
        except EarnrightError as exc:
            done["rejected"].append(_reject(path, inbox, str(exc)))
            continue
        except Exception as exc:  # any file that fails is set aside; the cycle goes on
            done["rejected"].append(_reject(path, inbox, f"{type(exc).__name__}: {exc}"))
            continue
        err_console.print(visible(result.summary()))
        _move_aside(path, inbox / "done")
        done["ingested"].append(path.name)
    return done


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
        markup=False,
    )
    for incident_id in run.opened:
        err_console.print(f"  opened {incident_id}", highlight=False, markup=False)
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
            arrived = _ingest_inbox(wh, ws.config, inbox) if inbox is not None else None
            run = _detect(wh, ws.config)
            delivered = deliver_pending(wh, ws.config).to_dict() if deliver else {}
        _say(run, delivered)
        if once:
            if chosen is Format.json:
                cycle: dict[str, Any] = {"detection": run.to_dict(), "delivery": delivered}
                if arrived is not None:
                    cycle["inbox"] = arrived
                write_json(cycle, output)
            return
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return

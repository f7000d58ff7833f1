"""``earnright report``."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer

from earnright.cli.common import WorkspaceOpt, open_workspace
from earnright.cli.demo import _bars
from earnright.cli.output import err_console
from earnright.progress import Progress, ProgressLines

OutOpt = Annotated[
    Path, typer.Option("--out", help="Folder to write the site to (created if missing).")
]
MonthOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="The month, e.g. 2026-09 (default: the latest complete one).",
        show_default=False,
    ),
]
UnitOpt = Annotated[
    str | None,
    typer.Option(
        "--unit",
        help="Build only this unit's page and the pages below it (default: every unit).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    out: OutOpt,
    period: MonthOpt = None,
    unit: UnitOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write the report site: a page and its JSON twin per unit, linked by drill-down.

    A static site for the month --period (default: the latest complete one): the company,
    every region, district and store has units/ID/page.html and the same numbers in
    units/ID/page.json: its NPS trend by month with 95% intervals, the horse race among its
    children, driver means against its parent, focus items most valuable first, the
    reliability of its moments and its incidents. index.html leads to the top page. It works
    offline from the file system and from any web server. --unit writes only that unit's
    subtree (a store manager's own store and nothing else). Progress goes to stderr.
    """
    ws = open_workspace(workspace)
    shown: AbstractContextManager[Progress]
    shown = _bars() if err_console.is_terminal else ProgressLines(sys.stderr)
    with shown as progress:
        site = ws.report_site(out, period=period, unit=unit, progress=progress)
    typer.echo(f"Wrote {len(site.pages):,} pages (each with page.json) to {site.folder}")
    typer.echo(f"Open: {site.index}")

"""``earnright pack``."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer

from earnright.cli.common import WorkspaceOpt, open_workspace
from earnright.cli.demo import _bars
from earnright.cli.output import err_console
from earnright.cli.report import MonthOpt
from earnright.errors import QueryError
from earnright.progress import Progress, ProgressLines

OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="The file to write: .pdf, .html, .xlsx (every table) or .json (every figure).",
        show_default=False,
    ),
]
UnitOpt = Annotated[
    str | None,
    typer.Option(
        "--unit",
        help="The pack of this unit's subtree (default: the whole company).",
        show_default=False,
    ),
]
EmailOpt = Annotated[
    bool,
    typer.Option(
        "--email",
        help="Send every [[pack.recipients]] their pack (PDF) through the outbox, once a month.",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("pack")(pack)


def pack(
    out: OutOpt = None,
    period: MonthOpt = None,
    unit: UnitOpt = None,
    email: EmailOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """The monthly leadership pack: the customer asset ledger first, then risk, reliability,
    listening, decisions, the Customer Room and the maturity map.

    For the month --period (default: the latest complete one) and --unit's subtree (default:
    the company), in the order a CCO presents it: the customer asset ledger in whole numbers
    and why customers left; revenue at risk and the incidents of the month; reliability per
    journey stage; the scorecard and the horse race of the units below; the decisions of the
    month with their measured outcomes; the Customer Room (a page per journey stage: comments,
    indicators and survey results of its moments); the maturity map of the five competencies
    with the change since the last pack. Every figure has its 95% interval; a section with
    nothing to show says why. --out writes .pdf, .html, .xlsx or .json. --email sends each
    [[pack.recipients]] their pack (their unit's subtree) through the outbox: a second run in
    the same month sends nothing new. Progress goes to stderr.
    """
    if out is None and not email:
        raise QueryError("give --out FILE (.pdf, .html, .xlsx or .json) or --email")
    ws = open_workspace(workspace)
    if out is not None:
        shown: AbstractContextManager[Progress]
        shown = _bars() if err_console.is_terminal else ProgressLines(sys.stderr)
        with shown as progress:
            written = ws.pack(out, period=period, unit=unit, progress=progress)
        data = written.data
        typer.echo(f"Wrote the pack of {data['unit']['name']} for {data['period']} to {out}")
    if email:
        sent = ws.email_packs(period=period)
        for note in sent.notes:
            typer.echo(note)
        for queued in sent.queued:
            who = f"{queued['name']} <{queued['email']}>"
            typer.echo(f"Queued the pack of {queued['unit'] or 'the company'} for {who}")
        d = sent.delivery
        typer.echo(
            f"{sent.period}: {len(sent.queued)} new pack messages; outbox: {d['delivered']} "
            f"delivered, {d['retrying']} to retry, {d['failed']} failed, {d['refused']} refused"
        )

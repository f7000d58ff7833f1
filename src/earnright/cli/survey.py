"""``earnright survey links|remind|rates|cases|case``: the survey customers answer
(docs/survey.md). The form itself is served by ``earnright serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from earnright.cli.common import FormatOpt, OutputOpt, WorkspaceOpt, open_workspace, render
from earnright.cli.output import choose_format

group = typer.Typer(
    help="The survey customers answer: personal links, reminders, response rates and "
    "detractors' cases.",
    no_args_is_help=True,
)

SinceOpt = Annotated[
    str | None,
    typer.Option(help="Only invitations sent on or after this date, e.g. 2026-09-01.",
                 show_default=False),
]  # fmt: skip
NowOpt = Annotated[
    str | None,
    typer.Option("--now", help="The time to act at (default: now), e.g. 2026-09-04T09:00.",
                 show_default=False),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="survey")


@group.command("links")
def links(
    since: SinceOpt = None,
    now: NowOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Personal survey links of invitations not yet answered: invitation_id and url (a
    signed, expiring, single-use token; [survey] base_url and link_valid)."""
    result = open_workspace(workspace).survey_links(since=since, now=now)
    render(result, choose_format(fmt, output), output, title="Survey links")


@group.command("remind")
def remind(
    now: NowOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Enqueue a reminder for each invitation unanswered [survey] remind_after its sending, to
    the [survey] reminders_to team; a reminder is never sent twice (deliver with `earnright
    watch` or the outbox's delivery)."""
    result = open_workspace(workspace).survey_remind(now=now)
    render(result, choose_format(fmt, output), output, title="Reminders enqueued")


@group.command("rates")
def rates(
    since: SinceOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Response rates per store and moment as answers come in: invitations, answered through
    the survey, response_rate."""
    result = open_workspace(workspace).survey_rates(since=since)
    render(result, choose_format(fmt, output), output, title="Survey response rates")


@group.command("cases")
def cases(
    status: Annotated[str, typer.Option(help="open, followed up, closed or all.")] = "all",
    now: NowOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Detractors' cases: store, moment, score, comment, the manager alerted, the answer-by
    time, status, whether overdue, and the last follow-up."""
    result = open_workspace(workspace).survey_cases(status=status, now=now)
    render(result, choose_format(fmt, output), output, title=f"Cases ({status})")


@group.command("case")
def case(
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case id (case-…).")],
    note: Annotated[str, typer.Option("--note", help="What was done for the customer.")],
    by: Annotated[str, typer.Option("--by", help="Who did it.")],
    close: Annotated[bool, typer.Option("--close", help="The case is done.")] = False,
    now: NowOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Record the follow-up of a detractor's case: the note and who did it (--close when the
    case is done). Follow-ups are appended, never edited."""
    result = open_workspace(workspace).survey_followup(case_id, note, by, close=close, now=now)
    render(result, choose_format(fmt, output), output, title="Follow-up recorded")

"""``earnright issue add|list|sync``, ``review``, ``decide``, ``commit``, ``commitments`` and
``outcomes``: accountability on the command line (docs/accountability.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from earnright.cli.common import (
    FormatOpt,
    OutputOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say,
    say_notes,
)
from earnright.cli.output import Format, choose_format

group = typer.Typer(
    help="The issue register: add an issue, list them, or sync them from focus items, "
    "incidents and lost customers.",
    no_args_is_help=True,
)

ByOpt = Annotated[
    str, typer.Option("--by", help="Who decides or commits (a decision-right owner).")
]
ISSUE_COLUMNS = [
    "issue_id", "unit_id", "title", "owner", "moment", "metric", "customers_at_stake",
    "revenue_at_stake", "origin", "status",
]  # fmt: skip
AGENDA_COLUMNS = ["issue_id", "unit_id", "title", "recommended", "action_kind", "theirs",
                  "decided_by"]  # fmt: skip
OUTCOME_COLUMNS = [
    "action_id", "unit_id", "metric", "kind", "effect", "effect_low", "effect_high", "verdict",
    "naive_effect", "pretrend_p", "detectable_at", "value", "value_note",
]  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="issue")
    app.command("review")(review)
    app.command("decide")(decide)
    app.command("commit")(commit)
    app.command("commitments")(commitments)
    app.command("outcomes")(outcomes)


@group.command("add")
def add(
    unit: Annotated[str, typer.Option("--unit", help="The unit the issue is at.")],
    title: Annotated[str, typer.Option("--title", help="What is wrong, in a line.")],
    owner: Annotated[str, typer.Option("--owner", help="Who owns the issue.")],
    moment: Annotated[str | None, typer.Option(help="The journey moment it hurts.")] = None,
    metric: Annotated[
        str | None, typer.Option(help="The metric a fix should move (nps, csat, a question…).")
    ] = None,
    evidence: Annotated[
        str | None, typer.Option(help="The numbers and comments behind it.")
    ] = None,
    customers: Annotated[
        float | None, typer.Option("--customers", min=0, help="Customers at stake.")
    ] = None,
    revenue: Annotated[
        float | None, typer.Option("--revenue", min=0, help="Revenue at stake.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add an issue raised by a person: its unit, title and owner, with the journey moment,
    the metric, the evidence and what is at stake (customers, revenue) when known."""
    details = {"moment": moment, "metric": metric, "evidence": evidence,
               "customers_at_stake": customers, "revenue_at_stake": revenue}  # fmt: skip
    issue_id = open_workspace(workspace).add_issue(
        unit, title, owner, **{k: v for k, v in details.items() if v is not None}
    )
    typer.echo(issue_id)


@group.command("list")
def list_issues(
    status: Annotated[str, typer.Option(help="open, decided or all.")] = "open",
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The issue register: each issue's unit, title, owner, moment, metric, what is at stake,
    where it came from and whether a decision was made on it."""
    result = open_workspace(workspace).issues(status=status)
    fmt = choose_format(fmt, output)
    render(result, fmt, output, title=f"Issues ({status})", table_columns=ISSUE_COLUMNS)


@group.command("sync")
def sync(
    period: Annotated[
        str | None,
        typer.Option(
            help="The month of the focus items (default: the latest complete one).",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add focus items (of the lowest level's units), early-warning incidents, the loss
    review's incident reasons with a material excess and the comment themes customers complain
    about more (or more negatively) beyond noise to the register as issues; syncing again adds
    nothing new."""
    result = open_workspace(workspace).sync_issues(period=period)
    say_notes(result)
    typer.echo(f"Added {result.focus} issues from focus items, {result.incidents} from incidents, "
               f"{result.losses} from lost customers, {result.themes} from comment "
               "themes.")  # fmt: skip


def review(
    owner: Annotated[str, typer.Option("--owner", help="Whose agenda.")],
    week: Annotated[
        str | None,
        typer.Option(
            help="The week, e.g. 2026-W37: issues open at its end (default: now).",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The weekly review agenda of an owner: open issues, evidence, a recommended action.

    For each of the owner's open issues: the evidence, a recommended action, and whether it is
    theirs to decide (else who decides)."""
    result = open_workspace(workspace).review(owner, week=week)
    fmt = choose_format(fmt, output)
    render(result, fmt, output, title=f"Review: {owner}", table_columns=AGENDA_COLUMNS)


def decide(
    issue: Annotated[str, typer.Argument(help="The issue's id.")],
    action: Annotated[str, typer.Option("--action", help="What will be done, in words.")],
    by: ByOpt,
    kind: Annotated[
        str | None, typer.Option(help="The kind of action, as decision rights name them.")
    ] = None,
    amount: Annotated[
        float | None, typer.Option(min=0, help="What the action costs or commits.")
    ] = None,
    metric: Annotated[
        str | None, typer.Option(help="The metric it should move (default: the issue's).")
    ] = None,
    expected: Annotated[
        str | None, typer.Option(help='The expected effect in words, e.g. "+5 NPS".')
    ] = None,
    expected_effect: Annotated[
        float | None, typer.Option(help="The expected effect in the metric's points.")
    ] = None,
    commitment: Annotated[
        str | None, typer.Option(help="The id of the commitment it puts into practice.")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Record a decision on an issue, under the decider's decision rights.

    Stores who decided under which right, the action, the metric it should move and the date
    it should show. Refused (exit 2) naming who can decide when it
    is beyond --by's decision rights. Decisions are never edited: decide again instead."""
    result = open_workspace(workspace).decide(
        issue, action, by, kind=kind, amount=amount, metric=metric, expected=expected,
        expected_effect=expected_effect, commitment=commitment,
    )  # fmt: skip
    chosen = choose_format(fmt, output)
    if chosen is Format.table and output is None:
        d = result.decision
        say(f"{d['decision_id']}: {d['decided_by']} decided under {d['authority']}; "
            f"{d['metric']} should show the effect by {d['show_by']:%Y-%m-%d}")  # fmt: skip
        return
    render(result, chosen, output)


def commit(
    text: Annotated[str, typer.Argument(help='The commitment, e.g. "we will answer in 1 day".')],
    by: ByOpt,
    workspace: WorkspaceOpt = None,
) -> None:
    """Record a leadership commitment ("we will / will not …") and print its id.

    Decisions point to it with earnright decide --commitment ID."""
    typer.echo(open_workspace(workspace).commit(text, by))


def commitments(
    outcomes: Annotated[
        bool, typer.Option("--outcomes", help="Each decision putting it into practice and its "
                           "measured outcome.")
    ] = False,
    workspace: WorkspaceOpt = None, fmt: FormatOpt = None, output: OutputOpt = None,
) -> None:  # fmt: skip
    """Every leadership commitment, and how many decisions put it into practice.

    --outcomes: one row per commitment and decision, with the decision's measured outcome
    (a commitment no decision points to: verdict "no decision")."""
    ws = open_workspace(workspace)
    result = ws.commitment_outcomes() if outcomes else ws.commitments()
    render(result, choose_format(fmt, output), output, title="Commitments")


def outcomes(
    since: Annotated[
        str | None, typer.Option(help="Only actions started since this date (ISO 8601).")
    ] = None,
    pooled: Annotated[
        bool, typer.Option("--pooled", help="Show the pooled effect per kind and metric.")
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Each action's effect on its metric against matched units that did not act.

    Difference-in-differences with its interval, the verdict (worked, no detectable
    effect, made it worse, too early), and the naive before/after beside it; --pooled: one
    estimate per kind of action and metric."""
    result = open_workspace(workspace).outcomes(since=since)
    fmt = choose_format(fmt, output)
    if pooled:
        import pandas as pd

        from earnright.cli.output import write_frame, write_json

        if fmt is Format.json:
            write_json(result.pooled, output)
        else:
            write_frame(pd.DataFrame(result.pooled), fmt, output, title="Pooled outcomes")
        return
    render(result, fmt, output, title="Outcomes", table_columns=OUTCOME_COLUMNS)

"""``earnright losses``, ``loss-review`` and ``loss-call``: why customers left, and calling them."""

from __future__ import annotations

from typing import Annotated

import typer

from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    LevelOpt,
    OutputOpt,
    PeriodOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say_notes,
)
from earnright.cli.output import choose_format
from earnright.periods import Grain


def register(app: typer.Typer) -> None:
    app.command("losses")(losses)
    app.command("loss-review")(loss_review)
    app.command("loss-call")(loss_call)


def losses(
    level: LevelOpt = "store",
    grain: GrainOpt = Grain.month,
    period: PeriodOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Why customers left: reasons per unit and period, with counts, shares and value.

    For every customer the ledger counts as lost (earnright assets), what happened in their
    lapse ([assets] lapse_after_days) before the last purchase: a recorded loss call, incidents
    whose segment reached them, complaints, detractor answers (NPS 0-6), fewer visits than their
    own earlier rate. A customer may have several reasons; primary counts each loss once, at its
    highest-confidence reason (docs/assets.md, "Why they left").
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).losses(level=level, grain=grain, period=period)
    say_notes(result)
    render(result, fmt, output, title=f"Why customers left, by {level} and {grain}")


def loss_review(
    owner: Annotated[
        str | None,
        typer.Option(help="Only this owner's queue (a journey moment's owner, or unit:ID)."),
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Only customers lost in this month, e.g. 2026-09.")
    ] = None,
    top: Annotated[int, typer.Option(help="Customers to call per owner and month.")] = 10,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The Customer Loss Review: per owner and month, the most valuable lost customers to call.

    Each loss goes to the owner of the journey moment its reasons name, else [assets]
    review_owner, else the manager of the customer's home unit (unit:ID); the queue holds the
    --top most valuable not yet called, with their story. Record each call with loss-call.
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).loss_review(owner=owner, period=period, top=top)
    say_notes(result)
    render(result, fmt, output, title="Customer Loss Review")


def loss_call(
    customer: Annotated[str, typer.Argument(help="The customer called (customer_id).")],
    reason: Annotated[str, typer.Option("--reason", help="What the customer said.")],
    by: Annotated[str, typer.Option("--by", help="Who called.")],
    code: Annotated[
        str | None, typer.Option(help="A reason code of your own, e.g. price, wait, moved.")
    ] = None,
    won_back: Annotated[
        bool | None,
        typer.Option("--won-back/--not-won-back", help="Whether the call won them back."),
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="When the call was made (ISO 8601); default: now.")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Record what a lost customer said when called: their reason with the highest confidence.

    Stores one loss_calls row (a file of many: earnright ingest loss_calls FILE).
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).record_loss_call(
        customer, reason, by, code=code, won_back=won_back, at=at
    )
    render(result, fmt, output, title=f"Loss call to {customer}")

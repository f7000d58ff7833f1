"""``earnright forget`` and ``forgotten``: erasing a customer's personal data, and the record."""

from __future__ import annotations

from typing import Annotated

import typer

from earnright.cli.common import (
    FormatOpt,
    OutputOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say_notes,
)
from earnright.cli.output import choose_format


def register(app: typer.Typer) -> None:
    app.command("forget")(forget)
    app.command("forgotten")(forgotten)


def forget(
    customer: Annotated[str, typer.Argument(help="The customer to forget (customer_id).")],
    reason: Annotated[
        str | None, typer.Option(help="Why, e.g. 'erasure request 2026-10-02' (recorded).")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Who asks for it (recorded); default: your user name.")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Erase a customer's personal data from every table, keeping the ledger's numbers.

    In one transaction: the customer id becomes a pseudonymous id wherever it appears (their
    purchases, answers and invitations stay, so the customer asset ledger does not change);
    their comments and loss-call words are erased, attribute values fewer than [privacy]
    forget_min_shared customers share are erased, their quarantined rows deleted. A record
    says who asked, when, why and the rows changed per table (earnright forgotten); it keeps
    only a salted hash of the id. Forgetting the same customer again changes nothing.
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).forget(customer, reason=reason, by=by)
    say_notes(result)
    render(result, fmt, output, title="Customer forgotten")


def forgotten(
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The record of every customer forgotten: when, who asked, why, rows per table.

    The customer ids are not in it (docs/privacy.md).
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).forgotten()
    render(result, fmt, output, title="Customers forgotten")

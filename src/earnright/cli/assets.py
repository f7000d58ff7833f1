"""``earnright assets``: the customer asset ledger."""

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

ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Split each unit by a customer attribute (a customers column: segment, tier …).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command("assets")(assets)


def assets(
    level: LevelOpt = "store",
    grain: GrainOpt = Grain.month,
    period: PeriodOpt = None,
    by: ByOpt = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The customer asset ledger: customers gained, reactivated, lost, kept, grown, per period.

    Per unit (by each customer's home unit) and period: start + gained + reactivated − lost =
    end. A customer is gained at their first purchase, lost on the day their last purchase
    becomes [assets] lapse_after_days old (default 180) with no purchase since, reactivated by
    a purchase after that. grew and declined count those who stayed whose spend changed beyond
    noise against the period before; *_value columns are annual spend (docs/assets.md).
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).assets(level=level, grain=grain, period=period, by=by)
    say_notes(result)
    render(result, fmt, output, title=f"Customer assets by {level} and {grain}")

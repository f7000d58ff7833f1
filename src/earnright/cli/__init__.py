"""The ``earnright`` command line (Typer): one module per command group."""

from __future__ import annotations

import sys

import typer

from earnright.cli import (
    changes,
    credibility,
    demo,
    detect,
    drivers,
    focus,
    hygiene,
    ingest,
    localize,
    quarantine,
    rank,
    reliability,
    scorecard,
    warnings,
    workspace,
)
from earnright.cli.output import err_console
from earnright.errors import EarnrightError

__all__ = ["app", "main"]

app = typer.Typer(
    name="earnright",
    help="Customer-driven growth engine: listen to customers, score every unit credibly, "
    "and know before they tell you when the operation fails them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
workspace.register(app)
ingest.register(app)
quarantine.register(app)
scorecard.register(app)
credibility.register(app)
changes.register(app)
rank.register(app)
drivers.register(app)
focus.register(app)
hygiene.register(app)
localize.register(app)
detect.register(app)
reliability.register(app)
warnings.register(app)
demo.register(app)


def main() -> None:
    """Entry point: user errors print one clear message and exit with status 2."""
    try:
        app()
    except EarnrightError as exc:
        err_console.print(
            f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True, markup=True
        )
        sys.exit(2)

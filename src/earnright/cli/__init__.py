"""The ``earnright`` command line (Typer): one module per command group.

Commands are registered lazily: ``earnright --help`` and ``earnright --version`` list them from
:data:`COMMANDS` without importing any of them (they pull in pandas, scipy and Ibis, which take
seconds to load); a command's module is imported only when that command runs or shows its help.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
import typer.main
from rich.markup import escape
from typer.core import TyperGroup

from earnright.cli.output import err_console, user_message
from earnright.errors import EarnrightError

__all__ = ["COMMANDS", "app", "main", "version"]

# name -> (module under earnright.cli, the summary `earnright --help` lists). The summary is the
# start of the command's own help (tests/cli/test_startup.py checks they agree).
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("workspace", "Create a workspace: a commented earnright.toml and an empty warehouse."),
    "status": (
        "workspace",
        "Rows per table, batches ingested, and quarantined rows with their reasons.",
    ),
    "quarantine": (
        "quarantine",
        "Quarantined rows: which are still open, which a later batch superseded; clear them.",
    ),
    "ingest": (
        "ingest",
        "Ingest files: each is one atomic batch; bad rows go to quarantine with their reason.",
    ),
    "scorecard": (
        "scorecard",
        "Per unit and period: responses, response rate, NPS and CSAT with 95% intervals, drivers.",
    ),
    "credibility": (
        "credibility",
        "Per unit, period and metric: estimate, 95% interval, n, and whether it can be trusted.",
    ),
    "needed": (
        "credibility",
        "Responses each unit needs per period to detect a --change in NPS, and the response rate.",
    ),
    "changes": (
        "changes",
        "Units whose score changed by more than sampling noise, against --against.",
    ),
    "rank": (
        "rank",
        "Rank units fairly: scores shrunk toward their peers by how far their n can be trusted.",
    ),
    "drivers": (
        "drivers",
        "Key drivers: how much of the outcome each driver explains, with 95% intervals.",
    ),
    "focus": (
        "focus",
        "The few things to focus on: drivers a unit is credibly behind its peers on.",
    ),
    "hygiene": (
        "hygiene",
        "Units whose answers look solicited or manipulated: the evidence, never an accusation.",
    ),
    "localize": (
        "localize",
        "Name the segments (combinations of up to --max-layer dimension values) behind a "
        "deviation.",
    ),
    "detect": (
        "detect",
        "Score every row of a series for anomalies, using only the rows before it.",
    ),
    "reliability": (
        "reliability",
        "Rate every journey moment's reliability indicators against their objectives.",
    ),
    "warnings": ("warnings", "Incidents found by early warning, newest first"),
    "watch": ("warnings", "Run early warning continuously as metrics arrive"),
    "assets": (
        "assets",
        "The customer asset ledger: customers gained, reactivated, lost, kept, grown, per period.",
    ),
    "losses": (
        "losses",
        "Why customers left: reasons per unit and period, with counts, shares and value.",
    ),
    "loss-review": (
        "losses",
        "The Customer Loss Review: per owner and month, the most valuable lost customers to call.",
    ),
    "loss-call": (
        "losses",
        "Record what a lost customer said when called: their reason with the highest confidence.",
    ),
    "clv": (
        "clv",
        "Customer lifetime value: BG/NBD and Gamma-Gamma fitted from purchase histories.",
    ),
    "issue": (
        "accountability",
        "The issue register: add an issue, list them, or sync them from focus items, incidents "
        "and lost customers.",
    ),
    "review": (
        "accountability",
        "The weekly review agenda of an owner: open issues, evidence, a recommended action.",
    ),
    "decide": (
        "accountability",
        "Record a decision on an issue, under the decider's decision rights.",
    ),
    "commit": (
        "accountability",
        'Record a leadership commitment ("we will / will not …") and print its id.',
    ),
    "commitments": (
        "accountability",
        "Every leadership commitment, and how many decisions put it into practice.",
    ),
    "outcomes": (
        "accountability",
        "Each action's effect on its metric against matched units that did not act.",
    ),
    "loyalty": (
        "loyalty",
        "Behavioural loyalty: what respondents did after answering, and the value of one point.",
    ),
    "survey": (
        "survey",
        "The survey customers answer: personal links, reminders, response rates and "
        "detractors' cases.",
    ),
    "forget": (
        "privacy",
        "Erase a customer's personal data from every table, keeping the ledger's numbers.",
    ),
    "forgotten": (
        "privacy",
        "The record of every customer forgotten: when, who asked, why, rows per table.",
    ),
    "comments": (
        "comments",
        "Sentiment and themes of every comment in a CSV file, one result per row, in order.",
    ),
    "themes": (
        "comments",
        "Each theme per unit: comments, share and sentiment, and changes beyond noise.",
    ),
    "report": (
        "report",
        "Write the report site: a page and its JSON twin per unit, linked by drill-down.",
    ),
    "serve": (
        "serve",
        "Serve the report's pages and the REST API to signed-in people, each within their scope.",
    ),
    "users": (
        "serve",
        "People who sign in to earnright serve: add them with a role, list, disable.",
    ),
    "tokens": ("serve", "API tokens for earnright serve: each carries its user's scope."),
    "pack": (
        "pack",
        "The monthly leadership pack: the customer asset ledger first, then risk, reliability, "
        "listening, decisions, the Customer Room and the maturity map.",
    ),
    "demo": (
        "demo",
        "Generate the demo company (with planted truth) into a workspace and run the pipeline.",
    ),
}


def version() -> str:
    """The installed earnright's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("earnright")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def load_command(name: str, rich_markup_mode: Any = "rich") -> Any:
    """Import the module of command ``name`` and build its click command."""
    module = importlib.import_module(f"earnright.cli.{COMMANDS[name][0]}")
    sub = typer.Typer()
    module.register(sub)
    for info in sub.registered_commands:
        if info.name == name:
            return _reflowed(
                typer.main.get_command_from_info(
                    info, pretty_exceptions_short=True, rich_markup_mode=rich_markup_mode
                )
            )
    for group in sub.registered_groups:
        if group.name == name:
            return _reflowed(
                typer.main.get_group_from_info(
                    group,
                    pretty_exceptions_short=True,
                    suggest_commands=True,
                    rich_markup_mode=rich_markup_mode,
                )
            )
    raise LookupError(f"earnright.cli.{COMMANDS[name][0]} registers no command {name!r}")


def _reflowed(command: Any) -> Any:
    """``command`` (and a group's commands) with its help as plain text for the terminal:
    each paragraph on one line (the docstrings' line breaks sit at 100 columns and left ragged
    lines on a narrower terminal) and square brackets shown, not read as markup (the help
    names config sections, ``[listening] min_n``, which the terminal used to drop)."""
    if command.help:
        paragraphs = command.help.split("\n\n")
        command.help = escape("\n\n".join(" ".join(p.split()) for p in paragraphs))
    for param in command.params:
        if getattr(param, "help", None):
            param.help = escape(param.help)
    for sub in getattr(command, "commands", {}).values():
        _reflowed(sub)
    return command


class _LazyCommands(MutableMapping[str, Any]):
    """The group's commands: every name in COMMANDS, each built on first use."""

    def __init__(self, group: LazyGroup) -> None:
        self.group = group
        self.loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self.loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self.loaded[name] = load_command(name, self.group.rich_markup_mode)
        return self.loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*COMMANDS, *self.loaded]))

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self.loaded))


class LazyGroup(TyperGroup):
    """A Typer group that imports a command's module only when the command is used."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _LazyCommands(self)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The group's help lists each command with its summary, importing none of them."""
        real = self.commands
        self.commands = {
            name: typer.core.TyperCommand(name, help=summary)
            for name, (_, summary) in COMMANDS.items()
        }
        try:
            super().format_help(ctx, formatter)
        finally:
            self.commands = real


app = typer.Typer(
    name="earnright",
    cls=LazyGroup,
    help="Customer-driven growth engine: listen to customers, score every unit credibly, "
    "and know before they tell you when the operation fails them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"earnright {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print earnright's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Customer-driven growth engine: listen to customers, score every unit credibly, and know
    before they tell you when the operation fails them."""


def main() -> None:
    """Entry point: user errors print one clear message and exit with status 2.

    The message is the error's own, in domain words, led by the option it concerns
    (``--period: …``) when it names one. It is escaped: its square brackets (``[[questions]]``,
    ``[sources.NAME]``) are text, not terminal markup.
    """
    try:
        app()
    except EarnrightError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(user_message(exc))}",
            highlight=False,
            soft_wrap=True,
            markup=True,
        )
        sys.exit(2)

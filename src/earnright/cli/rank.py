"""``earnright rank``."""

from __future__ import annotations

from typing import Annotated

import typer

from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    LatestPeriodOpt,
    OutputOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say_notes,
)
from earnright.cli.output import choose_format
from earnright.listening.ranking import HISTORY
from earnright.periods import Grain

TABLE_COLUMNS = [
    "rank",
    "rank_low",
    "rank_high",
    "tier",
    "unit_id",
    "name",
    "n",
    "raw",
    "lasting_level",
    "target",
    "estimate",
    "estimate_low",
    "estimate_high",
]


def register(app: typer.Typer) -> None:
    app.command("rank")(rank)


def rank(
    level: Annotated[str, typer.Option(help="Unit level to rank: store, district, region …")] = (
        "store"
    ),
    grain: GrainOpt = Grain.month,
    period: LatestPeriodOpt = None,
    metric: Annotated[
        str, typer.Option(help="Score to rank on: nps, csat or a driver question id.")
    ] = "nps",
    peer: Annotated[
        str | None,
        typer.Option(
            help="Level whose units are the peer groups (default: the level above --level; "
            "the top level, e.g. company, shrinks toward the chain mean only).",
            show_default=False,
        ),
    ] = None,
    history: Annotated[
        int,
        typer.Option(
            min=0,
            help="Earlier periods that inform each unit's lasting level (0: this period only).",
        ),
    ] = HISTORY,
    draws: Annotated[
        int, typer.Option(min=100, help="Posterior draws for the rank intervals.")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the posterior draws.")] = 0,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Rank units fairly: scores shrunk toward their peers by how far their n can be trusted.

    Per unit: n, raw score, lasting level (from its --history earlier periods), target (what
    it is shrunk toward), estimate with its 95% posterior interval, rank (1 = best; ties share
    a rank) with its 90% interval, and a tier (top, middle, bottom third) only where the rank
    interval lies wholly inside it, else "uncertain". Units with fewer than [listening] min_n
    answers are listed with their n only ("suppressed"). Without --period, the latest
    complete period.
    """
    fmt = choose_format(fmt, output)
    result = open_workspace(workspace).rank(
        level=level, grain=grain, period=period, metric=metric, peer=peer, history=history,
        draws=draws, seed=seed,
    )  # fmt: skip
    say_notes(result)
    title = (
        f"{metric} ranking of {level}s, {result.period} (chain {result.chain_mean:.1f}, "
        f"fewer than {result.min_n} answers suppressed, "
        f"between-{level} sd {result.tau2**0.5:.1f}, between-{result.peer or 'peer'} sd "
        f"{result.omega2**0.5:.1f}, period-to-period sd {result.sigma2**0.5:.1f})"
    )
    render(result, fmt, output, title=title, table_columns=TABLE_COLUMNS)

"""``earnright rank``."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    LatestPeriodOpt,
    OutputOpt,
    WorkspaceOpt,
    one_period,
)
from earnright.cli.output import choose_format, write_frame
from earnright.listening.ranking import HISTORY, rank_units
from earnright.periods import Grain
from earnright.workspace import find_workspace

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
    ws = find_workspace(workspace)
    with ws.warehouse(read_only=True) as wh:
        period = one_period(wh, grain, period)
        ranking = rank_units(
            wh,
            ws.config,
            level=level,
            grain=grain,
            period=period,
            metric=metric,
            peer=peer,
            history=history,
            draws=draws,
            seed=seed,
        )
    comp = ranking.components
    title = (
        f"{metric} ranking of {level}s, {ranking.period} (chain {ranking.chain_mean:.1f}, "
        f"fewer than {ranking.min_n} answers suppressed, "
        f"between-{level} sd {comp.tau2**0.5:.1f}, between-{ranking.peer or 'peer'} sd "
        f"{comp.omega2**0.5:.1f}, period-to-period sd {comp.sigma2**0.5:.1f})"
    )
    write_frame(_plain(ranking.units), fmt, output, title=title, table_columns=TABLE_COLUMNS)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integer columns as Python ints and None (a suppressed unit has no rank)."""
    ints = [c for c in frame.columns if isinstance(frame[c].dtype, pd.Int64Dtype)]
    out = frame.astype({c: object for c in ints})
    for c in ints:
        out[c] = out[c].where(out[c].notna(), None)
    return out

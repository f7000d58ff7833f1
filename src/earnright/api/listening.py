"""The listening capabilities behind :class:`~earnright.api.Workspace`'s methods: each composes
the analytics of :mod:`earnright.listening` into one typed result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from earnright.api.results import DriversResult, HygieneResult, RankResult
from earnright.api.tables import as_table
from earnright.listening.credibility import assess_credibility, responses_needed
from earnright.listening.scorecard import compute_scorecard

if TYPE_CHECKING:
    from datetime import datetime

    from earnright.config import Config
    from earnright.periods import Grain, PeriodChoice
    from earnright.warehouse import Warehouse

__all__ = [
    "NEEDED_COLUMNS",
    "credibility_frame",
    "drivers_result",
    "hygiene_result",
    "needed_frame",
    "rank_result",
    "table_drivers",
    "with_names",
]

NEEDED_COLUMNS = [
    "unit_id", "name", "responses_per_period", "needed", "invitations_per_period",
    "response_rate", "implied_response_rate", "window", "credible_grain", "reason",
]  # fmt: skip


def with_names(frame: pd.DataFrame, card: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each unit's name (from the scorecard ``card``) beside its id."""
    if "name" in frame.columns or "name" not in card.columns or "unit_id" not in frame.columns:
        return frame
    names = card.drop_duplicates("unit_id").set_index("unit_id")["name"]
    named = frame.copy()
    named.insert(list(frame.columns).index("unit_id") + 1, "name", frame["unit_id"].map(names))
    return named


def credibility_frame(
    wh: Warehouse, config: Config, level: str, grain: Grain, period: str | None
) -> pd.DataFrame:
    """Per unit, period and metric: estimate, interval, n and whether it can be trusted."""
    card = compute_scorecard(wh, config, level=level, grain=grain, period=period)
    return with_names(assess_credibility(card, min_n=config.listening.min_n), card)


def needed_frame(
    wh: Warehouse,
    config: Config,
    what: tuple[str, Grain, str | None],
    before: datetime | None,
    test: tuple[float, float],
) -> pd.DataFrame:
    """Responses needed per unit over the periods of ``what`` (level, grain, period) that start
    before ``before`` (a period that has only begun would understate answers per period)."""
    level, grain, period = what
    card = compute_scorecard(wh, config, level=level, grain=grain, period=period)
    if before is not None:
        card = card[card.period_start < before]
    change, power = test
    frame = responses_needed(card, change=change, power=power, grain=str(grain))
    return with_names(frame, card)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integer columns as Python ints and None (a suppressed unit has no rank)."""
    ints = [c for c in frame.columns if isinstance(frame[c].dtype, pd.Int64Dtype)]
    out = frame.astype({c: object for c in ints})
    for c in ints:
        out[c] = out[c].where(out[c].notna(), None)
    return out


def rank_result(
    wh: Warehouse, config: Config, what: tuple[str, Grain, PeriodChoice], options: dict[str, Any]
) -> RankResult:
    """``rank_units`` for ``what`` (level, grain, the period chosen) as a RankResult."""
    from earnright.listening.ranking import rank_units

    level, grain, choice = what
    ranking = rank_units(wh, config, level=level, grain=grain, period=choice.label, **options)
    comp = ranking.components
    result = RankResult.of(
        _plain(ranking.units), notes=[] if choice.given else [choice.note], level=level,
        grain=str(grain), period=ranking.period, metric=ranking.metric, peer=ranking.peer,
        chain_mean=ranking.chain_mean, min_n=ranking.min_n, tau2=comp.tau2, omega2=comp.omega2,
        sigma2=comp.sigma2,
    )  # fmt: skip
    result._ranking = ranking
    return result


def _split(drivers: Any) -> list[str] | None:
    if drivers is None:
        return None
    if isinstance(drivers, str):
        return [part.strip() for part in drivers.split(",") if part.strip()]
    return list(drivers)


def table_drivers(
    source: Any,
    outcome: str | None,
    drivers: Sequence[str] | str | None = None,
    *,
    cluster: str | None = None,
    bootstrap: int | None = None,
    seed: int = 0,
) -> DriversResult:
    """Key drivers of ``outcome`` in any table (``source``: a CSV, Parquet or JSON Lines path,
    a pandas DataFrame or an Ibis table), one sample; no workspace is read. ``drivers``: the
    columns (default: every other numeric one); the bootstrap resamples ``cluster``'s values
    when given."""
    from earnright.errors import QueryError
    from earnright.listening.drivers import DEFAULT_BOOTSTRAP, compute_table_drivers

    if outcome is None:
        raise QueryError("a source table needs the outcome column named", argument="outcome")
    table = as_table(source, "source")
    found = compute_table_drivers(
        table, outcome, _split(drivers), cluster=cluster,
        bootstrap=DEFAULT_BOOTSTRAP if bootstrap is None else bootstrap, seed=seed,
    )  # fmt: skip
    return DriversResult(results=[found])


def drivers_result(wh: Warehouse, config: Config, options: dict[str, Any]) -> DriversResult:
    """Key drivers of the workspace's feedback (``options``: ``compute_drivers``' own)."""
    from earnright.listening.drivers import DEFAULT_BOOTSTRAP, compute_drivers

    opts = dict(options)
    opts["drivers"] = _split(opts.get("drivers"))
    if opts.get("bootstrap") is None:
        opts["bootstrap"] = DEFAULT_BOOTSTRAP
    return DriversResult(results=compute_drivers(wh, config, **opts))


def hygiene_result(
    wh: Warehouse,
    config: Config,
    what: tuple[str, Grain, PeriodChoice],
    options: dict[str, Any],
    show_all: bool,
) -> HygieneResult:
    """``check_hygiene`` for ``what`` (level, grain, the period chosen) as a HygieneResult."""
    from earnright.listening.hygiene import check_hygiene

    level, grain, choice = what
    report = check_hygiene(wh, config, level=level, period=choice.label, grain=grain, **options)
    frame = report.to_frame(flagged_only=not show_all)
    tested = sum(1 for r in report.rows if pd.notna(r.p_value))
    return HygieneResult.of(
        frame, notes=[] if choice.given else [choice.note], caveats=list(report.notes),
        level=level, grain=str(grain), period=report.period, history=list(report.history),
        fdr=report.fdr, flags=len(report.flags), tested=tested,
    )  # fmt: skip

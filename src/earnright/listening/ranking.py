"""Fair ranking: every unit's score shrunk toward its peers as far as its n cannot be trusted.

``rank_units`` runs one engine scan (n, Σx, Σx² of the chosen score per unit and period), gives
each unit-period its raw score and a moderated sampling variance, fits the nested normal model of
``earnright.listening.shrinkage`` and reports per unit the posterior mean and 95% interval, the
rank with a 90% interval from joint posterior draws, and a tier only where that interval allows.
See docs/ranking.md for the model, the choices and the benchmark against planted truth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from earnright.config import Config
from earnright.errors import QueryError
from earnright.listening.scorecard import latest_period
from earnright.listening.shrinkage import (
    Components,
    Posterior,
    estimate_drift,
    fit_components,
    shrink_scores,
)
from earnright.periods import Grain, parse_period, truncate
from earnright.stats import Z95
from earnright.units import attach_ancestors, read_units, unit_ancestors, unit_placements
from earnright.warehouse import Warehouse

__all__ = [
    "RANK_COLUMNS",
    "Ranking",
    "assign_tiers",
    "rank_frame",
    "rank_intervals",
    "rank_units",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
SMOOTHING = 10.0  # pseudo-answers of the pooled variance in every unit's variance
HISTORY = 3  # earlier periods that inform a unit's lasting level, by default
DRIFT_PERIODS = 11  # earlier periods (at least) from which the period-to-period variance is fitted
RANK_LEVEL = 0.90  # level of the rank intervals
TIERS = ("top", "middle", "bottom", "uncertain", "suppressed")


def _tied_ranks(x: FloatArray, method: str) -> NDArray[np.int32]:
    """Ranks within each row (1 = highest); tied values all get the best or worst of their ranks."""
    return np.asarray(stats.rankdata(-x, method=method, axis=-1), dtype=np.int32)


def _point_ranks(mean: FloatArray) -> IntArray:
    """1 + the number of units whose estimate is higher (beyond rounding): ties share a rank."""
    tol = 1e-9 * max(1.0, float(np.max(np.abs(mean))) if len(mean) else 1.0)
    ascending = np.sort(mean)
    higher = len(mean) - np.searchsorted(ascending, mean + tol, side="right")
    return (1 + higher).astype(np.int64)


def rank_intervals(
    posterior: Posterior, *, draws: int = 2000, seed: int = 0, level: float = RANK_LEVEL
) -> tuple[IntArray, IntArray, IntArray]:
    """Point rank (order of posterior means, 1 = best) and a ``level`` interval from draws.

    Ties are never broken by the order of the rows. Estimates equal to rounding share the best
    of their ranks; in a draw, a unit tied with others may hold any of their ranks, so the low end
    of its interval counts from the best of them and the high end from the worst. When the model
    says units do not differ (a between-unit variance of 0), every draw ties them and their rank
    intervals span all of them. The interval is widened to include the point rank in the rare
    case it falls outside.
    """
    rng = np.random.default_rng(seed)
    mean, _ = posterior.moments()
    size = len(mean)
    best = np.empty((draws, size), dtype=np.int32)
    worst = np.empty((draws, size), dtype=np.int32)
    chunk = max(1, 2_000_000 // max(size, 1))
    for start in range(0, draws, chunk):
        x = posterior.draw(min(chunk, draws - start), rng)
        best[start : start + len(x)] = _tied_ranks(x, "min")
        worst[start : start + len(x)] = _tied_ranks(x, "max")
    point = _point_ranks(mean)
    tail = (1.0 - level) / 2
    low = np.quantile(best, tail, axis=0, method="inverted_cdf").astype(np.int64)
    high = np.quantile(worst, 1.0 - tail, axis=0, method="inverted_cdf").astype(np.int64)
    return point, np.minimum(low, point), np.maximum(high, point)


def assign_tiers(
    rank_low: ArrayLike,
    rank_high: ArrayLike,
    *,
    units: int | None = None,
    fraction: float = 1 / 3,
) -> NDArray[np.str_]:
    """``top``/``bottom`` where the whole rank interval lies in the top/bottom ``fraction``.

    ``middle`` where it lies wholly between them, ``uncertain`` where it crosses a boundary.
    ``units`` is the number of units ranked (default: the length of the arrays). The top and the
    bottom hold the same whole number of ranks, ⌊fraction × units⌋: with 60 units ranks 1–20 and
    41–60, with 5 units rank 1 and rank 5. With fewer than 1/``fraction`` units (2 for thirds)
    no such rank exists and every unit is ``uncertain``.
    """
    low, high = np.asarray(rank_low, np.float64), np.asarray(rank_high, np.float64)
    size = len(low) if units is None else units
    cut = int(np.floor(fraction * size + 1e-9))
    tier = np.full(len(low), "uncertain", dtype=object)
    if cut >= 1:
        tier[(low > cut) & (high <= size - cut)] = "middle"
        tier[high <= cut] = "top"
        tier[low > size - cut] = "bottom"
    return tier.astype(str)


@dataclass
class Ranking:
    """A ranking of the units of one level in one period, with its model and one row per unit.

    ``units`` columns: unit_id, name, peer_id, period, n, raw, lasting_level (from earlier
    periods), target (what the score is shrunk toward), estimate, estimate_low, estimate_high
    (95% posterior interval), rank, rank_low, rank_high (90% interval; 1 = best), tier. Units
    with fewer than ``min_n`` answers are listed last with their n only (tier ``suppressed``).
    ``chain_mean`` and ``response_sd`` (pooled over every answer of the period) are the target
    and the per-answer spread of a funnel plot.
    """

    level: str
    grain: str
    period: str
    metric: str
    peer: str | None
    history: int
    min_n: int
    components: Components
    chain_mean: float
    response_sd: float
    units: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None."""
        head = {k: getattr(self, k) for k in ("level", "grain", "period", "metric", "peer")}
        rows = self.units.astype(object).where(self.units.notna(), None).to_dict("records")
        return head | {
            "history": self.history,
            "min_n": self.min_n,
            "components": asdict(self.components),
            "chain_mean": self.chain_mean,
            "response_sd": self.response_sd,
            "units": rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ranking:
        fields = {k: v for k, v in data.items() if k not in ("components", "units")}
        units = _typed(pd.DataFrame(data["units"], columns=RANK_COLUMNS))
        return cls(components=Components(**data["components"]), units=units, **fields)


RANK_COLUMNS = [
    "unit_id",
    "name",
    "peer_id",
    "period",
    "n",
    "raw",
    "lasting_level",
    "target",
    "estimate",
    "estimate_low",
    "estimate_high",
    "rank",
    "rank_low",
    "rank_high",
    "tier",
]


def _score(config: Config, metric: str, columns: list[str]) -> tuple[str, str, float, float]:
    """(kind, column, lowest, highest score) of ``metric``: nps, csat or a question id."""
    question = config.question_of_kind(metric) if metric in ("nps", "csat") else None
    question = question or config.question(metric)
    if question is None or question.id not in columns:
        known = [c for c in columns if config.question(c) is not None]
        raise QueryError(
            f"metric '{metric}' is not a question in the feedback table; "
            f"use nps, csat or one of {known}",
            argument="metric",
        )
    if question.kind == "nps":
        return "nps", question.id, -100.0, 100.0
    if question.kind == "csat":
        return "csat", question.id, 0.0, 1.0
    return "driver", question.id, float(question.min), float(question.max)


def _answer(fb: ir.Table, kind: str, column: str, config: Config) -> ir.FloatingValue:
    """One answer's score (null where unanswered or not a survey response)."""
    col = fb[column]
    if kind == "nps":
        # booleans via int32: PostgreSQL casts a boolean only to int4 (NULL stays NULL)
        promoter = (col >= 9).cast("int32").cast("float64")
        detractor = (col <= 6).cast("int32").cast("float64")
        x = 100.0 * promoter - 100.0 * detractor
    elif kind == "csat":
        question = config.question(column)
        assert question is not None
        x = (col >= question.max - 1).cast("int32").cast("float64")
    else:
        x = col.cast("float64")
    return (fb.channel == "survey").ifelse(x, ibis.null("float64"))


def _unit_stats(
    wh: Warehouse,
    config: Config,
    units: pd.DataFrame,
    level: str,
    grain: Grain,
    window: tuple[datetime, datetime],
    score: tuple[str, str],
) -> pd.DataFrame:
    """One engine scan: n, Σx, Σx² of the score per unit (at ``level``) and period."""
    ancestors = unit_ancestors(unit_placements(wh), config.units.levels, level)
    fb = wh.table("feedback")
    fb = fb.filter((fb.responded_at >= window[0]) & (fb.responded_at < window[1]))
    fb = attach_ancestors(fb, ancestors, "responded_at")
    x = _answer(fb, score[0], score[1], config)
    fb = fb.mutate(x=x, period_start=truncate(fb.responded_at, grain))
    stats = fb.group_by(["ancestor_id", "period_start"]).aggregate(
        n=fb.x.count(), total=fb.x.sum(), total_sq=(fb.x * fb.x).sum()
    )
    frame = stats.to_pyarrow().to_pandas().rename(columns={"ancestor_id": "unit_id"})
    frame = frame[frame["n"] > 0].astype({"unit_id": str, "n": np.int64})
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    frame = frame.fillna({"total": 0.0, "total_sq": 0.0})
    return frame.sort_values(["period_start", "unit_id"], ignore_index=True)  # seeded = same


def _moderate(stats: pd.DataFrame, smoothing: float) -> pd.DataFrame:
    """Raw score and sampling variance per unit-period, the per-answer variance moderated.

    A unit's variance gets ``smoothing`` pseudo-answers at the pooled within-unit variance of
    its period, so that n = 3 answers all alike do not claim a variance of 0.
    """
    n = stats["n"].to_numpy(np.float64)
    raw = stats["total"].to_numpy() / n
    ss = np.maximum(stats["total_sq"].to_numpy() - n * raw**2, 0.0)
    period = stats["period_start"]
    pooled_ss = pd.Series(ss).groupby(period.to_numpy()).transform("sum").to_numpy()
    pooled_dof = pd.Series(n - 1).groupby(period.to_numpy()).transform("sum").to_numpy()
    pooled = pooled_ss / np.maximum(pooled_dof, 1.0)
    var = (ss + smoothing * pooled) / np.maximum(n - 1 + smoothing, 1.0)
    return stats.assign(raw=raw, v=var / n)


def _shift(start: datetime, grain: Grain, periods: int) -> datetime:
    if grain is Grain.week:
        return start - pd.Timedelta(weeks=periods)
    months = periods * (3 if grain is Grain.quarter else 1)
    return (pd.Timestamp(start) - pd.DateOffset(months=months)).to_pydatetime()


def _peer_level(levels: list[str], level: str, peer: str | None) -> str | None:
    if level not in levels:
        raise QueryError(
            f"'{level}' is not a declared level; expected one of {levels}", argument="level"
        )
    above = levels[: levels.index(level)]
    if peer is None:
        return above[-1] if above else None
    if peer not in above:
        raise QueryError(
            f"peer level '{peer}' must be a level above {level}: one of {above}", argument="peer"
        )
    return peer


def _history(stats: pd.DataFrame, current: pd.DataFrame, target: datetime, since: datetime) -> Any:
    """sigma2 (from every period in ``stats``), and each current unit's periods from ``since``
    to before ``target`` as (mean, variance) of a measurement of its lasting level."""
    chain = stats.groupby("period_start")[["total", "n"]].sum()
    chain_mean = (chain["total"] / chain["n"]).rename("chain")
    stats = stats.join(chain_mean, on="period_start")
    z = stats["raw"] - stats["chain"]
    sigma2 = estimate_drift(z, stats["v"], stats["unit_id"])
    earlier = (stats["period_start"] < target) & (stats["period_start"] >= since)
    past = stats[earlier].assign(z=z, w=1.0 / (stats["v"] + sigma2))
    past = past.assign(wz=past["w"] * past["z"]).groupby("unit_id")[["w", "wz"]].sum()
    past = past.reindex(current["unit_id"])
    shift = float(chain_mean.get(pd.Timestamp(target), 0.0))
    return sigma2, (past["wz"] / past["w"]).to_numpy() + shift, (1.0 / past["w"]).to_numpy()


def _peer_groups(
    units: pd.DataFrame, config: Config, peer: str | None, ids: pd.Series
) -> pd.Series:
    """Each unit's peer group id at level ``peer`` (empty string when it has none)."""
    if peer is None:
        return pd.Series("", index=ids, dtype=object)
    mapping = unit_ancestors(units, config.units.levels, peer).set_index("unit_id")
    return mapping["ancestor_id"].reindex(ids).astype(object).fillna("")


def _posterior(
    stats: pd.DataFrame,
    current: pd.DataFrame,
    groups: pd.Series,
    period: tuple[datetime, Grain],
    history: tuple[int, float, float],
) -> tuple[Posterior, Components, FloatArray]:
    """Fit the variance components and the posterior of every current unit's true score.

    Returns the posterior, the components and each unit's lasting level from its earlier periods
    (NaN where it has none, or without history), clipped to the scale of the score.
    """
    start, grain = period
    periods, lo, hi = history
    groups_ = groups.to_numpy()
    if groups.nunique() == len(groups):
        # one unit per peer group: between-group and between-unit variance are one and the same
        # (not identifiable apart); the chain is the only peer level
        groups_ = np.zeros(len(groups), dtype=np.int64)
    comp = _snap(fit_components(current["raw"], current["v"], groups_))
    past_mean = past_var = None
    lasting = np.full(len(current), np.nan)
    if periods > 0:
        since = _shift(start, grain, periods)
        sigma2, past_mean, past_var = _history(stats, current, start, since)
        informed = np.isfinite(past_var)
        past_mean = np.where(informed, np.clip(past_mean, lo, hi), 0.0)
        past_var = np.where(informed, past_var, np.inf)
        lasting = np.where(informed, past_mean, np.nan)
        comp = Components(comp.mu, comp.mu_var, comp.tau2, comp.omega2, min(sigma2, comp.tau2))
    posterior = shrink_scores(current["raw"], current["v"], comp, groups_, past_mean, past_var)
    return posterior, comp, lasting


def _snap(comp: Components) -> Components:
    """Variances the optimiser leaves a hair above its bound of 0 are 0: units that do not differ
    must tie, not be ordered by rounding."""
    scale = max(abs(comp.mu), comp.tau2, comp.omega2, 1e-12)
    tau2 = comp.tau2 if comp.tau2 > 1e-10 * scale else 0.0
    omega2 = comp.omega2 if comp.omega2 > 1e-10 * scale else 0.0
    return Components(comp.mu, comp.mu_var, tau2, omega2, comp.sigma2)


def rank_frame(
    current: pd.DataFrame,
    units: pd.DataFrame,
    groups: pd.Series,
    fit: tuple[Posterior, FloatArray],
    scale: tuple[float, float],
    sampling: tuple[int, int],
) -> pd.DataFrame:
    """One row per unit: its estimate and 95% interval, rank and 90% interval, and tier."""
    posterior, lasting = fit
    mean, sd = posterior.moments()
    rank, rank_low, rank_high = rank_intervals(posterior, draws=sampling[0], seed=sampling[1])
    return pd.DataFrame(
        {
            "unit_id": current["unit_id"],
            "name": units.set_index("unit_id")["name"].reindex(current["unit_id"]).to_numpy(),
            "peer_id": groups.where(groups != "", None).to_numpy(),
            "n": current["n"],
            "raw": current["raw"],
            "lasting_level": lasting,
            "target": posterior.targets(),
            "estimate": mean,
            "estimate_low": np.clip(mean - Z95 * sd, *scale),
            "estimate_high": np.clip(mean + Z95 * sd, *scale),
            "rank": rank,
            "rank_low": rank_low,
            "rank_high": rank_high,
            "tier": assign_tiers(rank_low, rank_high),
        }
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """RANK_COLUMNS in order, ranks as nullable integers (empty for a suppressed unit)."""
    frame = frame.reindex(columns=RANK_COLUMNS)
    return frame.astype({c: "Int64" for c in ("n", "rank", "rank_low", "rank_high")})


def _suppressed(few: pd.DataFrame, units: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Units below min_n: their n and peer group, no score, no rank, tier ``suppressed``."""
    return pd.DataFrame(
        {
            "unit_id": few["unit_id"],
            "name": units.set_index("unit_id")["name"].reindex(few["unit_id"]).to_numpy(),
            "peer_id": groups.where(groups != "", None).to_numpy(),
            "n": few["n"],
            "tier": "suppressed",
        }
    ).sort_values("unit_id")


def _check_enough(
    current: pd.DataFrame, every: pd.DataFrame, what: tuple[str, str, str, int]
) -> None:
    level, metric, label, min_n = what
    if len(current) < 2:
        raise QueryError(
            f"ranking needs at least 2 {level} units with {min_n} or more {metric} answers in "
            f"{label} ([listening] min_n); found {len(current)} of {len(every)} with answers "
            "(check the period, or use a longer grain)",
            argument="period",
        )


def rank_units(
    wh: Warehouse,
    config: Config,
    *,
    level: str = "store",
    grain: Grain = Grain.month,
    period: str | None = None,
    metric: str = "nps",
    peer: str | None = None,
    history: int = HISTORY,
    draws: int = 2000,
    seed: int = 0,
    min_n: int | None = None,
) -> Ranking:
    """Rank the units of ``level`` in ``period`` (default: the latest) on ``metric``.

    ``peer`` is the level whose units are the peer groups (default: the level above ``level``);
    ``history`` the number of earlier periods that inform each unit's lasting level; ``draws``
    joint posterior draws (seeded by ``seed``) give the rank intervals. Units with fewer than
    ``min_n`` answers (default ``[listening] min_n``) are not ranked: listed with their n only.
    """
    peer = _peer_level(config.units.levels, level, peer)
    min_n = config.listening.min_n if min_n is None else max(min_n, 1)
    label = period or latest_period(wh, grain)
    start, end = parse_period(label, grain)
    kind, column, lo, hi = _score(config, metric, wh.open_columns("feedback"))
    units = read_units(wh)
    earliest = max(history, DRIFT_PERIODS) if history > 0 else 0
    window = (_shift(start, grain, earliest), end)
    stats = _unit_stats(wh, config, units, level, grain, window, (kind, column))
    stats = _moderate(stats, SMOOTHING)
    every = stats[stats["period_start"] == pd.Timestamp(start)].reset_index(drop=True)
    current = every[every["n"] >= min_n].reset_index(drop=True)
    _check_enough(current, every, (level, metric, label, min_n))
    groups = _peer_groups(units, config, peer, current["unit_id"])
    posterior, comp, lasting = _posterior(stats, current, groups, (start, grain), (history, lo, hi))
    frame = rank_frame(current, units, groups, (posterior, lasting), (lo, hi), (draws, seed))
    few = every[every["n"] < min_n]
    frame = pd.concat(
        [
            frame.sort_values(["rank", "unit_id"]),
            _suppressed(few, units, _peer_groups(units, config, peer, few["unit_id"])),
        ],
        ignore_index=True,
    )
    n = every["n"].sum()
    chain_mean = float(every["total"].sum() / n)
    spread = float(np.sqrt(max(every["total_sq"].sum() / n - chain_mean**2, 0.0)))
    return Ranking(
        level=level,
        grain=str(grain),
        period=label,
        metric=metric,
        peer=peer,
        history=history,
        min_n=min_n,
        components=comp,
        chain_mean=chain_mean,
        response_sd=spread,
        units=_typed(frame.assign(period=label)),
    )

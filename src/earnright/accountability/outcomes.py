"""Outcomes, measured: each action's effect on its metric against units that did not act.

For an action started in week t0 at unit u, the pre-period is the ``pre_weeks`` before t0 and
the post-period the ``post_weeks`` from t0 (``[outcomes]`` in the config). Comparison units
share u's parent, took no action on the same metric overlapping those weeks, and are the
``comparisons`` nearest to u in pre-period level and trend (standardised). The effect is the
difference in differences

    effect = (post_u − pre_u) − mean over comparisons c of (post_c − pre_c)

with variance  v_u + τ² + (mean v_c + τ²) / k, where v is each unit's sampling variance of its
change (from its weekly sums and sums of squares) and τ² the variance of the units' own changes
beyond sampling, by the method of moments from the deviations of every non-acting unit at u's
level from its parent's mean (pooled over parents). The interval takes Student's t with
Welch–Satterthwaite degrees of freedom, where τ̂²'s noise is that of the sum of squares it
comes from (τ² + v̄, not τ² alone). The naive
before/after difference (post_u − pre_u, sampling variance only) is reported beside it. The
pre-trend check regresses the weekly gap between u and its comparisons on time over the
pre-period (``pretrend_p``: a small value means the units were already drifting apart).

Verdicts: ``worked`` (interval above zero), ``made it worse`` (below zero), ``no detectable
effect``, ``too early`` (the post-period has not passed; ``detectable_at`` is the date by
which an effect of the expected size, else the post-period's end, could be detected at the
unit's rate of observations, with 80% power), or ``not measurable`` (no data or no comparison
units; ``note`` says which). When the pre-trends differ or comparisons are few, a synthetic
control is fitted; when credible it is the estimate and decides the verdict (``estimator``;
the difference in differences stays in ``did_*``). Actions of one kind on one metric are
pooled by
DerSimonian–Laird random effects (:func:`pool_effects`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from scipy import stats

from earnright.accountability.metrics import UNMEASURED, weekly_stats
from earnright.accountability.synthetic import synthetic_control
from earnright.config import Config, Outcomes
from earnright.errors import QueryError
from earnright.units import read_units
from earnright.warehouse import Warehouse

__all__ = [
    "OUTCOME_COLUMNS", "POOLED_COLUMNS", "OutcomeReport", "Spread", "did_quantile",
    "measure_actions", "measure_outcomes", "pool_effects", "unit_spread",
]  # fmt: skip

OUTCOME_COLUMNS = [
    "action_id", "unit_id", "metric", "kind", "started_at", "effect", "effect_low",
    "effect_high", "verdict", "comparison_units", "naive_effect", "naive_low", "naive_high",
    "pretrend_p", "pre_n", "post_n", "mde", "detectable_at", "expected_effect", "note",
    "synthetic_effect", "synthetic_low", "synthetic_high", "synthetic_level", "estimator",
    "did_effect", "did_low", "did_high",
]  # fmt: skip
DID, SYNTHETIC = "difference in differences", "synthetic control"
SYNTHETIC_WHEN_P = 0.10  # pre-trends this unlike (or too few comparisons): add a synthetic control
POOLED_COLUMNS = ["kind", "metric", "actions", "effect", "effect_low", "effect_high", "tau"]
WEEK = pd.Timedelta(weeks=1)
POWER_Z = stats.norm.ppf(0.8)


@dataclass
class OutcomeReport:
    """Per action (``frame``, :data:`OUTCOME_COLUMNS`) and pooled per kind and metric."""

    frame: pd.DataFrame
    pooled: pd.DataFrame


@dataclass(frozen=True)
class _Grid:
    """A metric's weekly sums as unit × week arrays; ``end`` is the week after the last."""

    units: pd.Index
    weeks: pd.DatetimeIndex
    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray

    @property
    def end(self) -> pd.Timestamp:
        return self.weeks[-1] + WEEK

    @classmethod
    def of(cls, weekly: pd.DataFrame) -> _Grid:
        weeks = pd.date_range(weekly.week.min(), weekly.week.max(), freq="W-MON")
        units = pd.Index(sorted(weekly.unit_id.unique()))
        arrays = []
        for col in ("n", "s1", "s2"):
            table = weekly.pivot_table(index="unit_id", columns="week", values=col, aggfunc="sum")
            arrays.append(table.reindex(index=units, columns=weeks).fillna(0.0).to_numpy(float))
        return cls(units, weeks, *arrays)

    def span(self, start: pd.Timestamp, weeks: int) -> slice:
        first = int(np.searchsorted(self.weeks.values, start.to_datetime64()))
        last = int(np.searchsorted(self.weeks.values, (start + weeks * WEEK).to_datetime64()))
        return slice(first, last)


def _moments(grid: _Grid, cols: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit over the weeks ``cols``: n, mean and the sampling variance of the mean."""
    n = grid.n[:, cols].sum(axis=1)
    s1, s2 = grid.s1[:, cols].sum(axis=1), grid.s2[:, cols].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = np.maximum(s2 / n - mean**2, 0.0) * n / np.maximum(n - 1, 1) / n
    return n, mean, var


def _slopes(grid: _Grid, cols: slice) -> np.ndarray:
    """Per unit, the n-weighted slope of its weekly means over the weeks ``cols``."""
    n, s1 = grid.n[:, cols], grid.s1[:, cols]
    t = np.arange(n.shape[1], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(n > 0, s1 / np.where(n > 0, n, 1), 0.0)
        w = n.sum(axis=1, keepdims=True)
        tbar = (n * t).sum(axis=1, keepdims=True) / w
        ybar = (n * y).sum(axis=1, keepdims=True) / w
        num = (n * (t - tbar) * (y - ybar)).sum(axis=1)
        den = (n * (t - tbar) ** 2).sum(axis=1)
        return np.where(den > 0, num / den, 0.0)


def _pretrend(grid: _Grid, unit: int, comps: np.ndarray, cols: slice) -> float:
    """p-value of the slope of the weekly gap between the unit and its comparisons."""
    n, s1 = grid.n[:, cols], grid.s1[:, cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        own = s1[unit] / n[unit]
        others = s1[comps].sum(axis=0) / n[comps].sum(axis=0)
    gap = own - others
    keep = np.isfinite(gap)
    if keep.sum() < 3:
        return float("nan")
    return float(stats.linregress(np.arange(len(gap))[keep], gap[keep]).pvalue)


def _eligible(grid: _Grid, units: pd.DataFrame, unit_id: str, acting: set[str]) -> np.ndarray:
    """Rows of ``grid`` that may be compared with ``unit_id``: its siblings (else every unit
    at its level) that did not act."""
    info = units.set_index("unit_id")
    parent, level = info.parent_id.get(unit_id), info.level.get(unit_id)
    same = units[(units.level == level) & ~units.unit_id.isin(acting | {unit_id})]
    siblings = same[same.parent_id == parent] if parent is not None else same
    pool = siblings if len(siblings) >= 2 else same
    return np.flatnonzero(grid.units.isin(pool.unit_id))


def _match(
    grid: _Grid, unit: int, pool: np.ndarray, pre: slice, k: int
) -> np.ndarray:  # fmt: skip
    """The ``k`` units of ``pool`` nearest to ``unit`` in pre-period mean and slope."""
    _, mean, _ = _moments(grid, pre)
    slope = _slopes(grid, pre)
    features = np.column_stack([mean, slope])
    scale = np.nanstd(features[pool], axis=0)
    scale[~(scale > 0)] = 1.0
    distance = np.sqrt((((features[pool] - features[unit]) / scale) ** 2).sum(axis=1))
    return pool[np.argsort(distance, kind="stable")[:k]]


def _detectable_at(
    t0: pd.Timestamp, post_weeks: int, fixed: float, rate: float, effect: float | None, z: float
) -> pd.Timestamp | None:
    """When an effect of size ``effect`` (else any, at the post-period's end) could be
    detected with 80% power: the variance is ``fixed + rate / weeks`` (sampling in the
    post-period falls with its weeks); NaT when no number of weeks would do."""
    if effect is None or not np.isfinite(effect) or effect == 0:
        return t0 + post_weeks * WEEK
    room = (abs(effect) / (z + POWER_Z)) ** 2 - fixed
    if room <= 0 or not np.isfinite(rate):
        return None
    weeks = max(post_weeks, int(np.ceil(rate / room)))
    return t0 + weeks * WEEK if weeks <= 520 else None


@dataclass(frozen=True)
class _Setting:
    """What every action of one metric shares."""

    grid: _Grid
    units: pd.DataFrame
    params: Outcomes

    @property
    def z(self) -> float:
        return float(stats.norm.ppf(0.5 + self.params.level / 2))


@dataclass(frozen=True)
class Spread:
    """Variance of units' own changes beyond sampling (τ²), its degrees of freedom and the
    mean sampling variance of the units it came from (its uncertainty scales with τ² + v̄)."""

    tau2: float
    df: int
    vbar: float


def _level_groups(grid: _Grid, units: pd.DataFrame, unit_id: str, acting: set[str]) -> pd.Series:
    """Every unit at ``unit_id``'s level that did not act (as grid rows), with its parent."""
    info = units.set_index("unit_id")
    level = info.level.get(unit_id)
    same = units[(units.level == level) & ~units.unit_id.isin(acting | {unit_id})]
    parents = same.set_index("unit_id").parent_id.fillna("")
    rows = grid.units.get_indexer(parents.index)
    return pd.Series(parents.to_numpy(), index=rows)[rows >= 0]


def unit_spread(change: np.ndarray, var: np.ndarray, groups: pd.Series) -> Spread:
    """τ² by the method of moments from the deviations of units' changes from their parent's
    mean, pooled over every parent at the level: siblings share their parent's shocks, which
    cancel in the difference, and pooling gives τ² Σ(m − 1) degrees of freedom instead of the
    few of one sibling group. E Σ(c − c̄)² = (m − 1)τ² + (1 − 1/m) Σ v per group."""
    ss = sampling = vsum = 0.0
    df = count = 0
    for _, rows in groups.groupby(groups.to_numpy()):
        idx = rows.index.to_numpy()
        idx = idx[np.isfinite(change[idx]) & np.isfinite(var[idx])]
        m = len(idx)
        vsum, count = vsum + float(var[idx].sum()), count + m
        if m < 2:
            continue
        ss += float(((change[idx] - change[idx].mean()) ** 2).sum())
        sampling += (1 - 1 / m) * float(var[idx].sum())
        df += m - 1
    vbar = vsum / count if count else 0.0
    if df < 2:
        return Spread(0.0, 0, vbar)
    return Spread(max(0.0, (ss - sampling) / df), df, vbar)


def _measure(action: pd.Series, setting: _Setting, acting: set[str]) -> dict[str, object]:
    """The outcome row of one action (see the module doc)."""
    grid, p = setting.grid, setting.params
    t0 = pd.Timestamp(action.started_at).to_period("W-SUN").start_time
    row: dict[str, object] = {"effect": np.nan, "verdict": "not measurable", "note": ""}
    if action.unit_id not in grid.units:
        return row | {"note": "no observations of the metric at the unit"}
    unit = int(np.flatnonzero(grid.units == action.unit_id)[0])
    pre, post = grid.span(t0 - p.pre_weeks * WEEK, p.pre_weeks), grid.span(t0, p.post_weeks)
    n_pre, m_pre, v_pre = _moments(grid, pre)
    n_post, m_post, v_post = _moments(grid, post)
    row |= {"pre_n": int(n_pre[unit]), "post_n": int(n_post[unit])}
    pool = _eligible(grid, setting.units, str(action.unit_id), acting)
    pool = pool[(n_pre[pool] > 0) & (n_post[pool] > 0)]
    if n_pre[unit] < 2 or not len(pool):
        why = "no comparison units" if n_pre[unit] >= 2 else "too few observations before"
        return row | {"note": why}
    comps = _match(grid, unit, pool, pre, p.comparisons)
    change, var = m_post - m_pre, v_pre + v_post
    groups = _level_groups(grid, setting.units, str(action.unit_id), acting)
    if not groups.index.isin(pool).any() or groups[groups.index.isin(pool)].nunique() > 1:
        groups[:] = ""  # compared across parents: their shocks do not cancel, so neither here
    spread = unit_spread(change, var, groups)
    tau2 = spread.tau2
    row |= {"comparison_units": ",".join(grid.units[comps]),
            "pretrend_p": _pretrend(grid, unit, comps, pre)}  # fmt: skip
    weeks_seen = max(min(post.stop - post.start, p.post_weeks), 1)
    k = len(comps)
    fixed = v_pre[unit] + tau2 + (v_pre[comps].mean() + tau2) / k
    rate = (v_post[unit] + v_post[comps].mean() / k) * weeks_seen
    expected = None if pd.isna(action.expected_effect) else float(action.expected_effect)
    row["mde"] = (setting.z + POWER_Z) * np.sqrt(fixed + rate / p.post_weeks)
    if n_post[unit] == 0 or t0 + p.post_weeks * WEEK > grid.end:
        at = _detectable_at(t0, p.post_weeks, fixed, rate, expected, setting.z)
        return row | {"verdict": "too early", "detectable_at": at}
    effect = change[unit] - change[comps].mean()
    se = np.sqrt(fixed + rate / weeks_seen)
    naive_se = np.sqrt(var[unit])
    q = did_quantile(p.level, se**2, spread, 1 + 1 / k)
    row |= {"effect": effect, "effect_low": effect - q * se,
            "effect_high": effect + q * se, "naive_effect": change[unit],
            "naive_low": change[unit] - setting.z * naive_se,
            "naive_high": change[unit] + setting.z * naive_se}  # fmt: skip
    row |= {"did_effect": effect, "did_low": row["effect_low"], "did_high": row["effect_high"],
            "estimator": DID}  # fmt: skip
    few = len(comps) < p.comparisons
    row |= _synthetic(grid, unit, groups.index.to_numpy(), pre, post, row, few)
    return row | {"verdict": _verdict(row)}


def _synthetic(
    grid: _Grid, unit: int, donors: np.ndarray, pre: slice, post: slice, row: dict[str, object],
    few: bool,
) -> dict[str, object]:  # fmt: skip
    """A synthetic control beside the difference in differences when the pre-trends differ
    (``pretrend_p`` below :data:`SYNTHETIC_WHEN_P`) or comparisons are fewer than asked:
    donors are the level's units that did not act, observed every week of both periods. When
    it is credible (``SyntheticResult.credible``) it is the estimate (``effect`` and its
    interval) and decides the verdict (``estimator``)."""
    trend_p = row.get("pretrend_p")
    unlike = isinstance(trend_p, float) and np.isfinite(trend_p) and trend_p < SYNTHETIC_WHEN_P
    if not (unlike or few):
        return {}
    cols = slice(pre.start, post.stop)
    n, s1 = grid.n[:, cols], grid.s1[:, cols]
    seen = donors[(n[donors] > 0).all(axis=1)]
    if len(seen) < 2 or not (n[unit] > 0).all():
        return {}
    means = s1 / np.where(n > 0, n, 1)
    before = np.arange(cols.stop - cols.start) < pre.stop - pre.start
    got = synthetic_control(means[unit], means[seen], before)
    found: dict[str, object] = {"synthetic_effect": got.effect, "synthetic_low": got.low,
                                "synthetic_high": got.high,
                                "synthetic_level": round(got.level, 3)}  # fmt: skip
    if got.credible:
        found |= {"effect": got.effect, "effect_low": got.low, "effect_high": got.high,
                  "estimator": SYNTHETIC}  # fmt: skip
    return found


def did_quantile(level: float, var: float, spread: Spread, weight: float) -> float:
    """Student's t quantile with Welch–Satterthwaite degrees of freedom. The variance holds
    ``weight`` × τ̂²; τ̂² = (a sum of squares − its sampling part) / df, so its own variance is
    about 2 (τ² + v̄)² / df — it carries the noise of the sampling part it subtracts, not of τ²
    alone. The sampling part of the variance (hundreds of answers) is taken as known."""
    if spread.df < 2:
        return float(stats.norm.ppf(0.5 + level / 2))
    noise = weight * (spread.tau2 + spread.vbar)
    df = var**2 * spread.df / noise**2 if noise > 0 else np.inf
    return float(stats.t.ppf(0.5 + level / 2, df=max(df, 1.0)))


def _verdict(row: dict[str, object]) -> str:
    low, high = float(row["effect_low"]), float(row["effect_high"])  # type: ignore[arg-type]
    if low > 0:
        return "worked"
    if high < 0:
        return "made it worse"
    return "no detectable effect"


def _acting(actions: pd.DataFrame, action: pd.Series, p: Outcomes) -> set[str]:
    """Units acting on the same metric in weeks overlapping this action's pre and post."""
    start = action.started_at - p.pre_weeks * WEEK
    end = action.started_at + p.post_weeks * WEEK
    running = actions.ended_at.isna() | (actions.ended_at >= start)
    same = (actions.metric == action.metric) & (actions.started_at < end) & running
    return set(actions.loc[same, "unit_id"].astype(str))


def measure_outcomes(
    wh: Warehouse, config: Config, since: datetime | None = None
) -> OutcomeReport:  # fmt: skip
    """Every action's outcome (started since ``since``), and the pooled effect per kind."""
    actions = wh.table("actions").to_pandas()

    def weekly(metric: str) -> pd.DataFrame:
        return weekly_stats(wh, config, metric)

    return measure_actions(actions, read_units(wh), weekly, config.outcomes, since)


def measure_actions(
    actions: pd.DataFrame, units: pd.DataFrame, weekly: Callable[[str], pd.DataFrame],
    params: Outcomes, since: datetime | None = None,
) -> OutcomeReport:  # fmt: skip
    """The core of :func:`measure_outcomes` on frames: ``actions`` (the kind's columns),
    ``units`` (``unit_id, parent_id, level``) and ``weekly(metric)``, the metric's weekly
    sums per unit (:func:`~earnright.accountability.metrics.weekly_stats`; a
    :class:`QueryError` when it has none)."""
    actions = actions.assign(started_at=pd.to_datetime(actions.started_at),
                             ended_at=pd.to_datetime(actions.ended_at))  # fmt: skip
    chosen = actions if since is None else actions[actions.started_at >= since]
    rows = []
    for metric, group in chosen.groupby("metric", sort=True):
        setting, why = None, f"no {metric} data"
        if metric not in UNMEASURED:
            try:
                frame = weekly(str(metric))
            except QueryError as exc:  # e.g. no answers to the question at all yet
                frame, why = pd.DataFrame(), str(exc)
            if not frame.empty:
                setting = _Setting(_Grid.of(frame), units, params)
        for _, action in group.sort_values("started_at").iterrows():
            base = {c: action.get(c) for c in ("action_id", "unit_id", "metric", "kind")}
            base |= {"started_at": action.started_at, "expected_effect": action.expected_effect}
            if setting is None:
                rows.append(base | {"verdict": "not measurable", "note": why})
                continue
            rows.append(base | _measure(action, setting, _acting(actions, action, params)))
    out = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    out["note"] = out["note"].fillna("")
    return OutcomeReport(out, pool_effects(out, params.level))


def pool_effects(frame: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per kind and metric, the DerSimonian–Laird random-effects pooled effect of the
    measured actions' difference in differences (``did_*``, else ``effect*``; their intervals
    give their variances: a synthetic control's placebo interval is not a normal one)."""
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    cols = ["did_effect", "did_low", "did_high"]
    if not set(cols) <= set(frame.columns):
        cols = ["effect", "effect_low", "effect_high"]
    measured = frame[frame[cols[0]].notna() & frame[cols[1]].notna()]
    for (kind, metric), g in measured.groupby(["kind", "metric"], sort=True):
        y = g[cols[0]].to_numpy(float)
        v = ((g[cols[2]] - g[cols[1]]).to_numpy(float) / (2 * z)) ** 2
        w = 1 / v
        fixed = (w * y).sum() / w.sum()
        q = (w * (y - fixed) ** 2).sum()
        c = w.sum() - (w**2).sum() / w.sum()
        tau2 = max(0.0, (q - (len(y) - 1)) / c) if len(y) > 1 and c > 0 else 0.0
        wr = 1 / (v + tau2)
        est, se = (wr * y).sum() / wr.sum(), np.sqrt(1 / wr.sum())
        rows.append([kind, metric, len(y), est, est - z * se, est + z * se, np.sqrt(tau2)])
    return pd.DataFrame(rows, columns=POOLED_COLUMNS)

"""Real change only: which units' scores moved by more than their sampling noise.

A unit's score in a period is compared with its score in the previous period, or with its peers
(the other units under the same parent, pooled) in the same period. Each comparison is a test of
the difference of two independent estimates, each made from additive sufficient statistics taken
from the scorecard frame (``n`` and two sums per metric), so peers pool by addition:

- NPS — z-test of the difference of two multinomial NPS estimates, the variance under H0 from
  the pooled promoter and detractor shares, ``σ² = p + d − (p − d)²`` per response (Rocks 2016);
- CSAT — the two-proportion z-test (pooled variance);
- driver means — Welch's t-test (unequal variances, Welch–Satterthwaite degrees of freedom).

With many units tested at once, the false discovery rate is controlled by the Benjamini–Hochberg
(1995) step-up procedure: a unit is ``flagged`` when its q-value is at most ``fdr``. Units with
fewer than ``min_n`` answers on either side are not tested (null p-value, ``reason`` says why).
Formulas and references: docs/credibility.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from enum import StrEnum

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from earnright.config import Config
from earnright.errors import QueryError
from earnright.listening.credibility import metric_columns, metric_kind, nps_variance
from earnright.listening.scorecard import compute_scorecard
from earnright.periods import Grain, choose_period, parse_period, period_label
from earnright.stats import Z95, benjamini_hochberg, welch_dof
from earnright.units import read_units
from earnright.warehouse import Warehouse

__all__ = [
    "CHANGE_COLUMNS",
    "Against",
    "detect_changes",
    "find_changes",
    "previous_period",
]

CHANGE_COLUMNS = [
    "unit_id",
    "name",
    "level",
    "metric",
    "period",
    "against",
    "reference",
    "previous",
    "estimate",
    "change",
    "change_low",
    "change_high",
    "p_value",
    "q_value",
    "n",
    "n_previous",
    "flagged",
    "reason",
]
FloatArray = NDArray[np.float64]
Stats = tuple[FloatArray, FloatArray, FloatArray]  # n and two additive sums
Difference = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]


class Against(StrEnum):
    previous = "previous"
    peers = "peers"


def previous_period(period: str, grain: Grain) -> str:
    """The label of the period just before ``period`` at ``grain`` (``2026-09`` → ``2026-08``)."""
    start, _ = parse_period(period, grain)
    return str(period_label(pd.Series([start - timedelta(days=1)]), grain).iloc[0])


def _two_sided(z: FloatArray, change: FloatArray, se: FloatArray) -> FloatArray:
    """Two-sided normal p-value; with a zero standard error, 1 if nothing changed else 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2.0 * special.ndtr(-np.abs(z))
    return np.where(se > 0, p, np.where(change == 0, 1.0, 0.0))


def _nps_difference(ref: Stats, cur: Stats) -> Difference:
    """NPS (points) of reference and current, change, its 95% interval and p-value."""
    (n1, p1, d1), (n2, p2, d2) = ref, cur
    with np.errstate(invalid="ignore", divide="ignore"):
        before, after = (p1 - d1) / n1, (p2 - d2) / n2
        change = after - before
        pooled = nps_variance((p1 + p2) / (n1 + n2), (d1 + d2) / (n1 + n2))
        se0 = np.sqrt(pooled * (1 / n1 + 1 / n2))
        p_value = _two_sided(change / se0, change, se0)
        # Interval: each side gets 2 pseudo-answers (½ promoter, 1 passive, ½ detractor), the
        # Agresti–Caffo adjustment carried over to NPS; centred on the adjusted difference.
        adjusted = [((p + 0.5) / (n + 2), (d + 0.5) / (n + 2), n + 2) for n, p, d in (ref, cur)]
        centre = (adjusted[1][0] - adjusted[1][1]) - (adjusted[0][0] - adjusted[0][1])
        half = Z95 * np.sqrt(sum(nps_variance(p, d) / m for p, d, m in adjusted))
    low, high = np.clip(centre - half, -2, 2), np.clip(centre + half, -2, 2)
    return 100 * before, 100 * after, 100 * change, 100 * low, 100 * high, p_value


def _csat_difference(ref: Stats, cur: Stats) -> Difference:
    """Top-2-box shares of reference and current, change, Agresti–Caffo interval, p-value."""
    (n1, k1, _), (n2, k2, _) = ref, cur
    with np.errstate(invalid="ignore", divide="ignore"):
        before, after = k1 / n1, k2 / n2
        change = after - before
        pooled = (k1 + k2) / (n1 + n2)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        p_value = _two_sided(change / se0, change, se0)
        a1, a2 = (k1 + 1) / (n1 + 2), (k2 + 1) / (n2 + 2)  # Agresti–Caffo: +1 success, +1 failure
        centre = a2 - a1
        half = Z95 * np.sqrt(a1 * (1 - a1) / (n1 + 2) + a2 * (1 - a2) / (n2 + 2))
    low, high = np.clip(centre - half, -1, 1), np.clip(centre + half, -1, 1)
    return before, after, change, low, high, p_value


def _mean_difference(ref: Stats, cur: Stats) -> Difference:
    """Means of reference and current, change, Welch t interval and p-value."""
    (n1, s1, q1), (n2, s2, q2) = ref, cur
    with np.errstate(invalid="ignore", divide="ignore"):
        before, after = s1 / n1, s2 / n2
        change = after - before
        w1 = np.maximum(q1 - n1 * before**2, 0) / (n1 - 1) / n1  # squared standard errors
        w2 = np.maximum(q2 - n2 * after**2, 0) / (n2 - 1) / n2
        se = np.sqrt(w1 + w2)
        dof = welch_dof(w1, w2, n1 - 1, n2 - 1)
        dof = np.where(np.isfinite(dof) & (dof > 0), dof, 1.0)
        t = change / se
        p_value = np.where(
            se > 0, 2.0 * special.stdtr(dof, -np.abs(t)), np.where(change == 0, 1.0, 0.0)
        )
        half = special.stdtrit(dof, 0.975) * se
    return before, after, change, change - half, change + half, p_value


_DIFFERENCES: dict[str, Callable[[Stats, Stats], Difference]] = {
    "nps": _nps_difference,
    "csat": _csat_difference,
    "driver": _mean_difference,
}


def _driver_sd(scorecard: pd.DataFrame, metric: str, n: FloatArray) -> FloatArray:
    """Answer standard deviation: the ``Q_sd`` column, else recovered from the t interval.

    The interval is ``mean ± t·sd/√n`` clipped to the scale, so its unclipped side gives the
    half-width back. With one answer the deviation is 0 (Σx² = x²).
    """
    if f"{metric}_sd" in scorecard.columns:
        return np.nan_to_num(scorecard[f"{metric}_sd"].to_numpy(dtype=np.float64))
    _, mean_col, low_col, high_col = metric_columns(metric)
    mean = scorecard[mean_col].to_numpy(dtype=np.float64)
    half = np.fmax(
        mean - scorecard[low_col].to_numpy(dtype=np.float64),
        scorecard[high_col].to_numpy(dtype=np.float64) - mean,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = half * np.sqrt(n) / special.stdtrit(np.maximum(n - 1, 1), 0.975)
    return np.where(n >= 2, np.nan_to_num(sd), 0.0)


def _metric_stats(scorecard: pd.DataFrame, metric: str, kind: str) -> pd.DataFrame:
    """unit_id, name, level, period and the metric's sufficient statistics (n, a, b)."""
    n_col, est_col, _, _ = metric_columns(metric)
    n = scorecard[n_col].fillna(0).to_numpy(dtype=np.float64)
    estimate = np.nan_to_num(scorecard[est_col].to_numpy(dtype=np.float64))
    if kind == "nps":
        a = scorecard["promoters"].fillna(0).to_numpy(dtype=np.float64)
        b = scorecard["detractors"].fillna(0).to_numpy(dtype=np.float64)
    elif kind == "csat":
        a, b = np.round(estimate * n), np.zeros(len(n))
    else:
        sd = _driver_sd(scorecard, metric, n)
        a = estimate * n
        b = np.maximum(n - 1, 0) * sd**2 + n * estimate**2
    name = scorecard["name"] if "name" in scorecard.columns else scorecard["unit_id"]
    return pd.DataFrame(
        {
            "unit_id": scorecard["unit_id"].astype(str).to_numpy(),
            "name": name.to_numpy(),
            "level": scorecard["level"].to_numpy(),
            "period": scorecard["period"].to_numpy(),
            "n": n,
            "a": a,
            "b": b,
        }
    )


def _sums(frame: pd.DataFrame) -> Stats:
    n, a, b = (frame[c].to_numpy(dtype=np.float64) for c in ("n", "a", "b"))
    return n, a, b


def _reference_stats(
    stats: pd.DataFrame,
    current: pd.DataFrame,
    against: Against,
    reference_period: str,
    parents: Mapping[str, str | None] | None,
) -> tuple[pd.DataFrame, list[str]]:
    """The stats each current unit is compared with, aligned to ``current``, and their labels."""
    sums = ["n", "a", "b"]
    if against is Against.previous:
        before = stats[stats.period == reference_period].set_index("unit_id")[sums]
        ref = before.reindex(current.unit_id).fillna(0).reset_index(drop=True)
        return ref, [reference_period] * len(current)
    if parents is None:
        raise QueryError("comparing with peers needs each unit's parent (the units table)")
    parent = np.array([parents.get(u) or "" for u in current.unit_id], dtype=object)
    totals = current[sums].groupby([parent, current.level.to_numpy()]).transform("sum")
    ref = totals - current[sums]
    ref.loc[parent == "", :] = 0.0
    return ref.reset_index(drop=True), [f"peers in {p}" if p else "no parent" for p in parent]


def _reasons(
    tested: NDArray[np.bool_],
    n: FloatArray,
    n_ref: FloatArray,
    q: FloatArray,
    fdr: float,
    min_n: int,
    reference: list[str],
) -> list[str]:
    out = []
    for ok, k, k_ref, qv, ref in zip(tested, n, n_ref, q, reference, strict=True):
        if ok:
            verdict = "significant" if qv <= fdr else "not significant"
            out.append(f"{verdict}: q={qv:.3g} {'<=' if qv <= fdr else '>'} {fdr:g}")
        elif k == 0:
            out.append("not tested: no answers")
        elif k < min_n:
            out.append(f"not tested: n={k:.0f} below the minimum of {min_n}")
        elif k_ref == 0:
            out.append(f"not tested: no answers in {ref}")
        else:
            out.append(f"not tested: n={k_ref:.0f} in {ref}, below the minimum of {min_n}")
    return out


def detect_changes(
    scorecard: pd.DataFrame,
    *,
    period: str,
    metric: str = "nps",
    against: Against | str = Against.previous,
    grain: Grain = Grain.month,
    parents: Mapping[str, str | None] | None = None,
    fdr: float = 0.05,
    min_n: int = 5,
) -> pd.DataFrame:
    """Every unit of ``period`` in the scorecard, tested for a real change (``CHANGE_COLUMNS``).

    ``against`` ``previous`` needs the previous period's rows in ``scorecard`` too; ``peers``
    needs ``parents`` (unit_id → parent_id). Sorted flagged first, then by q-value.
    """
    if not 0 < fdr < 1:
        raise QueryError(f"the false discovery rate must lie in (0, 1), got {fdr}", argument="fdr")
    against = Against(against)
    kind = metric_kind(scorecard, metric)
    min_n = max(min_n, 2 if kind == "driver" else 1)
    stats = _metric_stats(scorecard, metric, kind)
    current = stats[stats.period == period].reset_index(drop=True)
    ref_period = previous_period(period, grain) if against is Against.previous else period
    ref, labels = _reference_stats(stats, current, against, ref_period, parents)
    diff = _DIFFERENCES[kind](_sums(ref), _sums(current))
    n, n_ref = current["n"].to_numpy(), ref["n"].to_numpy()
    tested = (n >= min_n) & (n_ref >= min_n)
    p_value = np.where(tested, diff[5], np.nan)
    q_value = benjamini_hochberg(p_value)
    out = current[["unit_id", "name", "level"]].assign(
        metric=metric, period=period, against=str(against), reference=labels
    )
    before, after, change, low, high, _ = diff
    out["previous"] = np.where(n_ref > 0, before, np.nan)
    out["estimate"] = np.where(n > 0, after, np.nan)
    for col, values in (("change", change), ("change_low", low), ("change_high", high)):
        out[col] = np.where(tested, values, np.nan)
    out = out.assign(p_value=p_value, q_value=q_value, n=n.astype("int64"))
    out["n_previous"] = n_ref.astype("int64")
    out["flagged"] = tested & (q_value <= fdr)
    out["reason"] = _reasons(tested, n, n_ref, q_value, fdr, min_n, labels)
    order = np.lexsort((out.unit_id, np.nan_to_num(q_value, nan=2.0), ~out.flagged))
    return out.iloc[order].reset_index(drop=True)[CHANGE_COLUMNS]


def _scorecard(
    wh: Warehouse, config: Config, level: str, grain: Grain, period: str
) -> pd.DataFrame | None:
    """The scorecard of one period, or None when the period holds no feedback or invitations.

    (``compute_scorecard`` cannot merge two empty scans, so an empty period is caught first.)
    """
    start, end = parse_period(period, grain)
    fb, inv = wh.table("feedback"), wh.table("invitations")
    rows = fb.filter((fb.responded_at >= start) & (fb.responded_at < end)).count().execute()
    rows += inv.filter((inv.sent_at >= start) & (inv.sent_at < end)).count().execute()
    if rows == 0:
        return None
    return compute_scorecard(wh, config, level=level, grain=grain, period=period)


def find_changes(
    wh: Warehouse,
    config: Config,
    *,
    level: str = "store",
    period: str | None = None,
    grain: Grain = Grain.month,
    against: Against | str = Against.previous,
    metric: str = "nps",
    fdr: float = 0.05,
    min_n: int = 5,
) -> pd.DataFrame:
    """``detect_changes`` on the warehouse: scores ``period`` (default: the latest complete one,
    ``earnright.periods.choose_period``) at ``level``; QueryError for a period without data."""
    against = Against(against)
    period = choose_period(wh, grain, period).label  # the latest complete one by default
    card = _scorecard(wh, config, level, grain, period)
    if card is not None and against is Against.previous:
        prior = _scorecard(wh, config, level, grain, previous_period(period, grain))
        card = pd.concat([prior, card], ignore_index=True) if prior is not None else card
    if card is None or not (card.period == period).any():
        raise QueryError(f"no feedback or invitations at level '{level}' in {period}")
    units = read_units(wh)
    parents = {
        str(u): p if isinstance(p, str) and p else None
        for u, p in zip(units.unit_id, units.parent_id, strict=True)
    }
    return detect_changes(
        card, period=period, metric=metric, against=against, grain=grain,
        parents=parents, fdr=fdr, min_n=min_n,
    )  # fmt: skip

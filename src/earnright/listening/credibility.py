"""Credibility: which scorecard numbers can be shown, and how many responses a unit needs.

Two questions, answered from the scorecard frame of ``compute_scorecard`` (no scan of raw rows):

- ``assess_credibility`` — per unit, period and metric (NPS, CSAT, every driver question): the
  estimate, its 95% interval, n and a verdict. Below ``min_n`` answers the number is *suppressed*:
  estimate and interval are null and ``reason`` says why; it is never shown as zero. Above it, the
  number is *credible* when its 95% interval is no wider than a tolerance (``Precision``).
- ``responses_needed`` — per unit, how many NPS answers per period it needs so that a change of
  ``change`` points between two periods of equal n is detected with the given power by a two-sided
  z-test at level α (see ``nps_sample_size``), and the response rate that implies given the unit's
  invitations per period, with a verdict when that rate is unrealistic or impossible, and what
  is possible with the invitations the unit already gets: the rolling window (in periods) and the
  shortest calendar grain over which its answers reach the number needed.

The per-response variance of NPS (promoter +1, passive 0, detractor −1) is
``σ² = p + d − (p − d)²`` (Rocks 2016); the methods are documented in docs/credibility.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from earnright.errors import QueryError

__all__ = [
    "CREDIBILITY_COLUMNS",
    "NEEDED_COLUMNS",
    "Precision",
    "assess_credibility",
    "metric_columns",
    "metric_kind",
    "nps_sample_size",
    "nps_variance",
    "responses_needed",
    "scorecard_metrics",
]

CREDIBILITY_COLUMNS = [
    "unit_id",
    "level",
    "period",
    "metric",
    "n",
    "estimate",
    "low",
    "high",
    "credible",
    "suppressed",
    "reason",
]
NEEDED_COLUMNS = [
    "unit_id",
    "level",
    "periods",
    "n",
    "responses_per_period",
    "promoter_share",
    "detractor_share",
    "variance_from",
    "sd",
    "change",
    "needed",
    "enough_now",
    "invitations_per_period",
    "response_rate",
    "implied_response_rate",
    "feasible",
    "window",
    "window_at_realistic_rate",
    "credible_grain",
    "reason",
]
GRAIN_DAYS = {"week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25}
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Precision:
    """The widest 95% interval half-width still called credible, per kind of metric.

    ``nps`` in points (−100..100), ``csat`` as a share (0..1), ``driver`` in scale points.
    """

    nps: float = 15.0
    csat: float = 0.10
    driver: float = 0.30

    def of(self, kind: str) -> float:
        return float(getattr(self, kind))


def scorecard_metrics(scorecard: pd.DataFrame) -> list[str]:
    """The metrics a scorecard frame holds: ``nps``, ``csat``, then every driver question."""
    found = [m for m in ("nps", "csat") if m in scorecard.columns]
    drivers = [c[: -len("_mean")] for c in scorecard.columns if c.endswith("_mean")]
    return found + [q for q in drivers if f"{q}_n" in scorecard.columns]


def metric_kind(scorecard: pd.DataFrame, metric: str) -> str:
    """``nps``, ``csat`` or ``driver``; QueryError naming the metrics there are otherwise."""
    available = scorecard_metrics(scorecard)
    if metric not in available:
        raise QueryError(
            f"metric '{metric}' is not in the scorecard; expected one of {available}",
            argument="metric",
        )
    return metric if metric in ("nps", "csat") else "driver"


def metric_columns(metric: str) -> tuple[str, str, str, str]:
    """Scorecard columns of a metric: its n, estimate, low and high."""
    if metric == "nps":
        return "n", "nps", "nps_low", "nps_high"
    if metric == "csat":
        return "n_csat", "csat", "csat_low", "csat_high"
    return f"{metric}_n", f"{metric}_mean", f"{metric}_low", f"{metric}_high"


def _assess_metric(
    scorecard: pd.DataFrame, metric: str, min_n: int, tolerance: float
) -> pd.DataFrame:
    n_col, est_col, low_col, high_col = metric_columns(metric)
    n = scorecard[n_col].fillna(0).astype("int64").to_numpy()
    estimate = scorecard[est_col].to_numpy(dtype=np.float64)
    low = scorecard[low_col].to_numpy(dtype=np.float64)
    high = scorecard[high_col].to_numpy(dtype=np.float64)
    suppressed = n < max(min_n, 1)
    half = (high - low) / 2.0
    wide = ~suppressed & ~(half <= tolerance)  # a NaN interval (n < 2) is not credible either
    reason = np.full(len(n), None, dtype=object)
    reason[wide] = [
        "no interval (fewer than 2 answers)"
        if np.isnan(h)
        else f"95% interval ±{h:.3g} > ±{tolerance:g}"
        for h in half[wide]
    ]
    reason[suppressed] = [
        "no answers" if k == 0 else f"n={k} below the minimum of {min_n}" for k in n[suppressed]
    ]
    return pd.DataFrame(
        {
            "unit_id": scorecard["unit_id"].astype(str).to_numpy(),
            "level": scorecard["level"].to_numpy(),
            "period": scorecard["period"].to_numpy(),
            "metric": metric,
            "n": n,
            "estimate": np.where(suppressed, np.nan, estimate),
            "low": np.where(suppressed, np.nan, low),
            "high": np.where(suppressed, np.nan, high),
            "credible": ~suppressed & ~wide,
            "suppressed": suppressed,
            "reason": reason,
        }
    )


def assess_credibility(
    scorecard: pd.DataFrame,
    *,
    min_n: int = 5,
    precision: Precision | None = None,
    metrics: list[str] | None = None,
) -> pd.DataFrame:
    """One row per unit, period and metric (columns ``CREDIBILITY_COLUMNS``).

    ``suppressed`` when n < ``min_n``: estimate, low and high are null and ``reason`` says why.
    ``credible`` when not suppressed and the 95% interval's half-width is within ``precision``.
    """
    if min_n < 1:
        raise QueryError(f"min_n must be at least 1, got {min_n}")
    precision = precision or Precision()
    chosen = scorecard_metrics(scorecard) if metrics is None else metrics
    parts = [
        _assess_metric(scorecard, m, min_n, precision.of(metric_kind(scorecard, m))) for m in chosen
    ]
    if not parts:
        return pd.DataFrame(columns=CREDIBILITY_COLUMNS)
    return pd.concat(parts, ignore_index=True)[CREDIBILITY_COLUMNS]


def nps_variance(promoter_share: ArrayLike, detractor_share: ArrayLike) -> FloatArray:
    """Per-response variance of the +1/0/−1 score: ``p + d − (p − d)²`` (in score units²)."""
    p = np.asarray(promoter_share, dtype=np.float64)
    d = np.asarray(detractor_share, dtype=np.float64)
    return p + d - (p - d) ** 2


def nps_sample_size(
    variance: ArrayLike, change: float = 10.0, *, alpha: float = 0.05, power: float = 0.80
) -> NDArray[np.int64]:
    """Answers per period to detect ``change`` NPS points between two periods of equal n.

    ``n = (z_{1−α/2} + z_{power})² · 2σ² / δ²`` with δ = change / 100 and σ² the per-response
    variance (``nps_variance``), rounded up; two-sided z-test of the difference at level α.
    """
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise QueryError(f"alpha and power must lie in (0, 1), got {alpha} and {power}")
    if change <= 0:
        raise QueryError(f"change must be positive (NPS points), got {change}")
    z = float(special.ndtri(1 - alpha / 2) + special.ndtri(power))
    delta = change / 100.0
    n = np.ceil(z**2 * 2.0 * np.asarray(variance, dtype=np.float64) / delta**2 - 1e-9)
    return np.maximum(n, 1).astype(np.int64)


def _unit_totals(scorecard: pd.DataFrame) -> pd.DataFrame:
    cols = ["n", "promoters", "detractors", "responses", "invitations"]
    frame = scorecard[["unit_id", "level", "period", *cols]].copy()
    frame[cols] = frame[cols].fillna(0)
    totals = frame.groupby(["unit_id", "level"], as_index=False, sort=True).agg(
        periods=("period", "nunique"), **{c: (c, "sum") for c in cols}
    )
    return totals


def _shares(totals: pd.DataFrame, pool_below: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Promoter and detractor shares: the unit's own, or its level's pooled ones for small n."""
    pooled = totals.groupby("level")[["n", "promoters", "detractors"]].transform("sum")
    own = totals["n"].to_numpy(dtype=np.float64) >= max(pool_below, 1)
    use = {c: np.where(own, totals[c], pooled[c]).astype(np.float64) for c in pooled.columns}
    with np.errstate(invalid="ignore", divide="ignore"):
        p, d = use["promoters"] / use["n"], use["detractors"] / use["n"]
    return p, d, own.astype(np.float64)


def _feasibility(
    needed: NDArray[np.int64],
    invitations: FloatArray,
    current: FloatArray,
    realistic: float,
    unknown: NDArray[np.bool_],
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """The implied response rate and whether it is realistic."""
    with np.errstate(invalid="ignore", divide="ignore"):
        implied = np.where((invitations > 0) & ~unknown, needed / invitations, np.nan)
    return implied, implied <= realistic


def _periods_to(needed: FloatArray, per_period: FloatArray) -> list[int | None]:
    """Whole periods that pool ``needed`` answers at ``per_period`` a period (None: never)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.ceil(needed / per_period - 1e-9)
    return [int(x) if np.isfinite(x) and x >= 1 else (1 if x < 1 else None) for x in k]


def _windows(
    needed: FloatArray,
    per_period: FloatArray,
    invitations: FloatArray,
    realistic: float,
    grain: str,
) -> tuple[list[int | None], list[int | None], list[str | None]]:
    """What the unit can do with the invitations it gets: at today's answers per period, the
    rolling window (periods of ``grain``) and the shortest calendar grain that reach ``needed``;
    the window at the realistic response rate."""
    window = _periods_to(needed, per_period)
    at_realistic = _periods_to(needed, invitations * realistic)
    per_day = per_period / GRAIN_DAYS[grain]
    grains: list[str | None] = []
    for want, rate in zip(needed, per_day, strict=True):
        fits = [g for g, days in GRAIN_DAYS.items() if rate * days >= want]
        grains.append(None if np.isnan(want) else fits[0] if fits else "longer than a year")
    return window, at_realistic, grains


def _verdicts(
    frame: pd.DataFrame, realistic: float, unknown: NDArray[np.bool_], grain: str
) -> list[str]:
    """The verdict in words, with what is possible where one period is not enough."""
    rows = zip(
        frame["needed"].astype(object),
        frame["invitations_per_period"].to_numpy(np.float64),
        frame["implied_response_rate"].to_numpy(np.float64),
        frame["response_rate"].to_numpy(np.float64),
        _possible(frame["window"], frame["credible_grain"], grain),
        unknown,
        strict=True,
    )
    reasons = []
    for k, inv, rate, now, possible, no_variance in rows:
        if no_variance:
            reasons.append("no NPS answers at this level to estimate the variance from")
        elif np.isnan(rate):
            reasons.append(f"needs {k} answers a {grain}; no invitations loaded to judge the rate")
        elif rate <= realistic:
            reasons.append(f"achievable: a {rate:.0%} response rate (now {now:.0%})")
        elif rate > 1:
            reasons.append(
                f"impossible: {k} answers a {grain} from {inv:.0f} invitations is a {rate:.0%} "
                f"response rate; {possible}; or send more invitations"
            )
        else:
            reasons.append(
                f"unrealistic: a {rate:.0%} response rate (now {now:.0%}) is above the realistic "
                f"{realistic:.0%}; {possible}; or send more invitations"
            )
    return reasons


def _possible(windows: pd.Series, grains: pd.Series, grain: str) -> list[str]:
    """What each unit's answers support now: a rolling window, or a longer grain."""
    out = []
    for window, shortest in zip(windows, grains, strict=True):
        if window is None:
            out.append("no answers now to pool over a longer window")
            continue
        text = f"at today's response rate a rolling {window}-{grain} window gets there"
        if shortest in ("week", "month", "quarter") and shortest != grain:
            text += f" (or by {shortest})"
        out.append(text)
    return out


def responses_needed(
    scorecard: pd.DataFrame,
    *,
    change: float = 10.0,
    alpha: float = 0.05,
    power: float = 0.80,
    pool_below: int = 100,
    realistic_rate: float = 0.5,
    grain: str = "month",
) -> pd.DataFrame:
    """Per unit (columns ``NEEDED_COLUMNS``): answers per period to detect ``change`` NPS points.

    The variance comes from the unit's promoter and detractor shares over every period in the
    frame, or from its level's pooled shares when the unit has fewer than ``pool_below`` answers
    (``variance_from``). ``implied_response_rate`` = needed ÷ invitations per period; ``feasible``
    is False when it exceeds ``realistic_rate`` (and ``reason`` says *impossible* above 100%).
    ``grain`` is the scorecard's period (``week``, ``month``, ``quarter``): ``window`` is the
    number of such periods whose answers, at today's rate, reach ``needed`` (a rolling window
    compared with the one before it), ``window_at_realistic_rate`` the same at ``realistic_rate``
    of today's invitations, ``credible_grain`` the shortest of week, month, quarter, year that
    reaches it at today's rate.
    """
    totals = _unit_totals(scorecard)
    p, d, own = _shares(totals, pool_below)
    variance = nps_variance(p, d)
    needed = nps_sample_size(np.nan_to_num(variance), change, alpha=alpha, power=power)
    periods = totals["periods"].to_numpy(dtype=np.float64)
    invitations = totals["invitations"].to_numpy(dtype=np.float64) / periods
    with np.errstate(invalid="ignore", divide="ignore"):
        current = totals["responses"].to_numpy(dtype=np.float64) / (periods * invitations)
    unknown = np.isnan(variance)
    implied, feasible = _feasibility(needed, invitations, current, realistic_rate, unknown)
    per_period = totals["n"].to_numpy(dtype=np.float64) / periods
    wanted = np.where(unknown, np.nan, needed.astype(np.float64))
    window, at_realistic, grains = _windows(wanted, per_period, invitations, realistic_rate, grain)
    out = pd.DataFrame(
        {
            "unit_id": totals["unit_id"].astype(str),
            "level": totals["level"],
            "periods": totals["periods"].astype("int64"),
            "n": totals["n"].astype("int64"),
            "responses_per_period": per_period,
            "promoter_share": p,
            "detractor_share": d,
            "variance_from": np.where(own > 0, "own", "pooled"),
            "sd": 100.0 * np.sqrt(variance),
            "change": float(change),
            "needed": pd.Series(needed, dtype="Int64").mask(unknown),
            "enough_now": (per_period >= needed) & ~unknown,
            "invitations_per_period": np.where(invitations > 0, invitations, np.nan),
            "response_rate": np.where(invitations > 0, current, np.nan),
            "implied_response_rate": implied,
            "feasible": feasible,
            "window": pd.Series(window, dtype=object),
            "window_at_realistic_rate": pd.Series(at_realistic, dtype=object),
            "credible_grain": grains,
        }
    )
    out["reason"] = _verdicts(out, realistic_rate, unknown, grain)
    return out[NEEDED_COLUMNS]

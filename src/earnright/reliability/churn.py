"""Extra churn from counts: one episode's effect with its interval, and the pool of many.

An exposure's extra churn is c = 1 − r_exposed / r_control (r: the share that stayed), exactly
(p_e − p_c) / (1 − p_c) of the churned shares, with Katz's 95% interval on the log retention
ratio (:func:`extra_churn_interval`). Earlier episodes are pooled by DerSimonian–Laird on that
log ratio (:func:`pool_extra_churn`), the same indicator's first (:func:`pool_history`). Numpy
only, on counts: ``earnright.reliability.revenue`` measures the counts. Definitions and the
accuracy measured on the demo: docs/revenue-at-risk.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np

from earnright.stats import Z95

__all__ = [
    "ChurnEffect",
    "PooledChurn",
    "extra_churn_interval",
    "pool_extra_churn",
    "pool_history",
]


@dataclass(frozen=True)
class ChurnEffect:
    """The measured extra churn of one exposure: counts, shares, c and its 95% interval.

    ``log_retention`` = log(r_exposed / r_control) = log(1 − c) and ``variance`` its delta-method
    variance: what :func:`pool_extra_churn` pools. ``extra_churn`` is unclipped (it is negative
    when the exposed churned less than the control).
    """

    exposed: int
    exposed_churned: int
    control: int
    control_churned: int
    p_exposed: float
    p_control: float
    extra_churn: float
    extra_churn_low: float
    extra_churn_high: float
    log_retention: float
    variance: float
    follow_up_start: datetime
    follow_up_end: datetime
    indicator: str = ""

    @classmethod
    def from_counts(
        cls,
        counts: tuple[int, int, int, int],
        follow_up: tuple[datetime, datetime],
        indicator: str = "",
    ) -> ChurnEffect:
        """From (exposed churned, exposed, control churned, control) and the follow-up window."""
        k_e, n_e, k_c, n_c = counts
        c, low, high = extra_churn_interval(k_e, n_e, k_c, n_c)
        theta, var = _log_retention(*(np.array(x) for x in counts))
        return cls(
            exposed=n_e,
            exposed_churned=k_e,
            control=n_c,
            control_churned=k_c,
            p_exposed=k_e / n_e,
            p_control=k_c / n_c,
            extra_churn=float(c),
            extra_churn_low=float(low),
            extra_churn_high=float(high),
            log_retention=float(theta),
            variance=float(var),
            follow_up_start=follow_up[0],
            follow_up_end=follow_up[1],
            indicator=indicator,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["follow_up_start"] = self.follow_up_start.isoformat()
        out["follow_up_end"] = self.follow_up_end.isoformat()
        return out


@dataclass(frozen=True)
class PooledChurn:
    """The pooled extra churn of several episodes (DerSimonian–Laird random effects).

    ``extra_churn_low/high`` is the 95% interval of the mean effect; ``prediction_low/high`` the
    95% interval of a new episode's effect (wider by the between-episode variance ``tau2`` on the
    log retention scale; equal to the former when the episodes agree).
    """

    extra_churn: float
    extra_churn_low: float
    extra_churn_high: float
    prediction_low: float
    prediction_high: float
    tau2: float
    episodes: int


def _log_retention(
    k_e: np.ndarray, n_e: np.ndarray, k_c: np.ndarray, n_c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log(r_e / r_c) and its delta-method variance; 0.5 added to every cell of a zero cell."""
    k_e, n_e, k_c, n_c = (np.asarray(a, dtype=float) for a in (k_e, n_e, k_c, n_c))
    zero = (k_e == 0) | (k_e == n_e) | (k_c == 0) | (k_c == n_c)
    half = np.where(zero, 0.5, 0.0)
    k_e, k_c = k_e + half, k_c + half
    n_e, n_c = n_e + 2 * half, n_c + 2 * half
    theta = np.log((n_e - k_e) / n_e) - np.log((n_c - k_c) / n_c)
    variance = k_e / (n_e * (n_e - k_e)) + k_c / (n_c * (n_c - k_c))
    return theta, variance


def extra_churn_interval(
    exposed_churned: Any, exposed: Any, control_churned: Any, control: Any, z: float = Z95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extra churn c = 1 − r_exposed / r_control and its interval (vectorised).

    c is exactly (p_e − p_c) / (1 − p_c) of the observed shares. The interval is Katz's: the
    delta method on log(r_e / r_c), whose variance is p_e / (n_e r_e) + p_c / (n_c r_c); with a
    zero cell (nobody or everybody churned in a group) 0.5 is added to every cell first.
    """
    k_e, n_e = np.asarray(exposed_churned, float), np.asarray(exposed, float)
    k_c, n_c = np.asarray(control_churned, float), np.asarray(control, float)
    estimate = (k_e / n_e - k_c / n_c) / (1.0 - k_c / n_c)
    theta, variance = _log_retention(k_e, n_e, k_c, n_c)
    se = np.sqrt(variance)
    return estimate, 1.0 - np.exp(theta + z * se), 1.0 - np.exp(theta - z * se)


def pool_extra_churn(effects: Sequence[ChurnEffect]) -> PooledChurn | None:
    """DerSimonian–Laird pool of the log retention ratios; None without effects.

    With one effect, or when the episodes agree (Cochran's Q ≤ its degrees of freedom), this is
    the inverse-variance (fixed-effect) pool.
    """
    if not effects:
        return None
    theta = np.array([e.log_retention for e in effects])
    var = np.array([e.variance for e in effects])
    w = 1.0 / var
    fixed = float((w * theta).sum() / w.sum())
    q = float((w * (theta - fixed) ** 2).sum())
    scale = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = max(0.0, (q - (len(effects) - 1)) / scale) if scale > 0 else 0.0
    w_star = 1.0 / (var + tau2)
    mean = float((w_star * theta).sum() / w_star.sum())
    se = float(np.sqrt(1.0 / w_star.sum()))
    spread = float(np.sqrt(se**2 + tau2))
    return PooledChurn(
        extra_churn=1.0 - np.exp(mean),
        extra_churn_low=1.0 - np.exp(mean + Z95 * se),
        extra_churn_high=1.0 - np.exp(mean - Z95 * se),
        prediction_low=1.0 - np.exp(mean + Z95 * spread),
        prediction_high=1.0 - np.exp(mean - Z95 * spread),
        tau2=tau2,
        episodes=len(effects),
    )


def pool_history(history: Sequence[ChurnEffect], indicator: str = "") -> PooledChurn | None:
    """Pool the measured effects of the episodes of ``indicator`` if there are any, else of all
    of them (:func:`pool_extra_churn`); None without any. Numpy only: nothing is re-measured."""
    same = [e for e in history if indicator and e.indicator == indicator]
    return pool_extra_churn(same or list(history))

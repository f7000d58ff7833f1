"""What customers are worth: fit BG/NBD and Gamma-Gamma to purchase summaries and score them.

:func:`value_customers` takes the per-customer summaries of
:func:`earnright.customers.histories.purchase_summaries`, fits both models
(:mod:`earnright.customers.clv`) and returns a :class:`ClvReport`:

- ``params`` (r, alpha, a, b) and ``gamma_gamma`` (p, q, gamma), with log-likelihoods;
- per unit: customers, the share still alive, expected purchases in the next 12 months, and the
  mean and total lifetime value (expected spend over ``months``, discounted monthly), with 95%
  intervals from the fits' uncertainty (``draws`` parameter sets from their observed
  information; a customer's own spread is not in them);
- ``holdout``: when purchases follow the calibration period, the repeat purchase days there
  against the model's conditional expectation, overall and by calibration repeat purchases
  (0 … 6, 7+), as Fader, Hardie & Lee show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from earnright.customers.clv import (
    WEEKS_PER_MONTH,
    BgNbd,
    GammaGamma,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    lifetime_value,
    probability_alive,
)

__all__ = ["UNIT_COLUMNS", "ClvReport", "value_customers"]

UNIT_COLUMNS = [
    "unit_id",
    "customers",
    "alive",
    "purchases_12m",
    "purchases_12m_low",
    "purchases_12m_high",
    "clv_mean",
    "clv_mean_low",
    "clv_mean_high",
    "clv_total",
    "clv_total_low",
    "clv_total_high",
]
_YEAR_WEEKS = 12 * WEEKS_PER_MONTH


@dataclass
class ClvReport:
    """The fitted models, the value per unit and the holdout comparison (module doc)."""

    bg: BgNbd
    gg: GammaGamma
    units: pd.DataFrame
    calibration_end: str
    months: int
    discount: float
    holdout: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        r = lambda v: round(float(v), 6)  # noqa: E731
        return {
            "calibration_end": self.calibration_end,
            "customers": self.bg.customers,
            "repeat_buyers": self.gg.customers,
            "params": {k: r(getattr(self.bg, k)) for k in ("r", "alpha", "a", "b")},
            "gamma_gamma": {k: r(getattr(self.gg, k)) for k in ("p", "q", "gamma")},
            "log_likelihood": {
                "bg_nbd": r(self.bg.log_likelihood),
                "gamma_gamma": r(self.gg.log_likelihood),
            },
            "months": self.months,
            "discount": self.discount,
            "holdout": self.holdout,
            "units": [
                {
                    k: None if isinstance(v, float) and not np.isfinite(v) else v
                    for k, v in row.items()
                }
                for row in self.units.round(6).to_dict(orient="records")
            ],
        }


def _fit_grouped(s: pd.DataFrame) -> BgNbd:
    """BG/NBD fitted once per distinct (x, t_x, T), weighted by its customers."""
    grouped = s.groupby(["x", "t_x", "T"], sort=True).size().reset_index(name="n")
    return fit_bgnbd(*(grouped[c].to_numpy(float) for c in ("x", "t_x", "T", "n")))


def _columns(s: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return tuple(s[c].to_numpy(float) for c in ("x", "t_x", "T", "m"))  # type: ignore[return-value]


def _per_unit(
    s: pd.DataFrame, bgs: np.ndarray, ggs: np.ndarray, months: int, discount: float
) -> pd.DataFrame:
    """Per unit: customers, alive share, 12-month purchases, mean and total value; the first
    parameter set is the estimate, the others give the 2.5% and 97.5% bounds."""
    cols = _columns(s)
    x, t_x, T, _ = cols
    units = s["unit_id"].astype(str).to_numpy()
    codes, names = pd.factorize(units, sort=True)
    count = np.bincount(codes, minlength=len(names)).astype(float)
    draws_p, draws_v = [], []
    distinct, inverse = np.unique(np.column_stack([x, t_x, T]), axis=0, return_inverse=True)
    for bg, gg in zip(bgs, ggs, strict=True):
        buys = expected_purchases(bg, _YEAR_WEEKS, *distinct.T)[inverse.ravel()]
        value = lifetime_value(bg, gg, cols, months=months, discount=discount)
        draws_p.append(np.bincount(codes, weights=buys, minlength=len(names)))
        draws_v.append(np.bincount(codes, weights=value, minlength=len(names)))
    p, v = np.array(draws_p), np.array(draws_v)
    alive = np.bincount(codes, probability_alive(bgs[0], x, t_x, T), minlength=len(names))
    # a draw with q ≤ 1 has no finite mean spend (NaN): the bounds leave it out
    lo = lambda a: np.nanpercentile(a[1:], 2.5, axis=0)  # noqa: E731
    hi = lambda a: np.nanpercentile(a[1:], 97.5, axis=0)  # noqa: E731
    many = len(bgs) > 1
    return pd.DataFrame(
        {
            "unit_id": names,
            "customers": count.astype(np.int64),
            "alive": alive / count,
            "purchases_12m": p[0],
            "purchases_12m_low": lo(p) if many else np.nan,
            "purchases_12m_high": hi(p) if many else np.nan,
            "clv_mean": v[0] / count,
            "clv_mean_low": lo(v) / count if many else np.nan,
            "clv_mean_high": hi(v) / count if many else np.nan,
            "clv_total": v[0],
            "clv_total_low": lo(v) if many else np.nan,
            "clv_total_high": hi(v) if many else np.nan,
        },
        columns=UNIT_COLUMNS,
    )


def _holdout(s: pd.DataFrame, bg: BgNbd, weeks: float) -> dict[str, Any]:
    """Actual repeat purchase days after the calibration against the conditional expectation."""
    x, t_x, T, _ = _columns(s)
    predicted = expected_purchases(bg.values, weeks, x, t_x, T)
    actual = s["holdout"].to_numpy(float)
    rows = []
    for k in range(8):
        sel = x == k if k < 7 else x >= 7
        if sel.any():
            rows.append(
                {
                    "x": str(k) if k < 7 else "7+",
                    "customers": int(sel.sum()),
                    "actual": round(float(actual[sel].mean()), 6),
                    "predicted": round(float(predicted[sel].mean()), 6),
                }
            )
    return {
        "weeks": round(weeks, 4),
        "actual": int(actual.sum()),
        "predicted": round(float(predicted.sum()), 3),
        "by_repeat_purchases": rows,
    }


def value_customers(
    summaries: pd.DataFrame,
    calibration_end: str,
    *,
    holdout_weeks: float = 0.0,
    months: int = 36,
    discount: float = 0.01,
    draws: int = 100,
    seed: int = 0,
) -> ClvReport:
    """Fit both models to ``summaries`` (with ``unit_id``) and value every unit (module doc)."""
    bg = _fit_grouped(summaries)
    repeat = summaries[summaries.x > 0]
    gg = fit_gamma_gamma(repeat.x.to_numpy(float), repeat.m.to_numpy(float))
    rng = np.random.default_rng(seed)
    bgs = np.vstack([bg.values, bg.draw(draws, rng)]) if draws else bg.values[None, :]
    ggs = np.vstack([gg.values, gg.draw(draws, rng)]) if draws else gg.values[None, :]
    units = _per_unit(summaries, bgs, ggs, months, discount)
    notes = []
    if gg.q <= 1:
        notes.append("the spend per purchase has no finite mean (q ≤ 1): values are empty")
    report = ClvReport(bg, gg, units, calibration_end, months, discount, notes=notes)
    if holdout_weeks > 0:
        report.holdout = _holdout(summaries, bg, holdout_weeks)
    return report

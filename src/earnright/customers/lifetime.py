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
from scipy import sparse

from earnright.customers.clv import (
    WEEKS_PER_MONTH,
    BgNbd,
    GammaGamma,
    discounted_if_alive,
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    probability_alive,
    purchases_if_alive,
)

__all__ = ["UNIT_COLUMNS", "ClvReport", "fit_models", "score_customers", "value_customers"]

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
    grouped = s.groupby(["x", "t_x", "T"], sort=False).size().reset_index(name="n")
    return fit_bgnbd(*(grouped[c].to_numpy(float) for c in ("x", "t_x", "T", "n")))


def _columns(s: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return tuple(s[c].to_numpy(float) for c in ("x", "t_x", "T", "m"))  # type: ignore[return-value]


@dataclass(frozen=True)
class _Scoring:
    """Customers grouped for scoring: the distinct (x, t_x, T) keys, the distinct (x, T) of
    each key (the expensive hypergeometric part depends on those alone), and per unit × key the
    customers and the sum of their mean spend (value is linear in it), as sparse matrices."""

    keys: np.ndarray  # (k, 3): x, t_x, T
    xt: np.ndarray  # (j, 2): x, T
    key_xt: np.ndarray  # the (x, T) row of each key
    count: sparse.csr_matrix  # units × keys
    spend: sparse.csr_matrix  # units × keys: Σ m
    names: np.ndarray

    @classmethod
    def of(cls, s: pd.DataFrame) -> _Scoring:
        groups = s.groupby(["x", "t_x", "T"], sort=True)
        inverse = groups.ngroup().to_numpy()
        keys = groups.size().index.to_frame().to_numpy(float)
        xt, key_xt = np.unique(keys[:, [0, 2]], axis=0, return_inverse=True)
        codes, names = pd.factorize(s["unit_id"].astype(str).to_numpy(), sort=True)
        shape, at = (len(names), len(keys)), (codes, inverse)
        count = sparse.coo_matrix((np.ones(len(s)), at), shape=shape).tocsr()
        spend = sparse.coo_matrix((s["m"].to_numpy(float), at), shape=shape).tocsr()
        return cls(keys, xt, key_xt.ravel(), count, spend, np.asarray(names))

    def per_unit(
        self, bg: np.ndarray, gg: np.ndarray, months: int, discount: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per unit: the sum of P(alive), expected purchases in 12 months, lifetime value."""
        x, t_x, T = self.keys.T
        alive = probability_alive(bg, x, t_x, T)
        year = purchases_if_alive(bg, _YEAR_WEEKS, *self.xt.T)[self.key_xt] * alive
        future = discounted_if_alive(bg, *self.xt.T, months=months, discount=discount)
        found = future[self.key_xt] * alive
        # expected spend per purchase p(γ + x m)/(px + q − 1) is linear in m
        p, q, g = gg
        scale = p / (p * x + q - 1) if q > 1 else np.full(len(x), np.nan)
        value = self.count @ (found * scale * g) + self.spend @ (found * scale * x)
        return self.count @ alive, self.count @ year, value


def _percentile(draws: np.ndarray, q: float) -> np.ndarray:
    """The ``q``-th percentile per unit (column) of the draws (rows) that are finite."""
    finite = draws[np.all(np.isfinite(draws), axis=1)]
    if not len(finite):
        return np.full(draws.shape[1], np.nan)
    return np.asarray(np.percentile(finite, q, axis=0))


def _per_unit(
    s: pd.DataFrame, bgs: np.ndarray, ggs: np.ndarray, months: int, discount: float
) -> pd.DataFrame:
    """Per unit: customers, alive share, 12-month purchases, mean and total value; the first
    parameter set is the estimate, the others give the 2.5% and 97.5% bounds."""
    scoring = _Scoring.of(s)
    count = np.asarray(scoring.count.sum(axis=1)).ravel()
    draws = [scoring.per_unit(bg, gg, months, discount) for bg, gg in zip(bgs, ggs, strict=True)]
    alive = draws[0][0]
    p, v = np.array([d[1] for d in draws]), np.array([d[2] for d in draws])
    # a draw with q ≤ 1 has no finite mean spend (NaN for every unit): the bounds leave it out
    lo = lambda a: _percentile(a[1:], 2.5)  # noqa: E731
    hi = lambda a: _percentile(a[1:], 97.5)  # noqa: E731
    many = len(bgs) > 1
    return pd.DataFrame(
        {
            "unit_id": scoring.names,
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


def fit_models(summaries: pd.DataFrame) -> tuple[BgNbd, GammaGamma]:
    """BG/NBD on every customer's (x, t_x, T), Gamma-Gamma on the repeat buyers' (x, m)."""
    bg = _fit_grouped(summaries)
    repeat = summaries[summaries.x > 0]
    return bg, fit_gamma_gamma(repeat.x.to_numpy(float), repeat.m.to_numpy(float))


def score_customers(
    summaries: pd.DataFrame, bg: np.ndarray, gg: np.ndarray, *, months: int, discount: float
) -> pd.DataFrame:
    """Each customer's ``alive`` (P(alive)), ``purchases_12m`` and ``ltv`` (expected spend over
    ``months``, discounted ``discount`` a month), added to ``summaries``."""
    x, t_x, T, m = _columns(summaries)
    xt, inverse = np.unique(np.column_stack([x, T]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    alive = probability_alive(bg, x, t_x, T)
    year = purchases_if_alive(bg, _YEAR_WEEKS, *xt.T)[inverse] * alive
    future = discounted_if_alive(bg, *xt.T, months=months, discount=discount)[inverse] * alive
    return summaries.assign(alive=alive, purchases_12m=year, ltv=future * expected_spend(gg, x, m))


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
    bg, gg = fit_models(summaries)
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

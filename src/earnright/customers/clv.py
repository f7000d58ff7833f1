"""Customer lifetime value: BG/NBD for purchase counts, Gamma-Gamma for spend per purchase.

Both are fitted by maximum likelihood (scipy) from per-customer summaries the engine aggregates
(:mod:`earnright.customers.histories`), in weeks:

- ``x`` — repeat purchases (purchase days after the first) in the calibration period;
- ``t_x`` — weeks from the first purchase to the last; ``T`` — weeks from the first purchase to
  the end of the calibration period;
- ``m`` — mean spend of the repeat purchases (0 when x = 0).

**BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a
customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase they drop out with
probability p ~ Beta(a, b). Log-likelihood of a customer::

    ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
      + ln[ (α+T)^−(r+x) + 1{x>0} · a/(b+x−1) · (α+t_x)^−(r+x) ]

**Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"): spend per purchase is Gamma(p, ν),
ν ~ Gamma(q, γ), independent of the purchase process; fitted on the repeat buyers, from ``x`` and
``m``. Expected spend per purchase: ``p (γ + x m) / (p x + q − 1)`` (q > 1).

Customers with identical summaries are fitted once, weighted by their number (so millions of
customers fit in seconds). Standard errors come from the observed information (a numerical
Hessian of the log-likelihood in log-parameters); value intervals draw parameters from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from earnright.errors import QueryError

__all__ = [
    "WEEKS_PER_MONTH",
    "BgNbd",
    "GammaGamma",
    "discounted_purchases",
    "expected_purchases",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "lifetime_value",
    "probability_alive",
]

WEEKS_PER_MONTH = 365.25 / 12 / 7


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters, the log-likelihood and the covariance of their logarithms."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int
    cov: np.ndarray

    @property
    def values(self) -> np.ndarray:
        return np.array([self.r, self.alpha, self.a, self.b])

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` parameter sets from the fit's asymptotic normal (in log-parameters)."""
        return _draw(self.values, self.cov, n, rng)


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters (p, q, gamma), the log-likelihood, repeat buyers fitted."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    customers: int
    cov: np.ndarray

    @property
    def values(self) -> np.ndarray:
        return np.array([self.p, self.q, self.gamma])

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return _draw(self.values, self.cov, n, rng)


def _draw(values: np.ndarray, cov: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if not np.all(np.isfinite(cov)):
        return np.tile(values, (n, 1))
    return np.exp(rng.multivariate_normal(np.log(values), cov, size=n))


def _bgnbd_ll(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full(len(x), -np.inf)
    a4[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def _fit(
    loglik: Callable[[np.ndarray], np.ndarray], start: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """Maximise sum(weights × loglik(exp(θ))) over θ = log-parameters; (params, ll, cov θ)."""

    def negative(theta: np.ndarray) -> float:
        value = float(np.dot(weights, loglik(np.exp(theta))))
        return -value if np.isfinite(value) else 1e300

    simplex = {"xatol": 1e-7, "fatol": 1e-7, "maxiter": 20_000}
    found = optimize.minimize(negative, np.log(start), method="Nelder-Mead", options=simplex)
    found = optimize.minimize(negative, found.x, method="BFGS", options={"gtol": 1e-6})
    cov = _covariance(negative, found.x)
    return np.exp(found.x), -float(found.fun), cov


def _covariance(
    negative: Callable[[np.ndarray], float], theta: np.ndarray, step: float = 1e-4
) -> np.ndarray:
    """The inverse of the numerical Hessian of ``negative`` at ``theta`` (central differences)."""
    k = len(theta)
    hess = np.empty((k, k))
    f = negative
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            value = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * step * step)
            hess[i, j] = hess[j, i] = value
    try:
        return np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan)


def fit_bgnbd(x: Any, t_x: Any, T: Any, weights: Any = None) -> BgNbd:
    """BG/NBD by maximum likelihood from summaries (weeks); ``weights``: customers per row."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    if w.sum() < 2 or not np.any(x > 0):
        raise QueryError(
            "too few purchase histories to fit lifetime value: it needs customers who bought "
            "again within the calibration period",
            argument="calibration_end",
        )
    params, ll, cov = _fit(lambda p: _bgnbd_ll(p, x, t_x, T), np.array([1.0, 1.0, 1.0, 1.0]), w)
    r, alpha, a, b = (float(v) for v in params)
    return BgNbd(r, alpha, a, b, log_likelihood=ll, customers=int(w.sum()), cov=cov)


def _gg_ll(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    p, q, g = params
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + m * x)
    )


def fit_gamma_gamma(x: Any, m: Any) -> GammaGamma:
    """Gamma-Gamma by maximum likelihood on the repeat buyers (x > 0, mean spend m > 0)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x > 0) & (m > 0)
    if keep.sum() < 2:
        raise QueryError(
            "too few repeat buyers with spend to fit the spend per purchase",
            argument="calibration_end",
        )
    x, m = x[keep], m[keep]
    start = np.array([1.0, 1.0, float(np.mean(m))])
    params, ll, cov = _fit(lambda p: _gg_ll(p, x, m), start, np.ones(len(x)))
    p, q, g = (float(v) for v in params)
    return GammaGamma(p, q, g, log_likelihood=ll, customers=int(keep.sum()), cov=cov)


def probability_alive(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(still a customer at T | x, t_x, T) under BG/NBD."""
    r, alpha, a, b = params
    ratio = np.where(x > 0, a / np.maximum(b + x - 1, 1e-12), 0.0)
    odds = ratio * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return 1.0 / (1.0 + odds)


def expected_purchases(
    params: np.ndarray, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] under BG/NBD (Fader, Hardie & Lee 2005, eq. 10)."""
    r, alpha, a, b = params
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
    ratio = np.where(x > 0, a / np.maximum(b + x - 1, 1e-12), 0.0)
    odds = ratio * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.asarray(head * tail / (1 + odds))


def expected_spend(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[spend per purchase | x, m] under Gamma-Gamma (the population mean pγ/(q−1) at x = 0)."""
    p, q, g = params
    if q <= 1:
        return np.full(len(x), np.nan)
    return np.asarray(p * (g + x * m) / (p * x + q - 1))


def lifetime_value(
    bg: np.ndarray,
    gg: np.ndarray,
    summaries: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    months: int = 36,
    discount: float = 0.01,
) -> np.ndarray:
    """Each customer's lifetime value: expected spend over the next ``months``, each month's
    expected purchases × expected spend per purchase, discounted by ``discount`` a month."""
    x, t_x, T, m = summaries
    found = discounted_purchases(bg, (x, t_x, T), months=months, discount=discount)
    return np.asarray(found * expected_spend(gg, x, m))


def discounted_purchases(
    bg: np.ndarray,
    summaries: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    months: int = 36,
    discount: float = 0.01,
) -> np.ndarray:
    """Each customer's expected purchases over the next ``months``, each month's discounted by
    ``discount`` a month; computed once per distinct (x, t_x, T)."""
    keys, inverse = np.unique(np.column_stack(summaries), axis=0, return_inverse=True)
    x, t_x, T = keys.T
    total, before = np.zeros(len(x)), np.zeros(len(x))
    for k in range(1, months + 1):
        upto = expected_purchases(bg, k * WEEKS_PER_MONTH, x, t_x, T)
        total += (upto - before) / (1 + discount) ** k
        before = upto
    return np.asarray(total[inverse.ravel()])

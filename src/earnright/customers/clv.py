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
    "SummaryRows",
    "bgnbd_log_likelihood",
    "discounted_if_alive",
    "discounted_purchases",
    "expected_purchases",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "lifetime_value",
    "probability_alive",
    "purchases_if_alive",
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


class SummaryRows:
    """Summary rows with their weights (customers per row) and their distinct x: terms that
    depend on x alone are computed once per value and weighted by its customers."""

    def __init__(self, x: np.ndarray, weights: np.ndarray, **columns: np.ndarray) -> None:
        self.x, self.w, self.columns = x, weights, columns
        self.ux, inverse = np.unique(x, return_inverse=True)
        self.ix = inverse.ravel()
        self.wx = np.bincount(self.ix, weights=weights, minlength=len(self.ux))

    def by_x(self, values: np.ndarray) -> np.ndarray:
        """Σ weights × ``values`` per distinct x."""
        return np.bincount(self.ix, weights=self.w * values, minlength=len(self.ux))


def bgnbd_log_likelihood(params: np.ndarray, rows: SummaryRows) -> tuple[float, np.ndarray]:
    """The summed BG/NBD log-likelihood and its gradient in the log-parameters."""
    r, alpha, a, b = params
    x, t_x, T = rows.x, rows.columns["t_x"], rows.columns["T"]
    ux, w = rows.ux, rows.w
    ubx1 = np.where(ux > 0, b + ux - 1, 1.0)
    head = (
        special.gammaln(r + ux) - special.gammaln(r) + r * np.log(alpha)
        + special.betaln(a, b + ux) - special.betaln(a, b)
    )  # fmt: skip
    log_at, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    a3 = -(r + x) * log_at
    a4 = np.where(ux > 0, np.log(a) - np.log(ubx1), -np.inf)[rows.ix] - (r + x) * log_atx
    tail = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - tail), np.exp(a4 - tail)  # the shares of the two terms
    psi_ab = special.digamma(a + b) - special.digamma(a + b + ux)
    w4_x = rows.by_x(w4)
    grad = np.array(
        [
            rows.wx @ (special.digamma(r + ux) - special.digamma(r) + np.log(alpha))
            - w @ (w3 * log_at + w4 * log_atx),
            r / alpha * rows.wx.sum() - w @ ((r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))),
            rows.wx @ psi_ab + w4_x.sum() / a,
            rows.wx @ (psi_ab + special.digamma(b + ux) - special.digamma(b)) - w4_x @ (1 / ubx1),
        ]
    )  # fmt: skip
    return float(rows.wx @ head + w @ tail), grad * params


_Loglik = Callable[[np.ndarray], tuple[float, np.ndarray]]


def _fit(loglik: _Loglik, start: np.ndarray, total: float) -> tuple[np.ndarray, float, np.ndarray]:
    """Maximise loglik(exp(θ)) (the summed log-likelihood of ``total`` customers) over θ, the
    log-parameters, with its analytic gradient (BFGS, from the simplex's answer if BFGS alone
    stalls); (params, ll, cov θ)."""

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = loglik(np.exp(theta))
        if not (np.isfinite(ll) and np.all(np.isfinite(grad))):
            return 1e300, np.zeros(len(theta))
        return -ll / total, -grad / total

    found = optimize.minimize(negative, np.log(start), jac=True, method="BFGS",
                              options={"gtol": 1e-7})  # fmt: skip
    if not (found.success or "precision" in str(found.message)) or found.fun >= 1e299:
        simplex = {"xatol": 1e-7, "fatol": 1e-9, "maxiter": 20_000}
        plain = lambda theta: negative(theta)[0]  # noqa: E731
        found = optimize.minimize(plain, np.log(start), method="Nelder-Mead", options=simplex)
        found = optimize.minimize(negative, found.x, jac=True, method="BFGS",
                                  options={"gtol": 1e-7})  # fmt: skip
    cov = _covariance(lambda theta: negative(theta)[1] * total, found.x)
    return np.exp(found.x), -float(found.fun) * total, cov


def _covariance(
    gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, step: float = 1e-5
) -> np.ndarray:
    """The inverse of the Hessian of the negative log-likelihood at ``theta``, by central
    differences of its analytic ``gradient``."""
    k = len(theta)
    hess = np.empty((k, k))
    for i in range(k):
        e = np.eye(k)[i] * step
        hess[:, i] = (gradient(theta + e) - gradient(theta - e)) / (2 * step)
    hess = (hess + hess.T) / 2
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
    rows = SummaryRows(x, w, t_x=t_x, T=T)
    ones = np.array([1.0, 1.0, 1.0, 1.0])
    params, ll, cov = _fit(lambda p: bgnbd_log_likelihood(p, rows), ones, float(w.sum()))
    r, alpha, a, b = (float(v) for v in params)
    return BgNbd(r, alpha, a, b, log_likelihood=ll, customers=int(w.sum()), cov=cov)


def gamma_gamma_log_likelihood(params: np.ndarray, rows: SummaryRows) -> tuple[float, np.ndarray]:
    """The summed Gamma-Gamma log-likelihood of the repeat buyers and its gradient in the
    log-parameters."""
    p, q, g = params
    x, m, log_m = rows.x, rows.columns["m"], rows.columns["log_m"]
    ux = rows.ux
    upx = p * ux
    psi = special.digamma(upx + q)
    head = (
        special.gammaln(upx + q) - special.gammaln(upx) - special.gammaln(q)
        + q * np.log(g) + upx * np.log(ux)
    )  # fmt: skip
    gmx = g + m * x
    log_gmx = np.log(gmx)
    px = p * x
    ll = rows.wx @ head + rows.w @ ((px - 1) * log_m - (px + q) * log_gmx)
    grad = np.array(
        [
            rows.wx @ (ux * (psi - special.digamma(upx) + np.log(ux)))
            + rows.w @ (x * (log_m - log_gmx)),
            rows.wx @ (psi - special.digamma(q) + np.log(g)) - rows.w @ log_gmx,
            rows.wx.sum() * q / g - rows.w @ ((px + q) / gmx),
        ]
    )
    return float(ll), grad * params


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
    rows = SummaryRows(x, np.ones(len(x)), m=m, log_m=np.log(m))
    params, ll, cov = _fit(lambda p: gamma_gamma_log_likelihood(p, rows), start, float(len(x)))
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


def purchases_if_alive(
    params: np.ndarray, t: float | np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T + t] | alive at T, x, T]: the part of the conditional expectation
    that depends on x and T alone (times :func:`probability_alive`, it is the whole)."""
    r, alpha, a, b = params
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
    return np.asarray(head * tail)


def expected_purchases(
    params: np.ndarray, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] under BG/NBD (Fader, Hardie & Lee 2005, eq. 10)."""
    found = purchases_if_alive(params, t, x, T) * probability_alive(params, x, t_x, T)
    return np.asarray(found)


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
    ``discount`` a month: :func:`discounted_if_alive` once per distinct (x, T), times each
    customer's :func:`probability_alive`."""
    x, t_x, T = summaries
    keys, inverse = np.unique(np.column_stack([x, T]), axis=0, return_inverse=True)
    future = discounted_if_alive(bg, keys[:, 0], keys[:, 1], months=months, discount=discount)
    return np.asarray(future[inverse.ravel()] * probability_alive(bg, x, t_x, T))


def discounted_if_alive(
    bg: np.ndarray, x: np.ndarray, T: np.ndarray, *, months: int = 36, discount: float = 0.01
) -> np.ndarray:
    """Expected purchases over the next ``months`` of a customer alive at T with x repeat
    purchases, each month's discounted by ``discount`` a month."""
    total, before = np.zeros(len(x)), np.zeros(len(x))
    for k in range(1, months + 1):
        upto = purchases_if_alive(bg, k * WEEKS_PER_MONTH, x, T)
        total += (upto - before) / (1 + discount) ** k
        before = upto
    return total

"""Purchase histories drawn from the BG/NBD generative process, with the truth kept.

For tests and benchmarks that check the lifetime-value fit (:mod:`earnright.customers.clv`)
recovers what was planted, at any size: millions of customers are drawn with a handful of
vectorised numpy calls, no loop per customer.

While alive a customer buys at Poisson rate λ ~ Gamma(r, scale 1/α); after each repeat purchase
they drop out with probability p ~ Beta(a, b), so they make K ~ Geometric(p) repeat purchases in
all. With N(T) ~ Poisson(λT) the purchases a forever-alive customer would make by T, the
calibration count is x = min(N(T), K); given N(T) = n, purchase times are n uniform order
statistics on (0, T], so the last one counted, t_x, is T × Beta(x, n − x + 1). Alive at T means
N(T) < K; the alive make min(Poisson(λh), K − N(T)) purchases in the ``horizon`` h after T.
Ages T are whole days (a first purchase on a day, a calibration that ends at a day's end);
``days`` also floors the purchase times to days, as summaries of dated transactions are (a
small bias the continuous model does not know about: at millions of customers it shows).

``spend`` (p, q, gamma) plants Gamma-Gamma spend: each customer's ν ~ Gamma(q, scale 1/γ), and
the mean m of their x repeat purchases, each Gamma(p, scale 1/ν), is Gamma(px, scale 1/(νx)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PlantedHistories", "draw_histories"]


@dataclass(frozen=True)
class PlantedHistories:
    """Summaries (x, t_x, T in weeks; holdout purchases) and each customer's truth."""

    frame: pd.DataFrame
    alive: np.ndarray
    rate: np.ndarray
    dropout: np.ndarray


def draw_histories(
    params: tuple[float, float, float, float],
    n: int,
    ages: tuple[float, float],
    *,
    horizon: float = 0.0,
    spend: tuple[float, float, float] | None = None,
    days: bool = False,
    seed: int = 0,
) -> PlantedHistories:
    """``n`` customers with BG/NBD ``params`` (r, alpha, a, b; weeks) whose first purchase came
    between ``ages`` weeks before the calibration end (uniformly); module doc."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    big_t = np.floor(rng.uniform(ages[0], ages[1], n) * 7) / 7
    k = rng.geometric(np.clip(p, 1e-12, 1.0))
    reach = rng.poisson(lam * big_t)
    x = np.minimum(reach, k)
    t_x = np.zeros(n)
    some = x > 0
    t_x[some] = big_t[some] * rng.beta(x[some], reach[some] - x[some] + 1)
    if days:
        t_x = np.floor(t_x * 7) / 7
    alive = reach < k
    hold = np.where(alive, np.minimum(rng.poisson(lam * horizon), k - reach), 0)
    frame = pd.DataFrame({"x": x.astype(np.int64), "t_x": t_x, "T": big_t, "holdout": hold})
    if spend is not None:
        nu = rng.gamma(spend[1], 1 / spend[2], n)
        frame["m"] = np.where(some, rng.gamma(spend[0] * x.clip(1), 1 / (nu * x.clip(1))), 0.0)
    return PlantedHistories(frame, alive, lam, p)

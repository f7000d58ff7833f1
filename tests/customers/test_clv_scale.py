"""Lifetime value at the size of the 10,000-store demo: 3.7 million customers drawn from the
BG/NBD and Gamma-Gamma generative processes with planted parameters are fitted and scored by the
fast path (analytic gradients, terms computed once per distinct x, per distinct (x, T), and
per unit through sparse sums); the fit recovers the planted truth and the fast scoring equals
the plain customer-by-customer computation. Seconds are measured in bench/clv.py, not here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from earnright.customers.clv import (
    SummaryRows,
    bgnbd_log_likelihood,
    expected_spend,
    gamma_gamma_log_likelihood,
    lifetime_value,
    probability_alive,
)
from earnright.customers.lifetime import value_customers
from earnright.customers.simulation import draw_histories

BG = (0.5, 6.0, 0.7, 2.8)  # r, alpha, a, b (weeks)
GG = (6.0, 4.0, 15.0)  # p, q, gamma


def test_the_gradients_are_the_derivatives_of_the_likelihoods() -> None:
    h = draw_histories(BG, 400, (1.0, 52.0), spend=GG, seed=2).frame
    x, t_x, T, m = (h[c].to_numpy(float) for c in ("x", "t_x", "T", "m"))
    weights = np.random.default_rng(0).integers(1, 5, len(x)).astype(float)
    bg_rows = SummaryRows(x, weights, t_x=t_x, T=T)
    rep = x > 0
    gg_rows = SummaryRows(x[rep], np.ones(rep.sum()), m=m[rep], log_m=np.log(m[rep]))
    for loglik, rows, at in (
        (bgnbd_log_likelihood, bg_rows, [0.4, 5.0, 0.9, 2.0]),
        (gamma_gamma_log_likelihood, gg_rows, [5.0, 3.0, 14.0]),
    ):
        theta = np.log(at)
        numeric = optimize.approx_fprime(theta, lambda t: loglik(np.exp(t), rows)[0], 1e-7)  # noqa: B023
        assert loglik(np.exp(theta), rows)[1] == pytest.approx(numeric, rel=1e-4, abs=1e-3)


def test_fast_scoring_equals_customer_by_customer() -> None:
    h = draw_histories(BG, 3000, (0.0, 52.0), spend=GG, seed=4).frame
    h["unit_id"] = np.random.default_rng(5).choice(["A", "B", "C", "D"], len(h))
    report = value_customers(h, "2026-01-01", draws=0, months=24, discount=0.02)
    bg, gg = report.bg.values, report.gg.values
    cols = tuple(h[c].to_numpy(float) for c in ("x", "t_x", "T", "m"))
    value = lifetime_value(bg, gg, cols, months=24, discount=0.02)  # type: ignore[arg-type]
    alive = probability_alive(bg, *cols[:3])
    plain = pd.DataFrame({"unit_id": h.unit_id, "v": value, "a": alive}).groupby("unit_id").sum()
    units = report.units.set_index("unit_id")
    assert units.clv_total.to_numpy() == pytest.approx(plain.v.to_numpy(), rel=1e-9)
    assert (units.alive * units.customers).to_numpy() == pytest.approx(plain.a.to_numpy())
    assert np.all(expected_spend(gg, cols[0], cols[3]) > 0)


@pytest.mark.slow
def test_millions_of_customers_recover_the_planted_parameters() -> None:
    planted = draw_histories(BG, 3_700_000, (0.0, 52.0), horizon=26.0, spend=GG, seed=1, days=False)
    h = planted.frame
    h["unit_id"] = (np.arange(len(h)) % 10_000).astype(str)
    report = value_customers(h, "2026-01-01", holdout_weeks=26.0, draws=10, seed=1)
    for fit, truth in ((report.bg, BG), (report.gg, GG)):
        z = (np.log(fit.values) - np.log(truth)) / np.sqrt(np.diag(fit.cov))
        assert np.all(np.abs(z) < 4), (fit.values, z)
    assert report.bg.customers == 3_700_000 and len(report.units) == 10_000
    alive = float((report.units.alive * report.units.customers).sum())
    assert alive == pytest.approx(planted.alive.sum(), rel=0.01)
    hold = report.holdout if report.holdout else {}
    assert "actual" not in hold or hold["predicted"] == pytest.approx(hold["actual"], rel=0.02)

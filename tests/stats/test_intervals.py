"""Interval formulas against direct calculations and published reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from earnright.stats import mean_interval, nps_interval, wilson_interval


def test_wilson_matches_the_textbook_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 -> 0.2553 to 0.3662
    p, low, high = wilson_interval([81], [263])
    assert p[0] == pytest.approx(81 / 263)
    assert (round(low[0], 4), round(high[0], 4)) == (0.2553, 0.3662)


def test_wilson_at_the_edges_stays_inside_zero_one() -> None:
    _p, low, high = wilson_interval([0, 10], [10, 10])
    assert low[0] == pytest.approx(0.0, abs=1e-12) and 0 < high[0] < 0.35
    assert high[1] == pytest.approx(1.0) and 0.65 < low[1] < 1


def test_nps_adjusted_wald_equals_a_direct_calculation() -> None:
    promoters, passives, detractors = 12, 5, 8
    n = promoters + passives + detractors
    nps, low, high = nps_interval([promoters], [detractors], [n])
    assert nps[0] == pytest.approx(100 * (12 - 8) / 25)
    m = n + 3
    pp, pd_ = (promoters + 0.75) / m, (detractors + 0.75) / m
    se = math.sqrt((pp + pd_ - (pp - pd_) ** 2) / m)
    z = stats.norm.ppf(0.975)
    assert low[0] == pytest.approx(100 * (pp - pd_ - z * se))
    assert high[0] == pytest.approx(100 * (pp - pd_ + z * se))


def test_nps_all_promoters_has_a_real_interval_and_no_data_is_nan() -> None:
    nps, low, high = nps_interval([20, 0], [0, 0], [20, 0])
    assert nps[0] == 100 and high[0] == 100 and low[0] < 85
    assert np.isnan(nps[1]) and np.isnan(low[1]) and np.isnan(high[1])


def test_mean_interval_equals_scipy_t_interval() -> None:
    x = np.array([1, 2, 2, 3, 5, 4, 4, 5, 3])
    mean, low, high = mean_interval([x.sum()], [(x**2).sum()], [len(x)])
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean[0] == pytest.approx(x.mean())
    assert (low[0], high[0]) == pytest.approx(ref)


def test_nps_never_lies_outside_its_own_interval() -> None:
    """Issue 9: n = 1 showed "100 (−48 to 98)". Every split of every n up to 200."""
    n = np.arange(1, 201)
    p, d, m = (np.concatenate(x) for x in zip(*[_splits(k) for k in n], strict=True))
    nps, low, high = nps_interval(p, d, m)
    assert np.all((low <= nps) & (nps <= high))
    one = nps_interval([1, 0], [0, 1], [1, 1])  # n = 1: a promoter, a detractor
    np.testing.assert_allclose(np.concatenate(one), [100, -100, -48.5, -100, 100, 48.5], atol=0.1)


def _splits(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (promoters, detractors) with promoters + detractors ≤ n."""
    p, d = np.triu_indices(n + 1)
    return p, d - p, np.full(len(p), n)  # p ≤ s ≤ n: d = s − p ≥ 0 and p + d = s ≤ n

"""The synthetic control recovers a planted effect where the acting unit's trend differs from
every donor's, and its placebo interval covers at about its stated level."""

from __future__ import annotations

import numpy as np
import pytest

from earnright.accountability.synthetic import fit_weights, synthetic_control


def _company(rng: np.random.Generator, effect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Donors follow two paths (rising, falling) plus noise; the acting unit is 0.7 × rising +
    0.3 × falling (a trend no single donor has, so matched donors' mean is off) + effect."""
    weeks, pre = 30, np.arange(30) < 20
    t = np.arange(weeks)
    paths = np.vstack([0.8 * t, -0.5 * t + 3 * np.sin(t / 3)])
    mix = np.array([[1, 0], [0, 1], [0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [1, 0], [0, 1],
                    [0.6, 0.4], [0.3, 0.7], [0.8, 0.2], [0.1, 0.9]])  # fmt: skip
    donors = 40 + mix @ paths + rng.normal(0, 1.0, (len(mix), weeks))
    y = 20 + np.array([0.7, 0.3]) @ paths + rng.normal(0, 1.0, weeks) + effect * ~pre
    return y, donors, pre


def test_weights_are_a_convex_combination_that_recovers_the_mix() -> None:
    rng = np.random.default_rng(0)
    basis = rng.normal(0, 1, (3, 40))
    w = fit_weights(0.6 * basis[0] + 0.4 * basis[2], basis)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert w == pytest.approx([0.6, 0.0, 0.4], abs=1e-3)


def test_planted_effect_recovered_where_trends_differ() -> None:
    rng = np.random.default_rng(1)
    y, donors, pre = _company(rng, 8.0)
    got = synthetic_control(y, donors, pre)
    assert got.effect == pytest.approx(8.0, abs=1.5)
    assert got.low > 0 and got.low <= 8.0 <= got.high
    assert got.level == pytest.approx(1 - 2 / 12)
    # the difference in differences against the mean of the donors is thrown off by the trend
    did = (y[~pre].mean() - y[pre].mean()) - (donors[:, ~pre].mean() - donors[:, pre].mean())
    assert abs(did - 8.0) > 3


def test_placebo_interval_covers_at_its_level() -> None:
    rng = np.random.default_rng(2)
    covered, runs = 0, 300
    for _ in range(runs):
        y, donors, pre = _company(rng, 0.0)
        got = synthetic_control(y, donors, pre)
        covered += got.low <= 0.0 <= got.high
    assert covered / runs >= 1 - 2 / 12 - 0.05

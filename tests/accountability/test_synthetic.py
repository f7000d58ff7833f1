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
    assert got.low > 0  # found (the interval's coverage: the tests below, over many draws)
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


def test_placebo_interval_holds_its_level_when_the_unit_is_noisier_than_its_donors() -> None:
    """An acting store with fewer answers a week than its donors is noisier than they are. The
    raw placebo range (effect minus the largest and smallest placebo effects) then covers
    0.83 at a stated 0.92 and calls a zero effect "worked" 9% of the time; studentised by
    each series' pre-period fit, it holds its level and its error per side."""
    rng = np.random.default_rng(5)
    covered = worked = 0
    runs = 300
    for _ in range(runs):
        got = synthetic_control(*_many_donors(rng, 1.6))
        covered += got.low <= 0.0 <= got.high
        worked += got.low > 0
    assert covered / runs >= 1 - 2 / 25 - 0.03
    assert worked / runs <= 0.06


def _many_donors(rng: np.random.Generator, noise: float) -> tuple[np.ndarray, ...]:
    """24 donors mixing the two paths; the acting unit's own noise is ``noise``."""
    weeks, pre = 30, np.arange(30) < 20
    t = np.arange(weeks)
    paths = np.vstack([0.8 * t, -0.5 * t + 3 * np.sin(t / 3)])
    share = np.linspace(0, 1, 24)
    donors = 40 + np.column_stack([share, 1 - share]) @ paths + rng.normal(0, 1.0, (24, weeks))
    y = 20 + np.array([0.7, 0.3]) @ paths + rng.normal(0, noise, weeks)
    return y, donors, pre


def test_credible_needs_enough_donors_and_a_good_pre_period_fit() -> None:
    """It may decide a verdict with 24 donors (level 0.92) and a fit like its placebos'; not
    with 11 donors (level 0.83), nor when the unit is followed far worse than its placebos."""
    rng = np.random.default_rng(3)
    assert synthetic_control(*_many_donors(rng, 1.0)).credible
    assert not synthetic_control(*_many_donors(rng, 6.0)).credible
    y, donors, pre = _company(rng, 0.0)
    assert not synthetic_control(y, donors, pre).credible


def test_the_synthetic_control_decides_where_one_unit_has_few_comparisons(tmp_path) -> None:
    """Three stores a district: an acting store has at most two comparable siblings. Where the
    synthetic control is credible, it is the estimate and decides the verdict (``estimator``),
    the difference in differences staying in ``did_*``; elsewhere the DiD decides."""
    import earnright
    from earnright.demo.actions import plant_actions

    plant_actions(tmp_path / "data", seed=0, rate=30.0, regions=4, districts=4, stores=3)
    ws = earnright.create_workspace(tmp_path / "ws")
    for kind in ("units", "feedback", "actions"):
        ws.ingest(kind, tmp_path / "data" / f"{kind}.csv")
    out = ws.outcomes().to_frame()
    measured = out[out.effect.notna()]
    synthetic = measured[measured.estimator == "synthetic control"]
    did = measured[measured.estimator == "difference in differences"]
    assert len(synthetic) >= 2 and len(did) >= 2
    assert (synthetic.effect == synthetic.synthetic_effect).all()
    assert (synthetic.effect_low == synthetic.synthetic_low).all()
    assert (synthetic.synthetic_level >= 0.9).all()
    assert (did.effect == did.did_effect).all() and (did.effect_low == did.did_low).all()
    worked = synthetic.effect_low > 0
    assert ((synthetic.verdict == "worked") == worked).all()

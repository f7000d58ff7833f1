"""The search's noise model: a round's level and size classes found once serve both of its
scores (``earnright.reliability.search``)."""

from __future__ import annotations

import numpy as np

from earnright.reliability.search import leaf_deviation, noise_level, score_leaves


def test_a_level_found_once_scores_both_variants_as_each_alone() -> None:
    rng = np.random.default_rng(11)
    f = rng.gamma(2.0, 40.0, 3000)
    v = rng.poisson(f).astype(float)
    v[:200] *= 0.4  # a segment that dropped
    deviation = leaf_deviation(v, f)
    for active in (np.ones(len(v), dtype=bool), rng.random(len(v)) < 0.3):
        level = noise_level(deviation, f, np.flatnonzero(active))
        for compress in (False, True):
            alone = score_leaves(deviation, f, active, compress=compress)
            shared = score_leaves(deviation, f, active, compress=compress, level=level)
            for a, b in zip(alone, shared, strict=True):
                assert np.array_equal(a, b)
            assert np.count_nonzero(alone[1]) == np.count_nonzero(active)


def _three_rounds(x: np.ndarray, centre: float) -> tuple[float, float, float]:
    """fit_scales as docs/localize.md states it: three rounds of the truncated root mean square
    within 3σ, each from the last, the band holding at least half of the leaves."""
    d = x - centre
    size = np.abs(d)
    least = float(np.median(size)) / 3.0
    scale = max(float(np.quantile(size, 0.25)) / 0.318639, 1e-6, least)

    def rms(part: np.ndarray, fallback: float) -> float:
        return fallback if len(part) < 3 else max(float(np.sqrt(np.mean(part**2))) / 0.986577, 1e-6)

    for _ in range(3):
        inside = d[size < 3.0 * scale]
        if len(inside) < 3:
            break
        scale = max(rms(inside, scale), least)
    inside = d[size <= 3.0 * scale]
    return scale, rms(inside[inside < 0], scale), rms(inside[inside > 0], scale)


def test_the_noise_fit_stopping_once_its_scale_holds_gives_three_rounds_bit_for_bit() -> None:
    from earnright.reliability.search import fit_scales

    rng = np.random.default_rng(5)
    for trial in range(2000):
        k = int(rng.integers(3, 300))
        x = [
            rng.normal(0, 0.1, k),
            np.round(rng.poisson(3, k) / 3 - 1, 3),  # small counts: ties, the scale holds
            rng.standard_t(2, k),
            np.concatenate([rng.normal(0, 0.05, k), np.full(k // 3, -2.0)]),
        ][trial % 4]
        centre = float(rng.normal(0, 0.02))
        assert fit_scales(x, centre) == _three_rounds(x, centre)

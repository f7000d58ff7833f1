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

"""The search's order statistics against numpy's own functions."""

from __future__ import annotations

import numpy as np
import pytest

from earnright.reliability.quantiles import quarter_and_median, root_mean_square


@pytest.mark.parametrize("kind", ["normal", "ties", "heavy", "rounded", "tiny"])
def test_quarter_and_median_are_numpys_bit_for_bit(kind: str) -> None:
    """The noise fit's lower quartile and median from one partition equal ``np.quantile(a,
    0.25)`` and ``np.median(a)`` exactly (every length, odd and even, ties, heavy tails)."""
    rng = np.random.default_rng(["normal", "ties", "heavy", "rounded", "tiny"].index(kind))
    for n in [*range(1, 40), *rng.integers(40, 3000, 60).tolist()]:
        a = {
            "normal": lambda n: rng.normal(size=n),
            "ties": lambda n: rng.integers(0, 4, n) / 3.0,
            "heavy": lambda n: rng.standard_cauchy(n),
            "rounded": lambda n: np.round(rng.normal(size=n), 1),
            "tiny": lambda n: rng.normal(size=n) * 1e-300,
        }[kind](n)
        a = np.abs(a)
        assert quarter_and_median(a.copy()) == (np.quantile(a, 0.25), np.median(a)), n


def test_the_root_mean_square_is_numpys_bit_for_bit() -> None:
    """``root_mean_square`` (numpy's sum over the count, called directly) equals the formula
    the noise fit used, ``np.sqrt(np.mean(d**2))``, exactly."""
    rng = np.random.default_rng(3)
    for n in [1, 2, 3, 4, 5, 50, 51, 999, 4096, 4097, 70_000]:
        for _ in range(20):
            d = rng.standard_t(3, size=n) * rng.uniform(1e-7, 10.0)
            assert root_mean_square(d) == float(np.sqrt(np.mean(d**2))), n

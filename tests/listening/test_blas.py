"""single_blas_thread: one OpenBLAS thread inside, the previous count after, same results."""

from __future__ import annotations

import numpy as np
import pytest

from earnright.listening.blas import single_blas_thread, thread_counts
from earnright.listening.shrinkage import fit_components

_counts = thread_counts


def test_one_thread_inside_and_the_previous_count_after() -> None:
    before = _counts()
    if not before:
        pytest.skip("no OpenBLAS loaded in this process")
    with single_blas_thread():
        assert _counts() == [1] * len(before)
        with single_blas_thread():  # nested: still one, and the outer count comes back
            assert _counts() == [1] * len(before)
        assert _counts() == [1] * len(before)
    assert _counts() == before


def test_the_count_comes_back_after_an_error() -> None:
    before = _counts()
    with pytest.raises(ZeroDivisionError), single_blas_thread():
        _ = 1 / 0
    assert _counts() == before


def test_a_fit_recovers_planted_components_inside() -> None:
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(20), 30)
    v = rng.uniform(0.5, 1.5, groups.size)
    units = rng.normal(0, 2.0, 20)[groups] + rng.normal(0, 1.0, groups.size)
    y = 4.0 + units + rng.normal(0, v**0.5)
    fit = fit_components(y, v, groups)
    assert fit.omega2 == pytest.approx(4.0, rel=0.5)
    assert fit.tau2 == pytest.approx(1.0, rel=0.3)

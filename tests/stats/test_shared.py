"""The shared statistics against published references, and the one home of each constant."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from earnright.config import DATA_KINDS
from earnright.ingest import KINDS
from earnright.stats import Z95, benjamini_hochberg, welch_dof, z_quantile
from earnright.warehouse import TABLES


def test_normal_quantiles_match_the_tables() -> None:
    # Abramowitz & Stegun Table 26.5: 1.959964 (95%), 2.575829 (99%), 3.090232 (99.8%)
    assert pytest.approx(1.959964, abs=1e-6) == Z95
    assert z_quantile(0.99) == pytest.approx(2.575829, abs=1e-6)
    assert z_quantile(0.998) == pytest.approx(3.090232, abs=1e-6)
    with pytest.raises(ValueError, match="level"):
        z_quantile(1.0)


def test_welch_degrees_of_freedom_match_scipy_welch_test() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(0, 1, 12), rng.normal(0.5, 3, 30)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    dof = welch_dof(va, vb, a.size - 1, b.size - 1)
    expected = stats.ttest_ind(a, b, equal_var=False)
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    assert 2 * stats.t.sf(abs(t), dof) == pytest.approx(expected.pvalue, rel=1e-10)
    assert float(dof) == pytest.approx(float(expected.df), rel=1e-12)


def test_benjamini_hochberg_leaves_untested_out() -> None:
    q = benjamini_hochberg([0.01, np.nan, 0.04, 0.03])
    assert np.isnan(q[1])
    assert q[[0, 2, 3]] == pytest.approx(stats.false_discovery_control([0.01, 0.04, 0.03]))


def test_every_data_kind_has_one_spec_and_one_table() -> None:
    assert tuple(KINDS) == DATA_KINDS
    assert all(spec.kind == kind for kind, spec in KINDS.items())
    assert set(DATA_KINDS) <= set(TABLES)

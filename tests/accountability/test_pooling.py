"""Pooling matches a published reference: DerSimonian–Laird on the BCG vaccine trials."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from earnright.accountability.outcomes import pool_effects

# Colditz et al. (1994), the 13 BCG trials: vaccinated TB+, TB−, unvaccinated TB+, TB−
# (metafor's dat.bcg).
BCG = np.array(
    [
        [4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
        [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619],
        [505, 87886, 499, 87892], [29, 7470, 45, 7232], [17, 1699, 65, 1600],
        [186, 50448, 141, 27197], [5, 2493, 3, 2338], [27, 16886, 29, 17825],
    ],
    dtype=float,
)  # fmt: skip


def test_dersimonian_laird_matches_metafor_on_the_bcg_trials() -> None:
    """metafor::rma(yi, vi, data = escalc("RR", ...dat.bcg), method = "DL"): estimate
    −0.7141, se 0.1787, τ² 0.3088."""
    tp, tn, cp, cn = BCG.T
    y = np.log(tp / (tp + tn)) - np.log(cp / (cp + cn))
    se = np.sqrt(1 / tp - 1 / (tp + tn) + 1 / cp - 1 / (cp + cn))
    z = stats.norm.ppf(0.975)
    frame = pd.DataFrame(
        {"kind": "bcg", "metric": "log_rr", "effect": y, "effect_low": y - z * se,
         "effect_high": y + z * se}
    )  # fmt: skip
    (row,) = pool_effects(frame).itertuples()
    assert row.actions == 13
    assert row.effect == pytest.approx(-0.7141, abs=1e-4)
    assert (row.effect_high - row.effect_low) / (2 * z) == pytest.approx(0.1787, abs=1e-4)
    assert row.tau**2 == pytest.approx(0.3088, abs=1e-4)


def test_one_action_pools_to_itself() -> None:
    frame = pd.DataFrame(
        {"kind": ["k"], "metric": ["nps"], "effect": [4.0], "effect_low": [1.0],
         "effect_high": [7.0]}
    )  # fmt: skip
    (row,) = pool_effects(frame).itertuples()
    assert (row.effect, row.effect_low, row.effect_high, row.tau) == pytest.approx((4, 1, 7, 0))

"""A synthetic control for one acting unit: weights on donor units (units that did not act)
fitted on the pre-period, with a placebo-in-space interval (Abadie, Diamond & Hainmueller
2010).

Given the acting unit's weekly means y (T weeks) and the donors' D (J × T), the weights w ≥ 0,
Σw = 1 minimise the pre-period squared gap between y and wᵀD after removing each series'
pre-period mean (the demeaned synthetic control of Doudchenko & Imbens 2016, so a donor's level
does not matter, only its path). The effect is the mean post-period gap. Each donor in turn is
treated as if it had acted and fitted from the others: its placebo effect is what the method
finds where nothing happened. The interval is the effect minus the largest and smallest
placebo effects; with J placebos it covers with probability about 1 − 2/(J + 1) (reported as
``level``), exact when the acting unit is exchangeable with its donors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

__all__ = ["SyntheticResult", "fit_weights", "synthetic_control"]

SUM_PENALTY = 1e3  # the weight of the Σw = 1 row in the least squares


@dataclass(frozen=True)
class SyntheticResult:
    effect: float
    low: float
    high: float
    level: float
    weights: np.ndarray
    placebos: np.ndarray


def fit_weights(y: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """w ≥ 0, Σw = 1 minimising ‖y − wᵀD‖² (pre-period, demeaned series)."""
    scale = max(float(np.abs(donors).max()), 1.0)
    a = np.vstack([donors.T, np.full(donors.shape[0], SUM_PENALTY * scale)])
    b = np.append(y, SUM_PENALTY * scale)
    w, _ = nnls(a, b)
    return w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))


def _effect(y: np.ndarray, donors: np.ndarray, pre: np.ndarray) -> tuple[float, np.ndarray]:
    yc = y - y[pre].mean()
    dc = donors - donors[:, pre].mean(axis=1, keepdims=True)
    w = fit_weights(yc[pre], dc[:, pre])
    gap = yc - w @ dc
    return float(gap[~pre].mean() - gap[pre].mean()), w


def synthetic_control(y: np.ndarray, donors: np.ndarray, pre: np.ndarray) -> SyntheticResult:
    """The effect on ``y`` (T,) after the weeks ``pre`` (bool, T) against ``donors`` (J × T,
    at least 2), with its placebo-in-space interval (module doc)."""
    if donors.shape[0] < 2 or pre.sum() < 2 or (~pre).sum() < 1:
        raise ValueError("a synthetic control needs 2 donors, 2 weeks before and 1 after")
    effect, w = _effect(y, donors, pre)
    placebos = np.array(
        [_effect(donors[j], np.delete(donors, j, axis=0), pre)[0] for j in range(len(donors))]
    )
    level = 1 - 2 / (len(donors) + 1)
    return SyntheticResult(effect, effect - placebos.max(), effect - placebos.min(), level, w,
                           placebos)  # fmt: skip

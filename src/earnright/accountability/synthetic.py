"""A synthetic control for one acting unit: weights on donor units (units that did not act)
fitted on the pre-period, with a placebo-in-space interval (Abadie, Diamond & Hainmueller
2010).

Given the acting unit's weekly means y (T weeks) and the donors' D (J × T), the weights w ≥ 0,
Σw = 1 minimise the pre-period squared gap between y and wᵀD after removing each series'
pre-period mean (the demeaned synthetic control of Doudchenko & Imbens 2016, so a donor's level
does not matter, only its path). The effect is the mean post-period gap. Each donor in turn is
treated as if it had acted and fitted from the others: its placebo effect is what the method
finds where nothing happened. The interval inverts a placebo test on the studentised effect,
the effect divided by its own pre-period fit (the RMSPE below; Abadie et al. 2010 rank the
ratio of post- to pre-period RMSPE for the same reason): δ is in the interval when
(effect − δ) / fit lies within the placebos' effect_j / fit_j. With J placebos it covers with
probability about 1 − 2/(J + 1) (reported as ``level``), exact when the units' studentised
effects are exchangeable — units may differ in noise (how many answers they get a week), which
the raw placebo effects (effect minus their largest and smallest) do not allow for: there a
noisier acting unit than its donors is called "worked" too often.

The fit of each series is its pre-period root mean squared gap (RMSPE); the acting unit's fit
beside its placebos' says whether the synthetic control followed it before it acted (Abadie et
al. leave out placebos fitted far worse than the unit; here a unit fitted worse than
``FIT_QUANTILE`` of its placebos is not credible: :attr:`SyntheticResult.credible`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

__all__ = ["SyntheticResult", "fit_weights", "placebo_interval", "synthetic_control"]

SUM_PENALTY = 1e3  # the weight of the Σw = 1 row in the least squares
FIT_QUANTILE = 0.9  # a unit fitted worse before than this share of its placebos: not credible
MIN_LEVEL = 0.9  # fewer donors (19) give a placebo interval too short of 95% to decide


@dataclass(frozen=True)
class SyntheticResult:
    effect: float
    low: float
    high: float
    level: float
    weights: np.ndarray
    placebos: np.ndarray
    fit: float = float("nan")  # the unit's pre-period RMSPE
    placebo_fits: np.ndarray | None = None  # each placebo's

    @property
    def credible(self) -> bool:
        """Whether it may decide the verdict: enough donors for an interval near 95%
        (``MIN_LEVEL``) and a pre-period fit no worse than ``FIT_QUANTILE`` of the placebos'."""
        if self.level < MIN_LEVEL or self.placebo_fits is None or not np.isfinite(self.fit):
            return False
        return bool(self.fit <= np.quantile(self.placebo_fits, FIT_QUANTILE))


def fit_weights(y: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """w ≥ 0, Σw = 1 minimising ‖y − wᵀD‖² (pre-period, demeaned series)."""
    scale = max(float(np.abs(donors).max()), 1.0)
    a = np.vstack([donors.T, np.full(donors.shape[0], SUM_PENALTY * scale)])
    b = np.append(y, SUM_PENALTY * scale)
    w, _ = nnls(a, b)
    return w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))


def _effect(
    y: np.ndarray, donors: np.ndarray, pre: np.ndarray
) -> tuple[float, np.ndarray, float]:  # fmt: skip
    """The effect, the weights and the pre-period RMSPE of one fit."""
    yc = y - y[pre].mean()
    dc = donors - donors[:, pre].mean(axis=1, keepdims=True)
    w = fit_weights(yc[pre], dc[:, pre])
    gap = yc - w @ dc
    fit = float(np.sqrt(((gap[pre] - gap[pre].mean()) ** 2).mean()))
    return float(gap[~pre].mean() - gap[pre].mean()), w, fit


def synthetic_control(y: np.ndarray, donors: np.ndarray, pre: np.ndarray) -> SyntheticResult:
    """The effect on ``y`` (T,) after the weeks ``pre`` (bool, T) against ``donors`` (J × T,
    at least 2), with its studentised placebo-in-space interval (module doc)."""
    if donors.shape[0] < 2 or pre.sum() < 2 or (~pre).sum() < 1:
        raise ValueError("a synthetic control needs 2 donors, 2 weeks before and 1 after")
    effect, w, fit = _effect(y, donors, pre)
    runs = [_effect(donors[j], np.delete(donors, j, axis=0), pre) for j in range(len(donors))]
    placebos = np.array([r[0] for r in runs])
    fits = np.array([r[2] for r in runs])
    level = 1 - 2 / (len(donors) + 1)
    low, high = placebo_interval(effect, fit, placebos, fits)
    return SyntheticResult(effect, low, high, level, w, placebos, fit, fits)


def placebo_interval(
    effect: float, fit: float, placebos: np.ndarray, fits: np.ndarray
) -> tuple[float, float]:  # fmt: skip
    """The effects δ at which the unit's ratio (effect − δ) / fit lies within its placebos'
    ratios effect_j / fit_j: [effect − fit × max ratio, effect − fit × min ratio]. Each ratio
    is scaled by its own series' noise, so a unit noisier (or quieter) than its donors is
    judged on its own scale; without a usable fit (0 or not finite), the raw placebo range."""
    if not (np.isfinite(fit) and fit > 0 and np.isfinite(fits).all() and (fits > 0).all()):
        return effect - float(placebos.max()), effect - float(placebos.min())
    ratios = placebos / fits
    return effect - fit * float(ratios.max()), effect - fit * float(ratios.min())

"""The answer model: how a survey response's numbers arise, and their exact expectations.

For a response at store s in month t about moment m, with driver latents
``z_k ~ N(mu_sk - d_k, 1)`` (``d_k`` the damage of an incident, usually 0)::

    L = a_st + b_m + sum_k w_sk (z_k - c_k) + e,    e ~ N(0, NOISE_SD^2)
    ltr = clip(floor(L), 0, 10)         answer_k = clip(round(z_k), 1, 5)
    O = OSAT_INTERCEPT + OSAT_SLOPE * L + u,  u ~ N(0, OSAT_NOISE^2)
    osat = clip(floor(O), 1, 5)

So L is normal with mean ``a_st + b_m + sum_k w_sk (mu_sk - d_k - c_k)`` and variance
``sum_k w_sk^2 + NOISE_SD^2``; P(promoter) = P(L >= 9), P(detractor) = P(L < 7) and
P(osat >= 4) = P(O >= 4) are normal tail probabilities, exact.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from earnright.demo.company import DRIVER_BASE, StoreParams
from earnright.demo.questionnaire import MOMENT_OFFSETS

__all__ = ["draw_latents", "expected_answer", "expected_csat", "expected_nps", "ltr_sd"]

NOISE_SD = 1.5
OSAT_INTERCEPT, OSAT_SLOPE, OSAT_NOISE = 1.0, 0.40, 0.6
ANSWER_P = 0.96  # P(an asked driver question is answered)
LTR_ANSWER_P = 0.98
OSAT_ANSWER_P = 0.97
_CUTS = np.array([1.5, 2.5, 3.5, 4.5])


def ltr_sd(params: StoreParams, store: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Standard deviation of the ltr latent L at each store."""
    return np.sqrt((params.driver_weights[store] ** 2).sum(axis=-1) + NOISE_SD**2)


def ltr_mean(
    params: StoreParams, store: np.ndarray, month: np.ndarray, moment: np.ndarray
) -> np.ndarray:
    """Mean of L for undamaged responses (broadcasting store, month and moment)."""
    return params.ltr_intercept[store, month] + MOMENT_OFFSETS[moment] + params.driver_part[store]


def expected_nps(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """100 x (P(L >= 9) - P(L < 7)) for L ~ N(mean, sd^2)."""
    return 100.0 * (ndtr((mean - 9.0) / sd) - ndtr((7.0 - mean) / sd))


def expected_csat(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """P(osat >= 4) for L ~ N(mean, sd^2)."""
    o_mean = OSAT_INTERCEPT + OSAT_SLOPE * mean
    o_sd = np.sqrt((OSAT_SLOPE * sd) ** 2 + OSAT_NOISE**2)
    return ndtr((o_mean - 4.0) / o_sd)


def expected_answer(latent_mean: np.ndarray) -> np.ndarray:
    """E[clip(round(z), 1, 5)] for z ~ N(latent_mean, 1)."""
    mean = np.asarray(latent_mean)[..., None]
    return 1.0 + ndtr(mean - _CUTS).sum(axis=-1)


def draw_latents(
    params: StoreParams,
    store: np.ndarray,
    month: np.ndarray,
    moment: np.ndarray,
    damage: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Driver latents z (n, questions), the ltr latent L and the osat latent O of n responses.

    ``damage`` (n, questions) is subtracted from the driver latent means (incident harm).
    """
    n = len(store)
    z = params.driver_means[store] - damage + rng.standard_normal((n, len(DRIVER_BASE)))
    weights = params.driver_weights[store]
    base = params.ltr_intercept[store, month] + MOMENT_OFFSETS[moment]
    latent = base + ((z - DRIVER_BASE) * weights).sum(axis=1) + NOISE_SD * rng.standard_normal(n)
    osat = OSAT_INTERCEPT + OSAT_SLOPE * latent + OSAT_NOISE * rng.standard_normal(n)
    return z, latent, osat


def scale_answers(z: np.ndarray) -> np.ndarray:
    """The 1-5 driver answers of driver latents."""
    return np.clip(np.floor(z + 0.5), 1, 5)


def ltr_answers(latent: np.ndarray) -> np.ndarray:
    """The 0-10 likelihood-to-recommend answers of ltr latents."""
    return np.clip(np.floor(latent), 0, 10)


def osat_answers(latent: np.ndarray) -> np.ndarray:
    """The 1-5 overall-satisfaction answers of osat latents."""
    return np.clip(np.floor(latent), 1, 5)

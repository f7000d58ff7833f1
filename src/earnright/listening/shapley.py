"""Relative importance of regressors from a correlation matrix alone: LMG and Johnson's weights.

Every function takes a correlation matrix ``corr`` of shape ``(..., p + 1, p + 1)`` whose row and
column 0 are the outcome and 1..p the drivers; leading axes are a batch (bootstrap replicates).
Nothing here sees a data row.

- :func:`subset_r2` — R² of the regression of the outcome on every subset of the drivers, by a
  dynamic programme over subsets: a subset's partial Cholesky rows ``T_S = L_S⁻¹ R_S·`` extend its
  parent's (the subset without its highest driver) by one row, so each of the 2^p subsets costs
  O(|S|·p) and R²(S) = R²(parent) + (new row's outcome entry)².
- :func:`lmg` — the Shapley value of the R² game (Lindeman, Merenda & Gold 1980; Grömping 2006,
  R package relaimpo ``type="lmg"``): exact from all 2^p subsets up to :data:`MAX_EXACT` drivers,
  else averaged over sampled orderings (with its Monte Carlo standard error).
- :func:`relative_weights` — Johnson (2000): regress on the orthogonal approximation
  ``Z = R_xx^{1/2}`` and share back with the squared loadings (equals relaimpo's ``genizi``).
- :func:`standardized_coefficients` — β of the full standardized regression.

Pooling per-cluster sufficient statistics, shrinkage toward the parent and fitting one model with
its bootstrap replicates live in ``earnright.listening.clusters``.

A driver that adds nothing numerically (residual variance below ``1e-12`` given the others: a
constant or an exact linear combination) adds 0 to R², which is its correct Shapley increment.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import factorial

import numpy as np

__all__ = [
    "DEFAULT_PERMUTATIONS",
    "MAX_EXACT",
    "LmgEstimate",
    "correlation_from_covariance",
    "lmg",
    "relative_weights",
    "standardized_coefficients",
    "subset_r2",
]

MAX_EXACT = 16  # drivers: 2^16 subsets in ~0.1 s; beyond, orderings are sampled
DEFAULT_PERMUTATIONS = 2000
_TOL = 1e-12
_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class LmgEstimate:
    """LMG per driver (shape ``(..., p)``), and whether it is exact or sampled.

    ``se`` is the Monte Carlo standard error of a sampled estimate (zeros when exact).
    """

    values: np.ndarray
    exact: bool
    se: np.ndarray
    permutations: int = 0


def correlation_from_covariance(cov: np.ndarray) -> np.ndarray:
    """Correlation matrices of covariance matrices ``(..., m, m)``.

    A column without variance gets correlation 0 with every other column (it explains nothing
    and is explained by nothing) and 1 on the diagonal.
    """
    var = np.diagonal(cov, axis1=-2, axis2=-1)
    scale = np.where(var > 0, 1.0 / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    corr = cov * scale[..., :, None] * scale[..., None, :]
    corr = np.clip(corr, -1.0, 1.0)
    m = cov.shape[-1]
    corr[..., np.arange(m), np.arange(m)] = 1.0
    return corr


@dataclass(frozen=True)
class _Lattice:
    """Subsets of p drivers as bitmasks, by size, with each one's parent (highest bit removed)."""

    levels: list[np.ndarray]  # masks of each size k (k = 1..p), ascending
    parent: list[np.ndarray]  # index of each mask's parent within the previous level
    top: list[np.ndarray]  # the driver (bit) each mask adds to its parent
    popcount: np.ndarray  # size of every mask 0..2^p-1


@lru_cache(maxsize=8)
def _lattice(p: int) -> _Lattice:
    masks = np.arange(1 << p, dtype=np.int64)
    popcount = np.zeros(1 << p, dtype=np.int64)
    for j in range(p):
        popcount += (masks >> j) & 1
    position = np.zeros(1 << p, dtype=np.int64)
    levels, parents, tops = [], [], []
    for k in range(1, p + 1):
        level = masks[popcount == k]
        position[level] = np.arange(len(level))
        top = np.floor(np.log2(level)).astype(np.int64)
        top = np.where((1 << (top + 1)) <= level, top + 1, top)  # guard rounding
        levels.append(level)
        tops.append(top)
        parents.append(position[level ^ (1 << top)])
    return _Lattice(levels, parents, tops, popcount)


def _extend(corr: np.ndarray, rows: np.ndarray, col: np.ndarray) -> np.ndarray:
    """The next partial Cholesky row when column ``col`` joins the columns of ``rows``.

    ``corr`` is ``(n, q, q)``, ``rows`` ``(n, m, k, q)`` (``L_S⁻¹ R_S·`` of m subsets each) and
    ``col`` ``(n, m)`` column indices; returns ``(n, m, q)``.
    """
    n, m, k, q = rows.shape
    target = np.take_along_axis(corr, np.broadcast_to(col[..., None], (n, m, q)), axis=-2)
    t = np.take_along_axis(rows, np.broadcast_to(col[..., None, None], (n, m, k, 1)), -1)[..., 0]
    resid = np.take_along_axis(target, col[..., None], -1)[..., 0] - (t * t).sum(axis=-1)
    new = target - (t[..., None, :] @ rows)[..., 0, :]
    ok = resid > _TOL
    return np.where(ok[..., None], new / np.sqrt(np.where(ok, resid, 1.0))[..., None], 0.0)


def _chunks(batch: int, per_item: int) -> list[slice]:
    size = max(1, _CHUNK_BYTES // max(per_item, 1))
    return [slice(i, min(i + size, batch)) for i in range(0, batch, size)]


def subset_r2(corr: np.ndarray) -> np.ndarray:
    """R² of the outcome on every subset of drivers: ``(..., 2^p)``, indexed by bitmask.

    Bit j of the index is driver j (column j + 1 of ``corr``); entry 0 (no driver) is 0.
    """
    corr = np.asarray(corr, dtype=float)
    batch_shape, q = corr.shape[:-2], corr.shape[-1]
    p = q - 1
    flat = corr.reshape(-1, q, q)
    lattice = _lattice(p)
    widest = max((len(lv) * (k + 1) for k, lv in enumerate(lattice.levels)), default=1)
    out = np.zeros((flat.shape[0], 1 << p))
    for part in _chunks(flat.shape[0], widest * q * 8 * 3):
        out[part] = _subset_r2_flat(flat[part], lattice)
    return out.reshape(*batch_shape, 1 << p)


def _subset_r2_flat(corr: np.ndarray, lattice: _Lattice) -> np.ndarray:
    n, q = corr.shape[0], corr.shape[-1]
    r2 = np.zeros((n, 1 << (q - 1)))
    rows = np.zeros((n, 1, 0, q))  # the empty subset
    for k, (level, parent, top) in enumerate(
        zip(lattice.levels, lattice.parent, lattice.top, strict=True)
    ):
        base = rows[:, parent] if k else np.zeros((n, len(level), 0, q))
        new = _extend(corr, base, np.broadcast_to(top + 1, (n, len(level))))
        r2[:, level] = (r2[:, level ^ (1 << top)] if k else 0.0) + new[..., 0] ** 2
        rows = np.concatenate([base, new[:, :, None, :]], axis=2)
    return r2


@lru_cache(maxsize=8)
def _shapley_terms(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Per subset S: ``w(|S|)`` and ``w(|S|-1) + w(|S|)``, with w(k) = k!(p-k-1)!/p!.

    φ_j = Σ_{S∌j} w(|S|) (v(S+j) − v(S)) = Σ_{S∋j} v(S) (w(|S|-1) + w(|S|)) − Σ_S v(S) w(|S|).
    """
    w = np.array([factorial(k) * factorial(p - k - 1) / factorial(p) for k in range(p)] + [0.0])
    size = _lattice(p).popcount
    return w[size], w[size] + np.where(size > 0, w[size - 1], 0.0)


def lmg_from_subsets(r2: np.ndarray, p: int) -> np.ndarray:
    """Shapley values of the game ``r2`` (``(..., 2^p)`` by bitmask): ``(..., p)``."""
    leave, join = _shapley_terms(p)
    total = r2 @ leave
    weighted = r2 * join
    out = np.empty((*r2.shape[:-1], p))
    for j in range(p):  # the subsets holding driver j, as contiguous blocks of the bitmask order
        blocks = weighted.reshape(*r2.shape[:-1], 1 << (p - 1 - j), 2, 1 << j)
        out[..., j] = blocks[..., 1, :].sum(axis=(-1, -2)) - total
    return out


def lmg(
    corr: np.ndarray,
    *,
    max_exact: int = MAX_EXACT,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
) -> LmgEstimate:
    """LMG (Shapley decomposition of R²) of every driver; the values sum to the full R².

    Exact up to ``max_exact`` drivers; above, the mean over ``permutations`` random orderings
    (the same orderings for every matrix of the batch) with its Monte Carlo standard error.
    """
    corr = np.asarray(corr, dtype=float)
    p = corr.shape[-1] - 1
    if p == 0:
        empty = np.zeros((*corr.shape[:-2], 0))
        return LmgEstimate(empty, True, empty)
    if p <= max_exact:
        values = lmg_from_subsets(subset_r2(corr), p)
        return LmgEstimate(values, True, np.zeros_like(values))
    rng = np.random.default_rng(seed)
    orders = np.argsort(rng.random((permutations, p)), axis=1)
    mean, se = _ordering_gains(corr, orders)
    return LmgEstimate(mean, False, se, permutations)


def _ordering_gains(corr: np.ndarray, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error, over the orders, of the R² each driver adds when drivers enter
    in that order: both ``(..., p)``. Matrices are processed in chunks of bounded memory."""
    batch_shape, q = corr.shape[:-2], corr.shape[-1]
    flat = corr.reshape(-1, q, q)
    m, p = orders.shape
    mean, se = np.zeros((flat.shape[0], p)), np.zeros((flat.shape[0], p))
    for part in _chunks(flat.shape[0], m * p * q * 8 * 3):
        n = part.stop - part.start
        gains = np.zeros((n, m, p))
        rows = np.zeros((n, m, p, q))
        for k in range(p):
            driver = np.broadcast_to(orders[:, k], (n, m))
            new = _extend(flat[part], rows[:, :, :k], driver + 1)
            np.put_along_axis(gains, driver[..., None], (new[..., 0] ** 2)[..., None], axis=-1)
            rows[:, :, k] = new
        mean[part] = gains.mean(axis=1)
        se[part] = gains.std(axis=1, ddof=1) / np.sqrt(m)
    return mean.reshape(*batch_shape, p), se.reshape(*batch_shape, p)


def _eigen(rxx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (clipped at 0) and eigenvectors of symmetric ``rxx``."""
    values, vectors = np.linalg.eigh(rxx)
    return np.clip(values, 0.0, None), vectors


def relative_weights(corr: np.ndarray) -> np.ndarray:
    """Johnson's (2000) relative weights ``(..., p)``; they sum to the full R².

    ``R_xx = V Λ V'``, ``Z = V Λ^½ V'`` (the orthonormal variables closest to the drivers),
    ``β* = Z⁻¹ r_xy``; driver j's weight is ``Σ_k Z_jk² β*_k²``.
    """
    corr = np.asarray(corr, dtype=float)
    rxx, rxy = corr[..., 1:, 1:], corr[..., 1:, 0]
    values, vectors = _eigen(rxx)
    top = values.max(axis=-1, keepdims=True) if values.size else values
    keep = values > _TOL * np.maximum(top, 1.0)
    root = np.sqrt(values)
    inv_root = np.where(keep, 1.0 / np.where(keep, root, 1.0), 0.0)
    z = (vectors * root[..., None, :]) @ np.swapaxes(vectors, -1, -2)
    z_inv = (vectors * inv_root[..., None, :]) @ np.swapaxes(vectors, -1, -2)
    beta_star = (z_inv @ rxy[..., None])[..., 0]
    return (z**2 * (beta_star**2)[..., None, :]).sum(axis=-1)


def standardized_coefficients(corr: np.ndarray) -> np.ndarray:
    """β of the full regression on standardized variables, ``R_xx⁺ r_xy`` (``(..., p)``)."""
    corr = np.asarray(corr, dtype=float)
    rxx, rxy = corr[..., 1:, 1:], corr[..., 1:, 0]
    values, vectors = _eigen(rxx)
    top = values.max(axis=-1, keepdims=True) if values.size else values
    keep = values > _TOL * np.maximum(top, 1.0)
    inv = np.where(keep, 1.0 / np.where(keep, values, 1.0), 0.0)
    pinv = (vectors * inv[..., None, :]) @ np.swapaxes(vectors, -1, -2)
    return (pinv @ rxy[..., None])[..., 0]

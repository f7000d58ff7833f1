"""Cluster statistics, shrinkage and fitting: the numpy that follows the engine's one scan.

- :class:`ClusterStats` — per-cluster sufficient statistics (n, means, centred cross-products) of
  one model's complete cases, pooled into covariance and correlation matrices;
- :func:`estimate_shrinkage`, :func:`shrinkage_targets` — small units' correlation matrices
  shrunk toward their parent's;
- :func:`fit_importance` — one model's importance (``earnright.listening.shapley``: LMG, relative
  weights, β) with bootstrap replicates over clusters (:func:`bootstrap_weights`) and percentile
  intervals (:func:`percentile_interval`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from earnright.listening.shapley import (
    correlation_from_covariance,
    lmg,
    relative_weights,
    standardized_coefficients,
)

__all__ = [
    "ClusterStats",
    "ImportanceFit",
    "bootstrap_weights",
    "estimate_shrinkage",
    "fit_importance",
    "percentile_interval",
    "shrinkage_targets",
]


# -- sufficient statistics -----------------------------------------------------------------
@dataclass(frozen=True)
class ClusterStats:
    """Sufficient statistics of one model's complete cases, one row per cluster.

    ``columns`` are the outcome then the drivers; ``mean`` is ``(C, q)`` and ``comoment``
    ``(C, q, q)`` the centred cross-products Σ(x − x̄_c)(x − x̄_c)' within each cluster.
    """

    columns: tuple[str, ...]
    unit: np.ndarray
    block: np.ndarray
    n: np.ndarray
    mean: np.ndarray
    comoment: np.ndarray

    def take(self, rows: np.ndarray) -> ClusterStats:
        return replace(
            self,
            unit=self.unit[rows],
            block=self.block[rows],
            n=self.n[rows],
            mean=self.mean[rows],
            comoment=self.comoment[rows],
        )

    def split(self, labels: np.ndarray) -> dict[str, ClusterStats]:
        """The clusters grouped by ``labels`` (one per cluster), in sorted label order."""
        order = np.argsort(labels, kind="stable")
        if not len(labels):
            return {}
        keys, starts = np.unique(labels[order], return_index=True)
        parts = np.split(order, starts[1:])
        return {str(k): self.take(rows) for k, rows in zip(keys, parts, strict=True)}

    def pooled(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """n ``(B,)`` and covariance ``(B, q, q)`` (ddof 1) of clusters weighted ``(B, C)``.

        Without weights, B = 1 and every cluster counts once. Cluster means are taken about the
        overall mean first, so nothing cancels catastrophically.
        """
        c, q = self.mean.shape
        w = np.ones((1, c)) if weights is None else weights
        shift = (self.n @ self.mean) / max(self.n.sum(), 1.0)
        d = self.mean - shift
        a = self.comoment + self.n[:, None, None] * d[:, :, None] * d[:, None, :]
        total = w @ self.n
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (w @ (self.n[:, None] * d)) / total[:, None]
            square = (w @ a.reshape(c, q * q)).reshape(-1, q, q)
            cov = square - total[:, None, None] * mean[:, :, None] * mean[:, None, :]
            cov = cov / (total - 1.0)[:, None, None]
        cov[total <= 1] = np.nan
        return total, cov


# -- shrinkage -----------------------------------------------------------------------------
def estimate_shrinkage(
    corr: np.ndarray, n: np.ndarray, parent_corr: np.ndarray, parent_n: np.ndarray
) -> np.ndarray:
    """Empirical-Bayes weight on the parent (0..1) of each unit's correlation matrix.

    ``corr`` ``(U, q, q)`` with ``n`` responses, ``parent_corr`` the parent's average
    within-unit correlation over ``parent_n`` responses. Between-unit variance τ² of the
    correlations is estimated by moments from every off-diagonal entry of every unit that is not
    most of its parent — E[(r_u − r_P)²] ≈ (1 − f)²(τ² + σ²_u + σ²_rest), f = n_u / n_P, with the
    large-sample σ² = (1 − ρ²)²/n — and λ_u = σ̄²_u / (σ̄²_u + τ²): a unit with little data, or
    units that do not really differ, lean on the parent.
    """
    q = corr.shape[-1]
    iu = np.triu_indices(q, 1)
    r, rp = corr[:, iu[0], iu[1]], parent_corr[:, iu[0], iu[1]]
    v = (1.0 - rp**2) ** 2
    sigma = v / np.maximum(n, 1.0)[:, None]
    rest = v / np.maximum(parent_n - n, 1.0)[:, None]
    f = n / np.maximum(parent_n, 1.0)
    usable = (f < 0.9) & (n >= q + 2) & np.isfinite(r).all(axis=1)
    excess = (r - rp) ** 2 / (1.0 - np.minimum(f, 0.9))[:, None] ** 2 - sigma - rest
    tau2 = max(float(np.nanmean(excess[usable])), 0.0) if usable.any() else 0.0
    s2 = sigma.mean(axis=1)
    lam = np.where(tau2 > 0, s2 / (s2 + tau2 + 1e-300), 1.0)
    return np.where((n >= 2) & np.isfinite(r).all(axis=1), lam, 1.0)


def _within(stats: ClusterStats, groups: np.ndarray) -> dict[str, tuple[float, np.ndarray]]:
    """Per group: responses and the covariance about the group's own mean."""
    out = {}
    for g, part in stats.split(groups).items():
        n, cov = part.pooled()
        out[g] = (float(n[0]), cov[0])
    return out


def _average(parts: list[tuple[float, np.ndarray]]) -> tuple[float, np.ndarray]:
    """Responses and the pooled within-unit covariance of units (n, covariance)."""
    total = float(sum(n for n, _ in parts))
    usable = [(n, c) for n, c in parts if n > 1 and np.isfinite(c).all()]
    if not usable:
        return total, np.full_like(parts[0][1], np.nan)
    df = sum(n - 1.0 for n, _ in usable)
    return total, np.sum([(n - 1.0) * c for n, c in usable], axis=0) / df


def _stage(
    own: dict[str, tuple[float, np.ndarray]],
    parent_of: dict[str, str],
    targets: dict[str, tuple[float, np.ndarray]],
) -> dict[str, float]:
    """λ of every unit in ``own`` toward ``targets[parent]`` (its average within-unit matrix)."""
    kids = [u for u in own if u in parent_of and parent_of[u] in targets]
    if not kids:
        return {}
    corr = correlation_from_covariance(np.stack([own[u][1] for u in kids]))
    parent = correlation_from_covariance(np.stack([targets[parent_of[u]][1] for u in kids]))
    n = np.array([own[u][0] for u in kids])
    parent_n = np.array([targets[parent_of[u]][0] for u in kids])
    lam = estimate_shrinkage(corr, n, parent, parent_n)
    return dict(zip(kids, lam.tolist(), strict=True))


def shrinkage_targets(
    stats: ClusterStats, unit_of: np.ndarray, parent_of: dict[str, str], top_of: dict[str, str]
) -> dict[str, tuple[np.ndarray, float]]:
    """Per unit: the correlation matrix it shrinks toward and its weight on it.

    The target is the parent's average within-unit correlation, itself shrunk toward the top
    unit's (the company's) average when the parent is not the top.
    """
    own = _within(stats, unit_of)
    by_parent: dict[str, list[tuple[float, np.ndarray]]] = {}
    by_top: dict[str, list[tuple[float, np.ndarray]]] = {}
    for u, part in own.items():
        if u in parent_of:
            by_parent.setdefault(parent_of[u], []).append(part)
            by_top.setdefault(top_of.get(u, parent_of[u]), []).append(part)
    parents = {p: _average(parts) for p, parts in by_parent.items()}
    tops = {t: _average(parts) for t, parts in by_top.items()}
    parent_top = {p: top_of.get(p, p) for p in parents if top_of.get(p, p) != p}
    lam_parent = _stage(parents, parent_top, tops)
    target = {}
    for p, (_, cov) in parents.items():
        corr = correlation_from_covariance(cov)
        if p in lam_parent:
            top = correlation_from_covariance(tops[parent_top[p]][1])
            corr = (1.0 - lam_parent[p]) * corr + lam_parent[p] * top
        target[p] = corr
    lam = _stage(own, parent_of, parents)
    return {
        u: (target[parent_of[u]], lam[u]) for u in lam if np.isfinite(target[parent_of[u]]).all()
    }


# -- fitting -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportanceFit:
    """LMG and relative weights of one model at one unit: row 0 the estimate, then replicates."""

    key: str  # the model (journey moment, or "all")
    columns: tuple[str, ...]  # the outcome, then the drivers
    n: np.ndarray  # (1 + B,): the estimate, then the bootstrap replicates
    lmg: np.ndarray  # (1 + B, p)
    rw: np.ndarray  # (1 + B, p)
    beta: np.ndarray  # (p,)
    correlation: np.ndarray  # (p,)
    shrinkage: float
    exact: bool
    mc_se: float = 0.0  # largest Monte Carlo standard error of a sampled point estimate


def fit_importance(
    key: str,
    stats: ClusterStats,
    weights: np.ndarray,
    shrink: tuple[np.ndarray, float] | None,
    seed: int,
) -> ImportanceFit | None:
    """Point estimate (row 0) and bootstrap replicates of one model at one unit."""
    q = len(stats.columns)
    n, cov = stats.pooled()
    nb, covb = stats.pooled(weights) if len(weights) else (np.empty(0), np.empty((0, q, q)))
    if shrink is None and not n[0] >= q + 2:
        return None
    corr = correlation_from_covariance(np.concatenate([cov, covb]))
    lam = 0.0
    if shrink is not None:
        target, lam = shrink
        mixed = target if lam >= 1.0 else (1.0 - lam) * corr + lam * target
        corr = np.broadcast_to(mixed, corr.shape).copy()
    valid = np.isfinite(corr).all(axis=(-1, -2))
    if not valid[0]:
        return None
    corr[~valid] = np.eye(q)
    estimate = lmg(corr, seed=seed)
    values, rw = estimate.values.copy(), relative_weights(corr)
    values[~valid], rw[~valid] = np.nan, np.nan
    return ImportanceFit(
        key=key,
        columns=stats.columns,
        n=np.concatenate([n, nb]),
        lmg=values,
        rw=rw,
        beta=standardized_coefficients(corr[0]),
        correlation=corr[0, 1:, 0],
        shrinkage=float(lam),
        exact=estimate.exact,
        mc_se=float(estimate.se[0].max()) if q > 1 else 0.0,
    )


def bootstrap_weights(
    keys: list[np.ndarray], bootstrap: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Bootstrap weights ``(B, C_m)`` per model: the resampling units drawn with replacement."""
    universe, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    g = len(universe)
    if bootstrap <= 0 or g < 2:
        return [np.empty((0, len(k))) for k in keys]
    draws = rng.integers(0, g, size=(bootstrap, g))
    counts = np.zeros((bootstrap, g))
    np.add.at(counts, (np.arange(bootstrap)[:, None], draws), 1.0)
    out, start = [], 0
    for k in keys:
        out.append(counts[:, inverse[start : start + len(k)]])
        start += len(k)
    return out


def percentile_interval(values: np.ndarray) -> tuple[float | None, float | None]:
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None, None
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)

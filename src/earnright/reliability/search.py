"""The numeric core of root-cause localisation: cuboids, the leaf noise model, the greedy search.

Everything here works on numpy arrays of leaves (one leaf per combination of dimension values,
already aggregated); ``earnright.reliability.localize`` turns frames into these arrays and the
findings back into labelled root causes. The method is described in docs/localize.md.

- ``build_cuboids`` — every subset of up to ``max_layer`` dimensions (a *cuboid*), with the
  element (combination of values) of each leaf, found by factorising codes: no loop over leaves.
- ``score_leaves`` — the relative deviation of each leaf, standardised by a robust noise model
  (a single leaf is scored with the deviation's tails compressed):
  one normal level for all leaves (the densest point refined by 3σ clipping, or the forecast's
  own level when enough leaves agree with it; robust when most leaves are anomalous) and a
  noise scale per forecast-size class, lower and upper sides apart (skewed noise, small counts).
- ``search_causes`` — greedy forward selection: the element whose leaves share the most
  significant common shift (the generalised ripple effect) is a cause; its leaves are set aside,
  the noise is refitted and the search repeats until no element is significant at family-wise
  level ``alpha`` (Bonferroni over every element of every cuboid searched). A cause whose part
  along a nested dimension (a store of a district) clearly did not move is replaced by its hit
  children.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

__all__ = [
    "ALPHA",
    "MAX_CAUSES",
    "Cuboid",
    "Finding",
    "best_element",
    "build_cuboids",
    "critical_z",
    "densest_point",
    "fit_location",
    "fit_scales",
    "half_sample_mode",
    "leaf_deviation",
    "live_elements",
    "nested_dims",
    "score_leaves",
    "search_causes",
]

ALPHA = 1e-3  # family-wise chance, per case, of reporting a cause where the noise alone moved
MAX_CAUSES = 10
SIZE_CLASSES = 10  # forecast-size classes of the noise model ...
MIN_CLASS_LEAVES = 50  # ... each with at least this many leaves
COVERAGE = 0.25  # the normal level: the densest quarter of the leaves, or 0 if that many agree
CLIP = 3.0  # noise model: leaves beyond CLIP σ of the normal level are left out of its fit
NOISE_FLOOR = 1e-6  # smallest noise scale, in units of relative deviation
NORMAL_SHARE = 0.1  # a cause is split when children this share of its forecast clearly did not move
TIE = 1e-9  # relative margin within which a lower layer wins (parsimony)
# sd of a standard normal truncated to ±3, and the lower quartile of |N(0, 1)|
_TRUNCATED_SD = 0.986577
_Q25_ABS = 0.318639

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]
Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class Cuboid:
    """One subset of the dimensions and the element (value combination) of every leaf in it."""

    dims: tuple[int, ...]
    inverse: Ints  # leaf -> element number, 0 .. size-1
    size: int
    # the same partition of the leaves as a cuboid of one dimension fewer (a store within its
    # district): its elements are that cuboid's, so it is kept for splitting but never scored
    redundant: bool = False

    @property
    def layer(self) -> int:
        return len(self.dims)


@dataclass(frozen=True)
class Finding:
    """One cause found: an element of a cuboid, its z score, and the leaves it claimed."""

    cuboid: Cuboid
    element: int
    z: float
    leaves: Mask


def build_cuboids(codes: list[Ints], max_layer: int | None = None) -> list[Cuboid]:
    """Every cuboid of 1..``max_layer`` dimensions (default: all of them), lowest layer first.

    ``codes`` holds one integer code per leaf and dimension (0 .. cardinality-1). A cuboid's
    element codes are built from its prefix cuboid's, factorised at each step so they stay small.
    A cuboid that splits the leaves no finer than one of its sub-cuboids (same number of
    elements) is marked ``redundant``: the data do not support that depth there.
    """
    depth = len(codes) if max_layer is None else min(max_layer, len(codes))
    known: dict[tuple[int, ...], Cuboid] = {}
    out: list[Cuboid] = []
    for layer in range(1, depth + 1):
        for dims in combinations(range(len(codes)), layer):
            if layer == 1:
                combined = codes[dims[0]]
            else:
                prefix = known[dims[:-1]]
                combined = prefix.inverse * (int(codes[dims[-1]].max()) + 1) + codes[dims[-1]]
            inverse, uniques = pd.factorize(combined)
            subs = [known[sub] for sub in combinations(dims, layer - 1) if sub]
            redundant = any(sub.size == len(uniques) for sub in subs)
            cuboid = Cuboid(dims, inverse.astype(np.intp), len(uniques), redundant)
            known[dims] = cuboid
            out.append(cuboid)
    return out


def leaf_deviation(real: Floats, predict: Floats) -> Floats:
    """Symmetric relative deviation 2(v − f)/(v + f) in [−2, 2]; 0 where both are 0."""
    total = real + predict
    out = np.zeros_like(total)
    np.divide(2 * (real - predict), total, out=out, where=total > 0)
    return out


def half_sample_mode(x: Floats) -> float:
    """Bickel's half-sample mode: the densest point, robust when most values are anomalous."""
    x = np.sort(x)
    while len(x) > 3:
        half = (len(x) + 1) // 2
        widths = x[half - 1 :] - x[: len(x) - half + 1]
        start = int(np.argmin(widths))
        x = x[start : start + half]
    return float(np.median(x))


def densest_point(x: Floats, coverage: float = COVERAGE) -> float:
    """The half-sample mode of the shortest interval holding ``coverage`` of the values.

    Starting from a quarter rather than a half of the values keeps the estimate in the normal
    cluster when anomalous leaves are the majority but spread over several magnitudes.
    """
    x = np.sort(x)
    k = min(len(x), max(3, int(np.ceil(coverage * len(x)))))
    start = int(np.argmin(x[k - 1 :] - x[: len(x) - k + 1]))
    return half_sample_mode(x[start : start + k])


def _unsaturated(x: Floats) -> Floats:
    """Without the leaves gone to 0 (or up from 0), if any others are left.

    A segment gone wholly to 0 is a cluster of exact ties at −2, infinitely dense: it must not
    be taken for the normal level.
    """
    fit = x[np.abs(x) < 2]
    return fit if len(fit) >= 3 else x


def fit_location(x: Floats) -> float:
    """The normal level of the deviations.

    The densest point, refined by a 3σ-clipped mean. When that lies more than 3σ from 0 while
    at least ``COVERAGE`` of the leaves are within 3σ of 0, the forecast's own level (0, refined
    the same way) is normal instead: the leaves that agree with the forecast are the reference,
    and the crowd that moved together is the anomaly. Otherwise a level shared by nearly every
    leaf is a shift of the whole line, not of a segment.
    """
    fit = _unsaturated(x)
    centre, scale = _refine(fit, densest_point(fit))
    if abs(centre) > CLIP * scale and np.mean(np.abs(fit) < CLIP * scale) >= COVERAGE:
        centre, scale = _refine(fit, 0.0)
    return centre


def _refine(x: Floats, centre: float) -> tuple[float, float]:
    """Three rounds of mean and sd of the values within 3σ of the centre."""
    scale = _initial_scale(x, centre)
    for _ in range(3):
        inside = x[np.abs(x - centre) < CLIP * scale]
        if len(inside) < 3:
            break
        centre = float(inside.mean())
        scale = max(float(inside.std()) / _TRUNCATED_SD, NOISE_FLOOR)
    return centre, scale


def _initial_scale(x: Floats, centre: float) -> float:
    return max(float(np.quantile(np.abs(x - centre), 0.25)) / _Q25_ABS, NOISE_FLOOR)


def fit_scales(x: Floats, centre: float) -> tuple[float, float, float]:
    """Noise scale of one size class around ``centre``: overall, below and above it.

    Started from the lower quartile of |x − centre| and refined on the values within 3σ (the
    root mean square, corrected for the truncation), so anomalous leaves are left out. The 3σ
    band always holds at least half of the leaves: discrete values (small counts, where 0 and 1
    are ordinary) cannot shrink the scale to the ties at the centre.
    """
    d = x - centre
    least = float(np.median(np.abs(d))) / CLIP
    scale = max(_initial_scale(d, 0.0), least)
    for _ in range(3):
        inside = d[np.abs(d) < CLIP * scale]
        if len(inside) < 3:
            break
        scale = max(_rms(inside, scale), least)
    inside = d[np.abs(d) <= CLIP * scale]
    return scale, _rms(inside[inside < 0], scale), _rms(inside[inside > 0], scale)


def _rms(d: Floats, fallback: float) -> float:
    if len(d) < 3:
        return fallback
    return max(float(np.sqrt(np.mean(d**2))) / _TRUNCATED_SD, NOISE_FLOOR)


def score_leaves(
    deviation: Floats, size: Floats, active: Mask, *, compress: bool = False
) -> tuple[Floats, Floats]:
    """Residual (in deviation units) and weight (1/σ²) per leaf; 0 and 0 where inactive.

    The normal level is one for all leaves; the noise scale is fitted per forecast-size class
    (up to ``SIZE_CLASSES``, each of at least ``MIN_CLASS_LEAVES``), so small leaves (noisy,
    rounded) and large ones are each judged by their own noise, lower and upper sides apart.
    With ``compress`` the level is found on the deviation s as always, but the scales and
    residuals are taken on s/(1 + |s|/2) = (v − f)/max(v, f): the same near 0, the tails pulled
    in (the score of a single leaf; see ``search_causes``).
    """
    index = np.flatnonzero(active)
    residual = np.zeros_like(deviation)
    weight = np.zeros_like(deviation)
    if len(index) == 0:
        return residual, weight
    centre = fit_location(deviation[index])
    values = deviation
    if compress:
        centre, values = float(_compress(np.array([centre]))[0]), _compress(deviation)
    classes = max(1, min(SIZE_CLASSES, len(index) // MIN_CLASS_LEAVES))
    order = np.argsort(size[index], kind="stable")
    rank = np.empty(len(index), dtype=np.intp)
    rank[order] = np.arange(len(index))
    members = rank * classes // len(index)
    for k in range(classes):
        leaves = index[members == k]
        scale, lower, upper = fit_scales(values[leaves], centre)
        d = values[leaves] - centre
        residual[leaves] = np.where(d < 0, d / lower, d / upper) * scale
        weight[leaves] = 1.0 / scale**2
    return residual, weight


def _compress(s: Floats) -> Floats:
    """s / (1 + |s|/2) = (v − f) / max(v, f) in [−1, 1]: the same near 0, the tails pulled in
    (a drop of a share m is −m; a rise mirrors it)."""
    return s / (1 + np.abs(s) / 2)


def critical_z(alpha: float, elements: int) -> float:
    """Two-sided Bonferroni threshold for ``elements`` tests at family-wise level ``alpha``."""
    return float(stats.norm.isf(alpha / (2 * max(elements, 1))))


def live_elements(cuboids: list[Cuboid], active: Mask) -> int:
    """Elements with at least one active leaf, over the cuboids scored: the tests searched."""
    return sum(
        int(np.count_nonzero(np.bincount(c.inverse[active], minlength=c.size)))
        for c in cuboids
        if not c.redundant
    )


def best_element(
    cuboids: list[Cuboid],
    residual: Floats,
    weight: Floats,
    threshold: float,
    single: Floats | None = None,
) -> tuple[float, Cuboid, int]:
    """The element with the largest |z| (lower layer on a tie).

    Pruned without loss: by Cauchy–Schwarz |z(e)| ≤ √(Σ wᵢrᵢ²) over e's leaves, and an element
    lies within one element of each of its parent cuboids (one dimension fewer), so a cuboid
    whose parents' largest √(Σ wr²) is below both the threshold and the best |z| so far cannot
    hold the best element nor a cause; it is not scored (cuboids come lowest layer first).
    An element of one leaf scores ``single`` (that leaf's own score) when given.
    """
    best: tuple[float, Cuboid, int] | None = None
    bound: dict[tuple[int, ...], float] = {}
    energy = weight * residual**2
    if single is not None:
        energy = np.maximum(energy, single**2)
    for cuboid in cuboids:
        parents = [bound[p] for p in combinations(cuboid.dims, cuboid.layer - 1) if p]
        reach = min(parents) if parents else np.inf
        level = max(threshold, abs(best[0]) * (1 + TIE)) if best is not None else 0.0
        if cuboid.redundant or reach <= level:
            bound[cuboid.dims] = reach
            continue
        sw = np.bincount(cuboid.inverse, weights=weight, minlength=cuboid.size)
        swr = np.bincount(cuboid.inverse, weights=weight * residual, minlength=cuboid.size)
        bound[cuboid.dims] = float(
            np.sqrt(np.bincount(cuboid.inverse, weights=energy, minlength=cuboid.size).max())
        )
        z = np.zeros(cuboid.size)
        np.divide(swr, np.sqrt(sw), out=z, where=sw > 0)
        if single is not None:
            alone = np.bincount(cuboid.inverse, weights=weight > 0, minlength=cuboid.size) == 1
            lone = np.bincount(cuboid.inverse, weights=single, minlength=cuboid.size)
            z = np.where(alone, lone, z)
        k = int(np.argmax(np.abs(z)))
        if best is None or abs(z[k]) > abs(best[0]) * (1 + TIE):
            best = (float(z[k]), cuboid, k)
    assert best is not None
    return best


def search_causes(
    real: Floats,
    predict: Floats,
    cuboids: list[Cuboid],
    *,
    alpha: float = ALPHA,
    max_causes: int = MAX_CAUSES,
    exclude: Mask | None = None,
) -> list[Finding]:
    """Greedy search for the elements whose leaves share a significant common shift.

    Returns the findings in the order found. The threshold is fixed from the number of elements
    with data at the start, so later rounds are no easier. Leaves in ``exclude`` (a negative
    value, say) take no part: they are neither scored nor claimed.

    A segment of one leaf is scored on the compressed deviation (v − f)/max(v, f) (see
    ``score_leaves``): under multiplicative noise 2(v − f)/(v + f) stretches the tail (a 4σ
    error at 19% noise becomes 6.5σ), and searched down to single leaves such tails were named
    as causes; a segment of several leaves averages them and keeps the more sensitive s.
    """
    deviation = leaf_deviation(real, predict)
    active = (real + predict) > 0
    if exclude is not None:
        active &= ~exclude
    nested = nested_dims(cuboids)
    threshold = critical_z(alpha, live_elements(cuboids, active))
    found: list[Finding] = []
    while len(found) < max_causes and active.sum() >= 3:
        residual, weight = score_leaves(deviation, predict, active)
        lone_r, lone_w = score_leaves(deviation, predict, active, compress=True)
        single = lone_r * np.sqrt(lone_w)
        z, cuboid, element = best_element(cuboids, residual, weight, threshold, single)
        if abs(z) < threshold:
            break
        scored = (residual, weight, predict)
        for part, part_element in _split(cuboids, cuboid, element, scored, active, nested):
            claimed = active & (part.inverse == part_element)
            finding = _finding(cuboids, part, part_element, residual, weight, claimed)
            if claimed.sum() == 1:
                finding = replace(finding, z=float(single[claimed][0]))
            found.append(finding)
            active = active & ~claimed
    return found[:max_causes]


def nested_dims(cuboids: list[Cuboid]) -> set[tuple[int, int]]:
    """Pairs (d, p) of dimensions where every value of d lies within one value of p (a store
    within its district), read from the leaves: d's cuboid has as many elements as (d, p)'s."""
    by_dims = {c.dims: c for c in cuboids}
    pairs = set()
    for (a, b), pair in ((k, c) for k, c in by_dims.items() if len(k) == 2):
        for d, p in ((a, b), (b, a)):
            if by_dims[(d,)].size == pair.size:
                pairs.add((d, p))
    return pairs


def _finding(
    cuboids: list[Cuboid],
    cuboid: Cuboid,
    element: int,
    residual: Floats,
    weight: Floats,
    claimed: Mask,
) -> Finding:
    """The finding for ``claimed``, named by the fewest dimensions that hold exactly its leaves
    (``store=S1`` rather than ``district=D1&store=S1``)."""
    members = cuboid.inverse == element
    first = int(np.flatnonzero(members)[0])
    for other in cuboids:
        smaller = other.layer < cuboid.layer and set(other.dims) < set(cuboid.dims)
        if smaller and np.array_equal(other.inverse == other.inverse[first], members):
            cuboid, element = other, int(other.inverse[first])
            break
    w = weight[claimed]
    z = float((w * residual[claimed]).sum() / np.sqrt(w.sum())) if w.sum() > 0 else 0.0
    return Finding(cuboid, element, z, claimed)


def _split(
    cuboids: list[Cuboid],
    cuboid: Cuboid,
    element: int,
    scored: tuple[Floats, Floats, Floats],
    active: Mask,
    nested: set[tuple[int, int]],
    alpha: float = ALPHA,
) -> list[tuple[Cuboid, int]]:
    """The element, or the hit children it holds when a material part of it clearly did not move.

    A parent with most children hit outscores each hit child, yet its normal children break the
    ripple effect. Only a dimension nested in one of the parent's (a store in a district) splits
    it: crossing dimensions overlap, and a child that moved differently there is another cause's
    overlap, which the greedy search finds on its own. For each such cuboid one dimension finer,
    every child's shift is the forecast-weighted mean of its leaves' residuals (large leaves
    speak loudest: small counts round a relative shift away), with its standard error from the
    leaves' noise scales. A split needs children that certainly moved (past the Bonferroni
    threshold over all children tested); the children nearer no shift than the moved children's
    mean must hold at least ``NORMAL_SHARE`` of the parent's forecast and, together, show no
    certain shift of their own (another cause overlapping this one moves them differently)
    while lying that certainly below the moved level. The finer cuboid with the strongest such
    evidence wins, and each hit child is split again in turn.
    """
    residual, weight, size = scored
    inside = active & (cuboid.inverse == element)
    w, r, f = weight[inside], residual[inside], size[inside]
    sign = 1.0 if (w * r).sum() >= 0 else -1.0
    finer = [
        c
        for c in cuboids
        if c.layer == cuboid.layer + 1
        and set(cuboid.dims) < set(c.dims)
        and any((d, p) in nested for d in set(c.dims) - set(cuboid.dims) for p in cuboid.dims)
    ]
    sums = []
    for child in finer:
        codes = child.inverse[inside]
        sf = np.bincount(codes, weights=f, minlength=child.size)
        sfr = np.bincount(codes, weights=sign * f * r, minlength=child.size)
        sff = np.bincount(codes, weights=f**2 / np.maximum(w, 1e-300), minlength=child.size)
        present = np.flatnonzero((sf > 0) & (sff > 0))
        sums.append((child, present, sf[present], sfr[present], sff[present]))
    critical = critical_z(alpha, sum(len(p) for _, p, *_ in sums))
    best: tuple[float, Cuboid, Ints] | None = None
    for child, present, sf, sfr, sff in sums:
        shift, se = sfr / sf, np.sqrt(sff) / sf
        sure = shift >= critical * se
        if not sure.any() or sure.all():
            continue
        moved = float((shift[sure] / se[sure] ** 2).sum() / (1 / se[sure] ** 2).sum())
        rest = shift < moved / 2
        if sf[rest].sum() < NORMAL_SHARE * f.sum():
            continue
        level = sfr[rest].sum() / sf[rest].sum()
        level_se = np.sqrt(sff[rest].sum()) / sf[rest].sum()
        evidence = (moved - level) / level_se
        if level < critical * level_se <= evidence and (best is None or evidence > best[0]):
            best = (evidence, child, present[~rest])
    if best is None:
        return [(cuboid, element)]
    _, child, elements = best
    return [
        part
        for e in elements
        for part in _split(cuboids, child, int(e), scored, active, nested, alpha)
    ]

"""The numeric core of root-cause localisation: cuboids, the leaf noise model, the greedy search.

Everything here works on numpy arrays of leaves (one leaf per combination of dimension values,
already aggregated, held by a ``cube.Lattice``); ``earnright.reliability.localize`` turns frames
into these arrays and the findings back into labelled root causes. The method is described in
docs/localize.md.

- ``cube.Lattice`` — every subset of up to ``max_layer`` dimensions (a *cuboid*); each cuboid's
  element sums are built on demand from a finer cuboid's by numpy group-by (``build_cuboids``
  makes one from codes).
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

import numpy as np
from numpy.typing import NDArray
from scipy import special

from earnright.reliability.cube import Cuboid, Lattice, build_cuboids
from earnright.reliability.quantiles import half_sample_mode, quarter_and_median, root_mean_square

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
    "nested_dims",
    "noise_level",
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
# an element of this many active leaves or fewer is scored on the compressed deviation, as a
# single leaf is: the stretched tail of s dominates the mean of a few leaves (on a generated H
# case, 7 false causes of 2-4 leaves at z 6.7-7.1). Not 5: a 5-leaf cause gone to 0 then ties
# with its 20-leaf parent scored on s, and the parent is named (see docs/localize.md)
FEW_LEAVES = 4
# ... in searches of at least this many active leaves. In a small one (a company of a few
# stores, a few leaves each) a segment of a few leaves is a large share of the data, and the
# compressed deviation, bounded per leaf, weighs a real departure less than s: there only
# single leaves are scored that way (the 6-store demo's 2-store failure, 18 leaves, went unnamed
# otherwise: tests/api's warnings parity needs an incident there)
FEW_LEAVES_FROM = 500
FIT_LEAVES = 1 << 18  # beyond this many active leaves the noise model is fitted on a sample
# sd of a standard normal truncated to ±3, and the lower quartile of |N(0, 1)|
_TRUNCATED_SD = 0.986577
_Q25_ABS = 0.318639

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]
Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class Finding:
    """One cause found: an element of a cuboid, its z score, and the leaves it claimed."""

    cuboid: Cuboid
    element: int
    z: float
    leaves: Mask


def leaf_deviation(real: Floats, predict: Floats) -> Floats:
    """Symmetric relative deviation 2(v − f)/(v + f) in [−2, 2]; 0 where both are 0."""
    total = real + predict
    out = np.zeros_like(total)
    np.divide(2 * (real - predict), total, out=out, where=total > 0)
    return out


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
    size = np.abs(d)
    quarter, median = quarter_and_median(size)
    least = median / CLIP
    scale = max(max(quarter / _Q25_ABS, NOISE_FLOOR), least)  # _initial_scale(d, 0.0)
    for _ in range(3):  # a round that leaves the scale as it was would leave it so again
        inside = d[size < CLIP * scale]
        if len(inside) < 3 or (same := max(_rms(inside, scale), least)) == scale:
            break
        scale = same
    inside = d[size <= CLIP * scale]
    return scale, _rms(inside[inside < 0], scale), _rms(inside[inside > 0], scale)


def _rms(d: Floats, fallback: float) -> float:
    if len(d) < 3:
        return fallback
    return max(root_mean_square(d) / _TRUNCATED_SD, NOISE_FLOOR)


def score_leaves(
    deviation: Floats,
    size: Floats,
    active: Mask,
    *,
    compress: bool = False,
    classes: NDArray[np.uint8] | None = None,
    level: tuple[float, Ints] | None = None,
) -> tuple[Floats, Floats]:
    """Residual (in deviation units) and weight (1/σ²) per leaf; 0 and 0 where inactive.

    The normal level is one for all leaves; the noise scale is fitted per forecast-size class
    (up to ``SIZE_CLASSES``, each of at least ``MIN_CLASS_LEAVES``), so small leaves (noisy,
    rounded) and large ones are each judged by their own noise, lower and upper sides apart.
    With ``compress`` the level is found on the deviation s as always, but the scales and
    residuals are taken on s/(1 + |s|/2) = (v − f)/max(v, f): the same near 0, the tails pulled
    in (the score of a single leaf; see ``search_causes``). Beyond ``FIT_LEAVES`` active leaves
    the level and scales are fitted on a fixed random sample of that many, with the size
    classes ``classes`` (default: ``size_classes``) kept from round to round (``_score_many``).
    ``level``: :func:`noise_level` of the active leaves, when the caller holds it already.
    """
    index = np.flatnonzero(active)
    residual = np.zeros_like(deviation)
    weight = np.zeros_like(deviation)
    if len(index) == 0:
        return residual, weight
    if len(index) > FIT_LEAVES:
        if classes is None:
            classes = size_classes(size, active)
        return _score_many(deviation, active, index, compress, classes)
    centre, members = level or noise_level(deviation, size, index)
    values = deviation
    if compress:
        centre, values = float(_compress(np.array([centre]))[0]), _compress(deviation)
    for k in range(max(1, min(SIZE_CLASSES, len(index) // MIN_CLASS_LEAVES))):
        leaves = index[members == k]
        scale, lower, upper = fit_scales(values[leaves], centre)
        d = values[leaves] - centre
        residual[leaves] = np.where(d < 0, d / lower, d / upper) * scale
        weight[leaves] = 1.0 / scale**2
    return residual, weight


def noise_level(deviation: Floats, size: Floats, index: Ints) -> tuple[float, Ints]:
    """The normal level of the leaves ``index`` (at most ``FIT_LEAVES``) and each one's
    forecast-size class (by rank, ``score_leaves``'s classes): the same for both variants of a
    round's scores, so a round finds them once."""
    groups = max(1, min(SIZE_CLASSES, len(index) // MIN_CLASS_LEAVES))
    order = np.argsort(size[index], kind="stable")
    rank = np.empty(len(index), dtype=np.intp)
    rank[order] = np.arange(len(index))
    return fit_location(deviation[index]), rank * groups // len(index)


def size_classes(size: Floats, active: Mask) -> NDArray[np.uint8]:
    """Each leaf's forecast-size class for ``_score_many``: ``SIZE_CLASSES`` classes of equal
    count among ``FIT_LEAVES`` active leaves drawn at random (a fixed seed); no sort of all."""
    index = np.flatnonzero(active)
    sample = np.sort(size[index[np.random.default_rng(1).integers(0, len(index), FIT_LEAVES)]])
    edges = np.unique(sample[np.arange(1, SIZE_CLASSES) * len(sample) // SIZE_CLASSES])
    classes = np.zeros(len(size), dtype=np.uint8)
    above = np.empty(len(size), dtype=bool)
    for edge in edges:  # the edges at or below each size: a compare per edge, not a search
        classes += np.greater_equal(size, edge, out=above)
    return classes


def _score_many(
    deviation: Floats,
    active: Mask,
    index: Ints,
    compress: bool,
    classes: NDArray[np.uint8],
) -> tuple[Floats, Floats]:
    """``score_leaves`` for millions of leaves, with array operations and no sort of them all.

    The normal level and each size class's scales are fitted on ``FIT_LEAVES`` active leaves
    drawn at random (a fixed seed); then each class's residuals are re-centred on all its
    active leaves (their mean within 3σ is set to 0). Over millions of leaves a segment of a
    million is tested to a thousandth of σ: a level off by the sample's error (σ/√262,144 =
    0.002σ) made whole values of a dimension "causes" at z = 10, which the re-centring removes.
    """
    sample = index[np.random.default_rng(0).integers(0, len(index), FIT_LEAVES)]
    centre = fit_location(deviation[sample])
    values = _compress(deviation) if compress else deviation
    if compress:
        centre = float(_compress(np.array([centre]))[0])
    count = int(classes.max()) + 1
    members = classes[sample]
    overall = fit_scales(values[sample], centre)
    fits = np.array(
        [
            fit_scales(values[sample[members == k]], centre)
            if np.count_nonzero(members == k) >= MIN_CLASS_LEAVES
            else overall
            for k in range(count)
        ]
    )
    d = values - centre
    side = np.add(classes * np.uint8(2), d > 0, dtype=np.uint8)
    factor = np.stack([fits[:, 0] / fits[:, 1], fits[:, 0] / fits[:, 2]], axis=1).reshape(-1)
    residual = d
    residual *= factor[side]
    del side
    inside = active & (np.abs(residual) < CLIP)
    members = classes[inside]
    total = np.bincount(members, weights=residual[inside], minlength=count)
    shift = total / np.maximum(np.bincount(members, minlength=count), 1)
    del inside, members
    residual -= shift[classes]
    residual *= active
    weight = (1.0 / fits[:, 0] ** 2)[classes]
    weight *= active
    return residual, weight


def _compress(s: Floats) -> Floats:
    """s / (1 + |s|/2) = (v − f) / max(v, f) in [−1, 1]: the same near 0, the tails pulled in
    (a drop of a share m is −m; a rise mirrors it)."""
    return s / (1 + np.abs(s) / 2)


def critical_z(alpha: float, elements: int) -> float:
    """Two-sided Bonferroni threshold for ``elements`` tests at family-wise level ``alpha``."""
    return float(-special.ndtri(alpha / (2 * max(elements, 1))))  # the normal's upper quantile


def best_element(
    lattice: Lattice, residual: Floats, weight: Floats, single: Floats, few: int = FEW_LEAVES
) -> tuple[float, Cuboid, int, int]:
    """The element with the largest |z| (lower layer on a tie), and the number of elements
    with an active leaf over the cuboids scored (the tests searched).

    Every cuboid that is not redundant is scored from four sums per element — Σw, Σwr, the
    active leaves, and the single-leaf scores Σ``single`` (an element of at most ``few``
    active leaves scores Σ``single``/√leaves) — which the lattice builds cuboid
    by cuboid, each from the smallest finer one.
    """
    arrays: list[Floats | Mask] = [weight, weight * residual, weight > 0, single]
    best_of: dict[tuple[int, ...], tuple[float, int]] = {}
    live = 0
    leaves = tuple(range(len(lattice.space.cards)))
    for dims, (sw, swr, count, lone) in lattice.sums(arrays, skip_redundant=True):
        if dims == leaves and lattice.space.dense:  # the leaves: an element holds one or none
            k = int(np.argmax(np.abs(lone)))
            best_of[dims] = (float(lone[k]), k)
            live += int(np.count_nonzero(count))
            continue
        z = np.zeros(len(sw))
        small = (count > 0) & (count <= few)
        np.divide(swr, np.sqrt(sw), out=z, where=(sw > 0) & ~small)
        np.divide(lone, np.sqrt(count), out=z, where=small)
        k = int(np.argmax(np.abs(z)))
        best_of[dims] = (float(z[k]), k)
        live += int(np.count_nonzero(count))
    best: tuple[float, Cuboid, int] | None = None
    for cuboid in lattice:  # lowest layer first: a later cuboid must beat the best clearly
        if cuboid.dims not in best_of:
            continue
        z_k, k = best_of[cuboid.dims]
        if best is None or abs(z_k) > abs(best[0]) * (1 + TIE):
            best = (z_k, cuboid, k)
    assert best is not None
    return (*best, live)


def search_causes(
    lattice: Lattice,
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
    real, predict = lattice.space.real, lattice.space.predict
    deviation = leaf_deviation(real, predict)
    active = (real + predict) > 0
    if exclude is not None:
        active &= ~exclude
    nested = nested_dims(lattice)
    threshold: float | None = None
    found: list[Finding] = []
    classes = size_classes(predict, active) if active.sum() > FIT_LEAVES else None
    few = FEW_LEAVES if active.sum() >= FEW_LEAVES_FROM else 1
    while len(found) < max_causes and active.sum() >= 3:
        index = np.flatnonzero(active)
        level = noise_level(deviation, predict, index) if len(index) <= FIT_LEAVES else None
        residual, weight = score_leaves(deviation, predict, active, classes=classes, level=level)
        lone_r, lone_w = score_leaves(
            deviation, predict, active, compress=True, classes=classes, level=level
        )
        single = lone_r * np.sqrt(lone_w)
        del lone_r, lone_w
        z, cuboid, element, live = best_element(lattice, residual, weight, single, few)
        if threshold is None:
            threshold = critical_z(alpha, live)
        if abs(z) < threshold:
            break
        scored = (residual, weight, predict)
        for part, part_element in _split(lattice, cuboid, element, scored, active, nested):
            claimed = active & lattice.members(part, part_element)
            finding = _finding(lattice, part, part_element, residual, weight, claimed)
            leaves = np.count_nonzero(claimed)
            if leaves <= few:
                finding = replace(finding, z=float(single[claimed].sum() / np.sqrt(leaves)))
            found.append(finding)
            active = active & ~claimed
    return found[:max_causes]


def nested_dims(cuboids: Lattice) -> set[tuple[int, int]]:
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
    lattice: Lattice,
    cuboid: Cuboid,
    element: int,
    residual: Floats,
    weight: Floats,
    claimed: Mask,
) -> Finding:
    """The finding for ``claimed``, named by the fewest dimensions that hold exactly its leaves
    (``store=S1`` rather than ``district=D1&store=S1``): a sub-cuboid's element holds the
    element's leaves and more, so the same count of leaves means the same leaves."""
    cuboid, element = lattice.simplest(cuboid, element)
    w = weight[claimed]
    z = float((w * residual[claimed]).sum() / np.sqrt(w.sum())) if w.sum() > 0 else 0.0
    return Finding(cuboid, element, z, claimed)


def _split(
    lattice: Lattice,
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
    inside = np.flatnonzero(active & lattice.members(cuboid, element))
    w, r, f = weight[inside], residual[inside], size[inside]
    sign = 1.0 if (w * r).sum() >= 0 else -1.0
    finer = [
        c
        for c in lattice
        if c.layer == cuboid.layer + 1
        and set(cuboid.dims) < set(c.dims)
        and any((d, p) in nested for d in set(c.dims) - set(cuboid.dims) for p in cuboid.dims)
    ]
    sums = []
    for child in finer:
        ids, codes = np.unique(lattice.element_ids(child, inside), return_inverse=True)
        sf = np.bincount(codes, weights=f, minlength=len(ids))
        sfr = np.bincount(codes, weights=sign * f * r, minlength=len(ids))
        sff = np.bincount(codes, weights=f**2 / np.maximum(w, 1e-300), minlength=len(ids))
        present = np.flatnonzero((sf > 0) & (sff > 0))
        sums.append((child, ids[present], sf[present], sfr[present], sff[present]))
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
        for part in _split(lattice, child, int(e), scored, active, nested, alpha)
    ]

"""The greedy search on a large dense case: the cube summed once, then updated by each claim.

``search.search_causes`` refits the noise model and sums the whole cube again in every round:
on RiskLoc's H setting (24 million leaves, 63 cuboids) that is two noise fits and a pass of
four arrays through the cube per round, about 5 CPU seconds each. Beyond ``search.FIT_LEAVES``
active leaves the noise model is fitted on a sample anyway, and one round's causes claim only
their own leaves; so here, for a dense case of that size:

- the noise model is fitted once, in the first round (level, scales per size class and side,
  re-centring per class), and the cube's element sums (Σw, Σwr, active leaves, Σ single-leaf
  scores) are summed once and kept;
- a cause's leaves are a block of the grid: their sums over every cuboid (the block's own small
  cube) are subtracted from the kept sums, and the block's leaves are zeroed;
- the refit's re-centring is kept as one shift Δ of the residuals, the weighted mean residual of
  the leaves left within the clip band: Σw(r − Δ) = Σwr − Δ·Σw per element, from the kept sums.
  (A cause pulls each size class's mean by about the same amount in deviation units: its shift
  is relative, whatever the leaves' size. The scales are not refitted: the leaves a cause held
  inside the clip band widened them — by more than 10% on an H case whose cause was three
  values of a dimension of 8 — which errs on the side of no cause; see docs/localize.md for
  the refit that was tried.)

Each later round then costs a pass over the kept sums (the elements of the cube, 16 million on
H) instead of the leaves and two noise fits. Smaller or sparse cases take ``search_causes``'s
exact path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from earnright.reliability import search
from earnright.reliability.cube import Cuboid, Lattice, sum_axes
from earnright.reliability.largefit import score_large
from earnright.reliability.search import (
    CLIP,
    FEW_LEAVES,
    TIE,
    Finding,
    Mask,
    _split,
    critical_z,
    nested_dims,
)

__all__ = ["incremental", "search_large"]

Sums = list[NDArray[Any]]


def incremental(lattice: Lattice, active_leaves: int) -> bool:
    """Whether ``search_large`` serves this case: a dense grid beyond ``FIT_LEAVES`` leaves."""
    return lattice.space.dense and active_leaves > search.FIT_LEAVES


class KeptCube:
    """The four element sums of every scored cuboid, kept in grid shape and updated in place.

    ``leaf`` holds the leaves' own four arrays (weight, weight × residual, active, single-leaf
    score), 0 where a leaf is inactive; the leaves' cuboid is those arrays themselves.
    """

    def __init__(self, lattice: Lattice, leaf: Sums) -> None:
        self.lattice = lattice
        self.cards = lattice.space.cards
        self.root = tuple(range(len(self.cards)))
        self.leaf = [a.reshape(self.cards) for a in leaf]
        self.sums: dict[tuple[int, ...], Sums] = {}
        self.scored: set[tuple[int, ...]] = set()
        self.small: dict[tuple[int, ...], bool] = {}  # may hold elements of few leaves
        self.live = 0
        # per cuboid, a bound on its elements' |z|: the shift it was evaluated at, the largest
        # |z| then (raised by every claim's changed elements), and the largest √Σw (Σw only
        # falls). |z| moves by at most |Δ shift| · √Σw, so a cuboid whose bound cannot beat
        # the best so far (or the threshold) need not be looked at again
        self.bound: dict[tuple[int, ...], tuple[float, float, float]] = {}
        self.roots: dict[tuple[int, ...], float] = {}
        shapes = {c.dims: c.shape for c in lattice}
        for dims, arrays in lattice.sums(leaf, skip_redundant=True):
            self.live += int(np.count_nonzero(arrays[2]))
            self.scored.add(dims)
            if dims != self.root:
                self.sums[dims] = [a.reshape(shapes[dims]) for a in arrays]
                self.small[dims] = _has_few(arrays[2])
                self.roots[dims] = float(np.sqrt(arrays[0].max(initial=0.0)))

    def best(self, shift: float, few: int, threshold: float = 0.0) -> tuple[float, Cuboid, int]:
        """The element with the largest |z| (lower layer on a tie), residuals less ``shift``.

        A cuboid whose bound (see ``__init__``) is below ``threshold`` or cannot beat the best
        found before it is skipped: the answer is the same whenever it passes ``threshold``
        (below it, a |z| under ``threshold``, possibly not the largest, comes back).
        """
        best: tuple[float, Cuboid, int] | None = None
        first: Cuboid | None = None
        for cuboid in self.lattice:  # lowest layer first: a later cuboid must beat it clearly
            dims = cuboid.dims
            if dims not in self.scored:
                continue
            first = first or cuboid
            limit = threshold if best is None else max(threshold, abs(best[0]) * (1 + TIE))
            if dims in self.bound:
                at, top, root = self.bound[dims]
                if top + abs(shift - at) * root < limit:
                    continue
            if dims == self.root:
                lone = self.leaf[3].reshape(-1)
                k = int(np.argmax(np.abs(lone)))
                z_k = float(lone[k])
                self.bound[dims] = (shift, abs(z_k), 0.0)
            else:
                flat = [a.reshape(-1) for a in self.sums[dims]]
                z_k, k = _best_of(flat, shift, few, self.small[dims])
                self.bound[dims] = (shift, abs(z_k), self.roots[dims])
            if best is None or abs(z_k) > abs(best[0]) * (1 + TIE):
                best = (z_k, cuboid, k)
        assert first is not None
        return best or (0.0, first, 0)

    def claim(
        self, dims: tuple[int, ...], values: tuple[int, ...]
    ) -> tuple[list[float], tuple[float, float], Mask]:
        """Take the active leaves of one element out of every kept sum. Returns their four
        totals, their Σw and Σw·r within the clip band, and the leaves taken (a mask)."""
        index = tuple(
            slice(values[dims.index(d)], values[dims.index(d)] + 1) if d in dims else slice(None)
            for d in range(len(self.cards))
        )
        block = [np.ascontiguousarray(a[index]) for a in self.leaf]  # summed fast, copied once
        done: dict[tuple[int, ...], Sums] = {self.root: block}
        for target in sorted(self.sums, key=len, reverse=True):
            parent = min((p for p in done if set(target) < set(p)), key=lambda p: done[p][0].size)
            axes = tuple(k for k, d in enumerate(parent) if d not in target)
            part = [sum_axes(a, axes) for a in done[parent]]
            done[target] = part
            into = tuple(
                slice(values[dims.index(d)], values[dims.index(d)] + 1)
                if d in dims
                else slice(None)
                for d in target
            )
            for kept, sub in zip(self.sums[target], part, strict=True):
                kept[into] -= sub
            self.small[target] |= _has_few(self.sums[target][2][into])
            self._raise_bound(target, into)
        totals = [float(sum_axes(a)) for a in block]
        w, wr, active = block[0], block[1], block[2]
        residual = np.zeros(w.shape)
        np.divide(wr, w, out=residual, where=w > 0)
        within = active & (np.abs(residual) < CLIP)
        band = (float(sum_axes(w[within])), float(sum_axes(wr[within])))
        leaves = np.zeros(self.cards, dtype=bool)
        leaves[index] = active
        for a in self.leaf:
            a[index] = 0
        return totals, band, leaves.reshape(-1)

    def _raise_bound(self, dims: tuple[int, ...], into: tuple[slice, ...]) -> None:
        """A claim changed the elements ``into`` of a cuboid: its bound also covers their
        new |z| (at the shift the bound was taken at)."""
        if dims in self.bound:
            at, top, root = self.bound[dims]
            changed = [np.ascontiguousarray(a[into]).reshape(-1) for a in self.sums[dims]]
            z_k, _ = _best_of(changed, at, FEW_LEAVES, self.small[dims])
            self.bound[dims] = (at, max(top, abs(z_k)), root)


def _has_few(count: NDArray[Any]) -> bool:
    return bool(np.any((count > 0) & (count <= FEW_LEAVES)))


def _best_of(sums: Sums, shift: float, few: int, small: bool) -> tuple[float, int]:
    """The element of largest |z| in one cuboid's flattened sums, and its z; ranked on z² (no
    square root of every element), elements of at most ``few`` leaves only when ``small``."""
    sw, swr, count, lone = sums
    num = swr - shift * sw
    z2 = num * num
    np.divide(z2, sw, out=z2, where=sw > 0)
    if small:
        few_leaves = np.flatnonzero((count > 0) & (count <= few))
        z2[few_leaves] = lone[few_leaves] ** 2 / count[few_leaves]
    k = int(np.argmax(z2))
    if small and 0 < count[k] <= few:
        return float(lone[k] / np.sqrt(count[k])), k
    return float(np.sign(num[k]) * np.sqrt(z2[k])), k


def search_large(
    lattice: Lattice,
    *,
    alpha: float,
    max_causes: int,
    exclude: Mask | None = None,
) -> list[Finding]:
    """``search_causes`` for a large dense case: one noise fit, one pass of the cube, and each
    later round only the claimed leaves' block and the kept element sums (module docstring)."""
    real, predict = lattice.space.real, lattice.space.predict
    active = (real + predict) > 0
    if exclude is not None:
        active &= ~exclude
    scores = score_large(real, predict, active)
    band = scores.band
    cube = KeptCube(lattice, scores.arrays)
    threshold = critical_z(alpha, cube.live)
    nested = nested_dims(lattice)
    found: list[Finding] = []
    left = int(np.count_nonzero(active))
    del active
    while len(found) < max_causes and left >= 3:
        shift = band[1] / band[0] if band[0] > 0 else 0.0
        z, cuboid, element = cube.best(shift, FEW_LEAVES, threshold)
        if abs(z) < threshold:
            break
        parts = [(cuboid, element)]
        if nested:  # (the weights and residuals of the leaves not claimed yet)
            scored = (scores.residual() - shift, scores.arrays[0].astype(np.float64), predict)
            live = cube.leaf[2].reshape(-1)
            parts = _split(lattice, cuboid, element, scored, live, nested, alpha)
        for part, part_element in parts:
            values = lattice.values(part, part_element)
            if not cube.leaf[2][lattice.space.block(part.dims, values)].any():
                continue
            totals, within, leaves = cube.claim(part.dims, values)
            sw, swr, count, lone = totals
            z_part = (swr - shift * sw) / np.sqrt(sw) if sw > 0 else 0.0
            if count <= FEW_LEAVES:
                z_part = lone / np.sqrt(count)
            found.append(Finding(*lattice.simplest(part, part_element), float(z_part), leaves))
            band[0] -= within[0]
            band[1] -= within[1]
            left -= int(count)
    return found[:max_causes]

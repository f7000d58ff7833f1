"""Leaves coded as integers, and the sums of every cuboid by numpy group-by, built on demand.

Root-cause localisation scores every element (combination of dimension values) of every cuboid
(subset of dimensions) by sums over its leaves. Holding, for each cuboid, the element of every
leaf costs leaves × cuboids integers — 24 million leaves × 63 cuboids is 12 GB — so nothing per
leaf and cuboid is kept here:

- ``LeafSpace`` — the leaves of a case. When the grid of all value combinations is not much
  larger than the number of leaves (a full or nearly full cube, as in the benchmarks), the leaf
  arrays *are* that grid: leaf ``i`` is the combination whose mixed-radix number is ``i``, and
  slots no row filled are absent leaves (0 and 0, never active). Otherwise (sparse: nested
  dimensions, many dimensions) the leaves are the distinct combinations, sorted.
- ``Lattice`` — the cuboids of up to ``max_layer`` dimensions. A cuboid whose own grid is small
  (the product of its dimensions' cardinalities) keeps its element sums in that grid: they are
  the sums of a finer cuboid's grid over one axis (the smallest finer one already summed) — a
  data cube computed from its smallest parent, no index array at all. Only a cuboid whose grid
  would be far larger than the leaves (sparse) keeps an element number per leaf.

Elements are numbered in the cuboid's grid (mixed radix over its dimensions' codes, codes in the
sorted order of the value labels, or a categorical column's category order), or for a sparse
cuboid in the sorted order of the same numbers: the same order either way, and independent of
the order the rows came in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Cuboid", "Lattice", "LeafSpace", "build_cuboids", "code_leaves", "sum_axes"]

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]
Mask = NDArray[np.bool_]
DENSE_FACTOR = 4  # a grid up to this many times the leaves is held densely ...
DENSE_MIN = 1 << 16  # ... and any grid up to this many slots
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _dense(slots: int, leaves: int) -> bool:
    return slots <= max(DENSE_FACTOR * leaves, DENSE_MIN)


def _small_ints(codes: NDArray[np.integer], card: int) -> NDArray[np.integer]:
    dtype = np.uint8 if card <= 1 << 8 else np.uint16 if card <= 1 << 16 else np.int64
    return codes.astype(dtype, copy=False)


@dataclass
class LeafSpace:
    """The leaves of one case: their values and, per dimension, each leaf's code.

    ``cards`` are the dimensions' cardinalities. Dense (``codes`` is None): leaf ``i`` is the
    grid slot ``i`` of ``cards``; ``present`` marks the slots some row filled. Sparse: ``codes``
    holds each leaf's code per dimension and every leaf is present.
    """

    cards: tuple[int, ...]
    real: Floats
    predict: Floats
    present: Mask
    codes: list[NDArray[np.integer]] | None = None

    @property
    def dense(self) -> bool:
        return self.codes is None

    def __len__(self) -> int:
        return len(self.real)

    def leaf_codes(self, dims: tuple[int, ...], leaves: Ints) -> list[NDArray[np.integer]]:
        """The codes of ``leaves`` (indices) in each of ``dims``."""
        if self.codes is None:
            unravelled = np.unravel_index(leaves, self.cards)
            return [unravelled[d] for d in dims]
        return [self.codes[d][leaves] for d in dims]

    def block(self, dims: tuple[int, ...], values: tuple[int, ...]) -> tuple[slice | int, ...]:
        """Dense only: the index into the grid that selects one element of ``dims``."""
        index: list[slice | int] = [slice(None)] * len(self.cards)
        for d, v in zip(dims, values, strict=True):
            index[d] = int(v)
        return tuple(index)

    def members(self, dims: tuple[int, ...], values: tuple[int, ...]) -> Mask:
        """The leaves of the element ``values`` of the cuboid ``dims``."""
        if self.codes is None:
            mask = np.zeros(self.cards, dtype=bool)
            mask[self.block(dims, values)] = True
            return mask.reshape(-1)
        out = np.ones(len(self), dtype=bool)
        for d, v in zip(dims, values, strict=True):
            out &= self.codes[d] == v
        return out

    def count(self, dims: tuple[int, ...], values: tuple[int, ...]) -> int:
        """How many present leaves the element ``values`` of ``dims`` holds."""
        if self.codes is None:
            return int(np.count_nonzero(self.present.reshape(self.cards)[self.block(dims, values)]))
        return int(np.count_nonzero(self.members(dims, values)))


def sum_axes(a: NDArray[Any], axes: int | tuple[int, ...] | None = None) -> NDArray[Any]:
    """``a`` summed over ``axes``: floats (32-bit leaf arrays too) accumulated in 64 bits, a
    mask counted in 32-bit integers (the fastest count numpy has), integers in their type."""
    kind = a.dtype.kind
    dtype = np.float64 if kind == "f" else np.int32 if kind == "b" else a.dtype
    if axes is None or a.ndim > len(_LETTERS):
        return np.asarray(a.sum(axis=axes, dtype=dtype))
    # einsum: the same sums, and about twice as fast as sum() over short inner axes
    # (a cuboid dropping a dimension of 8 or 12 values from 24 million leaves)
    drop = {axes} if isinstance(axes, int) else set(axes)
    letters = _LETTERS[: a.ndim]
    kept = "".join(c for k, c in enumerate(letters) if k not in drop)
    return np.asarray(
        np.einsum(f"{letters}->{kept}", a.view(np.uint8) if kind == "b" else a, dtype=dtype)
    )


def _sum_by(key: NDArray[np.integer], weights: Floats | Mask, slots: int) -> Floats:
    """The sum of ``weights`` per value of ``key`` (0 .. slots-1): numpy's group-by."""
    return np.bincount(key, weights=weights, minlength=slots).astype(np.float64, copy=False)


def code_leaves(
    codes: Sequence[NDArray[np.integer]], cards: list[int], real: Floats, predict: Floats
) -> LeafSpace:
    """Sum rows per combination of codes (each in 0 .. card-1): numpy group-by, no sort when
    the grid is dense (one ``bincount`` per value into the grid's slots)."""
    slots = int(np.prod([float(c) for c in cards]))
    rows = len(real)
    if slots < 2**62:
        key = _ravel(codes, cards)
        if rows == slots and _in_grid_order(key):  # the rows are the grid already: no sums
            return LeafSpace(tuple(cards), real, predict, np.ones(slots, dtype=bool))
        if _dense(slots, rows):
            present = np.bincount(key, minlength=slots) > 0
            real_sum, predict_sum = _sum_by(key, real, slots), _sum_by(key, predict, slots)
            return LeafSpace(tuple(cards), real_sum, predict_sum, present)
        uniques, inverse = np.unique(key, return_inverse=True)
        leaf_codes: list[NDArray[np.integer]] = list(np.unravel_index(uniques, cards))
    else:  # too many combinations for one integer: factorise one dimension at a time
        inverse = np.zeros(rows, dtype=np.intp)
        for code, card in zip(codes, cards, strict=True):
            combined = inverse.astype(np.int64) * card + code
            uniques, inverse = np.unique(combined, return_inverse=True)
        first = np.zeros(len(uniques), dtype=np.intp)
        first[inverse[::-1]] = np.arange(rows)[::-1]
        leaf_codes = [code[first] for code in codes]
    leaves = len(leaf_codes[0])
    return LeafSpace(
        tuple(cards),
        _sum_by(inverse, real, leaves),
        _sum_by(inverse, predict, leaves),
        np.ones(leaves, dtype=bool),
        [_small_ints(c, card) for c, card in zip(leaf_codes, cards, strict=True)],
    )


def _in_grid_order(key: Ints) -> bool:
    """Whether row ``i`` is grid slot ``i`` for every row (a full grid in its own order, as
    the published benchmarks' files and RiskLoc's generator write them), checked in chunks."""
    step = 1 << 20
    for start in range(0, len(key), step):
        part = key[start : start + step]
        if not np.array_equal(part, np.arange(start, start + len(part), dtype=part.dtype)):
            return False
    return True


def _ravel(codes: Sequence[NDArray[np.integer]], cards: Sequence[int]) -> Ints:
    """Each row's slot in the grid ``cards`` (mixed radix of its codes); 32-bit integers when
    the grid has fewer than 2³¹ slots (half the memory traffic of 64)."""
    slots = int(np.prod([float(c) for c in cards]))
    dtype: type[np.signedinteger[Any]] = np.int32 if slots < 2**31 else np.intp
    key: Ints = np.zeros(len(codes[0]) if codes else 0, dtype=dtype)
    for code, card in zip(codes, cards, strict=True):
        key *= card
        key += code
    return key


@dataclass(frozen=True)
class Cuboid:
    """One subset of the dimensions: its grid shape, how many elements hold leaves, and (only
    when sparse) the element of every leaf."""

    dims: tuple[int, ...]
    shape: tuple[int, ...]
    size: int  # elements holding at least one leaf
    # the same partition of the leaves as a cuboid of one dimension fewer (a store within its
    # district): its elements are that cuboid's, so it is kept for splitting but never scored
    redundant: bool = False
    inverse: Ints | None = None  # sparse only: leaf -> element number
    values: NDArray[np.integer] | None = None  # sparse only: element -> codes of its dims

    @property
    def layer(self) -> int:
        return len(self.dims)

    @property
    def slots(self) -> int:
        """Length of the cuboid's element arrays (its grid, or its elements when sparse)."""
        return self.size if self.inverse is not None else int(np.prod(self.shape))


class Lattice:
    """Every cuboid of 1..``max_layer`` dimensions of a ``LeafSpace``, lowest layer first."""

    def __init__(self, space: LeafSpace, max_layer: int | None = None) -> None:
        self.space = space
        ndim = len(space.cards)
        depth = ndim if max_layer is None else min(max_layer, ndim)
        leaves = int(np.count_nonzero(space.present))
        shell = []
        for layer in range(1, depth + 1):
            for dims in combinations(range(ndim), layer):
                shape = tuple(space.cards[d] for d in dims)
                sparse = not _dense(int(np.prod([float(s) for s in shape])), leaves)
                shell.append(self._sparse(dims, shape) if sparse else Cuboid(dims, shape, 0))
        self.cuboids = shell
        full_grid = space.dense and bool(space.present.all())  # every element holds leaves
        counts = {} if full_grid else dict(self.sums([space.present]))
        known: dict[tuple[int, ...], Cuboid] = {}
        out = []
        for cuboid in shell:
            if full_grid:
                size = int(np.prod(cuboid.shape))
            else:
                size = int(np.count_nonzero(counts[cuboid.dims][0]))
            subs = [known[s] for s in combinations(cuboid.dims, cuboid.layer - 1) if s in known]
            redundant = any(sub.size == size for sub in subs)
            full = Cuboid(cuboid.dims, cuboid.shape, size, redundant, cuboid.inverse, cuboid.values)
            known[cuboid.dims] = full
            out.append(full)
        self.cuboids = out

    def _sparse(self, dims: tuple[int, ...], shape: tuple[int, ...]) -> Cuboid:
        leaves = np.arange(len(self.space))
        key = _ravel(self.space.leaf_codes(dims, leaves), shape)
        uniques, inverse = np.unique(key, return_inverse=True)
        values = np.stack(np.unravel_index(uniques, shape), axis=1)
        return Cuboid(dims, shape, len(uniques), inverse=inverse.astype(np.intp), values=values)

    def __iter__(self) -> Iterator[Cuboid]:
        return iter(self.cuboids)

    def __len__(self) -> int:
        return len(self.cuboids)

    def sums(
        self, arrays: Sequence[NDArray[np.float64] | Mask], *, skip_redundant: bool = False
    ) -> Iterator[tuple[tuple[int, ...], list[NDArray[Any]]]]:
        """For each cuboid (highest layer first), the sums of each of ``arrays`` (one value per
        leaf) over each element, flattened to the cuboid's ``slots``.

        A dense cuboid is the sum over one axis of the smallest finer dense cuboid summed
        already (or of the leaf grid itself); only the layer above is kept while a layer is
        summed, so the memory is two layers of the cube at most.
        """
        space = self.space
        finer: dict[tuple[int, ...], list[NDArray[Any]]] = {}
        if space.dense:
            finer[tuple(range(len(space.cards)))] = [
                np.asarray(a).reshape(space.cards) for a in arrays
            ]
        by_layer: dict[int, list[Cuboid]] = {}
        for cuboid in self.cuboids:
            by_layer.setdefault(cuboid.layer, []).append(cuboid)
        root = tuple(range(len(space.cards)))
        for layer in sorted(by_layer, reverse=True):
            current: dict[tuple[int, ...], list[NDArray[Any]]] = {}
            for cuboid in by_layer[layer]:
                out = finer[root] if cuboid.dims == root and space.dense else None
                out = out if out is not None else self._sum(cuboid, arrays, finer)
                if cuboid.inverse is None:
                    current[cuboid.dims] = out
                if not (skip_redundant and cuboid.redundant):
                    yield cuboid.dims, [a.reshape(-1) for a in out]
            finer = current

    def _sum(
        self,
        cuboid: Cuboid,
        arrays: Sequence[Floats | Mask],
        finer: dict[tuple[int, ...], list[NDArray[Any]]],
    ) -> list[NDArray[Any]]:
        if cuboid.inverse is not None:
            return [_sum_by(cuboid.inverse, a, cuboid.size) for a in arrays]
        parents = [dims for dims in finer if set(cuboid.dims) < set(dims)]
        if parents:
            parent = min(parents, key=lambda dims: finer[dims][0].size)
            axes = tuple(k for k, d in enumerate(parent) if d not in cuboid.dims)
            return [sum_axes(a, axes) for a in finer[parent]]
        if self.space.dense:  # no finer cuboid summed (max_layer below the leaves): the grid
            axes = tuple(d for d in range(len(self.space.cards)) if d not in cuboid.dims)
            return [sum_axes(a.reshape(self.space.cards), axes) for a in arrays]
        key = self.element_ids(cuboid, np.arange(len(self.space)))
        return [_sum_by(key, a, cuboid.slots).reshape(cuboid.shape) for a in arrays]

    def element_ids(self, cuboid: Cuboid, leaves: Ints) -> Ints:
        """The element number, in ``cuboid``, of each of ``leaves`` (indices)."""
        if cuboid.inverse is not None:
            return cuboid.inverse[leaves]
        return _ravel(self.space.leaf_codes(cuboid.dims, leaves), cuboid.shape)

    def values(self, cuboid: Cuboid, element: int) -> tuple[int, ...]:
        """The codes, one per dimension of ``cuboid``, of its element number ``element``."""
        if cuboid.values is not None:
            return tuple(int(v) for v in cuboid.values[element])
        return tuple(int(v) for v in np.unravel_index(element, cuboid.shape))

    def element_of(self, cuboid: Cuboid, values: tuple[int, ...]) -> int:
        """The element number of the codes ``values`` (one per dimension of ``cuboid``)."""
        if cuboid.values is not None:
            return int(np.flatnonzero((cuboid.values == np.array(values)).all(axis=1))[0])
        return int(np.ravel_multi_index(values, cuboid.shape))

    def members(self, cuboid: Cuboid, element: int) -> Mask:
        return self.space.members(cuboid.dims, self.values(cuboid, element))

    def simplest(self, cuboid: Cuboid, element: int) -> tuple[Cuboid, int]:
        """The element of the fewest dimensions that holds exactly the leaves of ``element``
        (``store=S1`` rather than ``district=D1&store=S1``): a sub-cuboid's element holds the
        element's leaves and more, so the same count of leaves means the same leaves."""
        values = dict(zip(cuboid.dims, self.values(cuboid, element), strict=True))
        count = self.space.count(cuboid.dims, tuple(values.values()))
        for other in self.cuboids:
            if other.layer < cuboid.layer and set(other.dims) < set(cuboid.dims):
                other_values = tuple(values[d] for d in other.dims)
                if self.space.count(other.dims, other_values) == count:
                    return other, self.element_of(other, other_values)
        return cuboid, element


def build_cuboids(codes: Sequence[NDArray[np.integer]], max_layer: int | None = None) -> Lattice:
    """The lattice of leaves given by their ``codes`` (0 .. cardinality-1 per dimension), each
    row one leaf with value 1 (for tests and callers holding codes already)."""
    cards = [int(c.max()) + 1 if len(c) else 1 for c in codes]
    ones = np.ones(len(codes[0]))
    return Lattice(code_leaves(codes, cards, ones, ones), max_layer)

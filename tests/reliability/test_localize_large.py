"""Root-cause localisation on large cases: the fast paths give what the general ones give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from earnright.reliability import cube, search
from earnright.reliability.largefit import score_large
from earnright.reliability.localize import localize

SIZES = (6, 5, 12, 4, 3)  # 4,320 leaves
NAMES = "abcde"


def grid_frame(seed: int, noise: float = 0.05) -> pd.DataFrame:
    """Every leaf of SIZES in grid order, categorical columns whose categories are NOT in
    sorted order (c1, c2, ..., c10, c11, c12: "c10" sorts before "c2"), one cause planted."""
    rng = np.random.default_rng(seed)
    grid = np.indices(SIZES).reshape(len(SIZES), -1)
    frame = pd.DataFrame(
        {
            name: pd.Categorical.from_codes(grid[j], [f"{name}{k + 1}" for k in range(size)])
            for j, (name, size) in enumerate(zip(NAMES, SIZES, strict=True))
        }
    )
    frame["predict"] = rng.weibull(0.7, grid.shape[1]) * 100 + 1
    frame["real"] = frame["predict"] * (1 + rng.normal(0, noise, grid.shape[1]))
    hit = (grid[2] == 10) & (grid[0] == 1)  # c=c11 & a=a2
    frame.loc[hit, "real"] *= 0.5
    return frame


def leaf_space(frame: pd.DataFrame) -> cube.LeafSpace:
    codes = [frame[name].cat.codes.to_numpy() for name in NAMES]
    real, predict = frame["real"].to_numpy(), frame["predict"].to_numpy()
    return cube.code_leaves(codes, list(SIZES), real, predict)


def test_rows_already_in_grid_order_are_the_leaves_without_a_sum() -> None:
    # a full grid in its own order (the published benchmarks' files, RiskLoc's generator) is
    # taken as it is: no bincount, the leaf arrays are the columns
    frame = grid_frame(1)
    space = leaf_space(frame)
    assert space.dense and np.shares_memory(space.real, frame["real"].to_numpy())
    shuffled = frame.sample(frac=1.0, random_state=3)
    moved = leaf_space(shuffled)
    assert not np.shares_memory(moved.real, shuffled["real"].to_numpy())
    np.testing.assert_allclose(moved.real, space.real)
    np.testing.assert_allclose(moved.predict, space.predict)
    assert moved.present.all() and space.present.all()


def test_categories_in_any_order_name_the_causes_that_strings_name() -> None:
    frame = grid_frame(2)
    as_text = frame.astype({name: str for name in NAMES})

    def named(frame: pd.DataFrame) -> list[tuple[str, int, float, float]]:
        # the same leaves, summed in another order: the figures agree to rounding
        return [
            (c.cause, c.leaves, round(c.z, 6), round(c.deviation, 6))
            for c in localize(frame, list(NAMES))
        ]

    causes = named(frame)
    assert [c[0] for c in causes] == ["a=a2&c=c11"]
    assert named(as_text) == causes
    assert named(frame.sample(frac=1.0, random_state=4)) == causes


@pytest.mark.parametrize("seed", [3, 4])
def test_the_large_path_names_what_it_named_with_more_leaves_per_sample(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # beyond FIT_LEAVES leaves the large path (one fit, kept cube) runs; it names the planted
    # cause, as the exact path does on the same case
    frame = grid_frame(seed)
    exact = [c.cause for c in localize(frame, list(NAMES))]
    monkeypatch.setattr(search, "FIT_LEAVES", 1000)
    large = [c.cause for c in localize(frame, list(NAMES))]
    assert large == exact == ["a=a2&c=c11"]
    assert cube.DENSE_FACTOR >= 1


def test_the_large_fit_scores_every_leaf_as_the_sampled_fit_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # score_large applies the sampled noise model with class tables and 32-bit arrays; its
    # weights, w × residual, single-leaf scores and clip band are score_leaves's
    frame = grid_frame(5, noise=0.1)
    frame.loc[::7, ["real", "predict"]] = 0.0  # inactive leaves score nothing
    monkeypatch.setattr(search, "FIT_LEAVES", 1000)
    space = leaf_space(frame)
    v, f = space.real, space.predict
    active = (v + f) > 0
    deviation = search.leaf_deviation(v, f)
    classes = search.size_classes(f, active)
    residual, weight = search.score_leaves(deviation, f, active, classes=classes)
    lone, lone_w = search.score_leaves(deviation, f, active, compress=True, classes=classes)
    scores = score_large(v, f, active)
    w, wr, live, single = scores.arrays
    assert (live == active).all() and w.dtype == np.float32
    np.testing.assert_allclose(w, weight, rtol=1e-6)
    np.testing.assert_allclose(wr, weight * residual, rtol=1e-5, atol=1e-5 * weight.max())
    np.testing.assert_allclose(scores.residual(), residual, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(single, lone * np.sqrt(lone_w), rtol=1e-5, atol=1e-5)
    inside = np.abs(residual) < search.CLIP
    assert scores.band == [pytest.approx(weight[inside].sum(), rel=1e-3), 0.0]


def test_the_kept_cube_skips_cuboids_whose_bound_cannot_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a cuboid's |z| moves by at most |Δ shift| · √Σw between rounds, and a claim raises its
    # bound by the elements it changed: the best found with the bounds is the best of a full
    # look at every cuboid, while far fewer cuboids are looked at once a strong cause is known
    from earnright.reliability import incremental

    frame = grid_frame(6)
    frame.loc[frame["b"] == "b4", "real"] *= 0.6
    frame.loc[(frame["d"] == "d2") & (frame["e"] == "e3"), "real"] *= 1.5
    monkeypatch.setattr(search, "FIT_LEAVES", 1000)
    lattice = cube.Lattice(leaf_space(frame))
    active = (lattice.space.real + lattice.space.predict) > 0
    scores = score_large(lattice.space.real, lattice.space.predict, active)
    kept = incremental.KeptCube(lattice, scores.arrays)
    named = []
    for shift in (0.0, 0.01, -0.02, 0.005):
        z, cuboid, element = kept.best(shift, search.FEW_LEAVES, 5.0)
        looked = sum(at == shift for at, _, _ in kept.bound.values())  # evaluated at this shift
        kept.bound.clear()
        full = kept.best(shift, search.FEW_LEAVES)
        assert (z, cuboid.dims, element) == (full[0], full[1].dims, full[2]) or abs(full[0]) < 5
        if abs(z) < 5:
            break
        assert looked == len(kept.scored) if not named else looked < len(kept.scored) / 2
        named.append(lattice.simplest(cuboid, element))
        kept.claim(cuboid.dims, lattice.values(cuboid, element))  # bounds from the full look
    assert len(named) >= 2


@pytest.mark.parametrize("axes", [(0,), (4,), (1, 3), (0, 2, 4)])
def test_cube_sums_over_axes_accumulate_in_64_bits(axes: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    a = rng.random(SIZES).astype(np.float32)
    mask = a > 0.3
    np.testing.assert_allclose(cube.sum_axes(a, axes), a.astype(np.float64).sum(axis=axes))
    assert cube.sum_axes(a, axes).dtype == np.float64
    assert (cube.sum_axes(mask, axes) == mask.sum(axis=axes)).all()

"""Root-cause localisation on large cases: the fast paths give what the general ones give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from earnright.reliability import cube, search
from earnright.reliability.localize import _code_frame, localize

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


def test_rows_already_in_grid_order_are_the_leaves_without_a_sum() -> None:
    # a full grid in its own order (the published benchmarks' files, RiskLoc's generator) is
    # taken as it is: no bincount, the leaf arrays are the columns
    frame = grid_frame(1)
    space, labels = _code_frame(frame, list(NAMES), "real", "predict")
    assert space.dense and np.shares_memory(space.real, frame["real"].to_numpy())
    assert labels[2][:3] == ["c1", "c2", "c3"]  # the categories' order, not "c1", "c10", ...
    shuffled = frame.sample(frac=1.0, random_state=3)
    moved, moved_labels = _code_frame(shuffled, list(NAMES), "real", "predict")
    assert moved_labels == labels
    assert not np.shares_memory(moved.real, shuffled["real"].to_numpy())
    np.testing.assert_allclose(moved.real, space.real)
    np.testing.assert_allclose(moved.predict, space.predict)


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

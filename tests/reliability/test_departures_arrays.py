"""The departure watch's confirmation, all candidates at once (earnright.reliability.departures
``confirm_windows``), against the reference: one frame per candidate through
:func:`earnright.reliability.episode.window_departure`, the code it replaced (issue 18: at a
thousand stores the per-candidate frames were a fifth of detection)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from earnright.config import Config, Indicator
from earnright.reliability.departures import confirm_windows
from earnright.reliability.episode import BASELINE, CONFIRM_Z, window_departure

EVENTS = Indicator(id="ok", name="ok", metric="m", measure="events", target=0.99)
WAIT = Indicator(
    id="wait", name="wait", metric="w", measure="threshold", threshold=30.0, target=0.9
)


def _reference(kind, sums, found, indicator, config, width):  # type: ignore[no-untyped-def]
    """The per-candidate confirmation as it was (one pandas frame per candidate)."""
    total, good, vsum = sums["total"], sums["good"], sums["vsum"]
    base = int(BASELINE / config.reliability.step)
    out = []
    for row, col in found:
        cols = total.columns[max(col + 1 - width - base, 0) : col + 1]
        frame = pd.DataFrame(
            {
                "good": good.iloc[row][cols],
                "total": total.iloc[row][cols],
                "vsum": vsum.iloc[row][cols],
            }
        )
        frame = frame[frame.total > 0]
        bucket = int(total.columns[col])
        z = window_departure(frame, indicator, bucket + 1 - width, width)
        if bucket not in z.index or float(z[bucket]) < CONFIRM_Z:
            continue
        window = frame[frame.index > bucket - width]
        burn = (1 - window.good.sum() / window.total.sum()) / indicator.error_budget
        out.append((str(total.index[row]), bucket, round(float(burn), 6)))
    return out


def _planted_sums(seed: int, buckets: int, value: float) -> dict[str, pd.DataFrame]:
    """Segments x buckets with quiet stretches, empty buckets, a segment starting late, and
    failures planted at random (bad share or mean value raised several-fold)."""
    rng = np.random.default_rng(seed)
    segments = [f"S{i:02d}" for i in range(12)]
    total = rng.poisson(rng.uniform(2, 300, (len(segments), 1)), (len(segments), buckets))
    total[rng.random(total.shape) < 0.15] = 0  # hours without events
    total[3, : buckets // 2] = 0  # a store opening half-way: a short baseline at first
    rate = np.full(total.shape, 0.005)
    for _ in range(8):
        row, at = rng.integers(len(segments)), rng.integers(buckets // 3, buckets)
        rate[row, at : at + rng.integers(1, 30)] = rng.uniform(0.02, 0.2)
    bad = rng.binomial(total, rate)
    cols = pd.RangeIndex(10_000, 10_000 + buckets)
    index = pd.Index(segments)
    good = total - bad
    vsum = total * rng.gamma(4.0, 5.0, total.shape) * np.where(rate > 0.005, value, 1.0)
    frames = {"good": good, "total": total, "vsum": vsum}
    return {k: pd.DataFrame(v.astype(float), index=index, columns=cols) for k, v in frames.items()}


def _candidates(sums: dict[str, pd.DataFrame], width: int, seed: int) -> list[tuple[int, int]]:
    """Every window whose bad share is raised (the failures), and 60 buckets at random."""
    bad = (sums["total"] - sums["good"]).T.rolling(width).sum().T.to_numpy()
    rows, cols = np.nonzero(bad > 0.02 * sums["total"].T.rolling(width).sum().T.to_numpy())
    rng = np.random.default_rng(seed)
    more = zip(
        rng.integers(0, len(bad), 60), rng.integers(width - 1, bad.shape[1], 60), strict=True
    )
    pairs = {(int(r), int(c)) for r, c in [*zip(rows, cols, strict=True), *more] if c >= width - 1}
    return sorted(pairs)


@pytest.mark.parametrize(
    ("indicator", "step", "width"),
    [
        (EVENTS, "1d", 1),
        (EVENTS, "1h", 1),
        (EVENTS, "1h", 4),
        (EVENTS, "1h", 24),
        (WAIT, "1d", 1),
        (WAIT, "1h", 8),
    ],
)
def test_all_candidates_at_once_confirm_exactly_what_one_frame_each_did(
    indicator: Indicator, step: str, width: int
) -> None:
    config = Config.model_validate({"reliability": {"step": step}})
    per_day = 24 if step == "1h" else 1
    buckets = int(BASELINE / config.reliability.step) + 10 * per_day + 40
    for seed in range(2):
        sums = _planted_sums(seed, buckets, 6.0)
        found = _candidates(sums, width, seed)
        want = _reference(("store",), sums, found, indicator, config, width)
        got = confirm_windows(("store",), sums, found, indicator, (config, width))
        step_s = config.reliability.step.total_seconds()
        have = [
            (a.segment.split("=")[1], int(a.bucket.timestamp() // step_s), a.score) for a in got
        ]
        assert sorted(have) == sorted(want)
        assert len(want) > 0  # the planted failures confirm: the comparison is not vacuous


def _grouped_reference(per, kind, cols):  # type: ignore[no-untyped-def]
    """The segment sums as pandas' group-by and unstack gave them (the code ``segment_sums``
    replaced: at a thousand stores it was a third of the departure watch)."""
    keys = [per[d].astype("string") for d in kind] or [pd.Series("", index=per.index)]
    grouped = per.groupby([*keys, per["_bidx"]], dropna=True)[["good", "total", "vsum"]].sum()
    return {
        name: grouped[name].unstack("_bidx").reindex(columns=cols).fillna(0.0)
        for name in ("good", "total", "vsum")
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_segment_sums_match_the_group_by(seed: int) -> None:
    """The segment sums over the pass's leaf cube (a sparse 0/1 matrix per dimension set times
    the leaves' arrays) are pandas' group-by of the same rows, over a span reaching before and
    after the rows (columns of zeros), with NULL value sums and missing ancestors."""
    from datetime import timedelta

    from earnright.reliability.departures import leaf_block, segment_groups
    from earnright.reliability.leafcube import LeafCube

    rng = np.random.default_rng(seed)
    rows = 3000
    per = pd.DataFrame(
        {
            "_bidx": rng.integers(500, 540, rows),
            "unit_id": rng.choice([f"S{i}" for i in range(40)], rows),
            "platform": pd.array(rng.choice(["ios", "android", "web", None], rows), "string"),
            "good": rng.integers(0, 50, rows).astype(float),
            "total": rng.integers(0, 60, rows).astype(float),
            "vsum": np.where(rng.random(rows) < 0.1, np.nan, rng.gamma(2.0, 10.0, rows)),
        }
    )
    per = per.drop_duplicates(["_bidx", "unit_id", "platform"])  # the engine's rows: one a leaf
    district = pd.Series(rng.choice(["D10", "D2", "D1", None], 40), dtype="string")
    ancestors = pd.DataFrame({"unit_id": [f"S{i}" for i in range(40)], "district": district})
    ancestors = ancestors.astype("string")
    day = timedelta(days=1)
    cube = LeafCube.from_frame(per, (ancestors, ["platform"]), day, datetime(1971, 5, 11))
    assert cube.first == 495  # the cube starts before the first row
    per = per.merge(ancestors, on="unit_id", how="left")
    cols = pd.RangeIndex(497, 545)  # buckets without rows at both ends, past the cube's last
    kinds = [(), ("platform",), ("district",), ("platform", "district"), ("platform", "unit_id")]
    leaves = leaf_block(cube, cols)
    for kind, group in segment_groups(cube, kinds).items():
        got, want = group.sums(leaves, cols), _grouped_reference(per, kind, cols)
        present = got["total"].index.isin(want["total"].index)
        assert (got["total"][~present] == 0).all().all()  # segments without rows: zeros
        for name in ("good", "total"):
            pd.testing.assert_frame_equal(
                got[name][present], want[name], check_names=False, check_index_type=False
            )
        have = got["vsum"][present].to_numpy()
        np.testing.assert_allclose(have, want["vsum"].to_numpy(), rtol=1e-12)
        assert list(got["vsum"][present].index) == list(want["vsum"].index)

"""The pass's leaves in memory (``earnright.reliability.leafcube``) answer as the engine does,
and a detection pass reads an indicator's leaves from the engine once, not once per question."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from earnright.config import Indicator
from earnright.reliability import episode, judge, segment
from earnright.reliability.episode import BASELINE, leaf_buckets, segment_buckets
from earnright.reliability.incidents import run_detection
from earnright.reliability.leafcube import LeafCube
from earnright.reliability.segment import leaf_dims, leaf_sums
from earnright.units import ancestors_by_level
from earnright.workspace import Workspace, find_workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from earnright.services.demo import run_demo

    run = run_demo(tmp_path_factory.mktemp("leafcube") / "ws", stores=30, months=6, seed=3)
    return find_workspace(run.workspace)


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def _same(held: pd.DataFrame, engine: pd.DataFrame, keys: list[str]) -> None:
    held, engine = _sorted(held, keys), _sorted(engine, keys)
    assert list(held.columns) == list(engine.columns)
    assert len(held) == len(engine) > 0
    for col in held.columns:
        if col in keys or not pd.api.types.is_numeric_dtype(held[col]):
            assert held[col].astype(str).tolist() == engine[col].astype(str).tolist(), col
        else:  # counts exactly; value sums to the last bits (the engine's order is its own)
            np.testing.assert_allclose(held[col], engine[col], rtol=1e-12, equal_nan=True)


SEGMENTS: list[list[dict[str, str]]] = [[{}], [{"region": "R01"}], [{"platform": "ios"}]]


def _questions(ws: Workspace, indicator: Indicator) -> dict[str, Any]:
    step = ws.config.reliability.step
    with ws.warehouse(read_only=True) as wh:
        ancestors = ancestors_by_level(wh, ws.config.units.levels)
        dims = leaf_dims(wh, ws.config, indicator)[1]
        first = pd.Timestamp(wh.table("metrics").observed_at.min().execute()).floor("D")
        since = (first + timedelta(days=20)).to_pydatetime()
        cube = LeafCube.scan(wh, ws.config, indicator, (ancestors, dims), since)
        store = str(cube.leaves.unit_id.iloc[len(cube.leaves) // 2])
        window = (since + BASELINE + 10 * step, since + BASELINE + 14 * step)
        span = (since + step, since + 90 * step)
        answers: dict[str, Any] = {"cube": cube, "dims": dims, "window": window, "since": since}
        answers["sums"] = (
            cube.leaf_sums(window, BASELINE),
            leaf_sums(wh, ws.config, indicator, dims, window),
        )
        answers["buckets"] = (
            cube.leaf_buckets(span),
            leaf_buckets(wh, ws.config, indicator, (ancestors, dims), span),
        )
        answers["segments"] = [
            (
                cube.segment_buckets(where, span),
                segment_buckets(wh, ws.config, indicator, (where, ancestors, dims), span),
            )
            for where in [*SEGMENTS, [{"store": store}, {"district": "D001"}]]
        ]
    return answers


@pytest.mark.slow
def test_the_cube_answers_as_the_engine_for_every_indicator(demo: Workspace) -> None:
    for indicator in [i for _, i in demo.config.journey.indicators()]:
        answers = _questions(demo, indicator)
        keys = ["unit_id", *answers["dims"]]
        _same(*answers["sums"], keys)
        _same(*answers["buckets"], ["_bidx", *keys])
        for held, engine in answers["segments"]:
            assert held is not None
            pd.testing.assert_index_equal(held.index, engine.index)
            np.testing.assert_allclose(held.to_numpy(), engine.to_numpy(), rtol=1e-12)


@pytest.mark.slow
def test_the_cube_declines_what_it_does_not_hold(demo: Workspace) -> None:
    indicator = demo.config.journey.indicators()[0][1]
    answers = _questions(demo, indicator)
    cube, since, (start, end) = answers["cube"], answers["since"], answers["window"]
    assert cube.leaf_sums((since, end), BASELINE) is None  # its baseline lies before the scan
    assert cube.leaf_sums((start + timedelta(hours=1), end), BASELINE) is None  # not a bucket
    assert cube.segment_buckets([{}], (since - timedelta(days=1), end)) is None
    assert cube.leaf_buckets((since, end + timedelta(minutes=5))) is None


@pytest.mark.slow
def test_a_pass_reads_the_leaves_from_the_engine_once_per_indicator(
    demo: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the cube, every candidate's localisation and every cause's failure span was an
    engine scan of its own: hundreds per pass on this demo, growing with the stores."""
    scans: list[str] = []
    scan = LeafCube.scan.__func__  # type: ignore[attr-defined]

    def counted(what: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            scans.append(what)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(segment, "indicator_events", counted("leaf_sums", segment.indicator_events))
    monkeypatch.setattr(episode, "leaf_buckets", counted("buckets", episode.leaf_buckets))
    monkeypatch.setattr(judge, "leaf_buckets", counted("buckets", judge.leaf_buckets))
    monkeypatch.setattr(LeafCube, "scan", classmethod(counted("cube", scan)))
    with demo.warehouse() as wh:
        for table in ("incidents", "alerts", "outbox", "detector_state"):
            wh.execute_sql(f"DELETE FROM {table}")
        run = run_detection(wh, demo.config)
    assert run.opened or run.resolved or run.chronic, run  # candidates were judged
    indicators = len(demo.config.journey.indicators())
    assert scans.count("cube") <= indicators
    assert scans.count("leaf_sums") + scans.count("buckets") == 0, scans


def _reference_localisation(wh: Any, ws: Workspace, indicator: Indicator, window: Any) -> str:
    """``segment.localize_episode`` as it was: a pandas frame of the leaves per window, each
    search through ``localize`` on it (the code the coded arrays replaced)."""
    from scipy import stats

    from earnright.reliability.episode import in_segments
    from earnright.reliability.localize import localize, parse_cause
    from earnright.reliability.records import CAUSE_SEPARATOR

    levels, metric_dims = leaf_dims(wh, ws.config, indicator)
    ancestors = ancestors_by_level(wh, ws.config.units.levels)
    leaves = leaf_sums(wh, ws.config, indicator, metric_dims, window)
    leaves = leaves.merge(ancestors, on="unit_id", how="left")
    for dim in metric_dims:
        leaves = leaves[leaves[dim] != "all"]
    dims = [*levels, *metric_dims]

    def expected(frame: pd.DataFrame, real: str, base: str) -> tuple[pd.Series, pd.Series]:
        overall = frame[base].sum() / max(frame.total_base.sum(), 1)
        return frame[real], (frame[base] / frame.total_base).fillna(overall) * frame.total

    def search(real: str, base: str) -> list[tuple[str, float]]:
        frame = leaves.copy()
        frame["real"], frame["predict"] = expected(frame, real, base)
        frame = frame.replace([np.inf, -np.inf], np.nan).dropna(subset=["real", "predict"])
        return [(c.cause, c.z) for c in localize(frame.fillna({d: "null" for d in dims}), dims)]

    def significant(cause: str) -> bool:
        hit = leaves[in_segments(leaves, [parse_cause(cause)])]
        bad, predicted = expected(hit, "bad", "bad_base")
        k, mu = float(bad.sum()), max(float(predicted.sum()), 1e-9)
        return bool(stats.poisson.sf(k - 1, mu) < segment.COUNT_ALPHA / max(len(leaves), 1))

    if indicator.measure == "threshold":
        worse_is_up = indicator.good_when == "below"
        causes = search("value", "value_base")
        return CAUSE_SEPARATOR.join(c for c, z in causes if (z > 0) == worse_is_up)
    leaves = leaves.assign(
        bad=leaves.total - leaves.good, bad_base=leaves.total_base - leaves.good_base
    )
    found = [c for c, z in search("bad", "bad_base") if z > 0]
    if not found:
        found = [c for c, z in search("good", "good_base") if z < 0 and significant(c)]
    return CAUSE_SEPARATOR.join(found)


def test_localising_on_the_coded_cube_names_what_the_frame_search_named(demo: Workspace) -> None:
    """Every day's window of every indicator, localised on the pass's coded leaves (the cube),
    on a frame from the engine, and by the per-window pandas search it replaced: the same
    causes, in the same order (the demo plants failures, so some days name causes)."""
    step = demo.config.reliability.step
    named = 0
    with demo.warehouse(read_only=True) as wh:
        ancestors = ancestors_by_level(wh, demo.config.units.levels)
        for _, indicator in demo.config.journey.indicators():
            split = leaf_dims(wh, demo.config, indicator)
            first = pd.Timestamp(wh.table("metrics").observed_at.min().execute()).floor("D")
            since = first.to_pydatetime()
            cube = LeafCube.scan(wh, demo.config, indicator, (ancestors, split[1]), since)
            for day in range(30, 180, 6):
                window = (since + day * step, since + (day + 1) * step)
                args = (wh, demo.config, indicator, window, ancestors)
                held = segment.localize_episode(*args, cube, split)
                assert held == segment.localize_episode(*args, None, split), (indicator.id, day)
                assert held == _reference_localisation(wh, demo, indicator, window), day
                named += bool(held)
    assert named > 0


def test_running_totals_give_the_window_sums_of_adding_the_window() -> None:
    """Prefix: a window's sums per leaf from running totals equal the sums over the window
    (``sum(if(in window, value, 0.0))``: NULL only when no row adds a number) bit for bit,
    windows reaching past the last bucket too; a cube of other numbers keeps adding."""
    from earnright.reliability.leafcube import Prefix

    rng = np.random.default_rng(3)
    for trial in range(200):
        n, w = int(rng.integers(1, 30)), int(rng.integers(0, 40))
        values = rng.integers(0, 50, (n, w)).astype(float)
        if trial % 3 == 0:
            values[rng.random((n, w)) < 0.2] = np.nan
        present = rng.random((n, w)) < 0.6
        held = Prefix.of(values, present)
        assert held is not None
        for _ in range(20):
            a = int(rng.integers(0, w + 3))
            c = int(rng.integers(0, w + 3))
            cols = (a, int(max(a, rng.integers(0, w + 5))))
            other = (c, int(max(c, rng.integers(0, w + 5))))
            part, seen = values[:, cols[0] : cols[1]], present[:, cols[0] : cols[1]]
            counted = seen & ~np.isnan(part)
            added = np.where(counted, part, 0.0).sum(axis=1)
            rows = counted.any(axis=1) | present[:, other[0] : other[1]].any(axis=1)
            expected = np.where(rows, added, np.nan)
            assert np.array_equal(held.sum_cols(cols, other), expected, equal_nan=True)
    assert Prefix.of(np.array([[0.5, 1.0]]), np.ones((1, 2), dtype=bool)) is None

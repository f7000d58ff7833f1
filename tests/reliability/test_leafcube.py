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

"""A failure's span is read to ``PEEK`` past its first alert first (``episode.failure_span``),
and to the end of the pass only when the failure may run on: the same spans, alerts and
incidents as reading to the end every time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

from earnright.reliability import episode
from earnright.workspace import Workspace, find_workspace
from tests.reliability.test_judge import detect_from_scratch


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from earnright.services.demo import run_demo

    run = run_demo(tmp_path_factory.mktemp("episode") / "ws", stores=60, months=12, seed=7)
    return find_workspace(run.workspace)


@pytest.mark.slow
def test_spans_read_near_their_alert_are_those_read_to_the_end(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []  # the series read for the spans
    read, default = episode.segment_buckets, episode.PEEK

    def counted(*args: Any) -> pd.DataFrame:
        calls.append(1)
        return read(*args)

    monkeypatch.setattr(episode, "segment_buckets", counted)
    monkeypatch.setattr(episode, "PEEK", timedelta(days=10**5))  # to the end: the reference
    whole = detect_from_scratch(demo)
    spans = len(calls)
    assert spans > 0 and len(whole[1]) > 0, "the pass measured no span: nothing was compared"
    for peek in (default, timedelta(hours=1)):
        calls.clear()
        monkeypatch.setattr(episode, "PEEK", peek)
        near = detect_from_scratch(demo)
        pd.testing.assert_frame_equal(whole[0], near[0])
        pd.testing.assert_frame_equal(whole[1], near[1])
        if peek == default:  # most spans end well inside two weeks: read once
            assert spans <= len(calls) < 1.5 * spans

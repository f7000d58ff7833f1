"""A failure's span is read to ``PEEK`` past its first alert first (``episode.failure_span``),
and to the end of the pass only when the failure may run on: the same spans, alerts and
incidents as reading to the end every time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

from earnright.reliability import episode
from earnright.reliability.incidents import run_detection
from earnright.workspace import Workspace, find_workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from earnright.services.demo import run_demo

    run = run_demo(tmp_path_factory.mktemp("episode") / "ws", stores=60, months=12, seed=7)
    return find_workspace(run.workspace)


def _detect(ws: Workspace) -> tuple[pd.DataFrame, pd.DataFrame]:
    with ws.warehouse() as wh:
        for table in ("incidents", "alerts", "outbox", "detector_state"):
            wh.execute_sql(f"DELETE FROM {table}")
        run_detection(wh, ws.config)
        alerts = wh.table("alerts").select("alert_id", "incident_id", "score").execute()
        columns = ["incident_id", "segment", "started_at", "ended_at", "customers_affected"]
        incidents = wh.table("incidents").select(*columns).execute()
    return alerts.sort_values("alert_id", ignore_index=True), incidents.sort_values(
        "incident_id", ignore_index=True
    )


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
    whole = _detect(demo)
    spans = len(calls)
    assert spans > 0 and len(whole[1]) > 0, "the pass measured no span: nothing was compared"
    for peek in (default, timedelta(hours=1)):
        calls.clear()
        monkeypatch.setattr(episode, "PEEK", peek)
        near = _detect(demo)
        pd.testing.assert_frame_equal(whole[0], near[0])
        pd.testing.assert_frame_equal(whole[1], near[1])
        if peek == default:  # most spans end well inside two weeks: read once
            assert spans <= len(calls) < 1.5 * spans

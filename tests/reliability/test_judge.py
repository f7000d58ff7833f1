"""Judging a pass keeps few leaf frames in memory (``Judge._leaf_frame``) and judges the same."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from earnright.reliability import judge
from earnright.reliability.incidents import run_detection
from earnright.workspace import Workspace, find_workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from earnright.services.demo import run_demo

    run = run_demo(tmp_path_factory.mktemp("judge") / "ws", stores=60, months=12, seed=7)
    return find_workspace(run.workspace)


def detect_from_scratch(ws: Workspace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detection on the workspace from nothing: its alerts and incidents, sorted."""
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
def test_a_pass_keeps_at_most_a_few_leaf_frames_and_judges_the_same(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each leaf frame holds every leaf for weeks of buckets (hundreds of MB at 10,000 stores);
    kept for every failure of a pass, they took detection past 18 GB."""
    held: list[int] = []
    frame = judge.Judge._leaf_frame

    def counted(self: judge.Judge, failing: Any) -> pd.DataFrame:
        out = frame(self, failing)
        held.append(len(self.leaves))
        return out

    monkeypatch.setattr(judge.Judge, "_leaf_frame", counted)
    monkeypatch.setattr(judge, "LEAF_FRAMES", 10**6)  # every frame kept: the reference
    every = detect_from_scratch(demo)
    assert held and max(held) > 1, "the pass refined no incident: nothing was compared"
    held.clear()
    monkeypatch.setattr(judge, "LEAF_FRAMES", 1)
    few = detect_from_scratch(demo)
    assert max(held) == 1
    assert len(every[1]) > 0
    pd.testing.assert_frame_equal(every[0], few[0])
    pd.testing.assert_frame_equal(every[1], few[1])

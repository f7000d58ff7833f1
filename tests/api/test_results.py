"""Results: a short repr, a frame, and JSON that round-trips through the pydantic model."""

from __future__ import annotations

import json

import pandas as pd

import earnright
from earnright.api.results import ScorecardResult


def test_repr_says_what_the_result_holds(ws: earnright.Workspace) -> None:
    card = ws.scorecard(level="region", period="2026-09")
    assert repr(card) == f"<ScorecardResult by region, 2026-09: {len(card)} rows>"
    rank = ws.rank(draws=200)
    assert repr(rank).startswith("<RankResult nps of stores, 2026-09: 6 rows")
    assert "checkout" in repr(ws.reliability()) and repr(ws).startswith("<Workspace ")
    assert repr(ws.status()).startswith("<StatusResult ") and "batches" in repr(ws.status())
    assert "<table" in card._repr_html_()  # a notebook shows the table


def test_to_frame_keeps_the_analytics_types_and_rows(ws: earnright.Workspace) -> None:
    card = ws.scorecard()
    frame = card.to_frame()
    assert len(frame) == len(card.rows) and list(frame.columns) == card.columns
    assert pd.api.types.is_datetime64_any_dtype(frame.period_start)
    frame.loc[:, "n"] = -1  # a copy: the result is unchanged
    assert (card.to_frame().n >= 0).all()
    rank = ws.rank(draws=200).to_frame()
    assert {"rank", "rank_low", "rank_high", "tier"} <= set(rank.columns)
    assert set(ws.focus(every=True).to_frame().columns) >= {"unit_id", "driver", "gap"}
    assert set(ws.reliability().to_frame().columns) >= {"moment", "indicator", "rating"}
    assert set(ws.warnings().to_frame().columns) >= {"id", "moment", "revenue_at_risk"}


def test_results_round_trip_through_json(ws: earnright.Workspace) -> None:
    card = ws.scorecard(level="district")
    again = ScorecardResult.model_validate_json(card.model_dump_json())
    assert again.to_dict() == card.to_dict() and again.level == "district"
    assert again.to_frame().shape == card.to_frame().shape
    for result in (ws.focus(every=True), ws.reliability(), ws.drivers(bootstrap=0)):
        copy = type(result).model_validate_json(result.model_dump_json())
        assert copy.to_dict() == result.to_dict()
        json.dumps(result.to_dict())  # JSON-ready


def test_import_earnright_exports_the_api() -> None:
    assert callable(earnright.open_workspace)
    assert {"Workspace", "Period", "ScorecardResult", "open_workspace"} <= set(earnright.__all__)
    assert all(getattr(earnright, name) is not None for name in earnright.__all__)


def test_import_earnright_loads_no_heavy_library() -> None:
    """The API loads on first use: ``import earnright`` (and so the CLI's start) stays fast."""
    import subprocess
    import sys

    from tests.cli.test_startup import HEAVY

    code = "import sys, earnright; print(sorted(m for m in sys.modules if m.split('.')[0] in %r))"
    done = subprocess.run(
        [sys.executable, "-c", code % (HEAVY,)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"

"""A table result keeps its frame and makes JSON-ready rows only when they are asked for."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from earnright.api import result_base
from earnright.api.result_base import TableResult


def test_rows_are_made_from_the_frame_once_and_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[int] = []
    real = result_base.records
    monkeypatch.setattr(result_base, "records", lambda frame: made.append(1) or real(frame))
    frame = pd.DataFrame(
        {
            "unit_id": ["s1", "s2"],
            "nps": [12.5, float("nan")],
            "at": pd.to_datetime(["2026-09-01", None]),
        }
    )
    result = TableResult.of(frame)
    assert len(result) == 2 and result.to_frame().equals(frame) and result.columns == list(frame)
    assert repr(result) == "<TableResult : 2 rows>" and made == []  # nothing built yet
    expected = [
        {"unit_id": "s1", "nps": 12.5, "at": "2026-09-01T00:00:00"},
        {"unit_id": "s2", "nps": None, "at": None},
    ]
    assert result.rows == expected and result.to_dict() == expected and made == [1]
    assert result.rows is result.rows and made == [1]  # made once


def test_rows_survive_json_and_construction_by_name() -> None:
    result = TableResult.of(pd.DataFrame({"unit_id": ["s1"], "n": [3]}))
    text = result.model_dump_json()
    assert json.loads(text) == {"notes": [], "columns": ["unit_id", "n"], "rows": [result.rows[0]]}
    again = TableResult.model_validate_json(text)
    assert again.rows == [{"unit_id": "s1", "n": 3}] and len(again) == 1
    assert again.to_frame().to_dict("records") == [{"unit_id": "s1", "n": 3}]
    built = TableResult(columns=["n"], rows=[{"n": 1}])  # what results built from rows pass
    assert built.rows == [{"n": 1}] and len(built) == 1 and TableResult().rows == []

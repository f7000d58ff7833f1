"""The documented example exports (docs/examples) ingest with the documented mappings."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from earnright.config import Config
from earnright.ingest import ingest_file
from earnright.warehouse import Warehouse

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture
def mapped(config: Config) -> Config:
    sources = tomllib.loads((EXAMPLES / "sources.toml").read_text())["sources"]
    return Config.model_validate({**config.model_dump(), "sources": sources})


def test_qualtrics_export_skips_its_header_rows_and_keeps_mapped_columns(
    wh: Warehouse, mapped: Config
) -> None:
    path = EXAMPLES / "qualtrics_feedback.csv"
    result = ingest_file(wh, mapped, "feedback", path, source="qualtrics")
    assert (result.rows_read, result.accepted, result.quarantined) == (4, 3, 1)
    rows = wh.table("feedback").execute().set_index("response_id")
    assert list(rows.index) == ["R_1a2B3c4D5e6F7g8", "R_2b3C4d5E6f7G8h9", "R_3c4D5e6F7g8H9i0"]
    first = rows.loc["R_1a2B3c4D5e6F7g8"]
    assert (first.unit_id, first.customer_id, first.ltr, first.q_staff) == ("S1", "C100", 9, 5)
    assert first.responded_at == pd.Timestamp("2026-09-01 10:04:41")
    assert first.comment == "The pharmacist explained everything, very kind"
    assert "IPAddress" not in rows.columns and "Q1" not in rows.columns
    (line, reason) = wh.table("quarantine").select("line", "reason").execute().iloc[0]
    assert line == 7  # the file's own line: three header rows, then the fourth response
    assert reason == "ltr: out of scale: 12.0 (expected 0 to 10)"


def test_generic_export_with_a_column_mapping(wh: Warehouse, mapped: Config) -> None:
    result = ingest_file(wh, mapped, "feedback", EXAMPLES / "vendor_feedback.csv", source="vendor")
    assert (result.accepted, result.quarantined) == (3, 0)
    rows = wh.table("feedback").execute().set_index("response_id")
    assert rows.loc["V-1003"].responded_at == pd.Timestamp("2026-09-04 14:05:00")
    assert rows.loc["V-1002"].ltr == 10
    assert "Internal note" not in rows.columns

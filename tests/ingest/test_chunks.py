"""Exact row conservation across chunk boundaries, for every reader.

The readers hand the batch ``readers.CHUNK_ROWS`` rows at a time (250,000 in production); here
the chunk is shrunk to a few rows so a small file crosses many boundaries. Every row must arrive
exactly once: the warehouse holds exactly the valid rows, ``rows_read`` counts the file's rows,
and a rejected row past a boundary is quarantined with its own line number.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from earnright.config import Config
from earnright.ingest import ingest_file, readers
from earnright.warehouse import Warehouse

pytestmark = pytest.mark.usefixtures("backend")  # every test on every backend

ROWS = 53  # not a multiple of the chunk: the last chunk is partial
CHUNK = 7
BAD = {7, 14, 52}  # 0-based rows out of scale: at a boundary, just after one, the very last row


def _frame(rows: int = ROWS, comment: str = "fine") -> pd.DataFrame:
    ltr = [11 if i in BAD else i % 11 for i in range(rows)]
    return pd.DataFrame(
        {
            "response_id": [f"r{i:05d}" for i in range(rows)],
            "unit_id": [f"S{1 + i % 3}" for i in range(rows)],
            "responded_at": [f"2026-09-{1 + i % 28:02d}T10:00:00" for i in range(rows)],
            "channel": "survey",
            "ltr": ltr,
            "comment": [f"{comment} {i}" for i in range(rows)],
        }
    )


def _write(frame: pd.DataFrame, path: Path) -> Path:
    name = path.name.removesuffix(".gz")
    if name.endswith(".parquet"):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path, row_group_size=10)  # row groups cross the chunks too
        return path
    if name.endswith(".csv"):
        text = frame.to_csv(index=False)
    else:
        text = "".join(json.dumps(r) + "\n" for r in frame.to_dict("records"))
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _first_line(path: Path) -> int:
    """The line (row for Parquet) of the file's first record."""
    return 2 if ".csv" in path.name else 1


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "CHUNK_ROWS", CHUNK)


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("name", ["fb.csv", "fb.csv.gz", "fb.parquet", "fb.jsonl", "fb.jsonl.gz"])
def test_every_row_crosses_the_chunk_boundaries_exactly_once(
    wh: Warehouse, config: Config, tmp_path: Path, name: str
) -> None:
    frame = _frame()
    path = _write(frame, tmp_path / name)
    if ".csv" not in name:  # CSV chunks are whole read blocks: the next test crosses them
        assert len(list(readers.read_chunks(path))) >= ROWS // CHUNK  # many chunks really
    result = ingest_file(wh, config, "feedback", path)
    good = frame.drop(index=sorted(BAD))
    assert (result.rows_read, result.accepted, result.quarantined) == (ROWS, len(good), len(BAD))
    stored = wh.table("feedback").select("response_id", "ltr").execute()
    assert sorted(stored.response_id) == list(good.response_id)
    assert (
        stored.set_index("response_id").ltr.to_dict() == good.set_index("response_id").ltr.to_dict()
    )
    lines = sorted(wh.table("quarantine").line.execute())
    assert lines == [_first_line(path) + i for i in sorted(BAD)]


def test_a_csv_larger_than_one_read_block_loses_no_row(
    wh: Warehouse, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV of more than one of the CSV reader's blocks (8 MB), in small chunks."""
    monkeypatch.setattr(readers, "CHUNK_ROWS", 500)
    rows = 2_100
    frame = _frame(rows, comment="x" * 5_000)  # about 10.5 MB
    path = _write(frame, tmp_path / "big.csv")
    assert path.stat().st_size > 9 << 20
    result = ingest_file(wh, config, "feedback", path)
    assert (result.rows_read, result.accepted) == (rows, rows - len(BAD))
    assert wh.table("feedback").count().execute() == rows - len(BAD)
    assert sorted(wh.table("quarantine").line.execute()) == [2 + i for i in sorted(BAD)]


@pytest.mark.usefixtures("small_chunks")
def test_a_question_first_seen_in_a_later_chunk_joins_the_staging_table(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    """JSON Lines: a key absent from the first chunks is added to the staging table (ALTER
    TABLE on the engine's staging table) when it first appears, and its answers are kept."""
    records = _frame().drop(index=sorted(BAD)).to_dict("records")
    for i, record in enumerate(records[20:]):
        record["q_late"] = 1 + i % 5
    path = tmp_path / "late.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = ingest_file(wh, config, "feedback", path)
    assert (result.accepted, result.quarantined) == (len(records), 0)
    assert "q_late" in wh.open_columns("feedback")
    stored = wh.table("feedback").select("response_id", "q_late").execute()
    late = stored.set_index("response_id").q_late.sort_index()
    assert late.isna().sum() == 20
    assert late.dropna().tolist() == [1.0 + i % 5 for i in range(len(records) - 20)]

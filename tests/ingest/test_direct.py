"""The direct path: a file without repeated keys goes straight into its table, once.

No staging copy of the rows (at 10,000 stores a staged copy of 90M transactions spilled 6 GB);
the promises stay: all or nothing, a row ingested twice is one row, rejected rows in quarantine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from earnright.config import Config
from earnright.ingest import batch, engine, ingest_file, readers
from earnright.warehouse import Warehouse

pytestmark = pytest.mark.usefixtures("backend")  # every test on every backend


def _transactions(ids: range, unit: str = "S1") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in ids],
            "customer_id": [f"c{i % 7}" for i in ids],
            "unit_id": unit,
            "occurred_at": pd.Timestamp("2026-09-01") + pd.to_timedelta(list(ids), "min"),
            "amount": [float(i) for i in ids],
        }
    )


def _stages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []
    original = Warehouse.create_stage

    def create_stage(self: Warehouse, schema: object) -> str:
        name = original(self, schema)  # type: ignore[arg-type]
        made.append(name)
        return name

    monkeypatch.setattr(Warehouse, "create_stage", create_stage)
    return made


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_file_without_repeated_keys_is_not_staged(
    wh: Warehouse, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = tmp_path / f"transactions{suffix}"
    frame = pd.concat([_transactions(range(40)), _transactions(range(40, 45), "S404")])
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    monkeypatch.setattr(readers, "CHUNK_ROWS", 10)  # several chunks
    stages = _stages(monkeypatch)
    result = ingest_file(wh, config, "transactions", path)
    assert stages == []
    assert (result.rows_read, result.accepted, result.quarantined) == (45, 40, 5)
    assert wh.count("transactions") == 40
    q = wh.table("quarantine").execute()
    assert sorted(q.line) == [41, 42, 43, 44, 45] if suffix == ".parquet" else [42, 43, 44, 45, 46]
    assert set(q.batch_id) == {result.batch_id} and set(q.kind) == {"transactions"}
    assert set(q.reason) == {"unit_id: unknown unit: 'S404' (ingest units first)"}


def test_rows_an_earlier_batch_brought_are_skipped_and_theirs_kept(
    wh: Warehouse, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _transactions(range(0, 30)).to_parquet(tmp_path / "a.parquet")
    changed = _transactions(range(20, 50))
    changed["amount"] = -1.0  # the same keys with other values: the first batch's stay
    changed.to_parquet(tmp_path / "b.parquet")
    first = ingest_file(wh, config, "transactions", tmp_path / "a.parquet")
    stages = _stages(monkeypatch)
    second = ingest_file(wh, config, "transactions", tmp_path / "b.parquet")
    assert stages == []
    assert (second.accepted, second.duplicates) == (20, 10)
    rows = wh.table("transactions").execute().set_index("transaction_id")
    assert len(rows) == 50
    assert (rows.loc[[f"t{i}" for i in range(30)], "batch_id"] == first.batch_id).all()
    assert (rows.loc[[f"t{i}" for i in range(20, 30)], "amount"] >= 0).all()
    assert (rows.loc[[f"t{i}" for i in range(30, 50)], "batch_id"] == second.batch_id).all()


def test_a_key_repeated_across_chunks_falls_back_to_the_first_wins(
    wh: Warehouse, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.concat([_transactions(range(25)), _transactions(range(3, 4))])
    frame.to_parquet(tmp_path / "t.parquet")
    monkeypatch.setattr(readers, "CHUNK_ROWS", 10)
    result = ingest_file(wh, config, "transactions", tmp_path / "t.parquet")
    assert (result.accepted, result.quarantined) == (25, 1)
    q = wh.table("quarantine").execute()
    assert list(q.reason) == ["transaction_id: duplicate in file: same as line 4"]
    assert list(q.line) == [26] and list(q.batch_id) == [result.batch_id]
    kinds = wh.table("batches").order_by("batch_id").kind.execute()
    assert list(kinds) == ["units", "transactions"]


def test_a_failure_half_way_leaves_nothing(
    wh: Warehouse, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_first = [_transactions(range(30, 32), "S404"), _transactions(range(30))]
    pd.concat(bad_first).to_parquet(tmp_path / "t.parquet")
    monkeypatch.setattr(readers, "CHUNK_ROWS", 10)
    monkeypatch.setattr(batch, "WRITE_ROWS", 10)  # each chunk written as it is read
    original = Warehouse.append_arrow
    calls: list[str] = []

    def append_arrow(self: Warehouse, table: str, data: object) -> None:
        calls.append(table)
        if table == "transactions" and calls.count(table) == 3:
            raise OSError("disk full")
        original(self, table, data)  # type: ignore[arg-type]

    monkeypatch.setattr(Warehouse, "append_arrow", append_arrow)
    with pytest.raises(OSError, match="disk full"):
        ingest_file(wh, config, "transactions", tmp_path / "t.parquet")
    assert wh.count("transactions") == 0
    assert wh.count("quarantine") == 0
    assert list(wh.table("batches").kind.execute()) == ["units"]


def test_accepted_rows_are_written_in_a_few_large_appends(
    wh: Warehouse, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are read small (progress, bounded memory) but written ``WRITE_ROWS`` at a time:
    DuckDB stores one large append for much less CPU than many chunk-sized ones."""
    _transactions(range(95)).to_parquet(tmp_path / "t.parquet")
    monkeypatch.setattr(readers, "CHUNK_ROWS", 10)
    monkeypatch.setattr(batch, "WRITE_ROWS", 40)
    monkeypatch.setattr(engine, "ENABLED", False)  # the general path (DuckDB reads it itself)
    original = Warehouse.append_arrow
    sizes: list[int] = []

    def append_arrow(self: Warehouse, table: str, data: Any) -> None:
        if table == "transactions":
            sizes.append(data.num_rows)
        original(self, table, data)

    monkeypatch.setattr(Warehouse, "append_arrow", append_arrow)
    result = ingest_file(wh, config, "transactions", tmp_path / "t.parquet")
    assert result.accepted == 95 and wh.count("transactions") == 95
    assert sizes == [40, 40, 15]  # chunks of 10 read, written 40 at a time, the rest at the end

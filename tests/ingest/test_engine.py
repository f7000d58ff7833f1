"""The engine path (DuckDB reads a clean Parquet file itself) against the general path.

The same files, clean and hostile, go into two new warehouses: one with the engine path, one
without. The tables, the quarantine and each ingest's counts must be identical; the clean files
must have taken the engine path and the hostile ones the general path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from earnright.config import Config
from earnright.ingest import engine, ingest_file
from earnright.services.demo import demo_config
from earnright.warehouse import Warehouse
from earnright.workspace import init_workspace
from tests.conftest import UNITS_CSV

TABLES = ("customers", "invitations", "transactions", "metrics", "quarantine", "batches")
T0 = pd.Timestamp("2026-09-01 08:00")


def _transactions(n: int, first: int = 0) -> pd.DataFrame:
    ids = range(first, first + n)
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in ids],
            "customer_id": [f"c{i % 5}" for i in ids],
            "unit_id": ["S1", "S2", "S3"] * (n // 3) + ["S1"] * (n % 3),
            "occurred_at": (T0 + pd.to_timedelta(list(ids), "min")).tz_localize("Europe/Paris"),
            "amount": np.linspace(-5, 50, n),
        }
    )


def _metrics(n: int) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "observed_at": T0 + pd.to_timedelta(np.arange(n) * 1_500_001, "us"),
            "metric": "checkout_errors",
            "unit_id": "S2",
            "platform": ["web", "ios", None, ""] * (n // 4),
            "daypart": ["am", None, "pm", "am"] * (n // 4),
            "value": np.nan,
            "good": np.arange(n) % 7,
            "total": 10,
        }
    )
    frame.loc[::3, ["good", "total"]] = None
    frame.loc[::3, "value"] = 0.25
    frame["good"] = frame["good"].astype("Int64")
    frame["total"] = frame["total"].astype("Int64")
    return frame


def _hostile_transactions() -> pd.DataFrame:
    frame = _transactions(12, first=100)
    frame.loc[1, "transaction_id"] = " t101 "  # stripped by the general path
    frame.loc[2, "customer_id"] = ""  # missing
    frame.loc[3, "amount"] = np.nan  # missing
    frame.loc[4, "amount"] = np.inf
    frame.loc[5, "unit_id"] = "S404"
    frame.loc[6, "transaction_id"] = "t100"  # repeated within the file
    frame.loc[7, "unit_id"] = "S3\u00a0"  # a no-break space: stripped
    return frame


def _repeated_transactions() -> pd.DataFrame:
    """Rows every engine check keeps, keys in order but one repeated: the count of distinct
    keys finds it (the keys do not strictly ascend), the general path quarantines it."""
    frame = _transactions(6, first=300)
    frame.loc[3, "transaction_id"] = "t302"
    return frame


def _hostile_metrics() -> pd.DataFrame:
    frame = _metrics(8)
    frame.loc[0, "good"] = 3  # a value and counts
    frame.loc[1, "good"] = 11  # more good than total
    frame.loc[2, "total"] = -1
    return frame


def _customers(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "home_unit_id": "S3",
            "joined_at": pd.Timestamp("2025-01-01").as_unit("ms"),
            "tier": ["gold", None, ""] * (n // 3),
        }
    )


def _invitations(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "invitation_id": [f"i{i}" for i in range(n)],
            "unit_id": "S1",
            "customer_id": [f"c{i}" for i in range(n)],
            "sent_at": T0,
            "moment": ["checkout", None, "find_product"] * (n // 3),
        }
    )


class RealNaN(pd.DataFrame):
    """Rows whose missing ``value`` / ``amount`` is written as a float NaN, not a null (pandas
    writes nulls): the engine reads NaN as missing, like the general path."""


def _write(frame: pd.DataFrame, path: Path) -> None:
    if not isinstance(frame, RealNaN):
        frame.to_parquet(path)
        return
    table = pa.Table.from_pandas(pd.DataFrame(frame), preserve_index=False)
    for name in ("value", "amount"):
        if name in table.column_names:
            column = pa.array(frame[name].to_numpy(dtype="float64"), from_pandas=False)
            table = table.set_column(table.column_names.index(name), name, column)
    pq.write_table(table, path)


FILES: list[tuple[str, str, pd.DataFrame, bool]] = [  # kind, file, rows, clean
    ("customers", "customers.parquet", _customers(9), True),
    (
        "transactions",
        "transactions.parquet",
        _transactions(30).sample(frac=1, random_state=1),
        True,
    ),  # index stored
    ("transactions", "again.parquet", _transactions(20, first=20), True),  # 10 already in
    ("transactions", "repeated.parquet", _repeated_transactions(), True),  # then restarts
    ("transactions", "hostile.parquet", _hostile_transactions(), False),
    ("metrics", "metrics.parquet", _metrics(40), True),
    ("metrics", "hostile_metrics.parquet", _hostile_metrics(), False),
    ("metrics", "nan_metrics.parquet", RealNaN(_metrics(8).assign(metric="pickup_wait")), True),
    ("transactions", "nan.parquet", RealNaN(_transactions(3, 200).assign(amount=np.nan)), False),
    ("invitations", "invitations.parquet", _invitations(9), True),
    ("invitations", "odd_moment.parquet", _invitations(3).assign(moment="nowhere"), False),
]


def _ingest_all(root: Path, config: Config, data: Path) -> tuple[dict[str, Any], list[Any]]:
    ws = init_workspace(root, config)
    results = []
    with ws.warehouse(read_only=False) as wh:
        ingest_file(wh, ws.config, "units", data / "units.csv")
        for kind, name, _, _ in FILES:
            results.append(ingest_file(wh, ws.config, kind, data / name))
        tables = {t: _sorted(wh, t) for t in TABLES}
    return tables, results


def _sorted(wh: Warehouse, table: str) -> pd.DataFrame:
    frame = wh.table(table).execute()
    frame = frame.drop(columns=[c for c in ("started_at", "finished_at") if c in frame])
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_the_engine_path_stores_what_the_general_path_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "units.csv").write_text(UNITS_CSV)
    for _, name, frame, _ in FILES:
        _write(frame, data / name)
    config = demo_config()  # journey moments known: invitations' moments are checked
    taken: list[bool] = []
    original = engine.engine_ingest

    def spy(*args: Any, **kwargs: Any) -> Any:
        done = original(*args, **kwargs)
        taken.append(done is not None)
        return done

    monkeypatch.setattr("earnright.ingest.batch.engine_ingest", spy)
    fast, fast_results = _ingest_all(tmp_path / "fast", config, data)
    assert taken == [clean for *_, clean in FILES]
    monkeypatch.setattr(engine, "ENABLED", False)
    general, general_results = _ingest_all(tmp_path / "general", config, data)
    for table in TABLES:
        pd.testing.assert_frame_equal(fast[table], general[table], obj=table)
    for a, b in zip(fast_results, general_results, strict=True):
        a.seconds = b.seconds = 0.0
        assert a == b
    assert len(fast["quarantine"]) >= 9  # the hostile files did reach quarantine
    assert fast["metrics"].row_key.notna().all()


def test_a_postgres_warehouse_is_not_for_the_engine_path(tmp_path: Path) -> None:
    class Pg:
        class dialect:
            name = "postgres"

    path = tmp_path / "t.parquet"
    _transactions(3).to_parquet(path)
    spec = engine.KINDS["transactions"]
    assert engine.engine_ingest(Pg(), spec, Config(), path, None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ids", "ascend"),
    [
        (["a", "b", "c", "d", "e"], True),
        (["a", "b", "b", "c", "d"], False),  # a repeat inside a batch of 2 rows
        (["a", "b", "c", "c", "d"], False),  # a repeat across two batches
        (["a", "c", "b", "d", "e"], False),  # distinct, out of order: the count decides
        (["a", "b", None, "d", "e"], False),
        (["b", "b10", "b2", "c", "d"], True),  # byte order, not the numbers in them
        ([], True),
    ],
)
def test_keys_ascend_only_when_each_key_is_above_the_one_before(
    tmp_path: Path, ids: list[str | None], ascend: bool
) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"transaction_id": pa.array(ids, type=pa.string())}), path)
    assert engine.keys_ascend(path, engine.KINDS["transactions"], batch_rows=2) is ascend
    assert not engine.keys_ascend(path, engine.KINDS["metrics"], batch_rows=2)  # a computed key

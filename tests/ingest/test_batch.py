"""Ingestion: exact good and quarantine counts, idempotency, atomicity."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earnright.config import Config, Source
from earnright.errors import IngestError
from earnright.ingest import ingest_file
from earnright.warehouse import Warehouse
from tests.conftest import UNITS_CSV

pytestmark = pytest.mark.usefixtures("backend")  # every test on every backend

FEEDBACK_CSV = """response_id,unit_id,responded_at,channel,comment,ltr,osat,q_wait
r1,S1,2026-09-01T10:00:00,survey,great,10,5,4
r2,S1,2026-09-02,survey,,6,3,2
r3,S9,2026-09-02,survey,,6,3,2
r4,S2,2026-13-02,survey,,11,3,2.5
r1,S1,2026-09-01T10:00:00,survey,great,10,5,4
r5,S2,2026-09-03T10:00:00+02:00,Survey,"multi, comma",,4,
r6,S3,2026-09-04,survey,,abc,,
r7,,2026-09-04,survey,,7,,
"""


def _table(wh: Warehouse, name: str) -> pd.DataFrame:
    frame = wh.table(name).execute().drop(columns="batch_id")
    return frame.sort_values(list(frame.columns[:1]), ignore_index=True)


def test_bad_rows_are_quarantined_with_line_field_and_reason(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text(FEEDBACK_CSV)
    result = ingest_file(wh, config, "feedback", path)
    assert (result.rows_read, result.accepted, result.quarantined) == (8, 3, 5)
    assert sorted(_table(wh, "feedback").response_id) == ["r1", "r2", "r5"]
    q = wh.table("quarantine").execute().sort_values("line").set_index("line")
    assert list(q.index) == [4, 5, 6, 8, 9]
    assert q.loc[4, "field"] == "unit_id"
    assert q.loc[4, "reason"] == "unit_id: unknown unit: 'S9' (ingest units first)"
    assert q.loc[5, "field"] == "responded_at; ltr; q_wait"
    assert "not a date/time: '2026-13-02'" in q.loc[5, "reason"]
    assert "ltr: out of scale: 11.0 (expected 0 to 10)" in q.loc[5, "reason"]
    assert "q_wait: not a whole-number answer: 2.5" in q.loc[5, "reason"]
    assert q.loc[6, "reason"] == "response_id: duplicate in file: same as line 2"
    assert q.loc[8, "reason"] == "ltr: not a number: 'abc'"
    assert q.loc[9, "reason"] == "unit_id: missing value"
    assert json.loads(q.loc[4, "raw"])["unit_id"] == "S9"
    assert set(q.source) == {str(path)}
    # timezone offsets are converted to UTC
    r5 = _table(wh, "feedback").set_index("response_id").loc["r5"]
    assert r5.responded_at == pd.Timestamp("2026-09-03T08:00:00")
    assert r5.channel == "survey"


def test_same_file_or_same_rows_again_adds_nothing(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text(FEEDBACK_CSV)
    ingest_file(wh, config, "feedback", path)
    before = (wh.count("feedback"), wh.count("quarantine"), wh.count("batches"))
    again = ingest_file(wh, config, "feedback", path)
    assert again.already_ingested_as is not None
    assert (wh.count("feedback"), wh.count("quarantine"), wh.count("batches")) == before
    copy = tmp_path / "copy.csv"
    copy.write_text(FEEDBACK_CSV + "\n")  # same rows, different bytes
    forced = ingest_file(wh, config, "feedback", copy)
    assert forced.accepted == 0
    assert forced.duplicates == 3
    assert wh.count("feedback") == before[0]


@pytest.mark.parametrize("suffix", [".csv.gz", ".parquet", ".jsonl", ".jsonl.gz"])
def test_every_format_gives_the_same_table(
    wh: Warehouse, config: Config, tmp_path: Path, suffix: str
) -> None:
    rows = pd.DataFrame(
        {
            "transaction_id": ["t1", "t2", "t3"],
            "customer_id": ["c1", "c2", "c1"],
            "unit_id": ["S1", "S2", "S3"],
            "occurred_at": ["2026-09-01T10:00:00", "2026-09-02T11:30:00", "2026-09-03"],
            "amount": [12.5, 3.0, 40.25],
        }
    )
    reference = tmp_path / "t.csv"
    rows.to_csv(reference, index=False)
    path = tmp_path / f"t{suffix}"
    if suffix == ".parquet":
        rows.assign(occurred_at=pd.to_datetime(rows.occurred_at, format="ISO8601")).to_parquet(path)
    elif suffix.startswith(".jsonl"):
        text = rows.to_json(orient="records", lines=True)
        path.write_bytes(gzip.compress(text.encode()) if suffix.endswith(".gz") else text.encode())
    else:
        path.write_bytes(gzip.compress(reference.read_bytes()))
    result = ingest_file(wh, config, "transactions", path)
    assert (result.accepted, result.quarantined) == (3, 0)
    got = _table(wh, "transactions")
    assert list(got.transaction_id) == ["t1", "t2", "t3"]
    assert list(got.amount) == [12.5, 3.0, 40.25]
    assert list(got.occurred_at) == list(pd.to_datetime(rows.occurred_at, format="ISO8601"))


def test_malformed_json_line_is_quarantined_not_fatal(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "inv.jsonl"
    path.write_text(
        '{"invitation_id": "i1", "unit_id": "S1", "customer_id": "c1", "sent_at": "2026-09-01"}\n'
        "{not json\n"
        '{"invitation_id": "i2", "unit_id": "S2", "customer_id": "c2"}\n'
    )
    result = ingest_file(wh, config, "invitations", path)
    assert (result.accepted, result.quarantined) == (1, 2)
    q = wh.table("quarantine").execute().sort_values("line")
    assert list(q.line) == [2, 3]
    assert q.reason.iloc[0].startswith("not a JSON object")
    assert q.reason.iloc[1] == "sent_at: missing value"


def test_missing_required_column_names_the_file_and_the_fix(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "fb.csv"
    path.write_text("id,store,when\n1,S1,2026-09-01\n")
    with pytest.raises(IngestError, match=r"fb.csv: missing required column\(s\)") as err:
        ingest_file(wh, config, "feedback", path)
    assert "sources" in str(err.value)
    assert wh.count("batches") == 1  # only the units batch of the fixture


def test_column_mapping_from_config(wh: Warehouse, config: Config, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Survey ID,Store,Date,LTR,Internal\nx1,S1,2026-09-01,9,secret\n")
    mapped = config.model_copy(
        update={
            "sources": {
                "vendor": Source(
                    kind="feedback",
                    columns={"Survey ID": "response_id", "Store": "unit_id", "Date": "responded_at"}
                    | {"LTR": "ltr"},
                    ignore=["Internal"],
                )
            }
        }
    )
    result = ingest_file(wh, mapped, "feedback", path, source="vendor")
    assert result.accepted == 1
    assert wh.table("feedback").ltr.execute().tolist() == [9.0]


def test_metrics_dimensions_become_columns_and_rows_dedupe_on_identity(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "observed_at,metric,unit_id,platform,value,good,total\n"
        "2026-09-01,app_errors,S1,android,,990,1000\n"
        "2026-09-01,app_errors,S1,ios,,999,1000\n"
        "2026-09-01,queue_wait,S1,,4.5,,\n"
        "2026-09-01,app_errors,S1,android,,10,5\n"
        "2026-09-01,queue_wait,S2,,4.5,1,2\n"
    )
    result = ingest_file(wh, config, "metrics", path)
    assert (result.accepted, result.quarantined) == (3, 2)
    reasons = sorted(wh.table("quarantine").reason.execute())
    assert reasons == [
        "good: good exceeds total",
        "value: give either value or good and total, not both",
    ]
    assert "platform" in wh.open_columns("metrics")


UNIT_ROWS = ["S1", "S2", "S3"]


def _feedback_batches(tmp_path: Path) -> list[Path]:
    """Three overlapping feedback files (shared response ids across files)."""
    paths = []
    for b, ids in enumerate([range(0, 6), range(4, 10), range(8, 12)]):
        lines = ["response_id,unit_id,responded_at,ltr,q_staff"]
        lines += [f"r{i},{UNIT_ROWS[i % 3]},2026-09-{1 + i:02d},{i % 11},{1 + i % 5}" for i in ids]
        if b == 1:
            lines.append("bad,S1,not-a-date,5,3")
        path = tmp_path / f"fb{b}.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


@pytest.mark.parametrize(  # the reference backend only: a minute of ingests on a server
    "backend", ["duckdb"]
)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.lists(st.integers(0, 2), min_size=1, max_size=7))
def test_any_order_and_repetition_gives_the_same_tables(
    tmp_path_factory: pytest.TempPathFactory, order: list[int]
) -> None:
    from earnright.workspace import init_workspace

    root = tmp_path_factory.mktemp("prop")
    paths = _feedback_batches(root)
    (root / "units.csv").write_text(UNITS_CSV)
    ws = init_workspace(root / "ws")
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", root / "units.csv")
        for i in [*order, 0, 1, 2]:  # whatever came first, all three end up ingested
            ingest_file(wh, ws.config, "feedback", paths[i])
        got = _table(wh, "feedback")
        assert list(got.response_id) == sorted(f"r{i}" for i in range(12))
        assert got.set_index("response_id").loc["r7", "ltr"] == 7.0
        assert wh.count("quarantine") == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.csv", "response_id,unit_id,responded_at,ltr\n"), ("empty.jsonl", "")],
)
def test_a_file_without_rows_is_an_empty_batch(
    wh: Warehouse, config: Config, tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = ingest_file(wh, config, "feedback", path)
    assert (result.rows_read, result.accepted, result.quarantined) == (0, 0, 0)
    assert result.batch_id == 2


def test_header_only_csv_still_checks_required_columns(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("id,store\n")
    with pytest.raises(IngestError, match="missing required column"):
        ingest_file(wh, config, "feedback", path)

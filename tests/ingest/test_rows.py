"""RowRules (earnright.ingest.rows) gives every row what validate_chunk gives it: the same
accepted values, the same rejected line, fields, reasons, raw text and key, over hostile rows,
whether validate_chunk sees the row alone or in a chunk of others."""

from __future__ import annotations

import math
import random
from typing import Any

import pandas as pd
import pytest

from earnright.ingest.kinds import KINDS, validate_chunk
from earnright.ingest.rows import RowRules
from tests.survey.conftest import survey_config

CONFIG = survey_config()
UNITS = {"S1", "S2"}
QUESTIONS = ["ltr", "osat", "q_wait"]
NUMBERS = [
    None, "", "  ", "0", "3", "10", " 4 ", "04", "11", "-1", "6.0", "4.5", "NA", "null", "N/A",
    "abc", "1e1", "٣", "+3", "inf", "-inf", "Infinity", "1e400", "0x10", "1_000", "True",
    "=1+2", "x" * 200, "jo@example.com", ".5", "1.", "9.0000001",
]  # fmt: skip
TEXTS = [None, "", " ", "fine", "  spaced  ", "<img onerror=x>", "=HYPERLINK(\"x\")", "x" * 5000,
         "line\nbreak", "İSTANBUL", "SMS", "\x1ctab\x1f"]  # fmt: skip
STAMPS = [
    None, "", "2026-09-02T10:30:15", "2026-09-02 10:30", "2026-09-02T10:30:15.123456789Z",
    "2026-09-02T10:30:15+02:00", "yesterday", "2026-13-01", "20260902", "9999-12-31",
]  # fmt: skip
IDS = [None, "", " r1 ", "S1", "S2", "S9", "s1", "x" * 100]
MOMENTS = [None, "", "pickup", "checkout", " pickup ", "Pickup", "lunch"]


def pick(rng: random.Random, good: list[Any], hostile: list[Any]) -> Any:
    """Mostly a good value, so that rows are accepted too; else any value."""
    return rng.choice(good if rng.random() < 0.85 else hostile)


def random_rows(rng: random.Random, n: int, stamps: list[Any] = STAMPS) -> list[dict[str, Any]]:
    rows = []
    for line in range(1, n + 1):
        row: dict[str, Any] = {
            "_line": line,
            "response_id": pick(rng, [f"r{line}"], IDS),
            "unit_id": pick(rng, ["S1", "S2"], IDS),
            "responded_at": pick(rng, stamps[2:6], stamps),
            "customer_id": rng.choice(IDS),
            "channel": rng.choice([*TEXTS[:6], "SMS", "İSTANBUL"]),
            "moment": pick(rng, MOMENTS[:4], MOMENTS),
            "comment": rng.choice(TEXTS),
        }
        rows.append(row | {q: pick(rng, [None, "0", "3", "10", " 7 "], NUMBERS) for q in QUESTIONS})
    return rows


def chunk_result(rows: list[dict[str, Any]]) -> tuple[dict[int, dict], dict[int, dict]]:
    frame = pd.DataFrame(rows)
    frame = frame.astype({c: "string" for c in frame.columns if c != "_line"})
    good, bad = validate_chunk(KINDS["feedback"], frame, CONFIG, QUESTIONS, UNITS)
    accepted = {int(r["_line"]): plain(r) for r in good.to_dict("records")}
    rejected = {int(r["line"]): plain(r) for r in bad.to_dict("records")}
    return accepted, rejected


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """Missing as None, timestamps as datetimes, numbers as floats."""
    out = {}
    for k, v in row.items():
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            out[k] = None
        elif isinstance(v, pd.Timestamp):
            out[k] = v.to_pydatetime()
        else:
            out[k] = v.item() if hasattr(v, "item") else v
    out.pop("_line", None)
    out.pop("line", None)
    return out


def row_result(rows: list[dict[str, Any]]) -> tuple[dict[int, dict], dict[int, dict]]:
    found = RowRules(KINDS["feedback"], CONFIG, QUESTIONS, UNITS).check(rows)
    return (
        {r["_line"]: plain(r) for r in found.accepted},
        {r["line"]: plain(r) for r in found.rejected},
    )


@pytest.mark.parametrize("seed", range(3))
def test_row_rules_give_each_row_what_validate_chunk_gives_it_alone(seed: int) -> None:
    rows = random_rows(random.Random(seed), 50)
    accepted, rejected = row_result(rows)
    assert accepted and rejected  # both kinds of row are tested
    for row in rows:
        want_good, want_bad = chunk_result([row])
        line = row["_line"]
        assert accepted.get(line) == want_good.get(line), row
        assert rejected.get(line) == want_bad.get(line), row


@pytest.mark.parametrize("seed", range(4))
def test_row_rules_give_a_chunk_what_validate_chunk_gives_it(seed: int) -> None:
    """The raw text of a chunk's row lists the chunk's columns: every row here has them all.
    With a year-9999 date beside times to the nanosecond: validate_chunk used to read it alone
    but not in such a chunk (pandas parsed the chunk in nanoseconds, whose range ends in 2262)."""
    rows = random_rows(random.Random(100 + seed), 120, STAMPS)
    assert row_result(rows) == chunk_result(rows)


def test_a_reason_quotes_the_value_read_and_names_each_field() -> None:
    row = {"_line": 7, "response_id": "r", "unit_id": "S9", "responded_at": "soon",
           "moment": "lunch", "ltr": "11", "osat": "abc", "q_wait": "inf"}  # fmt: skip
    (bad,) = RowRules(KINDS["feedback"], CONFIG, QUESTIONS, UNITS).check([row]).rejected
    assert bad["field"] == "responded_at; ltr; osat; q_wait; q_wait; unit_id; moment"
    assert "ltr: out of scale: 11.0 (expected 0 to 10)" in bad["reason"]
    assert "osat: not a number: 'abc'" in bad["reason"]
    assert "unit_id: unknown unit: 'S9' (ingest units first)" in bad["reason"]


def test_kinds_whose_checks_compare_fields_are_left_to_validate_chunk() -> None:
    with pytest.raises(ValueError, match="validate_chunk only"):
        RowRules(KINDS["metrics"], CONFIG, [], None)


def test_typed_times_are_read_as_a_parquet_files() -> None:
    """A time given typed (a Parquet column; the survey's answer time) is taken as
    validate_chunk takes a datetime column: aware ones in UTC, naive ones as they are."""
    from datetime import UTC, datetime, timedelta, timezone

    stamps = [datetime(2026, 9, 2, 10, 30, 15, 123456),
              datetime(2026, 9, 2, 12, 30, tzinfo=timezone(timedelta(hours=2))),
              datetime(2026, 9, 2, 10, 30, tzinfo=UTC)]  # fmt: skip
    for stamp in stamps:
        row = {"_line": 1, "response_id": "r1", "unit_id": "S1", "responded_at": stamp}
        frame = pd.DataFrame([row]).astype({"response_id": "string", "unit_id": "string"})
        good, _ = validate_chunk(KINDS["feedback"], frame, CONFIG, [], UNITS)
        (typed,) = RowRules(KINDS["feedback"], CONFIG, [], UNITS).check([row]).accepted
        assert typed["responded_at"] == good.responded_at.iloc[0].to_pydatetime()

"""The default period is the latest complete one; a period without data is a user error."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from earnright.config import Config
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.periods import Grain, choose_period
from earnright.warehouse import Warehouse


def load(wh: Warehouse, config: Config, tmp_path: Path, *stamps: str) -> None:
    frame = pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(len(stamps))],
            "unit_id": "S1",
            "responded_at": pd.to_datetime(list(stamps), format="ISO8601"),
            "ltr": 9.0,
        }
    )
    frame.to_parquet(tmp_path / "fb.parquet")
    assert ingest_file(wh, config, "feedback", tmp_path / "fb.parquet").accepted == len(stamps)


@pytest.mark.parametrize(
    ("stamps", "grain", "label", "complete", "words"),
    [
        # the data reach the month's last day: that month is complete
        (["2026-08-03", "2026-09-30T23:00"], Grain.month, "2026-09", True, "latest complete"),
        # September has begun (2 days) but not ended: August, the latest month with data before
        (["2026-08-03", "2026-09-02"], Grain.month, "2026-08", True, "2026-09 has begun"),
        # a gap: nothing in August, so the month before September with data is July
        (["2026-07-31", "2026-09-02"], Grain.month, "2026-07", True, "2026-09 has begun"),
        # one period of data, not complete: that one, said to be incomplete
        (["2026-09-01", "2026-09-28"], Grain.month, "2026-09", False, "the only month"),
        # weeks end on Sunday (2026-09-06); quarters on the last day of their third month
        (["2026-08-28", "2026-09-06T10:00"], Grain.week, "2026-W36", True, "latest complete"),
        (["2026-08-28", "2026-09-05"], Grain.week, "2026-W35", True, "2026-W36 has begun"),
        (["2026-06-30", "2026-09-29"], Grain.quarter, "2026-Q2", True, "2026-Q3 has begun"),
    ],
)
def test_the_default_is_the_latest_complete_period(
    wh: Warehouse,
    config: Config,
    tmp_path: Path,
    stamps: list[str],
    grain: Grain,
    label: str,
    complete: bool,
    words: str,
) -> None:
    load(wh, config, tmp_path, *stamps)
    choice = choose_period(wh, grain)
    assert (choice.label, choice.complete, choice.given) == (label, complete, False)
    assert words in choice.reason and choice.note.startswith(f"period {label} (")


def test_a_given_period_must_hold_data(wh: Warehouse, config: Config, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="no feedback or invitations in the warehouse"):
        choose_period(wh, Grain.month)
    load(wh, config, tmp_path, "2026-07-31", "2026-09-02")
    assert choose_period(wh, Grain.month, "2026-07").given
    for gap in ("2026-08", "2026-06", "2027-01"):
        with pytest.raises(QueryError, match=f"no feedback or invitations in {gap}: the data"):
            choose_period(wh, Grain.month, gap)
    with pytest.raises(QueryError, match=r"cover 2026-07 to 2026-09 \(2026-07-31 to 2026-09-02\)"):
        choose_period(wh, Grain.month, "2026-08")


# -- one type for a period: Period ----------------------------------------------------------------
def test_a_period_knows_its_grain_window_and_label() -> None:
    from earnright.periods import Period, grain_of

    quarter = Period.parse("2026-Q3")
    assert (quarter.grain, str(quarter), repr(quarter)) == (
        Grain.quarter,
        "2026-Q3",
        "Period('2026-Q3')",
    )
    assert quarter.window == (datetime(2026, 7, 1), datetime(2026, 10, 1))
    assert Period.parse("2026-W01").window == (datetime(2025, 12, 29), datetime(2026, 1, 5))
    assert Period.parse("2026-12").end == datetime(2027, 1, 1)
    assert Period.of(quarter) is quarter and Period.of("2026-09", "month").label == "2026-09"
    assert Period.containing(datetime(2026, 9, 9, 13), Grain.week).label == "2026-W37"
    assert [grain_of(t) for t in ("2026-09", "2026-W37", "2026-Q3", "Sept")] == [
        Grain.month, Grain.week, Grain.quarter, None,
    ]  # fmt: skip


def test_a_bad_period_is_said_in_domain_words_naming_the_argument() -> None:
    from earnright.periods import Period

    with pytest.raises(QueryError, match="'2026-Q3' is not a month") as caught:
        Period.parse("2026-Q3", "month")
    assert caught.value.argument == "period" and "--" not in str(caught.value)
    with pytest.raises(QueryError, match="'2026-W54' is not a valid week") as caught:
        Period.parse("2026-W54")
    assert caught.value.argument == "period"
    with pytest.raises(QueryError, match="2026-Q3 is a quarter, not a week") as caught:
        Period.of(Period.parse("2026-Q3"), "week")
    assert caught.value.argument == "grain"

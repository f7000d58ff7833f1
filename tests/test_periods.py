"""The default period is the latest complete one; a period without data is a user error."""

from __future__ import annotations

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

"""The identity of a metric row: its exact text, which the warehouse keeps as ``row_key``.

The key decides what a later batch supersedes, so its spelling must never change: the time in
ISO 8601 to the microsecond with a ``T``, then metric and unit, then each non-empty dimension in
name order as ``|name=value``; no key where the time or metric could not be read.
"""

from __future__ import annotations

import pandas as pd

from earnright.ingest.kinds import metric_row_key


def test_metric_row_key_spells_time_metric_unit_and_given_dimensions() -> None:
    rows = pd.DataFrame(
        {
            "observed_at": pd.Series(
                ["2026-09-30 14:05:00", "2024-02-29 23:59:59.000250", None, "2026-01-01"],
                dtype="datetime64[us]",
            ),
            "metric": pd.Series(["queue", "app_errors", "queue", None], dtype="string"),
            "unit_id": pd.Series(["S0001", "S0002", "S0001", "S0003"], dtype="string"),
            "platform": pd.Series(["android", None, "ios", "ios"], dtype="string"),
            "daypart": pd.Series(["am", "pm", None, None], dtype="string"),
        }
    ).set_axis([10, 11, 12, 13])  # a chunk's rows keep their index in the file's frame
    key = metric_row_key(rows, ["platform", "daypart"])
    assert key.index.tolist() == [10, 11, 12, 13]
    assert key.iloc[:2].tolist() == [
        "2026-09-30T14:05:00.000000|queue|S0001|daypart=am|platform=android",
        "2024-02-29T23:59:59.000250|app_errors|S0002|daypart=pm",
    ]
    assert key.isna().tolist() == [False, False, True, True]
    assert metric_row_key(rows.iloc[:0], ["platform"]).empty

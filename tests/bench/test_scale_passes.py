"""bench/scale.py times each pass from the end of the pass that ran before it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scale.py"


def _scale():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_scale", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    return module


def test_passes_are_timed_in_the_order_they_ran() -> None:
    lines = [  # the demo's own order: detection right after ingestion, then the report
        "[   12.9 s] truth: done (1 of 1, 100%) in 0.2 s",
        "[   68.1 s] ingestion: done (6 of 6, 100%) in 50.6 s",
        "[  199.8 s] detection: done (4 of 4, 100%) in 131.7 s",
        "[  209.0 s] scorecard: done (4 of 4, 100%) in 9.2 s",
        "[  220.0 s] ranking and focus lists: 1 of 2 (50%)",
        "[  235.9 s] ranking and focus lists: done (2 of 2, 100%) in 26.9 s",
        "[  259.8 s] reliability: done (1 of 1, 100%) in 23.9 s",
        "[  303.9 s] results: done (1 of 1, 100%) in 1.6 s",
    ]
    times = _scale().pass_times(lines)
    assert times == {
        "generation": 12.9,
        "ingestion": 55.2,
        "scorecard": 9.2,
        "ranking": 11.0,
        "focus": 15.9,
        "reliability": 23.9,
        "detection": 131.7,
        "results and page": 44.1,
    }

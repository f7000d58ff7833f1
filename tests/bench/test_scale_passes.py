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


def test_cpu_seconds_per_pass_come_from_the_clock_read_as_each_line_arrived() -> None:
    lines = [
        "[    1.0 s] truth: done (1 of 1, 100%) in 0.2 s",
        "a line that is no progress line",
        "[    9.0 s] ingestion: done (6 of 6, 100%) in 8.0 s",
        "[   30.0 s] detection: done (4 of 4, 100%) in 21.0 s",
    ]
    cpu = [0.5, 0.7, 4.0, 6.5]  # the child's CPU seconds when each line came
    times = _scale().pass_times(lines, cpu)
    assert times == {"generation": 0.5, "ingestion": 3.5, "detection": 2.5}


def test_passes_are_extrapolated_by_their_growth_and_never_below_linear() -> None:
    scale = _scale()
    sizes = [
        {"stores": 100, "cpu_passes": {"ingestion": 10.0, "detection": 4.0, "focus": 2.0}},
        {"stores": 1000, "cpu_passes": {"ingestion": 100.0, "detection": 400.0, "focus": 4.0}},
    ]
    rows = scale.scaling(sizes)
    assert {r["pass"]: r["exponent"] for r in rows} == {
        "ingestion": 1.0,
        "detection": 2.0,
        "focus": 0.3,
    }
    assert scale.extrapolate(sizes, rows, 10_000) == {
        "ingestion": 1000.0,  # linear: 10 times
        "detection": 40000.0,  # squared: 100 times
        "focus": 40.0,  # sublinear growth is taken as linear
    }
    assert scale.extrapolate(sizes[:1], scale.scaling(sizes[:1]), 10_000) == {}


def test_a_baseline_is_set_beside_the_run_with_the_ratio_of_cpu_seconds() -> None:
    size = {"stores": 60, "wall_s": 9.0, "peak_rss_gb": 0.5, "passes": {"detection": 8.0}}
    result = {
        "started": "now",
        "command": "bench/scale.py",
        "months": 24,
        "machine": {"cpus": 2},
        "elapsed": 9.0,
        "sizes": [size | {"cpu_s": 6.0, "cpu_passes": {"detection": 5.0}}],
        "scaling": [],
        "check": "ok",
        "baseline": {
            "started": "before",
            "sizes": [
                {"stores": 60, "cpu_passes": {"detection": 10.0}},
                {"stores": 1000, "cpu_passes": {"detection": 150.0}},
            ],
            "extrapolated": {"detection": 1500.0},
        },
    }
    text = _scale().markdown(result)
    assert "| detection | 60 | 10.0 | 5.0 | 0.50 |" in text
    assert "| detection | 1,000 | 150.0 |  |  |" in text  # a size only the baseline ran
    assert "(not a run): 1,500 CPU s, detection 1,500." in text


def test_each_pass_keeps_the_largest_memory_read_at_its_lines() -> None:
    lines = [
        "[    1.0 s] stores: 5 of 10, 50%",
        "[    2.0 s] truth: done (1 of 1, 100%) in 0.2 s",
        "a line that is no progress line",
        "[    9.0 s] ingestion: done (6 of 6, 100%) in 8.0 s",
        "[   20.0 s] detection: running for 10 s (0 of 4, 0%)",
        "[   30.0 s] detection: done (4 of 4, 100%) in 21.0 s",
    ]
    rss = [0.4, 0.3, 9.0, 1.5, 3.25, 2.0]  # GB when each line came
    peaks = _scale().pass_peaks(lines, rss)
    assert peaks == {"generation": 0.4, "ingestion": 1.5, "detection": 3.25}

"""Plain progress lines: a line when a pass starts, at each further tenth, after a pause, and
when it is done; a pass that goes quiet still gets a line."""

from __future__ import annotations

import io
import re
import time

from earnright.progress import ProgressLines


def _texts(stream: io.StringIO) -> list[str]:
    return [re.sub(r"^\[ *[\d.]+ s\] ", "", line) for line in stream.getvalue().splitlines()]


def test_a_line_at_start_each_tenth_and_end_with_counts() -> None:
    stream = io.StringIO()
    with ProgressLines(stream, every=3600) as progress:
        for done in range(0, 1001, 7):  # many calls, few lines
            progress("ingest metrics.parquet", done, 1000)
        progress("ingest metrics.parquet", 1000, 1000)
        progress("detection", 0, 4)
    lines = _texts(stream)
    assert lines[0] == "ingest metrics.parquet: started (0 of 1,000, 0%)"
    tenths = [line for line in lines if re.fullmatch(r"ingest metrics.parquet: [\d,]+ of .*", line)]
    assert [int(line.split("%")[0].rsplit(" ", 1)[1]) // 10 for line in tenths] == list(
        range(1, 10)
    )
    assert re.fullmatch(
        r"ingest metrics.parquet: done \(1,000 of 1,000, 100%\) in [\d.]+ s", lines[-2]
    )
    assert lines[-1] == "detection: started (0 of 4, 0%)"


def test_a_quiet_pass_gets_a_running_line() -> None:
    stream = io.StringIO()
    with ProgressLines(stream, every=0.2) as progress:
        progress("focus", 0, 2)
        time.sleep(1.5)
        progress("focus", 2, 2)
    lines = _texts(stream)
    assert any(line.startswith("focus: running for ") for line in lines), lines
    assert lines[-1].startswith("focus: done")


def test_a_stage_resumed_after_another_is_not_started_twice() -> None:
    """The demo's "ingestion" stage (files done) interleaves with each file's own stage: one
    start line and one done line for it, timed from its first call."""
    stream = io.StringIO()
    with ProgressLines(stream, every=3600) as progress:
        for i in range(1, 4):
            progress(f"ingest {i}", 10, 10)
            progress("ingestion", i, 3)
    lines = _texts(stream)
    assert sum(line.startswith("ingestion: started") for line in lines) == 1, lines
    assert sum(line.startswith("ingestion: done") for line in lines) == 1, lines


def test_the_work_between_stages_is_not_silent() -> None:
    """After a file's own stage is done its batch is still written: the enclosing stage goes
    on being reported; with no stage open, a line still says the work goes on."""
    stream = io.StringIO()
    with ProgressLines(stream, every=0.2) as progress:
        progress("ingestion", 0, 2)
        progress("ingest a", 5, 5)
        time.sleep(1.5)
        progress("ingestion", 2, 2)
        time.sleep(1.5)
    lines = _texts(stream)
    resumed = lines[lines.index("ingest a: done (5 of 5, 100%) in 0.0 s") + 1]
    assert resumed.startswith("ingestion: running for "), lines
    assert lines[-1] == "working (after ingestion)", lines

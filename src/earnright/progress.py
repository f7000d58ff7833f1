"""Progress of long work: the callback types, and plain progress lines for logs.

Long passes take a callback instead of printing: ``Progress(stage, done, total)`` for work in
named stages (the demo, detection), ``StepProgress(done, total)`` for the one stage a function does
(reading a file). A terminal shows them as bars (the CLI's ``rich`` bars); when the output is a
log file or a pipe, :class:`ProgressLines` writes plain lines instead: one when a stage starts,
one each time it passes another tenth of its total or ``every`` seconds after the last line
(with its counts), and one when it is done, with its time. A pass that reports nothing for
``every`` seconds still gets a line saying it is running, so a log never goes silent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "ProgressLines", "StepProgress"]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``done`` of ``total`` of ``stage`` are finished."""

StepProgress = Callable[[int, int], None]
"""``progress(done, total)`` within one stage already named by the caller."""


class ProgressLines:
    """A ``Progress`` that writes plain lines to ``stream``; use as a context manager (it
    starts and stops the line for passes that go quiet)."""

    def __init__(self, stream: TextIO, every: float = 10.0) -> None:
        self.stream = stream
        self.every = every
        self.started = time.monotonic()
        self.stage: str | None = None
        self.stage_started = self.started
        self.last_line = self.started
        self.counts = (0, 0)
        self.tenth = 0
        self.finished: set[str] = set()  # a stage told again that it is done prints nothing
        self.begun: dict[str, tuple[float, int, tuple[int, int]]] = {}  # per stage: its
        # start, its last tenth and its counts
        self.after = ""  # the stage last done, while no stage is open
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._quiet: threading.Thread | None = None

    def __enter__(self) -> ProgressLines:
        self._quiet = threading.Thread(target=self._watch, daemon=True)
        self._quiet.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._quiet is not None:
            self._quiet.join()

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            now = time.monotonic()
            if stage in self.finished and total > 0 and done >= total:
                return
            if stage != self.stage:  # a stage resumed after another (a file within all
                # files) carries on where it was: its start and its tenths are kept
                first = stage not in self.begun
                self.begun.setdefault(stage, (now, 0, (done, total)))
                self._leave()
                self.stage = stage
                self.stage_started, self.tenth, _ = self.begun[stage]
                if first:
                    self._line(f"{stage}: started ({_counts(done, total)})", now)
            self.counts = (done, total)
            if total > 0 and done >= total:
                took = now - self.stage_started
                self._line(f"{stage}: done ({_counts(done, total)}) in {took:.1f} s", now)
                self.stage, self.after = None, stage
                self.finished.add(stage)
                self._resume()
                return
            tenth = 10 * done // total if total > 0 else 0
            if tenth > self.tenth or now - self.last_line >= self.every:
                self.tenth = max(self.tenth, tenth)
                self._line(f"{stage}: {_counts(done, total)}", now)

    def _leave(self) -> None:
        if self.stage is not None:
            self.begun[self.stage] = (self.stage_started, self.tenth, self.counts)

    def _resume(self) -> None:
        """Back to the latest stage begun and not done (the demo's "ingestion" once a file's
        own stage is done: its batch is still being written), if any."""
        unfinished = [name for name in self.begun if name not in self.finished]
        if unfinished:
            self.stage = unfinished[-1]
            self.stage_started, self.tenth, self.counts = self.begun[self.stage]

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                now = time.monotonic()
                if now - self.last_line < self.every:
                    continue
                if self.stage is not None:
                    running = now - self.stage_started
                    done, total = self.counts
                    self._line(
                        f"{self.stage}: running for {running:.0f} s ({_counts(done, total)})", now
                    )
                else:
                    self._line(f"working (after {self.after or 'the start'})", now)

    def _line(self, text: str, now: float) -> None:
        self.stream.write(f"[{now - self.started:7.1f} s] {text}\n")
        self.stream.flush()
        self.last_line = now


def _counts(done: int, total: int) -> str:
    if total <= 0:
        return f"{done:,}"
    return f"{done:,} of {total:,}, {100 * done // total}%"

"""The progress callback types that long work reports through.

A long task calls ``progress(stage, done, total)`` as it goes: ``stage`` names the step ("read",
"detect", "customers" …), ``done`` of ``total`` units of it are finished (rows, bytes, steps).
Code that works within one stage named by its caller (reading one file, say) takes a
:data:`StepProgress` ``(done, total)`` instead. Nothing here prints: the CLI turns the calls
into a progress bar, a notebook may ignore them.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "StepProgress"]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``done`` of ``total`` of ``stage`` are finished."""

StepProgress = Callable[[int, int], None]
"""``progress(done, total)`` within one stage already named by the caller."""

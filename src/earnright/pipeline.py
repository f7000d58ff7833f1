"""The demo pipeline, now the demo service: :mod:`earnright.services.demo` (kept importable)."""

from __future__ import annotations

from earnright.services.demo import DEMO_FILES, FILES, MARKER, DemoRun, demo_config, run_demo

__all__ = ["DEMO_FILES", "FILES", "MARKER", "DemoRun", "demo_config", "run_demo"]

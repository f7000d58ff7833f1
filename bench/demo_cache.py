"""Seeded demo companies for the benchmarks: generated and ingested once, then reused."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from earnright.pipeline import run_demo


def say(text: str) -> None:
    """Progress for the person running a benchmark (standard error, so results stay clean)."""
    print(text, file=sys.stderr, flush=True)


def cached_demo(data: Path, seed: int, stores: int, months: int) -> tuple[Path, dict[str, Any]]:
    """The demo workspace of a seed under ``data`` (made once, then reused) and its truth."""
    out = data / f"s{stores}_m{months}_seed{seed}"
    truth = out / "data" / "truth.json"
    if not (truth.exists() and (out / "earnright.duckdb").exists()):
        started = time.monotonic()
        run_demo(out, stores=stores, months=months, seed=seed, replace=True)
        say(f"seed {seed}: demo generated and ingested in {time.monotonic() - started:.1f} s")
    return out, json.loads(truth.read_text())

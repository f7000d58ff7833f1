"""Seeded demo companies for the benchmarks (generated and ingested once, then reused), and the
options every demo benchmark shares: ``--smoke``, ``--data`` and ``--output``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from earnright.services.demo import run_demo

BENCH = Path(__file__).resolve().parent
SMOKE = {"seeds": [1], "stores": 12, "months": 6}  # --smoke: one small company, seconds


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


def add_folder_options(parser: argparse.ArgumentParser, name: str) -> None:
    """``--smoke``, ``--data`` (the demo cache) and ``--output`` (the results)."""
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"CI size (seed {SMOKE['seeds'][0]}, {SMOKE['stores']} stores, {SMOKE['months']} "
        "months): checks that the run completes and its variants agree; the targets are reported "
        "but not enforced; without --data/--output nothing is written under bench/",
    )
    parser.add_argument(
        "--data", type=Path, default=None, help=f"demo cache (default bench/data/{name})"
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="results folder (default bench/results)"
    )


@contextmanager
def folders(args: argparse.Namespace, name: str) -> Iterator[tuple[Path, Path]]:
    """(demo cache, results folder): the defaults under bench/, or for a smoke run a temporary
    folder removed afterwards (unless given)."""
    if not args.smoke:
        yield args.data or BENCH / "data" / name, args.output or BENCH / "results"
        return
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        yield args.data or Path(tmp) / "data", args.output or Path(tmp) / "results"

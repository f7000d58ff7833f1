"""Benchmark: the demo's report passes on a workspace that is already ingested and detected.

    python bench/report_passes.py WORKSPACE --scratch DIR [--profile OUT.prof] [--json OUT.json]

Copies WORKSPACE (a demo made by ``earnright demo``; it is never written) to ``--scratch`` and
runs there what ``earnright demo`` runs after detection (:func:`earnright.services.demo.run_demo`):
the scorecard of every level, ranking and focus lists, reliability, the asset ledger, the page
(``build_report``), the results files, then the report site and the pack (as the demo does,
through the public API).
Each pass gets its CPU seconds (``time.process_time``: user + system of every thread, the
engine's too), the wall seconds beside them; ``--profile`` writes a cProfile of the whole run.

The scratch copy's ``results/`` keeps what the copied demo wrote, in ``results.before/``, so
``bench/report_compare.py SCRATCH/results.before SCRATCH/results`` compares the outputs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

PASSES = {
    "scorecard": ("scorecard",),
    "ranking and focus": ("ranking",),
    "reliability": ("reliability",),
    "asset ledger": ("asset ledger",),
    "page": ("page",),
    "results": ("results",),
    "site": ("site",),
    "pack": ("pack",),
}


class Clock:
    """A progress callback recording the CPU and wall time at which each stage is first told
    and last told."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float, float]] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.marks.append((stage, time.process_time(), time.monotonic()))

    def passes(self, cpu0: float, wall0: float) -> dict[str, dict[str, float]]:
        """Per pass: the time from the end of the previous pass to its last mark."""
        out: dict[str, dict[str, float]] = {}
        last_cpu, last_wall = cpu0, wall0
        current: str | None = None
        ends: dict[str, tuple[float, float]] = {}
        for stage, cpu, wall in self.marks:
            name = next((n for n, ps in PASSES.items() if stage.startswith(ps)), stage)
            ends[name] = (cpu, wall)
            if current is None:
                current = name
        order = sorted(ends, key=lambda n: ends[n][0])
        for name in order:
            cpu, wall = ends[name]
            out[name] = {"cpu": round(cpu - last_cpu, 2), "wall": round(wall - last_wall, 2)}
            last_cpu, last_wall = cpu, wall
        return out


def run(scratch: Path) -> dict[str, Any]:
    from earnright.api import open_workspace
    from earnright.api.computed import Computed
    from earnright.services.report import build_report

    clock = Clock()
    cpu0, wall0 = time.process_time(), time.monotonic()
    ws = open_workspace(scratch)
    with ws.warehouse() as wh:
        built = build_report(wh, ws.config, progress=clock)
    clock("results", 0, 1)
    built.write(scratch / "results")
    clock("results", 1, 1)
    # what the demo's site and pack step does (services/demo.py), through the public API
    ws = open_workspace(scratch)
    computed = Computed(ws)
    computed.adopt(built)
    ws.report_site(scratch / "results" / "site", progress=clock, computed=computed)
    ws.pack(scratch / "results" / "pack.pdf", progress=clock, computed=computed)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    total = {"cpu": round(cpu, 2), "wall": round(wall, 2)}
    return {"passes": clock.passes(cpu0, wall0), "total": total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reuse", action="store_true", help="the scratch copy exists: rerun it")
    args = parser.parse_args()
    scratch: Path = args.scratch
    if not args.reuse:
        if scratch.exists():
            shutil.rmtree(scratch)
        shutil.copytree(args.workspace, scratch)
        if (scratch / "results").exists():
            (scratch / "results").rename(scratch / "results.before")
    elif (scratch / "results").exists():
        shutil.rmtree(scratch / "results")
    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
        result = profiler.runcall(run, scratch)
        profiler.dump_stats(args.profile)
    else:
        result = run(scratch)
    width = max(len(n) for n in result["passes"])
    for name, t in result["passes"].items():
        print(f"{name:<{width}}  {t['cpu']:8.2f} CPU s  {t['wall']:8.2f} wall s", file=sys.stderr)
    print(f"{'total':<{width}}  {result['total']['cpu']:8.2f} CPU s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

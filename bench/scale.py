"""Benchmark: the demo end to end at growing sizes, each pass timed, and the peak memory.

    python bench/scale.py [--stores 60 1000] [--months 24] [--seed 7] [--data DIR]
    python bench/scale.py --stores 10000          # the issue-18 target: < 10 min, < 8 GB
    python bench/scale.py --smoke                 # CI: seconds, results in a temporary folder

Each size runs ``earnright demo --out DIR --stores N --months M --replace`` (the CLI, in its own
process, output piped: the plain progress lines of :mod:`earnright.progress` time the passes)
and records, per pass, the wall time from the end of the previous pass to the end of this one:
generation (``stores``, ``truth``), ingestion (each file), scorecard, ranking, focus,
reliability, the customer asset ledger, detection (scanning, grouping, localising and
pricing the incidents) and results and page; with the process's peak RSS (``ru_maxrss`` of
the child). Between sizes it reports the time per store of each pass and the exponent
``log(t2/t1) / log(n2/n1)`` (1: linear in the number of stores).

Check: on the smallest size, detection is run again from scratch on a copy of the workspace
with one detector object per series (the reference path), and must give the same alerts (ids
and scores) and the same incidents (ids, segments, start and end) as the block path the demo
used. Writes bench/results/scale.json and scale.md; exits 1 if the check fails.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LINE = re.compile(r"^\[ *([\d.]+) s\] (.+?): (started|done|[\d,]+ of [\d,]+)")
# passes, in order, and the progress stages each is made of
PASSES = {
    "generation": ("stores", "truth"),
    "ingestion": ("ingest ", "ingestion"),
    "scorecard": ("scorecard",),
    "ranking": ("ranking",),
    "focus": ("focus",),
    "reliability": ("reliability",),
    "asset ledger": ("asset ledger",),
    "detection": ("detection",),
    "results and page": ("page", "results"),
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_size(out: Path, stores: int, months: int, seed: int) -> dict[str, Any]:
    """``earnright demo`` in a child process; its pass times and peak RSS."""
    command = [sys.executable, "-m", "earnright", "demo", "--out", str(out)]
    command += ["--stores", str(stores), "--months", str(months), "--seed", str(seed)]
    command += ["--replace"] if out.exists() else []
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(BENCH)])}
    started = time.monotonic()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    assert child.stderr is not None
    for raw in child.stderr:
        line = raw.decode(errors="replace").rstrip()
        lines.append(line)
        say(f"  {stores:>6} stores {line}")
    child.stdout and child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"earnright demo --stores {stores} failed:\n" + "\n".join(lines[-20:]))
    return {
        "stores": stores,
        "months": months,
        "wall_s": round(time.monotonic() - started, 2),
        "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 3),  # KiB on Linux
        "passes": pass_times(lines),
    }


def pass_times(lines: list[str]) -> dict[str, float]:
    """Seconds per pass: from the end of the pass that ended before it (in the order the demo
    runs them: detection runs right after ingestion) to the last line of this one (the ranking
    and focus stage is split at its halfway line)."""
    ends: dict[str, float] = {}
    for line in lines:
        found = LINE.match(line)
        if not found:
            continue
        at, stage, what = float(found[1]), found[2], found[3]
        if stage == "ranking and focus lists":
            name = "ranking" if what.startswith("1 of") or what == "started" else "focus"
            ends[name] = at
            continue
        for name, prefixes in PASSES.items():
            if any(stage.startswith(p) for p in prefixes):
                ends[name] = at
    times, previous = {}, 0.0
    for name in sorted(ends, key=ends.__getitem__):  # in the order they ran (the demo detects
        times[name] = round(ends[name] - previous, 2)  # before it scores)
        previous = ends[name]
    return {name: times[name] for name in PASSES if name in times}


def same_detection(workspace: Path, scratch: Path) -> tuple[list[str], str]:
    """Detection again from scratch, one detector per series: differences from the demo's, and
    how many alerts and incidents were compared."""
    from earnright.reliability import detection
    from earnright.reliability.incidents import run_detection
    from earnright.workspace import find_workspace

    copy = scratch / "reference"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(workspace, copy)
    ws = find_workspace(copy)
    kept: dict[str, Any] = {}
    with ws.warehouse() as wh:
        kept = _detection_tables(wh)
        for table in ("alerts", "incidents", "outbox", "detector_state"):
            wh.execute_sql(f"DELETE FROM {table}")
        block = detection.supports
        detection.supports = lambda *_: False  # type: ignore[assignment]
        try:
            run_detection(wh, ws.config)
        finally:
            detection.supports = block
        again = _detection_tables(wh)
    shutil.rmtree(copy, ignore_errors=True)
    counts = ", ".join(f"{len(rows)} {name}" for name, rows in kept.items())
    return [f"{name} differ" for name in kept if kept[name] != again[name]], counts


def _detection_tables(wh: Any) -> dict[str, Any]:
    alerts = wh.table("alerts").select("alert_id", "incident_id", "score").execute()
    columns = ("incident_id", "segment", "started_at", "ended_at", "status")
    incidents = wh.table("incidents").select(*columns).execute()
    return {
        "alerts": sorted(map(tuple, alerts.astype(str).to_numpy().tolist())),
        "incidents": sorted(map(tuple, incidents.astype(str).to_numpy().tolist())),
    }


def scaling(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per pass and consecutive sizes: ms per store at each and the exponent of the growth."""
    rows = []
    for small, large in itertools.pairwise(sizes):
        ratio = large["stores"] / small["stores"]
        for name in PASSES:
            t1, t2 = small["passes"].get(name), large["passes"].get(name)
            if t1 is None or t2 is None:
                continue
            exponent = math.log(t2 / t1) / math.log(ratio) if t1 > 0 and t2 > 0 else None
            rows.append(
                {
                    "pass": name,
                    "from": small["stores"],
                    "to": large["stores"],
                    "ms_per_store_from": round(1000 * t1 / small["stores"], 2),
                    "ms_per_store_to": round(1000 * t2 / large["stores"], 2),
                    "exponent": None if exponent is None else round(exponent, 2),
                }
            )
    return rows


def markdown(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    out = ["# Scale: the demo end to end, pass by pass", ""]
    out.append(
        f"{result['started']} · `{result['command']}` · {result['months']} months · "
        f"{result['machine']['cpus']} CPUs · {result['elapsed']:.0f} s"
    )
    out += ["", "## Seconds per pass", ""]
    out.append("| pass | " + " | ".join(f"{s['stores']:,} stores" for s in sizes) + " |")
    out.append("|---|" + "---:|" * len(sizes))
    for name in PASSES:
        cells = [s["passes"].get(name) for s in sizes]
        out.append(
            f"| {name} | " + " | ".join("" if c is None else f"{c:.1f}" for c in cells) + " |"
        )
    walls = " | ".join(f"**{s['wall_s']:.1f}**" for s in sizes)
    out.append(f"| **end to end** (with start-up) | {walls} |")
    out.append("| peak RSS (GB) | " + " | ".join(f"{s['peak_rss_gb']:.2f}" for s in sizes) + " |")
    if result["scaling"]:
        out += ["", "## Growth with the number of stores", ""]
        out.append("| pass | sizes | ms per store | exponent (1 = linear) |")
        out.append("|---|---|---:|---:|")
        for row in result["scaling"]:
            per = f"{row['ms_per_store_from']:.1f} → {row['ms_per_store_to']:.1f}"
            exp = "" if row["exponent"] is None else f"{row['exponent']:.2f}"
            out.append(f"| {row['pass']} | {row['from']:,} → {row['to']:,} | {per} | {exp} |")
    out += ["", f"Check: {result['check']}", ""]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, nargs="+", default=[60, 1000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="CI: 6 and 12 stores, 2 months")
    parser.add_argument("--data", type=Path, default=None, help="where the demos are made")
    parser.add_argument("--output", type=Path, default=None, help="default bench/results")
    args = parser.parse_args()
    if args.smoke:
        args.stores, args.months = [6, 12], 2
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        data = args.data or Path(tmp)
        if args.output or not args.smoke:
            return run(args, data, args.output or RESULTS)
        return run(args, data, Path(tmp) / "results")


def run(args: argparse.Namespace, data: Path, output: Path) -> int:
    started = time.monotonic()
    sizes = []
    for stores in sorted(args.stores):
        say(f"demo: {stores:,} stores, {args.months} months")
        sizes.append(run_size(data / f"demo-{stores}", stores, args.months, args.seed))
    smallest = data / f"demo-{min(args.stores)}"
    say(f"check: detection again on {min(args.stores)} stores, one detector per series")
    problems, counts = same_detection(smallest, data)
    result: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python " + " ".join(["bench/scale.py", *sys.argv[1:]]),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "months": args.months,
        "seed": args.seed,
        "sizes": sizes,
        "scaling": scaling(sizes),
        "check": (
            "FAILED: " + ", ".join(problems)
            if problems
            else f"on {min(args.stores)} stores, the block detector and one detector per "
            f"series give the same alerts and incidents ({counts})"
        ),
    }
    result["elapsed"] = time.monotonic() - started
    output.mkdir(parents=True, exist_ok=True)
    (output / "scale.json").write_text(json.dumps(result, indent=2) + "\n")
    (output / "scale.md").write_text(markdown(result))
    say(markdown(result))
    if problems:
        say("FAIL: " + ", ".join(problems))
        return 1
    say(f"check: {result['check']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

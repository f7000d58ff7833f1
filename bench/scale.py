"""Benchmark: the demo end to end at growing sizes, each pass timed, and the peak memory.

    python bench/scale.py [--stores 60 1000] [--months 24] [--seed 7] [--data DIR]
    python bench/scale.py --stores 10000          # the issue-18 target: < 10 min, < 8 GB
    python bench/scale.py --smoke                 # CI: seconds, results in a temporary folder
    python bench/scale.py --baseline OLD.json     # CPU per pass against an earlier run's

(DuckDB against Spark on the same files, 10M and 100M responses: bench/engines.py.)

Each size runs ``earnright demo --out DIR --stores N --months M --replace`` (the CLI, in its own
process, output piped: the plain progress lines of :mod:`earnright.progress` time the passes)
and records, per pass, the wall time from the end of the previous pass to the end of this one:
generation (``stores``, ``truth``), ingestion (each file), scorecard, ranking, focus,
reliability, the customer asset ledger, detection (scanning, grouping, localising and pricing
the incidents), results and page, and the static site and pack; with the process's peak RSS
(``ru_maxrss`` of the child) and each pass's largest resident memory read at its progress
lines. Each pass also gets its CPU seconds (user + system, every thread
of the child, the engine's too, read from /proc as each progress line arrives): on a shared
machine the wall time is set by the load, the CPU time by the code. Between sizes it reports the
CPU time per store of each pass and the exponent ``log(t2/t1) / log(n2/n1)`` (1: linear in the
number of stores), and extrapolates each pass's CPU seconds to 10,000 stores from the two
largest sizes by that exponent (an extrapolation, not a run). ``--baseline`` puts an earlier
run's CPU seconds per pass (its scale.json) beside this one's, with their ratio.

Check: on the smallest size (up to 1,000 stores), detection is run again from scratch on a copy
of the workspace with one detector object per series (the reference path), and must give the
same alerts (ids and scores) and the same incidents (ids, segments, start and end) as the block
path the demo used. Writes bench/results/scale.json and scale.md; exits 1 if the check fails.
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
TARGET = 10_000  # stores: the issue-18 target, extrapolated to
CHECKED = 1_000  # the reference detection (one detector per series) runs up to this size
LINE = re.compile(r"^\[ *([\d.]+) s\] (.+?): (started|done|running for|[\d,]+ of [\d,]+)")
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
    "site and pack": ("site", "pack"),  # the demo's static site and leadership pack
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
    lines, cpu, rss = [], [], []
    assert child.stderr is not None
    for raw in child.stderr:
        line = raw.decode(errors="replace").rstrip()
        lines.append(line)
        cpu.append(cpu_seconds(child.pid))  # read as the line arrives (it is flushed at once)
        rss.append(rss_gb(child.pid))
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
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "cpu_passes": pass_times(lines, cpu),
        "rss_passes": pass_peaks(lines, rss),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` has used so far, all its threads (the
    engine's too); 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_gb(pid: int) -> float:
    """The resident memory of the process ``pid`` now, in GB; 0 where /proc is missing."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found[1]) / 1024**2 if found else 0.0


def _pass_of(stage: str, what: str) -> str | None:
    if stage == "ranking and focus lists":
        return "ranking" if what.startswith("1 of") or what == "started" else "focus"
    return next((n for n, prefixes in PASSES.items() if stage.startswith(prefixes)), None)


def pass_peaks(lines: list[str], rss: list[float]) -> dict[str, float]:
    """The largest resident memory (GB) read at any progress line of each pass (one at least
    every 10 s: a peak between two lines can be missed, ``peak_rss_gb`` cannot)."""
    peaks: dict[str, float] = {}
    for line, gb in zip(lines, rss, strict=True):
        found = LINE.match(line)
        name = _pass_of(found[2], found[3]) if found else None
        if name is not None:
            peaks[name] = round(max(peaks.get(name, 0.0), gb), 2)
    return {name: peaks[name] for name in PASSES if name in peaks}


def pass_times(lines: list[str], clock: list[float] | None = None) -> dict[str, float]:
    """Seconds per pass: from the end of the pass that ended before it (in the order the demo
    runs them: detection runs right after ingestion) to the last line of this one (the ranking
    and focus stage is split at its halfway line). The time of a line is the one it prints
    (wall seconds), or with ``clock`` the one read when it arrived (the child's CPU seconds)."""
    ends: dict[str, float] = {}
    for number, line in enumerate(lines):
        found = LINE.match(line)
        if not found:
            continue
        name = _pass_of(found[2], found[3])
        if name is not None:
            ends[name] = float(found[1]) if clock is None else clock[number]
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
    """Per pass and consecutive sizes: CPU ms per store at each and the exponent of the
    growth."""
    rows = []
    for small, large in itertools.pairwise(sizes):
        ratio = large["stores"] / small["stores"]
        for name in PASSES:
            t1, t2 = _cpu(small).get(name), _cpu(large).get(name)
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


def _cpu(size: dict[str, Any]) -> dict[str, float]:
    return size.get("cpu_passes") or {}


def extrapolate(
    sizes: list[dict[str, Any]], scaling_rows: list[dict[str, Any]], to: int
) -> dict[str, float]:
    """CPU seconds per pass at ``to`` stores, from the largest size measured and the exponent
    between the two largest (at least 1: a pass is not taken to grow slower than the stores)."""
    if len(sizes) < 2 or sizes[-1]["stores"] >= to:
        return {}
    last = sizes[-1]
    growth = {r["pass"]: r["exponent"] for r in scaling_rows if r["to"] == last["stores"]}
    out = {}
    for name, seconds in _cpu(last).items():
        exponent = max(1.0, growth.get(name) or 1.0)
        out[name] = round(seconds * (to / last["stores"]) ** exponent, 1)
    return out


def _row(name: str, cells: list[Any], fmt: str = "{:.1f}") -> str:
    return f"| {name} | " + " | ".join("" if c is None else fmt.format(c) for c in cells) + " |"


def markdown(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    out = ["# Scale: the demo end to end, pass by pass", ""]
    out.append(
        f"{result['started']} · `{result['command']}` · {result['months']} months · "
        f"{result['machine']['cpus']} CPUs · {result['elapsed']:.0f} s"
    )
    heads = " | ".join(f"{s['stores']:,} stores" for s in sizes)
    for title, key in (("CPU seconds per pass", "cpu_passes"), ("Wall seconds per pass", "passes")):
        out += ["", f"## {title}", "", f"| pass | {heads} |", "|---|" + "---:|" * len(sizes)]
        out += [_row(n, [(s.get(key) or {}).get(n) for s in sizes]) for n in PASSES]
    out.append(_row("**CPU, whole process**", [s.get("cpu_s") for s in sizes]))
    out.append(_row("**wall, end to end** (with start-up)", [s["wall_s"] for s in sizes]))
    out.append(_row("peak RSS (GB)", [s["peak_rss_gb"] for s in sizes], "{:.2f}"))
    if any(s.get("rss_passes") for s in sizes):
        out += ["", "## Resident memory per pass (GB, the largest read at its progress lines)", ""]
        out += [f"| pass | {heads} |", "|---|" + "---:|" * len(sizes)]
        out += [
            _row(n, [(s.get("rss_passes") or {}).get(n) for s in sizes], "{:.2f}") for n in PASSES
        ]
    if result["scaling"]:
        out += ["", "## Growth of the CPU time with the number of stores", ""]
        out.append("| pass | sizes | CPU ms per store | exponent (1 = linear) |")
        out.append("|---|---|---:|---:|")
        for row in result["scaling"]:
            per = f"{row['ms_per_store_from']:.1f} → {row['ms_per_store_to']:.1f}"
            exp = "" if row["exponent"] is None else f"{row['exponent']:.2f}"
            out.append(f"| {row['pass']} | {row['from']:,} → {row['to']:,} | {per} | {exp} |")
    if result.get("extrapolated"):
        out += ["", f"## Extrapolated to {TARGET:,} stores (not a run)", ""]
        out.append("CPU seconds, from the largest size by the exponent above (at least 1):")
        out += ["", "| pass | CPU s |", "|---|---:|"]
        out += [_row(n, [v]) for n, v in result["extrapolated"].items()]
        out.append(_row("**sum**", [sum(result["extrapolated"].values())]))
    if result.get("baseline"):
        out += _baseline_table(result)
    out += ["", f"Check: {result['check']}", ""]
    return "\n".join(out)


def _baseline(path: Path | None) -> dict[str, Any] | None:
    """An earlier run's results (read at the end: it may be running meanwhile), if there."""
    if path is None:
        return None
    if not path.exists():
        say(f"no baseline at {path}: results without one")
        return None
    return dict(json.loads(path.read_text()))


def _baseline_table(result: dict[str, Any]) -> list[str]:
    """The baseline's CPU seconds per pass beside this run's, at every size either measured
    (a size only the baseline ran shows its figures alone), and the baseline's
    extrapolation."""
    base = {s["stores"]: _cpu(s) for s in result["baseline"]["sizes"]}
    here = {s["stores"]: _cpu(s) for s in result["sizes"]}
    out = ["", f"## CPU seconds against the baseline ({result['baseline']['started']})", ""]
    out += ["| pass | stores | baseline | this run | this / baseline |"]
    out += ["|---|---:|---:|---:|---:|"]
    for stores in sorted(base.keys() | here.keys()):
        for name in PASSES:
            old, new = base.get(stores, {}).get(name), here.get(stores, {}).get(name)
            if old is None and new is None:
                continue
            ratio = f"{new / old:.2f}" if old and new is not None else ""
            cells = ["" if v is None else f"{v:.1f}" for v in (old, new)]
            out.append(f"| {name} | {stores:,} | {cells[0]} | {cells[1]} | {ratio} |")
    extrapolated = result["baseline"].get("extrapolated") or {}
    if extrapolated:
        total = sum(extrapolated.values())
        out += ["", f"The baseline extrapolated to {TARGET:,} stores (not a run): {total:,.0f} "]
        out[-1] += "CPU s, " + ", ".join(f"{n} {v:,.0f}" for n, v in extrapolated.items()) + "."
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, nargs="+", default=[60, 1000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="CI: 6 and 12 stores, 2 months")
    parser.add_argument("--data", type=Path, default=None, help="where the demos are made")
    parser.add_argument("--output", type=Path, default=None, help="default bench/results")
    parser.add_argument("--baseline", type=Path, default=None, help="an earlier scale.json")
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
    smallest = min(args.stores)
    problems: list[str] = []
    counts = ""
    if smallest <= CHECKED:
        say(f"check: detection again on {smallest} stores, one detector per series")
        problems, counts = same_detection(data / f"demo-{smallest}", data)
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
        "baseline": _baseline(args.baseline),
        "check": (
            "FAILED: " + ", ".join(problems)
            if problems
            else f"on {smallest} stores, the block detector and one detector per "
            f"series give the same alerts and incidents ({counts})"
            if counts
            else f"not made: the smallest size has more than {CHECKED:,} stores (one detector "
            "per series would take hours); add a small size to make it"
        ),
    }
    result["extrapolated"] = extrapolate(sizes, result["scaling"], TARGET)
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

"""Benchmark: ``earnright demo``, ``earnright report`` and ``earnright pack`` timed at each size.

    python bench/report.py [--stores 60 300] [--months 12] [--seed 7]
    python bench/report.py --src /work/main/src --output /tmp/report-main   # the baseline
    python bench/report.py --baseline /tmp/report-main.json                 # against it
    python bench/report.py --smoke          # CI: 6 stores, 3 months, results in a temporary folder

Each size makes the demo company with ``earnright demo --out DIR --stores N`` (which writes
the scorecard page, the report site and the pack of the latest complete month), then runs
``earnright report --out DIR/bench-site -w DIR`` and ``earnright pack --out DIR/bench-pack.pdf
-w DIR`` on that workspace, each through the CLI in its own process. Every command gets its
CPU seconds (user + system of the child, every thread, the engine's too: ``wait4``'s rusage),
its wall time and its peak RSS. On a shared machine the wall time is set by the load, the CPU
time by the code: compare CPU seconds. ``--src`` runs another source tree (e.g. main's) with
the same commands; ``--baseline`` puts such a run's CPU seconds beside this one's with the
ratio baseline / this run (above 1: this run is faster).

Check: the site has a page per unit of the demo (units.csv) and each page its JSON twin; the
pack is a PDF (the ``check:`` line on stderr). Writes bench/results/report.json and report.md
(or ``--output`` .json/.md; ``--smoke`` writes nothing under bench/); exits 1 if the check
fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
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
COMMANDS = ("demo", "report", "pack")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timed(command: list[str], src: Path) -> dict[str, Any]:
    """Run ``earnright COMMAND`` from ``src`` in a child process: its CPU, wall time and RSS."""
    env = os.environ | {"PYTHONPATH": str(src)}
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "earnright", *command], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert child.stdout is not None
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"earnright {' '.join(command)} failed ({child.returncode}):\n{output}")
    return {
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "wall_s": round(time.monotonic() - started, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def run_size(work: Path, stores: int, months: int, seed: int, src: Path) -> dict[str, Any]:
    """The three commands at one size, and the check of what they wrote."""
    out = work / f"demo-{stores}"
    if out.exists():
        shutil.rmtree(out)
    found: dict[str, Any] = {"stores": stores}
    say(f"{stores} stores: earnright demo")
    found["demo"] = timed(["demo", "--out", str(out), "--stores", str(stores),
                           "--months", str(months), "--seed", str(seed)], src)  # fmt: skip
    say(f"{stores} stores: earnright report")
    site = out / "bench-site"
    found["report"] = timed(["report", "--out", str(site), "-w", str(out)], src)
    say(f"{stores} stores: earnright pack")
    pack = out / "bench-pack.pdf"
    found["pack"] = timed(["pack", "--out", str(pack), "-w", str(out)], src)
    found["check"] = _check(out, site, pack)
    return found


def _check(out: Path, site: Path, pack: Path) -> dict[str, Any]:
    with (out / "data" / "units.csv").open() as f:
        units = {row["unit_id"] for row in csv.DictReader(f)}
    pages = {p.parent.name for p in site.glob("units/*/page.html")}
    twins = {p.parent.name for p in site.glob("units/*/page.json")}
    ok = pages == twins and len(pages) == len(units) and pack.read_bytes()[:5] == b"%PDF-"
    return {"units": len(units), "pages": len(pages), "twins": len(twins), "ok": ok}


def _ratios(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Baseline CPU / this run's CPU per size and command, where both ran."""
    base = {s["stores"]: s for s in (result.get("baseline") or {}).get("sizes", [])}
    rows = []
    for size in result["sizes"]:
        old = base.get(size["stores"])
        for command in COMMANDS:
            if old is None:
                continue
            was, now = old[command]["cpu_s"], size[command]["cpu_s"]
            rows.append({"stores": size["stores"], "command": command, "baseline_cpu_s": was,
                         "cpu_s": now, "ratio": round(was / now, 2) if now else None})  # fmt: skip
    return rows


def render(result: dict[str, Any]) -> str:
    lines = ["# earnright demo, report and pack", "",
             f"{result['started']}, {result['machine']}, source {result['src']}", "",
             "| stores | command | CPU s | wall s | peak RSS MB |",
             "|---:|---|---:|---:|---:|"]  # fmt: skip
    for size in result["sizes"]:
        for command in COMMANDS:
            m = size[command]
            lines.append(f"| {size['stores']:,} | {command} | {m['cpu_s']:.1f} | "
                         f"{m['wall_s']:.1f} | {m['peak_rss_mb']:.0f} |")  # fmt: skip
    if result["ratios"]:
        lines += ["", f"## CPU seconds against the baseline ({result['baseline']['src']}, "
                  f"{result['baseline']['started']})", "",
                  "| stores | command | baseline CPU s | this run CPU s | baseline / this run |",
                  "|---:|---|---:|---:|---:|"]  # fmt: skip
        for r in result["ratios"]:
            lines.append(f"| {r['stores']:,} | {r['command']} | {r['baseline_cpu_s']:.1f} | "
                         f"{r['cpu_s']:.1f} | {r['ratio']:.2f} |")  # fmt: skip
    lines += ["", f"Check (a page and its JSON twin per unit, a PDF pack): {checks(result)}", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, nargs="+", default=[60])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the source tree to run")
    parser.add_argument("--baseline", type=Path, default=None, help="an earlier report.json")
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS / "report",
        help="where to write .json and .md (default bench/results/report)",
    )
    parser.add_argument("--smoke", action="store_true", help="6 stores, 3 months, temporary")
    args = parser.parse_args()
    if args.smoke:
        args.stores, args.months = [6], 3
        with tempfile.TemporaryDirectory(prefix="bench-report-smoke-") as folder:
            args.output = Path(folder) / "report"
            return run(args)
    return run(args)


def run(args: argparse.Namespace) -> int:
    result: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load "
                   f"{os.getloadavg()[0]:.1f}",
        "src": str(args.src.resolve()), "months": args.months, "seed": args.seed,
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-report-") as work:
        result["sizes"] = [run_size(Path(work), n, args.months, args.seed, args.src.resolve())
                           for n in args.stores]  # fmt: skip
    if args.baseline is not None:
        result["baseline"] = json.loads(args.baseline.read_text())
        result["baseline"].pop("baseline", None)
    result["ratios"] = _ratios(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(result, indent=2))
    text = render(result)
    args.output.with_suffix(".md").write_text(text)
    print(text)
    ok = all(s["check"]["ok"] for s in result["sizes"])
    say(f"check: {'ok' if ok else 'FAILED'} ({checks(result)})")
    return 0 if ok else 1


def checks(result: dict[str, Any]) -> str:
    return ", ".join(f"{s['stores']} stores: {s['check']}" for s in result["sizes"])


if __name__ == "__main__":
    sys.exit(main())

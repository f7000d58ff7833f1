"""Benchmark: a store's page served by `earnright serve` on PostgreSQL, against computing it
from scratch (what a server without the page cache would do per request).

    python bench/serve.py [--stores 60] [--months 12] [--requests 400] [--concurrency 4]
    python bench/serve.py --smoke     # CI: small, in a temporary folder, writes nothing here

1. Generates the demo company (``--stores``, ``--months``) and ingests its files into a new
   PostgreSQL database: ``--url``, else a throwaway server (tests/postgres.py) on 127.0.0.1.
2. Starts the server (uvicorn, one worker) in its own process on 127.0.0.1, signs in as an
   executive, and waits until the pages are computed.
3. Each store's page is viewed once (drawn and kept; the first view is timed), then a
   bounded load generator (``--concurrency`` threads, ``--requests`` in all) asks for random
   store pages; each response must be 200 and name its store. p50, p99 and requests/s.
4. Baseline: one store's page computed from scratch (gather + cut + render), ``--repeats`` times.
5. Prints the ratio baseline / p50 and writes bench/results/serve.json and serve.md.
The survey's submission figures are measured by the survey's own part of this benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PASSWORD = "bench password"
SMOKE = {"stores": 12, "months": 4, "requests": 40, "concurrency": 2, "repeats": 1}
GOAL_P99_MS = 200.0


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def workspace_on_postgres(root: Path, url: str, stores: int, months: int) -> Any:
    """The demo company's files ingested into ``url``, through the public API."""
    import earnright
    from earnright.services.demo import FILES, demo_config, run_demo
    from earnright.workspace import init_workspace

    demo = run_demo(root / "demo", stores=stores, months=months, seed=11)
    config = demo_config()
    config = config.model_copy(
        update={"warehouse": config.warehouse.model_copy(update={"url": url})}
    )
    init_workspace(root / "ws", config)
    ws = earnright.open_workspace(root / "ws")
    for kind, name in FILES:
        ws.ingest(kind, demo.workspace / "data" / name)
    from earnright.serve.users import add_user

    with ws.warehouse(read_only=False) as wh:
        add_user(wh, "bench", "executive", PASSWORD, None, [])
    return ws


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(ws_root: Path, port: int, src: Path) -> subprocess.Popen[bytes]:
    code = (
        "import earnright, uvicorn\n"
        "from earnright.serve.app import create_app\n"
        f"app = create_app(earnright.open_workspace({str(ws_root)!r}), refresh=3600)\n"
        "site = app.state.services.site\n"
        "getattr(site, 'warm', lambda: None)()  # as `earnright serve` starts (before: the\n"
        "# whole site gathered in the background; now: nothing)\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n"
    )
    env = os.environ | {"PYTHONPATH": str(src)}
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def signed_in(base: str, timeout: float = 600) -> httpx.Client:
    """A client signed in as the executive, once the server answers."""
    client = httpx.Client(base_url=base, timeout=120)
    started = time.monotonic()
    while True:
        try:
            form = client.get("/login")
            break
        except httpx.TransportError:
            if time.monotonic() - started > timeout:
                raise
            time.sleep(0.5)
    token = form.cookies["earnright_login"]
    done = client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf": token})
    assert done.status_code in (200, 303), done.status_code
    return client


def load(base: str, cookies: dict[str, str], stores: list[str], requests: int,
         concurrency: int) -> tuple[list[float], float]:  # fmt: skip
    """Latencies (ms) of ``requests`` store pages asked by ``concurrency`` threads."""
    rng = random.Random(0)
    plan = [rng.choice(stores) for _ in range(requests)]
    clients = [httpx.Client(base_url=base, cookies=cookies, timeout=60) for _ in range(concurrency)]

    def ask(i: int) -> float:
        store = plan[i]
        started = time.perf_counter()
        got = clients[i % concurrency].get(f"/units/{store}")
        took = (time.perf_counter() - started) * 1000
        assert got.status_code == 200 and store in got.text, (store, got.status_code)
        return took

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        times = list(pool.map(ask, range(requests)))
    return times, requests / (time.perf_counter() - started)


def baseline(ws: Any, store: str, repeats: int) -> float:
    """Seconds to compute one store's page from scratch (median of ``repeats``)."""
    from earnright.api.site import gather_site
    from earnright.report.site import SiteIndex, page_data
    from earnright.report.site_page import render_page

    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        inputs = gather_site(ws, None, None)
        known = {str(u["unit_id"]) for u in inputs.units}
        render_page(page_data(inputs, SiteIndex(inputs, known), store))
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    cluster = None
    url = args.url
    if url is None:
        sys.path.insert(0, str(ROOT))
        from tests.postgres import start_cluster

        cluster = start_cluster()
        url = cluster.create_database("bench")
    try:
        say(f"demo company: {args.stores} stores, {args.months} months -> PostgreSQL")
        ws = workspace_on_postgres(folder, url, args.stores, args.months)
        from earnright.units import read_units

        with ws.warehouse() as wh:
            units = read_units(wh)
        stores = sorted(units[units.level == "store"].unit_id)
        served = {"this": serve_load(args, ws.root, stores, ROOT / "src")}
        if args.against:
            served["against"] = serve_load(args, ws.root, stores, Path(args.against))
        say("baseline: one store page computed from scratch")
        scratch = baseline(ws, stores[0], args.repeats)
    finally:
        if cluster is not None:
            cluster.stop()
    this = served["this"]
    p50, p99 = this["p50_ms"], this["p99_ms"]
    found = {
        "stores": args.stores, "months": args.months, "requests": args.requests,
        "concurrency": args.concurrency, **this, "baseline_ms": scratch * 1000,
        "baseline_over_p50": scratch * 1000 / p50, "goal_p99_ms": GOAL_P99_MS,
        "meets_goal": p99 < GOAL_P99_MS, "cores": os.cpu_count(),
        "load_average_1min_at_start": args.load_at_start,
        "load_average_1min_at_end": os.getloadavg()[0],
        "python": platform.python_version(), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip
    if "against" in served:
        found["against"] = served["against"]
        found["against_p99_over_this"] = served["against"]["p99_ms"] / p99
    return found


def serve_load(
    args: argparse.Namespace, root: Path, stores: list[str], src: Path
) -> dict[str, Any]:
    """The server of the code under ``src`` over the workspace: first views, then the load."""
    port = free_port()
    launched = time.perf_counter()
    server = start_server(root, port, src)
    try:
        client = signed_in(f"http://127.0.0.1:{port}")
        startup = (time.perf_counter() - launched) * 1000  # process start to first answer
        started = time.perf_counter()
        client.get(f"/units/{stores[0]}")
        first = (time.perf_counter() - started) * 1000
        nexts = []
        for store in stores[1:]:  # each page is drawn once, at its first view
            started = time.perf_counter()
            client.get(f"/units/{store}")
            nexts.append((time.perf_counter() - started) * 1000)
        cookies = {"earnright_session": client.cookies["earnright_session"]}
        say(f"{src}: {args.requests} store pages, {args.concurrency} at a time")
        times, rate = load(f"http://127.0.0.1:{port}", cookies, stores, args.requests,
                           args.concurrency)  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)
    p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
    say(f"{src}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    return {"src": str(src), "p50_ms": p50, "p99_ms": p99, "requests_per_s": rate,
            "startup_ms": startup, "first_view_ms": first,
            "next_first_view_ms": statistics.median(nexts) if nexts else None}  # fmt: skip


def report(found: dict[str, Any]) -> str:
    return (
        "# earnright serve: a store's page on PostgreSQL\n\n"
        f"Demo company of {found['stores']} stores, {found['months']} months; "
        f"{found['requests']} random store pages, {found['concurrency']} at a time, from a "
        f"load generator on 127.0.0.1; {found['cores']} cores shared by server and generator "
        f"(load average {found['load_average_1min_at_start']:.1f} at the start, "
        f"{found['load_average_1min_at_end']:.1f} at the end: other work).\n\n"
        "| measure | value |\n|---|---|\n"
        f"| p50 | {found['p50_ms']:.1f} ms |\n| p99 | {found['p99_ms']:.1f} ms "
        f"(goal < {found['goal_p99_ms']:.0f} ms: {'met' if found['meets_goal'] else 'NOT met'}) |\n"
        f"| pages/s | {found['requests_per_s']:.1f} |\n"
        f"| start-up: process start to the first answer | {found['startup_ms']:.0f} ms |\n"
        f"| the first page's first view | {found['first_view_ms']:.0f} ms |\n"
        f"| another store's first view (median) | {_ms(found['next_first_view_ms'])} |\n"
        f"| baseline: the page computed from scratch | {found['baseline_ms']:.0f} ms |\n"
        f"| baseline / p50 | {found['baseline_over_p50']:.0f}× |\n" + _against(found) + "\n"
        f"Command: `python bench/serve.py --stores {found['stores']} --months {found['months']} "
        f"--requests {found['requests']} --concurrency {found['concurrency']}"
        + (f" --against {found['against']['src']}" if "against" in found else "")
        + "` (PYTHONPATH=src).\n"
    )


def _against(found: dict[str, Any]) -> str:
    if "against" not in found:
        return ""
    other = found["against"]
    return (
        f"| against `{other['src']}` (same run, same database): p50 | {other['p50_ms']:.1f} ms |\n"
        f"| against: p99 | {other['p99_ms']:.1f} ms ({found['against_p99_over_this']:.1f}× "
        "this p99) |\n"
        f"| against: pages/s | {other['requests_per_s']:.1f} |\n"
        f"| against: start-up | {other['startup_ms']:.0f} ms |\n"
        f"| against: the first page's first view | {other['first_view_ms']:.0f} ms |\n"
        f"| against: another store's first view (median) | "
        f"{_ms(other['next_first_view_ms'])} |\n"
    )


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=60)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a throwaway one)")
    parser.add_argument("--smoke", action="store_true", help="a small run for CI")
    parser.add_argument(
        "--against",
        help="another source tree's src folder (e.g. main's): its server gets the same load "
        "on the same database, in the same run",
    )
    args = parser.parse_args()
    args.load_at_start = os.getloadavg()[0]
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    with tempfile.TemporaryDirectory() as tmp:
        found = run(args, Path(tmp))
    text = report(found)
    print(text)
    say(f"check: {args.requests} pages answered 200 naming their store; "
        f"p99 {found['p99_ms']:.1f} ms")  # fmt: skip
    if not args.smoke:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "serve.json").write_text(json.dumps(found, indent=2))
        (RESULTS / "serve.md").write_text(text)


if __name__ == "__main__":
    main()

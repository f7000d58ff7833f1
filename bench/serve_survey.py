"""Benchmark: survey submissions through the server on PostgreSQL, per second and their latency.

    python bench/serve_survey.py                  # 2,000 closed-loop + 10 s at 200/s
    python bench/serve_survey.py --rate 300 --seconds 5 --closed 1000
    python bench/serve_survey.py --smoke          # CI: seconds, results in a temporary folder

A throwaway PostgreSQL cluster (tests/postgres.py: initdb in a temporary folder, 127.0.0.1, a
free port) holds a workspace of ``--stores`` stores with one invitation per submission. The
survey's routes (``earnright.serve.survey_routes``, in a bare FastAPI app under uvicorn, one
process, its connection pool of ``--pool`` connections) run in a child process; this process is
the load generator, on 127.0.0.1, bounded:

- *closed loop*: ``--clients`` clients each post their next answer as soon as the last one is
  answered, ``--closed`` answers in all: the most the server takes per second, and latency;
- *open loop*: answers started at a fixed ``--rate`` per second for ``--seconds`` (at most
  ``--clients`` × 8 in flight), whatever the server does: the latency at the goal's rate
  (200/s, p99 under 100 ms).

Each answer is ``POST /api/v1/responses/{token}`` with a JSON object (ltr, osat, a driver and a
comment; one in five a detractor, which opens a case and enqueues its alert). The baseline,
named in the output, is the same answers written in process by ``earnright.survey.submit_answer``
on one connection, one after another: what the server adds (HTTP, threads, the pool) shows as
the ratio. Check: every answer accepted (201) and stored once (feedback and survey_answers
rows = answers sent), and a second answer to an answered invitation refused (409). Writes
bench/results/serve_survey.{json,md}; prints a ``check:`` line on stderr; exits 1 if it fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
if str(ROOT) not in sys.path:  # the throwaway PostgreSQL server lives with the tests
    sys.path.insert(0, str(ROOT))

GOAL_RATE, GOAL_P99_MS = 200.0, 100.0


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_workspace(url: str, folder: Path, stores: int, invitations: int) -> Path:
    """A workspace on ``url``: stores under 2 districts, one invitation per answer to come."""
    from earnright.config import validate_config
    from earnright.ingest import ingest_file
    from earnright.workspace import init_workspace, store_config

    config = validate_config({
        "journey": {"stages": [{"id": "visit", "name": "Visit", "moments": [
            {"id": "pickup", "name": "Pick-up", "questions": ["q_wait"]}]}]},
        "owners": {"unit:D1": {"email": ["d1@example.com"]}},
        "warehouse": {"url": url},
    })  # fmt: skip
    ws = init_workspace(folder / "ws", config)
    units = ["unit_id,name,level,parent_id", "C,Co,company,", "R,Region,region,C",
             "D1,District 1,district,R", "D2,District 2,district,R"]  # fmt: skip
    units += [f"S{i},Store {i},store,D{1 + i % 2}" for i in range(stores)]
    (folder / "units.csv").write_text("\n".join(units) + "\n")
    sent = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    rows = ["invitation_id,unit_id,customer_id,sent_at,moment"]
    rows += [f"inv-{i},S{i % stores},c{i},{sent.isoformat()},pickup" for i in range(invitations)]
    (folder / "invitations.csv").write_text("\n".join(rows) + "\n")
    with ws.warehouse() as wh:
        store_config(wh, ws.config)
        ingest_file(wh, ws.config, "units", folder / "units.csv")
        ingest_file(wh, ws.config, "invitations", folder / "invitations.csv")
    return ws.root


def tokens(root: Path) -> list[str]:
    import earnright

    links = earnright.open_workspace(root).survey_links().to_frame()
    order = links.invitation_id.str.removeprefix("inv-").astype(int).argsort()
    return [u.rsplit("/", 1)[1] for u in links.url.iloc[order.to_numpy()]]


def answer(i: int) -> dict[str, Any]:
    detractor = i % 5 == 0
    return {"ltr": 3 if detractor else 9, "osat": 2 if detractor else 5, "q_wait": 1 + i % 5,
            "comment": f"answer {i}: <b>waited</b> {i % 17} minutes"}  # fmt: skip


def serve(root: str, port: int, pool: int) -> None:
    """The child process: the survey's routes under uvicorn on 127.0.0.1:port."""
    import uvicorn
    from fastapi import FastAPI

    from earnright.serve.survey_routes import survey_router
    from earnright.workspace import find_workspace

    app = FastAPI()
    app.include_router(survey_router(find_workspace(Path(root)), pool_size=pool))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_server(root: Path, pool: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(root), str(port), str(pool)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the survey server did not start")


async def _post(client: Any, token: str, body: dict[str, Any]) -> tuple[int, float]:
    """The status (0: no answer, the connection failed) and the latency in ms."""
    import httpx

    start = time.perf_counter()
    try:
        response = await client.post(f"/api/v1/responses/{token}", json=body)
        code = response.status_code
    except httpx.HTTPError as exc:
        say(f"request failed: {type(exc).__name__} {exc}")
        code = 0
    return code, (time.perf_counter() - start) * 1000.0


async def closed_loop(base: str, toks: list[str], clients: int) -> dict[str, Any]:
    import httpx

    queue = list(enumerate(toks))
    done: list[tuple[int, float]] = []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            while queue:
                i, token = queue.pop()
                done.append(await _post(client, token, answer(i)))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - start
    return _summary(done, wall)


async def open_loop(
    base: str, toks: list[tuple[int, str]], rate: float, cap: int
) -> dict[str, Any]:
    import httpx

    done: list[tuple[int, float]] = []
    gate = asyncio.Semaphore(cap)
    limits = httpx.Limits(max_connections=cap)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:

        async def one(i: int, token: str) -> None:
            async with gate:
                done.append(await _post(client, token, answer(i)))

        start = time.perf_counter()
        tasks = []
        for n, (i, token) in enumerate(toks):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, token)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    return _summary(done, wall) | {"offered_per_s": rate}


def _summary(done: list[tuple[int, float]], wall: float) -> dict[str, Any]:
    ms = np.array([t for _, t in done]) if done else np.array([np.nan])
    codes: dict[str, int] = {}
    for code, _ in done:
        codes[str(code)] = codes.get(str(code), 0) + 1
    return {
        "answers": len(done), "seconds": round(wall, 3),
        "per_s": round(len(done) / wall, 1) if wall else None,
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(np.max(ms)), 1), "status": codes,
    }  # fmt: skip


def baseline(root: Path, toks: list[str], offset: int) -> dict[str, Any]:
    """The same answers in process, one connection, one after another (no HTTP)."""
    from earnright.survey import submit_answer
    from earnright.workspace import find_workspace

    ws = find_workspace(root)
    times = []
    with ws.warehouse() as wh:
        start = time.perf_counter()
        for n, token in enumerate(toks):
            t0 = time.perf_counter()
            submit_answer(wh, ws.config, token, answer(offset + n), channel="api")
            times.append((201, (time.perf_counter() - t0) * 1000.0))
        wall = time.perf_counter() - start
    return _summary(times, wall)


def check(root: Path, base: str, sent: int, used: str) -> list[str]:
    import httpx

    from earnright.workspace import find_workspace

    problems = []
    with find_workspace(root).warehouse() as wh:
        rows, answers = wh.count("feedback"), wh.count("survey_answers")
    if rows != sent or answers != sent:
        problems.append(f"{sent} answers sent, {rows} feedback rows, {answers} survey_answers")
    again = httpx.post(f"{base}/api/v1/responses/{used}", json={"ltr": 1}, timeout=30.0)
    if again.status_code != 409:
        problems.append(f"a second answer got {again.status_code}, not 409")
    return problems


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from tests.postgres import start_cluster

    n_closed, n_open, n_base = args.closed, int(args.rate * args.seconds), args.baseline
    cluster = start_cluster()
    try:
        root = build_workspace(cluster.create_database("survey"), folder, args.stores,
                               n_closed + n_open + n_base)  # fmt: skip
        toks = tokens(root)
        say(f"workspace: {args.stores} stores, {len(toks):,} invitations on PostgreSQL")
        base_result = baseline(root, toks[:n_base], 0)
        say(f"baseline (in process, serial): {base_result['per_s']}/s")
        proc, url = start_server(root, args.pool)
        try:
            closed = asyncio.run(closed_loop(url, toks[n_base : n_base + n_closed], args.clients))
            say(f"closed loop: {closed['per_s']}/s, p99 {closed['p99_ms']} ms")
            rest = list(enumerate(toks[n_base + n_closed :], start=n_base + n_closed))
            opened = asyncio.run(open_loop(url, rest, args.rate, args.clients * 8))
            say(f"open loop at {args.rate}/s: p50 {opened['p50_ms']} ms, p99 {opened['p99_ms']} ms")
            accepted = closed["status"].get("201", 0) + opened["status"].get("201", 0)
            problems = check(root, url, n_base + n_closed + n_open, toks[0])
            if accepted != n_closed + n_open:
                problems.append(f"{accepted} of {n_closed + n_open} answers accepted")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        cluster.stop()
    return {"baseline": base_result, "closed_loop": closed, "open_loop": opened,
            "problems": problems}  # fmt: skip


def report(args: argparse.Namespace, found: dict[str, Any]) -> dict[str, Any]:
    closed, opened, base = found["closed_loop"], found["open_loop"], found["baseline"]
    ratios = {
        "closed_per_s_vs_baseline": round(closed["per_s"] / base["per_s"], 2),
        "closed_per_s_vs_goal": round(closed["per_s"] / GOAL_RATE, 2),
        "open_p99_vs_goal": round(opened["p99_ms"] / GOAL_P99_MS, 2),
    }
    meets = bool(opened["per_s"] >= 0.95 * GOAL_RATE and opened["p99_ms"] < GOAL_P99_MS
                 and args.rate >= GOAL_RATE)  # fmt: skip
    return {
        "bench": "serve_survey", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1m": round(os.getloadavg()[0], 1)},
        "settings": {k: getattr(args, k) for k in ("stores", "closed", "rate", "seconds",
                                                   "clients", "pool", "baseline", "smoke")},
        "goal": {"per_s": GOAL_RATE, "p99_ms": GOAL_P99_MS, "met": meets},
        **found, "ratios": ratios,
    }  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    lines = ["# Survey submissions through the server (PostgreSQL)", "",
             f"{result['when']}, {result['machine']['cpus']} CPUs (load average "
             f"{result['machine']['load_average_1m']} at the end: the machine is shared); settings "
             f"`{json.dumps(result['settings'])}`.", "",
             "| run | answers | per s | p50 ms | p99 ms | max ms | status |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in ("baseline", "closed_loop", "open_loop"):
        r = result[name]
        lines.append(f"| {name} | {r['answers']} | {r['per_s']} | {r['p50_ms']} | "
                     f"{r['p99_ms']} | {r['max_ms']} | {r['status']} |")  # fmt: skip
    goal = result["goal"]
    lines += [
        "",
        f"Goal {goal['per_s']:g}/s at p99 < {goal['p99_ms']:g} ms: "
        f"{'met' if goal['met'] else 'not met'}. Ratios: `{json.dumps(result['ratios'])}`.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--closed", type=int, default=2000, help="closed-loop answers")
    parser.add_argument("--rate", type=float, default=GOAL_RATE, help="open-loop answers/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="open-loop duration")
    parser.add_argument("--clients", type=int, default=8, help="closed-loop clients")
    parser.add_argument("--pool", type=int, default=4, help="the server's connections")
    parser.add_argument("--baseline", type=int, default=300, help="in-process answers")
    parser.add_argument("--smoke", action="store_true", help="CI: seconds, temporary folder")
    args = parser.parse_args()
    if args.smoke:
        args.stores, args.closed, args.rate, args.seconds, args.baseline = 6, 40, 20.0, 2.0, 20
    with tempfile.TemporaryDirectory(prefix="serve-survey-") as tmp:
        result = report(args, run(args, Path(tmp)))
        out = Path(tmp) / "results" if args.smoke else RESULTS
        out.mkdir(parents=True, exist_ok=True)
        (out / "serve_survey.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / "serve_survey.md").write_text(markdown(result))
        print(markdown(result))
    problems = result["problems"]
    say("check: " + ("ok: every answer accepted and stored once, a second refused (409)"
                     if not problems else "FAILED: " + "; ".join(problems)))  # fmt: skip
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

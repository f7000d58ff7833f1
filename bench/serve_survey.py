"""Benchmark: survey submissions through the server on PostgreSQL, per second and their latency.

    python bench/serve_survey.py                  # 2,000 closed-loop + 10 s at 200/s
    python bench/serve_survey.py --closed 1000 --rate 200 --seconds 5 --against ../main/src
    python bench/serve_survey.py --smoke          # CI: seconds, results in a temporary folder

A throwaway PostgreSQL cluster (tests/postgres.py: initdb in a temporary folder, 127.0.0.1, a
free port) holds a workspace of ``--stores`` stores with one invitation per submission. The
survey's routes (``earnright.serve.survey_routes``, in a bare FastAPI app under uvicorn,
``--workers`` processes, each with its connection pool of ``--pool`` connections) run in a
child process; this process is the load generator, on 127.0.0.1, bounded, with a bare
keep-alive HTTP/1.1 client (a request costs it tens of microseconds; httpx's pool cost more
CPU per request than the server on 2 shared cores):

- *closed loop*: ``--clients`` clients each post their next answer as soon as the last one is
  answered, ``--closed`` answers in all: the most the server takes per second, and latency;
- *open loop*: answers due at a fixed ``--rate`` per second for ``--seconds`` over at most
  ``--clients`` × 8 connections, whatever the server does; latency counts from when the answer
  was due (waiting for a free connection is latency too): the goal's rate (200/s, p99 under
  100 ms).

Each answer is ``POST /api/v1/responses/{token}`` with a JSON object (ltr, osat, a driver and a
comment; one in five a detractor, which opens a case and enqueues its alert). Baselines, named
in the output: ``in_process``, the same answers written in process by
``earnright.survey.submit_answer`` on one connection, one after another (what the server adds:
HTTP, threads, the pool); and with ``--against SRC`` (another source tree's ``src``, e.g.
main's) the same load on that code's server, on its own database, in the same run. Check:
every answer accepted (201) and stored once (feedback and survey_answers rows = answers sent),
and a second answer to an answered invitation refused (409). Writes
bench/results/serve_survey.{json,md} with the machine's load average at start and end (the
machine is shared); prints a ``check:`` line on stderr; exits 1 if it fails.
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


def serve(root: str, port: int, pool: int, workers: int) -> None:
    """The child process: the survey's routes under uvicorn on 127.0.0.1:port (``workers``
    processes: the survey app's factory, found through EARNRIGHT_BENCH_ROOT)."""
    import uvicorn

    os.environ["EARNRIGHT_BENCH_ROOT"] = root
    os.environ["EARNRIGHT_BENCH_POOL"] = str(pool)
    uvicorn.run("serve_survey:survey_app", factory=True, host="127.0.0.1", port=port,
                workers=workers, log_level="warning", access_log=False)  # fmt: skip


def survey_app() -> Any:
    from fastapi import FastAPI

    from earnright.serve.survey_routes import survey_router
    from earnright.workspace import find_workspace

    app = FastAPI()
    root, pool = os.environ["EARNRIGHT_BENCH_ROOT"], int(os.environ["EARNRIGHT_BENCH_POOL"])
    app.include_router(survey_router(find_workspace(Path(root)), pool_size=pool))
    return app


def _child_env(src: Path) -> dict[str, str]:
    return os.environ | {"PYTHONPATH": os.pathsep.join([str(src), str(ROOT), str(BENCH)])}


def prepare(src: Path, url: str, folder: Path, stores: int, invitations: int) -> list[str]:
    """The workspace and its links, made by the code under ``src`` (its own schema)."""
    folder.mkdir(parents=True)
    subprocess.run([sys.executable, __file__, "--prepare", url, str(folder), str(stores),
                    str(invitations)], env=_child_env(src), check=True)  # fmt: skip
    return list(json.loads((folder / "tokens.json").read_text()))


def start_server(
    src: Path, root: Path, pool: int, workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(root), str(port), str(pool), str(workers)],
        env=_child_env(src),
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.5 * workers)  # every worker up
                return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the survey server did not start")


class _Connection:
    """One kept-alive HTTP/1.1 connection: a bare client (a request costs the generator tens of
    microseconds, where httpx's pool costs milliseconds: on 2 shared cores the generator must
    not be what is measured)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
        self.writer.write(head + body)
        status_line, *headers = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        length = next(
            int(h.split(b":")[1]) for h in headers if h.lower().startswith(b"content-length")
        )
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _post(
    conn: _Connection, token: str, body: dict[str, Any], start: float
) -> tuple[int, float]:
    """The status (0: no answer, the connection failed) and the latency in ms since ``start``."""
    try:
        code = await conn.post(f"/api/v1/responses/{token}", json.dumps(body).encode())
    except (OSError, asyncio.IncompleteReadError, StopIteration, ValueError) as exc:
        say(f"request failed: {type(exc).__name__} {exc}")
        conn.close()
        conn.writer = None
        code = 0
    return code, (time.perf_counter() - start) * 1000.0


def _connections(base: str, n: int) -> asyncio.Queue[_Connection]:
    host, port = base.removeprefix("http://").split(":")
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(n):
        pool.put_nowait(_Connection(host, int(port)))
    return pool


async def closed_loop(base: str, toks: list[str], clients: int) -> dict[str, Any]:
    queue = list(enumerate(toks))
    done: list[tuple[int, float]] = []
    pool = _connections(base, clients)

    async def worker() -> None:
        conn = await pool.get()
        while queue:
            i, token = queue.pop()
            done.append(await _post(conn, token, answer(i), time.perf_counter()))
        conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return _summary(done, time.perf_counter() - start)


async def open_loop(
    base: str, toks: list[tuple[int, str]], rate: float, cap: int
) -> dict[str, Any]:
    """Answers started at ``rate`` per second over at most ``cap`` connections; latency counts
    from the moment an answer was due (a wait for a free connection is latency too)."""
    done: list[tuple[int, float]] = []
    pool = _connections(base, cap)

    async def one(i: int, token: str, due: float) -> None:
        conn = await pool.get()
        try:
            done.append(await _post(conn, token, answer(i), due))
        finally:
            pool.put_nowait(conn)

    start = time.perf_counter()
    tasks = []
    for n, (i, token) in enumerate(toks):
        due = start + n / rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, token, due)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
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


def check(url: str, base: str, sent: int, used: str) -> list[str]:
    import httpx
    import psycopg

    problems = []
    with psycopg.connect(url) as con:
        rows = con.execute("SELECT count(*) FROM feedback").fetchone()[0]  # type: ignore[index]
        answers = con.execute("SELECT count(*) FROM survey_answers").fetchone()[0]  # type: ignore[index]
    if rows != sent or answers != sent:
        problems.append(f"{sent} answers sent, {rows} feedback rows, {answers} survey_answers")
    again = httpx.post(f"{base}/api/v1/responses/{used}", json={"ltr": 1}, timeout=30.0)
    if again.status_code != 409:
        problems.append(f"a second answer got {again.status_code}, not 409")
    return problems


def load(
    args: argparse.Namespace, src: Path, url: str, folder: Path, in_process: int
) -> dict[str, Any]:
    """One server (the code under ``src``): closed loop, then open loop; ``in_process``
    answers first written in this process (the serial baseline)."""
    n_closed, n_open = args.closed, int(args.rate * args.seconds)
    toks = prepare(src, url, folder, args.stores, n_closed + n_open + in_process)
    found: dict[str, Any] = {"src": str(src)}
    if in_process:
        found["in_process"] = baseline(folder / "ws", toks[:in_process], 0)
        say(f"in process, serial: {found['in_process']['per_s']}/s")
    proc, base = start_server(src, folder / "ws", args.pool, args.workers)
    try:
        closed = asyncio.run(closed_loop(base, toks[in_process : in_process + n_closed],
                                         args.clients))  # fmt: skip
        say(f"{src}: closed loop {closed['per_s']}/s, p99 {closed['p99_ms']} ms")
        rest = list(enumerate(toks[in_process + n_closed :], start=in_process + n_closed))
        opened = asyncio.run(open_loop(base, rest, args.rate, args.clients * 8))
        say(f"{src}: open loop at {args.rate}/s: {opened['per_s']}/s, p50 {opened['p50_ms']} "
            f"ms, p99 {opened['p99_ms']} ms")  # fmt: skip
        accepted = closed["status"].get("201", 0) + opened["status"].get("201", 0)
        problems = check(url, base, in_process + n_closed + n_open, toks[0])
        if accepted != n_closed + n_open:
            problems.append(f"{accepted} of {n_closed + n_open} answers accepted")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return found | {"closed_loop": closed, "open_loop": opened, "problems": problems}


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from tests.postgres import start_cluster

    cluster = start_cluster()
    try:
        found = {"this": load(args, ROOT / "src", cluster.create_database("survey"),
                              folder / "this", args.baseline)}  # fmt: skip
        if args.against:
            url = cluster.create_database("against")
            found["against"] = load(args, Path(args.against), url, folder / "against", 0)
    finally:
        cluster.stop()
    return found


def report(args: argparse.Namespace, found: dict[str, Any]) -> dict[str, Any]:
    this = found["this"]
    closed, opened, base = this["closed_loop"], this["open_loop"], this["in_process"]
    ratios = {
        "closed_per_s_vs_in_process": round(closed["per_s"] / base["per_s"], 2),
        "closed_per_s_vs_goal": round(closed["per_s"] / GOAL_RATE, 2),
        "open_p99_vs_goal": round(opened["p99_ms"] / GOAL_P99_MS, 2),
    }
    if "against" in found:
        other = found["against"]
        ratios["closed_per_s_vs_against"] = round(
            closed["per_s"] / other["closed_loop"]["per_s"], 2
        )
        ratios["open_p99_against_over_this"] = round(
            other["open_loop"]["p99_ms"] / opened["p99_ms"], 2
        )
    meets = bool(opened["per_s"] >= 0.95 * GOAL_RATE and opened["p99_ms"] < GOAL_P99_MS
                 and args.rate >= GOAL_RATE)  # fmt: skip
    problems = [p for r in found.values() for p in r["problems"]]
    return {
        "bench": "serve_survey", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1m_at_start": args.load_at_start,
                    "load_average_1m_at_end": round(os.getloadavg()[0], 1)},
        "settings": {k: getattr(args, k) for k in ("stores", "closed", "rate", "seconds",
                                                   "clients", "pool", "workers", "baseline",
                                                   "against", "smoke")},
        "goal": {"per_s": GOAL_RATE, "p99_ms": GOAL_P99_MS, "met": meets},
        **found, "ratios": ratios, "problems": problems,
    }  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = ["# Survey submissions through the server (PostgreSQL)", "",
             f"{result['when']}, {m['cpus']} CPUs shared with other work (load average "
             f"{m['load_average_1m_at_start']} at the start, {m['load_average_1m_at_end']} at "
             f"the end); settings `{json.dumps(result['settings'])}`.", "",
             "| server | run | answers | per s | p50 ms | p99 ms | max ms | status |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for who in ("this", "against"):
        if who not in result:
            continue
        r0 = result[who]
        for name in ("in_process", "closed_loop", "open_loop"):
            if name in r0:
                r = r0[name]
                cells = [r[k] for k in ("answers", "per_s", "p50_ms", "p99_ms", "max_ms")]
                row = " | ".join(str(c) for c in [f"{who} (`{r0['src']}`)", name, *cells])
                lines.append(f"| {row} | {r['status']} |")
    goal = result["goal"]
    lines += [
        "",
        f"Goal {goal['per_s']:g}/s at p99 < {goal['p99_ms']:g} ms: "
        f"{'met' if goal['met'] else 'not met'}. Ratios: `{json.dumps(result['ratios'])}`.",
        "",
        "`in_process`: the same answers written in the bench's process by "
        "`earnright.survey.submit_answer`, one after another (no HTTP). `against`: the same "
        "load on the server of another source tree (`--against`), in the same run.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "--prepare":
        folder = Path(sys.argv[3])
        root = build_workspace(sys.argv[2], folder, int(sys.argv[4]), int(sys.argv[5]))
        (folder / "tokens.json").write_text(json.dumps(tokens(root)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--closed", type=int, default=2000, help="closed-loop answers")
    parser.add_argument("--rate", type=float, default=GOAL_RATE, help="open-loop answers/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="open-loop duration")
    parser.add_argument("--clients", type=int, default=8, help="closed-loop clients")
    parser.add_argument("--pool", type=int, default=4, help="the server's connections")
    parser.add_argument("--workers", type=int, default=1, help="the server's processes")
    parser.add_argument("--baseline", type=int, default=300, help="in-process answers")
    parser.add_argument("--against", help="another source tree's src folder (e.g. main's): "
                        "its server gets the same load in the same run")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="CI: seconds, temporary folder")
    args = parser.parse_args()
    args.load_at_start = round(os.getloadavg()[0], 1)
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

"""Benchmark: DuckDB versus Spark ``local[2]`` on the same Parquet files (issue 11).

    python bench/engines.py                                # 10M and 100M responses
    python bench/engines.py --responses 10000000 30000000 --passes scorecard rank reliability
    python bench/engines.py --responses 100000000 --spark-passes scorecard
    python bench/engines.py --smoke                        # CI: 20,000 responses, temp folder

Data (generated once per size with DuckDB SQL straight to Parquet, seeded, cached under
``--data``): ``N`` survey responses over the 24 months of 2025-2026 at ``N / 1000`` stores (the
demo's density: 10,000 stores have 10M responses), 20 stores a district, 50 districts a region;
with the demo's proportions scaled down tenfold for the other tables so that 100M responses fit
this 2-core machine: 0.9 transactions and 0.73 metric rows per response (the demo has 9 and 7.3:
90M transactions and 73M metric rows at 10M responses), i.e. one metric row per store and day
(the demo's four metrics in turn), and 1.25 invitations per response. Each store's promoter and
detractor shares are planted (a fixed function of the store number); the generator's tally of
promoters, detractors and answers per store and month is the truth the scorecard is checked
against.

Both warehouses read THE SAME files: a DuckDB workspace whose six data tables (units,
unit_history, feedback, invitations, transactions, metrics) are views over the Parquet files,
and a Spark workspace (``local[2]``) whose manifest names the same directories as the tables'
segments (:func:`earnright.warehouse.sparkstore.attach_segments`). Each workspace is made with
the library and given its open columns by ingesting a few of the rows through the public API
first (the same ingest a user runs), then pointed at the files.

Passes, each through the public API (``earnright.api.open_workspace``: the calls a user makes),
in a fresh process per engine and size: ``start`` (open the warehouse: Spark's session start),
``scorecard`` (store x month, every period), ``rank`` (stores in the latest complete month) and
``reliability`` (every indicator's rolling window, overall and per segment). Per pass: wall and
CPU seconds (user + system of the Python process and of Spark's driver JVM, its child), the
rows the pass reads per second of wall time and per CPU second, and the peak resident memory
of the Python process and of the JVM (``VmHWM``, reset before each pass through
``/proc/PID/clear_refs``).

Checks (exit 1 if one fails): the scorecard's n and NPS per store and month equal the
generator's tally; DuckDB's and Spark's scorecards agree in every column within 1e-9; the two
engines rank the same stores with the same raw scores and n; their reliability results agree
within 1e-9. Writes bench/results/engines.json and engines.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
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
PASSES = ("scorecard", "rank", "reliability")
TABLES = ("units", "unit_history", "feedback", "invitations", "transactions", "metrics")
PER_STORE = 1000  # responses per store over the 24 months: the demo's density
DAYS = 730  # 2025-01-01 .. 2026-12-31
SPARK_URL = "spark:///spark-warehouse?master=local[2]&spark.driver.memory=4g"
TOLERANCE = 1e-9

QUESTIONS = [
    ("ltr", "Likelihood to recommend", "nps", 0, 10),
    ("osat", "Overall satisfaction", "csat", 1, 5),
    ("q_staff", "Friendliness and help from staff", "driver", 1, 5),
    ("q_wait", "Time waiting at the checkout", "driver", 1, 5),
    ("q_stock", "The products I wanted were in stock", "driver", 1, 5),
    ("q_rx", "My prescription was ready when promised", "driver", 1, 5),
    ("q_clean", "Cleanliness and tidiness of the store", "driver", 1, 5),
    ("q_app", "Ordering ahead in the app worked smoothly", "driver", 1, 5),
]
# (stage, moment, owner, questions, indicator, metric, measure, threshold, target, dimensions)
MOMENTS = [
    ("find", "find_product", "store-operations", ["q_stock", "q_staff", "q_clean"],
     "in_stock", "out_of_stock_rate", "threshold", 0.12, 0.95, ["region", "district", "store"]),
    ("pay", "checkout", "store-operations", ["q_wait", "q_staff", "q_clean"],
     "short_queue", "queue_wait_minutes", "threshold", 10.0, 0.95,
     ["daypart", "region", "district", "store"]),
    ("prescription", "pickup_prescription", "pharmacy-operations", ["q_rx", "q_wait", "q_staff"],
     "rx_on_time", "rx_fill_minutes", "threshold", 40.0, 0.95,
     ["daypart", "region", "district", "store"]),
    ("order_ahead", "order_in_app", "digital", ["q_app", "q_stock", "q_rx"],
     "app_success", "app_errors", "events", None, 0.99,
     ["platform", "region", "district", "store"]),
]  # fmt: skip


def config_text(url: str | None) -> str:
    """The demo company's questions, journey and reliability settings (its earnright.toml)."""
    out = ['[company]\nname = "Engine Bench Pharmacy"\ncurrency = "$"\n',
           '[units]\nlevels = ["company", "region", "district", "store"]\n']  # fmt: skip
    if url:
        out.append(f'[warehouse]\nurl = "{url}"\n')
    for qid, label, kind, lo, hi in QUESTIONS:
        out.append(f'[[questions]]\nid = "{qid}"\nlabel = "{label}"\nkind = "{kind}"\n'
                   f"min = {lo}\nmax = {hi}\n")  # fmt: skip
    out.append('[drivers]\nprefix = "q_"\nmin = 1\nmax = 5\n[journey]\n')
    for stage, moment, owner, qs, ind, metric, measure, thr, target, dims in MOMENTS:
        out.append(f'[[journey.stages]]\nid = "{stage}"\nname = "{stage}"\n'
                   f'[[journey.stages.moments]]\nid = "{moment}"\nname = "{moment}"\n'
                   f'owner = "{owner}"\nquestions = {json.dumps(qs)}\n'
                   f'[[journey.stages.moments.indicators]]\nid = "{ind}"\nname = "{ind}"\n'
                   f'metric = "{metric}"\nmeasure = "{measure}"\n'
                   + (f"threshold = {thr}\n" if thr is not None else "")
                   + f'good_when = "below"\ntarget = {target}\nwindow = "28d"\n'
                   f'dimensions = {json.dumps(dims)}\nowner = ""\n')  # fmt: skip
    out.append('[listening]\nmin_n = 5\n[reliability]\nstep = "1d"\nmin_events = 10\n'
               'hours.daypart = { "morning" = [8, 12], "afternoon" = [12, 17], '
               '"evening" = [17, 21] }\n')  # fmt: skip
    return "\n".join(out)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------
def _u(salt: int, seed: int) -> str:
    """A uniform in [0, 1) from the row number ``i`` (DuckDB's hash), per salt and seed."""
    return f"((hash(i * 16 + {salt} + {seed} * 1000003) % 1000000007) / 1000000007.0)"


def generate(folder: Path, responses: int, seed: int) -> dict[str, int]:
    """Write the six tables as Parquet directories under ``folder`` (one file each) and the
    generator's tally (truth.parquet); returns the row count of each table."""
    import duckdb

    done = folder / "rows.json"
    if done.exists():
        counts: dict[str, int] = json.loads(done.read_text())
        return counts
    shutil.rmtree(folder, ignore_errors=True)
    for t in TABLES:
        (folder / t).mkdir(parents=True)
    stores = max(responses // PER_STORE, 12)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")

    def copy(table: str, sql: str) -> None:
        t0 = time.perf_counter()
        con.execute(f"COPY ({sql}) TO '{folder / table / 'part-0.parquet'}' (FORMAT parquet)")
        say(f"  {table}: written in {time.perf_counter() - t0:.1f} s")

    ts0 = "TIMESTAMP '2025-01-01 00:00:00'"
    store_id = "'S' || lpad(CAST(s AS VARCHAR), 6, '0')"
    copy(
        "units",
        f"""
        SELECT 'C' AS unit_id, 'Engine Bench Pharmacy' AS name, 'company' AS level,
               CAST(NULL AS VARCHAR) AS parent_id, CAST(1 AS BIGINT) AS batch_id
        UNION ALL SELECT DISTINCT 'R' || lpad(CAST(s // 1000 AS VARCHAR), 4, '0'),
               'region ' || CAST(s // 1000 AS VARCHAR), 'region', 'C', 1
          FROM range({stores}) r(s)
        UNION ALL SELECT DISTINCT 'D' || lpad(CAST(s // 20 AS VARCHAR), 5, '0'),
               'district ' || CAST(s // 20 AS VARCHAR), 'district',
               'R' || lpad(CAST(s // 1000 AS VARCHAR), 4, '0'), 1
          FROM range({stores}) r(s)
        UNION ALL SELECT {store_id}, 'store ' || CAST(s AS VARCHAR), 'store',
               'D' || lpad(CAST(s // 20 AS VARCHAR), 5, '0'), 1
          FROM range({stores}) r(s)""",
    )
    copy(
        "unit_history",
        f"""
        SELECT unit_id, parent_id, CAST(NULL AS TIMESTAMP) AS valid_from,
               CAST(NULL AS TIMESTAMP) AS valid_to, batch_id
          FROM read_parquet('{folder / "units" / "*.parquet"}')""",
    )
    # planted per store: promoter share 0.30..0.70, detractor share 0.05..0.25
    s = f"(i % {stores})"
    promoter = f"(0.30 + 0.40 * (({s} * 7919) % 1000) / 1000.0)"
    detractor = f"(0.05 + 0.20 * (({s} * 104729) % 997) / 997.0)"
    moments = "['find_product', 'checkout', 'pickup_prescription', 'order_in_app']"

    def driver(salt: int) -> str:
        return (f"CASE WHEN {_u(salt, seed)} < 0.3 THEN NULL "
                f"ELSE CAST(1 + floor({_u(salt + 1, seed)} * 5) AS DOUBLE) END")  # fmt: skip

    copy(
        "feedback",
        f"""
        SELECT 'R' || lpad(CAST(i AS VARCHAR), 10, '0') AS response_id,
               'S' || lpad(CAST({s} AS VARCHAR), 6, '0') AS unit_id,
               {ts0} + to_seconds(CAST(floor({_u(0, seed)} * {DAYS * 86400}) AS BIGINT))
                 AS responded_at,
               CAST(NULL AS VARCHAR) AS customer_id, 'survey' AS channel,
               {moments}[1 + CAST(i % 4 AS INTEGER)] AS moment,
               CAST(NULL AS VARCHAR) AS comment, CAST(1 AS BIGINT) AS batch_id,
               CASE WHEN {_u(1, seed)} < 0.04 THEN NULL
                    WHEN {_u(2, seed)} < {promoter} THEN CAST(9 + (i % 2) AS DOUBLE)
                    WHEN {_u(2, seed)} < {promoter} + {detractor}
                      THEN CAST(floor({_u(3, seed)} * 7) AS DOUBLE)
                    ELSE CAST(7 + (i % 2) AS DOUBLE) END AS ltr,
               {driver(4)} AS osat, {driver(6)} AS q_staff, {driver(8)} AS q_wait,
               {driver(10)} AS q_stock, {driver(12)} AS q_rx, {driver(14)} AS q_clean,
               {driver(16)} AS q_app
          FROM range({responses}) r(i)""",
    )
    copy(
        "invitations",
        f"""
        SELECT 'I' || lpad(CAST(i AS VARCHAR), 10, '0') AS invitation_id,
               'S' || lpad(CAST({s} AS VARCHAR), 6, '0') AS unit_id,
               CAST(NULL AS VARCHAR) AS customer_id,
               {ts0} + to_seconds(CAST(floor({_u(5, seed)} * {DAYS * 86400}) AS BIGINT))
                 AS sent_at,
               CAST(1 AS BIGINT) AS batch_id, CAST(NULL AS VARCHAR) AS moment
          FROM range({responses * 5 // 4}) r(i)""",
    )
    copy(
        "transactions",
        f"""
        SELECT 'T' || lpad(CAST(i AS VARCHAR), 10, '0') AS transaction_id,
               CAST(NULL AS VARCHAR) AS customer_id,
               'S' || lpad(CAST({s} AS VARCHAR), 6, '0') AS unit_id,
               {ts0} + to_seconds(CAST(floor({_u(7, seed)} * {DAYS * 86400}) AS BIGINT))
                 AS occurred_at,
               round(5 + {_u(9, seed)} * 60, 2) AS amount, CAST(1 AS BIGINT) AS batch_id
          FROM range({responses * 9 // 10}) r(i)""",
    )
    # one row per store and day, the four metrics in turn; ordered by day (as they arrive)
    metrics = "['out_of_stock_rate', 'queue_wait_minutes', 'rx_fill_minutes', 'app_errors']"
    dayparts = "['morning', 'afternoon', 'evening']"
    copy(
        "metrics",
        f"""
        WITH g AS (
          SELECT d, s, d * {stores} + s AS i,
                 {metrics}[1 + CAST((d + s) % 4 AS INTEGER)] AS metric,
                 {ts0} + to_days(CAST(d AS INTEGER)) AS observed_at
            FROM range({DAYS}) a(d), range({stores}) b(s))
        SELECT strftime(observed_at, '%Y-%m-%dT%H:%M:%S.%f') || '|' || metric || '|'
                 || {store_id} || '|daypart=' || daypart || '|platform=all' AS row_key,
               observed_at, metric, {store_id} AS unit_id,
               CASE metric WHEN 'out_of_stock_rate' THEN round({_u(11, seed)} * 0.16, 4)
                           WHEN 'queue_wait_minutes' THEN round({_u(11, seed)} * 12, 2)
                           WHEN 'rx_fill_minutes' THEN round({_u(11, seed)} * 48, 2)
                           ELSE CAST(floor({_u(11, seed)} * 3) AS DOUBLE) END AS value,
               CASE WHEN metric = 'app_errors'
                    THEN 200 - CAST(floor({_u(11, seed)} * 3) AS BIGINT) END AS good,
               CASE WHEN metric = 'app_errors' THEN CAST(200 AS BIGINT) END AS total,
               CAST(1 AS BIGINT) AS batch_id, 'all' AS platform, daypart
          FROM (SELECT *, CASE WHEN metric IN ('queue_wait_minutes', 'rx_fill_minutes')
                               THEN {dayparts}[1 + CAST((d + s // 4) % 3 AS INTEGER)]
                               ELSE 'all' END AS daypart FROM g)
         ORDER BY observed_at""",
    )
    con.execute(f"""
        COPY (SELECT unit_id, strftime(responded_at, '%Y-%m') AS period,
                     count(ltr) AS n, count(*) FILTER (WHERE ltr >= 9) AS promoters,
                     count(*) FILTER (WHERE ltr <= 6) AS detractors
                FROM read_parquet('{folder / "feedback" / "*.parquet"}') GROUP BY 1, 2)
        TO '{folder / "truth.parquet"}' (FORMAT parquet)""")
    counts = {
        t: int(con.execute(f"SELECT count(*) FROM '{folder / t / '*.parquet'}'").fetchone()[0])  # type: ignore[index]
        for t in TABLES
    }
    counts["stores"] = stores
    done.write_text(json.dumps(counts))
    return counts


# -- the two workspaces ----------------------------------------------------------------------
def _sample(data: Path, scratch: Path) -> dict[str, Path]:
    """A few rows of each data table as CSV in the import format: what the workspace ingests
    through the API before it is pointed at the files (its open columns, its units)."""
    import duckdb

    con = duckdb.connect()
    scratch.mkdir(parents=True, exist_ok=True)
    selects = {
        "units": "SELECT unit_id, name, level, parent_id FROM {} ORDER BY level = 'store', "
        "level = 'district', level = 'region' LIMIT 40",
        "feedback": "SELECT * EXCLUDE (batch_id) FROM {} WHERE unit_id = 'S000000' LIMIT 20",
        "invitations": "SELECT invitation_id, unit_id, 'C1' AS customer_id, sent_at FROM {} "
        "WHERE unit_id = 'S000000' LIMIT 20",
        "transactions": "SELECT transaction_id, 'C1' AS customer_id, unit_id, occurred_at, "
        "amount FROM {} "
        "WHERE unit_id = 'S000000' LIMIT 20",
        "metrics": "SELECT observed_at, metric, unit_id, platform, daypart, value, good, total "
        "FROM {} WHERE unit_id = 'S000000' LIMIT 40",
    }
    out = {}
    for table, sql in selects.items():
        path = scratch / f"{table}.csv"
        source = f"read_parquet('{data / table / '*.parquet'}')"
        con.execute(f"COPY ({sql.format(source)}) TO '{path}' (HEADER)")
        out[table] = path
    return out


def setup(engine: str, data: Path, ws_dir: Path) -> None:
    """A workspace of ``engine`` whose six data tables read the Parquet files under ``data``."""
    from earnright.api import open_workspace
    from earnright.config.model import load_config
    from earnright.workspace import init_workspace

    if (ws_dir / "READY").exists():
        return
    shutil.rmtree(ws_dir, ignore_errors=True)
    ws_dir.mkdir(parents=True)
    toml = ws_dir.parent / f"{engine}.toml"
    toml.write_text(config_text(SPARK_URL if engine == "spark" else None), encoding="utf-8")
    init_workspace(ws_dir, load_config(toml))
    ws = open_workspace(ws_dir)
    for kind, path in _sample(data, ws_dir.parent / f"sample-{engine}").items():
        ws.ingest(kind, path)
    if engine == "spark":
        from earnright.warehouse.sparkstore import attach_segments

        for table in TABLES:
            attach_segments(ws_dir / "spark-warehouse", table, [data / table])
    else:
        import duckdb

        con = duckdb.connect(str(ws_dir / "earnright.duckdb"))
        for table in TABLES:
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            src = f"read_parquet('{data / table / '*.parquet'}', union_by_name = true)"
            names = ", ".join(f'"{c}"' for c in cols)
            con.execute(f"DROP TABLE {table}")
            con.execute(f"CREATE VIEW {table} AS SELECT {names} FROM {src}")
        con.close()
    (ws_dir / "READY").write_text("ok")


# -- measuring -------------------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")


def _jvm_pid() -> int | None:
    """Spark's driver JVM: a child process of this one running java."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me and "java" in stat[: stat.rindex(")")]:
            return int(entry.name)
    return None


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _hwm(pid: int) -> float:
    """Peak resident memory (MB) of ``pid`` since its last reset."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def _reset_peak(pid: int) -> None:
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def run_passes(engine: str, ws_dir: Path, passes: list[str], out: Path) -> dict[str, Any]:
    """Each pass through the public API, timed; its results saved under ``out``."""
    from earnright.api import open_workspace

    ws = open_workspace(ws_dir)
    me = os.getpid()
    jvm: list[int | None] = [None]
    timings: dict[str, Any] = {}

    def timed(name: str, work: Any) -> Any:
        if engine == "spark" and jvm[0] is None:
            jvm[0] = _jvm_pid()
        pids = [me] + ([jvm[0]] if jvm[0] else [])
        for pid in pids:
            _reset_peak(pid)
        cpu0 = {pid: _cpu(pid) for pid in pids}
        t0 = time.perf_counter()
        result = work()
        wall = time.perf_counter() - t0
        if jvm[0] is None and engine == "spark":
            jvm[0] = _jvm_pid()
        entry = {"wall_s": wall, "cpu_s": _cpu(me) - cpu0[me], "peak_mb": _hwm(me)}
        if jvm[0]:
            entry["jvm_cpu_s"] = _cpu(jvm[0]) - cpu0.get(jvm[0], 0.0)
            entry["jvm_peak_mb"] = _hwm(jvm[0])
        timings[name] = entry
        (out / f"timings-{engine}.json").write_text(json.dumps(timings))  # each pass, as it ends
        say(f"  {engine} {name}: {wall:.1f} s wall, {entry['cpu_s']:.1f} s CPU (python)"
            + (f" + {entry['jvm_cpu_s']:.1f} s (JVM)" if jvm[0] else ""))  # fmt: skip
        return result

    def start() -> None:
        with ws.warehouse() as wh:
            wh.list_tables()

    timed("start", start)
    if "scorecard" in passes:
        card = timed("scorecard", lambda: ws.scorecard(level="store", grain="month"))
        card.to_frame().to_parquet(out / f"scorecard-{engine}.parquet")
    if "rank" in passes:
        ranked = timed("rank", lambda: ws.rank(level="store", grain="month"))
        ranked.to_frame().to_parquet(out / f"rank-{engine}.parquet")
    if "reliability" in passes:
        rel = timed("reliability", lambda: ws.reliability())
        rel.to_frame().to_parquet(out / f"reliability-{engine}.parquet")
    return timings


def child(args: argparse.Namespace) -> int:
    """``--child STEP ENGINE DATA WS OUT PASSES``: set the workspace up (``setup``) or time the
    passes (``run``), each in a process of its own (so ``start`` includes Spark's session)."""
    step, engine, data, ws_dir, out, passes = args.child
    if step == "setup":
        setup(engine, Path(data), Path(ws_dir))
        return 0
    timings = run_passes(engine, Path(ws_dir), passes.split(",") if passes else [], Path(out))
    (Path(out) / f"timings-{engine}.json").write_text(json.dumps(timings))
    return 0


# -- comparing ---------------------------------------------------------------------------------
def _frames_agree(a: Any, b: Any, keys: list[str]) -> str:
    """'' when the two frames hold the same rows and values (numbers within TOLERANCE)."""
    import numpy as np

    if len(a) != len(b):
        return f"{len(a)} rows against {len(b)}"
    if sorted(a.columns) != sorted(b.columns):
        return f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}"
    a = a.sort_values(keys).reset_index(drop=True)
    b = b[a.columns].sort_values(keys).reset_index(drop=True)
    for col in a.columns:
        x, y = a[col], b[col]
        if x.dtype.kind in "fiub" and y.dtype.kind in "fiub":
            xv, yv = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            same = np.isclose(xv, yv, rtol=0, atol=TOLERANCE) | (np.isnan(xv) & np.isnan(yv))
            if not same.all():
                i = int(np.argmin(same))
                return f"{col} differs at row {i}: {xv[i]!r} against {yv[i]!r}"
        elif not (x.astype(str) == y.astype(str)).all():
            i = int((x.astype(str) != y.astype(str)).to_numpy().argmax())
            return f"{col} differs at row {i}: {x.iloc[i]!r} against {y.iloc[i]!r}"
    return ""


def check(out: Path, data: Path, engines: list[str], passes: dict[str, list[str]]) -> list[str]:
    """What failed (empty: the checks hold)."""
    import numpy as np
    import pandas as pd

    failures = []
    first = out / f"scorecard-{engines[0]}.parquet"
    if first.exists():
        card = pd.read_parquet(first)
        truth = pd.read_parquet(data / "truth.parquet")
        truth["nps"] = 100 * (truth.promoters - truth.detractors) / truth.n
        card = card.assign(period=card.period.astype(str).str[:7])
        both = truth.merge(card, on=["unit_id", "period"], how="outer", indicator="found")
        if (both["found"] != "both").any() or len(both) != len(truth):
            failures.append(f"scorecard: {int((both['found'] != 'both').sum())} store-months "
                            "differ from the generator's tally")  # fmt: skip
        else:
            counts = ["n", "promoters", "detractors"]
            same = all((both[f"{c}_x"].astype(int) == both[f"{c}_y"].astype(int)).all()
                       for c in counts)  # fmt: skip
            shown = both.nps_y.notna()
            if (
                not same
                or not shown.any()
                or not np.allclose(both.nps_x[shown], both.nps_y[shown], rtol=0, atol=TOLERANCE)
            ):
                failures.append("scorecard: n, promoters, detractors or NPS differ from the "
                                "generator's tally")  # fmt: skip
    keys = {
        "scorecard": ["unit_id", "period"],
        "rank": ["unit_id"],
        "reliability": ["moment", "indicator", "segment"],
    }
    if len(engines) == 2:
        for name in PASSES:
            if name not in passes[engines[0]] or name not in passes[engines[1]]:
                continue
            a = pd.read_parquet(out / f"{name}-{engines[0]}.parquet")
            b = pd.read_parquet(out / f"{name}-{engines[1]}.parquet")
            why = _frames_agree(a, b, keys[name])
            if why:
                failures.append(f"{name}: {engines[0]} and {engines[1]} disagree: {why}")
    return failures


# -- the run -----------------------------------------------------------------------------------
def _load() -> float:
    return os.getloadavg()[0]


def run_size(
    responses: int, args: argparse.Namespace, data_root: Path, scratch: Path
) -> dict[str, Any]:
    data = data_root / f"r{responses}"
    say(f"{responses:,} responses: data in {data}")
    t0 = time.perf_counter()
    counts = generate(data, responses, args.seed)
    generation = time.perf_counter() - t0
    out = scratch / f"r{responses}"
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"responses": responses, "rows": counts,
                              "generation_s": generation, "engines": {}}  # fmt: skip
    passes = {e: list(args.spark_passes if e == "spark" else args.passes) for e in args.engines}
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(BENCH)])}
    for engine in args.engines:
        ws_dir = data / f"ws-{engine}"
        load = _load()
        for step in ("setup", "run"):
            cmd = [sys.executable, __file__, "--child", step, engine, str(data), str(ws_dir),
                   str(out), ",".join(passes[engine])]  # fmt: skip
            t1 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, cwd=ROOT, text=True, stderr=sys.stderr)
            if proc.returncode != 0:
                raise SystemExit(f"{engine} {step} at {responses:,} responses failed")
        timings = json.loads((out / f"timings-{engine}.json").read_text())
        read = {"scorecard": counts["feedback"] + counts["invitations"],
                "rank": counts["feedback"] + counts["invitations"],
                "reliability": counts["metrics"]}  # fmt: skip
        for name, t in timings.items():
            if name in read:
                cpu = t["cpu_s"] + t.get("jvm_cpu_s", 0.0)
                t["rows_read"] = read[name]
                t["rows_per_s"] = read[name] / t["wall_s"]
                t["rows_per_cpu_s"] = read[name] / cpu if cpu else math.nan
        result["engines"][engine] = {"passes": timings, "run_process_s": time.perf_counter() - t1,
                                     "load_before": load, "load_after": _load()}  # fmt: skip
    failures = check(out, data, args.engines, passes)
    result["checks"] = failures or ["ok"]
    return result


REACH = 100  # how far beyond the largest size run a trend's crossover is reported


def _trend(points: list[tuple[int, float]]) -> dict[str, Any]:
    """The slope of a ratio through its last two sizes in log-log, and the size at which that
    line reaches 1 (None when the ratio does not fall toward 1, or only beyond ``REACH`` times
    the largest size: ``beyond``)."""
    if len(points) < 2 or points[-1][1] == points[-2][1]:
        return {}
    (n1, r1), (n2, r2) = points[-2], points[-1]
    slope = math.log(r2 / r1) / math.log(n2 / n1)
    cross = n2 * (1 / r2) ** (1 / slope) if slope < 0 and r2 > 1 else None
    # a line through two sizes says nothing a hundredfold beyond them
    beyond = cross is not None and cross > REACH * n2
    return {"slope": slope, "crossover_responses": None if beyond else cross, "beyond": beyond}


def crossover(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """Per pass: Spark's wall and CPU time over DuckDB's at each size, and where (by a straight
    line through the last two sizes in log-log) each ratio would reach 1."""
    out: dict[str, Any] = {}
    for name in PASSES:
        points = []
        cpu: dict[str, float] = {}
        for size in sizes:
            e = size["engines"]
            if (
                "duckdb" in e
                and "spark" in e
                and name in e["duckdb"]["passes"]
                and (name in e["spark"]["passes"])
            ):
                ratio = e["spark"]["passes"][name]["wall_s"] / e["duckdb"]["passes"][name]["wall_s"]
                points.append((size["responses"], ratio))
                spark, duck = e["spark"]["passes"][name], e["duckdb"]["passes"][name]
                cpu[str(size["responses"])] = (spark["cpu_s"] + spark.get("jvm_cpu_s", 0.0)) / (
                    duck["cpu_s"] + duck.get("jvm_cpu_s", 0.0)
                )
        entry: dict[str, Any] = {"spark_over_duckdb": {str(n): r for n, r in points}}
        entry["spark_over_duckdb_cpu"] = cpu
        entry |= _trend(points)
        cpu_trend = _trend([(int(n), r) for n, r in cpu.items()])
        entry |= {f"{k}_cpu": v for k, v in cpu_trend.items()}
        out[name] = entry
    return out


def ratio_line(name: str, entry: dict[str, Any]) -> str:
    """One pass's line of Spark's time over DuckDB's per size, and where the trend meets 1."""
    cpus = entry.get("spark_over_duckdb_cpu", {})
    ratios = ", ".join(
        f"{int(n):,}: {r:.1f}x wall" + (f", {cpus[n]:.1f}x CPU" if n in cpus else "")
        for n, r in entry["spark_over_duckdb"].items()
    )
    if len(entry["spark_over_duckdb"]) < 2:
        return f"- {name}: {ratios or 'not run on both'} (one size: no trend)"
    cross = entry.get("crossover_responses")
    cross_cpu = entry.get("crossover_responses_cpu")
    far = f"only beyond {REACH}x the largest size run"
    if cross_cpu:
        ratios += f"; in CPU time, by the trend, equal at about {cross_cpu:,.0f} responses"
    elif entry.get("beyond_cpu"):
        ratios += f"; in CPU time, by the trend, equal {far}"
    tail = (f"; in wall time, by the trend, equal at about {cross:,.0f} responses" if cross
            else f"; in wall time, by the trend, equal {far}" if entry.get("beyond")
            else "; in wall time, no crossover by the trend" if ratios else "")  # fmt: skip
    return f"- {name}: {ratios or 'not run on both'}{tail}"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# DuckDB versus Spark `local[2]` on the same Parquet files",
        "",
        f"Run {result['when']} on {result['machine']} (2 cores, shared; load average "
        f"{result['load']['start']:.1f} at the start, {result['load']['end']:.1f} at the end). "
        "Command: `" + result["command"] + "`.",
        "",
        "Passes through the public API (`open_workspace(...).scorecard(level='store', "
        "grain='month')`, `.rank(level='store', grain='month')`, `.reliability()`); CPU is "
        "user + system of the Python process plus Spark's driver JVM; rows are those the pass "
        "reads (responses + invitations; metric rows); peak memory is VmHWM of each process "
        "during the pass.",
        "",
        "| responses | engine | pass | wall s | CPU s (py + JVM) | rows/s (wall) | rows/CPU s "
        "| peak MB py | peak MB JVM |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for size in result["sizes"]:
        for engine, e in size["engines"].items():
            for name, t in e["passes"].items():
                cpu = f"{t['cpu_s']:.1f}" + (f" + {t['jvm_cpu_s']:.1f}" if "jvm_cpu_s" in t else "")
                rps = f"{t['rows_per_s']:,.0f}" if "rows_per_s" in t else ""
                rpc = f"{t['rows_per_cpu_s']:,.0f}" if "rows_per_cpu_s" in t else ""
                jvm = f"{t['jvm_peak_mb']:,.0f}" if "jvm_peak_mb" in t else ""
                lines.append(
                    f"| {size['responses']:,} | {engine} | {name} | {t['wall_s']:.1f} | {cpu} "
                    f"| {rps} | {rpc} | {t['peak_mb']:,.0f} | {jvm} |"
                )
    lines += ["", "Rows per size (generated once with DuckDB SQL, seconds):", ""]
    lines += ["| responses | stores | invitations | transactions | metric rows | generation s |",
              "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for size in result["sizes"]:
        r = size["rows"]
        lines.append(f"| {r['feedback']:,} | {r['stores']:,} | {r['invitations']:,} "
                     f"| {r['transactions']:,} | {r['metrics']:,} "
                     f"| {size['generation_s']:.0f} |")  # fmt: skip
    lines += [
        "",
        "Spark's wall time over DuckDB's (and CPU time over CPU time), per pass and size:",
        "",
    ]
    lines += [ratio_line(name, entry) for name, entry in result["crossover"].items()]
    lines += ["", "Checks: " + "; ".join(f"{s['responses']:,}: {', '.join(s['checks'])}"
                                        for s in result["sizes"]), ""]  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--passes", nargs="+", default=list(PASSES), choices=PASSES)
    parser.add_argument("--spark-passes", nargs="+", default=None, choices=PASSES,
                        help="the passes on Spark (default: --passes)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=None,
                        help="generated files and workspaces "
                        "(default /tmp/earnright-engines)")  # fmt: skip
    parser.add_argument("--output", type=Path, default=None, help="default bench/results")
    parser.add_argument("--smoke", action="store_true",
                        help="CI: 20,000 responses, both engines, temp folder")  # fmt: skip
    parser.add_argument("--append", action="store_true",
                        help="keep the sizes of the existing engines.json (a size run again "
                        "replaces its entry): big sizes can run one at a time")  # fmt: skip
    parser.add_argument("--child", nargs=6, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    args.spark_passes = args.spark_passes or args.passes
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        if args.smoke:
            args.responses = [20_000]
            data_root = args.data or Path(tmp) / "data"
            output = args.output or Path(tmp) / "results"
        else:
            data_root = args.data or Path("/tmp/earnright-engines")
            output = args.output or RESULTS
        result: dict[str, Any] = {
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "command": "python bench/engines.py " + " ".join(sys.argv[1:]),
            "load": {"start": _load()},
            "sizes": [],
        }
        earlier = output / "engines.json"
        if args.append and earlier.exists():
            old = json.loads(earlier.read_text())
            result["sizes"] = [s for s in old["sizes"] if s["responses"] not in args.responses]
            runs = [c for c in old["command"].split("; then ") if c != result["command"]]
            result["command"] = "; then ".join([*runs, result["command"]])  # each command once
            result["load"]["start"] = old["load"]["start"]
        for responses in args.responses:
            result["sizes"].append(run_size(responses, args, data_root, Path(tmp) / "out"))
            result["sizes"].sort(key=lambda size: size["responses"])
            result["crossover"] = crossover(result["sizes"])
            result["load"]["end"] = _load()
            output.mkdir(parents=True, exist_ok=True)
            (output / "engines.json").write_text(json.dumps(result, indent=1))
            (output / "engines.md").write_text(markdown(result))
        failures = [f for s in result["sizes"] for f in s["checks"] if f != "ok"]
        print("check: " + ("; ".join(failures) if failures else "scorecard equals the "
              "generator's tally; the engines agree within 1e-9"), file=sys.stderr)  # fmt: skip
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

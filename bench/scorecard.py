"""Benchmark: feedback ingest throughput and the store × month scorecard, four ways.

    python bench/scorecard.py [--rows 10000000] [--stores 5000] [--repeats 5]
    python bench/scorecard.py --smoke     # CI: seconds, in a temporary folder

1. Builds (once, cached under bench/data/) a synthetic company: a 4-level unit hierarchy,
   ``--rows`` feedback responses over 12 months (Parquet, and CSV for ``--csv-rows`` of them) and
   invitations (rows ÷ 5).
2. Times ``ingest_file`` of the Parquet and of the CSV feedback into fresh workspaces, each in its
   own subprocess: rows/s and the subprocess's peak RSS.
3. Times the scorecard at store level, month grain, all periods, ``--repeats`` times per variant,
   each variant in its own long-lived subprocess (peak RSS = that subprocess's VmHWM), runs
   interleaved round-robin: earnright's ``compute_scorecard``; the floor (one hand-written DuckDB
   query on the same connection plus the same numpy interval formulas); pandas and polars from the
   Parquet files (read included). All four must agree on every number (within 1e-9) or the run
   fails.
4. Prints medians and ratios; writes bench/results/scorecard.json and scorecard.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
RESULTS = BENCH / "results"
NPS, CSAT, TOP2 = "ltr", "osat", 4  # osat top-2-box: 4 and 5 on the 1..5 scale
DRIVERS = [f"q_{i}" for i in range(1, 7)]
DRIVER_SCALE = (1, 5)
COUNTS = ["feedback", "responses", "invitations", "n", "promoters", "detractors", "n_csat", "top2"]
COUNTS += [f"{q}_n" for q in DRIVERS]
VARIANTS = ["earnright", "sql", "pandas", "polars"]
TARGETS = {"earnright/sql": "<= 1.3", "pandas/earnright": "> 1", "polars/earnright": "> 1"}
SMOKE = {"rows": 20_000, "stores": 60, "repeats": 1}  # --smoke: seconds, for CI
Arrays = Mapping[str, Any]


# -- small helpers --------------------------------------------------------------------------
def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far: VmHWM of /proc/self/status on Linux.

    Not ru_maxrss: across fork/exec Linux carries the parent's high-water mark into the child's
    ru_maxrss, so a child of a big parent would report the parent's peak.
    """
    for line in _read("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


class Progress:
    """Where ingest_file's reader is (its progress callback), shown with elapsed time and RSS.

    A ticker thread redraws one line on stderr (``\\r`` on a terminal, a line every 5 s
    otherwise), so the display moves during validation and the commit too.
    """

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit = label, unit
        self.done = self.total = 0
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._show()
        sys.stderr.write("\n" if self.tty else "")

    def _tick(self) -> None:
        while not self._stop.wait(0.5 if self.tty else 5.0):
            self._show()

    def _show(self) -> None:
        scale = 2**20 if self.unit == "MB" else 1
        share = 100 * self.done / max(self.total, 1)
        text = (
            f"  {self.label}: reader at {share:3.0f}% ({self.done / scale:,.0f}/"
            f"{self.total / scale:,.0f} {self.unit}) · {time.monotonic() - self.start:6.1f} s"
            f" · RSS {rss_mb():,.0f} MB"
        )
        sys.stderr.write(("\r" + text) if self.tty else (text + "\n"))
        sys.stderr.flush()


# -- synthetic data -------------------------------------------------------------------------
@dataclass(frozen=True)
class Dataset:
    rows: int
    stores: int
    seed: int
    csv_rows: int

    @property
    def dir(self) -> Path:
        return DATA / f"r{self.rows}_s{self.stores}_seed{self.seed}"

    @property
    def csv(self) -> Path:
        return self.dir / f"feedback_{self.csv_rows}.csv"


def unit_table(stores: int) -> pd.DataFrame:
    """company > ~stores/1000 regions > ~stores/100 districts > stores."""
    n_district = max(1, round(stores / 100))
    n_region = max(1, round(n_district / 10))
    rows: list[tuple[str, str, str, str | None]] = [("C1", "Company", "company", None)]
    rows += [(f"R{r:02d}", f"Region {r}", "region", "C1") for r in range(n_region)]
    rows += [
        (f"D{d:03d}", f"District {d}", "district", f"R{d % n_region:02d}")
        for d in range(n_district)
    ]
    rows += [(f"S{s:05d}", f"Store {s}", "store", f"D{s % n_district:03d}") for s in range(stores)]
    return pd.DataFrame(rows, columns=["unit_id", "name", "level", "parent_id"])


def _answers(
    rng: np.random.Generator, centre: np.ndarray, sd: float, scale: tuple[int, int]
) -> Any:
    """Whole-number answers around a per-row centre, clipped to the scale, ~4% missing."""
    import polars as pl

    values = np.clip(np.rint(centre + rng.normal(0.0, sd, centre.size)), *scale)
    values[rng.random(centre.size) < 0.04] = np.nan
    return pl.Series(values, nan_to_null=True)


def _timestamps(rng: np.random.Generator, n: int) -> np.ndarray:
    """Sorted times over the 12 months of 2025 (exports come in time order)."""
    seconds = np.sort(rng.integers(0, 365 * 86400, n))
    return np.datetime64("2025-01-01T00:00:00", "us") + seconds.astype("timedelta64[s]")


def _ids(prefix: str, numbers: np.ndarray, width: int) -> Any:
    import polars as pl

    digits = pl.Series(numbers).cast(pl.String).str.zfill(width)
    return pl.select(pl.concat_str(pl.lit(prefix), digits)).to_series()


def _pick(rng: np.random.Generator, values: list[Any], p: list[float], n: int) -> Any:
    import polars as pl

    return pl.Series(values).gather(rng.choice(len(values), size=n, p=p))


def feedback_frame(rows: int, stores: int, seed: int) -> Any:
    """``rows`` responses: store volumes and quality vary; ltr, osat and q_1..q_6 answers."""
    import polars as pl

    rng = np.random.default_rng(seed)
    weight = rng.lognormal(0.0, 0.6, stores)
    store = rng.choice(stores, size=rows, p=weight / weight.sum())
    quality = rng.normal(0.0, 0.7, stores)[store]
    store_ids = pl.Series([f"S{s:05d}" for s in range(stores)])
    comments = [None] * 9 + ["slow queue", "friendly staff, thanks", "out of stock again"]
    cols: dict[str, Any] = {
        "response_id": _ids("r", np.arange(rows), 10),
        "unit_id": store_ids.gather(store),
        "responded_at": pl.Series(_timestamps(rng, rows)),
        "channel": _pick(rng, ["survey", "complaint", "chat"], [0.92, 0.05, 0.03], rows),
        "moment": _pick(rng, ["visit", "checkout", "delivery", "support"], [0.25] * 4, rows),
        "comment": _pick(rng, comments, [1 / len(comments)] * len(comments), rows),
        NPS: _answers(rng, 7.6 + 1.2 * quality, 2.0, (0, 10)),
        CSAT: _answers(rng, 3.9 + 0.5 * quality, 0.9, (1, 5)),
    }
    for q in DRIVERS:
        cols[q] = _answers(rng, 3.7 + 0.5 * quality, 1.0, DRIVER_SCALE)
    return pl.DataFrame(cols)


def invitation_frame(rows: int, stores: int, seed: int) -> Any:
    import polars as pl

    rng = np.random.default_rng(seed + 1)
    store_ids = pl.Series([f"S{s:05d}" for s in range(stores)])
    return pl.DataFrame(
        {
            "invitation_id": _ids("i", np.arange(rows), 10),
            "unit_id": store_ids.gather(rng.integers(0, stores, rows)),
            "customer_id": _ids("c", rng.integers(0, 5 * rows, rows), 10),
            "sent_at": pl.Series(_timestamps(rng, rows)),
        }
    )


def build_data(ds: Dataset) -> dict[str, Any]:
    """Write the dataset's files unless present; return what was (re)built and how long it took."""
    ds.dir.mkdir(parents=True, exist_ok=True)
    started, built = time.monotonic(), []
    writers: dict[Path, Callable[[Path], None]] = {
        ds.dir / "units.csv": lambda p: unit_table(ds.stores).to_csv(p, index=False),
        ds.dir / "feedback.parquet": lambda p: _write_feedback(ds, p),
        ds.dir / "invitations.parquet": lambda p: invitation_frame(
            max(1000, ds.rows // 5), ds.stores, ds.seed
        ).write_parquet(p),
        ds.csv: lambda p: _write_csv(ds, p),
    }
    for path, write in writers.items():
        if not path.exists():
            part = path.with_name(path.name + ".part")  # no half-written file under the real name
            write(part)
            part.rename(path)
            built.append(path.name)
    sizes = {p.name: p.stat().st_size for p in ds.dir.iterdir() if p.is_file()}
    return {"dir": str(ds.dir), "built": built, "seconds": time.monotonic() - started} | {
        "bytes": sizes
    }


def _write_feedback(ds: Dataset, path: Path) -> None:
    say(f"  generating {ds.rows:,} feedback rows over {ds.stores:,} stores …")
    feedback_frame(ds.rows, ds.stores, ds.seed).write_parquet(path)


def _write_csv(ds: Dataset, path: Path) -> None:
    """The first ``csv_rows`` responses as CSV: answers as whole numbers, ISO 8601 times."""
    import polars as pl

    head = pl.scan_parquet(ds.dir / "feedback.parquet").head(ds.csv_rows)
    head = head.with_columns(pl.col(NPS, CSAT, *DRIVERS).cast(pl.Int8))
    head.collect().write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S")


# -- subprocess jobs ------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    worker: str  # "ingest" or one of VARIANTS
    data: str
    ws: str
    out: str
    source: str = ""  # the feedback file, for "ingest"
    invitations: bool = False  # ingest invitations too (the scorecard workspace)


def run_job(job: Job) -> dict[str, Any]:
    """Run ``job`` in a fresh interpreter (stderr shows its progress); return its JSON result."""
    Path(job.out).unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--job", json.dumps(asdict(job))]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: the {job.worker} subprocess exited with {proc.returncode}")
    result: dict[str, Any] = json.loads(Path(job.out).read_text())
    return result | {"load_before": load, "load_after": os.getloadavg()[0]}


def job_main(job: Job) -> None:
    result = ingest_job(job) if job.worker == "ingest" else scorecard_job(job)
    Path(job.out).write_text(json.dumps(result, indent=2))


def ingest_job(job: Job) -> dict[str, Any]:
    """Fresh workspace, units, then the timed feedback ingest (and untimed invitations)."""
    from earnright.ingest import ingest_file
    from earnright.workspace import init_workspace

    shutil.rmtree(job.ws, ignore_errors=True)
    ws = init_workspace(Path(job.ws))
    data, source = Path(job.data), Path(job.source)
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", data / "units.csv")
        result = _timed_feedback(wh, ws.config, source)
        inv_seconds = _ingest_invitations(wh, ws.config, data) if job.invitations else None
    return result | {"invitations_seconds": inv_seconds}


def _timed_feedback(wh: Any, config: Any, source: Path) -> dict[str, Any]:
    from earnright.ingest import ingest_file

    baseline = rss_mb()
    started = time.perf_counter()
    with Progress(source.name, "rows" if source.suffix == ".parquet" else "MB") as progress:
        res = ingest_file(wh, config, "feedback", source, progress=progress)
    seconds = time.perf_counter() - started
    if res.quarantined or not res.accepted:
        raise SystemExit(f"FAIL: {source.name}: {res.summary()}")
    say(f"  {source.name}: {res.accepted:,} rows in {seconds:.1f} s")
    return {
        "file": source.name,
        "rows": res.accepted,
        "seconds": seconds,
        "rows_per_s": res.accepted / seconds,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),  # the high-water mark so far: units and feedback
    }


def _ingest_invitations(wh: Any, config: Any, data: Path) -> float:
    from earnright.ingest import ingest_file

    started = time.perf_counter()
    res = ingest_file(wh, config, "invitations", data / "invitations.parquet")
    if res.quarantined:
        raise SystemExit(f"FAIL: invitations: {res.summary()}")
    return time.perf_counter() - started


RUNNERS: dict[str, Callable[[Job], AbstractContextManager[Callable[[], pd.DataFrame]]]] = {}


def scorecard_job(job: Job) -> dict[str, Any]:
    """A worker: open the variant (imports, connection), then one timed scorecard per ``run``
    line on stdin, each answered with a JSON line on stdout, until ``done``."""
    replies, sys.stdout = sys.stdout, sys.stderr  # stdout carries only the replies
    with RUNNERS[job.worker](job) as run:
        baseline = rss_mb()
        _reply(replies, {"ready": True})
        for command in sys.stdin:
            if command.strip() != "run":
                break
            started, cpu_started = time.perf_counter(), time.process_time()
            frame = run()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            _reply(replies, {"seconds": seconds, "cpu": cpu})
    frame.to_parquet(Path(job.out).with_suffix(".parquet"))
    return {"baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb(), "rows": len(frame)}


def _reply(stream: Any, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


class Worker:
    """A variant's subprocess, kept open so that runs of all variants can be interleaved."""

    def __init__(self, job: Job) -> None:
        self.job = job
        Path(job.out).unlink(missing_ok=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--job", json.dumps(asdict(job))]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ask("")  # wait until imported and connected: {"ready": true}

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(
                f"FAIL: the {self.job.worker} subprocess exited with {self.proc.wait()}"
            )
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> dict[str, Any]:
        """Stop the worker; its result: peak RSS, baseline RSS, rows (its frame is on disk)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("done\n")
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise SystemExit(f"FAIL: the {self.job.worker} subprocess exited with an error")
        result: dict[str, Any] = json.loads(Path(self.job.out).read_text())
        return result


# -- the four scorecards --------------------------------------------------------------------
@contextmanager
def earnright_runner(job: Job) -> Iterator[Callable[[], pd.DataFrame]]:
    from earnright.listening.scorecard import compute_scorecard
    from earnright.workspace import find_workspace

    ws = find_workspace(Path(job.ws))
    with ws.warehouse(read_only=True) as wh:
        yield lambda: compute_scorecard(wh, ws.config, level="store")


@contextmanager
def sql_runner(job: Job) -> Iterator[Callable[[], pd.DataFrame]]:
    from earnright.workspace import find_workspace

    ws = find_workspace(Path(job.ws))
    with ws.warehouse(read_only=True) as wh:
        con = wh.con.con  # the DuckDB connection under the Ibis backend
        yield lambda: finish(con.execute(scorecard_sql()).fetchnumpy())


def scorecard_sql() -> str:
    """Everything in one query: feedback and invitation aggregates per store and month.

    Questions count survey responses only, as compute_scorecard does. ``CASE WHEN survey THEN q``
    inline is the fastest way found in DuckDB 1.5 (``FILTER (WHERE …)`` costs ~50% more).
    """

    def a(q: str) -> str:
        return f"CASE WHEN channel = 'survey' THEN {q} END"

    drivers = ", ".join(
        f"count({a(q)}) AS {q}_n, sum({a(q)}) AS {q}_sum, sum({a(q)} * {a(q)}) AS {q}_sumsq"
        for q in DRIVERS
    )
    counts = ", ".join(f"coalesce(f.{c}, 0) AS {c}" for c in COUNTS if c != "invitations")
    sums = ", ".join(f"f.{q}_sum, f.{q}_sumsq" for q in DRIVERS)
    return f"""
    WITH anc AS (SELECT unit_id, unit_id AS ancestor_id FROM units WHERE level = 'store'),
    f AS (
        SELECT a.ancestor_id AS unit_id, date_trunc('month', responded_at) AS period_start,
            count(*) AS feedback, count_if(channel = 'survey') AS responses,
            count({a(NPS)}) AS n, count_if({a(NPS)} >= 9) AS promoters,
            count_if({a(NPS)} <= 6) AS detractors,
            count({a(CSAT)}) AS n_csat, count_if({a(CSAT)} >= {TOP2}) AS top2,
            {drivers}
        FROM feedback JOIN anc a USING (unit_id) GROUP BY ALL),
    i AS (
        SELECT a.ancestor_id AS unit_id, date_trunc('month', sent_at) AS period_start,
            count(*) AS invitations
        FROM invitations JOIN anc a USING (unit_id) GROUP BY ALL)
    SELECT unit_id, u.name, u.level, period_start, {counts}, {sums},
        coalesce(i.invitations, 0) AS invitations
    FROM f FULL JOIN i USING (unit_id, period_start) JOIN units u USING (unit_id)
    ORDER BY period_start, unit_id
    """


@contextmanager
def pandas_runner(job: Job) -> Iterator[Callable[[], pd.DataFrame]]:
    yield lambda: pandas_scorecard(Path(job.data))


def pandas_scorecard(data: Path) -> pd.DataFrame:
    units = pd.read_csv(data / "units.csv", dtype=str)
    stores = units.loc[units["level"] == "store", "unit_id"].to_numpy()
    ancestor = pd.Series(stores, index=stores)  # unit → its store (stores: themselves)
    stats = _pandas_feedback(data / "feedback.parquet", ancestor)
    inv = _pandas_invitations(data / "invitations.parquet", ancestor)
    frame = stats.join(inv, how="outer").reset_index()
    frame = frame.merge(units[["unit_id", "name", "level"]], on="unit_id", how="left")
    frame[COUNTS] = frame[COUNTS].fillna(0).astype("int64")
    frame = frame.sort_values(["period_start", "unit_id"], ignore_index=True)
    return finish({c: frame[c].to_numpy() for c in frame.columns})


def _month(times: pd.Series) -> np.ndarray:
    return times.to_numpy().astype("datetime64[M]").astype("datetime64[us]")


def _pandas_feedback(path: Path, ancestor: pd.Series) -> pd.DataFrame:
    fb = pd.read_parquet(path, columns=["unit_id", "responded_at", "channel", NPS, CSAT, *DRIVERS])
    survey = fb["channel"].eq("survey")
    answers = fb[[NPS, CSAT, *DRIVERS]].where(survey)  # questions: survey responses only
    ltr, osat = answers[NPS], answers[CSAT]
    parts: dict[str, Any] = {
        "unit_id": fb["unit_id"].map(ancestor),  # NaN (dropped by groupby) if not under a store
        "period_start": _month(fb["responded_at"]),
        "feedback": np.ones(len(fb), dtype=np.int64),
        "responses": survey,
        "n": ltr.notna(),
        "promoters": ltr.ge(9),
        "detractors": ltr.le(6),
        "n_csat": osat.notna(),
        "top2": osat.ge(TOP2),
    }
    for q in DRIVERS:
        a = answers[q]
        parts |= {f"{q}_n": a.notna(), f"{q}_sum": a, f"{q}_sumsq": a * a}
    return pd.DataFrame(parts).groupby(["unit_id", "period_start"]).sum()


def _pandas_invitations(path: Path, ancestor: pd.Series) -> pd.Series:
    inv = pd.read_parquet(path, columns=["unit_id", "sent_at"])
    keys = [inv["unit_id"].map(ancestor).rename("unit_id"), _month(inv["sent_at"])]
    return inv.groupby(keys).size().rename_axis(["unit_id", "period_start"]).rename("invitations")


@contextmanager
def polars_runner(job: Job) -> Iterator[Callable[[], pd.DataFrame]]:
    yield lambda: polars_scorecard(Path(job.data))


def polars_scorecard(data: Path) -> pd.DataFrame:
    import polars as pl

    units = pl.scan_csv(data / "units.csv", schema_overrides={"parent_id": pl.String})
    anc = units.filter(pl.col("level") == "store").select("unit_id", ancestor_id="unit_id")
    keys = ["ancestor_id", "period_start"]
    stats = _polars_monthly(data / "feedback.parquet", "responded_at", anc, _polars_aggs())
    inv = _polars_monthly(data / "invitations.parquet", "sent_at", anc, [pl.len()])
    frame = (
        stats.join(inv.rename({"len": "invitations"}), on=keys, how="full", coalesce=True)
        .rename({"ancestor_id": "unit_id"})
        .join(units.select("unit_id", "name", "level"), on="unit_id", how="left")
        .with_columns(pl.col(COUNTS).fill_null(0).cast(pl.Int64))  # UInt32 counts would wrap
        .sort("period_start", "unit_id")
        .collect()
    )
    return finish({c: frame[c].to_numpy() for c in frame.columns})


def _polars_monthly(path: Path, time_col: str, anc: Any, aggs: list[Any]) -> Any:
    """The file's rows mapped to their store and aggregated per store and month (lazy)."""
    import polars as pl

    return (
        pl.scan_parquet(path)
        .join(anc, on="unit_id")
        .with_columns(period_start=pl.col(time_col).dt.truncate("1mo"))
        .group_by("ancestor_id", "period_start")
        .agg(aggs)
    )


def _polars_aggs() -> list[Any]:
    import polars as pl

    survey = pl.col("channel") == "survey"

    def answers(q: str) -> Any:
        """Questions count survey responses only."""
        return pl.when(survey).then(pl.col(q))

    ltr, osat = answers(NPS), answers(CSAT)
    aggs = [
        pl.len().alias("feedback"),
        survey.sum().alias("responses"),
        ltr.count().alias("n"),
        (ltr >= 9).sum().alias("promoters"),
        (ltr <= 6).sum().alias("detractors"),
        osat.count().alias("n_csat"),
        (osat >= TOP2).sum().alias("top2"),
    ]
    for q in DRIVERS:
        col = answers(q)
        aggs += [col.count().alias(f"{q}_n"), col.sum().alias(f"{q}_sum")]
        aggs.append((col * col).sum().alias(f"{q}_sumsq"))
    return aggs


RUNNERS |= {
    "earnright": earnright_runner,
    "sql": sql_runner,
    "pandas": pandas_runner,
    "polars": polars_runner,
}


def finish(c: Arrays) -> pd.DataFrame:
    """earnright's output columns from sufficient statistics (same interval functions)."""
    from earnright.stats import nps_interval, wilson_interval

    start = np.asarray(c["period_start"]).astype("datetime64[us]")
    inv = np.asarray(c["invitations"], dtype=np.int64)
    n, p, d = (np.asarray(c[k], dtype=np.int64) for k in ("n", "promoters", "detractors"))
    out: dict[str, Any] = {
        "unit_id": c["unit_id"],
        "name": c["name"],
        "level": c["level"],
        "period": np.datetime_as_string(start.astype("datetime64[M]"), unit="M"),
        "period_start": start,
        "feedback": c["feedback"],
        "responses": c["responses"],
        "invitations": inv,
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        out["response_rate"] = np.where(inv > 0, c["responses"] / np.maximum(inv, 1), np.nan)
    out |= {"n": n, "promoters": p, "passives": n - p - d, "detractors": d}
    out["nps"], out["nps_low"], out["nps_high"] = nps_interval(p, d, n)
    out["n_csat"] = c["n_csat"]
    out["csat"], out["csat_low"], out["csat_high"] = wilson_interval(c["top2"], c["n_csat"])
    for q in DRIVERS:
        out |= _driver(c, q)
    return pd.DataFrame(out)


def _driver(c: Arrays, q: str) -> dict[str, Any]:
    from earnright.stats import mean_interval, mean_sd

    total = np.nan_to_num(np.asarray(c[f"{q}_sum"], dtype=np.float64))
    total_sq = np.nan_to_num(np.asarray(c[f"{q}_sumsq"], dtype=np.float64))
    mean, low, high = mean_interval(total, total_sq, c[f"{q}_n"])
    return {
        f"{q}_n": c[f"{q}_n"],
        f"{q}_mean": mean,
        f"{q}_sd": mean_sd(total, total_sq, c[f"{q}_n"]),
        f"{q}_low": np.clip(low, *DRIVER_SCALE),
        f"{q}_high": np.clip(high, *DRIVER_SCALE),
    }


# -- checking and reporting -----------------------------------------------------------------
def check_same(paths: dict[str, Path]) -> dict[str, Any]:
    """Every variant's numbers equal earnright's within 1e-9 (NaN where earnright has NaN)."""
    keys = ["unit_id", "period"]
    ref = pd.read_parquet(paths["earnright"]).sort_values(keys, ignore_index=True)
    numeric = [c for c in ref.columns if pd.api.types.is_numeric_dtype(ref[c])]
    report: dict[str, Any] = {"rows": len(ref), "columns_compared": numeric, "ok": True}
    for name, path in paths.items():
        other = pd.read_parquet(path).sort_values(keys, ignore_index=True)
        problems = _differences(ref, other, keys, numeric)
        report[name] = "; ".join(problems) or "same"
        report["ok"] &= not problems
    return report


def _differences(
    ref: pd.DataFrame, other: pd.DataFrame, keys: list[str], cols: list[str]
) -> list[str]:
    if len(ref) != len(other):
        return [f"{len(other)} rows, earnright has {len(ref)}"]
    missing = [c for c in ref.columns if c not in other.columns]
    extra = [c for c in other.columns if c not in ref.columns]
    if missing or extra:  # the scorecard's columns changed: the variants must follow
        return [f"columns missing: {missing}, columns earnright does not have: {extra}"]
    if not (ref[keys].astype(str).to_numpy() == other[keys].astype(str).to_numpy()).all():
        return ["different unit-periods"]
    problems = []
    for col in cols:
        a = ref[col].to_numpy(dtype=np.float64, na_value=np.nan)
        b = other[col].to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            problems.append(f"{col}: missing values differ")
        elif np.nanmax(np.abs(a - b), initial=0.0) > 1e-9:
            problems.append(f"{col}: max |diff| {np.nanmax(np.abs(a - b)):.3g}")
    return problems


def ratios(sc: dict[str, Any], stat: str = "median") -> dict[str, float]:
    med = {k: v[stat] for k, v in sc.items()}
    return {
        "earnright/sql": med["earnright"] / med["sql"],
        "pandas/earnright": med["pandas"] / med["earnright"],
        "polars/earnright": med["polars"] / med["earnright"],
    }


def _met(name: str, value: float) -> bool:
    return value <= 1.3 if name == "earnright/sql" else value > 1


def machine() -> dict[str, Any]:
    import duckdb
    import ibis
    import polars as pl
    import psutil
    import pyarrow as pa

    models = [ln for ln in _read("/proc/cpuinfo") if ln.startswith("model name")]
    cpu = models[0].split(":", 1)[1].strip() if models else platform.processor()
    return {
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "duckdb": duckdb.__version__,
            "ibis": ibis.__version__,
            "pandas": pd.__version__,
            "polars": pl.__version__,
            "pyarrow": pa.__version__,
            "numpy": np.__version__,
        },
        "git": _git(["rev-parse", "HEAD"]),
        "git_dirty_src": _git(["--no-optional-locks", "status", "--porcelain", "src"]),
    }


def _read(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _git(args: list[str]) -> str:
    """Read-only git queries (no index refresh), for the record."""
    try:
        out = subprocess.run(["git", *args], cwd=BENCH.parent, capture_output=True, text=True)
    except OSError:
        return ""
    return out.stdout.strip()


def table_lines(res: dict[str, Any]) -> list[str]:
    sc, rt = res["scorecard"], res["ratios"]
    lines = [
        "| variant | median s | min s | median CPU s | peak RSS MB | baseline RSS MB "
        "| × earnright | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in VARIANTS:
        v = sc[name]
        rel = v["median"] / sc["earnright"]["median"]
        lines.append(
            f"| {name} | {v['median']:.3f} | {v['min']:.3f} | {v['median_cpu']:.3f} "
            f"| {v['peak_rss_mb']:,.0f} | {v['baseline_rss_mb']:,.0f} | {rel:.2f} "
            f"| {v['load_before']:.1f} |"
        )
    lines += ["", "| ratio (of medians) | value | target | met | ratio of minimums |"]
    lines.append("|---|---:|---|---|---:|")
    for name, value in rt.items():
        lines.append(
            f"| {name} | {value:.2f} | {TARGETS[name]} | {_met(name, value)} "
            f"| {res['ratios_of_min'][name]:.2f} |"
        )
    return [*lines, "", *ingest_lines(res.get("ingest", {}))]


def ingest_lines(ingest: dict[str, Any]) -> list[str]:
    if not ingest:
        return ["ingest: skipped (--skip-ingest)"]
    lines = ["| ingest | rows | seconds | rows/s | peak RSS MB | load |"]
    lines.append("|---|---:|---:|---:|---:|---:|")
    for fmt, v in ingest.items():
        lines.append(
            f"| {fmt} ({v['file']}) | {v['rows']:,} | {v['seconds']:.1f} "
            f"| {v['rows_per_s']:,.0f} | {v['peak_rss_mb']:,.0f} | {v['load_before']:.1f} |"
        )
    return lines


def write_results(res: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scorecard.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
    p, m = res["parameters"], res["machine"]
    head = [
        "# Scorecard benchmark",
        "",
        f"{res['date']} · {p['rows']:,} feedback rows, {p['stores']:,} stores, 12 months, "
        f"{p['repeats']} repeats · {m['cpu_count']} CPUs ({m['cpu']}), {m['memory_gb']} GB · "
        f"Python {m['python']}, DuckDB {m['versions']['duckdb']}, Ibis {m['versions']['ibis']}, "
        f"pandas {m['versions']['pandas']}, polars {m['versions']['polars']}",
        "",
        "Store level, month grain, all periods; runs of the four variants interleaved "
        "round-robin. Peak RSS is the high-water mark (VmHWM) of the subprocess that ran the "
        "variant (imports and connection included; baseline = RSS before the first run). Load is "
        "the median 1-minute load average before each run (the machine is shared).",
        "",
    ]
    check = res["check"]
    agree = "agree" if check["ok"] else "DO NOT agree (see scorecard.json: check)"
    tail = ["", f"All four variants {agree} within 1e-9 on {check['rows']:,} unit-months."]
    tail.append(f"Whole run: {res['total_seconds']:.0f} s.")
    (RESULTS / "scorecard.md").write_text("\n".join(head + table_lines(res) + tail) + "\n")


# -- the run --------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000, help="feedback responses")
    ap.add_argument("--stores", type=int, default=5_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--csv-rows", type=int, default=None, help="rows of the CSV ingested (default: --rows)"
    )
    ap.add_argument(
        "--skip-ingest",
        action="store_true",
        help="reuse the scorecard workspace of an earlier run (no ingest timings)",
    )
    ap.add_argument(
        "--smoke",
        action="store_true",
        help=f"CI size ({SMOKE['rows']:,} rows, {SMOKE['stores']} stores, 1 repeat) in a "
        "temporary folder: checks that the run completes and the four variants agree; writes "
        "nothing under bench/",
    )
    ap.add_argument("--job", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.smoke:
        args.rows, args.stores, args.repeats = SMOKE["rows"], SMOKE["stores"], SMOKE["repeats"]
    return args


def run_ingest(ds: Dataset, ws: Path, skip: bool) -> dict[str, Any]:
    marker = ws / "bench-ingested.json"
    if skip and marker.exists():
        say("[2/4] ingest: skipped, reusing " + str(ws))
        return {}
    say("[2/4] ingest throughput (fresh workspace per file, own subprocess)")
    data, out = str(ds.dir), str(ds.dir / "job.json")
    parquet_file = str(ds.dir / "feedback.parquet")
    parquet = run_job(Job("ingest", data, str(ws), out, source=parquet_file, invitations=True))
    marker.write_text(json.dumps(parquet))
    csv_ws = ds.dir / "ws_csv"
    csv = run_job(Job("ingest", data, str(csv_ws), out, source=str(ds.csv)))
    shutil.rmtree(csv_ws, ignore_errors=True)
    return {"parquet": parquet, "csv": csv}


def run_scorecards(ds: Dataset, ws: Path, repeats: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """All variants open at once, each in its own subprocess; runs interleaved round-robin (the
    order rotating each round), so load from other processes hits every variant alike."""
    say(f"[3/4] scorecard, store × month, {repeats} interleaved runs per variant")
    outs = {name: ds.dir / f"job_{name}.json" for name in VARIANTS}
    workers = {n: Worker(Job(n, str(ds.dir), str(ws), str(outs[n]))) for n in VARIANTS}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    for r in range(repeats):
        for name in VARIANTS[r % 4 :] + VARIANTS[: r % 4]:
            load = os.getloadavg()[0]
            runs[name].append(workers[name].ask("run") | {"load": load})
            say(f"  round {r + 1}/{repeats} {name:<9} {runs[name][-1]['seconds']:6.2f} s")
    results = {name: summary(runs[name], workers[name].close()) for name in VARIANTS}
    return results, check_same({name: out.with_suffix(".parquet") for name, out in outs.items()})


def summary(runs: list[dict[str, Any]], worker: dict[str, Any]) -> dict[str, Any]:
    seconds, cpu = [r["seconds"] for r in runs], [r["cpu"] for r in runs]
    return worker | {
        "seconds": seconds,
        "median": statistics.median(seconds),
        "min": min(seconds),
        "cpu_seconds": cpu,
        "median_cpu": statistics.median(cpu),
        "load": [r["load"] for r in runs],
        "load_before": statistics.median(r["load"] for r in runs),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.job:
        job_main(Job(**json.loads(args.job)))
        return
    if not args.smoke:
        run(args)
        return
    global DATA, RESULTS  # a smoke run writes only into a temporary folder, removed after
    with tempfile.TemporaryDirectory(prefix="bench-scorecard-") as tmp:
        DATA, RESULTS = Path(tmp) / "data", Path(tmp) / "results"
        run(args)


def run(args: argparse.Namespace) -> None:
    started = time.monotonic()
    ds = Dataset(args.rows, args.stores, args.seed, min(args.csv_rows or args.rows, args.rows))
    say(f"[1/4] data: {ds.dir}")
    data = build_data(ds)
    ws = ds.dir / "ws_parquet"
    ingest = run_ingest(ds, ws, args.skip_ingest)
    scorecard, check = run_scorecards(ds, ws, args.repeats)
    res = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": vars(args) | {"csv_rows": ds.csv_rows},
        "machine": machine(),
        "data": data,
        "ingest": ingest,
        "scorecard": scorecard,
        "ratios": ratios(scorecard),
        "ratios_of_min": ratios(scorecard, "min"),
        "targets": TARGETS,
        "check": check,
        "total_seconds": time.monotonic() - started,
    }
    say("[4/4] results → " + str(RESULTS))
    write_results(res)
    print("\n".join(table_lines(res)))
    fail_if_different(check)


def fail_if_different(check: dict[str, Any]) -> None:
    if check["ok"]:
        say(f"check: all four variants agree within 1e-9 on {check['rows']:,} unit-months")
        return
    failed = {k: v for k, v in check.items() if k in VARIANTS and v != "same"}
    raise SystemExit(
        f"FAIL: the scorecards differ from earnright's: {failed}. Did the definition in "
        "src/earnright/listening/scorecard.py change? The other variants must follow it."
    )


if __name__ == "__main__":
    main()

"""bench/engines.py: its checks catch what they claim to, its DuckDB smoke run agrees with the
generator's tally, and the manifest helper it uses names the files it is given. (The smoke run
on both engines is in tests/bench/test_smoke.py with every other bench.)"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from earnright.warehouse.sparkstore import Store, attach_segments

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "engines.py"


def _engines() -> Any:
    spec = importlib.util.spec_from_file_location("bench_engines", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_engines"] = module
    spec.loader.exec_module(module)
    return module


def test_the_generator_writes_the_proportions_and_its_tally(tmp_path: Path) -> None:
    engines = _engines()
    counts = engines.generate(tmp_path / "d", 12_000, 3)
    assert counts["feedback"] == 12_000
    assert counts["stores"] == 12  # 1,000 responses a store, the demo's density
    assert counts["invitations"] == 15_000
    assert counts["transactions"] == 10_800  # 0.9 a response: the demo's 9, a tenth
    assert counts["metrics"] == 12 * 730  # one a store and day: 0.73 a response
    truth = pd.read_parquet(tmp_path / "d" / "truth.parquet")
    feedback = pd.read_parquet(tmp_path / "d" / "feedback")
    assert truth.n.sum() == feedback.ltr.notna().sum()
    # the planted shares: store 0 has promoters 30% and detractors 5%; store 1 has 67% promoters
    share = feedback.assign(p=feedback.ltr >= 9).groupby("unit_id").p.mean()
    assert share["S000000"] == pytest.approx(0.30 * 0.96, abs=0.05)
    assert abs(share["S000000"] - share["S000001"]) > 0.3
    assert engines.generate(tmp_path / "d", 12_000, 3) == counts  # cached: not written again


def _card(n: list[int]) -> pd.DataFrame:
    promoters = [x // 2 for x in n]
    detractors = [x // 4 for x in n]
    nps = [100 * (p - d) / x for p, d, x in zip(promoters, detractors, n, strict=True)]
    return pd.DataFrame(
        {
            "unit_id": ["S000000", "S000001"],
            "period": ["2025-01", "2025-01"],
            "n": n,
            "promoters": promoters,
            "detractors": detractors,
            "nps": nps,
        }
    )


def test_the_checks_catch_a_wrong_tally_and_engines_that_disagree(tmp_path: Path) -> None:
    engines = _engines()
    (tmp_path / "data").mkdir()
    _card([40, 30]).drop(columns="nps").to_parquet(tmp_path / "data" / "truth.parquet")
    out = tmp_path / "out"
    out.mkdir()
    _card([40, 30]).to_parquet(out / "scorecard-duckdb.parquet")
    _card([40, 30]).to_parquet(out / "scorecard-spark.parquet")
    passes = {"duckdb": ["scorecard"], "spark": ["scorecard"]}
    assert engines.check(out, tmp_path / "data", ["duckdb", "spark"], passes) == []
    off = _card([40, 30])
    off.loc[1, "nps"] += 1e-6
    off.to_parquet(out / "scorecard-spark.parquet")
    failures = engines.check(out, tmp_path / "data", ["duckdb", "spark"], passes)
    assert failures and "disagree: nps" in failures[0]
    _card([40, 31]).to_parquet(out / "scorecard-duckdb.parquet")
    failures = engines.check(out, tmp_path / "data", ["duckdb", "spark"], passes)
    assert any("generator's tally" in f for f in failures)


def test_crossover_follows_the_trend_of_the_ratio() -> None:
    engines = _engines()

    def size(n: int, duck: float, spark: float) -> dict[str, Any]:
        return {
            "responses": n,
            "engines": {
                "duckdb": {"passes": {"scorecard": {"wall_s": duck, "cpu_s": duck}}},
                "spark": {"passes": {"scorecard": {"wall_s": spark, "cpu_s": 1, "jvm_cpu_s": 1}}},
            },
        }

    # the ratio falls from 4 to 2 over a tenfold size: it reaches 1 at 10x more
    found = engines.crossover([size(10, 1.0, 4.0), size(100, 10.0, 20.0)])["scorecard"]
    assert found["crossover_responses"] == pytest.approx(1_000)
    assert found["spark_over_duckdb_cpu"] == {"10": 2.0, "100": 0.2}
    assert found["crossover_responses_cpu"] is None  # already below 1: nothing to reach
    flat = engines.crossover([size(10, 1.0, 4.0), size(100, 10.0, 80.0)])["scorecard"]
    assert flat["crossover_responses"] is None  # Spark falls further behind: no crossover
    # 8 to 7.9 over a tenfold size: the line meets 1 about 10^150 responses on, far beyond
    # anything measured, which is not reported as an estimate
    slow = engines.crossover([size(10, 1.0, 8.0), size(100, 10.0, 79.0)])["scorecard"]
    assert slow["crossover_responses"] is None and slow["beyond"]
    assert "wall time, by the trend, equal only beyond 100x" in engines.ratio_line("s", slow)


def test_attach_segments_names_the_files_in_one_commit(tmp_path: Path) -> None:
    root = tmp_path / "wh"
    store = Store(root)
    with store.locks.held():
        store.begin()
        store.create("feedback", [["response_id", "string"], ["ltr", "float64"]])
        old = store.write_arrow("feedback", pa.table({"response_id": ["a"], "ltr": [1.0]}))
        store.set("feedback", {**store.entry("feedback"), "segments": [old]})
        store.commit()
    files = tmp_path / "files"
    files.mkdir()
    attach_segments(root, "feedback", [files])
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["tables"]["feedback"]["segments"] == [str(files.resolve())]
    assert [r[0] for r in manifest["retired"]] == [old]  # kept for readers, then deleted
    assert Store(root).paths("feedback") == [str(files.resolve())]
    with pytest.raises(Exception, match="no table"):
        attach_segments(root, "nothing", [files])
    assert json.loads((root / "manifest.json").read_text())["version"] == manifest["version"]


@pytest.mark.slow
def test_the_duckdb_smoke_run_matches_the_generators_tally() -> None:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "bench")])}
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--engines", "duckdb"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "check: scorecard equals the generator's tally" in proc.stderr

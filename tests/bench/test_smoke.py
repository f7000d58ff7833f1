"""Every benchmark runs: each bench's ``--smoke`` size, as CI runs it, completes (exit 0) and
its variants agree (each bench checks its own and prints a ``check:`` line), writing nothing
under bench/. A benchmark that does not run is a claim nobody can check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
HELPERS = {"demo_cache.py", "planted_companies.py", "report_compare.py"}  # shared modules, tools
# (nabscore/: a package)
PENDING = {
    "report_passes.py"
}  # benches whose smoke run is still to come (it needs a finished demo)
DEMO_BENCHES = {"ranking", "focus", "early_warning"}  # these share one cached demo company


def _scripts() -> list[Path]:
    return sorted(p for p in BENCH.glob("*.py") if p.name not in HELPERS)


def _has_smoke(script: Path) -> bool:
    text = script.read_text()  # demo benches get --smoke from demo_cache.add_folder_options
    return '"--smoke"' in text or "add_folder_options(parser" in text


SMOKED = [p.stem for p in _scripts() if _has_smoke(p)]
REAL_DATA = {"nab": SHARED_DATA / "nab"}  # benches that read ../shared/data


def test_every_bench_has_a_smoke_run() -> None:
    missing = [p.name for p in _scripts() if not _has_smoke(p) and p.name not in PENDING]
    assert missing == [], f"give these benches a --smoke size that CI runs: {missing}"
    assert {"scorecard", "ranking", "focus", "early_warning", "localize"} <= set(SMOKED)


def _outputs() -> dict[str, float]:
    """What a bench could have written under bench/: results and cached data, with mtimes."""
    found = {}
    for folder in (BENCH / "results", BENCH / "data"):
        if folder.is_dir():
            found |= {str(p): p.stat().st_mtime for p in folder.iterdir()}
    return found


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demos")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.realdata) if n in REAL_DATA else n for n in SMOKED],
)
def test_smoke_run_completes_and_its_variants_agree(name: str, demos: Path) -> None:
    if name in REAL_DATA and not REAL_DATA[name].is_dir():
        pytest.skip(f"{REAL_DATA[name]} is absent (public data beside the project)")
    before = _outputs()
    extra = ["--data", str(demos)] if name in DEMO_BENCHES else []
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(BENCH)])}
    proc = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--smoke", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = proc.stderr[-3000:]
    assert proc.returncode == 0, f"bench/{name}.py --smoke exited {proc.returncode}:\n{tail}"
    assert "\ncheck: " in "\n" + proc.stderr, f"bench/{name}.py printed no check line:\n{tail}"
    assert _outputs() == before, f"bench/{name}.py --smoke wrote under bench/"

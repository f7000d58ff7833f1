"""A process killed with SIGKILL mid-ingest leaves no partial batch; a re-run completes exactly.

On every backend. The child reads in chunks of ``CHUNK`` rows, so the file crosses several
chunks (as a production file of a few million rows crosses 250,000-row ones) at a quarter of
the time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from earnright.config import Config
from earnright.ingest import ingest_file
from earnright.workspace import find_workspace, init_workspace
from tests.conftest import UNITS_CSV, with_url

ROWS = 150_000
CHUNK = 50_000  # three chunks, like 600,000 rows in production's 250,000

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from earnright.ingest import batch, ingest_file, readers
    from earnright.warehouse import Warehouse
    from earnright.workspace import find_workspace

    mode, root, path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    readers.CHUNK_ROWS = int(sys.argv[4])
    batch.WRITE_ROWS = int(sys.argv[4])  # each chunk written as it is read
    ws = find_workspace(root)
    if mode == "commit":  # die inside the commit transaction, after the rows went in
        original = Warehouse.insert
        def insert(self, table, data):
            if table == "batches":
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, table, data)
        Warehouse.insert = insert
    def progress(done, total):
        if done > total // 2:
            print("halfway", flush=True)
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "transactions", path, progress=progress)
    print("finished", flush=True)
    """
)


def _big_file(path: Path) -> int:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(ROWS)],
            "customer_id": rng.integers(0, 50_000, ROWS).astype(str),
            "unit_id": rng.choice(["S1", "S2", "S3", "S404"], ROWS, p=[0.4, 0.3, 0.29, 0.01]),
            "occurred_at": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(rng.integers(0, 10**7, ROWS), "s"),
            "amount": rng.gamma(2.0, 10.0, ROWS).round(2),
        }
    )
    frame.to_csv(path, index=False)
    return int((frame.unit_id != "S404").sum())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["staging", "commit"])
def test_sigkill_leaves_no_partial_batch(tmp_path: Path, warehouse_url: str, mode: str) -> None:
    ws = init_workspace(tmp_path / "ws", with_url(Config(), warehouse_url))
    (tmp_path / "units.csv").write_text(UNITS_CSV)
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", tmp_path / "units.csv")
    path = tmp_path / "transactions.csv"
    good = _big_file(path)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, str(ws.root), str(path), str(CHUNK)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    if mode == "staging":
        assert child.stdout.readline().strip() == "halfway"
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=300)
    assert child.returncode == -signal.SIGKILL

    ws = find_workspace(ws.root)
    with ws.warehouse() as wh:
        assert wh.count("transactions") == 0
        assert wh.count("quarantine") == 0
        assert list(wh.table("batches").kind.execute()) == ["units"]
        result = ingest_file(wh, ws.config, "transactions", path)
        assert (result.accepted, result.quarantined) == (good, ROWS - good)
        assert wh.count("transactions") == good
        assert not [t for t in wh.list_tables() if t.startswith("_stage_")]

"""The Spark warehouse's storage: immutable Parquet segments named by one manifest.

Each table is a schema and a list of segment directories of Parquet files under ``data/``; the
manifest (``manifest.json`` in the warehouse directory) names every table's schema and segments.
Files are never changed once written. A transaction writes new segments to fresh directories
(an append adds one; an UPDATE or DELETE rewrites the table into one), keeps the manifest it is
building in memory, and commits by replacing ``manifest.json`` in one ``os.replace``: a reader
sees the old manifest or the new one, never a mix, and a process killed before the replace leaves
the old state (its new directories, named by no manifest, are swept by the next writer).

Writers serialise on an exclusive ``flock`` of ``.lock`` (one per process and directory,
re-entrant), and re-read the manifest when they take it. Segments a commit stops naming are
retired, and deleted by a later commit once :data:`RETIRE_SECONDS` have passed, so a reader
still scanning the previous manifest does not lose its files.

Nothing here imports pyspark: this is files and JSON only.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from earnright.errors import WarehouseError

__all__ = ["MANIFEST", "RETIRE_SECONDS", "Store", "arrow_type", "attach_segments"]

MANIFEST = "manifest.json"
RETIRE_SECONDS = 600.0  # retired segments outlive the manifest that named them this long
COMPACT_SEGMENTS = 64  # an append to a table with this many segments rewrites it first

_ARROW = {
    "string": pa.string(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
    "int8": pa.int8(),
    "int32": pa.int32(),
}


def arrow_type(dtype: str) -> pa.DataType:
    """The Arrow (and Parquet) type a column of Ibis type ``dtype`` is stored as."""
    return _ARROW[dtype]


@dataclass
class _Locks:
    """A re-entrant process-wide writer lock on one directory (``flock`` across processes)."""

    path: Path
    mutex: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    fd: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self.mutex:
            if self.depth == 0:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0 and self.fd is not None:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
                    os.close(self.fd)
                    self.fd = None


_LOCKS: dict[Path, _Locks] = {}
_LOCKS_MUTEX = threading.Lock()


def _locks(root: Path) -> _Locks:
    with _LOCKS_MUTEX:
        return _LOCKS.setdefault(root, _Locks(root / ".lock"))


def _running(pid: str) -> bool:
    """Whether the process ``pid`` (a staging directory's name) still runs."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


class Store:
    """The manifest and segment files of one warehouse directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.locks = _locks(root)
        root.mkdir(parents=True, exist_ok=True)
        self.state = self.read()
        self.pending: dict[str, Any] | None = None  # the manifest a transaction builds
        self.written: list[str] = []  # segments this transaction wrote
        self.stages: dict[str, dict[str, Any]] = {}  # never in the manifest

    # -- the manifest -------------------------------------------------------------------
    def read(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.exists():
            return {"version": 0, "tables": {}, "retired": []}
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return state

    def stamp(self) -> int:
        """The committed manifest's modification time (ns): changes with every commit."""
        try:
            return (self.root / MANIFEST).stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    @property
    def current(self) -> dict[str, Any]:
        """The manifest as this connection sees it (a transaction's own, inside one)."""
        return self.pending if self.pending is not None else self.state

    def entry(self, name: str) -> dict[str, Any]:
        if name in self.stages:
            return dict(self.stages[name])
        if name not in self.current["tables"]:
            raise WarehouseError(f"the Spark warehouse {self.root} has no table {name}")
        return dict(self.current["tables"][name])

    def names(self) -> list[str]:
        return sorted(self.current["tables"]) + sorted(self.stages)

    # -- transactions -------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self.pending is not None

    def begin(self) -> None:
        self.state = self.read()  # another process may have committed
        self.pending = copy.deepcopy(self.state)
        self.written = []

    def savepoint(self) -> tuple[dict[str, Any], int]:
        assert self.pending is not None
        return copy.deepcopy(self.pending), len(self.written)

    def restore(self, saved: tuple[dict[str, Any], int]) -> None:
        """Back to a savepoint: its manifest, and the segments written since deleted."""
        self.pending, count = copy.deepcopy(saved[0]), saved[1]
        for seg in self.written[count:]:
            shutil.rmtree(self.root / seg, ignore_errors=True)
        del self.written[count:]

    def rollback(self) -> None:
        self.pending = None
        for seg in self.written:
            shutil.rmtree(self.root / seg, ignore_errors=True)
        self.written = []

    def commit(self) -> None:
        """Write the new manifest beside the old and replace it in one atomic rename."""
        assert self.pending is not None
        new = self.pending
        before = {s for t in self.state["tables"].values() for s in t["segments"]}
        after = {s for t in new["tables"].values() for s in t["segments"]}
        now = time.time()
        retired = [r for r in new.get("retired", []) if r[0] not in after]
        retired += [[s, now] for s in sorted(before - after)]
        expired = [r for r in retired if now - r[1] > RETIRE_SECONDS]
        new["retired"] = [r for r in retired if r not in expired]
        new["version"] = int(self.state["version"]) + 1
        self.replace_manifest(new)
        self.state, self.pending, self.written = new, None, []
        for seg, _ in expired:
            shutil.rmtree(self.root / seg, ignore_errors=True)

    def replace_manifest(self, state: dict[str, Any]) -> None:
        tmp = self.root / f".{MANIFEST}.{uuid.uuid4().hex}"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(state, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.root / MANIFEST)  # the commit point
        dirfd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)

    def sweep(self) -> list[str]:
        """Delete segment directories no manifest names (a killed writer's; under the lock)."""
        state = self.read()
        named = {s for t in state["tables"].values() for s in t["segments"]}
        named |= {r[0] for r in state.get("retired", [])}
        gone: list[str] = []
        data = self.root / "data"
        for table_dir in data.iterdir() if data.exists() else ():
            for seg in table_dir.iterdir():
                rel = f"data/{table_dir.name}/{seg.name}"
                if rel not in named:
                    shutil.rmtree(seg, ignore_errors=True)
                    gone.append(rel)
        for tmp in self.root.glob(f".{MANIFEST}.*"):
            tmp.unlink(missing_ok=True)
        for owner in (self.root / "stage").glob("*"):  # staging of processes no longer running
            if not _running(owner.name):
                shutil.rmtree(owner, ignore_errors=True)
        return gone

    # -- tables -------------------------------------------------------------------------
    def create(self, name: str, columns: list[list[str]], *, stage: bool = False) -> None:
        if stage:
            self.stages[name] = {"columns": columns, "segments": []}
        else:
            self.current["tables"][name] = {"columns": columns, "segments": []}

    def drop(self, name: str, *, missing_ok: bool) -> None:
        """Drop a table (its segments retire at the commit)."""
        if name not in self.current["tables"]:
            if missing_ok:
                return
            raise WarehouseError(f"the Spark warehouse {self.root} has no table {name}")
        del self.current["tables"][name]

    def drop_stage(self, name: str) -> None:
        entry = self.stages.pop(name, None)
        for seg in entry["segments"] if entry else ():
            shutil.rmtree(self.root / seg, ignore_errors=True)

    def set(self, name: str, entry: dict[str, Any]) -> None:
        if name in self.stages:
            self.stages[name] = entry
        else:
            self.current["tables"][name] = entry

    def new_segment(self, name: str) -> tuple[str, Path]:
        """A fresh directory for a segment of ``name`` (relative name, absolute path)."""
        base = f"stage/{os.getpid()}" if name in self.stages else "data"
        rel = f"{base}/{name}/{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:12]}"
        if name not in self.stages:
            self.written.append(rel)
        return rel, self.root / rel

    def write_arrow(self, name: str, data: pa.Table) -> str:
        """Write ``data`` (columns named as the table's, any subset) as a new segment."""
        entry = self.entry(name)
        types = {c: arrow_type(t) for c, t in entry["columns"]}
        unknown = [c for c in data.column_names if c not in types]
        if unknown:
            raise KeyError(f"{name} has no column(s) {unknown}")
        fields = [pa.field(c, types[c]) for c in data.column_names]
        data = data.cast(pa.schema(fields))
        rel, path = self.new_segment(name)
        path.mkdir(parents=True)
        pq.write_table(data, path / "part-00000.parquet")
        return rel

    def paths(self, name: str) -> list[str]:
        return [str(self.root / s) for s in self.entry(name)["segments"]]


# -- attaching Parquet files written elsewhere (bench/engines.py) ------------------------------
def attach_segments(root: Path, table: str, segments: list[Path]) -> None:
    """Make ``table`` of the warehouse at ``root`` exactly the Parquet files of ``segments``
    (directories anywhere, named in the manifest by absolute path), in one commit under the
    writer lock. The files must hold the table's columns with its types (any missing column
    reads as null). They then belong to the warehouse: a later rewrite of the table (an UPDATE,
    DELETE or compaction) retires them, and a later commit deletes them. The engine benchmark
    uses this to run DuckDB and Spark on the same files without copying them."""
    store = Store(root)
    with store.locks.held():
        store.begin()
        try:
            entry = store.entry(table)
            entry["segments"] = [str(Path(p).resolve()) for p in segments]
            store.set(table, entry)
            store.commit()
        except BaseException:
            store.rollback()
            raise

"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, a free port.

The cluster trusts every local connection, listens on 127.0.0.1 only, and is built for speed
(no fsync): it holds nothing worth keeping. ``scripts/postgres.sh`` installs the server binaries
(Debian package ``postgresql``); without them :func:`find_binaries` raises with that advice.
When the tests run as root the server runs as the ``postgres`` OS user, who owns the folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

__all__ = ["Cluster", "find_binaries", "start_cluster"]

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb) not found under {root}/*/bin; "
    "install them with `scripts/postgres.sh` (as root; `make unit` runs it)"
)
SERVER_USER = "postgres"


def find_binaries(root: Path = Path("/usr/lib/postgresql")) -> Path:
    """The bin folder of the newest PostgreSQL installed; RuntimeError naming the fix if none."""
    found = sorted(
        root.glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError(INSTALL_HINT.format(root=root))
    return found[-1].parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bin_dir: Path
    data_dir: Path
    port: int
    as_root: bool
    _databases: int = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t", template: str | None = None) -> str:
        """Create a database and return its URL: empty, or a copy of the ``template`` database
        (by name; nobody may be connected to it), which is much faster than building it."""
        self._databases += 1
        name = f"{prefix}_{self._databases}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def stop(self) -> None:
        try:
            _run(self, "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _run(cluster: Cluster, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(cluster.bin_dir / tool), *args]
    if cluster.as_root:  # the server refuses to run as root
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done


def start_cluster() -> Cluster:
    """initdb and start a cluster in a new temporary folder on a free port."""
    bin_dir = find_binaries()
    as_root = os.geteuid() == 0
    top = Path(tempfile.mkdtemp(prefix="earnright-pg-"))
    data_dir = top / "data"
    if as_root:
        try:
            shutil.chown(top, user=SERVER_USER)
        except LookupError:
            shutil.rmtree(top, ignore_errors=True)
            raise RuntimeError(
                f"no '{SERVER_USER}' OS user to run the server as; the Debian package creates "
                "it: run `scripts/postgres.sh`"
            ) from None
    cluster = Cluster(bin_dir, data_dir, 0, as_root)
    try:
        _run(cluster, "initdb", "-D", str(data_dir), "--auth=trust", "-U", SERVER_USER)
        for attempt in range(3):  # another process may take the free port first
            cluster.port = _free_port()
            options = (
                f"-p {cluster.port} -k {top} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            log = str(top / "server.log")
            try:
                _run(
                    cluster, "pg_ctl", "-D", str(data_dir), "-o", options, "-l", log, "-w", "start"
                )
                break
            except RuntimeError as exc:
                if attempt == 2:
                    text = Path(log).read_text() if Path(log).exists() else ""
                    raise RuntimeError(f"{exc}\nserver log:\n{text}") from exc
                time.sleep(0.2)
    except BaseException:
        shutil.rmtree(top, ignore_errors=True)
        raise
    return cluster

"""A real PostgreSQL server for the warehouse tests: one throwaway cluster per session.

Without the server binaries the PostgreSQL tests fail (never skip): CI installs them with
``scripts/postgres.sh``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import Cluster, start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    problem = ""
    try:
        cluster = start_cluster()
    except RuntimeError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(f"cannot start a PostgreSQL server for the tests: {problem}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A new, empty database: ``postgresql://postgres@127.0.0.1:PORT/DB``."""
    return pg_cluster.create_database()

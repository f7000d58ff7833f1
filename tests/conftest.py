"""Shared fixtures: small workspaces with known content; every warehouse backend; the policy
for ``../shared/data``.

Tests marked ``realdata`` read ``../shared/data`` and skip, saying so, where it is absent. Where
the data must be there (CI: the Makefile's ``unit`` target sets ``EARNRIGHT_REQUIRE_DATA=1``), such
a skip is a failure instead, so a moved or missing data set cannot pass unnoticed.

**Backends.** A test that asks for the ``backend`` fixture (directly, or a module with
``pytestmark = pytest.mark.usefixtures("backend")``) runs once per backend in :data:`BACKENDS`,
and its ``workspace`` / ``wh`` live on that backend; other tests stay on DuckDB. Where a backend
lacks a capability the test says so explicitly, and the run expects the failure (strict: a pass
is reported, so the marker goes when the capability comes)::

    @pytest.mark.notimpl(["duckdb"], raises=duckdb.Error, reason="no savepoints")  # not yet
    @pytest.mark.never(["duckdb"], raises=..., reason="one writer per file")  # by design

PostgreSQL runs on one throwaway server per session (tests/postgres.py); without the server
binaries those tests fail, never skip (CI installs them with ``scripts/postgres.sh``). Spark runs
one local session per test session (``local[2]``), each warehouse a directory in its workspace;
without pyspark those tests fail too (CI installs the ``spark`` extra).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from earnright.config import Config
from earnright.warehouse import Warehouse, connect
from earnright.workspace import Workspace, init_workspace
from tests.postgres import Cluster, start_cluster

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REQUIRE_DATA = "EARNRIGHT_REQUIRE_DATA"
BACKENDS = ("duckdb", "postgres", "spark")  # every warehouse backend; the first is the reference
# Spark: a local session on two cores, its warehouse directory inside the workspace (one JVM per
# test session: the dialect keeps one Spark context per process); without pyspark the Spark runs
# fail, naming the extra (CI installs it)
SPARK_URL = "spark:///spark-warehouse?master=local[2]"
CAPABILITY_MARKS = ("notimpl", "never")
try:  # what a Spark statement raises (pyspark is the spark extra's)
    from pyspark.errors import PySparkException as SPARK_ERROR
except ImportError:  # the Spark runs fail anyway, naming the extra
    SPARK_ERROR = Exception  # type: ignore[assignment,misc]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``notimpl`` / ``never`` markers become strict xfails on the backends they name."""
    for item in items:
        backend = _backend_of(item)
        for mark in item.iter_markers():
            if mark.name not in CAPABILITY_MARKS:
                continue
            names, reason, raises = mark.args[0], mark.kwargs["reason"], mark.kwargs["raises"]
            unknown = set(names) - set(BACKENDS)
            if backend is None or unknown:
                raise pytest.UsageError(
                    f"{item.nodeid}: @{mark.name} needs the backend fixture and backends among "
                    f"{BACKENDS} (unknown: {sorted(unknown)})"
                )
            if backend in names:
                why = f"{mark.name} on {backend}: {reason}"
                item.add_marker(pytest.mark.xfail(raises=raises, reason=why, strict=True))


def _backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("backend") if callspec is not None else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """With EARNRIGHT_REQUIRE_DATA=1, a ``realdata`` test that skips fails instead."""
    outcome = yield
    report = outcome.get_result()
    required = os.environ.get(REQUIRE_DATA, "") not in ("", "0")
    skipped = call.excinfo is not None and call.excinfo.errisinstance(pytest.skip.Exception)
    if required and skipped and report.skipped and item.get_closest_marker("realdata"):
        reason = call.excinfo.value.msg if call.excinfo is not None else ""
        report.outcome = "failed"
        report.longrepr = f"{REQUIRE_DATA}=1 and this test needs ../shared/data: {reason}"


UNITS_CSV = """unit_id,name,level,parent_id
C,Acme,company,
R1,North,region,C
R2,South,region,C
D1,North One,district,R1
D2,South One,district,R2
S1,Store 1,store,D1
S2,Store 2,store,D1
S3,Store 3,store,D2
"""


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the session, started when a test first needs it."""
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


@pytest.fixture(scope="session")
def pg_migrated(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The name of a database holding the migrated, empty schema: a template for workspaces."""
    url = pg_cluster.create_database("migrated")
    connect(url, tmp_path_factory.mktemp("pg")).close()
    return url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def spark_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Spark warehouse directory holding the migrated, empty schema: a template for
    workspaces (migrating costs a minute of small Spark jobs; a copy, milliseconds)."""
    base = tmp_path_factory.mktemp("spark")
    connect(SPARK_URL, base).close()
    return base / "spark-warehouse"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The warehouse backend of this run of the test (one run per backend)."""
    return str(request.param)


def database_url(backend: str, request: pytest.FixtureRequest, prefix: str = "t") -> str:
    """The URL of a new, empty warehouse on ``backend`` (DuckDB: relative to a workspace)."""
    if backend == "postgres":
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        return cluster.create_database(prefix)
    if backend == "spark":
        return SPARK_URL
    return "duckdb:///earnright.duckdb"


@pytest.fixture
def new_warehouse_url(backend: str, request: pytest.FixtureRequest) -> Callable[[], str]:
    """Makes URLs of new, empty warehouses on ``backend``, for tests that need several."""
    return lambda: database_url(backend, request)


@pytest.fixture
def warehouse_url(new_warehouse_url: Callable[[], str]) -> str:
    """The URL of a new, empty warehouse on ``backend``."""
    return new_warehouse_url()


def with_url(config: Config, url: str) -> Config:
    """``config`` with its warehouse at ``url``."""
    return config.model_copy(update={"warehouse": config.warehouse.model_copy(update={"url": url})})


@pytest.fixture
def workspace(tmp_path: Path, request: pytest.FixtureRequest) -> Workspace:
    """An empty workspace (and ``units.csv`` beside it); on the test's ``backend`` if it has one."""
    config = None
    if "backend" in request.fixturenames:
        url = "duckdb:///earnright.duckdb"
        if request.getfixturevalue("backend") == "postgres":  # a copy of the migrated schema
            cluster: Cluster = request.getfixturevalue("pg_cluster")
            url = cluster.create_database(template=request.getfixturevalue("pg_migrated"))
        if request.getfixturevalue("backend") == "spark":  # a copy of the migrated directory
            url = SPARK_URL
            shutil.copytree(
                request.getfixturevalue("spark_migrated"), tmp_path / "ws" / "spark-warehouse"
            )
        config = with_url(Config(), url)
    ws = init_workspace(tmp_path / "ws", config)
    (tmp_path / "units.csv").write_text(UNITS_CSV)
    return ws


@pytest.fixture
def wh(workspace: Workspace) -> Iterator[Warehouse]:
    from earnright.ingest import ingest_file

    with workspace.warehouse() as warehouse:
        ingest_file(warehouse, workspace.config, "units", workspace.root.parent / "units.csv")
        yield warehouse


@pytest.fixture
def config(workspace: Workspace) -> Config:
    return workspace.config

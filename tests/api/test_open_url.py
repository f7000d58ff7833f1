"""``open_workspace(URL)``: a workspace opened from its warehouse URL alone, on every backend,
with the config stored in the warehouse (else the defaults), and a clear error when the URL
lacks what opening it needs."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

import earnright
from earnright.config import Config, load_config, render_config
from earnright.errors import WorkspaceError
from earnright.warehouse import connect
from earnright.workspace import CONFIG_TABLE, ENV_VAR, init_workspace, is_url
from tests.api.conftest import same
from tests.conftest import UNITS_CSV, database_url, with_url


def _company(url: str, name: str = "Acme Pharmacy") -> Config:
    return with_url(
        Config.model_validate(
            {"company": {"name": name, "currency": "EUR"}, "listening": {"min_n": 7}}
        ),
        url,
    )


@pytest.fixture
def made(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """A workspace folder with a config of its own and 8 units, and the URL of its warehouse
    (an absolute one for DuckDB and Spark)."""
    url = database_url(backend, request)
    _spark_copy(backend, request, tmp_path / "dir")
    ws = init_workspace(tmp_path / "dir", _company(url))
    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV)
    earnright.open_workspace(ws.root).ingest("units", units)
    if url.startswith("duckdb"):
        url = f"duckdb:///{ws.root / 'earnright.duckdb'}"  # duckdb:////abs/path
    if url.startswith("spark"):
        url = f"spark:///{ws.root / 'spark-warehouse'}?master=local[2]"  # spark:////abs/path
    return ws.root, url


def _spark_copy(backend: str, request: pytest.FixtureRequest, root: Path) -> None:
    """On Spark, the workspace's warehouse starts from a copy of the migrated directory."""
    if backend == "spark":
        shutil.copytree(request.getfixturevalue("spark_migrated"), root / "spark-warehouse")


def test_a_url_opens_the_workspace_with_its_stored_config(
    made: tuple[Path, str], backend: str
) -> None:
    root, url = made
    by_folder, by_url = earnright.open_workspace(root), earnright.open_workspace(url)
    assert by_url.config.company.name == "Acme Pharmacy" and by_url.config.listening.min_n == 7
    expected = by_folder.config.model_copy(update={"warehouse": by_url.config.warehouse})
    assert by_url.config == expected and by_url.config.warehouse.url == url
    assert repr(by_url).startswith(f"<Workspace {url[:6]}")  # duckdb, postgr(esql), spark:
    assert by_url.status().to_dict()["tables"] == by_folder.status().to_dict()["tables"]
    assert by_url.status().to_dict()["tables"]["units"] == 8


def test_save_config_updates_what_the_url_opens(made: tuple[Path, str], backend: str) -> None:
    root, url = made
    path = root / "earnright.toml"
    edited = _company(load_config(path).warehouse.url, "Acme Renamed")
    path.write_text(render_config(edited))
    assert earnright.open_workspace(url).config.company.name == "Acme Pharmacy"
    earnright.open_workspace(root).save_config()
    assert earnright.open_workspace(url).config.company.name == "Acme Renamed"


def test_without_a_stored_config_the_url_opens_with_the_defaults(
    made: tuple[Path, str], backend: str
) -> None:
    root, url = made
    with earnright.open_workspace(root).warehouse(read_only=False) as wh:
        wh.execute_sql(f"DELETE FROM {CONFIG_TABLE}")  # as a warehouse from before migration 6
    opened = earnright.open_workspace(url)
    assert opened.config == with_url(Config(), url)
    assert opened.status().to_dict()["tables"]["units"] == 8


def test_the_stored_config_holds_no_warehouse_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = database_url(backend, request)
    secret = url.replace("postgres@", "postgres:s3cret@") if backend == "postgres" else url
    _spark_copy(backend, request, tmp_path / "ws")
    ws = init_workspace(tmp_path / "ws", with_url(Config(), secret))
    with ws.warehouse(read_only=True) as wh:
        stored = wh.table(CONFIG_TABLE).config.execute()
    assert len(stored) == 1 and "s3cret" not in stored[0] and "earnright.duckdb" in stored[0]


def test_an_empty_database_is_no_workspace(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "postgres":
        url = database_url(backend, request)
    elif backend == "spark":  # a directory holding no manifest
        url = f"spark:///{tmp_path / 'empty'}?master=local[2]"
    else:
        duckdb.connect(str(tmp_path / "empty.duckdb")).close()
        url = f"duckdb:///{tmp_path / 'empty.duckdb'}"
    with pytest.raises(WorkspaceError, match="holds no earnright warehouse") as caught:
        earnright.open_workspace(url)
    assert caught.value.argument == "workspace"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("duckdb://", "names no database file"),
        ("duckdb:///:memory:", "names no database file"),
        ("duckdb:///nowhere/x.duckdb", "no DuckDB file at "),
        ("postgresql://user:pw@127.0.0.1:1", "names no database: give postgresql://"),
        ("postgres://127.0.0.1/", "names no database"),
    ],
)
def test_a_url_that_lacks_what_is_needed(url: str, words: str) -> None:
    with pytest.raises(WorkspaceError, match=words) as caught:
        earnright.open_workspace(url)
    assert caught.value.argument == "workspace" and ":pw@" not in str(caught.value)


def test_a_relative_duckdb_url_that_meant_an_absolute_path_says_so(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    path = ws.root / "earnright.duckdb"
    with pytest.raises(WorkspaceError, match=f"for {path}, write duckdb:////"):
        earnright.open_workspace(f"duckdb://{path}")  # duckdb:///tmp/…: relative to the cwd
    with connect(f"duckdb:///{path}", tmp_path, read_only=True) as wh:
        assert wh.schema_version() > 0
    assert is_url("postgresql://h/db") and not is_url("some/folder") and not is_url("C:\\x")


def test_the_command_line_opens_a_url_too(
    made: tuple[Path, str], backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.api.conftest import cli

    root, url = made
    expected = earnright.open_workspace(root).status().to_dict()
    assert not same(cli("status", "-w", url), expected)
    monkeypatch.setenv(ENV_VAR, url)
    assert earnright.open_workspace().config.company.name == "Acme Pharmacy"
    assert not same(cli("status"), expected)

"""A workspace: a directory with ``earnright.toml`` and (by default) its DuckDB warehouse, or a
warehouse URL whose config is stored in the warehouse itself.

Every command finds it from the folder it is given (``--workspace``), else
``EARNRIGHT_WORKSPACE``, else the current directory, and says clearly when none is there.
:func:`open_url` opens one from its warehouse URL alone (``postgresql://user@host/db``,
``duckdb:///file.duckdb``): the config :func:`store_config` saved there (``init`` saves it),
else the defaults.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from earnright.config import CONFIG_FILE, Config, load_config, render_config, validate_config
from earnright.errors import ConfigError, WorkspaceError
from earnright.warehouse import Warehouse, connect, redact_url
from earnright.warehouse.dialect import DuckDB, Postgres, dialect_for

__all__ = [
    "CONFIG_TABLE",
    "ENV_VAR",
    "Workspace",
    "find_workspace",
    "init_workspace",
    "is_url",
    "open_url",
    "store_config",
    "stored_config",
]

ENV_VAR = "EARNRIGHT_WORKSPACE"
CONFIG_TABLE = "workspace_config"
CONFIG_ROW = CONFIG_FILE  # the one row's name


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: Config
    url: str | None = None  # opened from this warehouse URL: no config file, relative paths at root

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def where(self) -> str:
        """The folder, or the warehouse URL (password hidden) it was opened from."""
        return redact_url(self.url) if self.url is not None else str(self.root)

    def warehouse(self, *, read_only: bool = False) -> Warehouse:
        settings = self.config.warehouse
        return connect(
            settings.url, self.root, read_only=read_only, memory_limit=settings.memory_limit
        )


def find_workspace(explicit: Path | None = None) -> Workspace:
    """The workspace named by ``explicit``, else $EARNRIGHT_WORKSPACE, else the current dir."""
    if explicit is not None:
        root, how = explicit, "the folder given"
    elif os.environ.get(ENV_VAR):
        root, how = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    else:
        root, how = Path.cwd(), "the current directory"
    root = root.expanduser().resolve()
    if not (root / CONFIG_FILE).is_file():
        raise WorkspaceError(
            f"no earnright workspace at {root} (from {how}): {CONFIG_FILE} is missing. "
            f"Create one with `earnright init {root}`, or name a folder that holds one (or set "
            f"${ENV_VAR}).",
            argument="workspace",
        )
    return Workspace(root, load_config(root / CONFIG_FILE))


def init_workspace(root: Path, config: Config | None = None) -> Workspace:
    """Create a workspace: a commented config and an empty, migrated warehouse holding a copy
    of the config (:func:`store_config`)."""
    root = root.expanduser().resolve()
    path = root / CONFIG_FILE
    if path.exists():
        raise WorkspaceError(f"{path} already exists; a workspace is already here")
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(render_config(config or Config()), encoding="utf-8")
    workspace = Workspace(root, load_config(path))
    with workspace.warehouse() as wh:
        store_config(wh, workspace.config)
    return workspace


def is_url(text: str | Path) -> bool:
    """Whether ``text`` is a URL (``scheme://…``) rather than a folder."""
    return isinstance(text, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text) is not None


def store_config(wh: Warehouse, config: Config) -> None:
    """Save ``config`` in the warehouse (replacing the copy there), without its warehouse URL:
    the URL that opens the warehouse is where it is, and may hold a password."""
    kept = config.model_copy(update={"warehouse": type(config.warehouse)()})
    text = json.dumps(kept.model_dump(mode="json"), sort_keys=True)
    now = datetime.now(UTC).replace(tzinfo=None)
    with wh.transaction():
        wh.delete(CONFIG_TABLE, {"name": CONFIG_ROW})
        wh.insert(CONFIG_TABLE, {"name": [CONFIG_ROW], "config": [text], "updated_at": [now]})


def stored_config(wh: Warehouse) -> Config | None:
    """The config saved in the warehouse, or None when none is (an older warehouse)."""
    if CONFIG_TABLE not in wh.list_tables():
        return None
    table = wh.table(CONFIG_TABLE)
    rows = table.filter(table.name == CONFIG_ROW).config.execute()
    if len(rows) == 0:
        return None
    source = f"the config stored in {redact_url(wh.url)}"
    try:
        data = json.loads(rows.iloc[0])
    except ValueError as exc:
        raise ConfigError(f"{source}: not valid JSON ({exc})") from exc
    return validate_config(data, source)


def open_url(url: str) -> Workspace:
    """The workspace whose warehouse is at ``url``, with the config stored there (else the
    defaults). A DuckDB file's relative paths are under its folder; otherwise under the
    current directory. WorkspaceError when the URL names no database, the file is not there,
    or the database holds no earnright warehouse."""
    root = _url_base(url)
    with connect(url, root, read_only=True) as wh:
        if wh.schema_version() == 0:
            raise WorkspaceError(
                f"{redact_url(url)} holds no earnright warehouse (no schema_migrations table). "
                "Create one with `earnright init DIR` after setting [warehouse] url in "
                "DIR/earnright.toml to it.",
                argument="workspace",
            )
        config = stored_config(wh) or Config()
    settings = config.warehouse.model_copy(update={"url": url})
    return Workspace(root, config.model_copy(update={"warehouse": settings}), url=url)


def _url_base(url: str) -> Path:
    """The folder relative paths of a workspace opened from ``url`` are under; WorkspaceError
    when the URL lacks what opening it needs."""
    dialect, shown = dialect_for(url), redact_url(url)
    if dialect is DuckDB:
        rest = url.split("://", 1)[1]
        if rest.strip("/") in ("", ":memory:") or rest.startswith(":memory:"):
            raise WorkspaceError(
                f"{shown} names no database file: give duckdb:///FILE (relative to the current "
                "directory) or duckdb:////ABSOLUTE/PATH",
                argument="workspace",
            )
        path = DuckDB.path_of(url, Path.cwd()).resolve()
        if not path.is_file():
            absolute = Path("/" + rest.lstrip("/"))
            hint = f" (for {absolute}, write duckdb:///{absolute})" if absolute.is_file() else ""
            raise WorkspaceError(f"{shown}: no DuckDB file at {path}{hint}", argument="workspace")
        return path.parent
    if dialect is Postgres and not urlsplit(url).path.strip("/"):
        raise WorkspaceError(
            f"{shown} names no database: give postgresql://USER@HOST:PORT/DATABASE",
            argument="workspace",
        )
    return Path.cwd().resolve()

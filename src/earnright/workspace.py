"""A workspace: a directory with ``earnright.toml`` and (by default) its DuckDB warehouse.

Every command finds it from the folder it is given (``--workspace``), else
``EARNRIGHT_WORKSPACE``, else the current directory, and says clearly when none is there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from earnright.config import CONFIG_FILE, Config, load_config, render_config
from earnright.errors import WorkspaceError
from earnright.warehouse import Warehouse, connect

__all__ = ["ENV_VAR", "Workspace", "find_workspace", "init_workspace"]

ENV_VAR = "EARNRIGHT_WORKSPACE"


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: Config

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

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
    """Create a workspace: a commented config and an empty, migrated warehouse."""
    root = root.expanduser().resolve()
    path = root / CONFIG_FILE
    if path.exists():
        raise WorkspaceError(f"{path} already exists; a workspace is already here")
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(render_config(config or Config()), encoding="utf-8")
    workspace = Workspace(root, load_config(path))
    workspace.warehouse().close()
    return workspace

"""``earnright serve``, ``earnright users add|list|disable`` and ``earnright tokens create``."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from earnright.cli.common import WorkspaceOpt, open_workspace, say
from earnright.cli.output import write_json
from earnright.errors import QueryError

users_group = typer.Typer(
    help="People who sign in to earnright serve: add them with a role, list, disable.",
    no_args_is_help=True,
)
tokens_group = typer.Typer(
    help="API tokens for earnright serve: each carries its user's scope.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_group, name="users")
    app.add_typer(tokens_group, name="tokens")


def serve(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    refresh: Annotated[
        float, typer.Option(help="Seconds a page may lag new data before it is recomputed.")
    ] = 30.0,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes (PostgreSQL only; they share sessions, tokens and the "
            "sign-in limit through the warehouse).",
        ),
    ] = 1,
) -> None:
    """Serve the report's pages and the REST API to signed-in people, each within their scope."""
    import os

    import uvicorn

    from earnright.serve.app import REFRESH_VARIABLE, WORKSPACE_VARIABLE, create_app

    ws = open_workspace(workspace)
    app = create_app(ws, refresh=refresh)
    options: dict[str, Any] = {"host": host, "port": port, "proxy_headers": True}
    options |= {"forwarded_allow_ips": "127.0.0.1", "log_level": "warning"}
    if app.state.services.single:
        if workers > 1:
            raise QueryError(
                "--workers needs PostgreSQL: a DuckDB warehouse is served by one process "
                "(docs/serve.md)",
                argument="workers",
            )
        say(
            "DuckDB warehouse: this one server process serves it (another earnright command "
            "on the same file may find it busy); for several users, use PostgreSQL "
            "(docs/serve.md)."
        )
    say(f"Serving {ws.config.company.name} on http://{host}:{port}/ with {workers} "
        f"process(es); a unit's page is computed when first asked and kept until the data "
        "change. Ctrl-C stops.")  # fmt: skip
    if workers == 1:
        uvicorn.run(app, workers=1, **options)
        return
    os.environ[WORKSPACE_VARIABLE], os.environ[REFRESH_VARIABLE] = str(ws.root), str(refresh)
    uvicorn.run("earnright.serve.app:app_from_environment", factory=True, workers=workers,
                **options)  # fmt: skip


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_group.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The name they sign in with.")],
    role: Annotated[
        str, typer.Option(help="admin, executive, manager, owner or analyst (docs/serve.md).")
    ],
    unit: Annotated[
        str | None, typer.Option(help="A manager's unit: they see it and every unit below.")
    ] = None,
    moment: Annotated[
        list[str] | None, typer.Option(help="An owner's journey moment (repeat for several).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a person who signs in to the server, with their role and scope."""
    from earnright.serve.users import add_user
    from earnright.units import read_units

    ws = open_workspace(workspace)
    moments = list(moment or [])
    unknown = [m for m in moments if m not in ws.config.journey.moment_ids()]
    if unknown:
        raise QueryError(f"'{unknown[0]}' is not a journey moment", argument="moment")
    password = _password(password_stdin)
    with ws.warehouse(read_only=False) as wh:
        if unit is not None and unit not in set(read_units(wh).unit_id):
            raise QueryError(f"no unit '{unit}' in the units table", argument="unit")
        add_user(wh, name, role, password, unit, moments)
    say(f"Added {name} ({role})")


class UsersFormat(StrEnum):
    table = "table"
    json = "json"


@users_group.command("list")
def list_users(
    workspace: WorkspaceOpt = None,
    fmt: Annotated[UsersFormat, typer.Option("--format", "-f", help="table or json.")] = (
        UsersFormat.table
    ),
) -> None:
    """Every person who can sign in (or could: disabled ones show when)."""
    from earnright.serve.users import list_users as read

    ws = open_workspace(workspace)
    with ws.warehouse() as wh:
        rows = read(wh)
    if fmt is UsersFormat.json:
        write_json([{k: (str(v) if v is not None else None) for k, v in r.items()} for r in rows],
                   None)  # fmt: skip
        return
    for r in rows:
        state = f"disabled {r['disabled_at']:%Y-%m-%d}" if r["disabled_at"] else "active"
        scope = r["unit_id"] or r["moments"] or "everything"
        typer.echo(f"{r['user_name']}\t{r['role']}\t{scope}\t{state}")


@users_group.command("disable")
def disable(
    name: Annotated[str, typer.Argument(help="The person to disable.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Disable a person: they cannot sign in, and their sessions and tokens end."""
    from earnright.serve.users import disable_user

    with open_workspace(workspace).warehouse(read_only=False) as wh:
        disable_user(wh, name)
    say(f"Disabled {name}")


@tokens_group.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The person the token signs in as.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Create an API token for a person and print it (once: only its hash is kept)."""
    from earnright.serve.users import create_token

    with open_workspace(workspace).warehouse(read_only=False) as wh:
        token = create_token(wh, name)
    typer.echo(token)
    say(f"Send it as 'Authorization: Bearer {token[:8]}…'; it carries {name}'s scope.")

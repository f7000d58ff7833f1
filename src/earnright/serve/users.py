"""People who sign in to the server, their API tokens, sessions and the audit log.

Passwords are hashed with argon2id (memory-hard; argon2-cffi's defaults). API tokens and
session ids are 256-bit random secrets: only their SHA-256 is stored (a secret that long needs
no slow hash), so a copy of the warehouse holds nothing that signs anyone in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from earnright.errors import QueryError
from earnright.serve.scope import ROLES, Role
from earnright.warehouse import Warehouse, sql_value

__all__ = [
    "add_user",
    "audit",
    "check_password",
    "create_token",
    "digest",
    "disable_user",
    "end_session",
    "find_session",
    "find_token_user",
    "get_user",
    "list_users",
    "read_audit",
    "start_session",
]

HASHER = PasswordHasher()
# A hash of a random password: checked when the user does not exist, so a failed sign-in
# takes as long whether or not the name exists.
DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
USER_COLUMNS = ("user_name", "role", "unit_id", "moments", "disabled_at", "created_at")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_user(
    wh: Warehouse, name: str, role: str, password: str, unit: str | None, moments: list[str]
) -> None:
    """Add ``name`` (QueryError naming the argument when the role, unit or moments do not fit
    the role, or the name is taken)."""
    if role not in ROLES:
        raise QueryError(f"'{role}' is not a role: one of {', '.join(ROLES)}", argument="role")
    if role == Role.manager and not unit:
        raise QueryError("a manager needs the unit whose subtree they see", argument="unit")
    if role != Role.manager and unit:
        raise QueryError(f"only a manager has a unit, not a {role}", argument="unit")
    if role == Role.owner and not moments:
        raise QueryError("an owner needs at least one moment", argument="moment")
    if role != Role.owner and moments:
        raise QueryError(f"only an owner has moments, not a {role}", argument="moment")
    if len(password) < 8:
        raise QueryError("the password needs at least 8 characters", argument="password")
    if get_user(wh, name, active_only=False) is not None:
        raise QueryError(f"there is already a user '{name}'", argument="name")
    row: dict[str, Any] = {"user_name": name, "role": role, "unit_id": unit}
    row["moments"] = ",".join(moments)
    row |= {"password_hash": HASHER.hash(password), "disabled_at": None, "created_at": now()}
    wh.insert("users", {k: [v] for k, v in row.items()})


def get_user(wh: Warehouse, name: str, active_only: bool = True) -> dict[str, Any] | None:
    t = wh.table("users")
    t = t.filter(t.user_name == name)
    if active_only:
        t = t.filter(t.disabled_at.isnull())
    rows = t.to_pyarrow().to_pylist()
    return rows[0] if rows else None


def list_users(wh: Warehouse) -> list[dict[str, Any]]:
    t = wh.table("users").select(*USER_COLUMNS).order_by("user_name")
    return list(t.to_pyarrow().to_pylist())


def disable_user(wh: Warehouse, name: str) -> None:
    """Disable ``name``: they can no longer sign in, and their tokens and sessions end."""
    if get_user(wh, name) is None:
        raise QueryError(f"no active user '{name}'", argument="name")
    with wh.transaction():
        wh.update("users", {"user_name": name}, {"disabled_at": now()})
        wh.delete("sessions", {"user_name": name})
        wh.update("api_tokens", {"user_name": name, "revoked_at": None}, {"revoked_at": now()})


def check_password(wh: Warehouse, name: str, password: str) -> dict[str, Any] | None:
    """The user when ``password`` is theirs (and they are active), else None."""
    user = get_user(wh, name)
    try:
        HASHER.verify(user["password_hash"] if user else DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def create_token(wh: Warehouse, name: str) -> str:
    """A new API token for ``name`` (shown once; only its hash is kept)."""
    if get_user(wh, name) is None:
        raise QueryError(f"no active user '{name}'", argument="name")
    token = "ert_" + secrets.token_urlsafe(32)
    row: dict[str, Any] = {"token_id": secrets.token_hex(6), "user_name": name}
    row["token_hash"] = digest(token)
    row |= {"created_at": now(), "revoked_at": None}
    wh.insert("api_tokens", {k: [v] for k, v in row.items()})
    return token


def _user_with(wh: Warehouse, table: str, where: str, extra: str = "") -> tuple[Any, ...] | None:
    """The active user a row of ``table`` (alias ``x``) matching ``where`` names, with the
    row's ``extra`` column: one query joining the two (a request's sign-in check)."""
    columns = ", ".join(f'u."{c}"' for c in USER_COLUMNS[:4])
    rows = wh.fetch(
        f"SELECT {columns}{', x.' + extra if extra else ''} FROM {table} x JOIN users u "
        f"ON u.user_name = x.user_name WHERE {where} AND u.disabled_at IS NULL LIMIT 1"
    )
    return rows[0] if rows else None


def find_token_user(wh: Warehouse, token: str) -> dict[str, Any] | None:
    found = _user_with(
        wh, "api_tokens", f"x.token_hash = {sql_value(digest(token))} AND x.revoked_at IS NULL"
    )
    return dict(zip(USER_COLUMNS[:4], found, strict=True)) if found else None


def start_session(wh: Warehouse, name: str, hours: float) -> tuple[str, str]:
    """A new session for ``name``: (the cookie's secret, the session's CSRF token)."""
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    row: dict[str, Any] = {"session_hash": digest(secret), "user_name": name, "csrf": csrf}
    row |= {"created_at": now(), "expires_at": now() + timedelta(hours=hours)}
    wh.insert("sessions", {k: [v] for k, v in row.items()})
    return secret, csrf


def find_session(wh: Warehouse, secret: str) -> tuple[dict[str, Any], str] | None:
    """(the user, the session's CSRF token) of a live session, else None."""
    where = f"x.session_hash = {sql_value(digest(secret))} AND x.expires_at > {sql_value(now())}"
    found = _user_with(wh, "sessions", where, "csrf")
    if found is None:
        return None
    return dict(zip(USER_COLUMNS[:4], found[:4], strict=True)), str(found[4])


def end_session(wh: Warehouse, secret: str) -> None:
    wh.delete("sessions", {"session_hash": digest(secret)})


def audit(wh: Warehouse, user: str, event: str, obj: str, detail: str, address: str) -> None:
    """Append one line to the audit log (sign-ins, failed sign-ins, decisions)."""
    row: dict[str, Any] = {"at": now(), "user_name": user, "event": event, "object": obj}
    row["detail"] = detail
    wh.insert("audit_log", {k: [v] for k, v in (row | {"address": address}).items()})


def read_audit(wh: Warehouse, limit: int = 100) -> list[dict[str, Any]]:
    t = wh.table("audit_log").order_by([wh.table("audit_log").at.desc()]).limit(limit)
    return list(t.to_pyarrow().to_pylist())

"""Who is asking: a session cookie (pages) or a Bearer token (API), CSRF and sign-in limits.

Sessions live in the warehouse (``sessions``: the SHA-256 of the cookie's secret), so every
server process on one PostgreSQL database shares them. The cookie is HttpOnly, SameSite=Lax,
and Secure whenever the request reached the server over HTTPS (directly, or through a reverse
proxy on 127.0.0.1 that sets ``X-Forwarded-Proto``). Every form carries the session's CSRF
token; an API write signed in by cookie sends it as ``X-CSRF-Token``; a Bearer token needs none
(a browser never sends one on its own).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request

from earnright.serve import users
from earnright.serve.scope import Scope
from earnright.serve.services import NotAllowed, Services
from earnright.warehouse import Warehouse, sql_value

__all__ = [
    "COOKIE",
    "Caller",
    "LoginLimiter",
    "SignInNeeded",
    "caller_of",
    "check_csrf",
    "client_address",
]

COOKIE = "earnright_session"
SESSION_HOURS = 12.0


class SignInNeeded(Exception):
    """No valid session or token: pages redirect to the sign-in page, the API answers 401."""


@dataclass(frozen=True)
class Caller:
    scope: Scope
    csrf: str | None  # the session's token; None when signed in by Bearer token


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def caller_of(request: Request) -> Caller:
    """The signed-in person of ``request`` (SignInNeeded when there is none)."""
    services: Services = request.app.state.services
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        with services.warehouse() as wh:
            user = users.find_token_user(wh, header[7:].strip())
        if user is None:
            raise SignInNeeded("the token is unknown or revoked")
        return Caller(services.scope(user), None)
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise SignInNeeded("not signed in")
    with services.warehouse() as wh:
        found = users.find_session(wh, secret)
    if found is None:
        raise SignInNeeded("the session has ended")
    return Caller(services.scope(found[0]), found[1])


def check_csrf(caller: Caller, sent: str | None) -> None:
    """A write signed in by cookie must carry the session's CSRF token."""
    if caller.csrf is None:
        return
    if not sent or not hmac.compare_digest(sent, caller.csrf):
        raise NotAllowed("the form's CSRF token is missing or wrong; reload the page")


class LoginLimiter:
    """At most ``attempts`` failed sign-ins per ``window`` seconds per address and per name.

    The failures counted are the audit log's (``sign-in failed``, written by every sign-in
    that fails), in the warehouse: every server process on one database shares the count, so
    running several uvicorn workers does not multiply the attempts an attacker gets."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window

    def wait(self, wh: Warehouse, address: str, name: str) -> float:
        """Seconds until another attempt is allowed (0: now)."""
        now = users.now()
        since = sql_value(now - timedelta(seconds=self.window))
        waits = []
        for column, value in (("address", address), ("user_name", name)):
            ((count, first),) = wh.fetch(
                "SELECT COUNT(*), MIN(\"at\") FROM audit_log WHERE event = 'sign-in failed' "
                f'AND "{column}" = {sql_value(value)} AND "at" > {since}'
            )
            if count >= self.attempts and first is not None:
                waits.append(self.window - (now - first).total_seconds())
        return max(waits, default=0.0)

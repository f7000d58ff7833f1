"""Sign-in, sessions and tokens: argon2 hashes, cookie flags, CSRF on every form and cookie
write, the sign-in limit, the audit log, and the command line that manages people."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from earnright.cli import app as cli_app
from earnright.errors import QueryError
from earnright.serve.app import create_app
from earnright.serve.users import list_users, read_audit
from tests.serve.conftest import PASSWORD, Planted, sign_in


def test_passwords_are_stored_as_argon2id_hashes(planted: Planted) -> None:
    with planted.ws.warehouse() as wh:
        t = wh.table("users").to_pyarrow().to_pylist()
        tokens = wh.table("api_tokens").to_pyarrow().to_pylist()
    assert all(r["password_hash"].startswith("$argon2id$") for r in t)
    assert not any(PASSWORD in r["password_hash"] for r in t)
    stored = {r["token_hash"] for r in tokens}
    assert not set(planted.tokens.values()) & stored


def test_session_cookie_flags_and_secure_behind_tls(app: Any) -> None:
    client = TestClient(app)
    got = sign_in(client, "analyst")
    cookie = got.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    tls = TestClient(app, base_url="https://testserver")
    assert "Secure" in sign_in(tls, "analyst").headers["set-cookie"]


def test_every_form_needs_its_csrf_token(app: Any, planted: Planted) -> None:
    client = TestClient(app)
    client.get("/login")
    forged = client.post("/login", data={"name": "admin", "password": PASSWORD, "csrf": "x"},
                         follow_redirects=False)  # fmt: skip
    assert "earnright_session" not in forged.headers.get("set-cookie", "")
    assert sign_in(client, "admin").status_code == 303
    body = {"issue": planted.issues["store:own"], "action": "no token"}
    assert client.post("/api/v1/decisions", json=body).status_code == 403
    form = client.post("/decisions", data={"issue": body["issue"], "action": "x"})
    assert form.status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    page = client.get("/decisions").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    made = client.post("/api/v1/decisions", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201


def test_sign_in_is_rate_limited_and_audited(planted: Planted) -> None:
    server = create_app(planted.ws, refresh=3600, login_attempts=3)
    client = TestClient(server)
    for _ in range(3):
        assert "problem" in sign_in(client, "executive", "wrong password").headers["location"]
    limited = sign_in(client, "executive")  # the right password, too late
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    with planted.ws.warehouse() as wh:
        events = [(a["user_name"], a["event"]) for a in read_audit(wh, 200)]
    assert events.count(("executive", "sign-in failed")) >= 3
    assert ("executive", "sign-in refused") in events


def test_decisions_through_the_server_are_audited(app: Any, planted: Planted) -> None:
    client = TestClient(app, headers={"Authorization": f"Bearer {planted.tokens['owner']}"})
    body = {"issue": planted.issues["moment:own"], "action": "more staff at the tills"}
    made = client.post("/api/v1/decisions", json=body).json()
    with planted.ws.warehouse() as wh:
        audit = read_audit(wh, 500)
    assert {"user_name": "owner", "event": "decision", "object": made["decision_id"]}.items() <= {
        k: v for a in audit if a["object"] == made["decision_id"] for k, v in a.items()
    }.items()


def test_security_headers_and_no_open_redirect(app: Any) -> None:
    client = TestClient(app)
    page = client.get("/login?next=//evil.example/")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'name="next" value="/"' in page.text


def test_users_and_tokens_on_the_command_line(planted: Planted) -> None:
    where = str(planted.ws.root)
    run = CliRunner()
    added = run.invoke(cli_app, ["users", "add", "dana", "--role", "manager", "--unit",
                                 planted.other_district, "--password-stdin", "--workspace",
                                 where], input="a long password\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    bad = run.invoke(cli_app, ["users", "add", "eve", "--role", "manager", "--password-stdin",
                               "--workspace", where], input="a long password\n")  # fmt: skip
    assert isinstance(bad.exception, QueryError) and bad.exception.argument == "unit"
    token = run.invoke(cli_app, ["tokens", "create", "dana", "--workspace", where])
    assert token.exit_code == 0
    server = create_app(planted.ws, refresh=3600)
    client = TestClient(server, headers={"Authorization": f"Bearer {token.stdout.strip()}"})
    assert client.get(f"/api/v1/units/{planted.other_store}").status_code == 200
    assert client.get(f"/api/v1/units/{planted.own_store}").status_code == 404
    assert run.invoke(cli_app, ["users", "disable", "dana", "--workspace", where]).exit_code == 0
    assert client.get("/api/v1/me").status_code == 401
    with planted.ws.warehouse() as wh:
        assert any(u["user_name"] == "dana" and u["disabled_at"] for u in list_users(wh))

"""Alert delivery against real local servers: HTTP webhooks, SMTP, retries, policy, crashes."""

from __future__ import annotations

import email
import email.policy
import json
import math
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from earnright.config import Config, Delivery
from earnright.delivery import (
    MESSAGE_ID_HEADER,
    DeliveryFailed,
    OutboxMessage,
    TargetRefused,
    check_address,
    compose_email,
    deliver_pending,
    enqueue_messages,
    incident_payload,
    post_webhook,
    resolve_webhook,
    retry_delay,
    send_webhook_message,
    targets,
)
from earnright.errors import DeliveryError, EarnrightError
from earnright.warehouse import Warehouse
from earnright.workspace import Workspace, find_workspace, init_workspace

NOW = datetime(2026, 8, 8, 9, 0)
TEAM = "pharmacy-operations"
INCIDENT: dict[str, Any] = {
    "id": "inc-rx_on_time-2026-08-06",
    "moment": "rx_pickup",
    "indicator": "rx_on_time",
    "metric": "rx_fill_minutes",
    "segment": "district=D007&daypart=evening",
    "status": "open",
    "severity": "page",
    "owner": TEAM,
    "started_at": "2026-08-06T00:00:00",
    "detected_at": "2026-08-07T00:00:00",
    "customers_affected": 41,
    "revenue_at_risk": 12_310.0,
    "revenue_at_risk_low": 8_140.0,
    "revenue_at_risk_high": 16_880.0,
}


# -- real local servers ---------------------------------------------------------------------


class _Recorder(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records every request and answers from a plan."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.plan: list[tuple[int, dict[str, str]]] = []  # answers in order, then 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: _Recorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append(
            {"path": self.path, "headers": dict(self.headers.items()), "body": body}
        )
        status, headers = self.server.plan.pop(0) if self.server.plan else (200, {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


class _SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.messages: list[dict[str, Any]] = []


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    server: _SMTPServer

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def _read_data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)  # undo dot-stuffing
        return b"".join(lines)

    def handle(self) -> None:
        self._reply("220 test SMTP ready")
        sender, recipients = "", list[str]()
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("HELO", "EHLO"):
                self._reply("250 test")
            elif verb == "MAIL":
                sender, recipients = command[10:].strip(), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command[8:].strip())
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                data = self._read_data()
                self.server.messages.append({"from": sender, "to": recipients, "data": data})
                self._reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


def _serve(server: socketserver.BaseServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


@pytest.fixture
def http_server() -> Iterator[Callable[[], _Recorder]]:
    started: list[_Recorder] = []

    def start() -> _Recorder:
        server = _Recorder()
        _serve(server)
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp_server() -> Iterator[_SMTPServer]:
    server = _SMTPServer()
    _serve(server)
    yield server
    server.shutdown()
    server.server_close()


def _config(
    webhooks: list[str] | None = None, email: list[str] | None = None, **delivery: Any
) -> Config:
    return Config.model_validate(
        {
            "journey": {
                "stages": [
                    {
                        "id": "collect",
                        "name": "I collect my prescription",
                        "moments": [{"id": "rx_pickup", "name": "Prescription pickup"}],
                    }
                ]
            },
            "owners": {TEAM: {"webhooks": webhooks or [], "email": email or []}},
            "delivery": {"allow_private": True, **delivery},
        }
    )


@pytest.fixture
def make_ws(tmp_path: Path) -> Callable[..., Workspace]:
    def make(*args: Any, **kwargs: Any) -> Workspace:
        return init_workspace(tmp_path / "ws", _config(*args, **kwargs))

    return make


def _enqueue(wh: Warehouse, config: Config, event: str = "opened", **changes: Any) -> int:
    with wh.transaction():
        return enqueue_messages(wh, config, {**INCIDENT, **changes}, event, now=NOW)


def _outbox(wh: Warehouse) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = wh.table("outbox").order_by("target").to_pyarrow().to_pylist()
    return rows


# -- the payload ------------------------------------------------------------------------------


def test_payload_reads_as_one_line_and_carries_the_incident() -> None:
    payload = incident_payload({**INCIDENT, "moment_name": "Prescription pickup"}, "opened")
    assert payload["text"] == (
        "[opened] Prescription pickup: rx_on_time broken for district=D007&daypart=evening "
        "since 2026-08-06 — 41 customers, $12,300 at risk (8,140–16,900)"
    )
    assert payload["event"] == "opened"
    assert payload["incident"]["id"] == INCIDENT["id"]
    assert payload["incident"]["revenue_at_risk"] == 12_310.0
    section = payload["blocks"][0]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "district=D007&amp;daypart=evening" in section["text"]["text"]  # Slack escaping
    assert any("*Segment*" in f["text"] for f in section["fields"])
    assert json.loads(json.dumps(payload)) == payload


def test_payload_of_a_resolved_incident_without_estimates() -> None:
    incident = {
        **INCIDENT,
        "segment": "",
        "status": "resolved",
        "started_at": pd.Timestamp("2026-08-06 14:00"),
        "customers_affected": None,
        "revenue_at_risk": np.float64("nan"),
        "revenue_at_risk_low": None,
        "revenue_at_risk_high": None,
    }
    payload = incident_payload(incident, "resolved")
    assert payload["text"] == (
        "[resolved] rx_pickup: rx_on_time recovered for all customers "
        "(broken since 2026-08-06 14:00 UTC)"
    )
    assert payload["incident"]["started_at"] == "2026-08-06T14:00:00"
    assert payload["incident"]["revenue_at_risk"] is None
    json.dumps(payload)  # numpy and pandas values were made JSON-ready
    with pytest.raises(ValueError, match="event must be one of"):
        incident_payload(INCIDENT, "exploded")


def test_email_subject_is_the_line_and_body_has_the_details() -> None:
    subject, body = compose_email(incident_payload(INCIDENT, "updated"))
    assert subject.startswith("[updated] rx_pickup: rx_on_time broken")
    assert "customers affected: 41" in body and "segment: district=D007&daypart=evening" in body


# -- the outbox -------------------------------------------------------------------------------


def test_enqueue_is_idempotent_and_one_row_per_target(make_ws: Callable[..., Workspace]) -> None:
    ws = make_ws(
        ["https://hooks.example.com/a", "https://hooks.example.com/b"], ["lead@example.com"]
    )
    with ws.warehouse() as wh:
        assert _enqueue(wh, ws.config) == 3
        assert _enqueue(wh, ws.config) == 0  # the same event twice is one row per target
        rows = _outbox(wh)
        assert sorted(r["channel"] for r in rows) == ["email", "webhook", "webhook"]
        assert sorted(r["target"] for r in rows) == [
            "https://hooks.example.com/a",
            "https://hooks.example.com/b",
            "lead@example.com",
        ]
        assert {(r["status"], r["attempts"], r["next_attempt_at"]) for r in rows} == {
            ("pending", 0, NOW)
        }
        payload = json.loads(rows[0]["payload"])
        assert payload["text"].startswith("[opened] Prescription pickup:")  # name from config
        # an update with new numbers is a new message; the same update again is not
        assert _enqueue(wh, ws.config, "updated", customers_affected=50) == 3
        assert _enqueue(wh, ws.config, "updated", customers_affected=50) == 0
        assert _enqueue(wh, ws.config, "updated", customers_affected=60) == 3
        assert _enqueue(wh, ws.config, "resolved", status="resolved") == 3
        assert wh.count("outbox") == 12


def test_enqueue_without_targets_and_inside_a_rolled_back_transaction(
    make_ws: Callable[..., Workspace],
) -> None:
    ws = make_ws(["https://hooks.example.com/a"])
    with ws.warehouse() as wh:
        assert _enqueue(wh, ws.config, owner="nobody") == 0
        assert _enqueue(wh, _config()) == 0  # the team has no webhooks and no email
        with pytest.raises(RuntimeError), wh.transaction():
            assert enqueue_messages(wh, ws.config, INCIDENT, "opened", now=NOW) == 1
            raise RuntimeError("the incident write failed")
        assert wh.count("outbox") == 0


# -- webhooks to a real server ----------------------------------------------------------------


def test_webhook_posts_the_json_payload(
    make_ws: Callable[..., Workspace], http_server: Callable[[], _Recorder]
) -> None:
    server = http_server()
    ws = make_ws([server.url])
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        report = deliver_pending(wh, ws.config, now=NOW)
        assert report.to_dict()["delivered"] == 1 and report.retrying == 0
        (row,) = _outbox(wh)
        assert deliver_pending(wh, ws.config, now=NOW).delivered == 0  # delivered once only
    (request,) = server.requests
    assert request["path"] == "/hook"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"][MESSAGE_ID_HEADER] == row["message_id"]
    body = json.loads(request["body"])
    assert {"text", "blocks", "incident", "event"} <= set(body)
    assert body["incident"]["id"] == INCIDENT["id"]
    assert (row["status"], row["attempts"], row["delivered_at"]) == ("delivered", 1, NOW)
    assert len(server.requests) == 1


def test_failures_are_retried_with_exponential_backoff(
    make_ws: Callable[..., Workspace], http_server: Callable[[], _Recorder]
) -> None:
    server = http_server()
    server.plan = [(500, {}), (500, {})]
    ws = make_ws([server.url], backoff_seconds=30, max_attempts=5)
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        assert deliver_pending(wh, ws.config, now=NOW).retrying == 1
        (row,) = _outbox(wh)
        first = row["next_attempt_at"] - NOW
        assert first == retry_delay(row["message_id"], 1, 30)
        assert timedelta(seconds=30) <= first < timedelta(seconds=37.5)
        assert row["attempts"] == 1 and "HTTP 500" in row["last_error"]
        early = deliver_pending(wh, ws.config, now=row["next_attempt_at"] - timedelta(seconds=1))
        assert early.to_dict() == {**early.to_dict(), "delivered": 0, "retrying": 0}
        assert len(server.requests) == 1  # not due yet: not sent
        t1 = row["next_attempt_at"]
        assert deliver_pending(wh, ws.config, now=t1).retrying == 1
        (row,) = _outbox(wh)
        second = row["next_attempt_at"] - t1
        assert timedelta(seconds=60) <= second < timedelta(seconds=75)
        t2 = row["next_attempt_at"]
        assert deliver_pending(wh, ws.config, now=t2).delivered == 1
        (row,) = _outbox(wh)
    assert (row["status"], row["attempts"], row["delivered_at"]) == ("delivered", 3, t2)
    assert len(server.requests) == 3


def test_retry_delay_doubles_with_bounded_deterministic_jitter() -> None:
    ids = [f"msg-{i}" for i in range(200)]
    for attempts in (1, 2, 5):
        base = 10.0 * 2 ** (attempts - 1)
        delays = [retry_delay(m, attempts, 10.0).total_seconds() for m in ids]
        assert all(base <= d < 1.25 * base for d in delays)
        assert np.std(delays) > 0.05 * base  # messages that failed together spread out
    assert retry_delay("msg-1", 3, 10.0) == retry_delay("msg-1", 3, 10.0)
    assert retry_delay("msg-1", 60, 10.0) == timedelta(days=1)  # capped


def test_redirect_is_not_followed(
    make_ws: Callable[..., Workspace], http_server: Callable[[], _Recorder]
) -> None:
    elsewhere = http_server()
    server = http_server()
    server.plan = [(302, {"Location": elsewhere.url})]
    ws = make_ws([server.url])
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        report = deliver_pending(wh, ws.config, now=NOW)
        (row,) = _outbox(wh)
    assert report.retrying == 1 and report.delivered == 0
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "redirect" in row["last_error"] and elsewhere.url in row["last_error"]
    assert len(server.requests) == 1 and elsewhere.requests == []


def test_after_max_attempts_the_message_is_failed_and_kept(
    make_ws: Callable[..., Workspace], http_server: Callable[[], _Recorder]
) -> None:
    server = http_server()
    server.plan = [(503, {})] * 10
    ws = make_ws([server.url], max_attempts=3, backoff_seconds=1)
    now = NOW
    outcomes = []
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        for _ in range(5):
            report = deliver_pending(wh, ws.config, now=now)
            outcomes.append((report.retrying, report.failed))
            now += timedelta(hours=1)
        (row,) = _outbox(wh)
    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert "HTTP 503" in row["last_error"]
    assert len(server.requests) == 3


# -- the address policy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.20", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a globally routable"),
        ("::1", "loopback"),
        ("fd00::1", "private"),
        ("fe80::1%eth0", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        ("::", "unspecified"),
        ("ff02::1", "multicast"),
    ],
)
def test_private_addresses_are_refused(address: str, reason: str) -> None:
    assert reason in (check_address(address) or "")


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert check_address(address) is None
    url = f"https://[{address}]/hook" if ":" in address else f"https://{address}/hook"
    resolved = resolve_webhook(url, allow_private=False)  # a literal: no DNS, nothing sent
    assert resolved.addresses == (address,) and resolved.port == 443


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8080/x", "http://127.0.0.1/x", "http://[::1]/x", "http://10.0.0.7/x"],
)
def test_private_urls_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(TargetRefused, match="allow_private"):
        resolve_webhook(url, allow_private=False)
    assert resolve_webhook(url, allow_private=True).addresses


def test_delivery_errors_sit_in_the_one_exception_tree() -> None:
    with pytest.raises(EarnrightError, match="allow_private"):
        resolve_webhook("http://10.0.0.7/x", allow_private=False)
    assert issubclass(DeliveryFailed, DeliveryError) and issubclass(TargetRefused, DeliveryError)
    assert issubclass(DeliveryError, EarnrightError)


def test_refused_target_is_recorded_and_never_retried(
    make_ws: Callable[..., Workspace], http_server: Callable[[], _Recorder]
) -> None:
    server = http_server()
    ws = make_ws([server.url], allow_private=False)
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        assert deliver_pending(wh, ws.config, now=NOW).refused == 1
        later = deliver_pending(wh, ws.config, now=NOW + timedelta(days=30))
        (row,) = _outbox(wh)
    assert (later.refused, later.retrying, later.delivered) == (0, 0, 0)
    assert (row["status"], row["attempts"]) == ("refused", 1)
    assert "127.0.0.1 is a loopback address" in row["last_error"]
    assert server.requests == []


def test_connection_goes_to_the_checked_address_not_a_second_lookup(
    monkeypatch: pytest.MonkeyPatch, http_server: Callable[[], _Recorder]
) -> None:
    """DNS rebinding: the name resolves once; a later, private answer is never used."""
    server = http_server()
    port = server.server_address[1]
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []
    connects: list[tuple[str, int]] = []

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        connects.append(address)
        raise OSError("unreachable in the test")

    monkeypatch.setattr(targets.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(targets.socket, "create_connection", create_connection)
    with pytest.raises(DeliveryFailed, match="unreachable"):
        post_webhook(f"http://hooks.test:{port}/x", {}, timeout=2, allow_private=False)
    assert lookups == ["hooks.test"] and connects == [("93.184.216.34", port)]
    assert server.requests == []


def test_host_header_names_the_host_while_connecting_to_its_address(
    monkeypatch: pytest.MonkeyPatch, http_server: Callable[[], _Recorder]
) -> None:
    server = http_server()
    port = server.server_address[1]
    monkeypatch.setattr(
        targets.socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))],
    )
    assert post_webhook(f"http://hooks.test:{port}/x", {"a": 1}, timeout=5, allow_private=True)
    assert server.requests[0]["headers"]["Host"] == f"hooks.test:{port}"


def _self_signed(tmp_path: Path, host: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_checks_the_certificate_of_the_hostname_at_the_pinned_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_server: Callable[[], _Recorder]
) -> None:
    cert, key = _self_signed(tmp_path, "hooks.test")
    server = http_server()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    trusting = ssl.create_default_context

    monkeypatch.setattr(targets.ssl, "create_default_context", lambda: trusting(cafile=cert))
    monkeypatch.setattr(
        targets.socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))],
    )
    assert post_webhook(f"https://hooks.test:{port}/x", {}, timeout=5, allow_private=True) == 200
    assert server.requests[0]["headers"]["Host"] == f"hooks.test:{port}"
    with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
        post_webhook(f"https://other.test:{port}/x", {}, timeout=5, allow_private=True)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://hooks.example.com/x",
        "gopher://hooks.example.com:70/_x",
        "javascript:alert(1)",
        "hooks.example.com/x",
        "http:///x",
    ],
)
def test_non_http_webhook_urls_are_refused_before_any_lookup(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_lookup(*args: Any, **kwargs: Any) -> list[Any]:
        raise AssertionError("a refused URL must not be resolved")

    monkeypatch.setattr(targets.socket, "getaddrinfo", no_lookup)
    with pytest.raises(TargetRefused, match="is not an http"):
        resolve_webhook(url, allow_private=True)
    with pytest.raises(TargetRefused, match="is not an http"):
        post_webhook(url, {}, timeout=2, allow_private=True)
    with pytest.raises(ValueError, match="webhooks must be http"):
        _config([url])  # and the config refuses it up front


def test_dns_failure_is_retried_not_refused(
    make_ws: Callable[..., Workspace], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that does not resolve (today) is worth retrying: DNS trouble passes."""
    lookups: list[str] = []

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(targets.socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(DeliveryFailed, match=r"cannot resolve hooks\.example\.com"):
        resolve_webhook("https://hooks.example.com/x", allow_private=False)
    ws = make_ws(["https://hooks.example.com/x"], allow_private=False)
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        report = deliver_pending(wh, ws.config, now=NOW)
        (row,) = _outbox(wh)
    assert (report.retrying, report.refused, report.delivered) == (1, 0, 0)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "cannot resolve hooks.example.com" in row["last_error"]
    assert row["next_attempt_at"] > NOW
    assert lookups == ["hooks.example.com", "hooks.example.com"]


@pytest.mark.parametrize(
    "address",
    [
        "pharmacy-lead@example.com\r\nBcc: attacker@example.net",
        "pharmacy-lead@example.com\nBcc: attacker@example.net",
        "pharmacy-lead@example.com\rBcc: attacker@example.net",
        "pharmacy-lead@example.com, attacker@example.net",
    ],
)
def test_an_email_address_with_a_header_in_it_is_refused_and_nothing_is_sent(
    address: str, make_ws: Callable[..., Workspace], smtp_server: _SMTPServer
) -> None:
    ws = make_ws(
        email=[address],
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.server_address[1],
        email_from="alerts@example.com",
    )
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        report = deliver_pending(wh, ws.config, now=NOW)
        later = deliver_pending(wh, ws.config, now=NOW + timedelta(days=30))
        (row,) = _outbox(wh)
    assert (report.refused, report.delivered, later.refused + later.retrying) == (1, 0, 0)
    assert row["status"] == "refused" and "is not one email address" in row["last_error"]
    assert smtp_server.messages == []  # no Bcc smuggled in: no message at all


# -- email through a real SMTP server ---------------------------------------------------------


def test_email_reaches_the_smtp_server(
    make_ws: Callable[..., Workspace], smtp_server: _SMTPServer
) -> None:
    ws = make_ws(
        email=["pharmacy-lead@example.com"],
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.server_address[1],
        email_from="alerts@example.com",
    )
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        assert deliver_pending(wh, ws.config, now=NOW).delivered == 1
        (row,) = _outbox(wh)
    (sent,) = smtp_server.messages
    assert sent["to"] == ["<pharmacy-lead@example.com>"] and "alerts@example.com" in sent["from"]
    message = email.message_from_bytes(sent["data"], policy=email.policy.default)
    assert message["Subject"] == json.loads(row["payload"])["text"]
    assert message["To"] == "pharmacy-lead@example.com"
    assert message.get_content_type() == "text/plain"
    assert "revenue at risk: 12310.0" in message.get_content()


def test_email_without_an_smtp_host_is_retried_with_a_fix(
    make_ws: Callable[..., Workspace],
) -> None:
    ws = make_ws(email=["pharmacy-lead@example.com"])
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        assert deliver_pending(wh, ws.config, now=NOW).retrying == 1
        (row,) = _outbox(wh)
    assert "smtp_host" in row["last_error"]


# -- crash safety -----------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from datetime import datetime
    from pathlib import Path
    from earnright.delivery import (
        deliver_pending, enqueue_messages, send_webhook_message,
    )
    from earnright.workspace import find_workspace

    mode, root, incident = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    now = datetime(2026, 8, 8, 9, 0)
    ws = find_workspace(root)
    with ws.warehouse() as wh:
        if mode in ("enqueue", "commit"):
            with wh.transaction():
                wh.insert("incidents", {"incident_id": [incident["id"]], "status": ["open"]})
                enqueue_messages(wh, ws.config, incident, "opened", now=now)
                if mode == "enqueue":
                    os.kill(os.getpid(), signal.SIGKILL)
        else:  # die after the server answered, before the outcome is recorded
            def send_then_die(message, delivery):
                send_webhook_message(message, delivery)
                os.kill(os.getpid(), signal.SIGKILL)
            deliver_pending(wh, ws.config, now=now, send_webhook=send_then_die)
    print("finished", flush=True)
    """
)


def _run_child(mode: str, ws: Workspace) -> int:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(ws.root), json.dumps(INCIDENT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return child.returncode


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "rows"), [("enqueue", 0), ("commit", 1)])
def test_sigkill_before_commit_leaves_neither_incident_nor_message(
    make_ws: Callable[..., Workspace], mode: str, rows: int
) -> None:
    ws = make_ws(["https://hooks.example.com/a", "https://hooks.example.com/b"])
    returncode = _run_child(mode, ws)
    assert returncode == (-signal.SIGKILL if mode == "enqueue" else 0)
    with find_workspace(ws.root).warehouse() as wh:
        assert wh.count("incidents") == rows
        assert wh.count("outbox") == 2 * rows


@pytest.mark.slow
def test_sigkill_after_send_resends_on_the_next_run(
    make_ws: Callable[..., Workspace], http_server: Callable[[], _Recorder]
) -> None:
    server = http_server()
    ws = make_ws([server.url])
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
    assert _run_child("deliver", ws) == -signal.SIGKILL
    assert len(server.requests) == 1  # sent, but the process died before recording it
    with ws.warehouse() as wh:
        (row,) = _outbox(wh)  # the attempt was recorded before the send, due after its backoff
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert row["next_attempt_at"] == NOW + retry_delay(row["message_id"], 1, 30.0)
        assert deliver_pending(wh, ws.config, now=NOW).delivered == 0
        assert deliver_pending(wh, ws.config, now=row["next_attempt_at"]).delivered == 1
        (row,) = _outbox(wh)
    assert row["status"] == "delivered"
    first, second = server.requests
    assert first["body"] == second["body"]
    assert first["headers"][MESSAGE_ID_HEADER] == second["headers"][MESSAGE_ID_HEADER]


# -- issue 17: a failure after the send, and the first pass over history ----------------------


def _send_then_crash(message: OutboxMessage, delivery: Delivery) -> None:
    """The real webhook sender, then a failure no sender error handler catches."""
    send_webhook_message(message, delivery)
    raise KeyboardInterrupt("the deliverer died after sending")


def test_attempt_is_recorded_before_the_send_so_a_crash_after_it_is_not_resent_at_once(
    make_ws: Callable[..., Workspace], http_server: Callable[[], _Recorder]
) -> None:
    server = http_server()
    ws = make_ws([server.url], backoff_seconds=30)
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        with pytest.raises(KeyboardInterrupt):
            deliver_pending(wh, ws.config, now=NOW, send_webhook=_send_then_crash)
        (row,) = _outbox(wh)
        assert (row["status"], row["attempts"]) == ("pending", 1)
        due = NOW + retry_delay(row["message_id"], 1, 30.0)
        assert row["next_attempt_at"] == due
        assert deliver_pending(wh, ws.config, now=NOW).to_dict()["messages"] == []
        assert len(server.requests) == 1  # the next cycle does not send it again at once
        assert deliver_pending(wh, ws.config, now=due).delivered == 1
        (row,) = _outbox(wh)
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    first, second = server.requests
    assert first["headers"][MESSAGE_ID_HEADER] == second["headers"][MESSAGE_ID_HEADER]


def test_a_message_that_crashes_every_attempt_ends_failed_after_max_attempts(
    make_ws: Callable[..., Workspace], http_server: Callable[[], _Recorder]
) -> None:
    server = http_server()
    ws = make_ws([server.url], max_attempts=3, backoff_seconds=1)
    crashes = 0
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        for cycle in range(6):  # a day apart: every backoff has passed
            try:
                deliver_pending(
                    wh, ws.config, now=NOW + timedelta(days=cycle), send_webhook=_send_then_crash
                )
            except KeyboardInterrupt:
                crashes += 1
        (row,) = _outbox(wh)
    assert (crashes, len(server.requests)) == (3, 3)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert "attempt 3 was interrupted" in row["last_error"]


@pytest.mark.parametrize("backoff", [math.inf, 1e308, math.nan])
def test_retry_delay_never_overflows(backoff: float) -> None:
    assert retry_delay("msg-1", 1, backoff) == timedelta(days=1)
    assert retry_delay("msg-1", 400, 30.0) == timedelta(days=1)


def test_resolved_to_a_target_never_told_it_opened_says_opened_and_resolved(
    make_ws: Callable[..., Workspace],
) -> None:
    ws = make_ws(["https://hooks.example.com/a"])
    closed = {"status": "resolved", "resolved_at": "2026-08-09T14:00:00"}
    other = {"id": "inc-other", **closed}
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config, "resolved", **closed)  # opened and closed within one pass
        _enqueue(wh, ws.config, "opened", id="inc-other")
        _enqueue(wh, ws.config, "resolved", **other)  # the team heard of this one opening
        rows = wh.table("outbox").order_by("created_at").to_pyarrow().to_pylist()
    texts = {(r["incident_id"], r["event"]): json.loads(r["payload"])["text"] for r in rows}
    both = texts[(INCIDENT["id"], "resolved")]
    assert both.startswith("[opened and resolved] Prescription pickup: rx_on_time was broken")
    assert "from 2026-08-06 to 2026-08-09 14:00 UTC" in both and "$12,300 at risk" in both
    assert texts[("inc-other", "resolved")].startswith("[resolved] Prescription pickup")
    assert "recovered for district=D007" in texts[("inc-other", "resolved")]
    assert len(rows) == 3


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2002:a9fe:a9fe::", "6to4 form of 169.254.169.254, a link-local"),  # cloud metadata
        ("2002:7f00:1::", "6to4 form of 127.0.0.1, a loopback"),
        ("2002:a00:1::1", "6to4 form of 10.0.0.1, a private"),
        ("64:ff9b::7f00:1", "NAT64 form of 127.0.0.1, a loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254, a link-local"),
        ("64:ff9b:1::a00:1", "NAT64 local-use"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo form of 192.0.2.45"),
        ("fec0::1", "site-local"),
        ("fec0::1%eth0", "site-local"),
    ],
)
def test_ipv6_forms_of_refused_ipv4_and_site_local_are_refused(address: str, reason: str) -> None:
    assert reason in (check_address(address) or "")


@pytest.mark.parametrize("address", ["2002:5db8:d822::1", "64:ff9b::5db8:d822"])
def test_ipv6_forms_of_a_public_ipv4_are_allowed(address: str) -> None:
    assert check_address(address) is None  # 93.184.216.34 through 6to4 and NAT64


@pytest.mark.parametrize(
    "url",
    [
        "http://[fe80::1%25eth0]/x",
        "http://127.0.0.1./x",
        "http://[2002:a9fe:a9fe::]/latest/meta-data",
        "http://[64:ff9b::7f00:1]:8080/x",
        "http://[fec0::1]/x",
        "http://0177.0.0.1./x",
        "http://127.0.0.1.../x",
    ],
)
def test_spellings_that_once_slipped_through_are_refused_without_a_request(url: str) -> None:
    with pytest.raises(TargetRefused):
        resolve_webhook(url, allow_private=False)


# -- webhook URLs kept out of the warehouse ---------------------------------------------------


def test_a_webhook_named_by_an_environment_variable_is_read_only_when_sent(
    make_ws: Callable[..., Workspace],
    http_server: Callable[[], _Recorder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = http_server()
    ws = make_ws(["${EARNRIGHT_TEST_HOOK}"])
    monkeypatch.delenv("EARNRIGHT_TEST_HOOK", raising=False)
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        report = deliver_pending(wh, ws.config, now=NOW)
        (row,) = _outbox(wh)
        assert (report.retrying, row["status"], server.requests) == (1, "pending", [])
        assert "EARNRIGHT_TEST_HOOK is not set" in row["last_error"]
        monkeypatch.setenv("EARNRIGHT_TEST_HOOK", server.url)
        later = NOW + timedelta(days=2)
        assert deliver_pending(wh, ws.config, now=later).delivered == 1
        (row,) = _outbox(wh)
        stored = wh.table("workspace_config").config.execute().iloc[0]
    assert len(server.requests) == 1 and server.requests[0]["path"] == "/hook"
    assert row["target"] == "${EARNRIGHT_TEST_HOOK}"  # the URL is in neither table
    assert server.url not in stored and "${EARNRIGHT_TEST_HOOK}" in stored


def test_an_error_about_a_webhook_from_the_environment_does_not_record_its_url(
    make_ws: Callable[..., Workspace], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "ftp://hooks.example.com/services/T000/SECRET"
    monkeypatch.setenv("EARNRIGHT_TEST_HOOK", secret)
    ws = make_ws(["${EARNRIGHT_TEST_HOOK}"])
    with ws.warehouse() as wh:
        _enqueue(wh, ws.config)
        assert deliver_pending(wh, ws.config, now=NOW).refused == 1
        (row,) = _outbox(wh)
    assert "is not an http" in row["last_error"] and "SECRET" not in row["last_error"]
    assert "${EARNRIGHT_TEST_HOOK}" in row["last_error"]


@pytest.mark.parametrize("ref", ["$HOOK", "${}", "${HOOK", "${1HOOK}", "${HO OK}"])
def test_only_whole_environment_references_stand_in_for_a_url(ref: str) -> None:
    with pytest.raises(ValueError, match=r"webhooks must be http\(s\) URLs or \$\{NAME\}"):
        _config([ref])

"""Where alert messages go: the webhook address policy and the real senders (HTTP and SMTP).

**Address policy.** A webhook URL's host is resolved once with ``socket.getaddrinfo``; every
address returned is checked with :func:`check_address`, and if any of them is private, loopback,
link-local, site-local, multicast, reserved, unspecified or otherwise not globally routable, or
an IPv6 form of such an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64), the target is refused
(:class:`TargetRefused`) unless ``allow_private`` is set. A host written as an IP address (with
an IPv6 zone id or a trailing dot) is judged as that address before any lookup, and a numeric
host that does not resolve is refused, not retried as a DNS error. The connection is then
made to the addresses that were checked — never to a second lookup of the name — with the
``Host`` header (and, for HTTPS, SNI and certificate verification) set to the hostname, so a DNS
answer that changes between the check and the connect (DNS rebinding) cannot steer a request to
an internal service. Proxies from the environment are not used.

**Webhooks** are one HTTP POST of JSON (``Content-Type: application/json``) with the header
``X-Earnright-Message-Id`` (the same on every retry, so receivers can drop duplicates). Success is
a 2xx status; a redirect is never followed (a 3xx is a failure naming its ``Location``).

**Email** is a plain-text message sent through the configured SMTP relay
(``[delivery] smtp_host``/``smtp_port``), which is trusted as configured: the address policy
applies to webhook URLs only.

Failures raise :class:`DeliveryFailed` (worth retrying) or :class:`TargetRefused` (never
retried); the deliverer in :mod:`earnright.delivery.outbox` records either.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from earnright.config import Delivery
from earnright.config.sections import ENV_REF
from earnright.errors import DeliveryFailed, TargetRefused

__all__ = [
    "DeliveryFailed",
    "ResolvedTarget",
    "TargetRefused",
    "check_address",
    "post_webhook",
    "resolve_webhook",
    "send_mail",
    "webhook_url",
]

USER_AGENT = "earnright-alerts/1"
ERROR_BODY_CHARS = 200


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Checked in this order; the first that matches names the reason.
_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_reserved", "reserved"),
    ("is_private", "private"),
)
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 in the last 32 bits
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a network's own translator
SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")  # deprecated (RFC 3879), still routed inside sites


def _refusal(ip: IPAddress) -> str | None:
    """What kind of refused address ``ip`` is ("a loopback address" …), or None if global."""
    for attribute, name in _CATEGORIES:
        if getattr(ip, attribute):
            return f"a {name} address"
    if ip in SITE_LOCAL:
        return "a site-local address"
    if not ip.is_global:
        return "not a globally routable address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address stands for, with the name of the form."""
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        found += [("Teredo", ip.teredo[0]), ("Teredo", ip.teredo[1])]
    if ip in NAT64_WELL_KNOWN:
        found.append(("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found


def check_address(address: str | IPAddress) -> str | None:
    """Why a webhook may not be sent to this IP address, or None when it is public.

    Refused: unspecified, loopback, link-local, site-local, multicast, private, reserved and any
    other address that is not globally routable (e.g. 100.64.0.0/10, shared address space). An
    IPv6 address that stands for an IPv4 address is judged as that IPv4 address too: IPv4-mapped
    (``::ffff:10.0.0.1``), 6to4 (``2002:7f00:1::`` is 127.0.0.1), Teredo (server and client) and
    NAT64 (``64:ff9b::a9fe:a9fe``); NAT64 local-use addresses (64:ff9b:1::/48) are refused.
    """
    text = str(address).split("%", 1)[0]  # drop an IPv6 zone id ("fe80::1%eth0")
    try:
        ip: IPAddress = ipaddress.ip_address(text)
    except ValueError:
        return f"'{address}' is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return f"{ip} is a NAT64 local-use address, not globally routable"
        for form, ipv4 in _embedded_ipv4(ip):
            reason = _refusal(ipv4)
            if reason is not None:
                return f"{ip} is the {form} form of {ipv4}, {reason}"
        if ip in NAT64_WELL_KNOWN:
            return None  # judged by the public IPv4 address it translates to
    reason = _refusal(ip)
    return None if reason is None else f"{ip} is {reason}"


def _literal_address(host: str) -> str | None:
    """The IP address a URL's host spells (an IPv6 zone id and a trailing dot dropped)."""
    text = unquote(host).split("%", 1)[0].rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@dataclass(frozen=True)
class ResolvedTarget:
    """A webhook URL resolved once: connect to ``addresses``, speak to ``host``."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def resolve_webhook(url: str, *, allow_private: bool) -> ResolvedTarget:
    """Resolve a webhook URL's host and apply the address policy.

    Raises :class:`TargetRefused` for a URL that is not http(s) or a host with any refused
    address (unless ``allow_private``); :class:`DeliveryFailed` when the name does not resolve
    (DNS trouble is worth retrying).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"'{url}' is not an http(s) URL with a host")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(f"'{url}' has a bad port: {exc}") from exc
    literal = _literal_address(host)
    if literal is not None and not allow_private:
        _apply_policy(host, (literal,))
    name = unquote(host) if literal is None or "%" in host else literal
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        if ":" in host or re.fullmatch(r"[0-9.]+", host):
            raise TargetRefused(f"'{host}' is not a valid IP address") from exc
        raise DeliveryFailed(f"cannot resolve {host}: {exc}") from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        _apply_policy(host, addresses)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return ResolvedTarget(parts.scheme, host, port, path, addresses)


def _apply_policy(host: str, addresses: tuple[str, ...]) -> None:
    for address in addresses:
        reason = check_address(address)
        if reason is not None:
            raise TargetRefused(
                f"{host} resolves to {reason}; webhooks to private addresses need "
                "allow_private = true in [delivery]"
            )


def _connect_any(addresses: tuple[str, ...], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers."""
    errors = []
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            errors.append(f"{address}: {exc}")
    raise OSError("cannot connect: " + "; ".join(errors))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the checked addresses, with the Host header of the URL's hostname."""

    def __init__(self, target: ResolvedTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._addresses = target.addresses

    def connect(self) -> None:
        self.sock = _connect_any(self._addresses, self.port, self.timeout or 10.0)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked addresses; SNI and certificate checks use the URL's hostname."""

    def __init__(self, target: ResolvedTarget, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._addresses = target.addresses

    def connect(self) -> None:
        sock = _connect_any(self._addresses, self.port, self.timeout or 10.0)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def webhook_url(target: str) -> str:
    """The URL a configured webhook target stands for: the target itself, or for ``${NAME}`` the
    value of the environment variable NAME (DeliveryFailed, retried, while it is not set)."""
    ref = ENV_REF.match(target)
    if ref is None:
        return target
    value = os.environ.get(ref.group(1), "").strip()
    if not value:
        raise DeliveryFailed(
            f"webhook {target}: the environment variable {ref.group(1)} is not set where alerts "
            "are delivered; set it to the webhook's URL"
        )
    return value


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float,
    allow_private: bool,
    headers: dict[str, str] | None = None,
) -> int:
    """POST ``payload`` as JSON to ``url`` under the address policy; return the 2xx status.

    Raises :class:`TargetRefused` or :class:`DeliveryFailed` (non-2xx, a redirect, a network
    error or a timeout).
    """
    target = resolve_webhook(url, allow_private=allow_private)
    body = json.dumps(payload).encode("utf-8")
    sent = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **(headers or {}),
    }
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = _PinnedHTTPSConnection(target, timeout)
    else:
        conn = _PinnedHTTPConnection(target, timeout)
    try:
        conn.request("POST", target.path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read(ERROR_BODY_CHARS).decode("utf-8", "replace")
        status, reason, location = response.status, response.reason, response.getheader("Location")
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"POST {target.host}: {type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    if 300 <= status < 400:
        where = location or "(no Location header)"
        raise DeliveryFailed(f"HTTP {status} redirect to {where} not followed")
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status} {reason}: {text.strip()}"[: ERROR_BODY_CHARS + 40])
    return status


def send_mail(
    to: str, subject: str, body: str, delivery: Delivery, attachments: Sequence[Path] = ()
) -> None:
    """Send a plain-text email (with ``attachments``, e.g. a PDF) through the configured SMTP
    relay; DeliveryFailed on failure (also when an attachment cannot be read)."""
    if not delivery.smtp_host:
        raise DeliveryFailed("no SMTP relay: set smtp_host (and smtp_port) in [delivery]")
    if not to or any(c in to for c in "\r\n,"):
        raise TargetRefused(f"{to!r} is not one email address")
    message = EmailMessage()
    message["From"] = delivery.email_from
    message["To"] = to
    message["Subject"] = " ".join(subject.split())  # one line: no header injection
    message.set_content(body)
    for path in attachments:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DeliveryFailed(f"cannot attach {path}: {exc.strerror or exc}") from exc
        kind = "pdf" if path.suffix.lower() == ".pdf" else "octet-stream"
        message.add_attachment(data, maintype="application", subtype=kind, filename=path.name)
    try:
        with smtplib.SMTP(
            delivery.smtp_host, delivery.smtp_port, timeout=delivery.timeout_seconds
        ) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP {delivery.smtp_host}: {type(exc).__name__}: {exc}") from exc

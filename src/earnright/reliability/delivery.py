"""Alert delivery: an outbox in the warehouse, delivered at least once with retries.

Incidents go to the team that owns their journey moment (``[owners.<team>]`` in the config:
``webhooks`` and ``email``). Delivery has two halves:

- :func:`enqueue_messages` writes one ``outbox`` row per target of the owner, inside the caller's
  transaction — the same one that writes the incident or alert change — so a message exists if
  and only if its cause was committed. Message ids are deterministic, so enqueuing the same event
  twice leaves one row.
- :func:`deliver_pending` sends every due ``pending`` row. Before sending it records the
  attempt in its own small transaction: ``attempts`` + 1 and ``next_attempt_at`` moved to the
  retry time, as if the attempt will fail. Then it sends and records the outcome. Whatever fails
  after the send (the process killed, the outcome not recorded), the attempt is already counted
  and the row is due again only after its backoff, so a message that crashes its deliverer is
  neither resent every cycle nor retried forever. A row stays ``pending`` until an outcome is
  recorded, so delivery is *at least once*, and webhook receivers get ``X-Earnright-Message-Id``
  to drop the rare duplicate.

A failed attempt is retried after ``backoff_seconds × 2^(attempts−1)``, stretched by a
deterministic jitter of up to 25 % (derived from the message id and the attempt, so messages
that failed together spread out, and a test can predict the schedule) and capped at one day;
after ``max_attempts`` the row is ``failed``. A webhook refused by the address policy
(:mod:`earnright.reliability.targets`) is ``refused`` at once and never retried. Rows are never
deleted.

A ``resolved`` message to a target that never got the incident's ``opened`` message (the first
pass over history opens and resolves an incident at once) says both: "[opened and resolved] …
from START to END". docs/alerts.md is the user guide.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd

from earnright.config import Config, Delivery
from earnright.reliability.targets import TargetRefused, post_webhook, send_mail
from earnright.warehouse import Warehouse

__all__ = [
    "EVENTS",
    "DeliveryReport",
    "OutboxMessage",
    "compose_email",
    "compose_message_id",
    "deliver_pending",
    "due_messages",
    "enqueue_messages",
    "format_money",
    "format_when",
    "incident_payload",
    "retry_delay",
    "send_email_message",
    "send_webhook_message",
]

EVENTS = ("opened", "updated", "resolved")
INCIDENT_FIELDS = (
    "id",
    "moment",
    "indicator",
    "metric",
    "segment",
    "status",
    "severity",
    "owner",
    "started_at",
    "detected_at",
    "customers_affected",
    "revenue_at_risk",
    "revenue_at_risk_low",
    "revenue_at_risk_high",
)
# Carried into the payload when the incident has them.
OPTIONAL_FIELDS = (
    "moment_name",
    "last_alert_at",
    "ended_at",
    "resolved_at",
    "customer_value",
    "extra_churn",
    "extra_churn_low",
    "extra_churn_high",
    "churn_basis",
    "currency",
)
JITTER = 0.25
MAX_RETRY_DELAY = timedelta(days=1)
CURRENCY = "$"
MESSAGE_ID_HEADER = "X-Earnright-Message-Id"
SLACK_SECTION_CHARS, SLACK_FIELD_CHARS = 3000, 2000


# -- the payload --------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """A JSON-ready scalar: datetimes as ISO strings, numpy numbers as Python, NaN/NaT as None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.datetime64):
        value = None if np.isnat(value) else pd.Timestamp(value).to_pydatetime()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _incident_record(incident: dict[str, Any]) -> dict[str, Any]:
    record = {name: _json_value(incident.get(name)) for name in INCIDENT_FIELDS}
    if record["id"] is None:
        record["id"] = _json_value(incident.get("incident_id"))  # as in the incidents table
    if not record["id"]:
        raise ValueError("an incident needs an 'id'")
    for name in OPTIONAL_FIELDS:
        if incident.get(name) is not None:
            record[name] = _json_value(incident[name])
    return record


def format_when(value: str | datetime | None) -> str:
    """``2026-08-06`` for a midnight, else ``2026-08-06 14:00 UTC``; "" when missing. Alerts
    and the HTML page show times alike."""
    if not value:
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.time() == datetime.min.time():
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def format_money(value: float, currency: str = CURRENCY) -> str:
    """An amount to 3 significant figures with thousands separators (12,345 → $12,300), after
    the ``[company] currency``: a symbol is joined to the number, a code spaced (EUR 12,300)."""
    prefix = f"{currency} " if currency.isalpha() and currency.isascii() else currency
    if value == 0 or not math.isfinite(value):
        return f"{prefix}{value:,.0f}"
    digits = 2 - math.floor(math.log10(abs(value)))
    return f"{prefix}{round(value, min(digits, 0)):,.0f}"


def _impact(record: dict[str, Any]) -> str:
    parts = []
    customers = record["customers_affected"]
    if customers is not None:
        parts.append(f"{int(customers):,} customer{'' if int(customers) == 1 else 's'}")
    revenue, low, high = (record[f"revenue_at_risk{s}"] for s in ("", "_low", "_high"))
    if revenue is not None:
        band = ""
        if low is not None and high is not None:
            band = f" ({format_money(low, '')}–{format_money(high, '')})"
        parts.append(f"{format_money(revenue, record.get('currency') or CURRENCY)} at risk{band}")
    return ", ".join(parts)


def _summary_line(record: dict[str, Any], event: str, *, unannounced: bool = False) -> str:
    moment = record.get("moment_name") or record["moment"] or "(no moment)"
    segment = f"for {record['segment']}" if record["segment"] else "for all customers"
    since = format_when(record["started_at"])
    label = event
    if event == "resolved" and unannounced:
        label = "opened and resolved"
        until = format_when(record.get("resolved_at"))
        state = f"was broken {segment}" + (f" from {since}" if since else "")
        state += f" to {until}" if until else ""
    elif event == "resolved":
        state = f"recovered {segment}" + (f" (broken since {since})" if since else "")
    else:
        state = f"broken {segment}" + (f" since {since}" if since else "")
    line = f"[{label}] {moment}: {record['indicator']} {state}"
    impact = _impact(record)
    return " ".join((f"{line} — {impact}" if impact else line).split())


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_blocks(record: dict[str, Any], text: str) -> list[dict[str, Any]]:
    details = [
        ("Indicator", f"{record['indicator']} (metric {record['metric']})"),
        ("Segment", record["segment"] or "all customers"),
        ("Status", record["status"]),
        ("Severity", record["severity"]),
        ("Owner", record["owner"]),
        ("Started", format_when(record["started_at"])),
        ("Detected", format_when(record["detected_at"])),
        ("Resolved", format_when(record.get("resolved_at"))),
        ("Impact", _impact(record)),
    ]
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{_slack_escape(str(value))}"[:SLACK_FIELD_CHARS]}
        for label, value in details
        if value
    ]
    section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _slack_escape(text)[:SLACK_SECTION_CHARS]},
    }
    if fields:
        section["fields"] = fields
    note = _slack_escape(f"earnright incident {record['id']}")
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}
    return [section, context]


def incident_payload(
    incident: dict[str, Any], event: str, *, unannounced: bool = False
) -> dict[str, Any]:
    """The JSON message for an incident event; Slack incoming webhooks accept it as is.

    ``incident`` has ``id`` (or ``incident_id``), ``moment``, ``indicator``, ``metric``,
    ``segment``, ``status``, ``severity``, ``owner``, ``started_at``, ``detected_at``,
    ``customers_affected``, ``revenue_at_risk`` and its ``_low``/``_high`` bounds (None where
    unknown); optionally ``moment_name`` (shown instead of the moment id) and the other fields of
    the incidents table. Returns ``text`` (one readable line), Slack ``blocks``, ``event`` and
    the machine-readable ``incident``. ``text`` is plain; the blocks escape ``& < >`` for Slack.
    ``unannounced`` marks a ``resolved`` message to a target never told the incident opened:
    its line says "[opened and resolved] … from START to END".
    """
    if event not in EVENTS:
        raise ValueError(f"event must be one of {EVENTS}, got {event!r}")
    record = _incident_record(incident)
    text = _summary_line(record, event, unannounced=unannounced)
    return {
        "text": text,
        "blocks": _slack_blocks(record, text),
        "event": event,
        "incident": record,
    }


def compose_email(payload: dict[str, Any]) -> tuple[str, str]:
    """The subject (the payload's one-line text) and plain-text body of an alert email."""
    record = payload["incident"]
    lines = [payload["text"], ""]
    for name, value in record.items():
        if value is not None and value != "":
            lines.append(f"{name.replace('_', ' ')}: {value}")
    lines += ["", f"event: {payload['event']}", "sent by earnright"]
    return payload["text"][:250], "\n".join(lines) + "\n"


# -- the outbox -----------------------------------------------------------------------------


def compose_message_id(
    incident_id: str, event: str, channel: str, target: str, content: str = ""
) -> str:
    """The deterministic id of one message: the same inputs always give the same id."""
    key = "\x1f".join((incident_id, event, channel, target, content))
    return "msg-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _naive_utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if now.tzinfo is not None:
        return now.astimezone(UTC).replace(tzinfo=None)
    return now


def _owner_of(config: Config, record: dict[str, Any]) -> str:
    if record["owner"]:
        return str(record["owner"])
    for moment, indicator in config.journey.indicators():
        if indicator.id == record["indicator"]:
            return config.owner_of(moment, indicator)
    return ""


def _moment_name(config: Config, moment_id: str | None) -> str | None:
    for stage in config.journey.stages:
        for moment in stage.moments:
            if moment.id == moment_id:
                return moment.name
    return None


def enqueue_messages(
    wh: Warehouse, config: Config, incident: dict[str, Any], event: str, *, now: datetime
) -> int:
    """Add one pending outbox row per webhook and email of the incident owner; return how many.

    Runs inside the caller's transaction (it opens none), so wrap it with the incident write.
    ``updated`` messages are keyed by the incident's content as well, so a changed incident is a
    new message and an unchanged one is not; ``opened`` and ``resolved`` are one per incident and
    target. A ``resolved`` message to a target that has no ``opened`` message of the incident
    says it opened and resolved, with both times. A team without targets, or not in
    ``[owners]``, gets no rows.
    """
    incident = dict(incident)
    if not incident.get("moment_name"):
        incident["moment_name"] = _moment_name(config, incident.get("moment"))
    incident["currency"] = config.company.currency
    payload = incident_payload(incident, event)
    record = payload["incident"]
    owner = config.owners.get(_owner_of(config, record))
    if owner is None:
        return 0
    content = ""
    if event == "updated":
        content = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    targets = [("webhook", url) for url in owner.webhooks] + [("email", a) for a in owner.email]
    incident_id = str(record["id"])
    rows = {
        compose_message_id(incident_id, event, channel, target, content): (channel, target)
        for channel, target in targets
    }
    if not rows:
        return 0
    opened = {compose_message_id(incident_id, "opened", c, t): (c, t) for c, t in targets}
    outbox = wh.table("outbox")
    known = outbox.filter(outbox.message_id.isin(list(rows) + list(opened))).message_id
    existing = set(known.execute())
    new = {mid: ct for mid, ct in rows.items() if mid not in existing}
    if not new:
        return 0
    told = {opened[mid] for mid in opened if mid in existing}
    late = json.dumps(incident_payload(incident, event, unannounced=True))
    texts = {
        mid: late if event == "resolved" and ct not in told else json.dumps(payload)
        for mid, ct in new.items()
    }
    now = _naive_utc(now)
    n = len(new)
    wh.insert(
        "outbox",
        {
            "message_id": list(new),
            "incident_id": [str(record["id"])] * n,
            "event": [event] * n,
            "channel": [channel for channel, _ in new.values()],
            "target": [target for _, target in new.values()],
            "payload": list(texts.values()),
            "status": ["pending"] * n,
            "attempts": [0] * n,
            "next_attempt_at": [now] * n,
            "created_at": [now] * n,
        },
    )
    return n


# -- delivering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxMessage:
    """One outbox row as the senders see it."""

    message_id: str
    incident_id: str
    event: str
    channel: str
    target: str
    payload: dict[str, Any]
    attempts: int


Sender = Callable[[OutboxMessage, Delivery], object]


@dataclass
class DeliveryReport:
    """What one :func:`deliver_pending` run did: counts by outcome and one entry per message."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    refused: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def retry_delay(message_id: str, attempts: int, backoff_seconds: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt of a message.

    ``backoff_seconds × 2^(attempts−1) × (1 + 0.25·u)``, capped at one day, where ``u`` in
    [0, 1) is drawn from a hash of the message id and the attempt: deterministic, yet different
    for messages that failed together.
    """
    digest = hashlib.sha256(f"{message_id}:{attempts}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    seconds = backoff_seconds * 2.0 ** min(max(attempts - 1, 0), 40) * (1.0 + JITTER * u)
    if not math.isfinite(seconds) or seconds >= MAX_RETRY_DELAY.total_seconds():
        return MAX_RETRY_DELAY  # also for inf or nan: a delay must never raise after a send
    return timedelta(seconds=max(seconds, 0.0))


def due_messages(wh: Warehouse, *, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """The pending messages due at ``now``, oldest due first."""
    outbox = wh.table("outbox")
    due = outbox.filter(
        (outbox.status == "pending") & (outbox.next_attempt_at <= ibis.literal(_naive_utc(now)))
    )
    rows = (
        due.order_by(["next_attempt_at", "created_at", "message_id"])
        .limit(limit)
        .select("message_id", "incident_id", "event", "channel", "target", "payload", "attempts")
        .to_pyarrow()
        .to_pylist()
    )
    return [
        OutboxMessage(
            **{**row, "payload": json.loads(row["payload"]), "attempts": int(row["attempts"] or 0)}
        )
        for row in rows
    ]


def send_webhook_message(message: OutboxMessage, delivery: Delivery) -> None:
    """The real webhook sender: POST the payload under the address policy."""
    post_webhook(
        message.target,
        message.payload,
        timeout=delivery.timeout_seconds,
        allow_private=delivery.allow_private,
        headers={MESSAGE_ID_HEADER: message.message_id},
    )


def send_email_message(message: OutboxMessage, delivery: Delivery) -> None:
    """The real email sender: one plain-text message through the SMTP relay."""
    subject, body = compose_email(message.payload)
    send_mail(message.target, subject, body, delivery)


def _claim(wh: Warehouse, message: OutboxMessage, delivery: Delivery, now: datetime) -> None:
    """Record the attempt before it is made, as a failure due for retry after its backoff: a
    crash after the send leaves the attempt counted and the row not due at once."""
    attempts = message.attempts + 1
    retry_at = now + retry_delay(message.message_id, attempts, delivery.backoff_seconds)
    with wh.transaction():
        wh.update(
            "outbox",
            {"message_id": message.message_id, "status": "pending"},
            {"attempts": attempts, "next_attempt_at": retry_at},
        )


def _attempt(
    message: OutboxMessage, delivery: Delivery, senders: dict[str, Sender], now: datetime
) -> dict[str, Any]:
    """Send once; return the outbox columns to record."""
    attempts = message.attempts + 1
    if message.attempts >= delivery.max_attempts:  # the last attempt's outcome went unrecorded
        error = f"attempt {message.attempts} was interrupted before its outcome was recorded"
        return {"status": "failed", "attempts": message.attempts, "last_error": error}
    sender = senders.get(message.channel)
    try:
        if sender is None:
            raise TargetRefused(f"unknown channel {message.channel!r}")
        sender(message, delivery)
    except TargetRefused as exc:
        return {"status": "refused", "attempts": attempts, "last_error": str(exc)}
    except Exception as exc:  # any failure of one message is recorded, never fatal to the run
        error = str(exc) or type(exc).__name__
        if attempts >= delivery.max_attempts:
            return {"status": "failed", "attempts": attempts, "last_error": error}
        delay = retry_delay(message.message_id, attempts, delivery.backoff_seconds)
        return {
            "status": "pending",
            "attempts": attempts,
            "last_error": error,
            "next_attempt_at": now + delay,
        }
    return {"status": "delivered", "attempts": attempts, "delivered_at": now}


def deliver_pending(
    wh: Warehouse,
    config: Config,
    *,
    now: datetime | None = None,
    limit: int = 100,
    send_webhook: Sender | None = None,
    send_email: Sender | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` pending messages due at ``now`` (default: the current UTC time).

    Each attempt is recorded in its own transaction before the send (``attempts`` + 1, due again
    after its backoff) and its outcome in another right after it (so do not call this inside an
    open transaction): ``delivered``; ``pending`` again with ``attempts`` + 1, the
    error and the next attempt time; ``failed`` after ``max_attempts``; ``refused`` by the
    address policy. ``send_webhook``/``send_email`` replace the real senders (tests); a sender
    returns on success and raises on failure (``TargetRefused`` for no retry).
    """
    now = _naive_utc(now)
    senders: dict[str, Sender] = {
        "webhook": send_webhook or send_webhook_message,
        "email": send_email or send_email_message,
    }
    report = DeliveryReport()
    for message in due_messages(wh, now=now, limit=limit):
        if message.attempts < config.delivery.max_attempts:
            _claim(wh, message, config.delivery, now)
        values = _attempt(message, config.delivery, senders, now)
        with wh.transaction():
            wh.update("outbox", {"message_id": message.message_id, "status": "pending"}, values)
        status = values["status"]
        outcome = "retrying" if status == "pending" else status
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.messages.append(
            {
                "message_id": message.message_id,
                "incident_id": message.incident_id,
                "channel": message.channel,
                "target": message.target,
                "outcome": outcome,
                "attempts": values["attempts"],
                "error": values.get("last_error"),
            }
        )
    return report

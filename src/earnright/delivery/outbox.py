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
(:mod:`earnright.delivery.targets`) is ``refused`` at once and never retried. Rows are never
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
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis

from earnright.config import Config, Delivery
from earnright.delivery.messages import compose_email, incident_payload
from earnright.delivery.targets import post_webhook, send_mail, webhook_url
from earnright.errors import DeliveryError, TargetRefused
from earnright.warehouse import Warehouse

__all__ = [
    "MESSAGE_ID_HEADER",
    "DeliveryReport",
    "OutboxMessage",
    "compose_message_id",
    "deliver_pending",
    "due_messages",
    "enqueue_messages",
    "retry_delay",
    "send_email_message",
    "send_webhook_message",
]

JITTER = 0.25
MAX_RETRY_DELAY = timedelta(days=1)
MESSAGE_ID_HEADER = "X-Earnright-Message-Id"


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


def _insert_pending(
    wh: Warehouse,
    incident_id: str,
    event: str,
    new: dict[str, tuple[str, str]],
    texts: dict[str, str],
    now: datetime,
) -> None:
    """One pending outbox row per new message id (its channel and target), due ``now``."""
    n = len(new)
    wh.insert(
        "outbox",
        {
            "message_id": list(new),
            "incident_id": [incident_id] * n,
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
    _insert_pending(wh, str(record["id"]), event, new, texts, _naive_utc(now))
    return len(new)


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
    """The real webhook sender: POST the payload under the address policy. A ``${NAME}`` target
    is read from the environment here, and its URL never appears in the error recorded."""
    url = webhook_url(message.target)
    try:
        post_webhook(
            url,
            message.payload,
            timeout=delivery.timeout_seconds,
            allow_private=delivery.allow_private,
            headers={MESSAGE_ID_HEADER: message.message_id},
        )
    except DeliveryError as exc:
        if url == message.target:
            raise
        raise type(exc)(str(exc).replace(url, message.target)) from None


def send_email_message(message: OutboxMessage, delivery: Delivery) -> None:
    """The real email sender: one plain-text message through the SMTP relay (a monthly pack's
    message, ``kind`` = ``pack``, carries its PDF as an attachment)."""
    payload = message.payload
    if payload.get("kind") == "pack":
        from pathlib import Path

        attached = [Path(payload["attachment"])]
        send_mail(message.target, payload["subject"], payload["body"], delivery, attached)
        return
    subject, body = compose_email(payload)
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

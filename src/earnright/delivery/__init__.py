"""Alert delivery: incident messages to the owners' webhooks and email, at least once.

- ``messages``: the payload of an incident event (Slack-ready JSON) and its email.
- ``outbox``: the outbox in the warehouse — enqueue inside the caller's transaction, deliver
  with retries and a deterministic backoff (docs/alerts.md).
- ``targets``: the webhook address policy (SSRF-safe) and the HTTP and SMTP senders.

Failures are :class:`earnright.errors.DeliveryFailed` (retried) or
:class:`earnright.errors.TargetRefused` (never retried), both a ``DeliveryError``.
"""

from earnright.delivery.messages import (
    CURRENCY,
    EVENTS,
    compose_email,
    format_money,
    format_when,
    incident_payload,
)
from earnright.delivery.outbox import (
    MESSAGE_ID_HEADER,
    DeliveryReport,
    OutboxMessage,
    compose_message_id,
    deliver_pending,
    due_messages,
    enqueue_messages,
    retry_delay,
    send_email_message,
    send_webhook_message,
)
from earnright.delivery.targets import (
    ResolvedTarget,
    check_address,
    post_webhook,
    resolve_webhook,
    send_mail,
)
from earnright.errors import DeliveryError, DeliveryFailed, TargetRefused

__all__ = [
    "CURRENCY",
    "EVENTS",
    "MESSAGE_ID_HEADER",
    "DeliveryError",
    "DeliveryFailed",
    "DeliveryReport",
    "OutboxMessage",
    "ResolvedTarget",
    "TargetRefused",
    "check_address",
    "compose_email",
    "compose_message_id",
    "deliver_pending",
    "due_messages",
    "enqueue_messages",
    "format_money",
    "format_when",
    "incident_payload",
    "post_webhook",
    "resolve_webhook",
    "retry_delay",
    "send_email_message",
    "send_mail",
    "send_webhook_message",
]

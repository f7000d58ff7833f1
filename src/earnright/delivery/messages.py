"""Alert messages: the JSON payload of an incident event (Slack-ready) and its email.

:func:`incident_payload` turns an incident (a row of the incidents table, or the dict detection
builds) into ``text`` (one readable line), Slack ``blocks``, ``event`` and the machine-readable
``incident``; :func:`compose_email` makes the subject and body of the same message. Times and
amounts are formatted as the HTML page shows them (:func:`format_when`, :func:`format_money`).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CURRENCY",
    "EVENTS",
    "compose_email",
    "format_money",
    "format_when",
    "incident_payload",
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
    "value_basis",
    "extra_churn",
    "extra_churn_low",
    "extra_churn_high",
    "churn_basis",
    "currency",
)
CURRENCY = "$"
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

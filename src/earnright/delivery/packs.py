"""The monthly pack by email: one outbox message per recipient and month, the PDF attached.

Each ``[[pack.recipients]]`` gets the pack of their ``unit``'s subtree (none: the whole
company). Its message id is derived from the month, the unit and the address, so queuing the
same month again finds it and adds nothing: a second run sends nothing new, and a message that
failed is retried by the outbox (:mod:`earnright.delivery.outbox`), at least once. The PDF is
written under the workspace's ``packs/MONTH/`` folder and attached when the message is sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earnright.delivery.outbox import compose_message_id

if TYPE_CHECKING:
    from earnright.api.workspace import Workspace

__all__ = ["PACK_EVENT", "QueuedPacks", "pack_email_text", "queue_packs"]

PACK_EVENT = "pack"


@dataclass
class QueuedPacks:
    """The month, the messages queued now (recipient, unit, file), and what was skipped."""

    period: str
    queued: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _folder(ws: Workspace, period: str) -> Path:
    try:
        base = ws.root
    except Exception:  # a workspace opened from a warehouse URL has no folder
        base = Path.cwd()
    return base / "packs" / period


def pack_email_text(pack: dict[str, Any]) -> tuple[str, str]:
    """The subject and plain-text body of a pack's email: the ledger it opens with."""
    unit, money = pack["unit"], pack["currency"]
    subject = f"{pack['company']}: customer pack {pack['period']}, {unit['name']}"
    row = pack["ledger"]["row"]
    lines = [f"The customer pack of {unit['name']} for {pack['period']} is attached (PDF).", ""]
    if row is None:
        lines.append(f"Customer asset ledger: not available ({pack['ledger']['missing']}).")
    else:
        lines += [
            f"Customers at the start {row['start']:,}, at the end {row['end']:,}.",
            f"Gained {row['gained']:,} ({money}{row['gained_value']:,} a year), lost "
            f"{row['lost']:,} ({money}{row['lost_value']:,} a year).",
            f"Grew their spend {row['grew']:,}, declined {row['declined']:,}.",
        ]
    return subject, "\n".join(lines) + "\n"


def queue_packs(ws: Workspace, period: str | None, *, now: datetime | None = None) -> QueuedPacks:
    """Write and queue the pack of every recipient without a message for the month yet."""
    from earnright.api.computed import Computed
    from earnright.periods import Grain, choose_period

    with ws.warehouse() as wh:
        label = choose_period(wh, Grain.month, period).label
    result = QueuedPacks(label)
    recipients = ws.config.pack.recipients
    if not recipients:
        result.notes.append("no [[pack.recipients]] in the config: nobody to send the pack to")
        return result
    when = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    built: dict[str | None, tuple[Path, dict[str, Any]]] = {}
    computed = Computed(ws)  # every recipient's pack draws the same results (api/computed.py)
    for person in recipients:
        key = f"{PACK_EVENT}:{label}:{person.unit or ''}"
        message_id = compose_message_id(key, PACK_EVENT, "email", person.email)
        with ws.warehouse() as wh:
            box = wh.table("outbox")
            if box.filter(box.message_id == message_id).count().execute():
                continue
        if person.unit not in built:
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", person.unit or "company")
            path = _folder(ws, label) / f"{name}.pdf"
            made = ws.pack(path, period=label, unit=person.unit, computed=computed)
            built[person.unit] = (path, made.data)
        path, pack = built[person.unit]
        subject, body = pack_email_text(pack)
        payload = {"kind": PACK_EVENT, "subject": subject, "body": f"{person.name},\n\n{body}",
                   "attachment": str(path), "period": label, "unit": person.unit,
                   "recipient": person.name}  # fmt: skip
        with ws.warehouse(read_only=False) as wh, wh.transaction():
            wh.insert("outbox", {
                "message_id": [message_id], "incident_id": [key], "event": [PACK_EVENT],
                "channel": ["email"], "target": [person.email], "payload": [json.dumps(payload)],
                "status": ["pending"], "attempts": [0], "next_attempt_at": [when],
                "created_at": [when]})  # fmt: skip
        result.queued.append({"name": person.name, "email": person.email, "unit": person.unit,
                              "file": str(path), "message_id": message_id})  # fmt: skip
    return result

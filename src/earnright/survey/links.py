"""Personal survey links, reminders and response rates.

- :func:`survey_links`: ``{invitation_id, url}`` for every invitation not yet answered whose link
  has not expired (``[survey] link_valid`` after it was sent), optionally sent ``since`` a time.
- :func:`send_reminders`: invitations unanswered ``[survey] remind_after`` their sending (and not
  expired) get one reminder, enqueued in the outbox to the ``[survey] reminders_to`` team's
  targets with the link. The reminder's row in ``survey_reminders`` (unique id
  ``INVITATION|1``) and its messages are written in one transaction, so a reminder exists with
  its messages or not at all, and a second run, or two at once, never sends it twice; the outbox
  delivers each message at least once.
- :func:`response_rates`: per store and moment, invitations sent, answered through the survey,
  and the rate, as answers come in.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from earnright.config import Config
from earnright.delivery import compose_message_id
from earnright.survey.tokens import link_secret, sign_token
from earnright.warehouse import Warehouse

__all__ = ["link_url", "response_rates", "send_reminders", "survey_links"]

REMINDER_NUMBER = 1


def link_url(config: Config, token: str) -> str:
    return f"{config.survey.base_url}/s/{token}"


def _open_invitations(wh: Warehouse, config: Config, now: datetime) -> ir.Table:
    inv, answers = wh.table("invitations"), wh.table("survey_answers")
    valid_from = ibis.literal(now - config.survey.link_valid, "timestamp")
    live = inv.filter(inv.sent_at > valid_from)
    return live.anti_join(answers, live.invitation_id == answers.invitation_id)


def _with_urls(wh: Warehouse, config: Config, rows: pd.DataFrame) -> pd.DataFrame:
    secret = link_secret(wh)
    expires = rows.sent_at + config.survey.link_valid
    rows = rows.assign(expires_at=expires)
    rows["url"] = [
        link_url(config, sign_token(secret, str(i), e.to_pydatetime()))
        for i, e in zip(rows.invitation_id, expires, strict=True)
    ]
    return rows


def survey_links(
    wh: Warehouse, config: Config, *, now: datetime, since: datetime | None = None
) -> pd.DataFrame:
    """invitation_id and url of every open invitation (sent ``since``, when given)."""
    open_ = _open_invitations(wh, config, now)
    if since is not None:
        open_ = open_.filter(open_.sent_at >= ibis.literal(since, "timestamp"))
    rows = open_.select("invitation_id", "sent_at").order_by(["sent_at", "invitation_id"])
    frame = _with_urls(wh, config, rows.to_pyarrow().to_pandas())
    return frame[["invitation_id", "url"]].reset_index(drop=True)


def send_reminders(wh: Warehouse, config: Config, *, now: datetime) -> pd.DataFrame:
    """Enqueue the reminders due at ``now`` (module doc); the ones enqueued: invitation_id,
    reminder_id and messages (how many outbox rows)."""
    columns = ["invitation_id", "reminder_id", "messages"]
    team = config.owners.get(config.survey.reminders_to)
    if team is None:
        return pd.DataFrame(columns=columns)
    targets = [("webhook", u) for u in team.webhooks] + [("email", a) for a in team.email]
    link_secret(wh)  # made (if need be) before the transaction below
    with wh.transaction():
        wh.lock("survey-reminders")  # PostgreSQL: two runs at once take turns
        open_ = _open_invitations(wh, config, now)
        due = open_.filter(open_.sent_at <= ibis.literal(now - config.survey.remind_after))
        sent = wh.table("survey_reminders")
        due = due.anti_join(sent, due.invitation_id == sent.invitation_id)
        rows = due.select("invitation_id", "unit_id", "customer_id", "sent_at").to_pyarrow()
        frame = _with_urls(wh, config, rows.to_pandas())
        if frame.empty:
            return pd.DataFrame(columns=columns)
        frame["reminder_id"] = frame.invitation_id.astype(str) + f"|{REMINDER_NUMBER}"
        frame["messages"] = len(targets)
        wh.insert("survey_reminders", {
            "reminder_id": frame.reminder_id.tolist(),
            "invitation_id": frame.invitation_id.tolist(),
            "sent_at": [now] * len(frame), "messages": frame.messages.tolist(),
        })  # fmt: skip
        _enqueue(wh, config, frame, targets, now)
    return frame[columns].reset_index(drop=True)


def _enqueue(
    wh: Warehouse, config: Config, frame: pd.DataFrame, targets: list[tuple[str, str]],
    now: datetime,
) -> None:  # fmt: skip
    rows: dict[str, list[object]] = {k: [] for k in ("message_id", "incident_id", "channel",
                                                     "target", "payload")}  # fmt: skip
    records: list[dict[Any, Any]] = frame.to_dict("records")
    for r in records:
        text = f"{config.company.name}: a minute for your opinion? {r['url']}"
        record = {k: r[k] for k in ("invitation_id", "customer_id", "unit_id", "url")}
        record["expires_at"] = r["expires_at"].isoformat()
        payload = json.dumps({"text": text, "event": "reminder", "incident": record})
        for channel, target in targets:
            rows["message_id"].append(
                compose_message_id(r["reminder_id"], "reminder", channel, target)
            )
            rows["incident_id"].append(r["reminder_id"])
            rows["channel"].append(channel)
            rows["target"].append(target)
            rows["payload"].append(payload)
    n = len(rows["message_id"])
    if n:
        fixed = {"event": ["reminder"] * n, "status": ["pending"] * n, "attempts": [0] * n,
                 "next_attempt_at": [now] * n, "created_at": [now] * n}  # fmt: skip
        wh.insert("outbox", rows | fixed)


def response_rates(wh: Warehouse, *, since: datetime | None = None) -> pd.DataFrame:
    """Per store and moment: invitations, answered (through the survey) and response_rate."""
    inv, answers = wh.table("invitations"), wh.table("survey_answers")
    if since is not None:
        inv = inv.filter(inv.sent_at >= ibis.literal(since, "timestamp"))
    joined = inv.left_join(answers, inv.invitation_id == answers.invitation_id)
    grouped = joined.group_by(
        unit_id=joined.unit_id, moment=joined.moment.fill_null("")
    ).aggregate(
        invitations=joined.count(), answered=joined.response_id.count()
    )  # fmt: skip
    frame = grouped.order_by(["unit_id", "moment"]).to_pyarrow().to_pandas()
    frame["moment"] = frame.moment.replace("", None)
    frame["response_rate"] = frame.answered / frame.invitations
    return frame

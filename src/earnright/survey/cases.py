"""Closing the loop: a detractor's answer opens a case that the store's manager must answer.

A detractor (an answer to the NPS question of 0 to 6) opens case ``case-INVITATION`` with an
answer-by time ``[survey] answer_by`` (48 hours by default) after the answer, in the same
transaction as the answer. The store's manager is alerted through the outbox: the ``[owners]``
team ``unit:STORE``, else that of the nearest unit above the store, else ``[survey]
case_owner``; a team without targets gets no message, and the case is opened all the same.

Follow-ups are appended, never edited (``survey_followups``): who did what and when; a follow-up
may close the case. A case is ``open`` until its first follow-up (``overdue`` once its
answer-by time passed), ``followed up`` after one, ``closed`` after one that closes it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from earnright.config import Config
from earnright.delivery import compose_message_id
from earnright.errors import QueryError
from earnright.units import unit_chain
from earnright.warehouse import Warehouse

if TYPE_CHECKING:
    from earnright.survey.invitations import Invitation

__all__ = [
    "CASE_COLUMNS",
    "is_detractor",
    "list_cases",
    "manager_of",
    "open_case",
    "record_followup",
]

CASE_COLUMNS = [
    "case_id", "unit_id", "moment", "customer_id", "ltr", "comment", "manager", "opened_at",
    "answer_by", "status", "overdue", "followups", "last_note", "last_by",
]  # fmt: skip
DETRACTOR_MAX = 6  # NPS: 0-6 detractors


def is_detractor(config: Config, answer: dict[str, Any]) -> bool:
    nps = config.question_of_kind("nps")
    value = answer.get(nps.id) if nps is not None else None
    return value is not None and float(value) <= DETRACTOR_MAX


def manager_of(wh: Warehouse, config: Config, unit_id: str) -> str:
    """The [owners] team alerted of a case at ``unit_id`` (module doc), or ""."""
    for unit, _ in unit_chain(wh, unit_id):
        if f"unit:{unit}" in config.owners:
            return f"unit:{unit}"
    return config.survey.case_owner


def _manager(wh: Warehouse, config: Config, unit_id: str, known: dict[str, str]) -> str:
    if unit_id not in known:
        known[unit_id] = manager_of(wh, config, unit_id)
    return known[unit_id]


def open_case(
    wh: Warehouse, config: Config, invitation: Invitation, answer: dict[str, Any], at: datetime,
    managers: dict[str, str] | None = None,
) -> str | None:  # fmt: skip
    """For a detractor's answer, store the case and enqueue its alert (inside the caller's
    transaction); return the case id, or None for any other answer. ``managers`` remembers
    each unit's manager across the answers of one batch."""
    if not is_detractor(config, answer):
        return None
    nps = config.question_of_kind("nps")
    assert nps is not None
    case = {
        "case_id": f"case-{invitation.invitation_id}",
        "invitation_id": invitation.invitation_id,
        "response_id": answer["response_id"],
        "unit_id": invitation.unit_id,
        "moment": invitation.moment,
        "customer_id": invitation.customer_id,
        "ltr": float(answer[nps.id]),
        "comment": answer.get("comment"),
        "manager": _manager(wh, config, invitation.unit_id, {} if managers is None else managers),
        "opened_at": at,
        "answer_by": at + config.survey.answer_by,
    }
    wh.insert_rows("survey_cases", [case])
    _alert(wh, config, case, invitation.unit_name, at)
    return str(case["case_id"])


def _alert(
    wh: Warehouse, config: Config, case: dict[str, Any], unit_name: str, at: datetime
) -> None:
    owner = config.owners.get(case["manager"])
    if owner is None:
        return
    text = (f"Detractor at {unit_name}: {case['ltr']:g}/10"
            f"{' at ' + case['moment'] if case['moment'] else ''}; answer by "
            f"{case['answer_by']:%Y-%m-%d %H:%M} UTC (case {case['case_id']})")  # fmt: skip
    record = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in case.items()}
    payload = json.dumps({"text": text, "event": "case opened", "incident": record})
    targets = [("webhook", u) for u in owner.webhooks] + [("email", a) for a in owner.email]
    if not targets:
        return
    wh.insert_rows("outbox", [{
        "message_id": compose_message_id(case["case_id"], "case", channel, target),
        "incident_id": case["case_id"], "event": "case", "channel": channel, "target": target,
        "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": at,
        "created_at": at,
    } for channel, target in targets])  # fmt: skip


def list_cases(wh: Warehouse, *, now: datetime, status: str = "all") -> pd.DataFrame:
    """Every case with its status, whether it is overdue at ``now``, and its last follow-up."""
    cases = wh.table("survey_cases").to_pyarrow().to_pandas()
    notes = wh.table("survey_followups").to_pyarrow().to_pandas().sort_values("noted_at")
    last = notes.groupby("case_id").agg(
        followups=("note", "size"), last_note=("note", "last"), last_by=("noted_by", "last"),
        closed=("closes", "max"),
    )  # fmt: skip
    frame = cases.join(last, on="case_id")
    frame["followups"] = frame.followups.fillna(0).astype("int64")
    closed = frame.closed.fillna(0) > 0
    frame["status"] = "open"
    frame.loc[frame.followups > 0, "status"] = "followed up"
    frame.loc[closed, "status"] = "closed"
    frame["overdue"] = (frame.followups == 0) & (frame.answer_by < pd.Timestamp(now))
    if status != "all":
        frame = frame[frame.status == status]
    return frame.sort_values(["answer_by", "case_id"])[CASE_COLUMNS].reset_index(drop=True)


def record_followup(
    wh: Warehouse, case_id: str, note: str, by: str, *, now: datetime, close: bool = False
) -> dict[str, Any]:
    """Append a follow-up to ``case_id``; QueryError for an unknown case or an empty note."""
    if not note.strip() or not by.strip():
        raise QueryError("a follow-up needs a `note` saying what was done and `by` who did it",
                         argument="note")  # fmt: skip
    t = wh.table("survey_cases")
    if not t.filter(t.case_id == case_id).count().execute():
        raise QueryError(f"no case '{case_id}'; `earnright survey cases` lists them",
                         argument="case")  # fmt: skip
    row = {"case_id": case_id, "note": note.strip(), "noted_by": by.strip(), "noted_at": now,
           "closes": int(close)}  # fmt: skip
    with wh.transaction():
        wh.insert("survey_followups", {k: [v] for k, v in row.items()})
    return row

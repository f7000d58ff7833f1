"""A survey answer in: checked by the feedback rules of file ingestion, written once.

:func:`submit_answer` takes a token and the answers (fields named by question id, as the form
and ``POST /api/v1/responses/{token}`` send them):

1. the token must be genuine and unexpired (:mod:`earnright.survey.tokens`) and name an
   invitation; an invitation answered already raises :class:`~earnright.errors.AlreadyAnswered`;
2. the answers become one feedback row (response id ``survey-INVITATION``, the invitation's
   unit, customer and moment, the time of the answer) checked by
   :func:`earnright.ingest.kinds.validate_chunk`, the check every feedback file's rows pass, plus
   the form's own: only this moment's questions and a comment, and at least one answer;
3. a rejected answer is a batch with its row in quarantine (kind feedback, source
   ``survey:CHANNEL``, the reason), and the invitation stays open so the customer can correct it;
4. an accepted one is, in one transaction: a batch, the feedback row (new question columns
   added as a file adds them), the invitation's row in ``survey_answers`` and, for a detractor,
   the case and its alert (:mod:`earnright.survey.cases`). The unique index on
   ``survey_answers`` makes a second answer to the same invitation fail whoever sends it and
   whenever: its transaction rolls back, so it changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from earnright.config import Config
from earnright.errors import AlreadyAnswered, SurveyLinkError
from earnright.ingest.kinds import KINDS, raw_json, validate_chunk
from earnright.survey.cases import open_case
from earnright.survey.form import FormQuestion, form_questions
from earnright.survey.tokens import link_secret, verify_token
from earnright.warehouse import Warehouse

__all__ = ["Invitation", "SubmitResult", "find_invitation", "open_invitation", "submit_answer"]

FEEDBACK = KINDS["feedback"]
MAX_FIELD = 4000


@dataclass(frozen=True)
class Invitation:
    """An invitation as the survey needs it."""

    invitation_id: str
    unit_id: str
    unit_name: str
    customer_id: str | None
    moment: str | None
    sent_at: datetime


@dataclass
class SubmitResult:
    """What became of one submission: ``accepted`` (``response_id``, and ``case_id`` for a
    detractor) or ``quarantined`` (``reasons``, the invitation still open)."""

    status: str
    invitation_id: str
    response_id: str | None = None
    case_id: str | None = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "invitation_id": self.invitation_id,
            "response_id": self.response_id,
            "case_id": self.case_id,
            "reasons": self.reasons,
        }


def _now(now: datetime | None) -> datetime:
    current = now or datetime.now(UTC)
    return current.astimezone(UTC).replace(tzinfo=None) if current.tzinfo else current


def find_invitation(wh: Warehouse, invitation_id: str) -> Invitation | None:
    """The invitation with this id and its unit's name, or None."""
    inv, units = wh.table("invitations"), wh.table("units")
    rows = (
        inv.filter(inv.invitation_id == invitation_id)
        .left_join(units, inv.unit_id == units.unit_id)
        .select(
            inv.invitation_id, inv.unit_id, units.name, inv.customer_id, inv.moment, inv.sent_at
        )
        .limit(1)
        .to_pyarrow()
        .to_pylist()
    )
    if not rows:
        return None
    r = rows[0]
    return Invitation(r["invitation_id"], r["unit_id"], r["name"] or r["unit_id"],
                      r["customer_id"], r["moment"], r["sent_at"])  # fmt: skip


def is_answered(wh: Warehouse, invitation_id: str) -> bool:
    answers = wh.table("survey_answers")
    return bool(answers.filter(answers.invitation_id == invitation_id).count().execute())


def open_invitation(
    wh: Warehouse, config: Config, token: str, *, now: datetime | None = None
) -> tuple[Invitation, list[FormQuestion]]:
    """The invitation a token names and its form's questions; SurveyLinkError for a forged,
    expired or unknown link, AlreadyAnswered once it was answered."""
    invitation_id = verify_token(link_secret(wh), token, now=now)
    invitation = find_invitation(wh, invitation_id)
    if invitation is None:
        raise SurveyLinkError("this survey link names no invitation of this workspace")
    if is_answered(wh, invitation_id):
        raise AlreadyAnswered(f"invitation {invitation_id} was answered already")
    return invitation, form_questions(config, invitation.moment)


def _row(
    invitation: Invitation, answers: Mapping[str, Any], asked: list[str], at: datetime
) -> pd.DataFrame:
    """The answer as the one-row chunk a feedback file would give (text, as read)."""
    row: dict[str, Any] = {
        "_line": 1,
        "response_id": f"survey-{invitation.invitation_id}",
        "unit_id": invitation.unit_id,
        "responded_at": at.isoformat(),
        "customer_id": invitation.customer_id,
        "channel": "survey",  # a survey response, whichever way it came (form or API)
        "moment": invitation.moment,
        "comment": _text(answers.get("comment")),
    }
    row |= {q: _text(answers.get(q)) for q in asked}
    frame = pd.DataFrame([row])
    return frame.astype({c: "string" for c in frame.columns if c != "_line"})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_FIELD]


def _form_problems(answers: Mapping[str, Any], asked: list[str]) -> list[tuple[str, str]]:
    """The form's own rules: only its questions and a comment; at least one answer."""
    allowed = {*asked, "comment"}
    problems = [(k, f"{k}: not a question of this survey") for k in answers if k not in allowed]
    given = [k for k in allowed if str(answers.get(k) or "").strip()]
    if not given:
        problems.append(("(answers)", "(answers): no answer given"))
    return problems


def submit_answer(
    wh: Warehouse,
    config: Config,
    token: str,
    answers: Mapping[str, Any],
    *,
    channel: str = "form",
    now: datetime | None = None,
) -> SubmitResult:
    """Check and write one survey answer (module doc); the token is the authorisation."""
    at = _now(now)
    invitation, questions = open_invitation(wh, config, token, now=now)
    asked = [q.id for q in questions]
    frame = _row(invitation, answers, asked, at)
    good, bad = validate_chunk(FEEDBACK, frame, config, asked, {invitation.unit_id})
    extra = _form_problems(answers, asked)
    if not bad.empty or extra:
        reasons = [*bad.reason.tolist(), *(reason for _, reason in extra)]
        _quarantine(wh, invitation, frame, bad, extra, channel, at)
        return SubmitResult("quarantined", invitation.invitation_id, reasons=reasons)
    return _accept(wh, config, invitation, good.drop(columns="_line"), channel, at)


def _accept(
    wh: Warehouse, config: Config, invitation: Invitation, good: pd.DataFrame, channel: str,
    at: datetime,
) -> SubmitResult:  # fmt: skip
    response_id = str(good.response_id.iloc[0])
    case_id = None
    try:
        with wh.transaction():
            wh.lock("ingest")  # batch ids and new question columns, in turn with file ingests
            batch_id = _next_batch(wh)
            questions = [c for c in good.columns if config.question(c) is not None]
            wh.add_open_columns("feedback", questions, batch_id)
            row = {c: [_value(good[c].iloc[0])] for c in good.columns}
            wh.insert("feedback", row | {"batch_id": [batch_id]})
            wh.insert("survey_answers", {
                "invitation_id": [invitation.invitation_id], "response_id": [response_id],
                "channel": [channel], "answered_at": [at], "batch_id": [batch_id],
            })  # fmt: skip
            _record_batch(wh, invitation, channel, batch_id, accepted=1, at=at)
            answer = {c: _value(good[c].iloc[0]) for c in good.columns}
            case_id = open_case(wh, config, invitation, answer, at)
    except Exception as exc:
        if is_answered(wh, invitation.invitation_id):  # another submission won the race
            message = f"invitation {invitation.invitation_id} was answered already"
            raise AlreadyAnswered(message) from exc
        raise
    return SubmitResult("accepted", invitation.invitation_id, response_id, case_id)


def _value(value: Any) -> Any:
    """A cell as the warehouse takes it: missing (NaN, NA, NaT) as None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def _next_batch(wh: Warehouse) -> int:
    return int(wh.table("batches").batch_id.max().fill_null(0).execute()) + 1


def _record_batch(
    wh: Warehouse, invitation: Invitation, channel: str, batch_id: int, *, accepted: int,
    at: datetime,
) -> None:  # fmt: skip
    digest = hashlib.sha256(f"survey|{invitation.invitation_id}|{at.isoformat()}".encode())
    wh.insert("batches", {
        "batch_id": [batch_id], "kind": ["feedback"], "source": [f"survey:{channel}"],
        "sha256": [digest.hexdigest()], "rows_read": [1], "rows_accepted": [accepted],
        "rows_quarantined": [1 - accepted], "rows_duplicate": [0], "started_at": [at],
        "finished_at": [at],
    })  # fmt: skip


def _quarantine(
    wh: Warehouse, invitation: Invitation, frame: pd.DataFrame, bad: pd.DataFrame,
    extra: list[tuple[str, str]], channel: str, at: datetime,
) -> None:  # fmt: skip
    fields = [*bad.field.tolist(), *(f for f, _ in extra)]
    reasons = [*bad.reason.tolist(), *(r for _, r in extra)]
    with wh.transaction():
        wh.lock("ingest")
        batch_id = _next_batch(wh)
        wh.insert("quarantine", {
            "batch_id": [batch_id], "kind": ["feedback"], "source": [f"survey:{channel}"],
            "line": [1], "field": ["; ".join(fields)], "reason": ["; ".join(reasons)],
            "raw": raw_json(frame).tolist(), "row_key": [f"survey-{invitation.invitation_id}"],
        })  # fmt: skip
        _record_batch(wh, invitation, channel, batch_id, accepted=0, at=at)

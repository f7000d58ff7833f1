"""Survey answers in: checked by the feedback rules of file ingestion, written once.

:func:`submit_answers` takes submissions (a token and the answers, fields named by question id,
as the form and ``POST /api/v1/responses/{token}`` send them), one or many at once (the server
gathers those that arrive together), and gives each its outcome:

1. the token must be genuine and unexpired (:mod:`earnright.survey.tokens`) and name an
   invitation (else :class:`~earnright.errors.SurveyLinkError`); an invitation answered already
   gets :class:`~earnright.errors.AlreadyAnswered`;
2. the answers become feedback rows (response id ``survey-INVITATION``, the invitation's unit,
   customer and moment, channel ``survey``, the time of the answer) checked by the rules every
   feedback file's rows pass (:class:`earnright.ingest.rows.RowRules`: the checks of
   :func:`~earnright.ingest.kinds.validate_chunk`, row by row, microseconds an answer, held to
   the same output by ``tests/ingest/test_rows.py``), free text masked as file ingestion
   masks it; plus the form's own rules: only the moment's questions and a comment, at least
   one answer, no NUL character;
3. in one transaction, as one ingest batch (source ``survey:CHANNEL``): the accepted rows (new
   question columns added as a file adds them), their invitations' rows in ``survey_answers``,
   a detractor's case and its alert (:mod:`earnright.survey.cases`), and the rejected rows in
   quarantine with their reasons (those invitations stay open, to be answered correctly).

The unique index on ``survey_answers`` makes a second answer to an invitation fail whoever
sends it and whenever: the batch's transaction rolls back and its submissions are tried one by
one, so only the late one is refused and nothing else changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Union
from weakref import WeakKeyDictionary

import pandas as pd

from earnright.comments.privacy import FREE_TEXT, QUARANTINE_TEXT, Masker, mask_text
from earnright.config import Config
from earnright.errors import AlreadyAnswered, EarnrightError, SurveyLinkError
from earnright.ingest.kinds import KINDS
from earnright.ingest.rows import RowRules, row_raw
from earnright.survey.cases import open_case
from earnright.survey.form import form_questions
from earnright.survey.invitations import Invitation, answered_among, find_invitations
from earnright.survey.tokens import link_secret, verify_token
from earnright.warehouse import Warehouse

__all__ = [
    "CheckedAnswers",
    "Submission",
    "SubmitResult",
    "answer_row",
    "check_answers",
    "feedback_rules",
    "form_problems",
    "submit_answer",
    "submit_answers",
    "warehouse_value",
]

FEEDBACK = KINDS["feedback"]
Outcome = Union["SubmitResult", EarnrightError]


@dataclass(frozen=True)
class Submission:
    """One submission: the link's token, the answers by question id, and how it came."""

    token: str
    answers: Mapping[str, Any]
    channel: str = "form"


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


def submit_answer(
    wh: Warehouse,
    config: Config,
    token: str,
    answers: Mapping[str, Any],
    *,
    channel: str = "form",
    now: datetime | None = None,
) -> SubmitResult:
    """Check and write one survey answer (module doc); raises what refuses it."""
    outcome = submit_answers(wh, config, [Submission(token, answers, channel)], now=now)[0]
    if isinstance(outcome, EarnrightError):
        raise outcome
    return outcome


def submit_answers(
    wh: Warehouse, config: Config, submissions: Sequence[Submission], *,
    now: datetime | None = None,
) -> list[Outcome]:  # fmt: skip
    """Check and write these answers (module doc): one outcome each, in order."""
    outcomes: list[Outcome | None] = [None] * len(submissions)
    ids: dict[int, str] = {}
    secret = link_secret(wh)
    for k, sub in enumerate(submissions):
        try:
            ids[k] = verify_token(secret, sub.token, now=now)
        except SurveyLinkError as exc:
            outcomes[k] = exc
    found = find_invitations(wh, set(ids.values()))
    answered = answered_among(wh, set(ids.values()))
    live: dict[int, Invitation] = {}
    later: list[int] = []  # a second submission for an invitation in this batch: after it
    for k, invitation_id in ids.items():
        if invitation_id not in found:
            outcomes[k] = SurveyLinkError("this survey link names no invitation of this workspace")
        elif invitation_id in answered:
            outcomes[k] = AlreadyAnswered(f"invitation {invitation_id} was answered already")
        elif invitation_id in {i.invitation_id for i in live.values()}:
            later.append(k)
        else:
            live[k] = found[invitation_id]
    if live:
        _write(wh, config, {k: (submissions[k], inv) for k, inv in live.items()}, now, outcomes)
    for k in later:
        outcomes[k] = submit_answers(wh, config, [submissions[k]], now=now)[0]
    return [o for o in outcomes if o is not None]


def _write(
    wh: Warehouse, config: Config, items: dict[int, tuple[Submission, Invitation]],
    now: datetime | None, outcomes: list[Outcome | None],
) -> None:  # fmt: skip
    """Check and store these submissions in one batch; one by one if that batch fails."""
    try:
        for k, outcome in _store(wh, config, items, _now(now)).items():
            outcomes[k] = outcome
    except Exception:
        if len(items) == 1:
            ((k, (sub, invitation)),) = items.items()
            if answered_among(wh, {invitation.invitation_id}):  # another one won the race
                outcomes[k] = AlreadyAnswered(
                    f"invitation {invitation.invitation_id} was answered already"
                )
                return
            raise
        for k, (sub, _) in items.items():
            outcomes[k] = submit_answers(wh, config, [sub], now=now)[0]


def answer_row(invitation: Invitation, answers: Mapping[str, Any], asked: list[str], line: int,
         at: datetime) -> dict[str, Any]:  # fmt: skip
    """The answer as a feedback file's row would give it (text, as read; the time typed, as
    a Parquet file's)."""
    row: dict[str, Any] = {
        "_line": line,
        "response_id": f"survey-{invitation.invitation_id}",
        "unit_id": invitation.unit_id,
        "responded_at": at,
        "customer_id": invitation.customer_id,
        "channel": "survey",  # a survey response, whichever way it came (form or API)
        "moment": invitation.moment,
        "comment": _text(answers.get("comment")),
    }
    return row | {q: _text(answers.get(q)) for q in asked}


def _text(value: Any) -> str | None:
    """A JSON value as the text a file would hold (a number as written, no cut)."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def form_problems(answers: Mapping[str, Any], asked: list[str]) -> list[tuple[str, str]]:
    """The form's own rules: only its questions and a comment; at least one answer."""
    allowed = {*asked, "comment"}
    problems = [(k, f"{k}: not a question of this survey") for k in answers if k not in allowed]
    given = [k for k in allowed if str(answers.get(k) or "").strip()]
    if not given:
        problems.append(("(answers)", "(answers): no answer given"))
    nul = [k for k in allowed if "\x00" in str(answers.get(k) or "")]
    problems += [(k, f"{k}: contains a NUL character") for k in nul]
    return problems


@dataclass
class CheckedAnswers:
    """A batch's rows after the checks: the accepted ones typed (by submission), the problems
    of the rejected ones (field, reason; by line) and their quarantine rows."""

    accepted: dict[int, dict[str, Any]]
    reasons: dict[int, list[str]]
    quarantine: list[dict[str, Any]] = field(default_factory=list)


_RULES: dict[tuple[int, tuple[str, ...]], tuple[Config, RowRules]] = {}


def feedback_rules(config: Config, questions: Sequence[str]) -> RowRules:
    """File ingestion's feedback checks for these question columns, compiled once per config
    (the invitation's unit was checked when the invitation was ingested)."""
    key = (id(config), tuple(questions))
    found = _RULES.get(key)
    if found is None or found[0] is not config:
        if len(_RULES) > 64:
            _RULES.clear()
        found = _RULES[key] = (config, RowRules(FEEDBACK, config, list(questions), None))
    return found[1]


def check_answers(
    config: Config, items: dict[int, tuple[Submission, Invitation]], at: datetime
) -> CheckedAnswers:
    """Every row checked by file ingestion's feedback rules (:class:`RowRules`, the checks of
    ``validate_chunk``), plus the form's own rules; free text masked as ingestion masks it."""
    rows, form, columns = {}, {}, set()
    for k, (sub, invitation) in items.items():
        asked = [q.id for q in form_questions(config, invitation.moment)]
        columns |= set(asked)
        rows[k] = answer_row(invitation, sub.answers, asked, k + 1, at)
        form[k + 1] = form_problems(sub.answers, asked)
    checked = feedback_rules(config, sorted(columns)).check(rows.values())
    problems = {line: [*found, *form.get(line, [])] for line, found in checked.problems.items()}
    problems |= {line: found for line, found in form.items() if found and line not in problems}
    accepted = {r.pop("_line") - 1: r for r in checked.accepted if r["_line"] not in problems}
    quarantine = [{
        "line": line, "field": "; ".join(f for f, _ in found),
        "reason": "; ".join(r for _, r in found), "raw": row_raw(rows[line - 1]),
        "row_key": rows[line - 1]["response_id"],
    } for line, found in sorted(problems.items())]  # fmt: skip
    if config.privacy.mask_comments:  # as file ingestion does: raw identifiers never stored
        kinds = Masker(config.privacy.identifiers).kinds
        _mask(list(accepted.values()), FREE_TEXT["feedback"], kinds)
        _mask(quarantine, QUARANTINE_TEXT, kinds)
    reasons = {line: [r for _, r in found] for line, found in problems.items()}
    return CheckedAnswers(accepted, reasons, quarantine)


def _mask(rows: list[dict[str, Any]], columns: Sequence[str], kinds: Sequence[str]) -> None:
    """Mask ``columns`` of ``rows`` in place, text by text (the privacy rules' own scalar
    form, :func:`~earnright.comments.privacy.mask_text`: no pandas per answer)."""
    for row in rows:
        for column in columns:
            if row.get(column):
                row[column] = mask_text(row[column], kinds)


def _store(
    wh: Warehouse, config: Config, items: dict[int, tuple[Submission, Invitation]],
    at: datetime,
) -> dict[int, Outcome]:  # fmt: skip
    checked = check_answers(config, items, at)
    reasons = checked.reasons
    channel = next(iter(items.values()))[0].channel
    outcomes: dict[int, Outcome] = {}
    questions = sorted({c for r in checked.accepted.values() for c in r} - set(FEEDBACK.fields))
    with wh.transaction():
        wh.lock("ingest")  # batch ids and new question columns, in turn with file ingests
        batch_id = _next_batch(wh)
        _ensure_questions(wh, [q for q in questions if config.question(q)], batch_id)
        stored = _insert_answers(wh, config, items, checked.accepted, batch_id, at)
        _insert_rejects(wh, checked.quarantine, batch_id, channel)
        _record_batch(wh, channel, batch_id, len(items), len(checked.accepted), at)
    for k, (_, invitation) in items.items():
        if k + 1 in reasons:
            outcomes[k] = SubmitResult("quarantined", invitation.invitation_id,
                                       reasons=reasons[k + 1])  # fmt: skip
        else:
            outcomes[k] = stored[k]
    return outcomes


def _insert_answers(
    wh: Warehouse, config: Config, items: dict[int, tuple[Submission, Invitation]],
    accepted: dict[int, dict[str, Any]], batch_id: int, at: datetime,
) -> dict[int, SubmitResult]:  # fmt: skip
    """The accepted rows, their survey_answers rows and the detractors' cases."""
    if not accepted:
        return {}
    columns = list(dict.fromkeys(c for r in accepted.values() for c in r))
    order = sorted(accepted)
    rows = [{c: accepted[k].get(c) for c in columns} | {"batch_id": batch_id} for k in order]
    wh.insert_rows("feedback", rows)
    results: dict[int, SubmitResult] = {}
    answers: list[dict[str, Any]] = []
    managers: dict[str, str] = {}
    for k, row in zip(order, rows, strict=True):
        sub, invitation = items[k]
        answers.append({"invitation_id": invitation.invitation_id,
                        "response_id": row["response_id"], "channel": sub.channel,
                        "answered_at": at, "batch_id": batch_id})  # fmt: skip
        case_id = open_case(wh, config, invitation, row, at, managers)
        results[k] = SubmitResult("accepted", invitation.invitation_id,
                                  row["response_id"], case_id)  # fmt: skip
    wh.insert_rows("survey_answers", answers)
    return results


def warehouse_value(value: Any) -> Any:
    """A cell as the warehouse takes it: missing (NaN, NA, NaT) as None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value  # numpy scalars as Python ones


def _next_batch(wh: Warehouse) -> int:
    return int(wh.fetch("SELECT COALESCE(MAX(batch_id), 0) + 1 FROM batches")[0][0])


_KNOWN_COLUMNS: WeakKeyDictionary[Warehouse, set[str]] = WeakKeyDictionary()  # columns seen


def _ensure_questions(wh: Warehouse, questions: list[str], batch_id: int) -> None:
    """Add the question columns feedback lacks, as a file's batch would (columns are never
    dropped, so the ones seen once are remembered)."""
    known = _KNOWN_COLUMNS.setdefault(wh, set())
    if set(questions) <= known:
        return
    wh.add_open_columns("feedback", questions, batch_id)
    known |= set(wh.table("feedback").columns)


def _record_batch(
    wh: Warehouse, channel: str, batch_id: int, read: int, accepted: int, at: datetime
) -> None:
    digest = hashlib.sha256(f"survey|{batch_id}|{at.isoformat()}".encode())
    wh.insert_rows("batches", [{
        "batch_id": batch_id, "kind": "feedback", "source": f"survey:{channel}",
        "sha256": digest.hexdigest(), "rows_read": read, "rows_accepted": accepted,
        "rows_quarantined": read - accepted, "rows_duplicate": 0, "started_at": at,
        "finished_at": at,
    }])  # fmt: skip


def _insert_rejects(
    wh: Warehouse, rejects: list[dict[str, Any]], batch_id: int, channel: str
) -> None:
    if rejects:
        source = f"survey:{channel}"
        wh.insert_rows("quarantine", [
            r | {"batch_id": batch_id, "kind": "feedback", "source": source} for r in rejects
        ])  # fmt: skip

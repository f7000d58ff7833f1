"""The invitations a survey answers: looked up by id (several at once), answered or not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from earnright.config import Config
from earnright.errors import AlreadyAnswered, SurveyLinkError
from earnright.survey.form import FormQuestion, form_questions
from earnright.survey.tokens import link_secret, verify_token
from earnright.units import unit_names
from earnright.warehouse import Warehouse, sql_value

__all__ = ["Invitation", "answered_among", "find_invitations", "open_invitation"]


@dataclass(frozen=True)
class Invitation:
    """An invitation as the survey needs it."""

    invitation_id: str
    unit_id: str
    unit_name: str
    customer_id: str | None
    moment: str | None
    sent_at: datetime


def _listed(ids: set[str]) -> str:
    return ", ".join(sql_value(i) for i in sorted(ids))


def find_invitations(wh: Warehouse, ids: set[str]) -> dict[str, Invitation]:
    """The invitations with these ids (one lookup, and one for their units' names)."""
    if not ids:
        return {}
    rows = wh.fetch(
        "SELECT invitation_id, unit_id, customer_id, moment, sent_at FROM invitations "
        f"WHERE invitation_id IN ({_listed(ids)})"
    )
    names = unit_names(wh, {str(r[1]) for r in rows})
    return {
        str(inv): Invitation(
            str(inv), str(unit), names.get(str(unit), str(unit)), customer, moment, sent
        )
        for inv, unit, customer, moment, sent in rows
    }


def answered_among(wh: Warehouse, ids: set[str]) -> set[str]:
    """Those of these invitations answered already."""
    if not ids:
        return set()
    rows = wh.fetch(
        f"SELECT invitation_id FROM survey_answers WHERE invitation_id IN ({_listed(ids)})"
    )
    return {str(r[0]) for r in rows}


def open_invitation(
    wh: Warehouse, config: Config, token: str, *, now: datetime | None = None
) -> tuple[Invitation, list[FormQuestion]]:
    """The invitation a token names and its form's questions; SurveyLinkError for a forged,
    expired or unknown link, AlreadyAnswered once it was answered."""
    invitation_id = verify_token(link_secret(wh), token, now=now)
    found = find_invitations(wh, {invitation_id}).get(invitation_id)
    if found is None:
        raise SurveyLinkError("this survey link names no invitation of this workspace")
    if answered_among(wh, {invitation_id}):
        raise AlreadyAnswered(f"invitation {invitation_id} was answered already")
    return found, form_questions(config, found.moment)

"""``/api/v1``: the same numbers as the command line's JSON, cut to the caller's scope.

Each route parses, authorises (the caller's :class:`~earnright.serve.scope.Scope`), calls one
service of :mod:`earnright.serve.services`, and returns its result. 401: not signed in; 404:
unknown or outside the scope (never told apart); 403: the role lacks the verb; 400: a bad
argument (the message names it); 422: a request that does not parse.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from earnright.periods import Grain
from earnright.serve.auth import Caller, caller_of, check_csrf, client_address
from earnright.serve.services import Services

__all__ = ["DecisionIn", "router"]


class Problem(BaseModel):
    detail: str
    argument: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text}
    for code, text in [
        (401, "not signed in"),
        (403, "the role does not allow it"),
        (404, "unknown, or outside the caller's scope"),
        (400, "a bad argument (an unknown level, a period without data …)"),
    ]
}
router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERRORS)

Row = dict[str, Any]
Period = Annotated[str | None, Query(pattern=r"^\d{4}(-\d{2}|-Q[1-4]|-W\d{2})?$")]
# a filter's value: printable text (no control character reaches a query)
Text = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]


def _caller(request: Request) -> Caller:
    return caller_of(request)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Who = Annotated[Caller, Depends(_caller)]
Svc = Annotated[Services, Depends(_services)]


class DecisionIn(BaseModel):
    """A decision on an issue (``earnright decide``'s arguments; the decider is the caller)."""

    issue: str = Field(min_length=1, max_length=200)
    action: str = Field(min_length=1, max_length=2000)
    kind: str | None = Field(None, max_length=100)
    amount: float | None = Field(None, ge=0, allow_inf_nan=False)
    metric: str | None = Field(None, max_length=100)
    expected: str | None = Field(None, max_length=2000)
    expected_effect: float | None = Field(None, allow_inf_nan=False)


@router.get("/me")
def me(who: Who) -> Row:
    """Who the caller is and what they see."""
    s = who.scope
    units = sorted(s.units) if s.units is not None else None
    moments = sorted(s.moments) if s.moments is not None else None
    return {"user": s.user, "role": s.role.value, "units": units, "moments": moments,
            "decides": s.decides}  # fmt: skip


@router.get("/scorecard")
def scorecard(
    who: Who, svc: Svc, level: str = "store", grain: Grain | None = None, period: Period = None,
    segment: Text = None,
) -> list[Row]:  # fmt: skip
    """``earnright scorecard --format json``: the rows of the units the caller sees; with
    ``segment`` (``ATTRIBUTE=VALUE`` of the customers, e.g. ``platform=web``, or a bare value
    of the ``segment`` attribute) counting that segment's customers' answers and invitations
    only."""
    return svc.scorecard(who.scope, level, grain, period, segment)


@router.get("/rank")
def rank(
    who: Who, svc: Svc, level: str = "store", period: Period = None, segment: Text = None
) -> list[Row]:
    """``earnright rank --format json``: ranked among every peer, the caller's rows only;
    with ``segment``, on that customer segment's answers (as the scorecard's)."""
    return svc.rank(who.scope, level, period, segment)


@router.get("/focus")
def focus(who: Who, svc: Svc, unit: str, period: Period = None) -> list[Row]:
    """``earnright focus UNIT --format json``."""
    return svc.focus(who.scope, unit, period)


@router.get("/units/{unit_id}")
def unit_page(who: Who, svc: Svc, unit_id: str, period: Period = None) -> Row:
    """A unit's page as JSON (the report site's ``page.json``)."""
    return svc.unit_page(who.scope, unit_id, period)


@router.get("/moments/{moment}")
def moment_page(who: Who, svc: Svc, moment: str, period: Period = None) -> Row:
    """A journey moment's page as JSON: its indicators and incidents."""
    return svc.moment_page(who.scope, moment, period)


@router.get("/reliability")
def reliability(who: Who, svc: Svc, period: Period = None) -> Row:
    """``earnright reliability --format json`` for the caller's moments and units."""
    return svc.reliability(who.scope, period)


@router.get("/incidents")
def incidents(
    who: Who, svc: Svc, status: str = "all", moment: Text = None, segment: Text = None,
    period: Period = None,
) -> list[Row]:  # fmt: skip
    """``earnright warnings --format json`` rows the caller sees; of ``moment``, whose
    segment names ``segment`` (``KEY=VALUE``, e.g. ``district=D001``), open at some time in
    ``period`` (``2026-09``, ``2026-Q3``, ``2026-W37``), when given."""
    return svc.incidents(who.scope, status, moment, segment, period)


@router.get("/incidents/{incident_id}")
def incident(who: Who, svc: Svc, incident_id: str) -> Row:
    return svc.incident(who.scope, incident_id)


@router.get("/comments")
def comments(
    who: Who, svc: Svc, unit: Text = None, moment: Text = None, theme: Text = None,
    segment: Text = None, period: Period = None,
) -> list[Row]:  # fmt: skip
    """The newest customer comments the caller sees: under ``unit``, of ``moment``, tagged
    with ``theme``, from customers of ``segment`` (``ATTRIBUTE=VALUE``, or a bare value of the
    ``segment`` attribute), written in ``period`` (``2026-09``, ``2026-Q3``, ``2026-W37``)
    when given."""
    return svc.comments(who.scope, unit, moment, theme=theme, segment=segment, period=period)


@router.get("/comments/{response_id}")
def comment(who: Who, svc: Svc, response_id: str) -> Row:
    return svc.comment(who.scope, response_id)


@router.get("/alerts")
def alerts(who: Who, svc: Svc, incident: Text = None) -> list[Row]:
    """The alerts early warning fired, newest first: those of the incidents the caller sees
    (of ``incident`` when given)."""
    return svc.alerts(who.scope, incident)


@router.get("/alerts/{alert_id}")
def alert(who: Who, svc: Svc, alert_id: str) -> Row:
    return svc.alert(who.scope, alert_id)


@router.get("/assets")
def assets(
    who: Who, svc: Svc, level: str = "store", grain: Grain | None = None, period: Period = None,
    unit: Text = None,
) -> list[Row]:  # fmt: skip
    """``earnright assets --format json``: the customer asset ledger's rows of the units the
    caller sees (of ``unit`` when given)."""
    return svc.assets(who.scope, level, grain, period, unit)


@router.get("/issues")
def issues(who: Who, svc: Svc) -> list[Row]:
    """The issue register's rows the caller sees."""
    return svc.issues(who.scope)


@router.get("/decisions")
def decisions(who: Who, svc: Svc) -> list[Row]:
    """Every decision the caller sees, oldest first."""
    return svc.decisions(who.scope)


@router.get("/decisions/{decision_id}")
def decision(who: Who, svc: Svc, decision_id: str) -> Row:
    return svc.decision(who.scope, decision_id)


@router.post("/decisions", status_code=201)
def decide(
    who: Who,
    svc: Svc,
    body: DecisionIn,
    request: Request,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> Row:
    """Record the caller's decision on an issue they see (audited); signed in by cookie, send
    the session's CSRF token as ``X-CSRF-Token``."""
    check_csrf(who, x_csrf_token)
    details = body.model_dump(exclude={"issue"}, exclude_none=True)
    return svc.decide(who.scope, body.issue, details, client_address(request))

"""The server's pages: sign in and out, a unit's page (the report's, for the person's scope),
a moment's page, incidents, comments and decisions, with the decision form.

Routes parse, authorise (the caller's scope), call one service and render; a unit or object
outside the scope answers 404 as an unknown one does.
"""

from __future__ import annotations

import json
import secrets
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from earnright.serve import users
from earnright.serve.auth import (
    COOKIE,
    SESSION_HOURS,
    Caller,
    caller_of,
    check_csrf,
    client_address,
)
from earnright.serve.layout import bar, document, filters_form, table, with_bar
from earnright.serve.services import Services

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "earnright_login"


def _caller(request: Request) -> Caller:
    return caller_of(request)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Who = Annotated[Caller, Depends(_caller)]
Svc = Annotated[Services, Depends(_services)]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(target: str) -> str:
    """Only a path on this server (no //host, no scheme): never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_form(request: Request, next: str = "/", problem: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    error = f'<p class="error" role="alert">{escape(problem)}</p>' if problem else ""
    body = (
        f'<h1>Sign in</h1>{error}<form method="post" action="/login">'
        f'<input type="hidden" name="csrf" value="{token}">'
        f'<input type="hidden" name="next" value="{escape(_safe_next(next))}">'
        '<label>Name <input name="name" autocomplete="username" required></label>'
        '<label>Password <input name="password" type="password" '
        'autocomplete="current-password" required></label>'
        '<button type="submit">Sign in</button></form>'
    )
    response = HTMLResponse(document("Sign in", body))
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=_secure(request), max_age=3600)  # fmt: skip
    return response


@router.post("/login")
def login(
    request: Request,
    svc: Svc,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in: CSRF by double submit (the form's token equals the login cookie's), at most
    ``login_attempts`` failures per address and name in five minutes (counted in the audit
    log, so across every server process), each attempt audited."""
    address = client_address(request)
    limiter = request.app.state.limiter
    if not csrf or not secrets.compare_digest(csrf, request.cookies.get(LOGIN_COOKIE, "")):
        return _again(next, "The form expired; sign in again.")
    with svc.warehouse(read_only=False) as wh:
        if (wait := limiter.wait(wh, address, name)) > 0:
            users.audit(wh, name, "sign-in refused", "", "too many failed attempts", address)
            page = document("Too many attempts", "<h1>Too many failed sign-ins</h1>"
                            f"<p>Try again in {int(wait) + 1} seconds.</p>")  # fmt: skip
            return HTMLResponse(page, 429, headers={"Retry-After": str(int(wait) + 1)})
        user = users.check_password(wh, name, password)
        if user is None:
            users.audit(wh, name, "sign-in failed", "", "", address)
        else:
            secret, _ = users.start_session(wh, name, SESSION_HOURS)
            users.audit(wh, name, "sign-in", "", "", address)
    if user is None:
        return _again(next, "Wrong name or password.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, secret, httponly=True, samesite="lax", secure=_secure(request),
                        max_age=int(SESSION_HOURS * 3600))  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE)
    return response


def _again(next: str, problem: str) -> Response:
    from urllib.parse import urlencode

    query = urlencode({"next": _safe_next(next), "problem": problem})
    return RedirectResponse(f"/login?{query}", status_code=303)


@router.post("/logout")
def logout(request: Request, who: Who, svc: Svc, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(who, csrf)
    with svc.warehouse(read_only=False) as wh:
        users.end_session(wh, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
def home(who: Who, svc: Svc) -> Response:
    """The person's top page: their unit, the company, or their first moment."""
    s = who.scope
    if s.role.value == "owner":
        first = sorted(s.moments or [])[:1]
        return RedirectResponse(f"/moments/{first[0]}" if first else "/incidents", 303)
    if s.units is not None:
        top = next(iter(u for u in _units_top_down(svc) if u in s.units))
        return RedirectResponse(f"/units/{top}", 303)
    return RedirectResponse(f"/units/{_units_top_down(svc)[0]}", 303)


def _units_top_down(svc: Services) -> list[str]:
    order = {level: i for i, level in enumerate(svc.ws.config.units.levels)}
    units = svc.site.units()
    ranked = sorted(units, key=lambda u: (order.get(u["level"], 99), str(u["unit_id"])))
    return [str(u["unit_id"]) for u in ranked]


@router.get("/units/{unit_id}")
def unit_page(
    who: Who, svc: Svc, unit_id: str, period: str | None = None, moment: str | None = None,
    segment: str | None = None, theme: str | None = None,
) -> Response:  # fmt: skip
    """A unit's report page for the caller's scope; ``moment`` narrows its reliability and
    incidents to one moment, ``segment`` (``KEY=VALUE``) its incidents to those naming it;
    its link to the comments carries ``moment`` and ``theme``."""
    html = svc.unit_html(who.scope, unit_id, period or None, moment or None, segment or None)
    moments = svc.ws.config.journey.moment_ids()
    fields = {"segment": segment, "theme": theme}
    top = bar(who, filters_form(f"/units/{unit_id}", period or "", moment, moments, fields))
    query = urlencode({k: v for k, v in [("unit", unit_id), ("moment", moment),
                                         ("theme", theme)] if v})  # fmt: skip
    comments = f'<p><a href="/comments?{escape(query)}">Customer comments</a></p>'
    page = with_bar(html, top + comments, f"/api/v1/units/{unit_id}")
    return HTMLResponse(page)


@router.get("/moments/{moment}")
def moment_page(who: Who, svc: Svc, moment: str, period: str | None = None) -> Response:
    data = svc.moment_page(who.scope, moment, period or None)
    rows = [
        {"indicator": i["indicator"], "name": i["name"], "target": i["target"]}
        | {k: (i.get("overall") or {}).get(k) for k in ("attainment", "rating", "total")}
        for m in data["reliability"] for i in m["indicators"]
    ]  # fmt: skip
    body = (
        f"<h1>Moment {escape(moment)}, {escape(str(data['period']))}</h1><h2>Indicators</h2>"
        + table(rows, ["indicator", "name", "target", "attainment", "rating", "total"])
        + "<h2>Incidents</h2>"
        + table(
            data["incidents"], ["id", "segment", "status", "severity", "detected_at"], "incidents"
        )
    )
    return HTMLResponse(document(f"Moment {moment}", bar(who) + body))


INCIDENT_COLUMNS = ["id", "moment", "segment", "status", "severity", "detected_at",
                    "customers_affected", "revenue_at_risk"]  # fmt: skip


@router.get("/incidents")
def incidents_page(
    who: Who, svc: Svc, status: str = "all", moment: str | None = None,
    segment: str | None = None, period: str | None = None,
) -> Response:  # fmt: skip
    rows = svc.incidents(who.scope, status, moment or None, segment or None, period or None)
    form = filters_form("/incidents", period or "", moment, svc.ws.config.journey.moment_ids(),
                        {"segment": segment})  # fmt: skip
    body = "<h1>Incidents</h1>" + form + table(rows, INCIDENT_COLUMNS, "incidents")
    return HTMLResponse(document("Incidents", bar(who) + body))


ALERT_COLUMNS = ["alert_id", "incident_id", "indicator", "segment", "rule", "severity",
                 "fired_at", "score"]  # fmt: skip


@router.get("/alerts")
def alerts_page(who: Who, svc: Svc, incident: str | None = None) -> Response:
    rows = svc.alerts(who.scope, incident or None)
    body = "<h1>Alerts</h1>" + table(rows, ALERT_COLUMNS, "alerts")
    return HTMLResponse(document("Alerts", bar(who) + body))


@router.get("/alerts/{alert_id}")
def alert_page(who: Who, svc: Svc, alert_id: str) -> Response:
    row = svc.alert(who.scope, alert_id)
    body = f"<h1>Alert {escape(alert_id)}</h1>" + _fields(row)
    return HTMLResponse(document(f"Alert {alert_id}", bar(who) + body))


@router.get("/incidents/{incident_id}")
def incident_page(who: Who, svc: Svc, incident_id: str) -> Response:
    row = svc.incident(who.scope, incident_id)
    body = f"<h1>Incident {escape(incident_id)}</h1>" + _fields(row)
    return HTMLResponse(document(f"Incident {incident_id}", bar(who) + body))


@router.get("/comments")
def comments_page(
    who: Who, svc: Svc, unit: str | None = None, moment: str | None = None,
    theme: str | None = None, segment: str | None = None, period: str | None = None,
) -> Response:  # fmt: skip
    rows = svc.comments(who.scope, unit or None, moment or None, theme=theme or None,
                        segment=segment or None, period=period or None)  # fmt: skip
    title = f"Comments at {unit}" if unit else "Comments"
    fields = {"unit": unit, "theme": theme, "segment": segment}
    moments = svc.ws.config.journey.moment_ids()
    form = filters_form("/comments", period or "", moment, moments, fields)
    body = (
        f"<h1>{escape(title)}</h1>"
        + form
        + table(rows, ["responded_at", "unit_id", "moment", "comment", "response_id"], "comments")
    )
    return HTMLResponse(document(title, bar(who) + body))


@router.get("/comments/{response_id}")
def comment_page(who: Who, svc: Svc, response_id: str) -> Response:
    row = svc.comment(who.scope, response_id)
    body = f"<h1>Comment {escape(response_id)}</h1>" + _fields(row)
    return HTMLResponse(document("Comment", bar(who) + body))


@router.get("/decisions")
def decisions_page(who: Who, svc: Svc) -> Response:
    """Decisions seen, and the open issues with a form to decide each (deciders only)."""
    rows = svc.decisions(who.scope)
    cols = ["decision_id", "issue_id", "unit_id", "moment", "action", "decided_by", "decided_at"]
    body = "<h1>Decisions</h1>" + table(rows, cols, "decisions")
    if who.scope.decides:
        open_issues = [i for i in svc.issues(who.scope) if i.get("status") != "decided"]
        body += "<h2>Decide an issue</h2>" + "".join(_decide_form(who, i) for i in open_issues)
    return HTMLResponse(document("Decisions", bar(who) + body))


@router.get("/decisions/{decision_id}")
def decision_page(who: Who, svc: Svc, decision_id: str) -> Response:
    row = svc.decision(who.scope, decision_id)
    body = f"<h1>Decision {escape(decision_id)}</h1>" + _fields(row)
    return HTMLResponse(document("Decision", bar(who) + body))


@router.post("/decisions")
def decide(
    request: Request,
    who: Who,
    svc: Svc,
    issue: Annotated[str, Form()],
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(who, csrf)
    made = svc.decide(who.scope, issue, {"action": action}, client_address(request))
    return RedirectResponse(f"/decisions/{made['decision_id']}", status_code=303)


def _decide_form(who: Caller, issue: dict[str, Any]) -> str:
    issue_id = escape(str(issue["issue_id"]))
    return (
        f'<form method="post" action="/decisions"><fieldset><legend>{issue_id}: '
        f"{escape(str(issue.get('title') or ''))} ({escape(str(issue.get('unit_id')))})</legend>"
        f'<input type="hidden" name="csrf" value="{escape(who.csrf or "")}">'
        f'<input type="hidden" name="issue" value="{issue_id}">'
        f'<label>Action <input name="action" required size="60"></label>'
        '<button type="submit">Decide</button></fieldset></form>'
    )


def _fields(row: dict[str, Any]) -> str:
    cells = "".join(
        f'<tr><th scope="row">{escape(str(k))}</th><td>{escape(_text(v))}</td></tr>'
        for k, v in row.items()
    )
    return f"<table>{cells}</table>"


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)

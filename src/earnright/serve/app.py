"""The server's ASGI app: ``create_app(workspace) -> FastAPI``.

Routes come from :mod:`earnright.serve.pages` (HTML), :mod:`earnright.serve.rest` (``/api/v1``)
the survey customers answer (:func:`earnright.serve.survey_routes.survey_router`, public: its
links carry their own authorisation), and any extra routers: those in :data:`EXTRA_ROUTERS` and
those passed as ``routers``. An extra router reaches the
workspace's services through ``request.app.state.services`` and the signed-in person through
:func:`earnright.serve.auth.caller_of`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.middleware.base import RequestResponseEndpoint

from earnright.errors import EarnrightError
from earnright.serve.auth import LoginLimiter, SignInNeeded
from earnright.serve.services import NotAllowed, OutOfScope, Services

if TYPE_CHECKING:
    from fastapi import APIRouter

    from earnright.api.workspace import Workspace

__all__ = ["EXTRA_ROUTERS", "SECURITY_HEADERS", "app_from_environment", "create_app"]

# Routers every app includes after its own and the survey's.
EXTRA_ROUTERS: list[APIRouter] = []

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def create_app(
    workspace: Workspace,
    routers: Sequence[APIRouter] = (),
    refresh: float = 30.0,
    login_attempts: int = 5,
) -> FastAPI:
    """The server over ``workspace``: pages, ``/api/v1``, ``/openapi.json``, and ``routers``.
    ``refresh``: seconds a page may lag new data (:mod:`earnright.serve.site_cache`)."""
    from earnright.serve import pages, rest
    from earnright.serve.survey_routes import survey_router

    survey = survey_router(workspace.location)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        survey.service.close()  # type: ignore[attr-defined]

    app = FastAPI(
        lifespan=lifespan,
        title="earnright",
        version="1",
        description="The scorecard, ranking, focus, incidents and decisions each signed-in "
        "person may see. Sign in with `Authorization: Bearer TOKEN` (earnright tokens create).",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = Services(workspace, refresh)
    app.state.limiter = LoginLimiter(login_attempts)
    app.include_router(rest.router)
    app.include_router(pages.router)
    app.include_router(survey)
    for router in [*EXTRA_ROUTERS, *routers]:
        app.include_router(router)
    _handle_errors(app)

    @app.middleware("http")
    async def secure_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


WORKSPACE_VARIABLE = "EARNRIGHT_SERVE_WORKSPACE"
REFRESH_VARIABLE = "EARNRIGHT_SERVE_REFRESH"


def app_from_environment() -> FastAPI:
    """The app of the workspace ``$EARNRIGHT_SERVE_WORKSPACE`` (``refresh`` from
    ``$EARNRIGHT_SERVE_REFRESH``): what each process of ``earnright serve --workers N`` runs
    (uvicorn imports it by name)."""
    import os

    import earnright

    ws = earnright.open_workspace(os.environ[WORKSPACE_VARIABLE])
    return create_app(ws, refresh=float(os.environ.get(REFRESH_VARIABLE, "30")))


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _handle_errors(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def sign_in(request: Request, exc: SignInNeeded) -> Response:
        if _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"}
            return JSONResponse({"detail": str(exc)}, status_code=401, headers=headers)
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(EarnrightError)
    async def refused(request: Request, exc: EarnrightError) -> Response:
        status = 404 if isinstance(exc, OutOfScope) else 403 if isinstance(exc, NotAllowed) else 400
        if _is_api(request):
            return JSONResponse({"detail": str(exc), "argument": exc.argument}, status)
        from earnright.serve.layout import message_page

        return message_page(request, status, str(exc))

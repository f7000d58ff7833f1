"""The survey's public routes: the token in the path is the authorisation (docs/survey.md).

- ``GET /s/{token}``: the form of the invitation's moment (200); a link that is not valid
  answers 404, an expired one 410, an answered one 409, each with a page saying so;
- ``POST /s/{token}``: the form's fields (``ltr``, ``osat``, ``q_…``, ``comment``); 200 and a
  thank-you page when accepted, 422 and the form again with the reasons when the answers break
  the feedback ingestion rules (the row is quarantined, the invitation stays open), 409 when it
  was answered already (nothing changes);
- ``POST /api/v1/responses/{token}``: the same fields as a JSON object (kiosks, SMS gateways);
  201 ``{status: accepted, response_id, case_id}``, 422 ``{status: quarantined, reasons}``, 409,
  404 and 410 ``{detail}``.

The routes parse, call one function of :mod:`earnright.survey` in a worker thread, and render.
Answers go through a :class:`Gatherer`: one worker thread takes every answer waiting (up to
``MAX_GATHER``) and writes them with one :func:`~earnright.survey.submit_answers` call, one check
and one transaction, so a burst costs a few batches rather than a transaction each (batches
take the ingest lock in turn anyway, so more workers would only contend). Every page
is sent with a Content-Security-Policy that allows no script at all, no referrer (the token is
in the URL) and no caching. Warehouse connections come from a small pool (PostgreSQL:
``pool_size`` connections; DuckDB: one, the file's only writer).
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from earnright.config import Config
from earnright.errors import AlreadyAnswered, EarnrightError, SurveyLinkError
from earnright.survey import (
    Submission,
    SubmitResult,
    open_invitation,
    render_form,
    render_message,
    submit_answers,
)
from earnright.warehouse import Warehouse
from earnright.warehouse.dialect import DuckDB, dialect_for
from earnright.workspace import Workspace

__all__ = ["Gatherer", "SurveyService", "WarehousePool", "survey_router"]

T = TypeVar("T")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
MAX_BODY = 64 * 1024
MAX_GATHER = 256


class WarehousePool:
    """Up to ``size`` open warehouses shared by the request threads, one request at a time each."""

    def __init__(self, workspace: Workspace, size: int) -> None:
        self.workspace, self.size = workspace, size
        self.idle: queue.LifoQueue[Warehouse] = queue.LifoQueue()
        self.made: list[Warehouse] = []
        self.lock = threading.Lock()

    @contextmanager
    def warehouse(self) -> Iterator[Warehouse]:
        wh = self._take()
        try:
            yield wh
        finally:
            self.idle.put(wh)

    def _take(self) -> Warehouse:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            pass
        with self.lock:
            if len(self.made) < self.size:
                wh = self.workspace.warehouse()
                self.made.append(wh)
                return wh
        return self.idle.get()

    def close(self) -> None:
        for wh in self.made:
            wh.close()
        self.made.clear()


class Gatherer:
    """Worker threads that write the answers waiting together (module doc)."""

    def __init__(self, pool: WarehousePool, config: Config, workers: int) -> None:
        self.pool, self.config = pool, config
        self.waiting: queue.Queue[tuple[Submission, Future[Any]] | None] = queue.Queue()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]
        for thread in self.threads:
            thread.start()

    async def submit(self, submission: Submission) -> SubmitResult:
        """The outcome of one answer; raises what refused it."""
        future: Future[Any] = Future()
        self.waiting.put((submission, future))
        outcome = await asyncio.wrap_future(future)
        if isinstance(outcome, EarnrightError):
            raise outcome
        return outcome

    def _work(self) -> None:
        while True:
            first = self.waiting.get()
            if first is None:
                return
            items = [first]
            while len(items) < MAX_GATHER:
                try:
                    more = self.waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.waiting.put(None)  # for this thread's next turn
                    break
                items.append(more)
            self._write(items)

    def _write(self, items: list[tuple[Submission, Future[Any]]]) -> None:
        try:
            with self.pool.warehouse() as wh:
                outcomes = submit_answers(wh, self.config, [s for s, _ in items])
        except Exception as exc:  # one failure answers every waiting request (a 500 each)
            for _, future in items:
                future.set_exception(exc)
            return
        for (_, future), outcome in zip(items, outcomes, strict=True):
            future.set_result(outcome)

    def close(self) -> None:
        for _ in self.threads:
            self.waiting.put(None)
        for thread in self.threads:
            thread.join(timeout=10)


class SurveyService:
    """What the routes share: the warehouse pool and the answers' gatherer."""

    def __init__(self, workspace: Workspace, pool_size: int) -> None:
        size = 1 if dialect_for(workspace.config.warehouse.url) is DuckDB else pool_size
        self.config = workspace.config
        self.pool = WarehousePool(workspace, size)
        self.gatherer = Gatherer(self.pool, self.config, 1)

    def close(self) -> None:
        """Stop the workers and close the connections (on the app's shutdown)."""
        self.gatherer.close()
        self.pool.close()


def _page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _refusal(exc: Exception) -> tuple[int, str]:
    """The status and message key of a link that cannot be answered."""
    if isinstance(exc, AlreadyAnswered):
        return 409, "already"
    if isinstance(exc, SurveyLinkError) and exc.expired:
        return 410, "expired"
    return 404, "invalid"


_OBJECT = {"application/json": {"schema": {"type": "object"}}}
# what a refused answer gets: {"detail": …} or, for answers that break a rule, the stored
# outcome with its reasons (FastAPI's own 422 body, a list of validation errors, never comes)
_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "the link is not valid", "content": _OBJECT},
    409: {"description": "the invitation was answered already", "content": _OBJECT},
    410: {"description": "the link has expired", "content": _OBJECT},
    422: {
        "description": "not a JSON object of answers, or answers that break a rule (kept in "
        "quarantine with their reasons)",
        "content": _OBJECT,
    },
}


def survey_router(workspace: Workspace, *, pool_size: int = 4) -> APIRouter:
    """The survey's routes over ``workspace`` (module doc); ``router.service`` holds the
    connections and the workers (close it on the app's shutdown)."""
    service = SurveyService(workspace, pool_size)
    config = service.config
    router = APIRouter(tags=["survey"])

    async def run(work: Callable[[Warehouse], T]) -> T:
        def job() -> T:
            with service.pool.warehouse() as wh:
                return work(wh)

        return await run_in_threadpool(job)

    @router.get("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def show_form(token: str) -> Response:
        try:
            invitation, questions = await run(lambda wh: open_invitation(wh, config, token))
        except (SurveyLinkError, AlreadyAnswered) as exc:
            status, key = _refusal(exc)
            return _page(render_message(config, key), status)
        html = render_form(config, questions, action=f"/s/{token}", unit_name=invitation.unit_name)
        return _page(html)

    @router.post("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def submit_form(token: str, request: Request) -> Response:
        form = await request.form()
        answers = {k: v for k, v in form.items() if isinstance(v, str)}
        return await _form_answer(service, run, token, answers)

    @router.post("/api/v1/responses/{token}", status_code=201, responses=_REFUSALS)
    async def submit_json(token: str, request: Request) -> JSONResponse:
        """Answer the survey of the invitation ``token`` names: a JSON object of answers named
        by question id (``ltr``, ``osat``, ``q_…``, ``comment``)."""
        answers = await _json_answers(request)
        if answers is None:
            detail = "expected a JSON object of answers named by question id"
            return JSONResponse({"detail": detail}, status_code=422, headers=HEADERS)
        try:
            result = await service.gatherer.submit(Submission(token, answers, "api"))
        except (SurveyLinkError, AlreadyAnswered) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=_refusal(exc)[0], headers=HEADERS)
        status = 201 if result.status == "accepted" else 422
        return JSONResponse(result.to_dict(), status_code=status, headers=HEADERS)

    router.service = service  # type: ignore[attr-defined]
    return router


async def _form_answer(
    service: SurveyService, run: Callable[[Callable[[Warehouse], Any]], Any], token: str,
    answers: dict[str, str],
) -> Response:  # fmt: skip
    """The page after a form's answers: thanks, or the form again with the reasons."""
    config = service.config
    try:
        result = await service.gatherer.submit(Submission(token, answers, "form"))
        if result.status == "accepted":
            return _page(render_message(config, "thanks"))
        invitation, questions = await run(lambda wh: open_invitation(wh, config, token))
    except (SurveyLinkError, AlreadyAnswered) as exc:
        status, key = _refusal(exc)
        return _page(render_message(config, key), status)
    html = render_form(
        config, questions, action=f"/s/{token}", unit_name=invitation.unit_name,
        values=answers, errors=result.reasons,
    )  # fmt: skip
    return _page(html, 422)


async def _json_answers(request: Request) -> dict[str, Any] | None:
    body = await request.body()
    if len(body) > MAX_BODY:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): v for k, v in data.items()}

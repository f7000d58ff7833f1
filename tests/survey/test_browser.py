"""A customer answers the survey on a phone in Debian's headless Chromium; a hostile comment
shown back is text (the page is loaded with its CSP bypassed, so only escaping protects it)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import uvicorn
from fastapi import FastAPI

from earnright.serve.survey_routes import survey_router
from earnright.survey import link_secret, sign_token
from earnright.workspace import Workspace
from tests.report.conftest import ARGS, CHROMIUM
from tests.survey.conftest import NOW

PHONE = {"width": 390, "height": 844}
HOSTILE = '</textarea><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@pytest.fixture
def server(survey_ws: Workspace) -> Iterator[str]:
    app = FastAPI()
    router = survey_router(survey_ws)
    app.include_router(router)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(100):
        if running.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)
    router.service.close()  # type: ignore[attr-defined]


def _token(ws: Workspace, invitation: str) -> str:
    with ws.warehouse() as wh:
        return sign_token(link_secret(wh), invitation, NOW + timedelta(days=365))


@pytest.fixture
def phone() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True
        )
        try:
            yield context.new_page()
        finally:
            browser.close()


def test_a_customer_answers_on_a_phone_with_the_keyboard_and_taps(
    server: str, survey_ws: Workspace, phone: object
) -> None:
    from playwright.sync_api import Page

    page: Page = phone  # type: ignore[assignment]
    page.goto(f"{server}/s/{_token(survey_ws, 'inv-1')}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.keyboard.press("Tab")  # into the first scale (ltr): arrows choose
    assert page.evaluate("document.activeElement.name") == "ltr"
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")  # the next scale (osat)
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.get_by_role("group", name="q_wait").get_by_text("2", exact=True).tap()
    page.get_by_label("Anything you would like to tell us?").fill("Friendly " + HOSTILE)
    page.get_by_role("button", name="Send").press("Enter")
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Thank you! Your answer was received."
    with survey_ws.warehouse() as wh:
        row = wh.table("feedback").execute().iloc[0]
    assert (row.ltr, row.osat, row.q_wait, row.comment) == (9.0, 4.0, 2.0, "Friendly " + HOSTILE)


def test_a_hostile_comment_shown_back_runs_nothing(
    server: str, survey_ws: Workspace, phone: object
) -> None:
    from playwright.sync_api import Page, Route

    page: Page = phone  # type: ignore[assignment]
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    def out_of_scale(route: Route) -> None:  # a post the form cannot make: ltr=12
        from urllib.parse import urlencode

        route.continue_(post_data=urlencode({"ltr": "12", "comment": HOSTILE}))

    page.route("**/s/*", lambda r: out_of_scale(r) if r.request.method == "POST" else r.continue_())
    page.goto(f"{server}/s/{_token(survey_ws, 'inv-2')}")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    assert "ltr: out of scale: 12.0" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Anything you would like to tell us?").input_value() == HOSTILE
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
    assert page.evaluate("window.pwned === undefined") and dialogs == []

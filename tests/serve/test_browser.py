"""In Debian's headless Chromium against a running server: sign in, drill down, be refused
another store's page; a comment holding markup shows as text and runs nothing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.report.conftest import ARGS, CHROMIUM
from tests.serve.conftest import PASSWORD, XSS, Planted

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(app: Any) -> Iterator[str]:
    """The app on a free port of 127.0.0.1, in a thread, for the module."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(100):
        if running.started:
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


def _sign_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_sign_in_drill_down_and_be_refused(server: str, browser: Any, planted: Planted) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    _sign_in(page, server, "district_manager")
    assert page.url.endswith(f"/units/{planted.own_district}")
    page.get_by_role("link", name=_store_name(page, planted.own_store)).first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/units/{planted.own_store}")
    assert planted.own_store in page.locator("h1").inner_text()
    answer = page.goto(f"{server}/units/{planted.other_store}")
    assert answer is not None and answer.status == 404
    assert planted.other_store not in page.locator("body").inner_text().replace(
        f"no unit '{planted.other_store}'", ""
    )
    page.close()


def _store_name(page: Any, unit_id: str) -> str:
    """The name the district's page links the store by (its children list)."""
    names = page.eval_on_selector_all(
        f'a[href="/units/{unit_id}"]', "els => els.map(e => e.textContent)"
    )
    assert names, f"no link to {unit_id}"
    return str(names[0])


@pytest.mark.parametrize("path", ["/comments", "/comments/R-own", "/comments/R-other"])
def test_a_comment_with_markup_is_text_and_runs_nothing(
    server: str, browser: Any, path: str
) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _sign_in(page, server, "admin")
    page.goto(server + path)
    text = page.locator("body").inner_text()
    shown = [x for x in XSS if x in text]
    assert shown, "the comment is not shown as its own text"
    assert page.evaluate("window.__pwned") is None
    assert page.locator("body script, body img").count() == 0
    assert dialogs == []
    page.close()


def test_escaping_alone_stops_the_script(app: Any, planted: Planted, browser: Any) -> None:
    """Without the Content-Security-Policy header (the page's HTML set into a blank page), the
    comments still run nothing: the escaping does the work, the header is a second wall."""
    client = TestClient(app, headers={"Authorization": f"Bearer {planted.tokens['admin']}"})
    client.cookies.clear()
    from tests.serve.conftest import sign_in

    assert sign_in(client, "admin").status_code == 303
    html = client.get("/comments").text
    page = browser.new_page()
    page.set_content(html)
    assert page.evaluate("window.__pwned") is None
    assert XSS[0] in page.locator("body").inner_text()
    page.close()

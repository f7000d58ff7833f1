"""Page tests: open a page in Debian's headless Chromium with the network cut."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

OfflinePage = Callable[[Path, list[str]], AbstractContextManager[Any]]


@contextmanager
def _open_offline(path: Path, requests: list[str]) -> Iterator[Any]:
    """The page at ``path``, every request it makes appended to ``requests`` (web ones fail)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.route("http*://**/*", lambda route: route.abort())
        page.goto(path.as_uri())
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def offline_page() -> OfflinePage:
    return _open_offline

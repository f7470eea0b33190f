"""Open HTML in headless Chromium, for tests that must see a page as a browser does.

The browser is Debian's `chromium` package (`.ci/run` installs it): playwright's pip package is
installed, but none of its own downloaded browsers, so the executable is always passed. Where
chromium is missing, `require_chromium()` skips the test, unless `IRO_REQUIRE_BROWSER=1` (set by
CI), where it fails.

    with open_page(path) as (page, console_errors, requests):
        assert page.locator("svg").first.is_visible()

`open_page` uses playwright's sync API, which refuses to run inside a running event loop: from an
`async def` test, use `open_page_async` instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page as AsyncPage
from playwright.async_api import async_playwright
from playwright.sync_api import Page, sync_playwright

ARTIFACTS = Path(__file__).parent / "artifacts"
"""Screenshots and PDFs tests leave for a person to look at (git-ignored)."""

LAUNCH_ARGS = ["--no-sandbox"]
MISSING = "Debian's chromium is not installed"


def chromium() -> str | None:
    return shutil.which("chromium")


def require_chromium() -> str:
    """The chromium executable; skips the test where there is none, fails when CI requires one."""
    executable = chromium()
    if executable is None:
        if os.environ.get("IRO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{MISSING}, and IRO_REQUIRE_BROWSER=1 requires it")
        pytest.skip(MISSING)
    return executable


def url_of(url_or_path: str | Path) -> str:
    """A URL as given, or a file's file:// URL."""
    if isinstance(url_or_path, str) and "://" in url_or_path:
        return url_or_path
    return Path(url_or_path).resolve().as_uri()


@contextmanager
def open_page(
    url_or_path: str | Path, *, viewport: tuple[int, int] = (1200, 900)
) -> Iterator[tuple[Page, list[str], list[str]]]:
    """The loaded page, the text of each console error, and the URL of every request it made."""
    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url_of(url_or_path), wait_until="load")
            yield page, errors, requests
        finally:
            browser.close()


@asynccontextmanager
async def open_page_async(
    url_or_path: str | Path, *, viewport: tuple[int, int] = (1200, 900)
) -> AsyncIterator[tuple[AsyncPage, list[str], list[str]]]:
    """`open_page` for `async def` tests."""
    executable = require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            page = await browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            await page.goto(url_of(url_or_path), wait_until="load")
            yield page, errors, requests
        finally:
            await browser.close()

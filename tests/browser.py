"""Shared helpers for the real-browser tests: Debian's Chromium driven by Playwright, against the real app.

Never downloads a browser: Chromium must be at /usr/bin/chromium. Without it the browser tests fail when the
`CI` environment variable is set (a CI machine must run them) and are skipped otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.harness import ROOT, RunningApp

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHATKIT_JS = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
NO_TOKEN_SENTENCE = "Open ChatKit Desktop from its window (or the address printed by chatkit-desktop serve)."


def require_chromium() -> None:
    """Fail (on CI) or skip (elsewhere) when Debian's Chromium is not installed."""
    if CHROMIUM.exists():
        return
    message = f"Chromium is not installed at {CHROMIUM} (Debian package `chromium`); the browser tests need it."
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """A headless Chromium for one test module."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def page_url(app: RunningApp, token: str | None = None) -> str:
    """The address the desktop window opens: the page with the launch token."""
    return f"{app.base}/?token={token or app.token}"


def block_chatkit(context_or_page: BrowserContext | Page) -> None:
    """Make chatkit.js fail at once (as it does offline), so the built-in face takes over without waiting."""
    context_or_page.route(CHATKIT_JS, lambda route: route.abort())


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot under test-output/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path

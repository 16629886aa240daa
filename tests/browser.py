"""Shared helpers for the real-browser tests: Debian's Chromium driven by Playwright, against the real app, and
what a user does in the built-in face (open it, send, wait for the answer, open Settings). The fixtures that
use them (`browser`, `context`, `watch`, `page`) are in tests/conftest.py.

Never downloads a browser: Chromium must be at /usr/bin/chromium. Without it the browser tests fail when the
`CI` environment variable is set (a CI machine must run them) and are skipped otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.harness import ROOT, RunningApp

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

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
WIDE: ViewportSize = {"width": 1100, "height": 760}
ANSWER_TIMEOUT = 30_000


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


class Watch:
    """What a page did that a user would never want: JS dialogs, uncaught errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


def open_builtin(page: Page, app: RunningApp) -> Page:
    """Open the page as the desktop window does and wait for the built-in face and its model list."""
    page.goto(page_url(app))
    expect(page.locator(".builtin")).to_be_visible(timeout=10_000)
    expect(page.locator(".model-picker option").first).to_be_attached()
    return page


def send(page: Page, text: str) -> None:
    """Type a message and press Enter, like a user."""
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def wait_idle(page: Page) -> None:
    """Wait until no answer is streaming (the send button is back)."""
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=ANSWER_TIMEOUT)


def last_answer(page: Page) -> Any:
    return page.locator(".msg-assistant .md").last


def active_thread_id(page: Page) -> str:
    row = page.locator(".thread.active")
    expect(row).to_have_count(1)
    return row.get_attribute("data-id") or ""


def open_settings(page: Page) -> Any:
    page.get_by_role("button", name="Settings").click()
    dialog = page.locator("dialog.settings")
    expect(dialog).to_be_visible()
    return dialog

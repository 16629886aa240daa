"""The page's start in a real browser (Debian's Chromium, Playwright) against the real app: the launch token,
which face shows, "Starting…" while the model layer loads, and what a page opened without the token says.

The test machine has no internet, so chatkit.js never loads and the built-in face is what users get here.
Most tests make the CDN request fail at once (as it does offline) to skip the wait; one lets it fail on its
own and one makes it hang, proving the fallback happens within the timeout.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import (
    ANSWER_TIMEOUT,
    CHATKIT_JS,
    NO_TOKEN_SENTENCE,
    WIDE,
    block_chatkit,
    last_answer,
    open_builtin,
    open_settings,
    page_url,
    screenshot,
    send,
)
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, start_app

LOAD_TIMEOUT_S = 4.0  # web/face-chatkit.js LOAD_TIMEOUT_MS


def test_token_is_taken_from_the_address_and_removed(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    assert "token" not in page.url
    assert page.url == f"{app.base}/"
    assert page.evaluate("sessionStorage.getItem('chatkit-desktop-token')") == app.token
    # A reload (no token in the address any more) still works: the token was kept for this window.
    page.reload()
    expect(page.locator(".builtin")).to_be_visible(timeout=10_000)
    expect(page.get_by_text(NO_TOKEN_SENTENCE)).to_have_count(0)
    expect(page).to_have_title("ChatKit Desktop")
    assert page.locator('meta[name="color-scheme"]').get_attribute("content") == "light dark"
    assert page.locator('link[rel="icon"]').get_attribute("href") == "/favicon.svg"


def test_builtin_face_takes_over_when_chatkit_cannot_load(browser: Browser, app: RunningApp) -> None:
    """No routing: the CDN is simply unreachable from here, as on an offline machine."""
    ctx = browser.new_context(viewport=WIDE)
    try:
        page = ctx.new_page()
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        started = time.monotonic()
        page.goto(page_url(app))
        expect(page.locator(".builtin")).to_be_visible(timeout=(LOAD_TIMEOUT_S + 4) * 1000)
        took = time.monotonic() - started
        assert CHATKIT_JS in asked, "the page did not even try ChatKit"
        assert took < LOAD_TIMEOUT_S + 3, f"the built-in face took {took:.1f} s"
        expect(page.locator(".face-note")).to_contain_text("Built-in view — ChatKit could not be loaded")
        expect(page.locator("openai-chatkit")).to_have_count(0)
    finally:
        ctx.close()


def test_builtin_face_takes_over_when_chatkit_hangs(browser: Browser, app: RunningApp) -> None:
    """A firewall that swallows the request: the page gives up on ChatKit after its timeout, not never."""
    ctx = browser.new_context(viewport=WIDE)
    held: list[Any] = []
    ctx.route(CHATKIT_JS, lambda route: held.append(route))  # never answered
    try:
        page = ctx.new_page()
        started = time.monotonic()
        page.goto(page_url(app))
        expect(page.locator(".builtin")).to_be_visible(timeout=(LOAD_TIMEOUT_S + 4) * 1000)
        took = time.monotonic() - started
        assert held, "chatkit.js was never requested"
        assert LOAD_TIMEOUT_S - 0.5 < took < LOAD_TIMEOUT_S + 3, f"fallback after {took:.1f} s"
        expect(page.locator(".face-note")).to_contain_text("ChatKit could not be loaded")
    finally:
        ctx.close()


def test_private_mode_chosen_in_settings_loads_nothing_from_the_cdn(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    expect(page.locator(".face-note")).to_contain_text("ChatKit could not be loaded")
    dialog = open_settings(page)
    try:
        dialog.get_by_text("Built-in — private mode").click()
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(app.base) else outside.append(r.url))
        with page.expect_navigation():  # switching faces reloads the page
            dialog.get_by_role("button", name="Save").click()
        expect(page.locator(".builtin")).to_be_visible(timeout=10_000)
        expect(page.locator(".face-note")).to_contain_text("Built-in view — private mode")
        expect(page.locator(".face-note")).not_to_contain_text("Try ChatKit again")
        page.wait_for_timeout(500)
        assert outside == [], "private mode must not ask the internet for anything"
        assert page.evaluate("document.scripts.length") == 1  # only /app.js, no chatkit.js
        with app.client() as client:
            assert client.get("/api/settings").json()["settings"]["ui_mode"] == "builtin"
    finally:
        app.settings(ui_mode="chatkit")


def test_starting_is_shown_while_the_model_layer_loads(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider
) -> None:
    fresh = start_app(
        tmp_path_factory.mktemp("fresh"),
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
    )
    ctx = browser.new_context(viewport=WIDE)
    block_chatkit(ctx)
    try:
        was_ready = httpx.get(f"{fresh.base}/health").json()["chat_ready"]
        page = open_builtin(ctx.new_page(), fresh)
        starting = page.locator(".starting")
        if not was_ready:  # the model layer takes a few seconds to import after launch
            expect(starting).to_be_visible()
            expect(starting).to_have_text("Starting…")
        send(page, "early bird")  # a message sent meanwhile just waits
        expect(last_answer(page)).to_contain_text("You said: early bird.", timeout=ANSWER_TIMEOUT)
        expect(starting).to_be_hidden()
    finally:
        ctx.close()
        fresh.stop()


def test_no_token_shows_how_to_open_the_app(page: Page, app: RunningApp) -> None:
    page.goto(f"{app.base}/")
    expect(page.get_by_text(NO_TOKEN_SENTENCE)).to_be_visible()
    expect(page.locator(".builtin")).to_have_count(0)
    expect(page.locator("openai-chatkit")).to_have_count(0)
    screenshot(page, "no-token")


def test_wrong_token_shows_the_same_message(page: Page, app: RunningApp) -> None:
    page.goto(page_url(app, token="not-the-token"))
    expect(page.get_by_text(NO_TOKEN_SENTENCE)).to_be_visible()
    assert "token" not in page.url

"""The ChatKit face, checked against the options contract of openai.github.io/chatkit-js (ChatKitOptions).

The real chatkit.js only comes from OpenAI's CDN, which this machine cannot reach, so the CDN address is
routed to a stand-in defined here (never shipped in web/): a custom element `openai-chatkit` whose
`setOptions` records what the page passed and makes one request through the page's `api.fetch`, as the real
component does for its thread list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.browser import CHATKIT_JS, page_url, screenshot
from tests.harness import RunningApp

STAND_IN = """
(() => {
  class StandInChatKit extends HTMLElement {
    setOptions(options) {
      window.__chatkit = window.__chatkit || { calls: [] };
      window.__chatkit.calls.push(options);
      window.__chatkit.options = options;
      if (window.__chatkit.fetched) return;
      window.__chatkit.fetched = options.api.fetch('/chatkit', {
        method: 'POST',
        body: JSON.stringify({ type: 'threads.list', params: {} }),
        headers: { 'Content-Type': 'application/json' },
      }).then(async (response) => {
        window.__chatkit.fetch = { status: response.status, body: await response.json() };
      }, (error) => {
        window.__chatkit.fetch = { error: String(error) };
      });
    }
  }
  customElements.define('openai-chatkit', StandInChatKit);
})();
"""


@pytest.fixture
def page_requests() -> list[Request]:
    """The requests `chatkit_page` made, in order, from its first."""
    return []


@pytest.fixture
def chatkit_page(browser: Browser, app: RunningApp, page_requests: list[Request]) -> Iterator[Page]:
    """The page with the stand-in served at chatkit.js's real address, its requests kept in `page_requests`."""
    ctx = browser.new_context(viewport={"width": 1000, "height": 720}, color_scheme="light")
    ctx.route(
        CHATKIT_JS,
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=STAND_IN),
    )
    page = ctx.new_page()
    # A lambda, not the bound `append`: Playwright marks each handler with an attribute, which a builtin cannot take.
    page.on("request", lambda request: page_requests.append(request))
    page.goto(page_url(app))
    page.wait_for_function("() => window.__chatkit && window.__chatkit.fetch")
    yield page
    ctx.close()


def options(page: Page) -> dict[str, Any]:
    """The last options passed to setOptions, as JSON (functions are reported by their type)."""
    opts: dict[str, Any] = page.evaluate(
        """() => JSON.parse(JSON.stringify(window.__chatkit.options,
            (key, value) => typeof value === 'function' ? '<function>' : value))"""
    )
    return opts


def test_chatkit_face_is_shown_with_our_endpoint(chatkit_page: Page, app: RunningApp) -> None:
    page = chatkit_page
    expect(page.locator("openai-chatkit")).to_have_count(1)
    expect(page.locator(".builtin")).to_have_count(0)
    assert page.evaluate("document.body.dataset.face") == "chatkit"
    opts = options(page)
    assert opts["api"]["url"] == f"{app.base}/chatkit"
    assert isinstance(opts["api"]["domainKey"], str) and opts["api"]["domainKey"].strip()
    assert opts["api"]["fetch"] == "<function>"
    assert "token" not in page.url


def test_fetch_override_adds_the_bearer_token(
    chatkit_page: Page, page_requests: list[Request], app: RunningApp
) -> None:
    page = chatkit_page
    result = page.evaluate("window.__chatkit.fetch")
    assert result["status"] == 200, result
    assert "data" in result["body"]
    sent = [r for r in page_requests if r.url == f"{app.base}/chatkit"]
    assert sent, "the stand-in's request never left the page"
    assert sent[0].headers.get("authorization") == f"Bearer {app.token}"
    assert sent[0].headers.get("content-type") == "application/json"


def test_fetch_override_never_sends_the_token_elsewhere(chatkit_page: Page, app: RunningApp) -> None:
    page = chatkit_page
    elsewhere = "https://api.openai.com/v1/chatkit-desktop-test"
    page.route(elsewhere, lambda route: route.fulfill(status=200, content_type="application/json", body="{}"))
    with page.expect_request(elsewhere) as caught:
        status = page.evaluate(
            "async (url) => (await window.__chatkit.options.api.fetch(url, {method: 'GET'})).status",
            elsewhere,
        )
    assert status == 200
    assert "authorization" not in caught.value.headers


def test_options_match_the_chatkit_contract(chatkit_page: Page, app: RunningApp) -> None:
    opts = options(chatkit_page)
    with app.client() as client:
        models = client.get("/api/models").json()["models"]
    assert opts["composer"]["models"] == [{"id": m["id"], "label": m["label"], "default": m["default"]} for m in models]
    assert sum(1 for m in opts["composer"]["models"] if m["default"]) == 1
    assert opts["composer"]["placeholder"]
    assert opts["history"] == {"enabled": True, "showDelete": True, "showRename": True}
    assert opts["threadItemActions"] == {"feedback": True, "retry": True}
    assert opts["theme"]["colorScheme"] == "light"
    assert opts["startScreen"]["greeting"]
    prompts = opts["startScreen"]["prompts"]
    assert len(prompts) >= 2
    assert all(set(p) == {"label", "prompt", "icon"} and p["label"] and p["prompt"] for p in prompts)
    assert opts["header"]["rightAction"] == {"icon": "settings-cog", "onClick": "<function>"}


def test_color_scheme_follows_the_system(chatkit_page: Page) -> None:
    page = chatkit_page
    page.emulate_media(color_scheme="dark")
    page.wait_for_function("() => window.__chatkit.options.theme.colorScheme === 'dark'")
    page.emulate_media(color_scheme="light")
    page.wait_for_function("() => window.__chatkit.options.theme.colorScheme === 'light'")
    # Every call passes the full set (setOptions does not merge).
    last = options(page)
    assert last["api"]["url"].endswith("/chatkit") and last["composer"]["models"]


def test_header_action_opens_settings(chatkit_page: Page) -> None:
    page = chatkit_page
    dialog = page.locator("dialog.settings")
    expect(dialog).to_be_hidden()
    page.evaluate("window.__chatkit.options.header.rightAction.onClick()")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Settings")).to_be_visible()
    screenshot(page, "chatkit-face-settings")


def test_chatkit_errors_are_shown_to_the_user(chatkit_page: Page) -> None:
    page = chatkit_page
    page.evaluate(
        """document.querySelector('openai-chatkit').dispatchEvent(new CustomEvent('chatkit.error',
            { detail: { error: new Error('Gemini rejected the API key — open Settings and check it.') } }))"""
    )
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Gemini rejected the API key — open Settings and check it.")
    alert.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_role("alert")).to_have_count(0)

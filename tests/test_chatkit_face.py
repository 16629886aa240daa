"""The ChatKit face, checked against the options contract of openai.github.io/chatkit-js (ChatKitOptions).

The real chatkit.js only comes from OpenAI's CDN, which this machine cannot reach, so the CDN address is
routed to a stand-in defined here (never shipped in web/): a custom element `openai-chatkit` whose
`setOptions` records what the page passed and makes one request through the page's `api.fetch`, as the real
component does for its thread list, and whose `setThreadId` records the ids it was given (the search tests use
it too). The attachment tests send ChatKit's two-phase upload by hand, both ways ChatKit may send it: through the
options' `fetch`, and from a blank page standing in for its frame on the CDN.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from tests.browser import CHATKIT_JS, page_url, screenshot
from tests.harness import RunningApp

STAND_IN = """
(() => {
  class StandInChatKit extends HTMLElement {
    setThreadId(threadId) {
      window.__chatkit.threadIds = (window.__chatkit.threadIds || []).concat([threadId]);
      return Promise.resolve();
    }
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
def stand_in_context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser profile in which chatkit.js's real address serves the stand-in."""
    ctx = browser.new_context(viewport={"width": 1000, "height": 720}, color_scheme="light")
    ctx.route(
        CHATKIT_JS,
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=STAND_IN),
    )
    yield ctx
    ctx.close()


def open_face(ctx: BrowserContext, app: RunningApp, page_requests: list[Request]) -> Page:
    """Open the page as the window does and wait until the stand-in has its options and its first answer."""
    page = ctx.new_page()
    # A lambda, not the bound `append`: Playwright marks each handler with an attribute, which a builtin cannot take.
    page.on("request", lambda request: page_requests.append(request))
    page.goto(page_url(app))
    page.wait_for_function("() => window.__chatkit && window.__chatkit.fetch")
    return page


@pytest.fixture
def chatkit_page(stand_in_context: BrowserContext, app: RunningApp, page_requests: list[Request]) -> Page:
    """The page with the stand-in served at chatkit.js's real address, its requests kept in `page_requests`."""
    return open_face(stand_in_context, app, page_requests)


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


def server_limits(app: RunningApp) -> dict[str, Any]:
    """`GET /api/attachments/limits`, as the server answers it."""
    with app.client() as client:
        answer = client.get("/api/attachments/limits")
    assert answer.status_code == 200, answer.text
    limits: dict[str, Any] = answer.json()
    return limits


def test_the_composer_takes_attachments_within_the_servers_limits(chatkit_page: Page, app: RunningApp) -> None:
    limits = server_limits(app)
    assert options(chatkit_page)["composer"]["attachments"] == {
        "enabled": True,
        "maxSize": limits["max_bytes"],
        "maxCount": limits["max_count"],
        "accept": limits["accept"],
    }


def test_attachments_are_uploaded_in_two_phases(chatkit_page: Page) -> None:
    assert options(chatkit_page)["api"]["uploadStrategy"] == {"type": "two_phase"}


def test_without_the_servers_limits_the_composer_offers_no_attachments_and_says_nothing(
    stand_in_context: BrowserContext, app: RunningApp, page_requests: list[Request]
) -> None:
    limits_url = f"{app.base}/api/attachments/limits"

    def fail(route: Route) -> None:
        route.fulfill(status=500, content_type="application/json", body='{"error": "The limits broke."}')

    stand_in_context.route(limits_url, fail)
    page = open_face(stand_in_context, app, page_requests)
    assert any(request.url == limits_url for request in page_requests), "the face never asked for the limits"
    opts = options(page)
    assert "attachments" not in opts["composer"]
    assert opts["composer"]["models"] and opts["composer"]["placeholder"]
    expect(page.get_by_role("alert")).to_have_count(0)


# Phase one as ChatKit does it, through the options' fetch: `attachments.create` answers with the descriptor.
CREATE_THROUGH_OPTIONS = """async ({ name, size }) => {
  const { url, fetch } = window.__chatkit.options.api;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'attachments.create', params: { name, size, mime_type: 'text/plain' } }),
  });
  return response.json();
}"""
# Phase two, the bytes sent as the descriptor says, with the given fetch (`window.fetch` in a frame).
PUT = """async ({ descriptor: { url, method, headers }, text }) => {
  const response = await (%s)(url, { method, headers, body: new Blob([text]) });
  return { status: response.status, body: await response.json() };
}"""
NOTES = "Notes for the model: the answer is 42.\n"


def create_attachment(page: Page) -> dict[str, Any]:
    created: dict[str, Any] = page.evaluate(CREATE_THROUGH_OPTIONS, {"name": "notes.txt", "size": len(NOTES.encode())})
    assert created.get("upload_descriptor"), created
    return created


def assert_kept(app: RunningApp, created: dict[str, Any], put: dict[str, Any]) -> None:
    """The upload answered 200 with the attachment, which the server now serves with the bytes sent."""
    assert put["status"] == 200, put
    assert put["body"]["id"] == created["id"] and put["body"]["name"] == "notes.txt"
    assert not put["body"].get("upload_descriptor")
    with app.client() as client:
        kept = client.get(f"/api/attachments/{created['id']}/file")
    assert kept.status_code == 200 and kept.text == NOTES


def test_an_upload_through_the_options_fetch_is_kept_by_the_server(
    chatkit_page: Page, page_requests: list[Request], app: RunningApp
) -> None:
    created = create_attachment(chatkit_page)
    descriptor = created["upload_descriptor"]
    put = chatkit_page.evaluate(PUT % "window.__chatkit.options.api.fetch", {"descriptor": descriptor, "text": NOTES})
    assert_kept(app, created, put)
    sent = [r for r in page_requests if r.url == descriptor["url"]]
    assert [r.method for r in sent] == [descriptor["method"].upper()]
    assert sent[0].url.startswith(f"{app.base}/")


def test_an_upload_straight_from_chatkits_frame_is_kept_by_the_server(
    stand_in_context: BrowserContext, app: RunningApp, page_requests: list[Request]
) -> None:
    # ChatKit's frame comes from its CDN; here a blank page stands in for it at the same origin.
    frame_url = "https://cdn.platform.openai.com/deployments/chatkit/frame-stand-in.html"
    stand_in_context.route(frame_url, lambda route: route.fulfill(status=200, content_type="text/html", body=""))
    # Chromium asks the user before a public frame may reach 127.0.0.1 (Local Network Access); granted here as
    # a user would. Without it the browser refuses before the server is asked.
    stand_in_context.grant_permissions(["local-network-access"], origin=app.base)
    page = open_face(stand_in_context, app, page_requests)
    created = create_attachment(page)
    page.evaluate(
        """(url) => new Promise((loaded) => {
          const frame = Object.assign(document.createElement('iframe'), { src: url, onload: loaded });
          document.body.append(frame);
        })""",
        frame_url,
    )
    frame = page.frame(url=frame_url)
    assert frame is not None
    descriptor = created["upload_descriptor"]
    with page.expect_request(descriptor["url"]) as caught:
        put = frame.evaluate(PUT % "fetch", {"descriptor": descriptor, "text": NOTES})
    assert_kept(app, created, put)
    # The frame has only the descriptor's one-upload capability, not the page's token, and that is enough.
    assert caught.value.headers.get("authorization") == descriptor["headers"]["Authorization"]
    assert app.token not in caught.value.headers.get("authorization", "")


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

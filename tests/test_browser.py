"""The bundled page in a real browser (Debian's Chromium, Playwright) against the real app and the fake LLM.

The test machine has no internet, so chatkit.js never loads and the built-in face is what users get here.
Most tests make the CDN request fail at once (as it does offline) to skip the wait; one lets it fail on its
own and one makes it hang, proving the fallback happens within the timeout.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, ViewportSize, expect

from tests.browser import (
    CHATKIT_JS,
    NO_TOKEN_SENTENCE,
    block_chatkit,
    launch_chromium,
    page_url,
    screenshot,
)
from tests.fake_provider import BAD_KEY, FakeProvider
from tests.harness import RunningApp, read_thread_file, start_app, thread_id_of

WIDE: ViewportSize = {"width": 1100, "height": 760}
ANSWER_TIMEOUT = 30_000
LOAD_TIMEOUT_S = 4.0  # web/face-chatkit.js LOAD_TIMEOUT_MS


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (light, wide) in which chatkit.js fails at once, as it does offline."""
    ctx = browser.new_context(viewport=WIDE, color_scheme="light")
    block_chatkit(ctx)
    yield ctx
    ctx.close()


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


@pytest.fixture
def watch(context: BrowserContext) -> Iterator[Watch]:
    """A fresh page, watched from its start; the test fails if it showed a dialog or an error."""
    watched = Watch(context.new_page())
    yield watched
    assert watched.errors == [], watched.errors
    assert watched.dialogs == [], watched.dialogs


@pytest.fixture
def page(watch: Watch) -> Page:
    return watch.page


@pytest.fixture(scope="module")
def keyless_app(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """An app on a local OpenAI-compatible model (the fake) with no key from the environment: keys are
    typed in Settings, and a typed key is checked against the fake."""
    running = start_app(
        tmp_path_factory.mktemp("keyless"),
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
    )
    yield running
    running.stop()


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


# ---- token and faces ----


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


# ---- chatting ----


def test_message_streams_into_a_rendered_answer_and_is_saved(browser: Browser, page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    send(page, "Hello from the **browser**")
    expect(page.locator(".msg-user .bubble").last).to_have_text("Hello from the **browser**")
    expect(last_answer(page)).to_contain_text("You said: Hello from the browser.", timeout=ANSWER_TIMEOUT)
    expect(last_answer(page).locator("strong")).to_have_text("browser")
    wait_idle(page)
    # The sidebar lists the new conversation, and its title updates when the server names it.
    expect(page.locator(".thread.active .thread-title")).to_have_text(re.compile("^Fake title Hello from"))
    expect(page.locator(".chat-title")).to_have_text(re.compile("^Fake title Hello from"))

    thread_id = active_thread_id(page)
    saved = read_thread_file(app.data_dir, thread_id)
    texts = [part["text"] for item in saved["items"] for part in item.get("content", []) if "text" in part]
    assert "Hello from the **browser**" in texts
    assert any(text.startswith("You said: Hello from the **browser**.") for text in texts)
    screenshot(page, "builtin-answer-light")

    dark = browser.new_context(viewport=WIDE, color_scheme="dark")
    block_chatkit(dark)
    try:
        dark_page = open_builtin(dark.new_page(), app)
        dark_page.locator(f'.thread[data-id="{thread_id}"] .thread-open').click()
        expect(last_answer(dark_page)).to_contain_text("You said: Hello from the browser.")
        background = dark_page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background != "rgb(255, 255, 255)"
        screenshot(dark_page, "builtin-answer-dark")
    finally:
        dark.close()


def test_second_thread_switch_rename_delete(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    send(page, "First topic: apples")
    expect(last_answer(page)).to_contain_text("You said: First topic: apples.", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    first = active_thread_id(page)

    page.get_by_role("button", name="New chat", exact=True).click()
    expect(page.locator(".msg")).to_have_count(0)
    send(page, "Second topic: pears")
    expect(last_answer(page)).to_contain_text("You said: Second topic: pears.", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    second = active_thread_id(page)
    assert second != first
    rows = page.locator(".thread")
    assert rows.nth(0).get_attribute("data-id") == second  # newest first
    expect(page.locator(f'.thread[data-id="{second}"] .thread-title')).to_have_text(re.compile("Second topic"))

    # Switch back: the first conversation's messages, and only those.
    page.locator(f'.thread[data-id="{first}"] .thread-open').click()
    expect(page.locator(".msg-user .bubble")).to_have_text(["First topic: apples"])
    expect(page.locator(".thread.active")).to_have_attribute("data-id", first)

    # Rename it.
    page.locator(f'.thread[data-id="{first}"]').hover()
    page.locator(f'.thread[data-id="{first}"] .rename').click()
    title_box = page.get_by_role("textbox", name="New title")
    title_box.fill("Fruit notes")
    title_box.press("Enter")
    expect(page.locator(f'.thread[data-id="{first}"] .thread-title')).to_have_text("Fruit notes")
    expect(page.locator(".chat-title")).to_have_text("Fruit notes")
    assert app.call("threads.get_by_id", thread_id=first)["title"] == "Fruit notes"

    # Delete the second one, after confirming.
    page.locator(f'.thread[data-id="{second}"]').hover()
    page.locator(f'.thread[data-id="{second}"] .delete').click()
    confirm = page.locator("dialog.confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Delete conversation?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(page.locator(f'.thread[data-id="{second}"]')).to_have_count(1)
    page.locator(f'.thread[data-id="{second}"]').hover()
    page.locator(f'.thread[data-id="{second}"] .delete').click()
    confirm.get_by_role("button", name="Delete").click()
    expect(page.locator(f'.thread[data-id="{second}"]')).to_have_count(0)
    assert not (app.data_dir / "threads" / f"{second}.json").exists()
    assert (app.data_dir / "threads" / f"{first}.json").exists()
    # After a reload the list still agrees with the disk.
    page.reload()
    expect(page.locator(f'.thread[data-id="{first}"] .thread-title')).to_have_text("Fruit notes")
    expect(page.locator(f'.thread[data-id="{second}"]')).to_have_count(0)


def test_a_late_thread_list_does_not_hide_a_conversation_started_meanwhile(page: Page, app: RunningApp) -> None:
    """On a cold start the first list can arrive after the user has already sent a message."""
    earlier = thread_id_of(app.send("An earlier conversation"))
    held: list[tuple[Any, Any]] = []

    def hold_first_list(route: Any) -> None:
        if not held and '"threads.list"' in (route.request.post_data or ""):
            held.append((route, route.fetch()))  # read now, delivered late
        else:
            route.continue_()

    page.route("**/chatkit", hold_first_list)
    page.goto(page_url(app))
    expect(page.locator(".builtin")).to_be_visible(timeout=10_000)
    send(page, "Started before the list came")
    expect(last_answer(page)).to_contain_text("You said: Started before the list came.", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    started = active_thread_id(page)
    assert held, "the page never asked for the thread list"
    route, response = held[0]
    route.fulfill(response=response)
    expect(page.locator(f'.thread[data-id="{earlier}"]')).to_have_count(1)  # the late list has arrived
    expect(page.locator(".thread").first).to_have_attribute("data-id", started)
    expect(page.locator(".thread.active")).to_have_attribute("data-id", started)
    expect(page.locator(f'.thread[data-id="{started}"] .thread-title')).to_have_text(re.compile("Started before"))


def test_stop_button_stops_a_slow_answer(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    send(page, "[[slow]] tell me a long story")
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible(timeout=10_000)
    expect(last_answer(page)).to_contain_text("You said", timeout=ANSWER_TIMEOUT)  # streaming has begun
    partial_before = last_answer(page).inner_text()
    stop.click()
    wait_idle(page)
    expect(stop).to_be_hidden()
    expect(page.locator(".stopped-note").last).to_be_visible()
    shown = last_answer(page).inner_text()
    page.wait_for_timeout(1500)  # a full answer would need ~4 s; nothing more may arrive
    assert last_answer(page).inner_text() == shown
    assert len(shown) >= len(partial_before)
    assert "(I received" not in shown

    # The stream really stopped: the thread file holds no complete answer.
    thread_id = active_thread_id(page)
    answers = kept_answers(app, thread_id, wait=1.0)
    assert all("(I received" not in answer for answer in answers)
    # And the conversation goes on normally after a stop.
    send(page, "Are you still there?")
    expect(last_answer(page)).to_contain_text("You said: Are you still there?.", timeout=ANSWER_TIMEOUT)
    wait_idle(page)


def kept_answers(app: RunningApp, thread_id: str, wait: float) -> list[str]:
    """The assistant answers in a thread's file, waiting up to `wait` seconds for one to appear."""
    deadline = time.monotonic() + wait
    while True:
        items = read_thread_file(app.data_dir, thread_id)["items"]
        answers = ["".join(p["text"] for p in i["content"]) for i in items if i["type"] == "assistant_message"]
        if answers or time.monotonic() > deadline:
            return answers
        time.sleep(0.1)


def test_stopped_answer_is_kept_as_shown(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    send(page, "[[slow]] keep what you said")
    expect(last_answer(page)).to_contain_text("You said", timeout=ANSWER_TIMEOUT)
    page.get_by_role("button", name="Stop").click()
    wait_idle(page)
    shown = last_answer(page).inner_text()
    answers = kept_answers(app, active_thread_id(page), wait=3.0)
    assert answers, "the partial answer was not kept"
    # All that was shown is kept; a delta already on its way when Stop was pressed may be kept too.
    assert answers[-1].strip().startswith(shown.strip())
    assert "(I received" not in answers[-1]


def test_retry_regenerates_the_last_answer(page: Page, app: RunningApp, fake: FakeProvider) -> None:
    open_builtin(page, app)
    send(page, "Please answer twice")
    expect(last_answer(page)).to_contain_text("You said: Please answer twice.", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    thread_id = active_thread_id(page)
    first_id = page.locator(".msg-assistant").last.get_attribute("data-id")
    asked = len(fake.requests)
    page.locator(".msg-assistant").last.hover()
    page.get_by_role("button", name="Retry answer").click()
    expect(page.locator(".msg-assistant").last).not_to_have_attribute("data-id", first_id or "", timeout=ANSWER_TIMEOUT)
    expect(last_answer(page)).to_contain_text("You said: Please answer twice.", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    assert len(fake.requests) > asked
    expect(page.locator(".msg")).to_have_count(2)  # still one question, one (new) answer
    items = read_thread_file(app.data_dir, thread_id)["items"]
    kinds = [i["type"] for i in items if i["type"] in ("user_message", "assistant_message")]
    assert kinds == ["user_message", "assistant_message"]


def test_error_is_a_sentence_with_retry(page: Page, app: RunningApp, fake: FakeProvider) -> None:
    open_builtin(page, app)
    send(page, "[[status:500]] this will fail")
    error = page.locator(".msg-error")
    expect(error).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(error).to_contain_text("OpenAI had a server error")
    asked = len(fake.requests)
    error.get_by_role("button", name="Retry").click()
    expect(page.locator(".msg-error")).to_be_visible(timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    assert len(fake.requests) > asked
    expect(page.locator(".msg-user")).to_have_count(1)  # the retry did not duplicate the question


def test_model_picker_and_keyboard(page: Page, app: RunningApp, fake: FakeProvider) -> None:
    open_builtin(page, app)
    with app.client() as client:
        models = client.get("/api/models").json()
    picker = page.get_by_role("combobox", name="Model")
    expect(picker.locator("option")).to_have_text([m["label"] for m in models["models"]])
    expect(picker).to_have_value(models["default"])
    picker.select_option("openai/fake-local-2")

    box = page.get_by_role("textbox", name="Message")
    box.fill("line one")
    box.press("Shift+Enter")
    box.type("line two")
    expect(box).to_have_value("line one\nline two")
    expect(page.locator(".msg")).to_have_count(0)  # Shift+Enter did not send
    asked = len(fake.requests)
    box.press("Enter")
    expect(box).to_have_value("")
    expect(page.locator(".msg-user .bubble")).to_have_text("line one\nline two")
    expect(last_answer(page)).to_contain_text("You said: line one", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    answered = [r for r in fake.requests[asked:] if r.stream]
    assert [r.model for r in answered] == ["fake-local-2"]
    items = read_thread_file(app.data_dir, active_thread_id(page))["items"]
    assert items[0]["inference_options"]["model"] == "openai/fake-local-2"


# ---- safety and Markdown ----


def test_html_and_javascript_links_render_inert(page: Page, watch: Watch, app: RunningApp) -> None:
    open_builtin(page, app)
    send(page, "<img src=x onerror=alert(1)>")
    expect(last_answer(page)).to_contain_text("You said: <img src=x onerror=alert(1)>", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    expect(page.locator(".msg-user .bubble").last).to_have_text("<img src=x onerror=alert(1)>")
    send(page, "[x](javascript:alert(1)) and <javascript:alert(2)> and [y](data:text/html,<b>hi</b>)")
    expect(last_answer(page)).to_contain_text("[x](javascript:alert(1))", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    messages = page.locator(".messages")
    expect(messages.locator("img")).to_have_count(0)
    expect(messages.locator("b")).to_have_count(0)
    expect(messages.locator("a")).to_have_count(0)
    assert (
        page.evaluate(
            "[...document.querySelectorAll('[href]')].filter(e => /^\\s*(javascript|data):/i"
            ".test(e.getAttribute('href'))).length"
        )
        == 0
    )
    assert (
        page.evaluate(
            "[...document.querySelectorAll('*')].some(e => [...e.attributes].some(a => a.name.startsWith('on')))"
        )
        is False
    )
    page.locator(".msg-assistant .md").last.click()
    page.wait_for_timeout(300)
    assert watch.dialogs == []


def test_markdown_renders_as_elements(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    send(
        page,
        "Here:\n\n- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n```python\nprint('hi')\n```\n\n"
        "See [the site](https://example.com/docs) and `inline code`",
    )
    answer = last_answer(page)
    expect(answer.locator("pre code")).to_have_text("print('hi')", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    expect(answer.locator("ul > li")).to_have_text(["one", "two"])
    expect(answer.locator("ol > li")).to_have_text(["first", "second"])
    expect(answer.locator("blockquote")).to_have_text("quoted")
    expect(answer.locator("p code")).to_have_text("inline code")
    link = answer.get_by_role("link", name="the site")
    expect(link).to_have_attribute("href", "https://example.com/docs")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    assert answer.locator("pre").evaluate("e => getComputedStyle(e).overflowX") == "auto"
    screenshot(page, "builtin-markdown-light")
    assert "monospace" in answer.locator("pre code").evaluate("e => getComputedStyle(e).fontFamily")


def test_markdown_renderer_cases(page: Page, app: RunningApp) -> None:
    """The renderer on its own, in the browser: the HTML it builds for tricky input."""
    open_builtin(page, app)
    link = 'rel="noopener noreferrer" target="_blank"'
    cases = {
        "# Title\n\ntext": "<h1>Title</h1><p>text</p>",
        "**b** *i* _u_ ~~s~~ snake_case_name": "<p><strong>b</strong> <em>i</em> <em>u</em> <del>s</del> "
        "snake_case_name</p>",
        "<script>alert(1)</script>": "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
        "[a](javascript:alert(1))": "<p>[a](javascript:alert(1))</p>",
        "[a](JaVaScRiPt:alert(1))": "<p>[a](JaVaScRiPt:alert(1))</p>",
        "[a](/relative)": "<p>[a](/relative)</p>",
        "![pic](https://example.com/p.png)": f'<p><a href="https://example.com/p.png" {link}>🖼 pic</a></p>',
        "mail [me](mailto:a@b.c)": f'<p>mail <a href="mailto:a@b.c" {link}>me</a></p>',
        "- a\n  - b\n- c": "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>",
        "- a\n- b\n\n1. c\n2. d": "<ul><li>a</li><li>b</li></ul><ol><li>c</li><li>d</li></ol>",
        "- a\n\n- b": "<ul><li><p>a</p></li><li><p>b</p></li></ul>",
        "3. x\n4. y": '<ol start="3"><li>x</li><li>y</li></ol>',
        "> **q**\n> more": "<blockquote><p><strong>q</strong><br>more</p></blockquote>",
        "## Sub ##": "<h2>Sub</h2>",
        "a\n\n---\n\nb": "<p>a</p><hr><p>b</p>",
        "see https://example.com/x.": f'<p>see <a href="https://example.com/x" {link}>https://example.com/x</a>.</p>',
        "2 * 3 * 4": "<p>2 * 3 * 4</p>",
        "a | b\n---": "<p>a | b</p><hr>",
        "```\n<b>x</b>\n": "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>",
        "| a | b |\n|---|---|\n| 1 | 2 |": '<div class="table-wrap"><table><thead><tr><th>a</th><th>b</th>'
        "</tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table></div>",
        "line one\nline two": "<p>line one<br>line two</p>",
        'a "quote" & <tag>': '<p>a "quote" &amp; &lt;tag&gt;</p>',
    }
    rendered = page.evaluate(
        """async (cases) => {
            const { renderMarkdown } = await import('/markdown.js');
            const out = {};
            for (const text of cases) {
                const div = document.createElement('div');
                div.append(renderMarkdown(text));
                out[text] = div.innerHTML;
            }
            return out;
        }""",
        list(cases),
    )
    for text, html in cases.items():
        assert rendered[text] == html, f"{text!r} rendered as {rendered[text]!r}"


# ---- settings ----


def open_settings(page: Page) -> Any:
    page.get_by_role("button", name="Settings").click()
    dialog = page.locator("dialog.settings")
    expect(dialog).to_be_visible()
    return dialog


def test_settings_save_a_key_that_never_comes_back_whole(page: Page, keyless_app: RunningApp) -> None:
    secret = "sk-browser-test-0123456789-TOPSECRET-wxyz"
    bodies: list[str] = []

    def keep(response: Response) -> None:
        if response.url.startswith(keyless_app.base):
            with contextlib.suppress(Exception):  # a streamed or aborted body has none to give
                bodies.append(response.text())

    page.on("response", keep)
    open_builtin(page, keyless_app)
    dialog = open_settings(page)
    expect(dialog).to_contain_text("Keys you enter are kept in secrets.json")
    row = dialog.locator('.key-row[data-provider="openai"]')
    expect(row.locator(".key-status")).to_contain_text("Not set")
    row.get_by_label("OpenAI API key").fill(secret)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".saved-note")).to_have_text("Saved.")
    expect(row.locator(".key-status")).to_contain_text("••••wxyz")
    expect(row.get_by_label("OpenAI API key")).to_have_value("")
    screenshot(page, "settings")

    # The key went in once and never came back whole: not in any response, not in the page.
    page.reload()
    expect(page.locator(".builtin")).to_be_visible(timeout=10_000)
    dialog = open_settings(page)
    expect(dialog.locator('.key-row[data-provider="openai"] .key-status')).to_contain_text("••••wxyz")
    assert bodies, "no responses were captured"
    assert not [body for body in bodies if secret in body]
    assert secret not in page.content()
    assert secret not in page.evaluate("[...document.querySelectorAll('input, textarea')].map(e => e.value).join(' ')")
    assert "TOPSECRET" not in page.evaluate("document.body.innerText")
    secrets_file = keyless_app.data_dir / "secrets.json"
    assert secret in secrets_file.read_text()  # it is stored (no keyring on the test machine)

    # Forget it again.
    dialog.locator('.key-row[data-provider="openai"]').get_by_role("button", name="Forget key").click()
    expect(dialog.locator('.key-row[data-provider="openai"] .key-status')).to_contain_text("Not set")
    assert secret not in secrets_file.read_text()


def test_settings_show_env_keys_fixed_and_400_sentences(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    dialog = open_settings(page)
    openai = dialog.locator('.key-row[data-provider="openai"]')
    expect(openai.locator(".key-status")).to_contain_text("Set by the environment (OPENAI_API_KEY)")
    expect(openai.locator("input")).to_be_disabled()
    expect(openai.get_by_role("button", name="Forget key")).to_be_hidden()
    expect(dialog.get_by_label("Default model")).to_be_disabled()  # fixed by CHATKIT_DESKTOP_MODEL
    expect(dialog.get_by_label("Default model")).to_have_value("openai/fake-local-1")
    expect(dialog).to_contain_text("CHATKIT_DESKTOP_MODEL")
    expect(dialog).to_contain_text("http://localhost:11434/v1")
    expect(dialog).to_contain_text("http://localhost:1234/v1")
    dialog.locator("summary", has_text="Advanced").click()
    dialog.get_by_label("Context window (tokens)").fill("12")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".form-error")).to_contain_text("context_window")
    expect(dialog.locator(".form-error")).to_contain_text("256")
    dialog.get_by_label("Context window (tokens)").fill("")
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_be_hidden()


def test_check_key_good_and_rejected(page: Page, keyless_app: RunningApp) -> None:
    open_builtin(page, keyless_app)
    dialog = open_settings(page)
    row = dialog.locator('.key-row[data-provider="openai"]')
    row.get_by_label("OpenAI API key").fill("sk-a-good-key-0123456789")
    row.get_by_role("button", name="Check key").click()
    expect(row.locator(".key-result")).to_have_text("OpenAI accepted the key.", timeout=ANSWER_TIMEOUT)
    row.get_by_label("OpenAI API key").fill(BAD_KEY)
    row.get_by_role("button", name="Check key").click()
    expect(row.locator(".key-result")).to_have_text(
        "OpenAI rejected the API key — open Settings and check it.", timeout=ANSWER_TIMEOUT
    )
    expect(row.locator(".key-result")).to_have_class(re.compile(r"\bbad\b"))


def test_first_run_opens_settings_with_the_gemini_sentence(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = start_app(tmp_path_factory.mktemp("first-run"))  # Gemini by default, no key anywhere
    ctx = browser.new_context(viewport=WIDE)
    block_chatkit(ctx)
    try:
        page = ctx.new_page()
        page.goto(page_url(first))
        dialog = page.locator("dialog.settings")
        expect(dialog).to_be_visible(timeout=10_000)
        note = dialog.locator(".setup-note")
        expect(note).to_contain_text("Gemini API key")
        expect(note).to_contain_text("stays on this computer")
        expect(note.get_by_role("link")).to_have_attribute("href", "https://aistudio.google.com/apikey")
        expect(dialog.get_by_label("Gemini API key")).to_be_focused()
        expect(page.locator(".builtin")).to_be_attached(timeout=10_000)
        screenshot(page, "first-run-settings")
        # Once closed, sending a message says plainly what is missing.
        dialog.get_by_role("button", name="Close", exact=True).click()
        send(page, "hello?")
        expect(page.locator(".msg-error")).to_contain_text("No API key for Gemini yet", timeout=ANSWER_TIMEOUT)
    finally:
        ctx.close()
        first.stop()


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


# ---- narrow window ----


def test_layout_at_400_px(browser: Browser, app: RunningApp) -> None:
    ctx = browser.new_context(viewport={"width": 400, "height": 760})
    block_chatkit(ctx)
    try:
        page = open_builtin(ctx.new_page(), app)
        sidebar = page.locator(".sidebar")
        toggle = page.get_by_role("button", name="Conversations")
        expect(toggle).to_be_visible()
        expect(sidebar).not_to_be_in_viewport()
        send(page, "A narrow window")
        expect(last_answer(page)).to_contain_text("You said: A narrow window.", timeout=ANSWER_TIMEOUT)
        wait_idle(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        screenshot(page, "narrow-400")
        toggle.click()
        expect(sidebar).to_be_in_viewport()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        page.wait_for_timeout(250)  # the slide-in
        screenshot(page, "narrow-400-sidebar")
        page.get_by_role("button", name="New chat", exact=True).click()
        expect(sidebar).not_to_be_in_viewport()
        expect(page.locator(".empty")).to_be_visible()
    finally:
        ctx.close()


def test_settings_usable_at_400_px(browser: Browser, app: RunningApp) -> None:
    ctx = browser.new_context(viewport={"width": 400, "height": 760})
    block_chatkit(ctx)
    try:
        page = open_builtin(ctx.new_page(), app)
        dialog = open_settings(page)
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
        screenshot(page, "settings-400")
    finally:
        ctx.close()


def test_thread_from_a_newer_version_is_read_only(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("newer")
    (data / "threads").mkdir()
    thread_id = "thr_fromthefuture01"
    stamp = "2026-01-01T10:00:00"
    (data / "threads" / f"{thread_id}.json").write_text(
        json.dumps(
            {
                "schema_version": 99,
                "thread": {"id": thread_id, "title": "From the future", "created_at": stamp, "metadata": {}},
                "items": [
                    {
                        "type": "user_message",
                        "id": "msg_q1",
                        "thread_id": thread_id,
                        "created_at": stamp,
                        "content": [{"type": "input_text", "text": "Hello, future"}],
                        "inference_options": {},
                    },
                    {
                        "type": "assistant_message",
                        "id": "msg_a1",
                        "thread_id": thread_id,
                        "created_at": stamp,
                        "content": [{"type": "output_text", "text": "Hello from **later**", "annotations": []}],
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    newer = start_app(data)
    ctx = browser.new_context(viewport=WIDE)
    block_chatkit(ctx)
    try:
        page = ctx.new_page()
        page.goto(page_url(newer))
        page.get_by_role("button", name="Close", exact=True).click()  # first run: no key yet
        row = page.locator(f'.thread[data-id="{thread_id}"]')
        expect(row.locator(".icon-lock")).to_be_attached()
        expect(row.locator(".rename")).to_have_count(0)
        expect(row.locator(".delete")).to_have_count(0)
        row.locator(".thread-open").click()
        expect(last_answer(page).locator("strong")).to_have_text("later")
        expect(page.locator(".locked-note")).to_contain_text("saved by a newer version of ChatKit Desktop")
        expect(page.get_by_role("textbox", name="Message")).to_be_hidden()
        expect(page.get_by_role("button", name="Retry answer")).to_be_hidden()
    finally:
        ctx.close()
        newer.stop()

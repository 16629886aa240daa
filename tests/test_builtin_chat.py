"""Chatting in the built-in face, in a real browser (Debian's Chromium, Playwright) against the real app and the
fake LLM: a message streams into a rendered answer that is saved, Stop keeps what was shown, Retry replaces the
last answer, a failure is a sentence with Retry, and the model picker and the keyboard.

chatkit.js cannot load here (no internet, and the `context` fixture makes it fail at once), so the built-in
face is the one shown.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from tests.browser import (
    ANSWER_TIMEOUT,
    WIDE,
    active_thread_id,
    block_chatkit,
    last_answer,
    open_builtin,
    screenshot,
    send,
    wait_idle,
)
from tests.fake_provider import THOUGHT, FakeProvider
from tests.harness import RunningApp, read_thread_file


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


def test_a_models_reasoning_is_folded_above_its_answer_and_opens_to_read(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    send(page, "Why is the sea salty? [[think]]")
    expect(last_answer(page)).to_contain_text("You said: Why is the sea salty?", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    thought = page.locator(".msg-reasoning").last
    expect(thought.locator("summary")).to_have_text("Thought")
    expect(thought.locator(".reasoning-text")).to_be_hidden()
    order = page.locator(".messages-inner > .msg").evaluate_all("els => els.map((e) => e.className)")
    assert [c.split()[1] for c in order[-3:]] == ["msg-user", "msg-reasoning", "msg-assistant"]
    thought.locator("summary").click()
    expect(thought.locator(".reasoning-text")).to_have_text("".join(THOUGHT))

    thread_id = active_thread_id(page)
    page.reload()
    open_builtin(page, app)
    page.locator(f'.thread[data-id="{thread_id}"] .thread-open').click()
    expect(page.locator(".msg-reasoning summary")).to_have_text("Thought")
    screenshot(page, "builtin-reasoning")

"""Referencing another conversation, in a real browser (Debian's Chromium, Playwright) against the real app and
the fake LLM: in the built-in face `@` opens a popup of earlier conversations by title (GET /api/search/titles),
the keyboard or the mouse chooses one, which becomes an `@Title` token removed whole by Backspace; the message
carries it as a ChatKit tag, the model gets that conversation's text, and the sent message shows the reference,
after a reload too. The ChatKit face offers the same conversations through its options' `entities.onTagSearch`
(chatkit.js is the stand-in of tests/test_chatkit_face.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from tests.browser import (
    ANSWER_TIMEOUT,
    CHATKIT_JS,
    WIDE,
    active_thread_id,
    block_chatkit,
    last_answer,
    open_builtin,
    page_url,
    screenshot,
    wait_idle,
)
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, read_thread_file, thread_id_of
from tests.test_chatkit_face import STAND_IN, options

# What each earlier conversation said, so the model's request shows which one it was given.
KYOTO_PLANS = "Kyoto trip plans"
KYOTO_PLANS_FACT = "the ryokan in Gion is booked for the 14th"
KYOTO_TEA = "Kyoto tea notes"
KYOTO_TEA_FACT = "gyokuro wants water at sixty degrees"
LUNCH = "Lunch ideas"
LUNCH_FACT = "the falafel place closes on Mondays"


def titles(app: RunningApp, query: str, limit: int = 8) -> list[dict[str, Any]]:
    """`GET /api/search/titles?q=…` as the server answers it."""
    with app.client() as client:
        answer = client.get("/api/search/titles", params={"q": query, "limit": limit})
    assert answer.status_code == 200, answer.text
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


def conversation(app: RunningApp, title: str, fact: str) -> str:
    """A conversation in which the user said `fact`, titled `title`, once the title search finds it."""
    events = app.send(f"Remember this: {fact}.")
    assert fact in answer_text(events)
    thread_id = thread_id_of(events)
    app.call("threads.update", thread_id=thread_id, title=title)
    deadline = time.monotonic() + 10
    while thread_id not in [r["thread_id"] for r in titles(app, title)]:
        assert time.monotonic() < deadline, f"the title search never found {title!r}"
        time.sleep(0.1)
    return thread_id


@pytest.fixture(scope="module")
def earlier(app: RunningApp) -> dict[str, str]:
    """Three earlier conversations, oldest first: title → thread id."""
    made = {}
    for title, fact in ((LUNCH, LUNCH_FACT), (KYOTO_PLANS, KYOTO_PLANS_FACT), (KYOTO_TEA, KYOTO_TEA_FACT)):
        made[title] = conversation(app, title, fact)
        time.sleep(0.05)  # distinct creation times, so "newest first" has one answer
    return made


@pytest.fixture(autouse=True)
def only_the_earlier_conversations(app: RunningApp, earlier: dict[str, str]) -> Iterator[None]:
    """Each test starts with only the earlier conversations: the ones a test made are deleted after it, since
    their titles are made from messages that name the earlier ones, and would turn up in the next searches."""
    yield
    kept = set(earlier.values())
    made = [thread["id"] for thread in app.call("threads.list", limit=100)["data"] if thread["id"] not in kept]
    for thread_id in made:
        app.call("threads.delete", thread_id=thread_id)
    deadline = time.monotonic() + 10
    while {r["thread_id"] for r in titles(app, "", limit=20)} - kept:
        assert time.monotonic() < deadline, "deleted conversations are still offered"
        time.sleep(0.1)


def box(page: Page) -> Any:
    return page.get_by_role("textbox", name="Message")


def popup_options(page: Page) -> Any:
    return page.get_by_role("listbox", name="Conversations to reference").get_by_role("option")


def tag(thread_id: str, title: str) -> dict[str, Any]:
    """A reference as the contract says the composer sends it."""
    return {"type": "input_tag", "id": thread_id, "text": title, "data": {"thread_id": thread_id}, "interactive": False}


def sent_input(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.post_data or "{}")
    sent: dict[str, Any] = body["params"]["input"]
    return sent


def is_message(request: Request) -> bool:
    return request.url.endswith("/chatkit") and any(
        kind in (request.post_data or "") for kind in ('"threads.create"', '"threads.add_user_message"')
    )


def received_text(fake: FakeProvider) -> str:
    """Everything the model was sent for the answer the user saw, as one text."""
    return "\n".join(message["content"] for message in fake.last_stream().messages)


def test_at_offers_earlier_conversations_and_the_keyboard_sends_one_as_context(
    page: Page, app: RunningApp, fake: FakeProvider, earlier: dict[str, str]
) -> None:
    open_builtin(page, app)
    box(page).press_sequentially("Compare @kyo")
    # Both Kyoto conversations, newest first, the first one active; nothing else.
    expect(popup_options(page)).to_have_count(2)
    expect(popup_options(page).locator(".ref-option-title")).to_have_text([KYOTO_TEA, KYOTO_PLANS])
    expect(popup_options(page).first).to_have_attribute("aria-selected", "true")
    screenshot(page, "references-popup-light")
    box(page).press("ArrowDown")
    expect(popup_options(page).nth(1)).to_have_attribute("aria-selected", "true")
    box(page).press("Enter")  # chooses; does not send
    expect(page.locator(".ref-popup")).to_be_hidden()
    expect(box(page)).to_have_value(f"Compare @{KYOTO_PLANS} ")
    expect(page.locator(".msg")).to_have_count(0)
    expect(page.locator(".ref-backdrop .ref-token")).to_have_text(f"@{KYOTO_PLANS}")

    box(page).press_sequentially("with the tea")
    with page.expect_request(is_message) as caught:
        box(page).press("Enter")
    assert sent_input(caught.value)["content"] == [
        {"type": "input_text", "text": "Compare "},
        tag(earlier[KYOTO_PLANS], KYOTO_PLANS),
        {"type": "input_text", "text": " with the tea"},
    ]
    expect(box(page)).to_have_value("")
    expect(page.locator(".ref-backdrop")).to_be_hidden()

    # The question shows the reference; the model got the referenced conversation's text, and only its.
    reference = page.locator(".msg-user .bubble .ref")
    expect(reference).to_have_text(f"@{KYOTO_PLANS}")
    expect(page.locator(".msg-user .bubble")).to_have_text(f"Compare @{KYOTO_PLANS} with the tea")
    expect(last_answer(page)).to_contain_text("You said:", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    received = received_text(fake)
    assert KYOTO_PLANS_FACT in received
    assert KYOTO_TEA_FACT not in received and LUNCH_FACT not in received
    screenshot(page, "references-sent-light")

    # Saved as sent, and shown the same after a reload.
    thread_id = active_thread_id(page)
    saved = read_thread_file(app.data_dir, thread_id)["items"]
    question = next(item for item in saved if item["type"] == "user_message")
    assert tag(earlier[KYOTO_PLANS], KYOTO_PLANS).items() <= question["content"][1].items()
    page.reload()
    expect(page.locator(".builtin")).to_be_visible()
    page.locator(f'.thread[data-id="{thread_id}"] .thread-open').click()
    expect(page.locator(".msg-user .bubble .ref")).to_have_text(f"@{KYOTO_PLANS}")

    # A reference opens the conversation it names.
    page.locator(".msg-user .bubble .ref").click()
    expect(page.locator(".chat-title")).to_have_text(KYOTO_PLANS)
    expect(page.locator(".msg-user .bubble").first).to_contain_text(KYOTO_PLANS_FACT)


def test_at_alone_offers_the_newest_and_tab_chooses(
    page: Page, app: RunningApp, fake: FakeProvider, earlier: dict[str, str]
) -> None:
    open_builtin(page, app)
    box(page).press_sequentially("@")
    recent = [r["title"] or "Untitled chat" for r in titles(app, "")]
    expect(popup_options(page).locator(".ref-option-title")).to_have_text(recent)
    box(page).press_sequentially("kyoto te")
    expect(popup_options(page)).to_have_count(1)
    box(page).press("Tab")
    expect(box(page)).to_have_value(f"@{KYOTO_TEA} ")
    expect(box(page)).to_be_focused()
    box(page).press("Enter")  # a message that is only a reference
    expect(page.locator(".msg-user .bubble .ref")).to_have_text(f"@{KYOTO_TEA}")
    wait_idle(page)
    assert KYOTO_TEA_FACT in received_text(fake)


def test_the_mouse_chooses_and_backspace_removes_a_reference_whole(
    page: Page, app: RunningApp, earlier: dict[str, str]
) -> None:
    open_builtin(page, app)
    page.get_by_role("button", name="Reference a conversation").click()
    expect(box(page)).to_be_focused()
    expect(box(page)).to_have_value("@")
    box(page).press_sequentially("lun")
    expect(popup_options(page)).to_have_count(1)
    popup_options(page).first.click()
    expect(box(page)).to_have_value(f"@{LUNCH} ")
    expect(box(page)).to_be_focused()

    # Writing on after a reference does not open the popup again.
    box(page).press_sequentially("and more")
    expect(page.locator(".ref-popup")).to_be_hidden()
    box(page).press("Control+a")
    box(page).press("Backspace")

    # Backspace right after a token removes all of it; the text around it stays.
    box(page).press_sequentially("see @lun")
    expect(popup_options(page)).to_have_count(1)
    box(page).press("Enter")
    box(page).press("Backspace")  # the space typed after the choice
    expect(box(page)).to_have_value(f"see @{LUNCH}")
    box(page).press("Backspace")
    expect(box(page)).to_have_value("see ")
    expect(page.locator(".ref-backdrop")).to_be_hidden()

    # Delete just before a token removes it too.
    box(page).press_sequentially("@lun")
    expect(popup_options(page)).to_have_count(1)
    box(page).press("Enter")
    for _ in range(len(LUNCH) + 2):
        box(page).press("ArrowLeft")
    box(page).press("Delete")
    expect(box(page)).to_have_value("see  ")

    # A title changed by hand is text again, and is sent as text.
    box(page).press_sequentially("@lun")
    expect(popup_options(page)).to_have_count(1)
    box(page).press("Enter")
    box(page).press("ArrowLeft")  # into the title, before its last letter
    box(page).press_sequentially("X")
    expect(box(page)).to_have_value(f"see @{LUNCH[:-1]}Xs ")
    expect(page.locator(".ref-backdrop")).to_be_hidden()
    with page.expect_request(is_message) as caught:
        box(page).press("Enter")
    assert sent_input(caught.value)["content"] == [{"type": "input_text", "text": f"see @{LUNCH[:-1]}Xs "}]
    wait_idle(page)


def test_escape_closes_the_popup_and_prose_after_an_at_is_left_alone(
    page: Page, app: RunningApp, earlier: dict[str, str]
) -> None:
    open_builtin(page, app)
    box(page).press_sequentially("mail me@example.com")  # an `@` inside a word is no reference
    page.wait_for_timeout(400)
    expect(page.locator(".ref-popup")).to_be_hidden()
    box(page).fill("")

    box(page).press_sequentially("ask @kyoto")
    expect(popup_options(page)).to_have_count(2)
    box(page).press("Escape")
    expect(page.locator(".ref-popup")).to_be_hidden()
    box(page).press_sequentially(" t")  # still the same `@`: it stays closed
    page.wait_for_timeout(400)
    expect(page.locator(".ref-popup")).to_be_hidden()
    box(page).fill("")

    # No title matches: a word says so; after a space the user is writing on, and the popup goes.
    box(page).press_sequentially("@zzyzx")
    expect(page.locator(".ref-note")).to_have_text("No conversation's title matches “zzyzx”.")
    box(page).press_sequentially(" is a town in California")
    expect(page.locator(".ref-popup")).to_be_hidden()
    # Enter sends as usual when no conversation is offered.
    box(page).press("Enter")
    expect(page.locator(".msg-user .bubble")).to_have_text("@zzyzx is a town in California")
    expect(page.locator(".msg-user .bubble .ref")).to_have_count(0)
    wait_idle(page)


def test_a_reference_to_a_deleted_conversation_is_still_answered(
    page: Page, app: RunningApp, fake: FakeProvider
) -> None:
    doomed = conversation(app, "Doomed draft", "this draft will be deleted")
    open_builtin(page, app)
    box(page).press_sequentially("what about @doomed")
    expect(popup_options(page)).to_have_count(1)
    box(page).press("Enter")
    app.call("threads.delete", thread_id=doomed)
    box(page).press("Enter")
    expect(page.locator(".msg-user .bubble .ref")).to_have_text("@Doomed draft")
    expect(last_answer(page)).to_contain_text("You said:", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    expect(page.locator(".msg-error")).to_have_count(0)
    received = received_text(fake)
    assert "this draft will be deleted" not in received
    assert "could not be found" in received  # the model is told, as the contract says


def test_the_popup_in_dark(browser: Browser, app: RunningApp, earlier: dict[str, str]) -> None:
    dark = browser.new_context(viewport=WIDE, color_scheme="dark")
    block_chatkit(dark)
    try:
        page = open_builtin(dark.new_page(), app)
        box(page).press_sequentially("Compare @kyoto")
        expect(popup_options(page)).to_have_count(2)
        box(page).press("Enter")
        box(page).press_sequentially("with @")
        expect(popup_options(page).first).to_be_visible()
        screenshot(page, "references-popup-dark")
    finally:
        dark.close()


# ---- the ChatKit face ----------------------------------------------------------------------------------


@pytest.fixture
def chatkit_page(browser: Browser, app: RunningApp) -> Iterator[Page]:
    """The page with tests/test_chatkit_face.py's stand-in served at chatkit.js's address."""
    ctx: BrowserContext = browser.new_context(viewport={"width": 1000, "height": 720})
    ctx.route(CHATKIT_JS, lambda route: route.fulfill(status=200, content_type="text/javascript", body=STAND_IN))
    page = ctx.new_page()
    page.goto(page_url(app))
    page.wait_for_function("() => window.__chatkit && window.__chatkit.fetch")
    yield page
    ctx.close()


def tag_search(page: Page, query: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate("(q) => window.__chatkit.options.entities.onTagSearch(q)", query)
    return found


def test_the_chatkit_face_searches_conversations_for_tags(chatkit_page: Page, earlier: dict[str, str]) -> None:
    assert options(chatkit_page)["entities"] == {"onTagSearch": "<function>", "showComposerMenu": True}
    assert tag_search(chatkit_page, "kyoto") == [
        {"id": earlier[title], "title": title, "group": "Conversations", "data": {"thread_id": earlier[title]}}
        for title in (KYOTO_TEA, KYOTO_PLANS)
    ]
    assert [entity["title"] for entity in tag_search(chatkit_page, "lunch id")] == [LUNCH]
    assert tag_search(chatkit_page, "zzyzx") == []

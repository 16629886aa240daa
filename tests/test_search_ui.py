"""Conversation search in both faces, in a real browser (Debian's Chromium, Playwright) against the real app, its
search index and the fake LLM: results as you type with the matching words marked, the keyboard (↑/↓, Enter,
Escape, Ctrl+K / ⌘K) landing on the message found, title hits, "N matches", a refused query's sentence, an
index still being built, answers that come back out of order, paging; and in the ChatKit face (the stand-in of
tests/test_chatkit_face.py) the header's left button and Ctrl+K opening the same search over ChatKit, a
chosen result going to `setThreadId`. Conversations are made through the real protocol first (`app.send`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, expect

from tests.browser import CHATKIT_JS, WIDE, Watch, block_chatkit, open_builtin, screenshot
from tests.conftest import OPENAI_KEY
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, start_app, thread_id_of
from tests.test_chatkit_face import STAND_IN, open_face, options

# Long enough that a conversation of a few messages is taller than the window.
FILLER = " ".join(["Notes that only make this message long enough to need scrolling."] * 12)


def search(app: RunningApp, q: str, **params: Any) -> dict[str, Any]:
    """`GET /api/search` as the page asks it; asserts a 200."""
    with app.client() as client:
        answer = client.get("/api/search", params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def conversation(app: RunningApp, *messages: str) -> str:
    """A new conversation of these user messages (each answered by the fake); returns its id."""
    thread_id = thread_id_of(app.send(messages[0]))
    for text in messages[1:]:
        app.send(text, thread_id)
    return thread_id


def search_box(page: Page) -> Locator:
    return page.get_by_role("combobox", name="Search conversations")


def results(page: Page) -> Locator:
    return page.get_by_role("listbox", name="Search results").get_by_role("option")


def scrolled_to_bottom(page: Page) -> bool:
    at_bottom = "(el => el.scrollHeight - el.scrollTop - el.clientHeight < 4)(document.querySelector('.messages'))"
    return bool(page.evaluate(at_bottom))


def test_typing_shows_marked_results_and_enter_lands_on_the_message(page: Page, app: RunningApp) -> None:
    offsite = conversation(
        app,
        "Budget review for next year. " + FILLER,
        "The offsite should be in Lisbon, near the river. " + FILLER,
        "What about catering? " + FILLER,
        "And the travel days? " + FILLER,
    )
    packing = conversation(app, "Packing list for the trip. " + FILLER, "Sunscreen, because Lisbon is sunny. " + FILLER)
    app.wait_indexed()
    expected = search(app, "lisb")["results"]
    assert {r["thread_id"] for r in expected} == {offsite, packing}, expected

    open_builtin(page, app)
    box = search_box(page)
    box.click()
    box.press_sequentially("lisb", delay=40)
    expect(results(page)).to_have_count(2)
    expect(page.locator(".thread-list")).to_be_hidden()  # the results are in the list's place
    expect(box).to_have_attribute("aria-expanded", "true")
    for index, result in enumerate(expected):
        option = results(page).nth(index)
        expect(option).to_have_attribute("data-thread-id", result["thread_id"])
        expect(option.locator(".search-result-title")).to_have_text(result["title"])
        expect(option.locator("mark").first).to_have_text(re.compile("^lisb", re.IGNORECASE))
        hit_words = [s["text"] for s in result["snippet"] if s["hit"]]
        expect(option.locator("mark")).to_have_text(hit_words)
        expect(option.locator(".search-snippet")).to_have_text("".join(s["text"] for s in result["snippet"]))
        expect(option.locator("time")).to_have_attribute("datetime", result["created_at"])
        expect(option.locator("time")).to_have_text("just now")
        # The fake's answer repeats the question, so each conversation has two matching messages.
        assert result["hits"] == 2, result
        expect(option.locator(".search-hits")).to_have_text("2 matches")
    # The first result is highlighted; ↓ moves to the second, ↑ back, ↓ again.
    first, second = results(page).nth(0), results(page).nth(1)
    expect(first).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    expect(second).to_have_attribute("aria-selected", "true")
    expect(first).to_have_attribute("aria-selected", "false")
    expect(box).to_have_attribute("aria-activedescendant", second.get_attribute("id") or "")
    box.press("ArrowUp")
    expect(first).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    box.press("Enter")

    chosen = expected[1]
    message = page.locator(f'.msg[data-item-id="{chosen["item_id"]}"]')
    expect(message).to_contain_text("Lisbon")
    expect(page.locator(".thread.active")).to_have_attribute("data-id", chosen["thread_id"])
    expect(message).to_have_class(re.compile(r"\bflash\b"))
    expect(message).to_be_in_viewport(ratio=0.3)
    expect(message).not_to_have_class(re.compile(r"\bflash\b"), timeout=5000)  # it fades, then the class goes
    if chosen["thread_id"] == offsite:
        assert not scrolled_to_bottom(page)  # it did move from the newest message, where a conversation opens

    # Escape empties the field and brings the list back.
    box.press("Escape")
    expect(box).to_have_value("")
    expect(page.locator(".thread-list")).to_be_visible()
    expect(results(page)).to_have_count(0)
    expect(box).to_have_attribute("aria-expanded", "false")


def test_enter_on_the_other_conversation_scrolls_to_its_message(page: Page, app: RunningApp) -> None:
    """The open conversation is left for another, whose matching message is far from its newest one."""
    target = conversation(
        app,
        "Choosing a laptop. " + FILLER,
        "The keyboard of the Thinkpad matters most. " + FILLER,
        "Battery life second. " + FILLER,
        "Screen third. " + FILLER,
    )
    other = conversation(app, "Unrelated chat about bread. " + FILLER)
    app.wait_indexed()
    [hit] = search(app, "thinkpad")["results"]
    open_builtin(page, app)
    page.locator(f'.thread[data-id="{other}"] .thread-open').click()
    expect(page.locator(".msg-assistant")).to_have_count(1)
    box = search_box(page)
    box.click()
    box.press_sequentially("thinkpad", delay=20)
    expect(results(page)).to_have_count(1)
    box.press("Enter")
    message = page.locator(f'.msg[data-item-id="{hit["item_id"]}"]')
    expect(message).to_be_in_viewport(ratio=0.3)
    expect(page.locator(".thread.active")).to_have_attribute("data-id", target)
    expect(page.locator(".msg")).to_have_count(8)
    assert not scrolled_to_bottom(page)
    # Clicking a result does the same, and the field keeps the focus for the keyboard.
    box.press("Escape")
    page.locator(f'.thread[data-id="{other}"] .thread-open').click()
    box.press_sequentially("thinkpad", delay=20)
    results(page).first.click()
    expect(page.locator(".thread.active")).to_have_attribute("data-id", target)
    expect(message).to_be_in_viewport(ratio=0.3)
    expect(box).to_be_focused()


def test_a_title_hit_opens_its_conversation(page: Page, app: RunningApp) -> None:
    thread_id = conversation(app, "Plans for the holidays")
    app.call("threads.update", thread_id=thread_id, title="Zanzibar itinerary")
    app.wait_indexed()
    [hit] = search(app, "zanzibar")["results"]
    assert hit["item_id"] is None and hit["role"] == "title", hit
    open_builtin(page, app)
    box = search_box(page)
    box.fill("zanzibar")
    expect(results(page)).to_have_count(1)
    expect(results(page).first.locator("mark")).to_have_text(["Zanzibar"])
    box.press("Enter")
    expect(page.locator(".chat-title")).to_have_text("Zanzibar itinerary")
    expect(page.locator(".msg-user .bubble")).to_have_text(["Plans for the holidays"])
    expect(page.locator(".msg.flash")).to_have_count(0)


def test_ctrl_k_and_cmd_k_focus_the_search_from_anywhere(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    box = search_box(page)
    composer = page.get_by_role("textbox", name="Message")
    composer.click()
    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    box.fill("some words")
    composer.click()
    page.keyboard.press("Meta+k")
    expect(box).to_be_focused()
    # The text is selected, so typing replaces it.
    assert box.evaluate("el => [el.selectionStart, el.selectionEnd]") == [0, 10]
    # Escape clears the field; a second Escape goes back to the message box.
    box.press("Escape")
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    box.press("Escape")
    expect(composer).to_be_focused()


def test_a_refused_query_shows_the_servers_sentence(page: Page, app: RunningApp) -> None:
    too_long = "word " * 101
    with app.client() as client:
        refused = client.get("/api/search", params={"q": too_long})
    assert refused.status_code == 400, refused.text
    sentence = refused.json()["error"]
    open_builtin(page, app)
    box = search_box(page)
    box.fill(too_long)
    expect(page.locator(".search-status")).to_have_text(sentence)
    expect(page.locator(".search-status")).to_have_class(re.compile("search-error"))
    expect(results(page)).to_have_count(0)
    box.press("Escape")
    expect(page.locator(".thread-list")).to_be_visible()
    expect(page.locator(".search-status")).to_be_hidden()


def test_no_match_and_an_index_still_being_built_are_said(page: Page, app: RunningApp) -> None:
    def still_indexing(route: Route) -> None:
        answer = route.fetch()
        body = answer.json() | {"indexing": True}
        route.fulfill(response=answer, body=json.dumps(body))

    open_builtin(page, app)
    box = search_box(page)
    box.fill("qwzxv")
    expect(page.locator(".search-status")).to_have_text("No conversations match.")
    expect(page.locator(".search-note")).to_be_hidden()
    page.route("**/api/search?*", still_indexing)
    box.fill("qwzxvy")
    expect(page.locator(".search-note")).to_have_text(re.compile("still being built"))
    expect(page.locator(".search-status")).to_have_text("No conversations match.")


def test_an_answer_that_comes_late_does_not_replace_a_newer_one(page: Page, app: RunningApp) -> None:
    older = conversation(app, "Recipe for gazpacho, cold soup")
    newer = conversation(app, "Recipe for gnocchi with sage")
    app.wait_indexed()
    held: list[tuple[Route, Any]] = []

    def hold_gazpacho(route: Route) -> None:
        if parse_qs(urlsplit(route.request.url).query)["q"] == ["gazpacho"] and not held:
            held.append((route, route.fetch()))  # answered now, delivered after the next query's answer
        else:
            route.continue_()

    open_builtin(page, app)
    page.route("**/api/search?*", hold_gazpacho)
    box = search_box(page)
    box.fill("gazpacho")
    page.wait_for_timeout(400)  # past the debounce: the request is out
    assert held, "the page never asked for gazpacho"
    box.fill("gnocchi")
    expect(results(page)).to_have_count(1)
    expect(results(page).first).to_have_attribute("data-thread-id", newer)
    route, answer = held[0]
    route.fulfill(response=answer)
    page.wait_for_timeout(300)
    expect(results(page)).to_have_count(1)
    expect(results(page).first).to_have_attribute("data-thread-id", newer)
    assert older != newer


def test_more_results_come_with_load_more_and_the_arrow_keys(page: Page, app: RunningApp) -> None:
    ids = [conversation(app, f"Quokka sighting number {n}") for n in range(5)]
    app.wait_indexed()

    def two_at_a_time(route: Route) -> None:
        url = urlsplit(route.request.url)
        params = {k: v[0] for k, v in parse_qs(url.query).items()} | {"limit": "2"}
        route.continue_(url=urlunsplit(url._replace(query=urlencode(params))))

    page.route("**/api/search?*", two_at_a_time)
    open_builtin(page, app)
    box = search_box(page)
    box.fill("quokka")
    expect(results(page)).to_have_count(2)
    more = page.get_by_role("button", name="Load more")
    more.click()
    expect(results(page)).to_have_count(4)
    # ↓ on the last result asks for the next page and moves onto it.
    for _ in range(3):
        box.press("ArrowDown")
    expect(results(page).nth(3)).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    expect(results(page)).to_have_count(5)
    expect(results(page).nth(4)).to_have_attribute("aria-selected", "true")
    expect(more).to_be_hidden()
    shown = [results(page).nth(i).get_attribute("data-thread-id") or "" for i in range(5)]
    assert sorted(shown) == sorted(ids)  # every one once, none twice


def test_the_highlight_does_not_move_under_reduced_motion(browser: Browser, app: RunningApp) -> None:
    thread_id = conversation(app, "Reduced motion: find the word pelican. " + FILLER, "Later message. " + FILLER)
    app.wait_indexed()
    [hit] = search(app, "pelican")["results"]
    context = browser.new_context(viewport=WIDE, reduced_motion="reduce")
    block_chatkit(context)
    try:
        page = open_builtin(context.new_page(), app)
        box = search_box(page)
        box.fill("pelican")
        expect(results(page)).to_have_count(1)
        box.press("Enter")
        message = page.locator(f'.msg[data-item-id="{hit["item_id"]}"]')
        expect(message).to_have_class(re.compile(r"\bflash\b"))
        expect(message).to_be_in_viewport(ratio=0.3)
        style = message.evaluate("el => [getComputedStyle(el).animationName, getComputedStyle(el).backgroundColor]")
        assert style[0] == "none" and style[1] != "rgba(0, 0, 0, 0)", style
        expect(page.locator(".thread.active")).to_have_attribute("data-id", thread_id)
    finally:
        context.close()


def test_in_a_narrow_window_ctrl_k_opens_the_drawer_at_the_search(browser: Browser, app: RunningApp) -> None:
    conversation(app, "Narrow windows: the word albatross. " + FILLER, "Later. " + FILLER)
    app.wait_indexed()
    [hit] = search(app, "albatross")["results"]
    context = browser.new_context(viewport={"width": 400, "height": 760})
    block_chatkit(context)
    try:
        page = open_builtin(context.new_page(), app)
        sidebar = page.locator(".sidebar")
        expect(sidebar).not_to_be_in_viewport()
        page.keyboard.press("Control+k")
        box = search_box(page)
        expect(box).to_be_focused()
        expect(sidebar).to_be_in_viewport()
        page.keyboard.type("albatross")
        expect(results(page)).to_have_count(1)
        page.keyboard.press("Enter")
        expect(sidebar).not_to_be_in_viewport()  # the drawer closes on the conversation found
        expect(page.locator(f'.msg[data-item-id="{hit["item_id"]}"]')).to_be_in_viewport(ratio=0.3)
        expect(page.get_by_role("textbox", name="Message")).to_be_focused()
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
    finally:
        context.close()


def test_dates_are_short_and_relative(browser: Browser, app: RunningApp) -> None:
    """`shortDate` of web/search.js, in the page, at a fixed now (Wednesday 14 January 2026, 15:00 local)."""
    context = browser.new_context(locale="en-US", timezone_id="Europe/Paris")
    block_chatkit(context)
    try:
        page = open_builtin(context.new_page(), app)
        shown = page.evaluate(
            """async (times) => {
              const { shortDate } = await import('/search.js');
              const now = new Date(2026, 0, 14, 15, 0, 0);
              return times.map((t) => shortDate(t, now));
            }""",
            [
                "2026-01-14T14:59:40.123456",
                "2026-01-14T14:17:03",
                "2026-01-14T09:05:00",
                "2026-01-13T23:59:00",
                "2026-01-10T12:00:00",
                "2025-12-25T12:00:00",
                "2024-03-04T10:00:00.740087",
                "2026-01-14T13:00:00+00:00",
                "not a date",
            ],
        )
        assert shown == [
            "just now",
            "42 min ago",
            "9:05 AM",
            "Yesterday",
            "Sat",
            "Dec 25, 2025",
            "Mar 4, 2024",
            "2:00 PM",  # an offset is honoured: 13:00 UTC is 14:00 in Paris
            "",
        ], shown
    finally:
        context.close()


# ---- the ChatKit face --------------------------------------------------------------------------------------


@pytest.fixture
def chatkit_context(browser: Browser) -> Iterator[BrowserContext]:
    """A profile in which chatkit.js's address serves the stand-in of tests/test_chatkit_face.py."""
    ctx = browser.new_context(viewport={"width": 1000, "height": 720}, color_scheme="light")
    ctx.route(CHATKIT_JS, lambda route: route.fulfill(status=200, content_type="text/javascript", body=STAND_IN))
    yield ctx
    ctx.close()


@pytest.fixture
def chatkit_page(chatkit_context: BrowserContext, app: RunningApp) -> Iterator[Page]:
    page = open_face(chatkit_context, app, [])
    watch = Watch(page)
    yield page
    assert watch.errors == [] and watch.dialogs == [], (watch.errors, watch.dialogs)


def test_chatkit_headers_left_button_opens_the_search_and_a_result_sets_the_thread(
    chatkit_page: Page, app: RunningApp
) -> None:
    page = chatkit_page
    thread_id = conversation(app, "Origami cranes for the wedding")
    app.wait_indexed()
    assert options(page)["header"]["leftAction"] == {"icon": "history", "onClick": "<function>"}
    dialog = page.locator("dialog.search-dialog")
    expect(dialog).to_be_hidden()
    page.evaluate("window.__chatkit.options.header.leftAction.onClick()")
    expect(dialog).to_be_visible()
    box = dialog.get_by_role("combobox", name="Search conversations")
    expect(box).to_be_focused()
    box.press_sequentially("origami", delay=20)
    expect(dialog.get_by_role("option")).to_have_count(1)
    expect(dialog.get_by_role("option").locator("mark")).to_have_text(["Origami"])
    box.press("Enter")
    expect(dialog).to_be_hidden()
    assert page.evaluate("window.__chatkit.threadIds") == [thread_id]
    # Reopened, it starts empty.
    page.evaluate("window.__chatkit.options.header.leftAction.onClick()")
    expect(box).to_have_value("")


def test_chatkit_face_ctrl_k_opens_the_search_and_escape_closes_it(chatkit_page: Page, app: RunningApp) -> None:
    page = chatkit_page
    thread_id = conversation(app, "Kombucha brewing schedule")
    app.wait_indexed()
    dialog = page.locator("dialog.search-dialog")
    page.keyboard.press("Control+k")
    expect(dialog).to_be_visible()
    box = dialog.get_by_role("combobox", name="Search conversations")
    expect(box).to_be_focused()
    box.fill("kombucha")
    expect(dialog.get_by_role("option")).to_have_count(1)
    box.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("Meta+k")
    expect(dialog).to_be_visible()
    expect(box).to_have_value("")
    # A click on the dialog's own edge leaves it open; one on the dim area around it closes it.
    dialog.click(position={"x": 4, "y": 4})
    expect(dialog).to_be_visible()
    page.mouse.click(10, 700)
    expect(dialog).to_be_hidden()
    page.keyboard.press("Control+k")
    box.fill("kombucha")
    dialog.get_by_role("option").first.click()
    expect(dialog).to_be_hidden()
    assert page.evaluate("window.__chatkit.threadIds") == [thread_id]


# ---- screenshots -------------------------------------------------------------------------------------------


def test_screenshots_light_and_dark(
    browser: Browser, fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Search results beside the message found, in both themes (test-output/screenshots/search-*.png), from an
    app of their own so that only these conversations show."""
    app = start_app(
        tmp_path_factory.mktemp("search-shots"),
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OPENAI_API_KEY=OPENAI_KEY,
    )
    try:
        for title, *messages in (
            ("Team lunch on Friday", "Where should we have lunch?", "The café on Rue Cler has a short menu."),
            ("A quiet weekend", "Ideas for a quiet weekend", "Maybe the Café de Flore, then a walk by the river."),
            ("Coffee at home", "How do I brew coffee at home?", "A cafetière needs a coarse grind and four minutes."),
            ("French phrases", "Translate into French: the menu, please", "La carte, s'il vous plaît."),
        ):
            app.call("threads.update", thread_id=conversation(app, *messages), title=title)
        app.wait_indexed()
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport=WIDE, color_scheme=scheme, reduced_motion="reduce")
            block_chatkit(context)
            try:
                page = open_builtin(context.new_page(), app)
                box = search_box(page)
                box.press_sequentially("cafe", delay=20)
                expect(results(page)).to_have_count(3)
                box.press("Enter")
                expect(page.locator(".msg.flash")).to_be_in_viewport()
                page.mouse.move(0, 0)
                screenshot(page, f"search-{scheme}")
            finally:
                context.close()
    finally:
        app.stop()

"""The built-in face's conversation list, in a real browser (Debian's Chromium, Playwright) against the real
app and the fake LLM: new chats, switching, rename and delete, a list that arrives late, the list as a drawer
in a 400 px window, and a conversation saved by a newer version, which is shown read-only.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import (
    ANSWER_TIMEOUT,
    WIDE,
    active_thread_id,
    block_chatkit,
    last_answer,
    open_builtin,
    page_url,
    screenshot,
    send,
    wait_idle,
)
from tests.harness import RunningApp, start_app, thread_id_of


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

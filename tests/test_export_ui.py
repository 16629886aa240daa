"""Export in the page (web/export.js), in a real browser (Debian's Chromium, Playwright) against the real app and
the fake LLM: a conversation's menu in the built-in list downloads it as Markdown and as its JSON file and copies
it as Markdown; Settings → Your data makes a full backup with progress and downloads the zip, can cancel it, and
shows why the data folder could not be opened; in the ChatKit face (the stand-in of tests/test_chatkit_face.py)
our button beside ChatKit's header exports the open conversation, by keyboard.
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.browser import CHATKIT_JS, WIDE, Watch, block_chatkit, open_builtin, open_settings, page_url, screenshot
from tests.harness import RunningApp, thread_id_of
from tests.test_chatkit_face import STAND_IN


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """As conftest's, and the page may write and read the clipboard."""
    ctx = browser.new_context(viewport=WIDE, color_scheme="light", permissions=["clipboard-read", "clipboard-write"])
    block_chatkit(ctx)
    yield ctx
    ctx.close()


def conversation(app: RunningApp, text: str) -> str:
    """A conversation with one exchange, made through the API; returns its id."""
    return thread_id_of(app.send(text))


def open_export_menu(page: Page, thread_id: str) -> Any:
    row = page.locator(f'.thread[data-id="{thread_id}"]')
    row.hover()
    row.locator(".export").click()
    menu = page.get_by_role("menu", name="Export")
    expect(menu).to_be_visible()
    return menu


def test_built_in_menu_exports_markdown_json_and_copies(page: Page, app: RunningApp) -> None:
    thread_id = conversation(app, "Export me: a list of plums")
    open_builtin(page, app)
    row = page.locator(f'.thread[data-id="{thread_id}"]')
    expect(row).to_have_count(1)

    menu = open_export_menu(page, thread_id)
    expect(menu.get_by_role("menuitem")).to_have_text(["Export as Markdown", "Export as JSON", "Copy as Markdown"])
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    expect(row.locator(".export")).to_have_attribute("aria-expanded", "true")
    screenshot(page, "export-menu")
    with page.expect_download() as markdown_download:
        menu.get_by_role("menuitem", name="Export as Markdown").click()
    markdown = markdown_download.value
    assert markdown.suggested_filename.endswith(".md")
    text = Path(markdown.path()).read_text(encoding="utf-8")
    assert "Export me: a list of plums" in text
    assert "You said: Export me: a list of plums." in text
    assert "## You" in text
    expect(menu).to_have_count(0)
    expect(row.locator(".export")).to_have_attribute("aria-expanded", "false")

    menu = open_export_menu(page, thread_id)
    with page.expect_download() as json_download:
        menu.get_by_role("menuitem", name="Export as JSON").click()
    saved = json_download.value
    assert saved.suggested_filename.endswith(".json")
    on_disk = (app.data_dir / "threads" / f"{thread_id}.json").read_bytes()
    assert Path(saved.path()).read_bytes() == on_disk
    assert json.loads(on_disk)["items"]

    menu = open_export_menu(page, thread_id)
    menu.get_by_role("menuitem", name="Copy as Markdown").click()
    expect(page.locator(".toast", has_text="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == app.client().get(f"/api/threads/{thread_id}/markdown").json()["markdown"]
    assert "You said: Export me: a list of plums." in copied


def test_menu_by_keyboard_and_escape(page: Page, app: RunningApp) -> None:
    thread_id = conversation(app, "Keyboard export")
    open_builtin(page, app)
    button = page.locator(f'.thread[data-id="{thread_id}"] .export')
    page.locator(f'.thread[data-id="{thread_id}"] .thread-open').focus()
    page.keyboard.press("Tab")  # the row's actions show while it has the focus; Export is the first
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    items = page.get_by_role("menuitem")
    expect(items.first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(items.nth(2)).to_be_focused()  # wraps around
    page.keyboard.press("Escape")
    expect(page.get_by_role("menu")).to_have_count(0)
    expect(button).to_be_focused()
    # A click elsewhere closes it too.
    page.keyboard.press("Enter")
    expect(page.get_by_role("menu")).to_be_visible()
    page.locator(".messages").click(position={"x": 20, "y": 20})
    expect(page.get_by_role("menu")).to_have_count(0)


def test_settings_export_everything_shows_progress_and_downloads_the_zip(page: Page, app: RunningApp) -> None:
    thread_id = conversation(app, "In the backup")
    hold = [False]

    def running_for_a_while(route: Route) -> None:
        # The real backup of a few files is over before a person could see it: after the POST, the polls say
        # "running" until the test lets them through.
        if route.request.method == "POST":
            hold[0] = True
        if route.request.method == "GET" and hold[0]:
            route.fulfill(json={"state": "running", "done": 2, "total": 5, "error": None, "size": None})
        else:
            route.continue_()

    page.route("**/api/backup", running_for_a_while)
    open_builtin(page, app)
    dialog = open_settings(page)
    section = dialog.locator("section.your-data")
    expect(section.get_by_role("heading", name="Your data")).to_be_visible()
    section.get_by_role("button", name="Export everything").click()
    progress = section.get_by_role("progressbar", name="Backup progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("value", "2")
    expect(progress).to_have_attribute("max", "5")
    expect(section.locator(".backup-status")).to_have_text("Writing the backup… 2 of 5 files")
    expect(section.get_by_role("button", name="Export everything")).to_be_disabled()
    expect(section.get_by_role("button", name="Cancel")).to_be_visible()
    screenshot(page, "export-backup-progress")

    with page.expect_download(timeout=30_000) as backup_download:
        hold[0] = False
    backup = backup_download.value
    assert backup.suggested_filename.startswith("chatkit-desktop-backup-")
    assert backup.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(backup.path()) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert f"threads/{thread_id}.json" in names
    assert "manifest.json" in names
    assert manifest["app"] == "ChatKit Desktop"
    assert f"threads/{thread_id}.json" in manifest["files"]
    expect(section.locator(".backup-status")).to_contain_text("Backup downloaded")
    expect(progress).to_be_hidden()
    expect(section.get_by_role("button", name="Export everything")).to_be_enabled()
    expect(section.get_by_role("button", name="Cancel")).to_be_hidden()
    # Downloaded, the copy in the data folder is removed.
    deadline = time.monotonic() + 10
    while app.client().get("/api/backup").json()["state"] != "idle" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert app.client().get("/api/backup").json()["state"] == "idle"
    assert not list((app.data_dir / "backups").glob("*.zip"))


def test_settings_cancel_a_running_backup(page: Page, app: RunningApp) -> None:
    conversation(app, "Cancelled backup")
    deletes: list[str] = []
    started: list[str] = []

    def always_running(route: Route) -> None:
        if route.request.method == "POST":
            started.append(route.request.url)
        if route.request.method == "GET" and started:
            route.fulfill(json={"state": "running", "done": 0, "total": 0, "error": None, "size": None})
        else:
            if route.request.method == "DELETE":
                deletes.append(route.request.url)
            route.continue_()

    page.route("**/api/backup", always_running)
    open_builtin(page, app)
    dialog = open_settings(page)
    section = dialog.locator("section.your-data")
    section.get_by_role("button", name="Export everything").click()
    cancel = section.get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible()
    expect(section.locator(".backup-status")).to_have_text("Writing the backup…")
    cancel.click()
    expect(section.locator(".backup-status")).to_have_text("Backup cancelled.")
    expect(cancel).to_be_hidden()
    expect(section.get_by_role("progressbar")).to_be_hidden()
    expect(section.get_by_role("button", name="Export everything")).to_be_focused()
    assert len(deletes) == 1
    assert app.client().get("/api/backup").json()["state"] == "idle"
    assert not list((app.data_dir / "backups").glob("*.zip"))


def test_open_data_folder_shows_the_sentence_on_failure(page: Page, app: RunningApp) -> None:
    sentence = "Could not open a file manager; the data folder is /somewhere."
    page.route(
        "**/api/data-folder/open",
        lambda route: route.fulfill(status=500, json={"error": sentence}),
    )
    open_builtin(page, app)
    dialog = open_settings(page)
    section = dialog.locator("section.your-data")
    section.get_by_role("button", name="Open data folder").click()
    expect(section.locator(".folder-result")).to_have_text(sentence)


def test_your_data_fits_400_px_dark(browser: Browser, app: RunningApp) -> None:
    ctx = browser.new_context(viewport={"width": 400, "height": 760}, color_scheme="dark")
    block_chatkit(ctx)
    try:
        watch = Watch(ctx.new_page())
        page = open_builtin(watch.page, app)
        dialog = open_settings(page)
        section = dialog.locator("section.your-data")
        section.scroll_into_view_if_needed()
        for name in ("Export everything", "Open data folder"):
            box = section.get_by_role("button", name=name).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
        screenshot(page, "export-your-data-400-dark")
        assert watch.errors == []
    finally:
        ctx.close()


@pytest.fixture
def stand_in_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1000, "height": 720}, color_scheme="light")
    ctx.route(CHATKIT_JS, lambda route: route.fulfill(status=200, content_type="text/javascript", body=STAND_IN))
    yield ctx
    ctx.close()


def test_chatkit_face_button_exports_the_open_conversation(stand_in_context: BrowserContext, app: RunningApp) -> None:
    thread_id = conversation(app, "Open in ChatKit")
    page = stand_in_context.new_page()
    watch = Watch(page)
    page.goto(page_url(app))
    page.wait_for_function("() => window.__chatkit && window.__chatkit.fetch")
    button = page.get_by_role("button", name="Export this conversation")
    expect(button).to_be_hidden()  # no conversation open yet

    def change(thread: str | None) -> None:
        page.evaluate(
            """(threadId) => document.querySelector('openai-chatkit').dispatchEvent(
                new CustomEvent('chatkit.thread.change', {detail: {threadId}}))""",
            thread,
        )

    change(thread_id)
    expect(button).to_be_visible()
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem").first).to_be_focused()
    screenshot(page, "export-chatkit-menu")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Export as JSON")).to_be_focused()
    with page.expect_download() as json_download:
        page.keyboard.press("Enter")
    saved = json_download.value
    on_disk = (app.data_dir / "threads" / f"{thread_id}.json").read_bytes()
    assert Path(saved.path()).read_bytes() == on_disk
    expect(button).to_be_focused()

    button.click()
    with page.expect_download() as markdown_download:
        page.get_by_role("menuitem", name="Export as Markdown").click()
    assert "You said: Open in ChatKit." in Path(markdown_download.value.path()).read_text(encoding="utf-8")

    change(None)  # a new chat: nothing to export
    expect(button).to_be_hidden()
    assert watch.errors == [] and watch.dialogs == []

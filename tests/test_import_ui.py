"""Import in the page (web/import.js), in a real browser (Debian's Chromium, Playwright) against the real app: in
Settings → Your data, a ChatGPT export chosen with "Import…" is sent, followed while it imports (progress) and
summed up in the server's sentence with its notes and the conversations that could not be read; the imported
conversations then appear in the built-in list under their own titles and open on their messages. The same file
again says they were already there; a file that is not an export shows the server's sentence and changes
nothing; a file over the server's limit is refused in the page before a byte is sent; an app that stopped
answering is said so in the section. An export dropped on the conversation list (or a .zip dropped on the
conversation) is imported in Settings, not attached. Stop ends a running import, whose written conversations
stay and are listed, and which the dialog shows again when reopened. In the ChatKit face (a stand-in for
chatkit.js), a finished import asks ChatKit to fetch its updates. The part fits a 400 px window, dark.

The exports are built here, as ChatGPT writes them (`conversations.json`: a `mapping` tree of messages with a
`current_node`), and arrive in the page the ways a person brings them: the file chooser, or a drop carrying a
`DataTransfer` with a `File` made in the page (what Chromium hands the page for a drag from the desktop).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, Request, expect

from tests.browser import CHATKIT_JS, Watch, block_chatkit, open_builtin, open_settings, page_url, screenshot
from tests.conftest import OPENAI_KEY
from tests.export_fixtures import chatgpt_zip
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, start_app
from tests.test_chatkit_face import STAND_IN

IMPORT_TIMEOUT = 60_000
IMPORT_HINT = "Drop an export to import it"
UNREACHABLE = "ChatKit Desktop is not answering — is the app still running?"
CREATED = 1_700_000_000.0  # November 2023: imported conversations keep their dates

# Builds `File`s in the page from {name, type, data (base64)}, in a DataTransfer, as a drag from the desktop does.
FILES_JS = """(files) => {
    const transfer = new DataTransfer();
    for (const f of files) {
        const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, { type: f.type }));
    }
    return transfer;
}"""

# A `size`-byte file made of one 1 MiB block repeated (the page holds 1 MiB, not the whole size), chosen in the
# import's file input as the file chooser would.
LARGE_FILE_JS = """(size) => {
    const block = new Blob([new Uint8Array(1 << 20)]);
    const parts = [];
    for (let left = size; left > 0; left -= block.size) parts.push(left >= block.size ? block : block.slice(0, left));
    const file = new File(parts, 'chatgpt-export.zip', { type: 'application/zip' });
    const transfer = new DataTransfer();
    transfer.items.add(file);
    const input = document.querySelector('.import-input');
    input.files = transfer.files;
    input.dispatchEvent(new Event('change'));
    return file.size;
}"""

# Every text the import's status line shows, in order (an import of a few conversations is over in a moment).
RECORD_JS = """() => {
    const status = document.querySelector('.import-status');
    window.__statuses = [];
    new MutationObserver(() => window.__statuses.push(status.textContent))
        .observe(status, { childList: true, characterData: true, subtree: true });
}"""


# ---- ChatGPT conversations, as ChatGPT writes them (tests/export_fixtures.py zips them with the export's files) ----


def _message(node: str, role: str, content: dict[str, Any], at: float, **metadata: Any) -> dict[str, Any]:
    return {
        "id": node,
        "author": {"role": role, "name": None, "metadata": {}},
        "create_time": at,
        "update_time": at,
        "content": content,
        "status": "finished_successfully",
        "end_turn": True if role == "assistant" else None,
        "weight": 1.0,
        "metadata": metadata,
        "recipient": "all",
        "channel": None,
    }


def chatgpt_conversation(
    title: str, question: str, answer: str, *, created: float = CREATED, image: bool = False
) -> dict[str, Any]:
    """One conversation of a ChatGPT `conversations.json`: a question and its answer under an empty root;
    `image` adds a picture to the question whose file the export does not hold."""
    root, user, assistant = (str(uuid.uuid4()) for _ in range(3))
    parts: list[Any] = [question]
    if image:
        pointer = {
            "content_type": "image_asset_pointer",
            "asset_pointer": "file-service://file-Missing0001",
            "size_bytes": 2048,
            "width": 64,
            "height": 48,
            "metadata": {},
        }
        parts = [pointer, question]
    question_content = {"content_type": "multimodal_text" if image else "text", "parts": parts}
    answer_content = {"content_type": "text", "parts": [answer]}
    conversation_id = str(uuid.uuid4())
    return {
        "id": conversation_id,
        "conversation_id": conversation_id,
        "title": title,
        "create_time": created,
        "update_time": created + 60,
        "current_node": assistant,
        "default_model_slug": "gpt-4o",
        "is_archived": False,
        "mapping": {
            root: {"id": root, "message": None, "parent": None, "children": [user]},
            user: {
                "id": user,
                "message": _message(user, "user", question_content, created + 1),
                "parent": root,
                "children": [assistant],
            },
            assistant: {
                "id": assistant,
                "parent": user,
                "children": [],
                "message": _message(assistant, "assistant", answer_content, created + 2, model_slug="gpt-4o"),
            },
        },
    }


def unreadable(title: str) -> dict[str, Any]:
    """A conversation whose messages are missing (its `mapping` is not a tree): it cannot be read."""
    conversation = chatgpt_conversation(title, "lost", "lost")
    conversation["mapping"] = None
    return conversation


def bulk(count: int, prefix: str, start: float = CREATED) -> list[dict[str, Any]]:
    """`count` small conversations titled "<prefix> 1", "<prefix> 2", …, a minute apart from `start` on."""
    return [
        chatgpt_conversation(f"{prefix} {n}", f"Question {n}", f"Answer {n}", created=start + 60 * n)
        for n in range(1, count + 1)
    ]


# ---- what a person does ----


def your_data(page: Page) -> Any:
    return open_settings(page).locator("section.your-data")


def choose(page: Page, name: str, data: bytes, mime: str = "application/zip") -> None:
    """Press "Import…" in Settings → Your data and pick a file in the chooser it opens."""
    file: FilePayload = {"name": name, "mimeType": mime, "buffer": data}
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Import…").click()
    assert not chooser.value.is_multiple()
    chooser.value.set_files(file)


def drop(page: Page, target: str, name: str, data: bytes, mime: str, *, zone: str, hint: str, photo: str = "") -> None:
    """Drag a file over `target` (the hint of the `zone` it is in shows; `photo` names its screenshot) and drop it
    there."""
    transfer = page.evaluate_handle(FILES_JS, [{"name": name, "type": mime, "data": base64.b64encode(data).decode()}])
    page.dispatch_event(target, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(target, "dragover", {"dataTransfer": transfer})
    shown = page.locator(zone).get_by_text(hint)
    expect(shown).to_be_visible()
    if photo:
        screenshot(page, photo)
    page.dispatch_event(target, "drop", {"dataTransfer": transfer})
    expect(shown).to_be_hidden()


def import_state(app: RunningApp) -> dict[str, Any]:
    with app.client() as client:
        state: dict[str, Any] = client.get("/api/import").json()
    return state


def thread_files(app: RunningApp) -> set[str]:
    return {path.name for path in (app.data_dir / "threads").glob("*.json")}


def listed(page: Page, title: str) -> Any:
    return page.locator(".thread-list .thread", has=page.locator(".thread-title", has_text=re.compile(f"^{title}$")))


def expect_summary(section: Any, app: RunningApp) -> dict[str, Any]:
    """The section shows the server's summary: its sentence first, then its notes and unreadable conversations."""
    status = section.locator(".import-status")
    # The part is busy from the moment a file is taken until its import has ended.
    expect(section.locator(".import")).not_to_have_class(re.compile(r"\bbusy\b"), timeout=IMPORT_TIMEOUT)
    state = import_state(app)
    assert state["state"] == "done", state
    summary: dict[str, Any] = state["summary"]
    expect(status).to_have_text(summary["sentence"])
    lines = summary["notes"] + [f"{e['title']} — {e['reason']}" for e in summary["failed"]["examples"]]
    expect(section.locator(".import-details li")).to_have_text(lines)
    expect(section.get_by_role("progressbar")).to_be_hidden()
    expect(section.get_by_role("button", name="Stop")).to_be_hidden()
    expect(section.get_by_role("button", name="Import…")).to_be_enabled()
    return summary


# ---- the specification ----


def test_a_chatgpt_export_shows_progress_then_its_summary_and_its_conversations_open_in_the_list(
    page: Page, app: RunningApp
) -> None:
    export = chatgpt_zip(
        [
            chatgpt_conversation("Llama diets", "What do llamas eat?", "Mostly grass and hay.", image=True),
            chatgpt_conversation("Alpaca wool", "Is alpaca wool warm?", "Warmer than sheep's wool."),
            unreadable("Damaged chat"),
            # A year older, listed below the others; enough that the import lasts longer than its start's answer.
            *bulk(30, "Older", start=CREATED - 365 * 86400),
        ]
    )
    open_builtin(page, app)
    section = your_data(page)
    expect(section.get_by_text("ChatGPT or Claude data export")).to_be_visible()
    expect(section.locator(".import-input")).to_have_attribute("accept", ".zip,.json")
    page.evaluate(RECORD_JS)
    choose(page, "chatgpt-export.zip", export)

    summary = expect_summary(section, app)
    assert summary["added"]["conversations"] == 32
    assert summary["failed"]["count"] == 1
    assert summary["failed"]["examples"][0]["title"] == "Damaged chat"
    assert summary["notes"], "the picture missing from the export is named in a note"
    # What the status line said, in order: the file checked, sent, imported, summed up.
    statuses: list[str] = page.evaluate("window.__statuses")
    assert statuses[:2] == ["Checking chatgpt-export.zip…", "Sending the file… 0 %"], statuses
    importing = [i for i, text in enumerate(statuses) if re.fullmatch(r"Importing… \d+ of 33 conversations", text)]
    assert importing and importing[0] > 1, statuses
    assert statuses[-1] == summary["sentence"]
    section.locator(".import").scroll_into_view_if_needed()
    screenshot(page, "import-summary")

    # The list was read again: both conversations, under their own titles; one opens on its messages.
    page.get_by_role("button", name="Close settings").click()
    expect(listed(page, "Llama diets")).to_have_count(1)
    expect(listed(page, "Alpaca wool")).to_have_count(1)
    listed(page, "Llama diets").locator(".thread-open").click()
    expect(page.locator(".chat-title")).to_have_text("Llama diets")
    expect(page.locator(".msg-user .bubble")).to_contain_text(["What do llamas eat?"])
    expect(page.locator(".msg-assistant .md")).to_have_text(["Mostly grass and hay."])


def test_the_same_export_again_says_its_conversations_were_already_there(page: Page, app: RunningApp) -> None:
    export = chatgpt_zip([chatgpt_conversation("Twice imported", "Once?", "Or twice.")])
    open_builtin(page, app)
    section = your_data(page)
    choose(page, "twice.zip", export)
    assert expect_summary(section, app)["added"]["conversations"] == 1
    files = thread_files(app)

    choose(page, "twice.zip", export)
    summary = expect_summary(section, app)
    expect(section.locator(".import-status")).to_contain_text("already")
    assert summary["added"]["conversations"] == 0
    assert summary["present"]["conversations"] == 1
    assert thread_files(app) == files
    page.get_by_role("button", name="Close settings").click()
    expect(listed(page, "Twice imported")).to_have_count(1)


def test_a_file_that_is_not_an_export_shows_the_servers_sentence_and_changes_nothing(
    page: Page, app: RunningApp
) -> None:
    files = thread_files(app)
    open_builtin(page, app)
    rows = page.locator(".thread-list .thread")
    expect(rows).to_have_count(min(len(files), 50))  # the list's first page
    section = your_data(page)
    with page.expect_response(lambda r: "/api/import?name=" in r.url) as answered:
        choose(page, "shopping.json", json.dumps({"milk": 2, "eggs": 12}).encode(), "application/json")
    assert answered.value.status == 400
    sentence = answered.value.json()["error"]
    assert sentence
    expect(section.locator(".import-problem")).to_have_text(sentence)
    expect(section.get_by_role("alert")).to_have_text(sentence)
    expect(section.get_by_role("button", name="Import…")).to_be_enabled()
    expect(section.get_by_role("progressbar")).to_be_hidden()
    assert thread_files(app) == files
    assert import_state(app)["state"] != "running"
    page.get_by_role("button", name="Close settings").click()
    expect(rows).to_have_count(min(len(files), 50))


def test_a_file_over_the_limit_is_refused_in_the_page_before_a_byte_is_sent(page: Page, app: RunningApp) -> None:
    limit = import_state(app)["max_bytes"]
    posts: list[Request] = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    open_builtin(page, app)
    section = your_data(page)
    size = page.evaluate(LARGE_FILE_JS, limit + 1)
    assert size == limit + 1
    problem = section.locator(".import-problem")
    expect(problem).to_contain_text("chatgpt-export.zip is larger than 1 GB")
    expect(problem).to_contain_text("conversations.json")
    expect(section.get_by_role("button", name="Import…")).to_be_enabled()
    assert not [r for r in posts if "/api/import" in r.url]


def test_an_app_that_stopped_answering_is_said_in_the_section(page: Page, tmp_path: Path, fake: FakeProvider) -> None:
    own = start_app(
        tmp_path / "data",
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OPENAI_API_KEY=OPENAI_KEY,
    )
    try:
        open_builtin(page, own)
        section = your_data(page)
    finally:
        own.stop()
    choose(page, "chatgpt-export.zip", chatgpt_zip([chatgpt_conversation("Never sent", "Hello?", "Nobody.")]))
    expect(section.locator(".import-problem")).to_have_text(UNREACHABLE)
    expect(section.get_by_role("button", name="Import…")).to_be_enabled()
    expect(section.get_by_role("progressbar")).to_be_hidden()


def test_an_export_dropped_on_the_conversation_list_is_imported_in_settings(page: Page, app: RunningApp) -> None:
    export = chatgpt_zip([chatgpt_conversation("Dropped on the list", "Where?", "On the list.")])
    open_builtin(page, app)
    drop(
        page,
        ".thread-list",
        "chatgpt-export.zip",
        export,
        "application/zip",
        zone=".sidebar",
        hint=IMPORT_HINT,
        photo="import-drop-list",
    )
    dialog = page.locator("dialog.settings")
    expect(dialog).to_be_visible()
    summary = expect_summary(dialog.locator("section.your-data"), app)
    assert summary["added"]["conversations"] == 1
    expect(dialog.locator(".import")).to_be_in_viewport()
    page.get_by_role("button", name="Close settings").click()
    expect(listed(page, "Dropped on the list")).to_have_count(1)


def test_a_zip_dropped_on_the_conversation_is_imported_not_attached(page: Page, app: RunningApp) -> None:
    export = chatgpt_zip([chatgpt_conversation("Dropped on the chat", "Here?", "Imported.")])
    open_builtin(page, app)
    drop(page, ".messages", "export.zip", export, "application/zip", zone=".chat", hint=IMPORT_HINT)
    dialog = page.locator("dialog.settings")
    expect(dialog).to_be_visible()
    expect_summary(dialog.locator("section.your-data"), app)
    page.get_by_role("button", name="Close settings").click()
    expect(page.locator(".tray .chip")).to_have_count(0)
    expect(listed(page, "Dropped on the chat")).to_have_count(1)


def test_stop_ends_a_running_import_and_what_was_written_stays_listed(page: Page, app: RunningApp) -> None:
    total = 4000
    export = chatgpt_zip(bulk(total, "Bulk"))
    before = thread_files(app)
    open_builtin(page, app)
    section = your_data(page)
    choose(page, "big-export.zip", export)
    status = section.locator(".import-status")
    expect(status).to_have_text(re.compile(r"^Importing… [1-9][\d,]* of 4,000 conversations$"), timeout=IMPORT_TIMEOUT)
    progress = section.get_by_role("progressbar", name="Import progress")
    expect(progress).to_have_attribute("max", str(total))
    screenshot(page, "import-progress")

    # Closed and opened again, the dialog shows the import still running.
    page.get_by_role("button", name="Close settings").click()
    section = your_data(page)
    expect(status).to_have_text(re.compile(r"^Importing… [\d,]+ of 4,000 conversations$"))
    section.get_by_role("button", name="Stop").click()
    summary = expect_summary(section, app)  # the server's, saying how many were added before the stop
    expect(status).to_contain_text("stopped")
    written = thread_files(app) - before
    assert 0 < len(written) < total
    assert summary["added"]["conversations"] == len(written)

    page.get_by_role("button", name="Close settings").click()
    expect(page.locator(".thread-list .thread", has_text=re.compile(r"^Bulk \d+$")).first).to_be_visible()
    listed_ids = page.locator(".thread-list .thread").evaluate_all("(rows) => rows.map((row) => row.dataset.id)")
    bulk_on_disk = {name.removesuffix(".json") for name in written}
    assert bulk_on_disk & set(listed_ids)


@pytest.fixture
def stand_in_context(browser: Browser) -> Iterator[BrowserContext]:
    """chatkit.js's address serves the stand-in, which also counts calls of `fetchUpdates`."""
    stand_in = STAND_IN.replace(
        "setThreadId(threadId) {",
        "fetchUpdates() { window.__chatkit.updates = (window.__chatkit.updates || 0) + 1; return Promise.resolve(); }"
        "\n    setThreadId(threadId) {",
    )
    ctx = browser.new_context(viewport={"width": 1000, "height": 720}, color_scheme="light")
    ctx.route(CHATKIT_JS, lambda route: route.fulfill(status=200, content_type="text/javascript", body=stand_in))
    yield ctx
    ctx.close()


def test_chatkit_face_fetches_updates_after_an_import(stand_in_context: BrowserContext, app: RunningApp) -> None:
    page = stand_in_context.new_page()
    watch = Watch(page)
    page.goto(page_url(app))
    page.wait_for_function("() => window.__chatkit && window.__chatkit.fetch")
    page.evaluate("window.__chatkit.options.header.rightAction.onClick()")  # ChatKit's settings button
    dialog = page.locator("dialog.settings")
    expect(dialog).to_be_visible()
    choose(page, "for-chatkit.zip", chatgpt_zip([chatgpt_conversation("Seen by ChatKit", "Hi", "Hello")]))
    assert expect_summary(dialog.locator("section.your-data"), app)["added"]["conversations"] == 1
    page.wait_for_function("() => window.__chatkit.updates >= 1")
    assert watch.errors == [] and watch.dialogs == []


def test_the_import_part_fits_400_px_dark(browser: Browser, app: RunningApp) -> None:
    ctx = browser.new_context(viewport={"width": 400, "height": 760}, color_scheme="dark")
    block_chatkit(ctx)
    try:
        watch = Watch(ctx.new_page())
        page = open_builtin(watch.page, app)
        section = your_data(page)
        choose(
            page,
            "narrow.zip",
            chatgpt_zip(
                [
                    chatgpt_conversation("Narrow", "Fits?", "Yes."),
                    unreadable("A conversation with a rather long title, to wrap"),
                ]
            ),
        )
        expect_summary(section, app)
        section.locator(".import").scroll_into_view_if_needed()
        for box in (
            section.get_by_role("button", name="Import…").bounding_box(),
            section.locator(".import-details").bounding_box(),
        ):
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
        screenshot(page, "import-summary-400-dark")
        assert watch.errors == []
    finally:
        ctx.close()

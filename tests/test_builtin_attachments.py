"""Attachments in the built-in face, in a real browser (Debian's Chromium, Playwright) against the real app and
the fake LLM: files come in by the paperclip, by dropping them on the conversation and by pasting into the
message box; each uploads at once and shows as a chip (a thumbnail for a picture); Send waits for uploads;
the sent message shows its pictures and files, after a reload too; the model receives them; a file the
server or the page refuses leaves its sentence on screen and no chip; × removes a file before sending.

Drops and pastes are real DOM events carrying a `DataTransfer` with `File`s built in the page: that is what
Chromium hands the page for a drag from the desktop or a paste from the clipboard.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, FilePayload, Page, Route, expect

from tests import media
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
from tests.fake_provider import FakeProvider
from tests.fake_provider.wire import Part
from tests.harness import RunningApp, read_thread_file

PDF_TEXT = "Quarterly llama census: 42 llamas"
PNG = media.png(64, 48, media.BLUE)
PDF = media.pdf(PDF_TEXT)

# Builds `File`s in the page from {name, type, data (base64)} or {name, type, size} (zeros), in a DataTransfer.
FILES_JS = """(files) => {
    const transfer = new DataTransfer();
    for (const f of files) {
        const bytes = f.data !== undefined
            ? Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0)) : new Uint8Array(f.size);
        transfer.items.add(new File([bytes], f.name, { type: f.type }));
    }
    return transfer;
}"""

PASTE_JS = """([box, transfer]) => {
    const event = new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true });
    box.dispatchEvent(event);
    return event.defaultPrevented;
}"""


def payload(name: str, mime: str, data: bytes) -> FilePayload:
    """A file as Playwright's file chooser takes it."""
    return {"name": name, "mimeType": mime, "buffer": data}


def in_page(name: str, mime: str, data: bytes | None = None, size: int = 0) -> dict[str, Any]:
    """A file as FILES_JS builds it in the page: these bytes, or `size` zero bytes."""
    if data is None:
        return {"name": name, "type": mime, "size": size}
    return {"name": name, "type": mime, "data": base64.b64encode(data).decode()}


def attach_by_button(page: Page, *files: FilePayload) -> None:
    """Click the paperclip and pick files in the file chooser it opens."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    assert chooser.value.is_multiple()
    chooser.value.set_files(list(files))


def drop(page: Page, *files: dict[str, Any], check_highlight: bool = True) -> None:
    """Drag files over the conversation (the drop highlight shows) and drop them there."""
    transfer = page.evaluate_handle(FILES_JS, list(files))
    page.dispatch_event(".messages", "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(".messages", "dragover", {"dataTransfer": transfer})
    if check_highlight:
        expect(page.locator(".drop-hint")).to_be_visible()
        expect(page.locator(".drop-hint")).to_contain_text("Drop files to attach them")
    page.dispatch_event(".messages", "drop", {"dataTransfer": transfer})
    expect(page.locator(".drop-hint")).to_be_hidden()


def paste(page: Page, *files: dict[str, Any]) -> bool:
    """Paste files into the message box, as a copied picture arrives; returns whether the page took the paste."""
    transfer = page.evaluate_handle(FILES_JS, list(files))
    box = page.get_by_role("textbox", name="Message").element_handle()
    taken: bool = page.evaluate(PASTE_JS, [box, transfer])
    return taken


def chips(page: Page) -> Any:
    return page.locator(".tray .chip")


def chip(page: Page, name: str) -> Any:
    return page.locator(".tray .chip", has=page.get_by_role("button", name=f"Remove {name}"))


def wait_uploaded(page: Page, count: int) -> None:
    expect(chips(page)).to_have_count(count)
    for index in range(count):
        expect(chips(page).nth(index)).to_have_attribute("data-state", "ready", timeout=10_000)


def expect_image_loaded(image: Any) -> None:
    """The picture is on screen, decoded (a broken or unloaded image has no natural width)."""
    expect(image).to_be_visible()
    image.evaluate("(img) => img.decode()")
    assert image.evaluate("(img) => img.naturalWidth") > 0


def last_user_parts(fake: FakeProvider) -> list[Part]:
    """The parts of the last user message the model received: text, images and files, bytes decoded."""
    streamed = fake.last_stream()
    users = [
        parts for message, parts in zip(streamed.messages, streamed.parts, strict=True) if message["role"] == "user"
    ]
    return users[-1]


def texts_of(parts: list[Part]) -> str:
    return "\n".join(part["text"] for part in parts if part["kind"] == "text")


def attachment_folders(app: RunningApp) -> dict[str, dict[str, Any]]:
    """Each attachment on disk: its id → its meta.json."""
    root = app.data_dir / "attachments"
    if not root.exists():
        return {}
    found = {}
    for meta in root.glob("*/meta.json"):
        found[meta.parent.name] = json.loads(meta.read_text(encoding="utf-8"))
    return found


def names_on_disk(app: RunningApp) -> list[str]:
    return sorted(meta["name"] for meta in attachment_folders(app).values())


def eventually(check: Any, timeout: float = 5.0) -> None:
    """Wait until `check()` holds (the page's requests to the server are not awaited by the test)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)


def server_refusal(app: RunningApp, name: str, mime: str, data: bytes, size: int | None = None) -> str:
    """The sentence the server gives for these bytes (or for a file of `size` at the first phase), by the same two
    phases the page uses; whatever the server recorded is removed again."""
    params = {"name": name, "size": len(data) if size is None else size, "mime_type": mime}
    with app.client() as client:
        created = client.post("/chatkit", json={"type": "attachments.create", "params": params})
        if created.status_code != 200:
            sentence: str = created.json()["error"]
            return sentence
        attachment = created.json()
        descriptor = attachment["upload_descriptor"]
        put = httpx.put(descriptor["url"], headers=descriptor["headers"], content=data)
        assert put.status_code in (400, 413), put.text
        client.post("/chatkit", json={"type": "attachments.delete", "params": {"attachment_id": attachment["id"]}})
        sentence = put.json()["error"]
        return sentence


def limits(app: RunningApp) -> dict[str, Any]:
    with app.client() as client:
        response = client.get("/api/attachments/limits")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def open_thread(page: Page, thread_id: str) -> None:
    page.locator(f'.thread[data-id="{thread_id}"] .thread-open').click()
    expect(page.locator(".msg-assistant")).not_to_have_count(0, timeout=10_000)


def test_picked_files_upload_show_send_and_come_back(page: Page, app: RunningApp, fake: FakeProvider) -> None:
    open_builtin(page, app)
    paperclip = page.get_by_role("button", name="Attach files")
    expect(paperclip).to_have_attribute("title", limits(app)["summary"])

    attach_by_button(page, payload("llama.png", "image/png", PNG))
    attach_by_button(page, payload("census.pdf", "application/pdf", PDF))
    wait_uploaded(page, 2)
    # Before sending: the picture as a thumbnail, the PDF as a named chip with its kind and size.
    expect_image_loaded(chip(page, "llama.png").locator("img"))
    expect(chip(page, "census.pdf")).to_contain_text("census.pdf")
    expect(chip(page, "census.pdf")).to_contain_text(f"PDF · {len(PDF)} bytes")
    eventually(lambda: {"census.pdf", "llama.png"} <= set(names_on_disk(app)))

    send(page, "What is in these?")
    expect(chips(page)).to_have_count(0)
    question = page.locator(".msg-user").last
    expect(question.locator(".bubble")).to_have_text("What is in these?")
    expect_image_loaded(question.get_by_role("button", name="View llama.png").locator("img"))
    expect(question.get_by_role("button", name="Save census.pdf")).to_contain_text("census.pdf")
    expect(last_answer(page)).to_contain_text("You said: What is in these?", timeout=ANSWER_TIMEOUT)
    wait_idle(page)

    # The model got the text, the picture and the PDF.
    parts = last_user_parts(fake)
    assert parts[0] == {"kind": "text", "text": "What is in these?"}
    assert [p for p in parts if p["kind"] == "image"] == [{"kind": "image", "mime_type": "image/png", "data": PNG}]
    pdfs = [p for p in parts if p["kind"] == "file"]
    assert pdfs or PDF_TEXT in texts_of(parts), parts  # natively, or as its text for models that cannot read PDFs
    if pdfs:
        assert pdfs == [{"kind": "file", "mime_type": "application/pdf", "filename": "census.pdf", "data": PDF}]

    # The thread file keeps both with the message; reopened after a reload, the message still shows them.
    thread_id = active_thread_id(page)
    saved = read_thread_file(app.data_dir, thread_id)
    user = next(i for i in saved["items"] if i["type"] == "user_message")
    assert [a["name"] for a in user["attachments"]] == ["llama.png", "census.pdf"]
    page.reload()
    expect(page.locator(".builtin")).to_be_visible(timeout=10_000)
    open_thread(page, thread_id)
    question = page.locator(".msg-user").last
    picture = question.get_by_role("button", name="View llama.png")
    expect_image_loaded(picture.locator("img"))
    expect(question.get_by_role("button", name="Save census.pdf")).to_be_visible()

    # A picture opens large, from the keyboard too; Escape closes it and gives the focus back.
    picture.focus()
    page.keyboard.press("Enter")
    large = page.locator("dialog.lightbox")
    expect(large).to_be_visible()
    expect(large).to_contain_text("llama.png")
    expect_image_loaded(large.locator("img"))
    with page.expect_download() as saved_picture:
        large.get_by_role("button", name="Save").click()
    assert saved_picture.value.suggested_filename == "llama.png"
    assert Path(saved_picture.value.path()).read_bytes() == PNG
    page.keyboard.press("Escape")
    expect(large).to_be_hidden()
    expect(picture).to_be_focused()
    # A file is saved under its name, with its bytes.
    with page.expect_download() as download:
        question.get_by_role("button", name="Save census.pdf").click()
    assert download.value.suggested_filename == "census.pdf"
    assert Path(download.value.path()).read_bytes() == PDF


def test_dropped_files_upload_and_the_answer_reads_them(page: Page, app: RunningApp, fake: FakeProvider) -> None:
    open_builtin(page, app)
    drop(page, in_page("greet.py", "text/x-python", media.python_source()), in_page("dot.png", "image/png", PNG))
    wait_uploaded(page, 2)
    expect_image_loaded(chip(page, "dot.png").locator("img"))
    expect(chip(page, "greet.py")).to_contain_text("PY ·")

    send(page, "Read my script")
    question = page.locator(".msg-user").last
    expect(question.get_by_role("button", name="Save greet.py")).to_be_visible()
    expect_image_loaded(question.get_by_role("button", name="View dot.png").locator("img"))
    # The fake echoes every text part it got: the script reached the model, named, as text.
    expect(last_answer(page)).to_contain_text("You said: Read my script", timeout=ANSWER_TIMEOUT)
    expect(last_answer(page)).to_contain_text('return f"Hello, {name}!"')
    wait_idle(page)
    texts = texts_of(last_user_parts(fake))
    assert "greet.py" in texts
    assert media.PYTHON_SOURCE.strip() in texts


def test_pasted_picture_is_attached_and_sent_without_text(page: Page, app: RunningApp, fake: FakeProvider) -> None:
    open_builtin(page, app)
    assert paste(page, in_page("image.png", "image/png", PNG))
    wait_uploaded(page, 1)
    expect_image_loaded(chip(page, "image.png").locator("img"))

    # A picture alone is a message: Send is enabled with an empty box.
    send_button = page.get_by_role("button", name="Send")
    expect(send_button).to_be_enabled()
    send_button.click()
    question = page.locator(".msg-user").last
    expect_image_loaded(question.get_by_role("button", name="View image.png").locator("img"))
    expect(question.locator(".bubble")).to_be_hidden()
    expect(last_answer(page)).to_contain_text("You said:", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    assert [p["data"] for p in last_user_parts(fake) if p["kind"] == "image"] == [PNG]
    # No text typed, no text part sent: the saved question is the picture alone.
    saved = read_thread_file(app.data_dir, active_thread_id(page))
    user = next(i for i in saved["items"] if i["type"] == "user_message")
    assert user["content"] == []
    assert [a["name"] for a in user["attachments"]] == ["image.png"]


def test_text_on_the_clipboard_is_pasted_as_text(page: Page, app: RunningApp) -> None:
    """Office programs put a picture of the copied cells beside the text; the text is what was meant."""
    open_builtin(page, app)
    taken = page.evaluate(
        """(png) => {
            const transfer = new DataTransfer();
            transfer.setData('text/plain', 'A1 B1');
            transfer.items.add(new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], 'cells.png',
                { type: 'image/png' }));
            const event = new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true });
            document.querySelector('.composer-input').dispatchEvent(event);
            return event.defaultPrevented;
        }""",
        base64.b64encode(PNG).decode(),
    )
    assert taken is False
    expect(chips(page)).to_have_count(0)


def test_refused_files_leave_a_sentence_and_no_chip(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    before = set(attachment_folders(app))
    toasts = page.locator(".toast-error")

    # The server decides a file's type from its bytes: these are nothing it knows.
    unknown = media.random_bytes()
    sentence = server_refusal(app, "mystery.bin", "application/octet-stream", unknown)
    attach_by_button(page, payload("mystery.bin", "application/octet-stream", unknown))
    expect(toasts.filter(has_text=sentence)).to_be_visible(timeout=10_000)
    expect(chips(page)).to_have_count(0)

    # A PNG that is not one, pasted.
    broken = media.corrupt_png()
    sentence = server_refusal(app, "broken.png", "image/png", broken)
    paste(page, in_page("broken.png", "image/png", broken))
    expect(toasts.filter(has_text=sentence)).to_be_visible(timeout=10_000)
    expect(chips(page)).to_have_count(0)

    # Too large: the page says so before sending a byte, in the server's words.
    max_bytes = limits(app)["max_bytes"]
    sentence = server_refusal(app, "huge.bin", "application/octet-stream", b"", size=max_bytes + 1)
    drop(page, in_page("huge.bin", "application/octet-stream", size=max_bytes + 1), check_highlight=False)
    expect(toasts.filter(has_text=sentence)).to_be_visible()
    expect(chips(page)).to_have_count(0)

    # Nothing refused is left on disk (the page removes what the server recorded before refusing the bytes).
    eventually(lambda: set(attachment_folders(app)) == before)


def test_more_files_than_a_message_holds(page: Page, app: RunningApp) -> None:
    open_builtin(page, app)
    most = limits(app)["max_count"]
    notes = [in_page(f"note{n}.txt", "text/plain", f"note {n}\n".encode()) for n in range(most + 2)]
    drop(page, *notes, check_highlight=False)
    expect(page.locator(".toast-error")).to_contain_text(f"A message can carry at most {most} files")
    wait_uploaded(page, most)
    expect(page.locator(".toast-error")).to_have_count(1)  # one sentence, not one per file left out


def test_remove_before_sending(page: Page, app: RunningApp, fake: FakeProvider) -> None:
    open_builtin(page, app)
    # Larger than the 2 MiB every other request may carry: uploads have their own, larger limit.
    big = b"".join(b"line %07d of a long log file\n" % n for n in range(110_000))
    assert len(big) > 3 * 1024 * 1024
    attach_by_button(
        page,
        payload("keep.png", "image/png", PNG),
        payload("drop.pdf", "application/pdf", PDF),
        payload("big.log.txt", "text/plain", big),
    )
    wait_uploaded(page, 3)
    expect(chip(page, "big.log.txt")).to_contain_text("TXT · 3.4 MB")
    eventually(lambda: {"keep.png", "drop.pdf", "big.log.txt"} <= set(names_on_disk(app)))
    chip(page, "big.log.txt").get_by_role("button", name="Remove big.log.txt").click()
    eventually(lambda: "big.log.txt" not in names_on_disk(app))

    # From the keyboard: the × is a button with the file's name; the next chip's × takes the focus.
    remove = page.get_by_role("button", name="Remove drop.pdf")
    remove.focus()
    page.keyboard.press("Enter")
    expect(chips(page)).to_have_count(1)
    expect(chip(page, "drop.pdf")).to_have_count(0)
    eventually(lambda: "drop.pdf" not in names_on_disk(app))
    expect(page.get_by_role("button", name="Remove keep.png")).to_be_focused()
    page.keyboard.press("Enter")
    expect(chips(page)).to_have_count(0)
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    eventually(lambda: "keep.png" not in names_on_disk(app))

    attach_by_button(page, payload("keep.png", "image/png", PNG), payload("drop.pdf", "application/pdf", PDF))
    wait_uploaded(page, 2)
    chip(page, "drop.pdf").get_by_role("button", name="Remove drop.pdf").click()
    send(page, "Only the picture")
    expect(last_answer(page)).to_contain_text("You said: Only the picture", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    question = page.locator(".msg-user").last
    expect(question.locator(".msg-image, .msg-file")).to_have_count(1)
    assert [p["kind"] for p in last_user_parts(fake) if p["kind"] != "text"] == ["image"]


def test_send_waits_for_uploads(page: Page, app: RunningApp, fake: FakeProvider) -> None:
    open_builtin(page, app)
    # Hold the bytes back on their way to the server, as a large file on a slow disk would be.
    held: list[Route] = []
    page.route("**/api/attachments/*/upload", lambda route: held.append(route))
    attach_by_button(page, payload("slow.png", "image/png", PNG))
    expect(chips(page)).to_have_count(1)
    for _ in range(200):  # route handlers run only while Playwright is called, so wait through it
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the upload never started"
    expect(chips(page).first).to_have_attribute("data-state", "uploading")
    expect(chips(page).first.get_by_role("progressbar")).to_be_visible()

    send(page, "Wait for my picture")
    waiting = page.get_by_role("button", name="Sending when the uploads finish")
    expect(waiting).to_be_visible()
    expect(page.locator(".msg-user")).to_have_count(0)  # nothing sent yet
    held[0].continue_()
    expect(last_answer(page)).to_contain_text("You said: Wait for my picture", timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    expect_image_loaded(page.locator(".msg-user").last.get_by_role("button", name="View slow.png").locator("img"))
    assert [p["data"] for p in last_user_parts(fake) if p["kind"] == "image"] == [PNG]


def test_screenshots_light_and_dark(browser: Browser, app: RunningApp) -> None:
    """A conversation with a picture and a PDF, in both themes (test-output/screenshots/attachments-*.png)."""
    thread_id = ""
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport=WIDE, color_scheme=scheme)
        block_chatkit(context)
        try:
            page = open_builtin(context.new_page(), app)
            if not thread_id:
                attach_by_button(
                    page,
                    payload("sunset.png", "image/png", media.png(320, 200, (236, 120, 60))),
                    payload("trip-plan.pdf", "application/pdf", media.pdf("Day 1: the coast\nDay 2: the hills")),
                )
                wait_uploaded(page, 2)
                send(page, "Here is the photo and the plan. Which day suits this light best?")
                expect(last_answer(page)).to_contain_text("You said:", timeout=ANSWER_TIMEOUT)
                wait_idle(page)
                thread_id = active_thread_id(page)
            else:
                open_thread(page, thread_id)
            expect_image_loaded(page.locator(".msg-image img").last)
            page.mouse.move(0, 0)
            screenshot(page, f"attachments-{scheme}")
        finally:
            context.close()


def test_an_upload_address_that_is_not_the_apps_gets_neither_the_bytes_nor_the_token(
    page: Page, app: RunningApp
) -> None:
    open_builtin(page, app)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    error = page.evaluate(
        """async () => {
            const { upload } = await import('/client.js');
            const descriptor = { url: 'http://127.0.0.2:9/api/attachments/atc_x/upload', method: 'PUT', headers: {} };
            try { await upload(descriptor, new Blob(['secret'])); return null; } catch (e) { return e.message; }
        }"""
    )
    assert error == "The upload address is not this app’s own; the file was not sent."
    assert not [url for url in requested if "127.0.0.2" in url]

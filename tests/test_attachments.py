"""Attachments end to end, over HTTP against the real server: files uploaded in two phases, sent with a message
and received by the model byte for byte (OpenAI's and Gemini's formats, and a local server's), kept across a
restart, removed with their conversation; the routes that serve them guarded by the token or a capability; every
bad file or id refused with one sentence, leaving nothing on disk."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests import media
from tests.conftest import OPENAI_KEY
from tests.fake_provider import FakeProvider, Part
from tests.harness import (
    RunningApp,
    answer_text,
    events_of,
    read_thread_file,
    start_app,
    thread_id_of,
    user_input,
)

PNG = media.png(16, 12)
JPEG = media.jpeg(color=media.BLUE)
PDF = media.pdf("Quarterly report: sales doubled", pages=2)
PY = media.python_source()
MAX_BYTES = 20 * 1024 * 1024
CDN = "https://cdn.platform.openai.com"


# ---- the apps -----------------------------------------------------------------------------------------------
# `app` (conftest) is the README's local setup, `openai/<model>` with a base URL; `gemini_app` is Gemini.


def start_openai_app(data_dir: Path, fake: FakeProvider) -> RunningApp:
    """The app on an OpenAI model with no base URL set, as for OpenAI itself: the app routes it as OpenAI, and
    LiteLLM's own `OPENAI_BASE_URL` sends it to the fake."""
    return start_app(
        data_dir,
        CHATKIT_DESKTOP_MODEL="openai/gpt-4.1-mini",
        OPENAI_BASE_URL=fake.openai_base,
        OPENAI_API_KEY=OPENAI_KEY,
    )


@pytest.fixture(scope="module")
def openai_app(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """The app on OpenAI itself (see `start_openai_app`)."""
    running = start_openai_app(tmp_path_factory.mktemp("data"), fake)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def local_app(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """The app on a local model server by LM Studio's provider, which the fake serves in OpenAI's format."""
    running = start_app(
        tmp_path_factory.mktemp("data"),
        CHATKIT_DESKTOP_MODEL="lm_studio/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
    )
    yield running
    running.stop()


# ---- helpers ------------------------------------------------------------------------------------------------


def create(app: RunningApp, name: str, size: int, mime_type: str) -> httpx.Response:
    """The first phase: `attachments.create` on `POST /chatkit`."""
    return app.post({"type": "attachments.create", "params": {"name": name, "size": size, "mime_type": mime_type}})


def put(url: str, data: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    """A raw PUT with exactly these headers (no token unless given)."""
    return httpx.put(url, content=data, headers=headers or {}, timeout=60)


def created(app: RunningApp, name: str, data: bytes, mime_type: str) -> dict[str, Any]:
    """A created attachment (first phase done, no bytes yet)."""
    response = create(app, name, len(data), mime_type)
    assert response.status_code == 200, response.text
    attachment: dict[str, Any] = response.json()
    return attachment


def upload(app: RunningApp, name: str, data: bytes, mime_type: str) -> dict[str, Any]:
    """Both phases, as the faces do them: create, then PUT the bytes where the descriptor says."""
    descriptor = created(app, name, data, mime_type)["upload_descriptor"]
    assert descriptor["method"] == "PUT"
    response = put(descriptor["url"], data, descriptor["headers"])
    assert response.status_code == 200, response.text
    attachment: dict[str, Any] = response.json()
    return attachment


def send(app: RunningApp, text: str, attachment_ids: list[str], thread_id: str | None = None) -> list[dict[str, Any]]:
    """Send a message carrying these attachments; the streamed events."""
    message = user_input(text) | {"attachments": attachment_ids}
    if thread_id is None:
        return app.stream("threads.create", input=message)
    return app.stream("threads.add_user_message", thread_id=thread_id, input=message)


def send_request(app: RunningApp, text: str, attachment_ids: list[str], thread_id: str | None = None) -> httpx.Response:
    """The same, as a raw request (for refusals, which are JSON answers rather than streams)."""
    message = user_input(text) | {"attachments": attachment_ids}
    if thread_id is None:
        return app.post({"type": "threads.create", "params": {"input": message}})
    return app.post({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message}})


def folders(app: RunningApp) -> set[str]:
    """The attachments on disk: the folders under `<data>/attachments/`."""
    root = app.data_dir / "attachments"
    return {path.name for path in root.iterdir() if path.is_dir()} if root.exists() else set()


def one_sentence(response: httpx.Response, status: int | tuple[int, ...]) -> str:
    """The refusal's sentence, after checking the status and that the body is `{"error": <one sentence>}`."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert list(body) == ["error"], body
    sentence: str = body["error"]
    assert sentence.endswith(".") and not re.search(r"[.!?] [A-Z]", sentence), f"not one sentence: {sentence}"
    assert "\n" not in sentence and "Traceback" not in sentence and len(sentence) < 300, sentence
    return sentence


def refused(response: httpx.Response, status: int) -> None:
    """A refusal by the token or Origin checks: that status, and the app's `{"error": …}` body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert list(response.json()) == ["error"], response.text


def still_answers(app: RunningApp) -> None:
    """The server keeps working after a refusal."""
    assert app.call("threads.list", limit=1)["data"] is not None
    with app.client() as client:
        assert client.get("/api/attachments/limits").status_code == 200


def sent_user_parts(fake: FakeProvider) -> list[list[Part]]:
    """The parts of each user message the model last received."""
    request = fake.last_stream()
    return [parts for message, parts in zip(request.messages, request.parts, strict=True) if message["role"] == "user"]


def texts(parts: list[Part]) -> list[str]:
    return [part["text"] for part in parts if part["kind"] == "text"]


def the_three(app: RunningApp) -> list[dict[str, Any]]:
    """A PNG, a PDF and a Python file, uploaded."""
    return [
        upload(app, "cat.png", PNG, "image/png"),
        upload(app, "report.pdf", PDF, "application/pdf"),
        upload(app, "hello.py", PY, "text/x-python"),
    ]


def python_text_part_is_there(parts: list[Part]) -> None:
    """The Python file went as text, under its name, every line of it."""
    framed = [text for text in texts(parts) if "hello.py" in text]
    assert len(framed) == 1, texts(parts)
    assert PY.decode().rstrip("\n") in framed[0]


# ---- what the model receives ---------------------------------------------------------------------------------


def test_an_uploaded_file_is_described_by_its_bytes_and_an_image_gets_a_signed_preview(app: RunningApp) -> None:
    first = created(app, "cat.png", PNG, "image/png")
    assert first["id"].startswith("atc_") and first["type"] == "image" and first["name"] == "cat.png"
    assert first["upload_descriptor"]["url"] == f"{app.base}/api/attachments/{first['id']}/upload"
    capability = first["upload_descriptor"]["headers"]["Authorization"]
    assert capability.startswith("Bearer ") and app.token not in capability, "the frame never gets the token"
    done = put(first["upload_descriptor"]["url"], PNG, first["upload_descriptor"]["headers"]).json()
    assert "upload_descriptor" not in done
    assert (done["id"], done["type"], done["mime_type"]) == (first["id"], "image", "image/png")
    preview = urlsplit(done["preview_url"])
    assert (preview.scheme, preview.netloc, preview.path) == (
        "http",
        f"127.0.0.1:{app.port}",
        f"/api/attachments/{done['id']}/preview",
    )
    assert preview.query.startswith("sig=") and app.token not in done["preview_url"]

    # The browser's claim is not trusted: the bytes decide.
    pdf = upload(app, "scan.png.pdf", PDF, "")
    assert (pdf["type"], pdf["mime_type"]) == ("file", "application/pdf") and "preview_url" not in pdf
    notes = upload(app, "notes.unknownext", b"plain words\n", "application/octet-stream")
    assert notes["type"] == "file" and notes["mime_type"].startswith("text/")
    code = upload(app, "hello.py", PY, "")
    assert code["mime_type"].startswith("text/")


def test_the_bytes_may_also_come_as_a_form_with_one_file(app: RunningApp) -> None:
    attachment = created(app, "cat.png", PNG, "image/png")
    descriptor = attachment["upload_descriptor"]
    response = httpx.post(
        descriptor["url"], files={"file": ("cat.png", PNG, "image/png")}, headers=descriptor["headers"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["mime_type"] == "image/png"
    assert httpx.get(response.json()["preview_url"]).content == PNG


def test_a_file_named_like_the_record_beside_it_does_not_overwrite_it(app: RunningApp) -> None:
    data = b'{"id": "atc_forged", "thread_id": "thr_x"}\n'
    attachment = upload(app, "meta.json", data, "application/json")
    record = json.loads((app.data_dir / "attachments" / attachment["id"] / "meta.json").read_text(encoding="utf-8"))
    assert record["id"] == attachment["id"] and record["name"] == "meta.json"
    with app.client() as client:
        assert client.get(f"/api/attachments/{attachment['id']}/file").content == data


def test_an_image_a_pdf_and_a_python_file_reach_an_openai_model_byte_exact(
    openai_app: RunningApp, fake: FakeProvider
) -> None:
    image, pdf, code = the_three(openai_app)
    events = send(openai_app, "What are these?", [image["id"], pdf["id"], code["id"]])
    assert answer_text(events).startswith("You said: What are these?")

    [parts] = sent_user_parts(fake)
    assert parts[0] == {"kind": "text", "text": "What are these?"}, "the typed text comes first"
    assert fake.last_stream().media() == [
        {"kind": "image", "mime_type": "image/png", "data": PNG},
        # OpenAI reads PDFs itself: the file, not its text.
        {"kind": "file", "mime_type": "application/pdf", "filename": "report.pdf", "data": PDF},
    ]
    python_text_part_is_there(parts)
    assert not any("sales doubled" in text for text in texts(parts)), "the PDF goes once, as a file"
    request = fake.last_stream()
    assert request.model == "gpt-4.1-mini" and request.api_key == OPENAI_KEY
    wire = request.body["messages"][-1]["content"]
    assert [part["type"] for part in wire] == ["text", "image_url", "file", "text"]


def test_the_same_files_reach_a_gemini_model_as_inline_data_byte_exact(
    gemini_app: RunningApp, fake: FakeProvider
) -> None:
    image, pdf, code = the_three(gemini_app)
    events = send(gemini_app, "And for Gemini?", [image["id"], pdf["id"], code["id"]])
    assert answer_text(events).startswith("You said: And for Gemini?")

    [parts] = sent_user_parts(fake)
    assert parts[0] == {"kind": "text", "text": "And for Gemini?"}
    assert fake.last_stream().media() == [
        {"kind": "image", "mime_type": "image/png", "data": PNG},
        {"kind": "file", "mime_type": "application/pdf", "filename": None, "data": PDF},
    ]
    python_text_part_is_there(parts)
    wire = fake.last_stream().body["contents"][-1]["parts"]
    assert [next(iter(part)) for part in wire] == ["text", "inline_data", "inline_data", "text"]


def test_the_second_turn_still_carries_the_first_turns_files(openai_app: RunningApp, fake: FakeProvider) -> None:
    app = openai_app
    image, pdf, code = the_three(app)
    thread_id = thread_id_of(send(app, "Look at these", [image["id"], pdf["id"], code["id"]]))
    second = send(app, "And what did the PDF say?", [], thread_id)
    assert "(I received 4 messages: system,user,assistant,user)" in answer_text(second)

    first_turn, second_turn = sent_user_parts(fake)
    assert [part for part in first_turn if part["kind"] != "text"] == [
        {"kind": "image", "mime_type": "image/png", "data": PNG},
        {"kind": "file", "mime_type": "application/pdf", "filename": "report.pdf", "data": PDF},
    ]
    python_text_part_is_there(first_turn)
    assert second_turn == [{"kind": "text", "text": "And what did the PDF say?"}]

    # A file sent in this thread may be sent again in it.
    third = send(app, "The picture again", [image["id"]], thread_id)
    assert answer_text(third).startswith("You said: The picture again")
    assert [part for part in sent_user_parts(fake)[-1] if part["kind"] == "image"] == [
        {"kind": "image", "mime_type": "image/png", "data": PNG}
    ]


@pytest.mark.parametrize("which", ["openai_app", "gemini_app"])
def test_files_sent_without_a_word_reach_the_model_with_no_empty_text_and_name_the_thread(
    which: str, request: pytest.FixtureRequest, fake: FakeProvider
) -> None:
    app: RunningApp = request.getfixturevalue(which)
    image = upload(app, "holiday-cat.png", PNG, "image/png")
    fake.clear()
    events = send(app, "", [image["id"]])
    assert events_of(events, "thread.item.done"), [e["type"] for e in events]
    [parts] = sent_user_parts(fake)
    assert {"kind": "text", "text": ""} not in parts, "no empty text part (Anthropic refuses one)"
    # LiteLLM itself adds a blank text part after Gemini's inline data (Gemini wants a text); OpenAI gets none.
    blank = [{"kind": "text", "text": " "}] if which == "gemini_app" else []
    assert parts == [{"kind": "image", "mime_type": "image/png", "data": PNG}, *blank]
    titled = [r for r in fake.requests if not r.stream]
    assert titled and any("holiday-cat.png" in m["content"] for m in titled[-1].messages), "titled by the file's name"
    assert app.call("threads.get_by_id", thread_id=thread_id_of(events))["title"]


def test_each_image_type_reaches_the_model_with_its_own_type(app: RunningApp, fake: FakeProvider) -> None:
    images = {
        "image/png": media.png(),
        "image/jpeg": media.jpeg(),
        "image/webp": media.webp(),
        "image/gif": media.gif(),
    }
    ids = [upload(app, f"pic{n}", data, "")["id"] for n, data in enumerate(images.values())]
    send(app, "Four pictures", ids)
    assert fake.last_stream().media() == [
        {"kind": "image", "mime_type": mime, "data": data} for mime, data in images.items()
    ]


def test_retrying_a_message_sends_its_files_again(openai_app: RunningApp, fake: FakeProvider) -> None:
    app = openai_app
    image, pdf = upload(app, "cat.png", PNG, "image/png"), upload(app, "report.pdf", PDF, "application/pdf")
    thread_id = thread_id_of(send(app, "Retry me", [image["id"], pdf["id"]]))
    fake.clear()
    user_item = app.items(thread_id)[0]
    retried = app.stream("threads.retry_after_item", thread_id=thread_id, item_id=user_item["id"])
    assert answer_text(retried).startswith("You said: Retry me")
    assert fake.last_stream().media() == [
        {"kind": "image", "mime_type": "image/png", "data": PNG},
        {"kind": "file", "mime_type": "application/pdf", "filename": "report.pdf", "data": PDF},
    ]


def test_ten_files_may_go_in_one_message(app: RunningApp, fake: FakeProvider) -> None:
    pictures = [media.png(4 + n, 4) for n in range(10)]
    ids = [upload(app, f"p{n}.png", data, "image/png")["id"] for n, data in enumerate(pictures)]
    events = send(app, "Ten at once", ids)
    assert answer_text(events).startswith("You said: Ten at once")
    assert [part["data"] for part in fake.last_stream().media()] == pictures


def test_a_model_that_cannot_read_images_says_so_before_anything_is_sent(
    openai_app: RunningApp, fake: FakeProvider
) -> None:
    image = upload(openai_app, "cat.png", PNG, "image/png")
    fake.clear()
    message = user_input("What is in this picture?", model="openai/gpt-3.5-turbo") | {"attachments": [image["id"]]}
    events = openai_app.stream("threads.create", input=message)
    [error] = [event for event in events if event["type"] == "error"]
    assert error["message"] == (
        "gpt-3.5-turbo cannot read images — pick a model that can in the composer, or send the message without"
        " the image."
    )
    assert not [request for request in fake.requests if request.stream], "nothing went to the model"


def test_after_a_switch_to_a_model_that_cannot_see_earlier_images_go_as_their_names(
    openai_app: RunningApp, fake: FakeProvider
) -> None:
    image = upload(openai_app, "cat.png", PNG, "image/png")
    thread_id = thread_id_of(send(openai_app, "Look at my cat", [image["id"]]))
    fake.clear()
    follow_up = user_input("Describe it in words", model="openai/gpt-3.5-turbo")
    events = openai_app.stream("threads.add_user_message", thread_id=thread_id, input=follow_up)
    assert answer_text(events).startswith("You said: Describe it in words")
    first, _ = sent_user_parts(fake)
    assert texts(first) == [
        "Look at my cat",
        "[cat.png: an image, not shown to this model because it cannot read images]",
    ]
    assert fake.last_stream().media() == []


@pytest.mark.parametrize(
    "which",
    [
        pytest.param("local_app", id="lm_studio"),
        # The README's own recipe for Ollama: `openai/llama3.2` with a base URL of http://localhost:11434/v1.
        pytest.param("app", id="openai-compatible-base-url"),
    ],
)
def test_a_local_model_server_gets_a_pdfs_text_instead_of_the_pdf(
    which: str, request: pytest.FixtureRequest, fake: FakeProvider
) -> None:
    app: RunningApp = request.getfixturevalue(which)
    pdf = upload(app, "report.pdf", PDF, "application/pdf")
    events = send(app, "Summarize", [pdf["id"]])
    assert answer_text(events).startswith("You said: Summarize")
    [parts] = sent_user_parts(fake)
    assert fake.last_stream().media() == [], "no file part: local servers do not read PDFs (README: as their text)"
    framed = [text for text in texts(parts) if "report.pdf" in text]
    assert len(framed) == 1 and framed[0].count("Quarterly report: sales doubled") == 2, "both pages' text"


# ---- what is kept, and for how long ---------------------------------------------------------------------------


def test_a_sent_message_lists_its_files_and_the_thread_file_keeps_their_size_and_hash(app: RunningApp) -> None:
    image, pdf = upload(app, "cat.png", PNG, "image/png"), upload(app, "report.pdf", PDF, "application/pdf")
    events = send(app, "Keep these", [image["id"], pdf["id"]])
    thread_id = thread_id_of(events)

    streamed = [e["item"] for e in events_of(events, "thread.item.done") if e["item"]["type"] == "user_message"]
    listed = app.items(thread_id)[0]
    for item in (*streamed, listed):
        shown = [{key: a.get(key) for key in ("id", "type", "name", "mime_type")} for a in item["attachments"]]
        assert shown == [
            {"id": image["id"], "type": "image", "name": "cat.png", "mime_type": "image/png"},
            {"id": pdf["id"], "type": "file", "name": "report.pdf", "mime_type": "application/pdf"},
        ]
        assert httpx.get(item["attachments"][0]["preview_url"]).content == PNG

    stored = read_thread_file(app.data_dir, thread_id)["items"][0]["attachments"]
    assert [(a["id"], a["metadata"]) for a in stored] == [
        (image["id"], {"size": len(PNG), "sha256": hashlib.sha256(PNG).hexdigest()}),
        (pdf["id"], {"size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()}),
    ]
    assert app.token not in json.dumps(stored), "no launch's secret in the thread file"
    for attachment, data in ((image, PNG), (pdf, PDF)):
        folder = app.data_dir / "attachments" / attachment["id"]
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        assert meta["thread_id"] == thread_id and meta["sha256"] == hashlib.sha256(data).hexdigest()
        assert meta["size"] == len(data) and meta["name"] == attachment["name"]
        assert (folder / attachment["name"]).read_bytes() == data


def test_after_a_restart_the_files_are_still_listed_served_and_sent(tmp_path: Path, fake: FakeProvider) -> None:
    first = start_openai_app(tmp_path, fake)
    try:
        image, pdf, code = the_three(first)
        thread_id = thread_id_of(send(first, "Before the restart", [image["id"], pdf["id"], code["id"]]))
        before = first.items(thread_id)[0]["attachments"]
    finally:
        assert first.stop() == 0

    again = start_openai_app(tmp_path, fake)
    try:
        after = again.items(thread_id)[0]["attachments"]
        assert [(a["id"], a["name"], a["mime_type"]) for a in after] == [
            (a["id"], a["name"], a["mime_type"]) for a in before
        ]
        # The preview points at this launch's server, with this launch's signature.
        assert urlsplit(after[0]["preview_url"]).netloc == f"127.0.0.1:{again.port}"
        assert httpx.get(after[0]["preview_url"]).content == PNG
        with again.client() as client:
            assert client.get(f"/api/attachments/{pdf['id']}/file").content == PDF

        fake.clear()
        events = send(again, "After the restart", [], thread_id)
        assert answer_text(events).startswith("You said: After the restart")
        first_turn = sent_user_parts(fake)[0]
        assert [part for part in first_turn if part["kind"] != "text"] == [
            {"kind": "image", "mime_type": "image/png", "data": PNG},
            {"kind": "file", "mime_type": "application/pdf", "filename": "report.pdf", "data": PDF},
        ]
        python_text_part_is_there(first_turn)
    finally:
        again.stop()


def test_deleting_a_conversation_deletes_its_files_and_only_its_files(app: RunningApp) -> None:
    image, pdf = upload(app, "cat.png", PNG, "image/png"), upload(app, "report.pdf", PDF, "application/pdf")
    other = upload(app, "other.png", JPEG, "image/jpeg")
    pending = upload(app, "pending.py", PY, "")
    thread_id = thread_id_of(send(app, "Delete me later", [image["id"], pdf["id"]]))
    keep_id = thread_id_of(send(app, "Keep me", [other["id"]]))
    assert {image["id"], pdf["id"], other["id"], pending["id"]} <= folders(app)

    app.call("threads.delete", thread_id=thread_id)
    assert not (app.data_dir / "attachments" / image["id"]).exists()
    assert not (app.data_dir / "attachments" / pdf["id"]).exists()
    assert {other["id"], pending["id"]} <= folders(app), "another thread's files and unsent ones stay"
    with app.client() as client:
        assert client.get(f"/api/attachments/{pdf['id']}/file").status_code == 404
        assert client.get(f"/api/attachments/{other['id']}/file").content == JPEG
    assert len(app.items(keep_id)[0]["attachments"]) == 1


def test_removing_a_file_from_the_composer_deletes_it_but_a_sent_one_stays(app: RunningApp) -> None:
    unsent = upload(app, "oops.png", PNG, "image/png")
    half = created(app, "half.pdf", PDF, "application/pdf")
    for attachment in (unsent, half):
        assert app.call("attachments.delete", attachment_id=attachment["id"]) == {}
        assert attachment["id"] not in folders(app)

    sent = upload(app, "sent.png", PNG, "image/png")
    send(app, "Sent", [sent["id"]])
    one_sentence(app.post({"type": "attachments.delete", "params": {"attachment_id": sent["id"]}}), 400)
    assert sent["id"] in folders(app)


# ---- who may read and write them -----------------------------------------------------------------------------


def test_a_preview_url_serves_the_image_without_the_token_but_only_with_its_own_signature(app: RunningApp) -> None:
    image = upload(app, "cat.png", PNG, "image/png")
    other = upload(app, "dog.jpg", JPEG, "image/jpeg")
    shown = httpx.get(image["preview_url"])
    assert shown.status_code == 200 and shown.content == PNG
    assert shown.headers["content-type"] == "image/png"
    assert "sandbox" in shown.headers["content-security-policy"]

    url = f"{app.base}/api/attachments/{image['id']}/preview"
    own_sig = urlsplit(image["preview_url"]).query.removeprefix("sig=")
    other_sig = urlsplit(other["preview_url"]).query.removeprefix("sig=")
    flipped = ("0" if own_sig[0] != "0" else "1") + own_sig[1:]
    for wrong in (url, f"{url}?sig=", f"{url}?sig={other_sig}", f"{url}?sig={flipped}", f"{url}?sig={app.token}"):
        response = httpx.get(wrong)
        refused(response, 401)
        assert response.content != PNG
    assert httpx.get(f"{app.base}/api/attachments/{other['id']}/preview?sig={own_sig}").status_code == 401


def test_the_file_route_needs_the_token(app: RunningApp) -> None:
    name = "résumé (final) 1.pdf"
    pdf = upload(app, name, PDF, "application/pdf")
    path = f"/api/attachments/{pdf['id']}/file"
    refused(httpx.get(app.base + path), 401)
    refused(httpx.get(app.base + path, headers={"Authorization": "Bearer wrong"}), 401)
    refused(httpx.get(app.base + path + "?sig=0123456789abcdef0123456789abcdef"), 401)
    with app.client() as client:
        served = client.get(path)
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == f"attachment; filename*=UTF-8''{quote(name, safe='')}"


def test_a_file_is_never_shown_as_a_page_of_the_app(app: RunningApp) -> None:
    page = upload(app, "page.html", b"<script>alert(1)</script>\n", "text/html")
    pdf = upload(app, "report.pdf", PDF, "application/pdf")
    with app.client() as client:
        served = client.get(f"/api/attachments/{page['id']}/file")
        assert served.headers["content-disposition"].startswith("attachment;")
        assert "sandbox" in served.headers["content-security-policy"]
        assert served.headers["x-content-type-options"] == "nosniff"
        for attachment in (page, pdf):
            assert client.get(f"/api/attachments/{attachment['id']}/preview").status_code == 404, "no preview"


def test_a_preview_signature_opens_the_preview_only_and_never_the_download(app: RunningApp) -> None:
    # A preview URL goes where the token must not (ChatKit's frame, an <img>): it grants the thumbnail and no more.
    image = upload(app, "cat.png", PNG, "image/png")
    sig = urlsplit(image["preview_url"]).query
    refused(httpx.get(f"{app.base}/api/attachments/{image['id']}/file?{sig}"), 401)
    with app.client() as client:
        served = client.get(f"/api/attachments/{image['id']}/file")
    assert served.status_code == 200 and served.content == PNG


def test_an_upload_needs_its_own_capability_or_the_token(app: RunningApp) -> None:
    target = created(app, "cat.png", PNG, "image/png")
    elsewhere = created(app, "dog.png", PNG, "image/png")
    url = target["upload_descriptor"]["url"]
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        elsewhere["upload_descriptor"]["headers"],
        {"Authorization": target["upload_descriptor"]["headers"]["Authorization"].removeprefix("Bearer ")},
    ):
        refused(put(url, PNG, headers), 401)
    assert sorted(path.name for path in (app.data_dir / "attachments" / target["id"]).iterdir()) == ["meta.json"]

    # The capability opens that one upload and nothing else.
    capability = target["upload_descriptor"]["headers"]
    refused(app.post({"type": "threads.list", "params": {}}, headers=capability), 401)
    with httpx.Client(base_url=app.base, headers=capability) as client:
        refused(client.get("/api/settings"), 401)
        refused(client.get("/api/attachments/limits"), 401)
    sig = capability["Authorization"].removeprefix("Bearer ")
    assert httpx.get(f"{app.base}/api/attachments/{target['id']}/file?sig={sig}").status_code == 401

    with app.client() as client:
        assert client.put(url, content=PNG).status_code == 200, "the page's own token works too"
    assert put(url, PNG, capability).status_code == 400, "an attachment is uploaded once"
    assert (app.data_dir / "attachments" / target["id"] / "cat.png").read_bytes() == PNG


ROUTES = [
    ("POST", "/chatkit"),
    ("GET", "/api/attachments/limits"),
    ("PUT", "/api/attachments/{id}/upload"),
    ("GET", "/api/attachments/{id}/preview?sig={sig}"),
    ("GET", "/api/attachments/{id}/file"),
]


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", CDN + ".evil.example", "http://cdn.platform.openai.com"]
)
def test_a_foreign_origin_is_refused_on_every_attachment_route(app: RunningApp, origin: str) -> None:
    target = created(app, "cat.png", PNG, "image/png")
    image = upload(app, "shown.png", PNG, "image/png")
    sig = urlsplit(image["preview_url"]).query.removeprefix("sig=")
    for method, path in ROUTES:
        attachment_id = target["id"] if "upload" in path else image["id"]
        url = app.base + path.format(id=attachment_id, sig=sig)
        headers = {"Origin": origin, "Authorization": f"Bearer {app.token}"}
        body = {"PUT": PNG, "POST": json.dumps({"type": "threads.list", "params": {}}).encode()}.get(method)
        response = httpx.request(method, url, headers=headers, content=body)
        refused(response, 403)
        assert "access-control-allow-origin" not in response.headers, (method, path)
        preflight = httpx.options(url, headers={"Origin": origin, "Access-Control-Request-Method": method})
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    assert sorted(path.name for path in (app.data_dir / "attachments" / target["id"]).iterdir()) == ["meta.json"]


def test_only_the_upload_route_lets_chatkits_frame_in(app: RunningApp) -> None:
    target = created(app, "cat.png", PNG, "image/png")
    image = upload(app, "shown.png", PNG, "image/png")
    sig = urlsplit(image["preview_url"]).query.removeprefix("sig=")
    url = target["upload_descriptor"]["url"]
    preflight = httpx.options(
        url,
        headers={
            "Origin": CDN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == CDN
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()

    uploaded = put(url, PNG, {"Origin": CDN, **target["upload_descriptor"]["headers"]})
    assert uploaded.status_code == 200 and uploaded.json()["mime_type"] == "image/png"
    assert uploaded.headers["access-control-allow-origin"] == CDN
    refused(put(created(app, "x.png", PNG, "image/png")["upload_descriptor"]["url"], PNG, {"Origin": CDN}), 401)

    for method, path in ROUTES:
        if "upload" in path:
            continue
        other_url = app.base + path.format(id=image["id"], sig=sig)
        headers = {"Origin": CDN, "Authorization": f"Bearer {app.token}"}
        response = httpx.request(method, other_url, headers=headers)
        refused(response, 403)
        assert "access-control-allow-origin" not in response.headers, path
        asked = httpx.options(other_url, headers={"Origin": CDN, "Access-Control-Request-Method": method})
        assert asked.status_code == 403 and "access-control-allow-origin" not in asked.headers, path


def test_the_limits_are_the_servers_and_need_the_token(app: RunningApp) -> None:
    refused(httpx.get(f"{app.base}/api/attachments/limits"), 401)
    with app.client() as client:
        limits = client.get("/api/attachments/limits").json()
    assert (limits["max_bytes"], limits["max_count"]) == (MAX_BYTES, 10)
    assert {"image/png", "image/jpeg", "image/webp", "image/gif", "application/pdf", "text/plain"} <= set(
        limits["accept"]
    )
    assert ".py" in limits["accept"]["text/plain"] and limits["accept"]["application/pdf"] == [".pdf"]
    assert "20 MB" in limits["summary"] and "10" in limits["summary"]


# ---- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "size", "status"),
    [
        ("", 10, 400),
        ("../cat.png", 10, 400),
        ("..", 10, 400),
        ("a/b.png", 10, 400),
        ("a\\b.png", 10, 400),
        ("bell\x07.txt", 10, 400),
        ("two\nlines.txt", 10, 400),
        ("nul\x00.txt", 10, 400),
        ("bidi\u202egnp.exe", 10, 400),
        ("empty.txt", 0, 400),
        ("negative.txt", -1, 400),
        ("huge.pdf", MAX_BYTES + 1, 413),
    ],
)
def test_a_bad_name_or_size_is_refused_before_any_byte_is_sent(
    app: RunningApp, name: str, size: int, status: int
) -> None:
    before = folders(app)
    one_sentence(create(app, name, size, "text/plain"), status)
    assert folders(app) == before, "nothing on disk"
    still_answers(app)


@pytest.mark.parametrize(
    ("name", "mime_type", "data", "status"),
    [
        ("empty.txt", "text/plain", b"", 400),
        ("blob.bin", "application/octet-stream", media.random_bytes(), 400),
        ("blob.txt", "text/plain", media.random_bytes(), 400),
        ("broken.png", "image/png", media.corrupt_png(), 400),
        ("broken.pdf", "application/pdf", media.corrupt_pdf(), 400),
        ("cat.png", "image/png", PDF, 400),
        ("cat.jpg", "image/jpeg", media.python_source(), 400),
        ("huge.txt", "text/plain", b"a" * (MAX_BYTES + 1), 413),
        # Far over: refused by its Content-Length before the route reads it.
        ("huger.txt", "text/plain", b"a" * (MAX_BYTES + 2**20), 413),
    ],
)
def test_a_bad_file_is_refused_with_a_sentence_and_leaves_nothing_on_disk(
    app: RunningApp, name: str, mime_type: str, data: bytes, status: int
) -> None:
    before = folders(app)
    # The size claimed first is a small one that passes: the bytes are what is wrong.
    attachment = created(app, name, data if 0 < len(data) <= 4096 else b"x" * 10, mime_type)
    descriptor = attachment["upload_descriptor"]
    sentence = one_sentence(put(descriptor["url"], data, descriptor["headers"]), status)
    assert name.lower() in sentence.lower() or "20 MB" in sentence, sentence
    assert folders(app) == before, "nothing left on disk for that upload"
    one_sentence(send_request(app, "Send it anyway", [attachment["id"]]), 400)
    still_answers(app)


def test_a_refusal_names_the_file_exactly_as_the_user_named_it(app: RunningApp) -> None:
    attachment = created(app, "quarterly.pdf", media.corrupt_pdf(), "application/pdf")
    descriptor = attachment["upload_descriptor"]
    sentence = one_sentence(put(descriptor["url"], media.corrupt_pdf(), descriptor["headers"]), 400)
    assert "quarterly.pdf" in sentence, "not Quarterly.pdf: on most disks that is another file"


def test_a_file_of_another_conversation_or_one_never_uploaded_cannot_be_sent(app: RunningApp) -> None:
    theirs = upload(app, "theirs.png", PNG, "image/png")
    their_thread = thread_id_of(send(app, "Mine", [theirs["id"]]))
    mine = thread_id_of(send(app, "Another conversation", []))
    not_uploaded = created(app, "later.pdf", PDF, "application/pdf")
    threads_before = {t["id"] for t in app.call("threads.list", limit=100)["data"]}

    for ids in (
        [theirs["id"]],
        [not_uploaded["id"]],
        ["atc_neveruploaded0000"],
        [upload(app, "fine.png", PNG, "image/png")["id"], "atc_neveruploaded0000"],
        ["../../threads/index"],
        [upload(app, f"n{n}.py", PY, "")["id"] for n in range(11)],
    ):
        one_sentence(send_request(app, "With someone else's file", ids, mine), 400)
        one_sentence(send_request(app, "In a new conversation", ids), 400)
        still_answers(app)

    assert len(app.items(mine)) == 2, "nothing was added to the conversation"
    assert {t["id"] for t in app.call("threads.list", limit=100)["data"]} == threads_before, "no conversation made"
    assert len(app.items(their_thread)[0]["attachments"]) == 1
    assert json.loads((app.data_dir / "attachments" / theirs["id"] / "meta.json").read_text())["thread_id"] == (
        their_thread
    )

"""Attachments end to end, over HTTP against the real server: files uploaded in two phases, sent with a message
and received by the model byte for byte (OpenAI's and Gemini's formats, and a local server's), kept across a
restart, removed with their conversation. Who may reach them and bad input: `tests/test_attachment_access.py`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests import media
from tests.attachment_helpers import (
    JPEG,
    PDF,
    PNG,
    PY,
    created,
    folders,
    one_sentence,
    put,
    python_text_part_is_there,
    send,
    sent_user_parts,
    texts,
    the_three,
    upload,
)
from tests.conftest import OPENAI_KEY
from tests.fake_provider import FakeProvider
from tests.harness import (
    RunningApp,
    answer_text,
    events_of,
    read_thread_file,
    start_app,
    thread_id_of,
    user_input,
)

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

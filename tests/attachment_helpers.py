"""What the attachment tests share: sample files, uploading in two phases, sending, and reading what the model
received and what is on disk."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests import media
from tests.fake_provider import FakeProvider, Part
from tests.harness import (
    RunningApp,
    user_input,
)

PNG = media.png(16, 12)
JPEG = media.jpeg(color=media.BLUE)
PDF = media.pdf("Quarterly report: sales doubled", pages=2)
PY = media.python_source()
MAX_BYTES = 20 * 1024 * 1024
CDN = "https://cdn.platform.openai.com"


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

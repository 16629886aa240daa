"""Bad input gets a clear 4xx and the server lives on; provider failures become one sentence for a person."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, events_of, start_app, thread_id_of, user_input

MESSAGE = user_input("hi")


def error_sentence(events: list[dict[str, Any]]) -> str:
    errors = events_of(events, "error")
    assert len(errors) == 1, [e["type"] for e in events]
    assert errors[0]["allow_retry"] is True
    sentence: str = errors[0]["message"]
    return sentence


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "Malformed request"),
        (b"[]", 400, "Malformed request"),
        (b'{"type": "threads.explode", "params": {}}', 400, "Malformed request"),
        (b'{"type": "threads.get_by_id", "params": {}}', 400, "thread_id"),
        (b'{"type": "threads.create", "params": {"input": {"content": []}}}', 400, "Malformed request"),
        (b'{"type": "threads.get_by_id", "params": {"thread_id": "thr_doesnotexist"}}', 404, "not found"),
        (b'{"type": "items.list", "params": {"thread_id": "thr_doesnotexist"}}', 404, "not found"),
        (b'{"type": "threads.get_by_id", "params": {"thread_id": "../../settings"}}', 400, "Invalid thread id"),
        (b'{"type": "threads.delete", "params": {"thread_id": "..\\\\x"}}', 400, "Invalid thread id"),
        (
            b'{"type": "input.transcribe", "params": {"audio_base64": "", "mime_type": "audio/webm"}}',
            400,
            "not supported",
        ),
    ],
)
def test_bad_requests_get_a_clear_json_error(app: RunningApp, body: bytes, status: int, words: str) -> None:
    response = app.post(body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    assert app.call("threads.list", limit=1) is not None, "the server is still alive"


def test_streaming_request_for_an_unknown_thread_is_a_404_not_a_broken_stream(app: RunningApp) -> None:
    response = app.post({"type": "threads.add_user_message", "params": {"thread_id": "thr_nope", "input": MESSAGE}})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")


def test_retry_of_an_unknown_item_is_a_404(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("hello"))
    response = app.post({"type": "threads.retry_after_item", "params": {"thread_id": thread_id, "item_id": "msg_x"}})
    assert response.status_code == 404
    assert len(app.items(thread_id)) == 2, "nothing was removed"


def test_feedback_on_an_unknown_item_is_a_404(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("hello"))
    response = app.post(
        {"type": "items.feedback", "params": {"thread_id": thread_id, "item_ids": ["msg_x"], "kind": "positive"}}
    )
    assert response.status_code == 404


def test_oversized_body_is_a_413(app: RunningApp) -> None:
    big = user_input("x" * (3 * 1024 * 1024))
    response = app.post({"type": "threads.create", "params": {"input": big}})
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_oversized_chunked_body_is_a_413(app: RunningApp) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"type": "threads.list", "params": {}, "pad": "'
        for _ in range(3 * 1024):
            yield b"x" * 1024
        yield b'"}'

    response = app.post(chunks())
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("trigger", "sentence"),
    [
        ("[[status:401]]", "OpenAI rejected the API key — open Settings and check it."),
        ("[[status:429]]", "OpenAI is rate-limiting requests or your quota is used up — wait a minute, then retry."),
        ("[[status:500]]", "OpenAI had a server error — retry in a moment."),
        ("[[status:503]]", "OpenAI had a server error — retry in a moment."),
    ],
)
def test_provider_failure_is_one_sentence_and_the_message_is_kept(app: RunningApp, trigger: str, sentence: str) -> None:
    thread_id = thread_id_of(app.send("A good start"))
    events = app.send(f"{trigger} this will fail", thread_id)
    assert error_sentence(events) == sentence
    items = app.items(thread_id)
    assert items[-1]["type"] == "user_message"
    assert items[-1]["content"][0]["text"] == f"{trigger} this will fail"
    follow_up = app.send("Try again", thread_id)
    assert answer_text(follow_up).startswith("You said: Try again.")


def test_bad_gemini_key_names_gemini_and_settings(tmp_path: Path, fake: FakeProvider) -> None:
    app = start_app(
        tmp_path,
        CHATKIT_DESKTOP_MODEL="gemini/gemini-2.5-flash",
        CHATKIT_DESKTOP_API_BASE=fake.gemini_base,
        GEMINI_API_KEY="bad-key",
    )
    try:
        events = app.send("hello")
        assert error_sentence(events) == "Gemini rejected the API key — open Settings and check it."
        assert "bad-key" not in app.stderr
    finally:
        app.stop()


def test_missing_key_says_where_to_get_one(tmp_path: Path) -> None:
    app = start_app(tmp_path, CHATKIT_DESKTOP_MODEL="gemini/gemini-2.5-flash")
    try:
        events = app.send("hello")
        assert error_sentence(events) == (
            "No API key for Gemini yet. Open Settings and add one (get one at https://aistudio.google.com/apikey)."
        )
        thread_id = thread_id_of(events)
        assert app.items(thread_id)[0]["content"][0]["text"] == "hello"
        assert events_of(events, "thread.updated")[-1]["thread"]["title"] == "hello"
        assert app.call("threads.get_by_id", thread_id=thread_id)["title"] == "hello", "findable in the list"
    finally:
        app.stop()


def test_dead_network_says_what_to_check(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{closed_port}/v1"
    app = start_app(tmp_path, CHATKIT_DESKTOP_MODEL="openai/llama3", CHATKIT_DESKTOP_API_BASE=base)
    try:
        events = app.send("hello")
        assert error_sentence(events) == (
            f"Could not reach OpenAI at {base} — check your internet connection (or that the server is running), "
            "then retry."
        )
    finally:
        app.stop()


def test_provider_that_never_answers_times_out(app: RunningApp) -> None:
    app.settings(request_timeout=2)
    try:
        events = app.send("[[hang]] are you there?")
    finally:
        app.settings(request_timeout=120)
    assert error_sentence(events) == "OpenAI did not answer within 2 seconds — retry, or pick a faster model."


def test_network_cut_mid_answer_keeps_the_thread_usable(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("Before the cut"))
    events = app.send("[[drop]] cut me off", thread_id)
    assert error_sentence(events) == (
        "The connection to OpenAI broke off in the middle of the answer — check your network, then retry."
    )
    partial = events_of(events, "thread.item.added")[-1]["item"]["id"]
    assert events_of(events, "thread.item.removed")[0]["item_id"] == partial, "the cut answer leaves the screen"
    items = app.items(thread_id)
    assert [i["type"] for i in items] == ["user_message", "assistant_message", "user_message"]
    assert items[-1]["content"][0]["text"] == "[[drop]] cut me off", "the message is kept"
    assert answer_text(app.send("After the cut", thread_id)).startswith("You said: After the cut.")

"""What keeps the app quick on the user's path, checked as behaviour (the figures are in tests/bench/backend.py):

- every request on a kept-alive connection answers at once (no ~40 ms wait for a delayed ACK);
- the conversations list and an opened conversation answer while the model layer is still loading;
- the warm-up of the model layer stays inside the app: the provider never hears of it;
- a thread of thousands of items sends the model only its newest turns that fit, and opening it shows the
  newest items;
- a thread file changed on disk while the app runs is what the app shows and sends next, even when the change
  keeps the file's size and lands within the same second as the app's own write.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, read_thread_file, start_app, thread_id_of, user_input

MODEL = "openai/fake-local-1"


def app_on(data_dir: Path, fake: FakeProvider) -> RunningApp:
    return start_app(data_dir, CHATKIT_DESKTOP_MODEL=MODEL, CHATKIT_DESKTOP_API_BASE=fake.openai_base)


def write_thread(data_dir: Path, thread_id: str, pairs: int, *, words: int = 30) -> None:
    """A thread file in the documented format with `pairs` question/answer pairs, oldest first."""
    items: list[dict[str, Any]] = []
    for n in range(pairs):
        stamp = f"2025-03-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
        question = f"question {n} " + "word " * words
        answer = f"answer {n} " + "word " * words
        items.append(
            {
                "type": "user_message",
                "id": f"msg_q{n:08d}",
                "thread_id": thread_id,
                "created_at": stamp,
                "content": [{"type": "input_text", "text": question}],
                "attachments": [],
                "inference_options": {},
                "quoted_text": None,
            }
        )
        items.append(
            {
                "type": "assistant_message",
                "id": f"msg_a{n:08d}",
                "thread_id": thread_id,
                "created_at": stamp,
                "content": [{"type": "output_text", "text": answer, "annotations": []}],
            }
        )
    thread = {"id": thread_id, "title": "Long", "created_at": "2025-03-01T00:00:00Z", "status": {"type": "active"}}
    folder = data_dir / "threads"
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"schema_version": 1, "thread": thread | {"metadata": {}}, "items": items}
    (folder / f"{thread_id}.json").write_text(json.dumps(payload), encoding="utf-8")


def test_every_request_on_a_kept_alive_connection_answers_at_once(tmp_path: Path) -> None:
    # With Nagle's algorithm left on, each request after the first on a connection waited ~40 ms for the
    # client's delayed ACK. The fastest of ten must be far below that, whatever else the machine is doing.
    app = start_app(tmp_path)
    try:
        with app.client() as client:
            client.get("/api/settings").raise_for_status()
            times = []
            for _ in range(10):
                started = time.perf_counter()
                client.get("/api/settings").raise_for_status()
                times.append(time.perf_counter() - started)
        assert min(times) < 0.02, f"kept-alive requests took {[round(t * 1000, 1) for t in times]} ms"
    finally:
        app.stop()


def test_conversations_open_while_the_model_layer_is_still_loading(tmp_path: Path, fake: FakeProvider) -> None:
    write_thread(tmp_path, "thr_waiting0001", 3)
    app = app_on(tmp_path, fake)
    try:
        with app.client() as client:
            listed = client.post("/chatkit", json={"type": "threads.list", "params": {"limit": 20, "order": "desc"}})
            opened = client.post(
                "/chatkit", json={"type": "threads.get_by_id", "params": {"thread_id": "thr_waiting0001"}}
            )
            still_loading = not client.get("/health").json()["chat_ready"]
        assert [t["id"] for t in listed.json()["data"]] == ["thr_waiting0001"]
        assert [i["id"] for i in opened.json()["items"]["data"]][:2] == ["msg_q00000000", "msg_a00000000"]
        assert still_loading, "the model layer had already loaded, so this did not show that history waits for nothing"
    finally:
        app.stop()


def test_the_warm_up_never_reaches_the_provider(tmp_path: Path) -> None:
    with FakeProvider().start() as own_fake:
        app = start_app(
            tmp_path, CHATKIT_DESKTOP_MODEL=MODEL, CHATKIT_DESKTOP_API_BASE=own_fake.openai_base, OPENAI_API_KEY="sk-x"
        )
        try:
            with app.client() as client:
                deadline = time.monotonic() + 60
                while not (ready := client.get("/health").json()["chat_ready"]) and time.monotonic() < deadline:
                    time.sleep(0.05)
            assert ready
            assert own_fake.requests == [], "the warm-up must stay inside the app"
            assert answer_text(app.send("first question")).startswith("You said: first question")
        finally:
            app.stop()
        assert "could not warm" not in app.stderr


def test_a_long_thread_sends_only_its_newest_turns_that_fit(tmp_path: Path, fake: FakeProvider) -> None:
    write_thread(tmp_path, "thr_long0000001", 2000)
    app = app_on(tmp_path, fake)
    try:
        app.settings(context_window=4096)
        events = app.send("and now?", thread_id="thr_long0000001")
        assert answer_text(events).startswith("You said: and now?")
        sent = fake.last_stream().messages
        assert sent[0]["role"] == "system"
        assert sent[-1] == {"role": "user", "content": "and now?"}
        texts = [m["content"] for m in sent[1:-1]]
        assert 2 < len(texts) < 200, "only what fits a 4,096-token window is sent"
        # The newest turns, whole and in order: the last answer before the new message comes last.
        assert texts[-1].startswith("answer 1999 ")
        numbers = [int(t.split()[1]) for t in texts]
        assert numbers == sorted(numbers) and texts[0].startswith("question ")
        saved = read_thread_file(tmp_path, "thr_long0000001")["items"]
        assert len(saved) == 4002 and saved[-2]["content"][0]["text"] == "and now?"
        newest = app.call("items.list", thread_id="thr_long0000001", limit=100, order="desc")
        assert len(newest["data"]) == 100 and newest["has_more"] is True
        assert newest["data"][0]["type"] == "assistant_message" and newest["data"][1]["id"] == saved[-2]["id"]
    finally:
        app.stop()


def test_a_thread_file_changed_on_disk_is_what_the_app_shows_and_sends_next(tmp_path: Path, fake: FakeProvider) -> None:
    app = app_on(tmp_path, fake)
    try:
        thread_id = thread_id_of(app.send("the colour is blue"))
        path = tmp_path / "threads" / f"{thread_id}.json"
        for old, new in [("blue", "gray"), ("gray", "pink")]:
            # The same size, in place, right after the app's own read: size and mtime may well not change.
            app.items(thread_id)
            path.write_bytes(path.read_bytes().replace(f"colour is {old}".encode(), f"colour is {new}".encode()))
            shown = app.items(thread_id)[0]["content"][0]["text"]
            assert shown == f"the colour is {new}"
        answer_text(app.send("what colour?", thread_id=thread_id))
        sent = fake.last_stream().messages
        assert sent[1] == {"role": "user", "content": "the colour is pink"}
    finally:
        app.stop()


def test_history_answers_do_not_wait_for_a_slow_provider(tmp_path: Path, fake: FakeProvider) -> None:
    # Listing and opening go through neither the model layer nor the provider: a reply that is still
    # streaming (slowly) does not hold them up.
    app = app_on(tmp_path, fake)
    try:
        first = thread_id_of(app.send("hello"))
        with (
            app.client() as client,
            client.stream(
                "POST",
                "/chatkit",
                json={
                    "type": "threads.add_user_message",
                    "params": {
                        "thread_id": first,
                        "input": user_input("[[slow]] go"),
                    },
                },
            ) as streaming,
        ):
            lines = streaming.iter_lines()
            while "text_delta" not in next(lines):
                pass
            started = time.perf_counter()
            listed = app.post({"type": "threads.list", "params": {"limit": 20, "order": "desc"}})
            took = time.perf_counter() - started
            assert listed.status_code == 200 and took < 2.0, f"the list took {took:.1f} s behind a 4 s answer"
    finally:
        app.stop()

"""Conversations are never lost: restarts, kill -9, stop mid-answer, corrupt and hand-placed files, races."""

from __future__ import annotations

import json
import resource
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from backend.chatkit_server import DAMAGED
from tests.conftest import OPENAI_KEY
from tests.fake_provider import FakeProvider
from tests.harness import (
    TOKEN,
    RunningApp,
    answer_text,
    read_thread_file,
    start_app,
    thread_id_of,
    user_input,
)


def start(data_dir: Path, fake: FakeProvider) -> RunningApp:
    """An app on `data_dir` talking to the fake's OpenAI-compatible endpoint."""
    return start_app(
        data_dir,
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OPENAI_API_KEY=OPENAI_KEY,
    )


def all_files_parse(data_dir: Path) -> list[dict[str, Any]]:
    """Every thread file, parsed; fails the test if any one does not parse."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((data_dir / "threads").glob("thr_*.json"))]


def test_restart_and_continue(tmp_path: Path, fake: FakeProvider) -> None:
    app = start(tmp_path, fake)
    thread_id = thread_id_of(app.send("Remember the word pelican"))
    app.send("And the number 42", thread_id)
    assert app.stop() == 0

    app = start(tmp_path, fake)
    try:
        assert thread_id in [t["id"] for t in app.call("threads.list", limit=20)["data"]]
        events = app.send("What were the word and the number?", thread_id)
        assert "(I received 6 messages" in answer_text(events)
        sent = fake.last_stream().messages
        assert sent[1]["content"] == "Remember the word pelican"
        assert sent[3]["content"] == "And the number 42"
    finally:
        app.stop()


def test_kill_9_during_a_streamed_answer_loses_no_earlier_turn(tmp_path: Path, fake: FakeProvider) -> None:
    app = start(tmp_path, fake)
    thread_id = thread_id_of(app.send("Turn one"))
    app.send("Turn two", thread_id)
    before = read_thread_file(tmp_path, thread_id)["items"]

    got_first_delta = threading.Event()

    def slow_answer() -> None:
        body = {
            "type": "threads.add_user_message",
            "params": {
                "thread_id": thread_id,
                "input": user_input("[[slow]] turn three"),
            },
        }
        try:
            with app.client() as client, client.stream("POST", "/chatkit", json=body) as response:
                for line in response.iter_lines():
                    if "assistant_message.content_part.text_delta" in line:
                        got_first_delta.set()
        except httpx.HTTPError:
            pass

    reader = threading.Thread(target=slow_answer)
    reader.start()
    assert got_first_delta.wait(30), "the answer never started streaming"
    app.proc.send_signal(signal.SIGKILL)
    app.proc.wait(10)
    reader.join(10)

    files = all_files_parse(tmp_path)
    assert len(files) == 1
    assert files[0]["items"][: len(before)] == before

    app = start(tmp_path, fake)
    try:
        assert [i["id"] for i in app.items(thread_id)][: len(before)] == [i["id"] for i in before]
        events = app.send("Turn four", thread_id)
        assert answer_text(events).startswith("You said: Turn four.")
    finally:
        app.stop()


def test_ctrl_c_pressed_again_and_again_mid_answer_still_saves_it(tmp_path: Path, fake: FakeProvider) -> None:
    app = start(tmp_path, fake)
    thread_id = thread_id_of(app.send("Turn one"))
    got_first_delta = threading.Event()

    def slow_answer() -> None:
        body = {
            "type": "threads.add_user_message",
            "params": {
                "thread_id": thread_id,
                "input": user_input("[[slow]] turn two"),
            },
        }
        try:
            with app.client() as client, client.stream("POST", "/chatkit", json=body) as response:
                for line in response.iter_lines():
                    if "assistant_message.content_part.text_delta" in line:
                        got_first_delta.set()
        except httpx.HTTPError:
            pass

    reader = threading.Thread(target=slow_answer)
    reader.start()
    assert got_first_delta.wait(30), "the answer never started streaming"
    for _ in range(3):  # an impatient person at the terminal
        app.proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    assert app.proc.wait(30) == 0
    reader.join(10)

    # As after the stop button: the answer so far, then ChatKit's hidden note that it was stopped.
    items = [i for i in read_thread_file(tmp_path, thread_id)["items"] if i["type"] != "sdk_hidden_context"]
    assert [i["type"] for i in items] == ["user_message", "assistant_message", "user_message", "assistant_message"]
    said, full = "".join(p["text"] for p in items[-1]["content"]), "You said: [[slow]] turn two."
    assert said and (said.startswith(full) or full.startswith(said)), said  # whole, or as far as it had come
    assert "Traceback" not in app.stderr, app.stderr


def test_stop_pressed_mid_answer_leaves_a_consistent_thread(app: RunningApp, fake: FakeProvider) -> None:
    thread_id = thread_id_of(app.send("Before the stop"))
    body = {
        "type": "threads.add_user_message",
        "params": {
            "thread_id": thread_id,
            "input": user_input("[[slow]] please ramble"),
        },
    }
    deltas = 0
    with app.client() as client, client.stream("POST", "/chatkit", json=body) as response:
        for line in response.iter_lines():
            if "text_delta" in line:
                deltas += 1
                if deltas == 3:
                    break  # closing the connection is what the stop button does
    time.sleep(1.0)

    items = app.items(thread_id)
    assert [i["type"] for i in items[:4]] == [
        "user_message",
        "assistant_message",
        "user_message",
        "assistant_message",
    ], "the part of the answer seen is kept"
    kept = "".join(c["text"] for c in items[3]["content"])
    assert kept and "You said: [[slow]] please ramble.".startswith(kept[:30]), kept
    assert read_thread_file(app.data_dir, thread_id)["items"][3]["id"] == items[3]["id"]
    events = app.send("After the stop", thread_id)
    assert answer_text(events).startswith("You said: After the stop.")
    ids = [i["id"] for i in app.items(thread_id)]
    assert len(ids) == len(set(ids))
    read_thread_file(app.data_dir, thread_id)


def test_corrupt_file_is_moved_aside_and_the_rest_keeps_working(tmp_path: Path, fake: FakeProvider) -> None:
    app = start(tmp_path, fake)
    good = thread_id_of(app.send("A good conversation"))
    assert app.stop() == 0
    threads = tmp_path / "threads"
    (threads / "thr_brokenfile0001.json").write_text('{"schema_version": 1, "thread": {"id": "thr_', "utf-8")

    app = start(tmp_path, fake)
    try:
        listed = [t["id"] for t in app.call("threads.list", limit=20)["data"]]
        assert listed == [good]
        assert (threads / "corrupt" / "thr_brokenfile0001.json").exists(), "kept, never deleted"
        assert not (threads / "thr_brokenfile0001.json").exists()
        assert "corrupt" in app.stderr

        # Corrupted while running: that thread answers 404, is moved aside, the others are untouched.
        second = thread_id_of(app.send("Another one"))
        (threads / f"{second}.json").write_text("not json at all", "utf-8")
        response = app.post({"type": "threads.get_by_id", "params": {"thread_id": second}})
        assert response.status_code == 404
        assert (threads / "corrupt" / f"{second}.json").read_text("utf-8") == "not json at all"
        assert answer_text(app.send("Still fine?", good)).startswith("You said: Still fine?")
    finally:
        app.stop()


def damage_item(data_dir: Path, thread_id: str, position: int, **fields: Any) -> None:
    """Change fields of one item in a thread file, by hand, so that it no longer matches the thread format."""
    path = data_dir / "threads" / f"{thread_id}.json"
    document = json.loads(path.read_text("utf-8"))
    document["items"][position].update(fields)
    path.write_text(json.dumps(document), "utf-8")


def test_a_message_to_a_thread_with_a_damaged_item_says_so_and_the_file_is_kept_aside(
    tmp_path: Path, fake: FakeProvider
) -> None:
    app = start(tmp_path, fake)
    try:
        good = thread_id_of(app.send("A good conversation"))
        damaged = thread_id_of(app.send("One to damage"))
        damage_item(tmp_path, damaged, 0, created_at="the day before yesterday")

        events = app.send("Are you still there?", damaged)
        errors = [e for e in events if e["type"] == "error"]
        assert [e["message"] for e in errors] == [DAMAGED]
        # Moved aside with everything in it: the damaged item as it was, and the message just sent.
        kept = json.loads((tmp_path / "threads" / "corrupt" / f"{damaged}.json").read_text("utf-8"))
        assert kept["items"][0]["created_at"] == "the day before yesterday"
        assert kept["items"][-1]["content"][0]["text"] == "Are you still there?"
        assert damaged not in [t["id"] for t in app.call("threads.list", limit=20)["data"]]
        assert answer_text(app.send("Still fine?", good)).startswith("You said: Still fine?")
    finally:
        app.stop()


def test_a_reference_to_a_conversation_with_a_damaged_item_is_answered_and_the_model_told_it_is_missing(
    tmp_path: Path, fake: FakeProvider
) -> None:
    app = start(tmp_path, fake)
    try:
        referenced = thread_id_of(app.send("The launch code is tangerine"))
        damage_item(tmp_path, referenced, -1, content=[{"type": "output_text"}])  # an answer part without its text

        message = user_input("What was in the other conversation?")
        tag = {"type": "input_tag", "id": referenced, "text": "Launch", "data": {"thread_id": referenced}}
        message["content"].append(tag | {"interactive": False})
        events = app.stream("threads.create", input=message)
        assert answer_text(events).startswith("You said: What was in the other conversation?")
        received = "\n".join(m["content"] for m in fake.last_stream().messages)
        assert "tangerine" not in received
        assert "could not be found" in received
        assert (tmp_path / "threads" / "corrupt" / f"{referenced}.json").exists(), "kept aside, never deleted"
    finally:
        app.stop()


def test_restored_backup_and_deleted_index_lose_nothing(tmp_path: Path, fake: FakeProvider) -> None:
    app = start(tmp_path, fake)
    original = thread_id_of(app.send("Original conversation"))
    assert app.stop() == 0

    # A thread file restored from a backup by hand, with its own id.
    data = read_thread_file(tmp_path, original)
    restored = "thr_restoredbackup01"
    data["thread"]["id"] = restored
    data["thread"]["title"] = "Restored from backup"
    for item in data["items"]:
        item["thread_id"] = restored
    (tmp_path / "threads" / f"{restored}.json").write_text(json.dumps(data), "utf-8")
    (tmp_path / "index.sqlite3").unlink()

    app = start(tmp_path, fake)
    try:
        listed = {t["id"]: t["title"] for t in app.call("threads.list", limit=20)["data"]}
        assert set(listed) == {original, restored}
        assert listed[restored] == "Restored from backup"
        assert len(app.items(restored)) == 2
        assert (tmp_path / "index.sqlite3").exists(), "the index is rebuilt"
    finally:
        app.stop()


def test_file_from_a_newer_version_is_read_only_and_never_overwritten(tmp_path: Path, fake: FakeProvider) -> None:
    app = start(tmp_path, fake)
    thread_id = thread_id_of(app.send("Written by the future"))
    assert app.stop() == 0
    path = tmp_path / "threads" / f"{thread_id}.json"
    data = json.loads(path.read_text("utf-8"))
    data["schema_version"] = 2
    data["future_field"] = {"kept": True}
    path.write_text(json.dumps(data), "utf-8")
    original_bytes = path.read_bytes()

    app = start(tmp_path, fake)
    try:
        thread = app.call("threads.get_by_id", thread_id=thread_id)
        assert thread["status"]["type"] == "locked"
        assert "newer version" in thread["status"]["reason"]
        message = user_input("hi")
        refused = app.post({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message}})
        assert refused.status_code == 409
        assert "newer version" in refused.json()["error"]
        assert app.post({"type": "threads.update", "params": {"thread_id": thread_id, "title": "x"}}).status_code == 409
        assert path.read_bytes() == original_bytes
    finally:
        app.stop()
    assert path.read_bytes() == original_bytes


def test_16_concurrent_conversations(app: RunningApp) -> None:
    def converse(n: int) -> str:
        thread_id = thread_id_of(app.send(f"conversation {n} message 1"))
        app.send(f"conversation {n} message 2", thread_id)
        return thread_id

    with ThreadPoolExecutor(16) as pool:
        thread_ids = list(pool.map(converse, range(16)))
    assert len(set(thread_ids)) == 16
    for n, thread_id in enumerate(thread_ids):
        items = read_thread_file(app.data_dir, thread_id)["items"]
        texts = [i["content"][0]["text"] for i in items]
        assert texts[0] == f"conversation {n} message 1"
        assert texts[2] == f"conversation {n} message 2"
        assert texts[3].startswith(f"You said: conversation {n} message 2.")
        assert len(items) == 4


def test_concurrent_messages_to_one_thread_lose_no_item(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("shared thread"))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: app.send(f"parallel {n}", thread_id), range(8)))
    items = read_thread_file(app.data_dir, thread_id)["items"]
    users = sorted(i["content"][0]["text"] for i in items if i["type"] == "user_message")
    assert users == sorted(["shared thread"] + [f"parallel {n}" for n in range(8)])
    assert sum(i["type"] == "assistant_message" for i in items) == 9
    assert len({i["id"] for i in items}) == len(items)


def test_a_failed_save_is_one_sentence_and_the_file_stays_as_it_was(tmp_path: Path, fake: FakeProvider) -> None:
    # Files may not grow past 64 KiB in this process: a write beyond that fails as on a full disk.
    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    app = start_app(
        tmp_path,
        preexec_fn=small_disk,
        CHATKIT_DESKTOP_MODEL="openai/fake-local-1",
        CHATKIT_DESKTOP_API_BASE=fake.openai_base,
        OPENAI_API_KEY=OPENAI_KEY,
    )
    try:
        thread_id = thread_id_of(app.send("A short first message"))
        before = (tmp_path / "threads" / f"{thread_id}.json").read_bytes()

        events = app.send("long " * 20_000, thread_id)
        errors = [e for e in events if e["type"] == "error"]
        assert [e["message"] for e in errors] == [
            f"Could not save the conversation (File too large) — check that {tmp_path / 'threads'} is writable and "
            "has free space, then retry."
        ]
        assert (tmp_path / "threads" / f"{thread_id}.json").read_bytes() == before, "the old file is intact"
        assert not list((tmp_path / "threads").glob("*.tmp")), "no half-written temp file left behind"

        renamed = app.post({"type": "threads.update", "params": {"thread_id": thread_id, "title": "x" * 70_000}})
        assert renamed.status_code == 507 and "Could not save the conversation" in renamed.json()["error"]

        assert answer_text(app.send("Still here?", thread_id)).startswith("You said: Still here?")
        assert "Traceback" not in app.stderr
    finally:
        app.stop()


def test_thread_files_are_plain_json_users_can_read(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("Plain data"))
    path = app.data_dir / "threads" / f"{thread_id}.json"
    data = json.loads(path.read_text("utf-8"))
    assert set(data) == {"schema_version", "thread", "items"}
    assert data["thread"]["id"] == thread_id
    assert not list(path.parent.glob("*.tmp")), "no temp files left behind"
    shutil.copy(path, app.data_dir / "copy-check.json")  # a user can copy it like any file


def test_token_header_is_required_for_the_stream_too(app: RunningApp) -> None:
    response = httpx.post(f"{app.base}/chatkit", json={"type": "threads.create", "params": {"input": user_input("x")}})
    assert response.status_code == 401
    assert TOKEN not in response.text

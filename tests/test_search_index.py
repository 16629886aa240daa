"""The search index follows every change and never holds a chat back, end to end: a chat, a retry, a rename, a
delete, an upload and files edited by hand are found (or no longer found) as they are; an index deleted,
damaged, killed mid-build or locked by another process is rebuilt or caught up, and chats go on meanwhile."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import media
from tests.bench.search import Message, conversation_payload, item_id, pseudo_word, write_conversation
from tests.bench.threads import SENTENCES
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, thread_id_of, user_input
from tests.search_helpers import (
    eventually,
    every_page,
    found,
    result_for,
    search,
    start,
    titles,
    utc,
    wait_indexed,
)

# ---- the index follows every change -----------------------------------------------------------------------------


def test_a_chat_is_searchable_right_after_it_is_answered(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("Tell me about the quokka population on Rottnest"))
    started = time.monotonic()
    items = app.items(thread_id)

    # The index waits a moment after a lone change (so it does not compete with the answer just asked for).
    def both_found() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = search(app, "quokka")["results"]
        return found if [r["hits"] for r in found] == [2] else None

    results = eventually(both_found, "the question and the echoing answer were found", timeout=10)
    waited = time.monotonic() - started
    assert [r["thread_id"] for r in results] == [thread_id]
    assert (results[0]["role"], results[0]["item_id"]) in [("user", items[0]["id"]), ("assistant", items[1]["id"])]
    assert waited < 2, f"found {waited:.1f} s after the answer"


def test_words_only_in_the_models_answer_find_the_answer(app: RunningApp) -> None:
    # The fake answers "You said: <text>. (I received …)": "said" is in the answer only.
    thread_id = thread_id_of(app.send("zanzibar spice route"))
    answer = app.items(thread_id)[1]
    results = eventually(lambda: search(app, "said zanzibar")["results"], "the answer was found")
    assert [(r["thread_id"], r["role"], r["item_id"], r["hits"]) for r in results] == [
        (thread_id, "assistant", answer["id"], 1)
    ]
    assert "".join(p["text"] for p in answer["content"]).startswith("You said: zanzibar spice route.")


def test_a_retried_answer_replaces_the_old_one_in_search(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("kookaburra laughing at dawn"))
    question, old = (item["id"] for item in app.items(thread_id))
    eventually(lambda: found(app, "said kookaburra") == [thread_id], "the first answer was found")
    app.stream("threads.retry_after_item", thread_id=thread_id, item_id=question)
    new = app.items(thread_id)[1]["id"]
    assert new != old

    def new_answer_found() -> list[dict[str, Any]] | None:
        results = search(app, "said kookaburra")["results"]
        return results if [r["item_id"] for r in results] == [new] else None

    [result] = eventually(new_answer_found, "the new answer, and only it, was found")
    assert result["hits"] == 1, "the old answer left the index"


def test_a_generated_title_is_searchable(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("Gnocchi dinner ideas please"))
    results = eventually(lambda: search(app, "title gnocchi")["results"], "the title was found")
    assert [(r["thread_id"], r["role"], r["title"]) for r in results] == [
        (thread_id, "title", "Fake title Gnocchi dinner ideas")
    ]
    assert [r["thread_id"] for r in titles(app, "fake title gnoc")] == [thread_id]


def test_renaming_a_conversation_changes_which_words_find_its_title(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("hello there friend"))
    app.call("threads.update", thread_id=thread_id, title="Marmalade experiments")
    eventually(lambda: found(app, "marmalade") == [thread_id], "the new title was found")
    assert [r["thread_id"] for r in titles(app, "marma")] == [thread_id]
    app.call("threads.update", thread_id=thread_id, title="Quince jelly")
    eventually(lambda: found(app, "quince") == [thread_id], "the newer title was found")
    assert found(app, "marmalade") == [], "the old title no longer finds it"
    assert titles(app, "marma") == []
    assert search(app, "quince")["results"][0]["title"] == "Quince jelly"


def test_deleting_a_conversation_removes_its_hits(app: RunningApp) -> None:
    keep = thread_id_of(app.send("ocelot sightings in the north"))
    gone = thread_id_of(app.send("ocelot sightings in the south"))
    app.call("threads.update", thread_id=gone, title="Ocelot south")
    eventually(lambda: sorted(found(app, "ocelot")) == sorted([keep, gone]), "both were found")
    app.call("threads.delete", thread_id=gone)
    eventually(lambda: found(app, "ocelot") == [keep], "the deleted one was no longer found")
    assert gone not in found(app, "south")
    assert gone not in [r["thread_id"] for r in titles(app, "ocelot")]
    assert gone not in [r["thread_id"] for r in titles(app, "")]


def test_an_uploaded_files_name_finds_the_message(app: RunningApp) -> None:
    png = media.png(6, 6)
    create = app.post(
        {
            "type": "attachments.create",
            "params": {"name": "pelican-sunset.png", "size": len(png), "mime_type": "image/png"},
        }
    )
    assert create.status_code == 200, create.text
    descriptor = create.json()["upload_descriptor"]
    uploaded = httpx.put(descriptor["url"], content=png, headers=descriptor["headers"])
    assert uploaded.status_code == 200, uploaded.text
    message = user_input("What do you see here?") | {"attachments": [create.json()["id"]]}
    thread_id = thread_id_of(app.stream("threads.create", input=message))
    user_id = app.items(thread_id)[0]["id"]
    results = eventually(lambda: search(app, "pelican sunset")["results"], "the file's name was found")
    assert [(r["thread_id"], r["role"], r["item_id"]) for r in results] == [(thread_id, "user", user_id)]


def test_a_message_added_later_to_a_conversation_is_found_in_it(app: RunningApp) -> None:
    thread_id = thread_id_of(app.send("first turn about lemurs"))
    app.send("second turn about tapirs", thread_id)
    turn_two = [item["id"] for item in app.items(thread_id)[2:]]
    results = eventually(lambda: search(app, "tapirs")["results"], "the second turn was found")
    assert [(r["thread_id"], r["hits"]) for r in results] == [(thread_id, 2)]
    assert results[0]["item_id"] in turn_two
    assert result_for(app, "lemurs", thread_id)["hits"] == 2


# ---- restarts, hand edits and a damaged index -------------------------------------------------------------


def test_files_edited_added_or_removed_by_hand_while_the_app_was_closed_are_searched_as_they_are(
    tmp_path: Path, fake: FakeProvider
) -> None:
    first = start(tmp_path, fake)
    try:
        edited = thread_id_of(first.send("We saw a walrus on the ice"))
        removed = thread_id_of(first.send("We saw a manatee in the bay"))
        eventually(lambda: found(first, "walrus") == [edited] and found(first, "manatee") == [removed], "indexed")
    finally:
        assert first.stop() == 0
    # Edited in place, to words of the same length: the file's size does not change.
    path = tmp_path / "threads" / f"{edited}.json"
    before = path.stat().st_size
    path.write_bytes(path.read_bytes().replace(b"walrus", b"beluga"))
    assert path.stat().st_size == before
    (tmp_path / "threads" / f"{removed}.json").unlink()
    write_conversation(
        tmp_path,
        "thr_dropped0001",
        "From a backup",
        utc(2024, 6, 1),
        [Message("user", "A platypus laid eggs"), Message("assistant", "Monotremes do that.")],
    )

    second = start(tmp_path, fake)
    try:
        wait_indexed(second)
        assert found(second, "beluga") == [edited]
        assert found(second, "walrus") == []
        assert found(second, "manatee") == []
        assert found(second, "platypus") == ["thr_dropped0001"]
        assert found(second, "monotremes") == ["thr_dropped0001"]
        assert [r["thread_id"] for r in titles(second, "backup")] == ["thr_dropped0001"]
    finally:
        second.stop()


def small_history(data: Path, threads: int) -> None:
    """`threads` conversations of six messages; thread n's message m carries `pseudo_word(n * 6 + m)`."""
    for n in range(threads):
        messages = [
            Message(
                "user" if m % 2 == 0 else "assistant", f"{SENTENCES[(n + m) % len(SENTENCES)]} {pseudo_word(n * 6 + m)}"
            )
            for m in range(6)
        ]
        write_conversation(
            data, f"thr_small{n:06d}", f"Conversation {n}", utc(2024, 1, 1) + timedelta(hours=n), messages
        )


def assert_complete(app: RunningApp, threads: int, *, every: int = 1) -> None:
    """Every conversation of `small_history` is found by its title and (every `every`-th) by each message's word,
    exactly once."""
    pages = every_page(app, "conversation", limit=50)
    by_title = [r["thread_id"] for page in pages for r in page]
    assert len(by_title) == len(set(by_title)) == threads, f"{len(set(by_title))} of {threads} titles found"
    for n in range(0, threads, every):
        for m in (0, 5):
            results = search(app, pseudo_word(n * 6 + m))["results"]
            expected = [(f"thr_small{n:06d}", item_id(f"thr_small{n:06d}", m), 1)]
            assert [(r["thread_id"], r["item_id"], r["hits"]) for r in results] == expected, (n, m, results)


@pytest.fixture(scope="module")
def indexed_history(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Path:
    """A data folder of 120 conversations whose index was built by the app and left by a clean stop."""
    data = tmp_path_factory.mktemp("indexed")
    small_history(data, 120)
    app = start(data, fake)
    try:
        wait_indexed(app)
        assert_complete(app, 120, every=10)
    finally:
        assert app.stop() == 0
    assert (data / "index.sqlite3").exists()
    return data


def damage_deleted(index: Path) -> None:
    for path in index.parent.glob("index.sqlite3*"):
        path.unlink()


def damage_garbage(index: Path) -> None:
    index.write_bytes(os.urandom(index.stat().st_size))


def damage_truncated(index: Path) -> None:
    with index.open("r+b") as file:
        file.truncate(index.stat().st_size // 2)


def damage_emptied(index: Path) -> None:
    index.write_bytes(b"")


def damage_header_only(index: Path) -> None:
    data = bytearray(index.read_bytes())
    data[100:] = os.urandom(len(data) - 100)  # a valid SQLite header over garbage pages
    index.write_bytes(bytes(data))


def damage_foreign(index: Path) -> None:
    damage_deleted(index)
    with sqlite3.connect(index) as db:  # a real SQLite database, of something else (another version, say)
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes (body) VALUES ('not an index')")
    db.close()


def damage_garbage_wal(index: Path) -> None:
    (index.parent / "index.sqlite3-wal").write_bytes(os.urandom(64 * 1024))


DAMAGES: dict[str, Callable[[Path], None]] = {
    "deleted": damage_deleted,
    "garbage": damage_garbage,
    "truncated": damage_truncated,
    "emptied": damage_emptied,
    "garbage-pages-behind-a-valid-header": damage_header_only,
    "a-database-of-something-else": damage_foreign,
    "a-garbage-wal-beside-it": damage_garbage_wal,
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_an_index_deleted_or_damaged_while_the_app_was_closed_is_rebuilt_at_start(
    tmp_path: Path, fake: FakeProvider, indexed_history: Path, damage: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(indexed_history, data)
    DAMAGES[damage](data / "index.sqlite3")
    app = start(data, fake)
    try:
        listed = app.call("threads.list", limit=100, order="desc")["data"]
        assert len(listed) == 100, "the conversation list is there at once"
        wait_indexed(app)
        assert_complete(app, 120, every=7)
        thread_id = thread_id_of(app.send("and a new tarsier"))
        eventually(lambda: found(app, "tarsier") == [thread_id], "a new message was indexed")
        assert "Traceback" not in app.stderr, app.stderr[-3000:]
    finally:
        assert app.stop() == 0
    with sqlite3.connect(data / "index.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


def test_a_clean_restart_keeps_the_index_and_search_is_complete_at_once(
    tmp_path: Path, fake: FakeProvider, indexed_history: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(indexed_history, data)
    app = start(data, fake)
    try:
        first = search(app, pseudo_word(6 * 60))
        assert first["indexing"] is False, "nothing to rebuild"
        assert [r["thread_id"] for r in first["results"]] == ["thr_small000060"]
    finally:
        app.stop()


def test_kill_9_while_indexing_thousands_of_threads_then_a_restart_completes_the_index(
    tmp_path: Path, fake: FakeProvider
) -> None:
    threads = 3000
    for n in range(threads):
        messages = [
            Message(
                "user" if m % 2 == 0 else "assistant",
                f"{SENTENCES[(n + m) % len(SENTENCES)]} {pseudo_word(n * 20 + m)}",
            )
            for m in range(20)
        ]
        messages[-1].text += " the marmot whistled"
        write_conversation(
            tmp_path, f"thr_small{n:06d}", f"Conversation {n}", utc(2023, 1, 1) + timedelta(hours=n), messages
        )
    app = start(tmp_path, fake)
    try:
        assert search(app, "marmot", limit=1)["indexing"] is True, "a start with no index indexes in the background"
        assert len(app.call("threads.list", limit=100, order="desc")["data"]) == 100, "the listing comes first"
        time.sleep(0.3)
        still = search(app, "marmot", limit=1)["indexing"]
    finally:
        app.proc.send_signal(signal.SIGKILL)
        app.proc.wait(10)
    assert still, "the index was complete before the kill: write more threads for this test to mean anything"

    app = start(tmp_path, fake)
    try:
        wait_indexed(app, timeout=300)
        pages = every_page(app, "marmot", limit=50)
        marmots = [(r["thread_id"], r["hits"]) for page in pages for r in page]
        assert len(marmots) == threads, f"{len(marmots)} of {threads} conversations found"
        assert {hits for _, hits in marmots} == {1}, "no message indexed twice"
        for n in range(0, threads, 97):
            results = search(app, pseudo_word(n * 20 + 2))["results"]
            assert [(r["thread_id"], r["hits"]) for r in results] == [(f"thr_small{n:06d}", 1)], (n, results)
    finally:
        assert app.stop() == 0


# ---- a chat never depends on the index -----------------------------------------------------------------------


def test_chats_are_saved_and_answered_while_another_process_holds_the_index_locked(
    tmp_path: Path, fake: FakeProvider
) -> None:
    app = start(tmp_path, fake)
    try:
        thread_id = thread_id_of(app.send("first message about herons"))
        eventually(lambda: found(app, "herons") == [thread_id], "indexed")
        # A real SQLite write lock on the index, held by this process: the app cannot write to it.
        lock = sqlite3.connect(tmp_path / "index.sqlite3", timeout=0, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            events = app.send("then egrets nested here", thread_id)
            created = app.send("bitterns boom at night")
            took = time.monotonic() - started
            assert answer_text(events).startswith("You said: then egrets nested here.")
            new_thread = thread_id_of(created)
            assert answer_text(created).startswith("You said: bitterns boom at night.")
            assert took < 5, f"the two chats took {took:.1f} s: they waited for the index"
            saved = json.loads((tmp_path / "threads" / f"{thread_id}.json").read_text("utf-8"))
            assert [i["content"][0]["text"] for i in saved["items"] if i["type"] == "user_message"] == [
                "first message about herons",
                "then egrets nested here",
            ]
            assert (tmp_path / "threads" / f"{new_thread}.json").exists()
            listed = [t["id"] for t in app.call("threads.list", limit=20, order="desc")["data"]]
            assert listed[:2] == [new_thread, thread_id], "the new conversation is listed at once"
            assert found(app, "herons") == [thread_id], "search still answers from what is indexed"
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        eventually(lambda: found(app, "egrets") == [thread_id], "the message was indexed once the lock went", 30)
        eventually(lambda: found(app, "bitterns") == [new_thread], "the new chat was indexed once the lock went", 30)
        assert app.proc.poll() is None
    finally:
        assert app.stop() == 0


def test_a_message_sent_while_the_index_was_locked_is_found_after_a_restart(tmp_path: Path, fake: FakeProvider) -> None:
    app = start(tmp_path, fake)
    try:
        thread_id = thread_id_of(app.send("about storks"))
        eventually(lambda: found(app, "storks") == [thread_id], "indexed")
        lock = sqlite3.connect(tmp_path / "index.sqlite3", timeout=0, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            app.send("and about ibises", thread_id)
        finally:
            assert app.stop() == 0
            lock.execute("ROLLBACK")
            lock.close()
    finally:
        app.stop()
    app = start(tmp_path, fake)
    try:
        wait_indexed(app)
        assert found(app, "ibises") == [thread_id]
    finally:
        app.stop()


def test_an_untitled_conversation_is_found_with_an_empty_title(tmp_path: Path, fake: FakeProvider) -> None:
    path = tmp_path / "threads" / "thr_unicode0001.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        conversation_payload("thr_unicode0001", None, utc(2024, 2, 2), [Message("user", "fish and chips")])
    )
    app = start(tmp_path, fake)
    try:
        wait_indexed(app)
        assert [t["id"] for t in app.call("threads.list", limit=5, order="desc")["data"]] == ["thr_unicode0001"]
        result = result_for(app, "fish", "thr_unicode0001")
        assert result["title"] == "", "an untitled conversation has an empty title"
    finally:
        app.stop()

"""The JSON thread store (`backend.store.JsonFileStore`) keeps ChatKit's store contract and never loses a word.

`TestJsonFileStore` runs the whole `StoreContract` (tests/store_contract.py) against a store over a
temporary data folder, then specifies what only a store over plain files must guarantee:

- after a restart (clean, after a crash, or without the index cache) a new store sees everything;
- a thread file edited by hand is seen by the next load, and the next save keeps the edit (no stale copy);
- a corrupt thread file is moved to `threads/corrupt/`, never deleted or overwritten, and reads as missing (an
  item damaged inside a file that reads well, when that item is first used);
- a file written by a newer app version is shown locked and never overwritten;
- an id that fails `check_id` never touches the disk, whatever the operation.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from chatkit.store import NotFoundError, Store
from chatkit.types import AssistantMessageItem, LockedStatus

from backend.attachments import AttachmentFiles
from backend.config import AppConfig
from backend.ids import InvalidIdError
from backend.search_text import parse
from backend.store import JsonFileStore
from backend.store_errors import ReadOnlyThreadError
from tests.store_contract import CONTEXT, StoreContract, answer, ids, make_thread, user_message


def reopen(folder: Path) -> JsonFileStore:
    """A new store over the same data folder, as the app makes one at start."""
    store = JsonFileStore(folder, AttachmentFiles(AppConfig(folder, token="test-token", port=1)))
    store.open()
    return store


def thread_file(folder: Path, thread_id: str) -> Path:
    return folder / "threads" / f"{thread_id}.json"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` and its bytes, but the index (`index.sqlite3*`), which the store's background
    writer may still be bringing up to date with earlier, valid changes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith("index.sqlite3")
    }


def rewrite(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    """Read a thread file's JSON, `change` it in place, write it back (compactly, as another program might)."""
    document = json.loads(path.read_text("utf-8"))
    change(document)
    path.write_text(json.dumps(document), "utf-8")


def edit_by_hand(path: Path, replacements: dict[str, str], *, in_place: bool, same_mtime: bool = False) -> None:
    """Change text in a thread file the way a person with an editor would.

    `in_place` rewrites the same file (same inode); otherwise a new file replaces it, as many editors save.
    The new modification time is a second later than the old one, as a real edit comes at least that much
    later; with `same_mtime` it is the old one exactly, as when the edit lands within the file system's
    timestamp granularity (a kernel tick, 2 s on FAT) of the app's own write.
    """
    before = path.stat()
    data = path.read_bytes()
    for old, new in replacements.items():
        assert data.count(old.encode()) == 1, f"{old!r} should appear once in {path.name}"
        data = data.replace(old.encode(), new.encode())
    if in_place:
        with path.open("r+b") as handle:
            handle.write(data)
            handle.truncate()
    else:
        fresh = path.with_name(f".{path.name}.edited")
        fresh.write_bytes(data)
        os.replace(fresh, path)
    mtime = before.st_mtime_ns if same_mtime else before.st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(before.st_atime_ns, mtime))


class TestJsonFileStore(StoreContract):
    def make_store(self, folder: Path) -> Store[Any]:
        return reopen(folder)

    # ---- restart ---------------------------------------------------------------------------------

    @pytest.mark.parametrize("how", ["clean shutdown", "crash", "index cache lost"])
    async def test_a_new_store_over_the_same_folder_sees_everything_after_a_restart(
        self, store: JsonFileStore, tmp_path: Path, how: str
    ) -> None:
        added = await self.conversation(store, "thr_kept", turns=3)
        renamed = await store.load_thread("thr_kept", CONTEXT)
        renamed.title = "Renamed before the restart"
        renamed.metadata = {"feedback": {"msg_a1": "positive"}}
        await store.save_thread(renamed, CONTEXT)
        completed = answer("thr_kept", "msg_a2", "The answer, completed while streaming", seconds=5)
        await store.save_item("thr_kept", completed, CONTEXT)
        await store.delete_thread_item("thr_kept", "msg_q0", CONTEXT)
        await self.conversation(store, "thr_deleted", turns=1)
        await store.delete_thread("thr_deleted", CONTEXT)
        await store.save_thread(make_thread("thr_empty", minutes=5, title=None), CONTEXT)
        items_before = await self.all_items(store, "thr_kept")
        listed_before = (await store.load_threads(10, None, "desc", CONTEXT)).data

        if how == "clean shutdown":
            store.close()
        elif how == "index cache lost":
            store.close()
            for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
                (tmp_path / name).unlink(missing_ok=True)

        after = reopen(tmp_path)
        assert (await after.load_threads(10, None, "desc", CONTEXT)).data == listed_before
        assert ids(listed_before) == ["thr_empty", "thr_kept"]
        assert await after.load_thread("thr_kept", CONTEXT) == renamed
        assert await self.all_items(after, "thr_kept") == items_before
        assert ids(items_before) == added[1:]
        assert await after.load_item("thr_kept", "msg_a2", CONTEXT) == completed
        with pytest.raises(NotFoundError):
            await after.load_thread("thr_deleted", CONTEXT)

    async def test_a_thread_is_one_plain_json_file_in_the_documented_format(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        added = await self.conversation(store, "thr_format", turns=2)
        document = json.loads(thread_file(tmp_path, "thr_format").read_text("utf-8"))
        assert document["schema_version"] == 1
        assert document["thread"]["id"] == "thr_format"
        assert document["thread"]["title"] == "A thread"
        assert [item["id"] for item in document["items"]] == added
        assert document["items"][1]["content"][0]["text"] == "Answer 0"

    # ---- hand edits ------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("in_place", "same_size", "same_mtime"),
        [
            (True, True, False),
            (False, True, False),
            (True, False, False),
            (False, False, False),
            (True, True, True),
        ],
        ids=[
            "same size, rewritten in place",
            "same size, replaced",
            "new size, in place",
            "new size, replaced",
            "same size and modification time, in place",
        ],
    )
    async def test_a_thread_file_edited_by_hand_is_seen_by_the_next_load(
        self, store: JsonFileStore, tmp_path: Path, in_place: bool, same_size: bool, same_mtime: bool
    ) -> None:
        await store.save_thread(make_thread("thr_edited", title="Lisbon trip"), CONTEXT)
        for item in (user_message("thr_edited", "msg_q0", "Where to?"), answer("thr_edited", "msg_a0", "Answer 0")):
            await store.add_thread_item("thr_edited", item, CONTEXT)
        if not same_mtime:
            # Loaded (and so possibly cached) before the edit. Not when the edit keeps the modification time:
            # that edit is only possible within moments of the app's write, not after reads seconds later.
            for _ in range(2):
                assert (await store.load_thread("thr_edited", CONTEXT)).title == "Lisbon trip"
                items = await self.all_items(store, "thr_edited")
                assert isinstance(items[1], AssistantMessageItem) and items[1].content[0].text == "Answer 0"
                await store.load_item("thr_edited", "msg_a0", CONTEXT)

        path = thread_file(tmp_path, "thr_edited")
        before = path.stat()
        title, text = ("Porto trip!", "Edited 0") if same_size else ("Porto and Lisbon trip", "An edited answer")
        edit = {'"Lisbon trip"': f'"{title}"', '"Answer 0"': f'"{text}"'}
        edit_by_hand(path, edit, in_place=in_place, same_mtime=same_mtime)
        after = path.stat()
        assert (after.st_size == before.st_size) is same_size
        assert (after.st_mtime_ns == before.st_mtime_ns) is same_mtime

        assert (await store.load_thread("thr_edited", CONTEXT)).title == title
        items = await self.all_items(store, "thr_edited")
        assert isinstance(items[1], AssistantMessageItem) and items[1].content[0].text == text
        loaded = await store.load_item("thr_edited", "msg_a0", CONTEXT)
        assert isinstance(loaded, AssistantMessageItem) and loaded.content[0].text == text

        # The next save starts from the edited file, so the edit is not overwritten by an older copy.
        await store.add_thread_item("thr_edited", user_message("thr_edited", "msg_q1", "And then?"), CONTEXT)
        document = json.loads(path.read_text("utf-8"))
        assert document["thread"]["title"] == title
        assert [item["id"] for item in document["items"]] == ["msg_q0", "msg_a0", "msg_q1"]
        assert document["items"][1]["content"][0]["text"] == text

    async def test_a_thread_edited_by_hand_while_the_app_was_closed_is_listed_with_the_edit(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        await store.save_thread(make_thread("thr_closed", title="Lisbon trip"), CONTEXT)
        store.close()  # the index now holds "Lisbon trip"
        edit_by_hand(thread_file(tmp_path, "thr_closed"), {'"Lisbon trip"': '"Porto trip!"'}, in_place=True)
        listed = (await reopen(tmp_path).load_threads(10, None, "desc", CONTEXT)).data
        assert [(t.id, t.title) for t in listed] == [("thr_closed", "Porto trip!")]

    async def test_a_thread_file_placed_in_the_folder_while_the_app_was_closed_is_listed(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        added = await self.conversation(store, "thr_original", turns=1)
        store.close()
        copied = json.loads(thread_file(tmp_path, "thr_original").read_text("utf-8"))
        copied["thread"]["id"] = "thr_placed"
        thread_file(tmp_path, "thr_placed").write_text(json.dumps(copied), "utf-8")
        after = reopen(tmp_path)
        assert sorted(ids((await after.load_threads(10, None, "asc", CONTEXT)).data)) == ["thr_original", "thr_placed"]
        assert ids(await self.all_items(after, "thr_placed")) == added

    # ---- corrupt files ---------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "content",
        [
            b"",
            b'{"schema_version": 1, "thread": {"id": "thr_bad", "ti',
            b"[1, 2, 3]",
            b'{"schema_version": "one", "thread": {}, "items": []}',
            b'{"schema_version": 1, "thread": {"id": "thr_bad"}, "items": []}',
            b'{"schema_version": 1, "thread": {"id": "thr_bad", "created_at": "2025-03-01T09:30:00Z", '
            b'"status": {"type": "active"}, "metadata": {}}, "items": [{"id": "msg_1"}]}',
            b'{"schema_version": 1, "thread": {"id": "thr_bad", "created_at": "2025-03-01T09:30:00Z", '
            b'"status": {"type": "active"}, "metadata": {}}, "items": [{"id": "msg_1", "type": "user_message", '
            b'"content": ["not a part"]}]}',
            b'{"schema_version": 1, "thread": {"id": "thr_someone_else", "created_at": "2025-03-01T09:30:00Z", '
            b'"status": {"type": "active"}, "metadata": {}}, "items": []}',
        ],
        ids=[
            "empty",
            "cut short",
            "not an object",
            "version not a number",
            "thread incomplete",
            "item incomplete",
            "item's part not an object",
            "another thread's id",
        ],
    )
    async def test_a_corrupt_thread_file_is_moved_to_threads_corrupt_and_reads_as_missing(
        self, store: JsonFileStore, tmp_path: Path, content: bytes
    ) -> None:
        path = thread_file(tmp_path, "thr_bad")
        path.write_bytes(content)
        with pytest.raises(NotFoundError):
            await store.load_thread("thr_bad", CONTEXT)
        assert not path.exists()
        assert (tmp_path / "threads" / "corrupt" / "thr_bad.json").read_bytes() == content, "kept, byte for byte"

    async def test_a_corrupt_file_found_at_start_is_moved_aside_and_the_others_are_listed(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        await self.conversation(store, "thr_good", turns=1)
        thread_file(tmp_path, "thr_bad").write_text("{ not json", "utf-8")
        after = reopen(tmp_path)
        assert ids((await after.load_threads(10, None, "desc", CONTEXT)).data) == ["thr_good"]
        assert (tmp_path / "threads" / "corrupt" / "thr_bad.json").read_text("utf-8") == "{ not json"

    async def test_a_thread_with_a_damaged_old_item_opens_at_its_newest_and_goes_aside_when_that_item_is_read(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        added = await self.conversation(store, "thr_damaged", turns=3)
        path = thread_file(tmp_path, "thr_damaged")
        rewrite(path, lambda document: document["items"][0].update(content=[{"type": "input_text"}]))  # no text
        damaged = path.read_bytes()

        newest = await store.load_thread_items("thr_damaged", None, 2, "desc", CONTEXT)
        assert ids(newest.data) == added[:-3:-1], "the newest items open, unchecked ones are not read"
        with pytest.raises(NotFoundError):
            await store.load_thread_items("thr_damaged", None, 10, "asc", CONTEXT)
        assert not path.exists()
        assert (tmp_path / "threads" / "corrupt" / "thr_damaged.json").read_bytes() == damaged, "kept, byte for byte"
        with pytest.raises(NotFoundError):
            await store.load_thread("thr_damaged", CONTEXT)

    async def test_a_second_corrupt_file_of_the_same_name_does_not_replace_the_first_one_kept_aside(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        for content in ("{ first broken copy", "{ second broken copy"):
            thread_file(tmp_path, "thr_bad").write_text(content, "utf-8")
            with pytest.raises(NotFoundError):
                await store.load_thread("thr_bad", CONTEXT)
        kept = sorted(path.read_text("utf-8") for path in (tmp_path / "threads" / "corrupt").iterdir())
        assert kept == ["{ first broken copy", "{ second broken copy"]

    # ---- newer versions --------------------------------------------------------------------------

    async def test_a_thread_file_from_a_newer_app_version_is_shown_locked_and_never_overwritten(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        added = await self.conversation(store, "thr_newer", turns=1)
        path = thread_file(tmp_path, "thr_newer")
        rewrite(path, lambda document: document.update(schema_version=2))
        original = path.read_bytes()

        thread = await store.load_thread("thr_newer", CONTEXT)
        assert isinstance(thread.status, LockedStatus)
        assert "newer version" in (thread.status.reason or "")
        assert ids(await self.all_items(store, "thr_newer")) == added, "still readable"
        new_item = user_message("thr_newer", "msg_q9", "More")
        changes: list[Callable[[], Awaitable[None]]] = [
            lambda: store.add_thread_item("thr_newer", new_item, CONTEXT),
            lambda: store.save_item("thr_newer", new_item, CONTEXT),
            lambda: store.delete_thread_item("thr_newer", "msg_q0", CONTEXT),
            lambda: store.save_thread(make_thread("thr_newer", title="Renamed"), CONTEXT),
            lambda: store.delete_thread("thr_newer", CONTEXT),
        ]
        for change in changes:
            with pytest.raises(ReadOnlyThreadError):
                await change()
        assert path.read_bytes() == original

    async def test_a_newer_thread_file_that_cannot_be_read_is_left_untouched(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        path = thread_file(tmp_path, "thr_future")
        content = json.dumps({"schema_version": 7, "thread": {"id": "thr_future", "shape": "new"}, "items": []})
        path.write_text(content, "utf-8")
        with pytest.raises(NotFoundError):
            await store.load_thread("thr_future", CONTEXT)
        assert path.read_text("utf-8") == content
        assert not (tmp_path / "threads" / "corrupt").exists(), "not corrupt: only newer"

    # ---- unsafe ids ------------------------------------------------------------------------------

    @pytest.mark.parametrize("bad", ["../victim", "..", "", "_hidden", "x" * 101, "thr\x00"])
    @pytest.mark.parametrize(
        "operation",
        [
            "load_thread",
            "save_thread",
            "delete_thread",
            "load_thread_items",
            "add_thread_item",
            "save_item",
            "load_item",
            "delete_thread_item",
            "add_thread_item with a bad item id",
            "save_item with a bad item id",
            "load_item with a bad item id",
            "delete_thread_item with a bad item id",
        ],
    )
    async def test_an_id_that_fails_check_id_never_touches_the_disk(
        self, store: JsonFileStore, tmp_path: Path, bad: str, operation: str
    ) -> None:
        await self.conversation(store, "thr_ok", turns=1)
        # What a path-traversing id would reach: a thread file outside threads/ whose id matches it.
        victim = make_thread("../victim", title="Outside the threads folder")
        (tmp_path / "victim.json").write_text(
            json.dumps({"schema_version": 1, "thread": victim.model_dump(mode="json"), "items": []}), "utf-8"
        )
        before = snapshot(tmp_path)
        item = user_message("thr_ok", "msg_new", "hello")
        bad_item = user_message("thr_ok", bad, "hello")
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "load_thread": lambda: store.load_thread(bad, CONTEXT),
            "save_thread": lambda: store.save_thread(make_thread(bad), CONTEXT),
            "delete_thread": lambda: store.delete_thread(bad, CONTEXT),
            "load_thread_items": lambda: store.load_thread_items(bad, None, 10, "asc", CONTEXT),
            "add_thread_item": lambda: store.add_thread_item(bad, item, CONTEXT),
            "save_item": lambda: store.save_item(bad, item, CONTEXT),
            "load_item": lambda: store.load_item(bad, "msg_q0", CONTEXT),
            "delete_thread_item": lambda: store.delete_thread_item(bad, "msg_q0", CONTEXT),
            "add_thread_item with a bad item id": lambda: store.add_thread_item("thr_ok", bad_item, CONTEXT),
            "save_item with a bad item id": lambda: store.save_item("thr_ok", bad_item, CONTEXT),
            "load_item with a bad item id": lambda: store.load_item("thr_ok", bad, CONTEXT),
            "delete_thread_item with a bad item id": lambda: store.delete_thread_item("thr_ok", bad, CONTEXT),
        }
        with pytest.raises(InvalidIdError):
            await calls[operation]()
        assert snapshot(tmp_path) == before
        assert ids((await store.load_threads(10, None, "asc", CONTEXT)).data) == ["thr_ok"]

    # ---- the index ---------------------------------------------------------------------------------

    async def test_an_earlier_versions_listing_cache_is_used_once_and_removed(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        await self.conversation(store, "thr_upgraded", turns=2)
        listed_before = (await store.load_threads(10, None, "desc", CONTEXT)).data
        store.close()
        for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        stat = thread_file(tmp_path, "thr_upgraded").stat()
        thread = {**listed_before[0].model_dump(mode="json"), "title": "From the old cache"}
        legacy = {"thread": thread, "mtime_ns": stat.st_mtime_ns, "size": stat.st_size}
        (tmp_path / "threads" / "index.json").write_text(
            json.dumps({"version": 1, "entries": {"thr_upgraded": legacy}})
        )

        after = reopen(tmp_path)
        [listed] = (await after.load_threads(10, None, "desc", CONTEXT)).data
        assert listed.title == "From the old cache", "the old cache spared parsing the unchanged file"
        assert not (tmp_path / "threads" / "index.json").exists()
        deadline = time.monotonic() + 10
        while after.index.indexing and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        hits = after.index.search(parse("Answer"), 10, 0, "", "\uffff")
        assert [hit.thread_id for hit in hits] == ["thr_upgraded"], "its messages are indexed"

    async def test_without_a_usable_index_file_conversations_still_list_and_save(
        self, store: JsonFileStore, tmp_path: Path
    ) -> None:
        await self.conversation(store, "thr_before", turns=1)
        store.close()
        for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        (tmp_path / "index.sqlite3").mkdir()  # something that can be neither opened nor removed as a file

        after = reopen(tmp_path)
        await self.conversation(after, "thr_after", turns=1)
        listed = (await after.load_threads(10, None, "asc", CONTEXT)).data
        assert sorted(ids(listed)) == ["thr_after", "thr_before"]
        assert not after.index.indexing
        assert after.index.search(parse("Answer"), 10, 0, "", "\uffff") == []

"""The JSON thread store: one file per thread under `<data>/threads/`, the files being the truth.

Layout and format are documented for users (README): `threads/<id>.json` =
`{"schema_version": 1, "thread": {...}, "items": [...]}`. Writes are atomic and serialised per thread; a
parsed file is reused while the file on disk is provably unchanged (`threadfile.ThreadFileCache`). Listing is
served from an in-memory index that is rebuilt from the files at start (cheaply: only files whose size or mtime
changed are parsed) and kept, with a full-text index of the messages, in `index.sqlite3` (`thread_index`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chatkit.store import NotFoundError, Store, StoreItemType
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata, UserMessageItem

from .attachments import AttachmentFiles
from .fileio import atomic_write_bytes
from .ids import ID_PATTERN, check_id, new_id
from .store_errors import ReadOnlyThreadError, StoreWriteError
from .thread_index import Listed, Source, SourceUnreadable, ThreadIndex
from .threadfile import (
    NEWER_VERSION_REASON,
    CorruptThreadFile,
    NewerUnreadableFile,
    ThreadFile,
    ThreadFileCache,
    parse,
    signature_of,
)
from .titles import typed_text

log = logging.getLogger(__name__)


class JsonFileStore(Store[Any]):
    """ChatKit `Store` over plain JSON files."""

    def __init__(self, data_dir: Path, attachments: AttachmentFiles) -> None:
        self.root = data_dir / "threads"
        self.attachments = attachments
        self.corrupt_dir = self.root / "corrupt"
        self.index = ThreadIndex(data_dir, self._index_source)
        self._index: dict[str, Listed] = {}
        self._order: list[str] | None = None
        self._position: dict[str, int] = {}
        self._index_lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._files = ThreadFileCache()

    # ---- lifecycle -------------------------------------------------------------------------------

    def open(self) -> None:
        """Build the listing from the files, using the index's entries for files that did not change, and queue
        for (re)indexing every thread whose file changed, appeared or went while the app was closed."""
        self.root.mkdir(parents=True, exist_ok=True)
        cached, stale = self.index.open()
        # An earlier version's listing cache, replaced by index.sqlite3: read once, so the first start after an
        # update does not parse every file before the window can show the list.
        legacy = _legacy_listing(self.root / "index.json") if not cached else {}
        index: dict[str, Listed] = {}
        changed: set[str] = set()
        with os.scandir(self.root) as entries:
            for entry in entries:
                thread_id = entry.name[: -len(".json")]
                is_thread = entry.name.endswith(".json") and ID_PATTERN.fullmatch(thread_id)
                if not is_thread or not entry.is_file():
                    continue
                stat = entry.stat()
                hit = cached.get(thread_id) or legacy.get(thread_id)
                if hit and hit.mtime_ns == stat.st_mtime_ns and hit.size == stat.st_size:
                    index[thread_id] = hit
                    continue
                changed.add(thread_id)
                parsed = self._read_file(thread_id)
                if parsed is not None:
                    index[thread_id] = Listed(_listing(parsed), stat.st_mtime_ns, stat.st_size)
        with self._index_lock:
            self._index = index
            # Sorted now, at start, so that the first list the window asks for is as quick as the next.
            self._sort()
        # The least recently written first, so that messages are numbered in the order of their conversations' last
        # change after a rebuild, as they are after live writes (the index reads "newest first" that way).
        queued = changed | (set(cached) ^ set(index)) | (stale & set(index))
        self.index.changed(sorted(queued, key=lambda tid: index[tid].mtime_ns if tid in index else 0))

    def close(self) -> None:
        """Let the index finish its queued updates (at a clean exit; what is left is redone at the next start)."""
        self.index.close()

    def _index_source(self, thread_id: str) -> Source | None:
        """What the index needs of a thread: its listing entry and items; None when the thread is gone.

        A file that does not parse is not moved aside from here (it may be half-way through an edit by hand): the
        index tries again later, and the next read for the user decides."""
        with self._index_lock:
            listed = self._index.get(thread_id)
        try:
            parsed = self._read_file(thread_id, quarantine=False) if listed is not None else None
        except CorruptThreadFile as error:
            raise SourceUnreadable(str(error)) from None
        return Source(listed, parsed.items) if listed is not None and parsed is not None else None

    # ---- ids -------------------------------------------------------------------------------------

    def generate_thread_id(self, context: Any) -> str:
        return new_id("thread")

    def generate_item_id(self, item_type: StoreItemType, thread: ThreadMetadata, context: Any) -> str:
        return new_id(item_type)

    # ---- files -----------------------------------------------------------------------------------

    def _path(self, thread_id: str) -> Path:
        return self.root / f"{check_id(thread_id, 'thread id')}.json"

    def _lock(self, thread_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(thread_id, threading.Lock())

    def _read_file(self, thread_id: str, *, quarantine: bool = True) -> ThreadFile | None:
        """The thread's file, parsed; None if it is missing, corrupt (then moved aside) or unreadable-newer.
        Without `quarantine`, a corrupt file raises CorruptThreadFile and stays where it is."""
        path = self._path(thread_id)
        try:
            signature = signature_of(path.stat())
        except FileNotFoundError:
            return None
        cached = self._files.get(thread_id, path, signature)
        if cached is not None:
            return cached
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            parsed = parse(raw, thread_id, every_item=False)
        except CorruptThreadFile as error:
            if not quarantine:
                raise
            self._quarantine(path, str(error))
            return None
        except NewerUnreadableFile:
            log.warning("%s was written by a newer app version and cannot be read; left untouched", path.name)
            return None
        self._files.put(thread_id, parsed, signature, raw)
        return parsed

    def _quarantine(self, path: Path, why: str) -> None:
        self._files.forget(path.stem)
        self.corrupt_dir.mkdir(parents=True, exist_ok=True)
        target = self.corrupt_dir / path.name
        if target.exists():
            target = self.corrupt_dir / f"{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.json"
        try:
            os.replace(path, target)
        except OSError as error:
            log.error("thread file %s is corrupt and could not be moved aside: %s", path.name, error)
            return
        log.warning("thread file %s is corrupt (%s); moved to threads/corrupt/%s", path.name, why, target.name)
        with self._index_lock:
            if self._index.pop(path.stem, None) is not None:
                self._order = None
        self.index.changed([path.stem])

    @contextlib.contextmanager
    def _using_items(self, thread_id: str) -> Iterator[None]:
        """Where a thread's items become ChatKit's types: one that does not match the thread format moves the
        file aside, as a file found damaged when read (items are checked whole when used, `threadfile.parse`)."""
        try:
            yield
        except CorruptThreadFile as error:
            self._quarantine(self._path(thread_id), str(error))
            raise NotFoundError(f"thread {thread_id} not found") from None

    def _checked(self, thread_id: str, items: Iterator[ThreadItem]) -> Iterator[ThreadItem]:
        with self._using_items(thread_id):
            yield from items

    def _write_file(self, tf: ThreadFile) -> None:
        if tf.read_only:
            raise ReadOnlyThreadError(NEWER_VERSION_REASON)
        path = self._path(tf.thread_id)
        raw = tf.render()
        try:
            stat = atomic_write_bytes(path, raw)
        except OSError as error:
            log.error("could not write %s: %s", path.name, error.strerror)
            raise StoreWriteError(error, self.root) from None
        self._files.put(tf.thread_id, tf, signature_of(stat), raw)
        with self._index_lock:
            previous = self._index.get(tf.thread_id)
            if previous is None or previous.thread.get("created_at") != tf.thread.get("created_at"):
                self._order = None
            self._index[tf.thread_id] = Listed(tf.thread, stat.st_mtime_ns, stat.st_size)
        self.index.changed([tf.thread_id])

    def _load(self, thread_id: str) -> ThreadFile:
        parsed = self._read_file(thread_id)
        if parsed is None:
            raise NotFoundError(f"thread {thread_id} not found")
        return parsed

    def _modify(self, thread_id: str, change: Callable[[ThreadFile], ThreadFile]) -> None:
        """Read-modify-write one thread under its lock, so concurrent requests never lose an item."""
        with self._lock(thread_id):
            self._write_file(change(self._load(thread_id)))

    # ---- synchronous operations (run in worker threads) --------------------------------------------

    def thread_exists(self, thread_id: str) -> bool:
        """Whether a thread with this id is known (checks the id first)."""
        check_id(thread_id, "thread id")
        with self._index_lock:
            if thread_id in self._index:
                return True
        return self._path(thread_id).exists()

    def is_read_only(self, thread_id: str) -> bool:
        """Whether the thread was written by a newer app version."""
        return self._load(thread_id).read_only

    def _save_thread(self, thread: ThreadMetadata) -> None:
        with self._lock(thread.id):
            existing = self._read_file(thread.id)
            self._write_file(ThreadFile.new(thread) if existing is None else existing.with_thread(thread))

    def _upsert_item(self, thread_id: str, item: ThreadItem) -> None:
        check_id(item.id, "item id")
        stored = self.attachments.stored_form(item)
        self._modify(thread_id, lambda tf: tf.with_item(stored))

    def _delete_item(self, thread_id: str, item_id: str) -> None:
        check_id(item_id, "item id")
        # Deleting an item that is not there is done already (an answer that failed before it was saved).
        self._modify(thread_id, lambda tf: tf.without_item(item_id))

    def add_whole(self, tf: ThreadFile) -> bool:
        """Write a conversation made elsewhere (imported, restored) unless a thread with its id exists already;
        False, and nothing written, when one does."""
        with self._lock(tf.thread_id):
            if self._path(tf.thread_id).exists():
                return False
            self._write_file(tf)
            return True

    def _delete_thread(self, thread_id: str) -> None:
        path = self._path(thread_id)
        with self._lock(thread_id):
            tf = self._load(thread_id)
            if tf.read_only:
                raise ReadOnlyThreadError(NEWER_VERSION_REASON)
            path.unlink()
            self.attachments.delete_all(
                a["id"] for i in tf.items if i.get("type") == "user_message" for a in i.get("attachments") or []
            )
            self._files.forget(thread_id)
            with self._index_lock:
                self._index.pop(thread_id, None)
                self._order = None
            self.index.changed([thread_id])
        with self._locks_guard:
            self._locks.pop(thread_id, None)

    def set_feedback(self, thread_id: str, item_ids: list[str], kind: str) -> None:
        """Remember the user's thumbs up/down in the thread file, beside the items it is about."""

        def change(tf: ThreadFile) -> ThreadFile:
            missing = [i for i in item_ids if tf.position_of(i) is None]
            if missing:
                raise NotFoundError(f"item {missing[0]} not found")
            thread = tf.metadata()
            feedback = dict(thread.metadata.get("feedback") or {})
            feedback.update(dict.fromkeys(item_ids, kind))
            thread.metadata = {**thread.metadata, "feedback": feedback}
            return tf.with_thread(thread)

        self._modify(thread_id, change)

    def item_types(self, thread_id: str, item_ids: list[str]) -> dict[str, str]:
        """The type (`user_message`, …) of each of these items that the thread holds."""
        tf = self._load(thread_id)
        found = {}
        for item_id in item_ids:
            position = tf.position_of(item_id)
            if position is not None:
                found[item_id] = str(tf.items[position].get("type"))
        return found

    def items_newest_first(self, thread_id: str) -> Iterator[ThreadItem]:
        """The thread's items from the newest back; each is read only when the caller gets to it."""
        return self._checked(thread_id, self._load(thread_id).newest_first())

    def first_user_text(self, thread_id: str) -> str:
        """The text of the thread's first user message ("" if none), for titles."""
        tf = self._load(thread_id)
        for position, data in enumerate(tf.items):
            if data.get("type") == "user_message":
                with self._using_items(thread_id):
                    item = tf.item(position)
                return typed_text(item) if isinstance(item, UserMessageItem) else ""
        return ""

    def thread_file(self, thread_id: str) -> ThreadFile:
        """A thread's file as stored (its JSON data), for what exports it; NotFoundError when there is none."""
        return self._load(thread_id)

    def file_bytes(self, thread_id: str) -> bytes:
        """A thread's file byte for byte, as on disk (the id is checked first)."""
        try:
            return self._path(thread_id).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"thread {thread_id} not found") from None

    def listed(self, thread_id: str) -> dict[str, Any] | None:
        """A thread's listing entry (its metadata as JSON data), or None if there is no such thread."""
        with self._index_lock:
            entry = self._index.get(thread_id)
        return entry.thread if entry else None

    def threads_listing(
        self, limit: int, after: str | None, order: str
    ) -> tuple[list[dict[str, Any]], bool, str | None]:
        """One page of the thread list from the index, as JSON data: the threads, whether more follow, and the
        id to continue after. Ordered by creation time (`desc`: newest first)."""
        with self._index_lock:
            ordered = self._order if self._order is not None else self._sort()
            count = len(ordered)
            start = 0
            if after:
                found = self._position.get(after)
                start = count if found is None else (found + 1 if order == "asc" else count - found)
            chosen = [
                ordered[k] if order == "asc" else ordered[count - 1 - k]
                for k in range(start, min(start + limit, count))
            ]
            threads = [self._index[tid].thread for tid in chosen]
            has_more = start + limit < count
        return threads, has_more, chosen[-1] if chosen and has_more else None

    def _sort(self) -> list[str]:
        """Order the index by creation time (called with the index lock held)."""
        ordered = sorted(self._index, key=lambda tid: (str(self._index[tid].thread.get("created_at", "")), tid))
        self._order, self._position = ordered, {tid: position for position, tid in enumerate(ordered)}
        return ordered

    def _items_page(self, thread_id: str, after: str | None, limit: int, order: str) -> Page[ThreadItem]:
        tf = self._load(thread_id)
        positions = range(len(tf.items)) if order == "asc" else range(len(tf.items) - 1, -1, -1)
        start = 0
        if after:
            found = tf.position_of(after)
            if found is None:
                raise NotFoundError(f"item {after} not found")
            start = positions.index(found) + 1
        with self._using_items(thread_id):
            chosen = [self.attachments.shown_form(tf.item(position)) for position in positions[start : start + limit]]
        has_more = start + limit < len(positions)
        return Page(data=chosen, has_more=has_more, after=chosen[-1].id if chosen and has_more else None)

    def _load_item(self, thread_id: str, item_id: str) -> ThreadItem:
        tf = self._load(thread_id)
        position = tf.position_of(check_id(item_id, "item id"))
        if position is None:
            raise NotFoundError(f"item {item_id} not found")
        with self._using_items(thread_id):
            return self.attachments.shown_form(tf.item(position))

    # ---- the ChatKit Store interface -------------------------------------------------------------

    async def load_thread(self, thread_id: str, context: Any) -> ThreadMetadata:
        return (await asyncio.to_thread(self._load, thread_id)).metadata()

    async def save_thread(self, thread: ThreadMetadata, context: Any) -> None:
        await asyncio.to_thread(self._save_thread, thread)

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: Any
    ) -> Page[ThreadItem]:
        return await asyncio.to_thread(self._items_page, thread_id, after, limit, order)

    async def load_threads(self, limit: int, after: str | None, order: str, context: Any) -> Page[ThreadMetadata]:
        threads, has_more, next_after = self.threads_listing(limit, after, order)
        return Page(data=[ThreadMetadata.model_validate(t) for t in threads], has_more=has_more, after=next_after)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: Any) -> None:
        await asyncio.to_thread(self._upsert_item, thread_id, item)

    async def save_item(self, thread_id: str, item: ThreadItem, context: Any) -> None:
        await asyncio.to_thread(self._upsert_item, thread_id, item)

    async def load_item(self, thread_id: str, item_id: str, context: Any) -> ThreadItem:
        return await asyncio.to_thread(self._load_item, thread_id, item_id)

    async def delete_thread(self, thread_id: str, context: Any) -> None:
        await asyncio.to_thread(self._delete_thread, thread_id)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: Any) -> None:
        await asyncio.to_thread(self._delete_item, thread_id, item_id)

    async def save_attachment(self, attachment: Attachment, context: Any) -> None:
        # ChatKit saves an attachment when it is created (its record is written already) and again when a message
        # carrying it is saved: then it belongs to that thread.
        if attachment.thread_id is not None:
            await asyncio.to_thread(self.attachments.claim, attachment.id, attachment.thread_id)

    async def load_attachment(self, attachment_id: str, context: Any) -> Attachment:
        return self.attachments.to_chatkit(await asyncio.to_thread(self.attachments.load, attachment_id))

    async def delete_attachment(self, attachment_id: str, context: Any) -> None:
        await asyncio.to_thread(self.attachments.delete, attachment_id)


def _listing(tf: ThreadFile) -> dict[str, Any]:
    """What the index keeps of a thread: its metadata as the list shows it (locked if newer)."""
    return tf.metadata().model_dump(mode="json") if tf.read_only else tf.thread


def _legacy_listing(path: Path) -> dict[str, Listed]:
    """The entries of `threads/index.json` (`{"version": 1, "entries": {id: {"mtime_ns", "size", "thread"}}}`),
    which earlier versions kept; the file is removed once read."""
    try:
        entries = json.loads(path.read_bytes())["entries"]
        listed = {tid: Listed(e["thread"], int(e["mtime_ns"]), int(e["size"])) for tid, e in entries.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        listed = {}
    with contextlib.suppress(OSError):
        path.unlink()
    return listed

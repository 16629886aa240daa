"""One thread file: reading and checking it, writing it back, and a cache of parsed files that cannot go stale.

A thread file is `{"schema_version": 1, "thread": {ThreadMetadata}, "items": [ThreadItem, …]}`. A parsed file
keeps what is on disk as plain JSON data and turns an item into ChatKit's type (checking it whole) only when it
is asked for, so the cost of opening or answering a long thread follows what is shown or sent, not the thread's
length; a change makes a new `ThreadFile` (the old one is never changed in place), so what the cache holds is
always what the disk holds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, get_args

import pydantic_core
from chatkit.types import LockedStatus, ThreadItem, ThreadMetadata
from pydantic import TypeAdapter, ValidationError

SCHEMA_VERSION = 1
NEWER_VERSION_REASON = (
    "This conversation was saved by a newer version of ChatKit Desktop. Update the app to continue it."
)

_item_adapter: TypeAdapter[ThreadItem] = TypeAdapter(ThreadItem)
_items_adapter: TypeAdapter[list[ThreadItem]] = TypeAdapter(list[ThreadItem])
ITEM_TYPES = frozenset(kind.model_fields["type"].default for kind in get_args(get_args(ThreadItem)[0]))
"""The `type` of every kind of ChatKit thread item."""


class CorruptThreadFile(Exception):
    """The file is not a thread file this app can read; the message says why (for the log)."""


class NewerUnreadableFile(Exception):
    """The file was written by a newer app version in a form this one cannot read; it is left untouched."""


@dataclass(frozen=True)
class ThreadFile:
    """A parsed thread file as JSON data, oldest item first. Never changed in place: changes return a new one."""

    thread: dict[str, Any]
    items: tuple[dict[str, Any], ...]
    read_only: bool = False

    @classmethod
    def new(cls, thread: ThreadMetadata) -> ThreadFile:
        """A thread with no items yet."""
        return cls(thread.model_dump(mode="json"), ())

    @property
    def thread_id(self) -> str:
        """The thread's id."""
        return str(self.thread["id"])

    def metadata(self) -> ThreadMetadata:
        """The thread as ChatKit's type: a fresh object the caller may change."""
        thread = ThreadMetadata.model_validate(self.thread)
        if self.read_only:
            thread.status = LockedStatus(reason=NEWER_VERSION_REASON)
        return thread

    def item(self, position: int) -> ThreadItem:
        """The item at `position` (negative counts from the newest) as ChatKit's type: a fresh object.

        Raises CorruptThreadFile when the item does not match ChatKit's type (see `parse`).
        """
        try:
            return _item_adapter.validate_python(self.items[position])
        except ValidationError as error:
            raise CorruptThreadFile(f"an item does not match the thread format ({type(error).__name__})") from None

    def position_of(self, item_id: str) -> int | None:
        """Where the item with this id is, or None."""
        for position in range(len(self.items) - 1, -1, -1):
            if self.items[position].get("id") == item_id:
                return position
        return None

    def newest_first(self) -> Iterator[ThreadItem]:
        """The items from the newest back, each made into ChatKit's type only when the caller gets to it."""
        for position in range(len(self.items) - 1, -1, -1):
            yield self.item(position)

    def with_thread(self, thread: ThreadMetadata) -> ThreadFile:
        """This file with new thread metadata."""
        return replace(self, thread=thread.model_dump(mode="json"))

    def with_item(self, item: ThreadItem) -> ThreadFile:
        """This file with `item` replacing the item of the same id, or appended as the newest."""
        data = item.model_dump(mode="json")
        position = self.position_of(item.id)
        if position is None:
            return replace(self, items=(*self.items, data))
        return replace(self, items=(*self.items[:position], data, *self.items[position + 1 :]))

    def without_item(self, item_id: str) -> ThreadFile:
        """This file without the item of that id (the same file if there is none)."""
        position = self.position_of(item_id)
        if position is None:
            return self
        return replace(self, items=self.items[:position] + self.items[position + 1 :])

    def render(self) -> bytes:
        """The file's bytes: UTF-8 JSON, indented so that a person can read and diff it."""
        payload = {"schema_version": SCHEMA_VERSION, "thread": self.thread, "items": list(self.items)}
        return pydantic_core.to_json(payload, indent=1)


def parse(raw: bytes, thread_id: str, *, every_item: bool = True) -> ThreadFile:
    """Read and check a thread file's bytes; raises CorruptThreadFile or NewerUnreadableFile.

    With `every_item`, every item is checked whole against ChatKit's types, so a damaged file is found before
    anything is done with it (what imports need). Without, each item's shape is checked here (`_has_item_shape`)
    and the rest when the item is used (`ThreadFile.item`): checking 4,000 items whole took twice as long as
    reading the file, and opening a conversation shows its newest 100.
    """
    try:
        data = pydantic_core.from_json(raw)
        version = data["schema_version"]
        if not isinstance(version, int) or not isinstance(data["thread"], dict):
            raise ValueError("schema_version is not a number")
        items = data.get("items", [])
        if not isinstance(items, list):
            raise ValueError("items is not a list")
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptThreadFile("it is not valid JSON in the thread format") from error
    try:
        ThreadMetadata.model_validate(data["thread"])
        if every_item or version > SCHEMA_VERSION:
            _items_adapter.validate_python(items)
        elif not all(_has_item_shape(item) for item in items):
            raise TypeError("an item is not an object with an id and a known type")
    except (ValidationError, TypeError) as error:
        if version > SCHEMA_VERSION:
            raise NewerUnreadableFile() from error
        raise CorruptThreadFile(f"its content does not match the thread format ({type(error).__name__})") from error
    if data["thread"].get("id") != thread_id:
        raise CorruptThreadFile("the thread id inside does not match the file name")
    return ThreadFile(data["thread"], tuple(items), read_only=version > SCHEMA_VERSION)


def _has_item_shape(item: Any) -> bool:
    """An object with an id and a known type, whose parts and attachments (what is read of an item without
    making it ChatKit's type: search, export, deletion) are objects, attachments with ids."""
    if not (isinstance(item, dict) and isinstance(item.get("id"), str) and item.get("type") in ITEM_TYPES):
        return False
    parts, attachments = item.get("content", []), item.get("attachments", [])
    return (
        isinstance(parts, list)
        and isinstance(attachments, list)
        and all(isinstance(part, dict) for part in parts)
        and all(isinstance(attached, dict) and isinstance(attached.get("id"), str) for attached in attachments)
    )


Signature = tuple[int, int, int]
"""What identifies one version of a file on disk: inode, size and modification time (ns)."""

# Coarse file systems stamp modification times in steps (a kernel tick, or 2 s on FAT). While a file's
# mtime is that recent, an edit of the same size could keep the same signature, so the cache also compares
# the bytes until the mtime is older than this (the trick git uses for "racily clean" files).
SETTLE_NS = 2_000_000_000


@dataclass
class _Entry:
    file: ThreadFile
    signature: Signature
    unsettled: bytes | None

    @property
    def size(self) -> int:
        """The file's size in bytes, which the cache's bound counts."""
        return self.signature[1]


class ThreadFileCache:
    """Parsed thread files by id, served only while the file on disk is provably the same; least recently used
    files are dropped beyond `max_bytes` of file size."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def get(self, thread_id: str, path: Path, signature: Signature) -> ThreadFile | None:
        """The cached file if `signature` (just read from disk) proves it current, else None."""
        with self._lock:
            entry = self._entries.get(thread_id)
            if entry is None or entry.signature != signature:
                return None
            self._entries.move_to_end(thread_id)
            unsettled = entry.unsettled
        if unsettled is not None:
            try:
                if path.read_bytes() != unsettled:
                    return None
            except OSError:
                return None
            if time.time_ns() - signature[2] > SETTLE_NS:
                with self._lock:
                    if self._entries.get(thread_id) is entry:
                        entry.unsettled = None
        return entry.file

    def put(self, thread_id: str, file: ThreadFile, signature: Signature, raw: bytes) -> None:
        """Remember `file`, which is what `raw` (the bytes on disk with `signature`) holds."""
        recent = time.time_ns() - signature[2] <= SETTLE_NS
        entry = _Entry(file, signature, raw if recent else None)
        with self._lock:
            self._drop(thread_id)
            self._entries[thread_id] = entry
            self._bytes += entry.size
            while self._bytes > self._max_bytes and len(self._entries) > 1:
                self._drop(next(iter(self._entries)))

    def forget(self, thread_id: str) -> None:
        """Drop a thread (deleted, or moved aside as corrupt)."""
        with self._lock:
            self._drop(thread_id)

    def _drop(self, thread_id: str) -> None:
        entry = self._entries.pop(thread_id, None)
        if entry is not None:
            self._bytes -= entry.size


def signature_of(stat: Any) -> Signature:
    """The signature of an `os.stat_result`."""
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

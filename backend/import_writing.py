"""Writing imported conversations into the data folder, each all or nothing: its attachments first (pending, so
that the hourly sweep removes them if the app stops half-way), then its thread file in one atomic write, then the
attachments claimed. A conversation whose id is here already is left as it is, which makes an import idempotent
and an interrupted one complete when the same file is imported again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

from . import filetypes
from .attachments import MAX_BYTES, MAX_COUNT, AttachmentError, AttachmentFiles
from .import_reading import Opened
from .imported import Conversation, FileRef, Message, derived_id, thread_id_for
from .store import JsonFileStore
from .threadfile import ThreadFile
from .titles import fallback_title

DAMAGED = "{n} file{s} could not be read from the export (damaged, or larger than 20 MB) and {were} left out."
TOO_MANY = f"{{n}} file{{s}} {{were}} left out: a message here carries at most {MAX_COUNT}."


@dataclass
class Outcome:
    """What became of one conversation of the file."""

    status: Literal["added", "present", "failed", "empty"]
    title: str
    messages: int = 0
    reason: str | None = None
    attachments: int = 0
    left_out: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """Where imported conversations go: the store (which keeps the list and the search index current) and the
    attachments folder."""

    store: JsonFileStore
    files: AttachmentFiles


def write_conversation(conversation: Conversation, opened: Opened, target: Target) -> Outcome:
    """Add one conversation read from another app's export, unless it is here already."""
    thread_id = thread_id_for(conversation.source, conversation.source_id)
    title = conversation.title or _first_words(conversation.messages)
    count = len(conversation.messages)
    if not count:
        return Outcome("empty", title)
    if target.store.thread_exists(thread_id):
        return Outcome("present", title, count)
    left_out = dict(conversation.left_out)
    written: list[str] = []
    try:
        items = _items(conversation, thread_id, opened, target.files, written, left_out)
        thread = ThreadMetadata(
            id=thread_id,
            title=title,
            created_at=_local(conversation.created_at),
            metadata={"imported_from": {"app": conversation.source, "id": conversation.source_id}},
        )
        tf = ThreadFile(thread.model_dump(mode="json"), tuple(item.model_dump(mode="json") for item in items))
        if not target.store.add_whole(tf):
            target.files.delete_all(written)
            return Outcome("present", title, count)
    except BaseException:
        target.files.delete_all(written)
        raise
    for attachment_id in written:
        target.files.claim(attachment_id, thread_id)
    return Outcome("added", title, count, attachments=len(written), left_out=left_out)


def _items(
    conversation: Conversation,
    thread_id: str,
    opened: Opened,
    files: AttachmentFiles,
    written: list[str],
    left_out: dict[str, int],
) -> list[UserMessageItem | AssistantMessageItem]:
    items: list[UserMessageItem | AssistantMessageItem] = []
    messages = conversation.messages
    for position, message in enumerate(messages):
        item_id = derived_id("msg", thread_id, message.source_id, str(position))
        when = _local(message.created_at)
        if message.role == "assistant":
            content = [AssistantMessageContent(text=message.text)]
            items.append(AssistantMessageItem(id=item_id, thread_id=thread_id, created_at=when, content=content))
            continue
        answer = messages[position + 1] if position + 1 < len(messages) else None
        attachments = []
        for number, ref in enumerate(message.files):
            if number >= MAX_COUNT:
                _count(left_out, TOO_MANY)
                continue
            data = _bytes_of(ref, opened)
            if data is None:
                _count(left_out, DAMAGED)
                continue
            attachment_id = derived_id("atc", thread_id, message.source_id, str(number))
            try:
                meta = files.add(attachment_id, _usable_name(ref), data)
            except AttachmentError as refused:
                escaped = str(refused).replace("{", "{{").replace("}", "}}")
                _count(left_out, f"{{n}} file{{s}} {{were}} left out, for example: {escaped}")
                continue
            written.append(attachment_id)
            attachments.append(files.to_chatkit(meta).model_copy(update={"thread_id": thread_id}))
        user = UserMessageItem(
            id=item_id,
            thread_id=thread_id,
            created_at=when,
            content=[UserMessageTextContent(text=message.text)] if message.text else [],
            attachments=attachments,
            inference_options=InferenceOptions(model=answer.model if answer else None),
        )
        items.append(files.stored_form(user))  # type: ignore[arg-type]
    return items


def _bytes_of(ref: FileRef, opened: Opened) -> bytes | None:
    if ref.text is not None:
        return ref.text.encode("utf-8")
    return opened.read_member(ref.member, MAX_BYTES) if ref.member else None


def _usable_name(ref: FileRef) -> str:
    """A name the attachments folder accepts: no path, no control characters; text kept in place of a file
    (Claude's) is named as text."""
    name = "".join("_" if c in "/\\" or not c.isprintable() else c for c in ref.name).replace("..", "_").strip()
    name = name.encode("utf-8")[:180].decode("utf-8", "ignore") or "file"
    if ref.text is not None and not name.lower().endswith(tuple(filetypes.TEXT_EXTENSIONS)):
        name += ".txt"
    return name


def _count(left_out: dict[str, int], why: str) -> None:
    left_out[why] = left_out.get(why, 0) + 1


def _first_words(messages: Iterable[Message]) -> str:
    first = next((m.text for m in messages if m.role == "user" and m.text), "")
    return fallback_title(first)


def _local(when: datetime) -> datetime:
    # The app stamps threads and items in local time without a zone (as ChatKit does): the list sorts them as one.
    return when.astimezone().replace(tzinfo=None)


def listing_title(data: Any) -> str:
    """A title to show for a conversation that could not be read: its own, when it has one."""
    if isinstance(data, dict):
        for key in ("title", "name"):
            if isinstance(data.get(key), str) and data[key].strip():
                return str(data[key]).strip()
    return "Untitled conversation"

"""What an importer makes of another app's conversation, before it becomes a thread file: the visible messages in
order, each with its author, time, text, files and (for answers) the model; and the ids it will have here, derived
from the other app's ids so that importing the same export twice finds what the first import wrote.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal


class Unreadable(Exception):
    """One conversation of an export cannot be imported; the message says why, for the summary."""


@dataclass(frozen=True)
class FileRef:
    """A file a message carried: its name, and where its bytes are — a zip member, or text the export kept in
    place of the file (Claude's `extracted_content`); neither when the export left the bytes out."""

    name: str
    member: str | None = None
    text: str | None = None


@dataclass
class Message:
    """One visible message. Consecutive messages of one author are merged into one (`merge`)."""

    source_id: str
    role: Literal["user", "assistant"]
    text: str
    created_at: datetime
    model: str | None = None
    files: list[FileRef] = field(default_factory=list)

    def merge(self, later: Message) -> None:
        """Take in the next message of the same author (an answer in several parts, a code run and its result)."""
        self.text = "\n\n".join(part for part in (self.text, later.text) if part)
        self.files += later.files
        self.model = self.model or later.model


@dataclass
class Conversation:
    """A conversation as another app exported it, reduced to what is shown. `left_out` counts, by the sentence
    that explains them (a template: `{n} file{s} {were} left out`), files the export mentions but that cannot be
    kept."""

    source: str
    source_id: str
    title: str | None
    created_at: datetime
    messages: list[Message]
    left_out: dict[str, int] = field(default_factory=dict)

    def add(self, message: Message) -> None:
        """Append a visible message, merged into the previous one when both are by the same author."""
        if self.messages and self.messages[-1].role == message.role:
            self.messages[-1].merge(message)
        else:
            self.messages.append(message)

    def leave_out(self, why: str, count: int = 1) -> None:
        """Count files that will not be kept, under the sentence (with `{n}`) that explains them."""
        self.left_out[why] = self.left_out.get(why, 0) + count


def derived_id(prefix: str, *parts: str) -> str:
    """An id with ChatKit's prefix made from the other app's ids: the same parts always give the same id."""
    digest = hashlib.sha256("\x00".join((prefix, *parts)).encode("utf-8")).hexdigest()
    return f"{prefix}_{digest[:24]}"


def thread_id_for(source: str, source_id: str) -> str:
    """The id here of a conversation imported from `source` (`chatgpt`, `claude`)."""
    return derived_id("thr", source, source_id)


def from_epoch(value: Any, fallback: datetime) -> datetime:
    """A timestamp in seconds since 1970 (ChatGPT's) as a time; `fallback` when it is missing or absurd."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def from_iso(value: Any, fallback: datetime) -> datetime:
    """An ISO 8601 time (Claude's `2024-06-01T12:00:00.000000Z`); `fallback` when it is missing or unreadable."""
    if not isinstance(value, str):
        return fallback
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def text_of(value: Any) -> str:
    """A value an export says is text, as text (anything else is nothing)."""
    return value if isinstance(value, str) else ""

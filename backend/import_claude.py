"""A conversation of a Claude data export (`conversations.json` with `chat_messages`) as the conversation it was.

Newer exports keep edited messages and retried answers too, linked by `parent_message_uuid`; the branch kept is
the one that ends with the newest message, read up through its parents. Claude's export holds no file bytes, but
it keeps the text it read from an attached document (`extracted_content`): that becomes a text attachment, so the
model still has it when the conversation goes on here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .imported import Conversation, FileRef, Message, Unreadable, from_iso, text_of

SOURCE = "claude"
NO_BYTES = "{n} file{s} {were} left out: Claude's export does not include {them}."
# Claude's id for "no parent": the first message's parent.
ROOT = "00000000-0000-4000-8000-000000000000"


def read(data: Any, now: datetime) -> Conversation:
    """The kept branch of one exported conversation."""
    if not isinstance(data, dict) or not isinstance(data.get("chat_messages"), list):
        raise Unreadable("it is not a conversation")
    source_id = text_of(data.get("uuid"))
    if not source_id:
        raise Unreadable("it has no id")
    created = from_iso(data.get("created_at"), now)
    conversation = Conversation(SOURCE, source_id, text_of(data.get("name")).strip() or None, created, [])
    for message in _kept_branch([m for m in data["chat_messages"] if isinstance(m, dict)]):
        role = {"human": "user", "assistant": "assistant"}.get(text_of(message.get("sender")))
        if role is None:
            continue
        text = _text(message)
        refs = _files(conversation, message) if role == "user" else []
        if not text and not refs:
            continue
        when = from_iso(message.get("created_at"), created)
        source_message = text_of(message.get("uuid")) or str(len(conversation.messages))
        conversation.add(Message(source_message, "user" if role == "user" else "assistant", text, when, None, refs))
    return conversation


def _kept_branch(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {m["uuid"]: m for m in messages if isinstance(m.get("uuid"), str)}
    if not any(isinstance(m.get("parent_message_uuid"), str) for m in messages):
        return messages  # an older export: one line of messages, in order
    # The newest message ends the branch last seen (ties: the later in the file).
    leaf = max(reversed(messages), key=lambda m: text_of(m.get("created_at")), default=None)
    branch: list[dict[str, Any]] = []
    seen: set[str] = set()
    node = leaf
    while node is not None:
        node_id = text_of(node.get("uuid"))
        if node_id in seen:
            raise Unreadable("its messages refer to each other in a loop")
        seen.add(node_id)
        branch.append(node)
        parent = node.get("parent_message_uuid")
        node = by_id.get(parent) if isinstance(parent, str) and parent != ROOT else None
    branch.reverse()
    return branch


def _text(message: dict[str, Any]) -> str:
    blocks = message.get("content")
    if isinstance(blocks, list) and blocks:
        # Thinking, tool calls and their results are not part of what was said.
        parts = [text_of(b.get("text")) for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
        return "\n\n".join(p.strip("\n") for p in parts if p.strip()).strip()
    return text_of(message.get("text")).strip()


def _files(conversation: Conversation, message: dict[str, Any]) -> list[FileRef]:
    refs = []
    for attachment in message.get("attachments") or ():
        if not isinstance(attachment, dict):
            continue
        content = text_of(attachment.get("extracted_content"))
        if content.strip():
            refs.append(FileRef(text_of(attachment.get("file_name")) or "attachment.txt", text=content))
        else:
            conversation.leave_out(NO_BYTES)
    files = [f for f in message.get("files") or () if isinstance(f, dict)]
    if files:
        conversation.leave_out(NO_BYTES, len(files))
    return refs

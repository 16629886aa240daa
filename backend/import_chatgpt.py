"""A conversation of a ChatGPT data export (`conversations.json`) as the visible conversation it was.

ChatGPT keeps every version of a conversation in `mapping`, a tree of messages: editing a message or asking
for another answer starts a branch. What the user last saw is the branch from the root to `current_node`, so only
that path is read, from the node up through its parents. Hidden messages (the system prompt, custom instructions,
memory), tool calls and the model's private reasoning are left out; code the assistant ran is kept as a code block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .imported import Conversation, FileRef, Message, Unreadable, from_epoch, text_of

SOURCE = "chatgpt"
NOT_IN_EXPORT = "{n} image{s} or file{s} {were} not in the export and {were} left out."
NOT_IN_JSON = (
    "{n} image{s} or file{s} {were} left out: import the export's .zip (not conversations.json alone) to keep {them}."
)
GENERATED = "{n} image{s} ChatGPT made {were} left out (an answer here cannot carry a picture)."
_SHOWN = ("text", "multimodal_text", "code")
# ChatGPT marks citations with private-use characters (`\ue200cite\ue202turn0search0\ue201`): nothing to read.
_CITATION = re.compile("\ue200[^\ue201]*\ue201")
_POINTER = re.compile(r"^(?:file-service|sediment)://(file[-_][A-Za-z0-9]+)")


def read(data: Any, files: Mapping[str, tuple[str, str]], in_zip: bool, now: datetime) -> Conversation:
    """The visible branch of one exported conversation. `files` maps ChatGPT's file ids to zip members (with the
    original name where the member's name keeps it); `in_zip` says whether the export's files could be there."""
    if not isinstance(data, dict):
        raise Unreadable("it is not a conversation")
    source_id = text_of(data.get("conversation_id")) or text_of(data.get("id"))
    if not source_id:
        raise Unreadable("it has no id")
    title = text_of(data.get("title")).strip() or None
    created = from_epoch(data.get("create_time"), now)
    conversation = Conversation(SOURCE, source_id, title, created, [])
    default_model = text_of(data.get("default_model_slug")) or None
    for node in _visible_branch(data.get("mapping"), data.get("current_node")):
        message = node.get("message")
        if isinstance(message, dict):
            _read_message(conversation, message, files, in_zip, created, default_model)
    return conversation


def _visible_branch(mapping: Any, current: Any) -> list[dict[str, Any]]:
    """The nodes from the root to `current_node`, oldest first."""
    if not isinstance(mapping, dict) or not mapping:
        raise Unreadable("it has no messages")
    if not isinstance(current, str) or current not in mapping:
        current = _newest_leaf(mapping)
    branch: list[dict[str, Any]] = []
    seen: set[str] = set()
    node_id: Any = current
    while isinstance(node_id, str) and node_id in mapping:
        if node_id in seen:
            raise Unreadable("its messages refer to each other in a loop")
        seen.add(node_id)
        node = mapping[node_id]
        if not isinstance(node, dict):
            raise Unreadable("one of its messages is not a message")
        branch.append(node)
        node_id = node.get("parent")
    branch.reverse()
    return branch


def _newest_leaf(mapping: dict[str, Any]) -> str:
    # No current node named: the branch that ends with the newest message is the one last seen.
    leaves = [key for key, node in mapping.items() if isinstance(node, dict) and not node.get("children")]
    if not leaves:
        raise Unreadable("its messages refer to each other in a loop")

    def created(key: str) -> float:
        message = mapping[key].get("message")
        stamp = message.get("create_time") if isinstance(message, dict) else None
        return float(stamp) if isinstance(stamp, int | float) else 0.0

    return max(leaves, key=created)


def _read_message(
    conversation: Conversation,
    message: dict[str, Any],
    files: Mapping[str, tuple[str, str]],
    in_zip: bool,
    fallback: datetime,
    default_model: str | None,
) -> None:
    author = message.get("author")
    role = author.get("role") if isinstance(author, dict) else None
    content: dict[str, Any] = _dict(message.get("content"))
    kind = content.get("content_type")
    metadata: dict[str, Any] = _dict(message.get("metadata"))
    if role == "tool":
        images = sum(1 for part in content.get("parts") or () if _pointer(part) is not None)
        if images:
            conversation.leave_out(GENERATED, images)
        return
    if role not in ("user", "assistant") or kind not in _SHOWN or metadata.get("is_visually_hidden_from_conversation"):
        return
    recipient = message.get("recipient", "all")
    if kind == "code":
        text = _code_block(content)
    elif recipient not in ("all", None):
        return  # an instruction to a tool (a search, an image prompt), not something said
    else:
        text = _CITATION.sub("", "\n\n".join(_text_parts(content.get("parts")))).strip()
    refs = _files(conversation, content, metadata, files, in_zip) if role == "user" else []
    if not text and not refs:
        return
    model = None
    if role == "assistant":
        slug = text_of(metadata.get("model_slug")) or default_model
        model = f"openai/{slug}" if slug else None
    when = from_epoch(message.get("create_time"), fallback)
    source_id = text_of(message.get("id")) or str(len(conversation.messages))
    conversation.add(Message(source_id, role, text, when, model, refs))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_parts(parts: Any) -> list[str]:
    found = []
    for part in parts if isinstance(parts, list) else ():
        if isinstance(part, str):
            found.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            found.append(part["text"])  # a voice message's transcription
    return [part for part in found if part.strip()]


def _code_block(content: dict[str, Any]) -> str:
    code = text_of(content.get("text")).strip("\n")
    if not code.strip():
        return ""
    language = text_of(content.get("language"))
    language = "" if language in ("unknown", "") else language
    return f"```{language}\n{code}\n```"


def _pointer(part: Any) -> str | None:
    if isinstance(part, dict) and part.get("content_type") == "image_asset_pointer":
        match = _POINTER.match(text_of(part.get("asset_pointer")))
        return match.group(1) if match else "unknown"
    return None


def _files(
    conversation: Conversation,
    content: dict[str, Any],
    metadata: dict[str, Any],
    files: Mapping[str, tuple[str, str]],
    in_zip: bool,
) -> list[FileRef]:
    """The files a user message carried: its images, then its other uploads, each once."""
    named: dict[str, str] = {}
    for attachment in metadata.get("attachments") or ():
        if isinstance(attachment, dict) and isinstance(attachment.get("id"), str):
            named[attachment["id"]] = text_of(attachment.get("name"))
    ids = [found for part in content.get("parts") or () if (found := _pointer(part))]
    ids += [file_id for file_id in named if file_id not in ids]
    refs = []
    for file_id in ids:
        member = files.get(file_id)
        if member is None:
            conversation.leave_out(NOT_IN_EXPORT if in_zip else NOT_IN_JSON)
            continue
        refs.append(FileRef(named.get(file_id) or member[1] or f"{file_id}.png", member[0]))
    return refs

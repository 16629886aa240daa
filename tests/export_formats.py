"""The ChatGPT and Claude export formats' building blocks (/work/import-contract.md), and a large generated
ChatGPT export streamed to disk.

`tests/export_fixtures.py` builds its hand-written samples from these blocks; `write_chatgpt_export` makes the
export tests/bench/imports.py measures: thousands of conversations of varied made-up prose (a Zipf-weighted
vocabulary, some code blocks), each a mapping tree with a root, a hidden system message and now and then an
edited question, the same bytes for the same arguments.
"""

from __future__ import annotations

import json
import keyword
import random
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import IO, Any

from tests import media

Json = dict[str, Any]

USER_ID = "user-Ab12Cd34Ef56Gh78Ij90Kl12"
CLAUDE_ACCOUNT = "5e1b7c2a-9d4f-4e8a-b6c3-2f7a1d9e0b45"
FIXED_ZIP_TIME = (2024, 6, 1, 12, 0, 0)


def epoch(year: int, month: int, day: int, hour: int = 9) -> float:
    """A fixed moment as ChatGPT's exports give times: seconds since 1970, with a fraction."""
    return datetime(year, month, day, hour, tzinfo=UTC).timestamp() + 0.123456


def iso(seconds: float) -> str:
    """A moment as Claude's exports give times: `2024-06-01T12:00:00.000000Z`."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def zip_member(archive: zipfile.ZipFile, name: str, data: bytes | str) -> None:
    """One compressed member with a fixed date, so the same input gives the same zip."""
    archive.writestr(zipfile.ZipInfo(name, FIXED_ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)


# ---- ChatGPT ------------------------------------------------------------------------------------------------------


def text_content(text: str) -> Json:
    """A message's `text` content."""
    return {"content_type": "text", "parts": [text]}


def image_pointer(pointer: str, size: int, width: int, height: int) -> Json:
    """An `image_asset_pointer` part of a `multimodal_text` content."""
    metadata = {"dalle": None, "gizmo": None, "sanitized": True, "asset_pointer_link": None}
    return {
        "content_type": "image_asset_pointer",
        "asset_pointer": pointer,
        "size_bytes": size,
        "width": width,
        "height": height,
        "fovea": None,
        "metadata": metadata,
    }


class ConversationTree:
    """A ChatGPT conversation grown message by message: its `mapping` (node id = message id) and its clock."""

    def __init__(self, conversation_id: str, start: float) -> None:
        self.id, self.start, self.time = conversation_id, start, start
        self.mapping: dict[str, Json] = {}
        self.root = self.last = self._node(None, None)

    def _node(self, message: Json | None, parent: str | None) -> str:
        node_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.id}/{len(self.mapping)}"))
        if message is not None:
            message["id"] = node_id
        self.mapping[node_id] = {"id": node_id, "message": message, "parent": parent, "children": []}
        if parent is not None:
            self.mapping[parent]["children"].append(node_id)
        return node_id

    def add(self, role: str, content: Json, *, parent: str | None = None, gap: float = 20.0, **extra: Any) -> str:
        """Add a message under `parent` (the last one added by default), `gap` seconds after the last one;
        returns its node id. `extra`: `model` (an assistant's `model_slug`), `hidden`, `recipient`, `name`
        (the author's), `attachments` (message metadata), `end_turn`."""
        self.time += gap
        metadata: Json = {"timestamp_": "absolute", "message_type": None}
        if "model" in extra:
            metadata |= {"model_slug": extra["model"], "default_model_slug": extra["model"]}
        if extra.get("hidden"):
            metadata["is_visually_hidden_from_conversation"] = True
        if "attachments" in extra:
            metadata["attachments"] = extra["attachments"]
        message = {
            "author": {"role": role, "name": extra.get("name"), "metadata": {}},
            "create_time": self.time,
            "update_time": None,
            "content": content,
            "status": "finished_successfully",
            "end_turn": extra.get("end_turn", True if role == "assistant" else None),
            "weight": 1.0,
            "metadata": metadata,
            "recipient": extra.get("recipient", "all"),
            "channel": None,
        }
        self.last = self._node(message, parent or self.last)
        return self.last

    def conversation(self, title: str | None, *, model: str | None = "gpt-4o", archived: bool = False) -> Json:
        """The conversation as `conversations.json` lists it; `current_node` is the last message added."""
        return {
            "id": self.id,
            "conversation_id": self.id,
            "title": title,
            "create_time": self.start,
            "update_time": self.time,
            "current_node": self.last,
            "default_model_slug": model,
            "is_archived": archived,
            "mapping": self.mapping,
            "moderation_results": [],
            "plugin_ids": None,
            "gizmo_id": None,
            "conversation_template_id": None,
            "safe_urls": [],
        }


def chatgpt_extras(archive: zipfile.ZipFile) -> None:
    """What a ChatGPT export holds besides `conversations.json` and the files (a token `chat.html`)."""
    page = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>ChatGPT Data Export</title></head>"
    zip_member(archive, "chat.html", page + "<body><div id='root'></div><script>var jsonData = [];</script></body>")
    user = {"id": USER_ID, "email": "ada@example.com", "chatgpt_plus_user": True, "phone_number": None}
    zip_member(archive, "user.json", json.dumps(user))
    zip_member(archive, "message_feedback.json", "[]")


# ---- Claude -------------------------------------------------------------------------------------------------------


def claude_message(key: str, sender: str, parent: str, at: float, content: list[Json], **extra: Any) -> Json:
    """One `chat_messages` entry (`extra`: `attachments`, `files`); `text` joins its text blocks, as Claude's
    export does."""
    for block in content:
        block.setdefault("start_timestamp", iso(at))
        block.setdefault("stop_timestamp", iso(at + 3))
        if block["type"] == "text":
            block.setdefault("citations", [])
    return {
        "uuid": key,
        "text": "\n\n".join(block["text"] for block in content if block["type"] == "text"),
        "content": content,
        "sender": sender,
        "created_at": iso(at),
        "updated_at": iso(at + 3),
        "attachments": extra.get("attachments", []),
        "files": extra.get("files", []),
        "parent_message_uuid": parent,
    }


def claude_conversation(key: str, name: str, start: float, messages: list[Json]) -> Json:
    """One entry of Claude's `conversations.json`."""
    return {
        "uuid": key,
        "name": name,
        "summary": "",
        "created_at": iso(start),
        "updated_at": messages[-1]["updated_at"],
        "account": {"uuid": CLAUDE_ACCOUNT},
        "chat_messages": messages,
    }


def claude_extras(archive: zipfile.ZipFile) -> None:
    """What a Claude export holds besides `conversations.json`: `users.json` and `projects.json`."""
    creator: Json = {"uuid": CLAUDE_ACCOUNT, "full_name": "Ada Example"}
    user = creator | {"email_address": "ada@example.com", "verified_phone_number": None}
    made = iso(epoch(2024, 5, 1))
    project: Json = {"uuid": "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a", "name": "Fixtures", "description": "", "docs": []}
    project |= {"created_at": made, "updated_at": made, "is_private": True, "is_starter_project": False}
    project |= {"prompt_template": "", "creator": creator}
    zip_member(archive, "users.json", json.dumps([user]))
    zip_member(archive, "projects.json", json.dumps([project]))


# ---- a large generated ChatGPT export -------------------------------------------------------------------------------

_SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["an", "en", "in", "on", "ar", "er", "st", "th"]
_FOREIGN = ["café", "naïve", "日本語", "東京", "مرحبا", "straße", "crème", "😀", "señor", "Zürich", "résumé", "你好"]
_MODELS = ("gpt-4o", "gpt-4o", "gpt-4o", "gpt-4o-mini", "o1", "gpt-4")
_START, _END = epoch(2023, 1, 1), epoch(2024, 12, 31)


@dataclass
class _Words:
    """A made-up vocabulary: short words most common (Zipf-Mandelbrot weights), some non-ASCII ones among them."""

    words: list[str]
    weights: list[float]
    names: list[str]

    @classmethod
    def made(cls, rng: random.Random) -> _Words:
        found: set[str] = set()
        while len(found) < 6_000:
            found.add("".join(rng.choices(_SYLLABLES, k=rng.choice((1, 2, 2, 3, 3, 4)))))
        words = sorted(found, key=lambda word: (len(word), rng.random()))
        words[60:60] = _FOREIGN
        names = [word for word in words[200:1200] if word.isascii() and not keyword.iskeyword(word)]
        return cls(words, list(accumulate(1 / (rank + 2.7) for rank in range(len(words)))), names)

    def prose(self, rng: random.Random, length: int) -> str:
        """Sentences of about `length` characters (never more)."""
        picked = rng.choices(self.words, cum_weights=self.weights, k=length // 4 + 2)
        sentences, start = [], 0
        while start < len(picked):
            end = start + rng.randint(5, 16)
            sentence = " ".join(picked[start:end])
            sentences.append(sentence[:1].upper() + sentence[1:] + rng.choice("......?!"))
            start = end
        text = " ".join(sentences)
        return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0].rstrip(".?!") + "."

    def code(self, rng: random.Random) -> str:
        """A fenced Python block with indentation and a blank line."""
        name, items, limit = rng.sample(self.names, 3)
        lines = [
            f"def {name}({items}: list[str], {limit}: int = {rng.randint(2, 40)}) -> list[str]:",
            "    kept = []",
            f"    for item in {items}:",
            f"        if len(item) > {limit}:",
            "            kept.append(item.upper())",
            "",
            f"    return kept[: {rng.randint(2, 99)}]",
        ]
        return "```python\n" + "\n".join(lines) + "\n```"

    def answer(self, rng: random.Random) -> str:
        """Paragraphs (one in eight a code block) of 200 to 3,000 characters in all."""
        target = rng.randint(240, 3_000)
        parts: list[str] = []
        size = 0
        while target - size >= 40 or not parts:
            block = self.code(rng) if parts and rng.random() < 0.125 else ""
            part = block if block and len(block) <= target - size else self.prose(rng, rng.randint(120, 700))
            part = part if len(part) <= target - size else self.prose(rng, target - size)
            parts.append(part)
            size += len(part) + 2
        return "\n\n".join(parts)


def _file_id(rng: random.Random) -> str:
    return "file-" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789", k=22))


def _conversation(rng: random.Random, words: _Words, messages: int, images: int, files: dict[str, bytes]) -> Json:
    """One generated conversation: `messages` visible messages on its current branch, its first question carrying
    `images` pictures (their bytes put in `files` under the names the export gives them)."""
    tree = ConversationTree(str(uuid.UUID(int=rng.getrandbits(128), version=4)), rng.uniform(_START, _END))
    tree.add("system", text_content(""), hidden=True, end_turn=None)
    model = rng.choice(_MODELS)
    edited = rng.randrange(0, messages, 2) if messages and rng.random() < 0.1 else -1
    for index in range(messages):
        if index % 2:
            model = rng.choice(_MODELS) if rng.random() < 0.05 else model
            tree.add("assistant", text_content(words.answer(rng)), gap=rng.uniform(3, 60), model=model)
            continue
        branch = tree.last
        if index == edited:  # the first version of this question and its answer, left on a branch
            tree.add("user", text_content(words.prose(rng, rng.randint(30, 400))), gap=rng.uniform(20, 900))
            tree.add("assistant", text_content(words.answer(rng)), gap=rng.uniform(3, 60), model=model)
        question = words.prose(rng, rng.randint(30, 400))
        pictures = [_picture(rng, files) for _ in range(images if index == 0 else 0)]
        content = {"content_type": "multimodal_text", "parts": [*pictures, question]} if pictures else None
        tree.add("user", content or text_content(question), parent=branch, gap=rng.uniform(20, 900))
    title = None if rng.random() < 0.01 else words.prose(rng, rng.randint(12, 48)).rstrip(".?!")
    return tree.conversation(title, model=model, archived=rng.random() < 0.02)


def _picture(rng: random.Random, files: dict[str, bytes]) -> Json:
    """A small real PNG stored in `files` as `file-<ID>-IMG_<n>.png`; its pointer."""
    width, height = rng.randint(16, 256), rng.randint(16, 256)
    data = media.png(width, height, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    file_id = _file_id(rng)
    files[f"{file_id}-IMG_{len(files):05d}.png"] = data
    return image_pointer(f"file-service://{file_id}", len(data), width, height)


def _stream_list(out: IO[bytes], items: Iterator[Json]) -> None:
    out.write(b"[")
    for index, item in enumerate(items):
        out.write((", " if index else "").encode() + json.dumps(item, ensure_ascii=False).encode())
    out.write(b"]")


def write_chatgpt_export(
    path: Path, conversations: int, messages_per_conversation: int, *, images: int = 0, seed: int = 0
) -> int:
    """Write a generated ChatGPT export to `path` (a `.json` suffix: `conversations.json` alone; otherwise the
    export zip); returns its size in bytes.

    Each conversation has exactly `messages_per_conversation` visible messages on its current branch (questions
    of 20–400 characters and answers of 200–3,000 alternating), after a hidden system message; about one in ten
    also keeps an older version of one question and its answer on a branch. `images` pictures are spread over the
    first questions; their files are in the zip (a `.json` export points at files it does not hold). Written
    conversation by conversation, so memory holds one conversation, not the export.
    """
    rng = random.Random(seed)
    words = _Words.made(rng)
    files: dict[str, bytes] = {}
    spread = [images * (n + 1) // conversations - images * n // conversations for n in range(conversations)]
    generated = (_conversation(rng, words, messages_per_conversation, spread[n], files) for n in range(conversations))
    if path.suffix == ".json":
        with path.open("wb") as out:
            _stream_list(out, generated)
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            with archive.open("conversations.json", "w", force_zip64=True) as out:
                _stream_list(out, generated)
            chatgpt_extras(archive)
            for name, data in files.items():
                zip_member(archive, name, data)
    return path.stat().st_size

"""The pure parts of import, in process: reading a JSON array as a stream whatever the size of each read (values,
numbers and characters cut between reads), telling a cut-off file from a broken one, and how a ChatGPT or Claude
conversation is reduced to what the user saw when the export is unusual (no current node, a missing parent,
citation marks, a voice message, an older Claude export without branches, two answers in a row)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from backend import import_chatgpt, import_claude
from backend.import_reading import json_array

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Trickle(io.RawIOBase):
    """A stream that hands out at most `step` bytes per read, as a slow disk or a zip member might."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.at = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.data[self.at : self.at + self.step]
        self.at += len(chunk)
        return chunk


VALUES: list[Any] = [{"title": "Café ☕ 京都", "n": 12345}, 67890, 'text with "quotes" and \\', [1, [2, [3]]], None]


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 10_000])
def test_a_json_array_is_read_value_by_value_whatever_the_size_of_each_read(step: int) -> None:
    data = b"\xef\xbb\xbf [\n " + b" ,\n".join(json.dumps(v, ensure_ascii=False).encode() for v in VALUES) + b"\n]\n"
    assert list(json_array(Trickle(data, step))) == VALUES


def test_a_number_cut_between_two_reads_is_read_whole() -> None:
    assert list(json_array(Trickle(b"[1, 234567]", 6))) == [1, 234567]


@pytest.mark.parametrize("cut", [b'[{"a": 1}, {"b": "unfinish', b'[{"a": 1}, ', b'[{"a": 1}', b"["])
def test_an_array_cut_short_is_told_as_incomplete(cut: bytes) -> None:
    with pytest.raises(EOFError):
        list(json_array(Trickle(cut, 4)))


@pytest.mark.parametrize("broken", [b'[{"a": 1} {"b": 2}]', b'[{"a": nope}, {"b": 2}]', b'{"a": 1}', b"[" * 100_000])
def test_an_array_broken_in_the_middle_is_not_taken_for_a_cut_one(broken: bytes) -> None:
    with pytest.raises(ValueError):
        list(json_array(io.BytesIO(broken)))


def test_bytes_that_are_not_utf8_are_refused_even_when_cut_between_reads() -> None:
    with pytest.raises(UnicodeDecodeError):
        list(json_array(Trickle('["caf\u00e9", "'.encode() + b"\xff\xfe" + b'"]', 3)))


# ---- ChatGPT, unusual conversations ------------------------------------------------------------------------------


def node(key: str, parent: str | None, role: str | None = None, text: str = "", at: float = 0, **extra: Any) -> Any:
    message = None
    if role:
        content = extra.pop("content", {"content_type": "text", "parts": [text]})
        message = {"id": key, "author": {"role": role}, "create_time": 1_700_000_000 + at, "content": content, **extra}
    return key, {"id": key, "message": message, "parent": parent, "children": []}


def chatgpt(*nodes: Any, current: str | None = None) -> dict[str, Any]:
    mapping = dict(nodes)
    for key, value in mapping.items():
        if value["parent"] in mapping:
            mapping[value["parent"]]["children"].append(key)
    return {"id": "c-1", "title": "T", "create_time": 1_700_000_000, "current_node": current, "mapping": mapping}


def said(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in import_chatgpt.read(data, {}, True, NOW).messages]


def test_without_a_current_node_the_branch_ending_with_the_newest_message_is_read() -> None:
    data = chatgpt(
        node("root", None),
        node("q", "root", "user", "question", 1),
        node("old", "q", "assistant", "first answer", 2),
        node("new", "q", "assistant", "regenerated answer", 3),
    )
    assert said(data) == [("user", "question"), ("assistant", "regenerated answer")]


def test_a_branch_whose_parent_is_missing_starts_where_the_export_still_has_it() -> None:
    data = chatgpt(node("q", "gone", "user", "question", 1), node("a", "q", "assistant", "answer", 2), current="a")
    assert said(data) == [("user", "question"), ("assistant", "answer")]


def test_citation_marks_go_and_a_voice_message_keeps_its_transcription() -> None:
    voice = {"content_type": "multimodal_text", "parts": [{"content_type": "audio_transcription", "text": "hello"}]}
    data = chatgpt(
        node("q", None, "user", at=1, content=voice),
        node("a", "q", "assistant", "Paris is the capital.\ue200cite\ue202turn0search0\ue201", 2),
        current="a",
    )
    assert said(data) == [("user", "hello"), ("assistant", "Paris is the capital.")]


def test_a_tools_instruction_is_not_what_the_assistant_said() -> None:
    data = chatgpt(
        node("q", None, "user", "draw a cat", 1),
        node("p", "q", "assistant", '{"prompt": "a cat"}', 2, recipient="dalle.text2im"),
        node("a", "p", "assistant", "Here is your cat.", 3, recipient="all"),
        current="a",
    )
    assert said(data) == [("user", "draw a cat"), ("assistant", "Here is your cat.")]


# ---- Claude, unusual conversations -------------------------------------------------------------------------------


def claude(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    data = {"uuid": "k-1", "name": "N", "created_at": "2024-06-01T12:00:00Z", "chat_messages": messages}
    return [(m.role, m.text) for m in import_claude.read(data, NOW).messages]


def test_an_older_claude_export_without_branches_is_read_in_its_order_and_answers_in_a_row_are_one() -> None:
    messages = [
        {"uuid": "1", "sender": "human", "text": "hi", "created_at": "2024-06-01T12:00:00Z"},
        {"uuid": "2", "sender": "assistant", "text": "Hello!", "created_at": "2024-06-01T12:00:01Z"},
        {"uuid": "3", "sender": "assistant", "text": "How can I help?", "created_at": "2024-06-01T12:00:02Z"},
    ]
    assert claude(messages) == [("user", "hi"), ("assistant", "Hello!\n\nHow can I help?")]

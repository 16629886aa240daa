"""The export fixtures themselves are right (tests/export_fixtures.py, tests/export_formats.py): trees that hold
together, the stated counts on the kept branches, real files behind every picture but the missing one, the
members a real export zip has, and a generated export of exactly the size asked for."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from PIL import Image
from pypdf import PdfReader

from tests import export_fixtures as fx

COUNTED = ("text", "multimodal_text")


def current_branch(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages from the root to `current_node`, oldest first."""
    mapping, node, messages = conversation["mapping"], conversation["current_node"], []
    while node is not None:
        if mapping[node]["message"] is not None:
            messages.append(mapping[node]["message"])
        node = mapping[node]["parent"]
    return messages[::-1]


def kept(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages the module docstring says an importer keeps."""
    return [
        message
        for message in current_branch(conversation)
        if message["author"]["role"] in ("user", "assistant")
        and message["content"]["content_type"] in COUNTED
        and not message["metadata"].get("is_visually_hidden_from_conversation")
    ]


def member_for(pointer: str, names: list[str]) -> str | None:
    """The zip member an `asset_pointer` names, as ChatGPT's export names files."""
    file_id = pointer.split("://", 1)[1]
    return next((name for name in names if name.rsplit("/", 1)[-1].startswith(f"{file_id}-")), None)


def test_every_chatgpt_sample_is_one_tree_whose_links_agree_both_ways() -> None:
    for conversation in fx.chatgpt_sample():
        mapping = conversation["mapping"]
        roots = [node for node in mapping.values() if node["parent"] is None]
        assert len(roots) == 1 and roots[0]["message"] is None
        for node_id, node in mapping.items():
            assert all(mapping[child]["parent"] == node_id for child in node["children"])
            assert node["message"] is None or node["message"]["id"] == node_id
        times = [message["create_time"] for message in current_branch(conversation)]
        assert times == sorted(times)


def test_the_stated_counts_are_the_visible_questions_and_text_answers_on_each_current_branch() -> None:
    sample = {conversation["id"]: conversation for conversation in fx.chatgpt_sample()}
    assert {key: len(kept(conversation)) for key, conversation in sample.items()} == fx.SAMPLE_MESSAGE_COUNTS
    edited = [message["content"]["parts"][0] for message in kept(sample[fx.EDITED_ID])]
    assert edited[:2] == [fx.EDITED_NEW_QUESTION, fx.EDITED_NEW_ANSWER]
    texts = json.dumps(sample[fx.EDITED_ID], ensure_ascii=False)
    assert fx.EDITED_OLD_QUESTION in texts and fx.EDITED_OLD_ANSWER in texts
    models = [message["metadata"].get("model_slug") for message in kept(sample[fx.EDITED_ID])]
    assert models == [None, "gpt-4o", None, "o1"]
    assert sample[fx.UNTITLED_ID]["title"] is None and sample[fx.ARCHIVED_ID]["is_archived"] is True


def test_every_picture_but_the_missing_one_is_a_real_file_in_the_zip_and_the_pdf_has_its_text() -> None:
    archive = zipfile.ZipFile(io.BytesIO(fx.chatgpt_zip(fx.chatgpt_sample(), fx.chatgpt_files())))
    names = archive.namelist()
    pictures = [
        part
        for conversation in fx.chatgpt_sample()
        for message in current_branch(conversation)
        if message["content"]["content_type"] == "multimodal_text"
        for part in message["content"]["parts"]
        if isinstance(part, dict)
    ]
    missing = [picture for picture in pictures if member_for(picture["asset_pointer"], names) is None]
    assert [picture["asset_pointer"] for picture in missing] == [f"file-service://{fx.MISSING_FILE_ID}"]
    for picture in pictures:
        if picture not in missing:
            data = archive.read(str(member_for(picture["asset_pointer"], names)))
            assert len(data) == picture["size_bytes"]
            assert Image.open(io.BytesIO(data)).size == (picture["width"], picture["height"])
    assert PdfReader(io.BytesIO(archive.read(fx.PDF_MEMBER))).pages[0].extract_text() == fx.PDF_TEXT
    expected = {"conversations.json", "chat.html", "user.json", "message_feedback.json", *fx.chatgpt_files()}
    assert set(names) == expected
    assert json.loads(archive.read("conversations.json")) == fx.chatgpt_sample()


def test_the_claude_sample_keeps_its_newest_branch_and_its_zip_holds_no_file_bytes() -> None:
    sample = fx.claude_sample()
    for conversation in sample:
        messages = {message["uuid"]: message for message in conversation["chat_messages"]}
        node: str | None = max(messages.values(), key=lambda message: message["created_at"])["uuid"]
        branch = []
        while node in messages:
            branch.append(messages[node])
            node = messages[node]["parent_message_uuid"]
        assert node == fx.CLAUDE_ROOT
        assert len(branch) == fx.CLAUDE_MESSAGE_COUNTS[conversation["uuid"]]
        if conversation["uuid"] == fx.CLAUDE_EDITED_ID:
            assert branch[-1]["text"] == fx.CLAUDE_NEW_QUESTION
    archive = zipfile.ZipFile(io.BytesIO(fx.claude_zip(sample)))
    assert archive.namelist() == ["conversations.json", "users.json", "projects.json"]
    assert json.loads(archive.read("conversations.json")) == sample


def test_a_generated_export_has_exactly_the_messages_asked_for_in_a_zip_or_as_json(tmp_path: Path) -> None:
    size = fx.write_chatgpt_export(tmp_path / "export.zip", 12, 9, images=5, seed=3)
    assert size == (tmp_path / "export.zip").stat().st_size
    archive = zipfile.ZipFile(tmp_path / "export.zip")
    conversations = json.loads(archive.read("conversations.json"))
    assert [len(kept(conversation)) for conversation in conversations] == [9] * 12
    assert len(archive.namelist()) == 4 + 5
    pointers = [part["asset_pointer"] for c in conversations for m in kept(c) for part in m["content"]["parts"][:-1]]
    assert all(member_for(pointer, archive.namelist()) for pointer in pointers) and len(pointers) == 5
    lengths = [(m["author"]["role"], len(m["content"]["parts"][-1])) for c in conversations for m in kept(c)]
    assert all(20 <= n <= 400 if role == "user" else 200 <= n <= 3_000 for role, n in lengths)
    fx.write_chatgpt_export(tmp_path / "conversations.json", 12, 9, images=5, seed=3)
    assert json.loads((tmp_path / "conversations.json").read_text("utf-8")) == conversations

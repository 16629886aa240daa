"""Importing ChatGPT and Claude data exports end to end, over HTTP against the real server and the fake provider:
what lands in the list (titles, dates, the visible branch only, nothing hidden), code and unicode intact, the
model of each answer, pictures and documents kept as attachments, what was left out said in the summary, an
import done twice adding nothing, and an imported conversation going on with its whole memory."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests import export_fixtures as fx
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, read_thread_file, start_app
from tests.import_helpers import import_file, texts, threads_by_title

SAMPLE_MESSAGES = sum(fx.SAMPLE_MESSAGE_COUNTS.values())
# The Markdown export of imported conversations, as it must stay (written once from a reviewed run).
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def chatgpt(app: RunningApp) -> dict[str, Any]:
    """The ChatGPT sample export imported once into the module's app; its summary."""
    return import_file(app, fx.chatgpt_zip(fx.chatgpt_sample(), fx.chatgpt_files()), "chatgpt-export.zip")


@pytest.fixture(scope="module")
def listed(app: RunningApp, chatgpt: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The app's list after the import, by title."""
    return threads_by_title(app)


@pytest.fixture
def fresh(tmp_path: Path, fake: FakeProvider) -> Iterator[RunningApp]:
    """An app on an empty data folder of its own."""
    running = start_app(
        tmp_path, CHATKIT_DESKTOP_MODEL="openai/fake-local-1", CHATKIT_DESKTOP_API_BASE=fake.openai_base
    )
    yield running
    running.stop()


def sample(conversation_id: str) -> dict[str, Any]:
    return next(c for c in fx.chatgpt_sample() if c["id"] == conversation_id)


# ---- ChatGPT -------------------------------------------------------------------------------------------------


def test_a_chatgpt_export_adds_every_conversation_and_says_how_many_in_one_sentence(chatgpt: dict[str, Any]) -> None:
    assert chatgpt["added"] == {"conversations": 8, "messages": SAMPLE_MESSAGES}
    assert chatgpt["present"]["conversations"] == 0
    assert chatgpt["failed"]["count"] == 0
    assert chatgpt["sentence"] == f"Added 8 conversations ({SAMPLE_MESSAGES} messages) from a ChatGPT export."


def test_imported_conversations_keep_their_titles_and_their_original_dates(
    listed: dict[str, dict[str, Any]],
) -> None:
    for conversation_id, title in [
        (fx.EDITED_ID, fx.EDITED_TITLE),
        (fx.UNICODE_ID, fx.UNICODE_TITLE),
        (fx.ARCHIVED_ID, fx.ARCHIVED_TITLE),
    ]:
        thread = listed[title]
        created = datetime.fromisoformat(thread["created_at"])
        assert created == datetime.fromtimestamp(sample(conversation_id)["create_time"])


def test_a_conversation_without_a_title_is_named_after_its_first_words(listed: dict[str, dict[str, Any]]) -> None:
    assert "Is a tomato a fruit or…" in listed


def test_only_the_branch_the_user_last_saw_is_imported_from_an_edited_conversation(
    app: RunningApp, listed: dict[str, dict[str, Any]]
) -> None:
    shown = texts(app, listed[fx.EDITED_TITLE]["id"])
    assert shown == [
        ("user_message", fx.EDITED_NEW_QUESTION),
        ("assistant_message", fx.EDITED_NEW_ANSWER),
        ("user_message", fx.EDITED_FOLLOW_UP),
        ("assistant_message", fx.EDITED_O1_ANSWER),
    ]


def test_hidden_messages_and_private_reasoning_are_nowhere_in_the_imported_files(
    app: RunningApp, listed: dict[str, dict[str, Any]]
) -> None:
    for title in (fx.HIDDEN_TITLE, fx.EDITED_TITLE):
        raw = (app.data_dir / "threads" / f"{listed[title]['id']}.json").read_text(encoding="utf-8")
        for secret in (fx.HIDDEN_SYSTEM_TEXT, fx.CUSTOM_INSTRUCTIONS_TEXT, fx.CUSTOM_PROFILE_TEXT, fx.THOUGHTS_TEXT):
            assert secret not in raw
    assert texts(app, listed[fx.HIDDEN_TITLE]["id"]) == [
        ("user_message", fx.HIDDEN_QUESTION),
        ("assistant_message", fx.HIDDEN_ANSWER),
    ]


def test_code_blocks_and_unicode_arrive_character_for_character(
    app: RunningApp, listed: dict[str, dict[str, Any]]
) -> None:
    assert texts(app, listed[fx.CODE_TITLE]["id"])[1] == ("assistant_message", fx.CODE_ANSWER)
    assert texts(app, listed[fx.UNICODE_TITLE]["id"]) == [
        ("user_message", fx.UNICODE_QUESTION),
        ("assistant_message", fx.UNICODE_ANSWER),
    ]


def test_code_the_assistant_ran_is_kept_as_a_code_block_in_its_answer(
    app: RunningApp, listed: dict[str, dict[str, Any]]
) -> None:
    (_, question), (_, answer) = texts(app, listed[fx.TOOL_TITLE]["id"])
    assert question == fx.TOOL_QUESTION
    assert answer == f"```\n{fx.TOOL_CODE}\n```\n\n{fx.TOOL_ANSWER}"


def test_the_model_of_each_answer_is_kept_and_shown_in_the_markdown_export(
    app: RunningApp, listed: dict[str, dict[str, Any]]
) -> None:
    thread_id = listed[fx.EDITED_TITLE]["id"]
    stored = read_thread_file(app.data_dir, thread_id)
    asked = [i["inference_options"]["model"] for i in stored["items"] if i["type"] == "user_message"]
    assert asked == ["openai/gpt-4o", "openai/o1"]
    with app.client() as client:
        markdown = client.get(f"/api/threads/{thread_id}/markdown").json()["markdown"]
    assert "## Assistant (gpt-4o)" in markdown and "## Assistant (o1)" in markdown


@pytest.mark.parametrize(
    ("title", "golden"),
    [
        (fx.EDITED_TITLE, "chatgpt-edited.md"),
        (fx.TOOL_TITLE, "chatgpt-tool.md"),
        (fx.UNICODE_TITLE, "chatgpt-unicode.md"),
    ],
)
def test_an_imported_conversation_exports_as_the_same_markdown_every_time(
    app: RunningApp, listed: dict[str, dict[str, Any]], title: str, golden: str
) -> None:
    with app.client() as client:
        markdown = client.get(f"/api/threads/{listed[title]['id']}/markdown").json()["markdown"]
    assert markdown == (GOLDEN / golden).read_text(encoding="utf-8")


def test_pictures_and_documents_in_the_export_become_attachments_with_their_bytes(
    app: RunningApp, listed: dict[str, dict[str, Any]]
) -> None:
    users = [i for i in app.items(listed[fx.FILES_TITLE]["id"]) if i["type"] == "user_message"]
    attached = [[(a["name"], a["type"]) for a in item["attachments"]] for item in users]
    sediment_name = fx.SEDIMENT_MEMBER.rsplit("/", 1)[1].split("-", 1)[1]
    assert attached == [[(fx.IMAGE_NAME, "image"), (fx.PDF_NAME, "file")], [(sediment_name, "image")], []]
    files = fx.chatgpt_files()
    with app.client() as client:
        for attachment, member in zip(
            [*users[0]["attachments"], *users[1]["attachments"]],
            [fx.IMAGE_MEMBER, fx.PDF_MEMBER, fx.SEDIMENT_MEMBER],
            strict=True,
        ):
            assert client.get(f"/api/attachments/{attachment['id']}/file").content == files[member]


def test_the_summary_says_how_many_files_the_export_did_not_hold(chatgpt: dict[str, Any]) -> None:
    assert chatgpt["attachments"] == {"added": 3, "left_out": 1}
    assert "1 image or file was not in the export and was left out." in chatgpt["notes"]


def test_importing_the_same_export_again_adds_nothing_and_changes_no_file(
    app: RunningApp, chatgpt: dict[str, Any]
) -> None:
    before = {path.name: path.read_bytes() for path in (app.data_dir / "threads").glob("*.json")}
    again = import_file(app, fx.chatgpt_zip(fx.chatgpt_sample(), fx.chatgpt_files()), "chatgpt-export.zip")
    assert again["added"] == {"conversations": 0, "messages": 0}
    assert again["present"] == {"conversations": 8, "messages": SAMPLE_MESSAGES}
    assert again["sentence"] == "Nothing new: 8 conversations of this ChatGPT export were here already."
    assert {path.name: path.read_bytes() for path in (app.data_dir / "threads").glob("*.json")} == before


def test_an_imported_conversation_goes_on_with_its_whole_visible_history(
    app: RunningApp, fake: FakeProvider, listed: dict[str, dict[str, Any]]
) -> None:
    fake.clear()
    app.send("And for a tuple?", listed[fx.EDITED_TITLE]["id"])
    sent = [(m["role"], m["content"]) for m in fake.last_stream().messages if m["role"] != "system"]
    assert sent == [
        ("user", fx.EDITED_NEW_QUESTION),
        ("assistant", fx.EDITED_NEW_ANSWER),
        ("user", fx.EDITED_FOLLOW_UP),
        ("assistant", fx.EDITED_O1_ANSWER),
        ("user", "And for a tuple?"),
    ]


def test_an_imported_picture_is_sent_to_the_model_when_the_conversation_goes_on(
    app: RunningApp, fake: FakeProvider, listed: dict[str, dict[str, Any]]
) -> None:
    fake.clear()
    app.send("Describe the first photo again.", listed[fx.FILES_TITLE]["id"])
    images = [part for part in fake.last_stream().media("user") if part["kind"] == "image"]
    assert [part["data"] for part in images][:1] == [fx.chatgpt_files()[fx.IMAGE_MEMBER]]


def test_imported_conversations_are_found_by_search(app: RunningApp, listed: dict[str, dict[str, Any]]) -> None:
    app.wait_indexed()
    with app.client() as client:
        found = client.get("/api/search", params={"q": "crampons"}).json()["results"]
    assert [hit["thread_id"] for hit in found] == [listed[fx.ARCHIVED_TITLE]["id"]]


def test_conversations_json_alone_imports_the_text_and_says_the_files_need_the_zip(fresh: RunningApp) -> None:
    archive = zipfile.ZipFile(io.BytesIO(fx.chatgpt_zip(fx.chatgpt_sample())))
    summary = import_file(fresh, archive.read("conversations.json"), "conversations.json")
    assert summary["added"] == {"conversations": 8, "messages": SAMPLE_MESSAGES}
    assert summary["notes"] == [
        "4 images or files were left out: import the export's .zip (not conversations.json alone) to keep them."
    ]


# ---- Claude --------------------------------------------------------------------------------------------------


def test_a_claude_export_keeps_the_newest_branch_without_thinking_or_tool_calls(fresh: RunningApp) -> None:
    summary = import_file(fresh, fx.claude_zip(fx.claude_sample()), "data-2024-10-01.zip")
    counts = fx.CLAUDE_MESSAGE_COUNTS
    assert summary["added"] == {"conversations": 3, "messages": sum(counts.values())}
    assert summary["sentence"].endswith("from a Claude export.")
    listed = threads_by_title(fresh)
    assert texts(fresh, listed[fx.CLAUDE_EDITED_TITLE]["id"]) == [
        ("user_message", fx.CLAUDE_NEW_QUESTION),
        ("assistant_message", fx.CLAUDE_CODE_ANSWER),
        ("user_message", fx.CLAUDE_FOLLOW_UP),
        ("assistant_message", fx.CLAUDE_FOLLOW_UP_ANSWER),
    ]
    raw = (fresh.data_dir / "threads" / f"{listed[fx.CLAUDE_EDITED_TITLE]['id']}.json").read_text(encoding="utf-8")
    assert fx.CLAUDE_THINKING not in raw and fx.CLAUDE_OLD_QUESTION not in raw
    untitled = listed["Who wrote Middlemarch?"]["id"]
    assert texts(fresh, untitled)[1] == ("assistant_message", fx.CLAUDE_SEARCH_ANSWER)


def test_text_claude_read_from_an_attached_document_becomes_a_text_attachment(
    fresh: RunningApp, fake: FakeProvider
) -> None:
    summary = import_file(fresh, fx.claude_zip(fx.claude_sample()), "data-2024-10-01.zip")
    assert summary["notes"] == ["1 file was left out: Claude's export does not include it."]
    thread_id = threads_by_title(fresh)[fx.CLAUDE_FILES_TITLE]["id"]
    (attachment,) = fresh.items(thread_id)[0]["attachments"]
    assert attachment["name"] == fx.CLAUDE_ATTACHMENT_NAME
    with fresh.client() as client:
        assert client.get(f"/api/attachments/{attachment['id']}/file").text == fx.CLAUDE_ATTACHMENT_TEXT
    fake.clear()
    fresh.send("Now as one sentence.", thread_id)
    assert fx.CLAUDE_ATTACHMENT_TEXT in fake.last_stream().messages[-3]["content"]

"""Bringing back what this app exported, and the `import` command: a backup zip imported into an empty data folder
gives back the very thread files, attachments and settings; one conversation's `.json` comes back as it was; a
backup or conversation from a newer app version is refused with a sentence; a damaged member is named; and
`chatkit-desktop import PATH` imports through the running app, or by itself when no app runs on the folder."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import export_fixtures as fx
from tests import media
from tests.attachment_helpers import send, upload
from tests.fake_provider import FakeProvider
from tests.harness import RunningApp, answer_text, start_app, thread_id_of
from tests.import_helpers import import_file, refusal, run_import_command, threads_by_title

PICTURE = media.png(32, 24, media.BLUE)
# The fake provider names a conversation "Fake title" and its first words.
PICTURE_TITLE = "Fake title What is in"
PLAIN_TITLE = "Fake title A conversation of"


def launch(folder: Path, fake: FakeProvider) -> RunningApp:
    return start_app(folder, CHATKIT_DESKTOP_MODEL="openai/fake-local-1", CHATKIT_DESKTOP_API_BASE=fake.openai_base)


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory, fake: FakeProvider) -> Iterator[RunningApp]:
    """An app with two conversations (one with a picture), a changed setting, and its backup made."""
    running = launch(tmp_path_factory.mktemp("original"), fake)
    picture = upload(running, "lake.png", PICTURE, "image/png")
    thread_id = thread_id_of(send(running, "What is in this picture? ✓", [picture["id"]]))
    running.send("And a second question, with naïve unicode.", thread_id)
    running.send("A conversation of its own.")
    running.settings(system_prompt="Answer like a ship's captain.")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def backup(original: RunningApp) -> bytes:
    """The original app's backup zip, made by its "Export everything"."""
    with original.client() as client:
        assert client.post("/api/backup").status_code == 200
        while client.get("/api/backup").json()["state"] == "running":
            pass
        return client.get("/api/backup/file").content


@pytest.fixture
def fresh(tmp_path: Path, fake: FakeProvider) -> Iterator[RunningApp]:
    """An app on an empty data folder: a new computer."""
    running = launch(tmp_path / "data", fake)
    yield running
    running.stop()


def thread_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (folder / "threads").glob("*.json")}


def attachment_files(folder: Path) -> dict[str, bytes]:
    root = folder / "attachments"
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_a_backup_imported_on_a_new_computer_gives_back_the_very_same_files_and_settings(
    original: RunningApp, backup: bytes, fresh: RunningApp
) -> None:
    summary = import_file(fresh, backup, "chatkit-desktop-backup-2026-11-30.zip")
    assert summary["sentence"] == "Added 2 conversations (6 messages) from a ChatKit Desktop backup."
    assert summary["notes"] == ["The backup's settings were restored."]
    assert thread_files(fresh.data_dir) == thread_files(original.data_dir)
    assert attachment_files(fresh.data_dir) == attachment_files(original.data_dir)
    with fresh.client() as client:
        assert client.get("/api/settings").json()["settings"]["system_prompt"] == "Answer like a ship's captain."


def test_a_restored_conversation_goes_on_with_its_picture_and_its_memory(
    backup: bytes, fresh: RunningApp, fake: FakeProvider
) -> None:
    import_file(fresh, backup, "backup.zip")
    thread_id = threads_by_title(fresh)[PICTURE_TITLE]["id"]
    fake.clear()
    events = fresh.send("Thanks!", thread_id)
    assert "Thanks!" in answer_text(events)
    sent = fake.last_stream()
    assert [m["content"] for m in sent.messages if m["role"] == "user"][:2] == [
        "What is in this picture? ✓",
        "And a second question, with naïve unicode.",
    ]
    assert [part["data"] for part in sent.media("user")] == [PICTURE]


def test_a_backup_imported_where_its_conversations_are_adds_nothing_and_keeps_the_settings(
    original: RunningApp, backup: bytes
) -> None:
    before = thread_files(original.data_dir)
    summary = import_file(original, backup, "backup.zip")
    assert summary["sentence"] == "Nothing new: 2 conversations of this ChatKit Desktop backup were here already."
    assert summary["notes"] == ["Your current settings were kept; the backup's were not applied."]
    assert thread_files(original.data_dir) == before


def test_one_conversations_json_export_comes_back_as_it_was(original: RunningApp, fresh: RunningApp) -> None:
    thread_id = threads_by_title(original)[PLAIN_TITLE]["id"]
    with original.client() as client:
        exported = client.get(f"/api/threads/{thread_id}/export", params={"format": "json"}).content
    summary = import_file(fresh, exported, "A conversation of its own.json")
    assert summary["sentence"] == "Added 1 conversation (2 messages) from a ChatKit Desktop conversation."
    assert thread_files(fresh.data_dir) == {f"{thread_id}.json": exported}


def test_a_conversations_json_without_its_picture_says_the_picture_was_left_out(
    original: RunningApp, fresh: RunningApp
) -> None:
    thread_id = threads_by_title(original)[PICTURE_TITLE]["id"]
    with original.client() as client:
        exported = client.get(f"/api/threads/{thread_id}/export", params={"format": "json"}).content
    summary = import_file(fresh, exported, "picture.json")
    assert summary["notes"] == [
        "1 attachment was left out: a conversation's .json does not hold it (a backup .zip does)."
    ]


def test_a_backup_from_a_newer_app_version_is_refused_with_a_sentence(backup: bytes, fresh: RunningApp) -> None:
    source = zipfile.ZipFile(io.BytesIO(backup))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as newer:
        for name in source.namelist():
            data = source.read(name)
            if name == "manifest.json":
                data = json.dumps({**json.loads(data), "schema_version": 2}).encode()
            newer.writestr(name, data)
    status, said = refusal(fresh, out.getvalue(), "backup.zip")
    assert (status, said) == (
        400,
        "backup.zip was made by a newer version of ChatKit Desktop (backup format 2); update the app to restore it.",
    )
    assert thread_files(fresh.data_dir) == {}


def test_a_conversation_from_a_newer_app_version_is_refused_with_a_sentence(
    original: RunningApp, fresh: RunningApp
) -> None:
    thread_id = threads_by_title(original)[PLAIN_TITLE]["id"]
    with original.client() as client:
        data: dict[str, Any] = client.get(f"/api/threads/{thread_id}/export", params={"format": "json"}).json()
    status, said = refusal(fresh, json.dumps({**data, "schema_version": 2}).encode(), "future.json")
    assert (status, said) == (
        400,
        "future.json was saved by a newer version of ChatKit Desktop (format 2); update the app to import it.",
    )


def test_a_conversation_damaged_inside_a_backup_is_named_and_the_others_are_restored(
    backup: bytes, fresh: RunningApp
) -> None:
    source = zipfile.ZipFile(io.BytesIO(backup))
    damaged_name = sorted(n for n in source.namelist() if n.startswith("threads/"))[0]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as damaged:
        for name in source.namelist():
            data = source.read(name)
            damaged.writestr(name, data.replace(b"Fake title", b"Fake titel") if name == damaged_name else data)
    summary = import_file(fresh, out.getvalue(), "backup.zip")
    assert summary["added"]["conversations"] == 1
    assert summary["failed"]["count"] == 1
    assert summary["failed"]["examples"][0]["reason"] == "it is damaged in the backup"


# ---- the command -----------------------------------------------------------------------------------------------


def test_the_import_command_without_an_app_imports_by_itself_and_an_app_started_later_lists_it(
    tmp_path: Path, fake: FakeProvider
) -> None:
    export = tmp_path / "chatgpt-export.zip"
    export.write_bytes(fx.chatgpt_zip(fx.chatgpt_sample(), fx.chatgpt_files()))
    folder = tmp_path / "data"
    done = run_import_command(folder, export)
    assert done.returncode == 0, done.stderr
    messages = sum(fx.SAMPLE_MESSAGE_COUNTS.values())
    assert done.stdout.splitlines()[0] == f"Added 8 conversations ({messages} messages) from a ChatGPT export."
    assert "Importing: 8 of 8 conversations" in done.stderr
    later = launch(folder, fake)
    try:
        assert fx.EDITED_TITLE in threads_by_title(later)
    finally:
        later.stop()
    assert export.exists()


def test_the_import_command_goes_through_the_running_app_which_lists_the_conversations_at_once(
    fresh: RunningApp, tmp_path: Path
) -> None:
    export = tmp_path / "claude.zip"
    export.write_bytes(fx.claude_zip(fx.claude_sample()))
    done = run_import_command(fresh.data_dir, export)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("from a Claude export.")
    assert fx.CLAUDE_EDITED_TITLE in threads_by_title(fresh)
    again = run_import_command(fresh.data_dir, export)
    assert again.stdout.splitlines()[0] == "Nothing new: 3 conversations of this Claude export were here already."


def test_the_import_command_says_in_one_sentence_why_a_file_cannot_be_imported(tmp_path: Path) -> None:
    huge = tmp_path / "huge.zip"
    with open(huge, "wb") as handle:
        handle.truncate(2 * 1024**3)
    refused = run_import_command(tmp_path / "data", huge)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "huge.zip is 2.0 GB; the largest file that can be imported is 1 GB. For a larger export, import its "
        "conversations.json alone."
    )
    missing = run_import_command(tmp_path / "data", tmp_path / "nowhere.zip")
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"There is no file {tmp_path / 'nowhere.zip'} to import."

"""Export and backup end to end, over HTTP against the real server and the fake provider: a conversation as
Markdown (a zip with its attachments) and as its JSON file, the full backup zip and its manifest, restoring it into
a fresh data folder, cancelling, one backup at a time, and the `export` command with and without a running app."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from backend.export import safe_filename
from tests.attachment_helpers import send, upload
from tests.conftest import OPENAI_KEY
from tests.fake_provider import FakeProvider
from tests.harness import ROOT, RunningApp, answer_text, app_env, read_thread_file, start_app, thread_id_of

CODE_MESSAGE = "Here is my code — ünïcode ✓ 世界:\n\n```python\ndef greet():\n    print('héllo')\n```\n\nDoes it work?"
NOTES = "notes in a file: ünïcode ✓\n".encode()


@pytest.fixture(scope="module")
def conversation(app: RunningApp) -> dict[str, Any]:
    """A conversation with a code block, unicode and an attached text file, answered by the fake."""
    attachment = upload(app, "notes ✓.txt", NOTES, "text/plain")
    events = send(app, CODE_MESSAGE, [attachment["id"]])
    thread_id = thread_id_of(events)
    return {"id": thread_id, "answer": answer_text(events), "attachment": attachment}


@pytest.fixture(scope="module")
def plain(app: RunningApp) -> str:
    """A conversation without attachments."""
    return thread_id_of(app.send("Just words: naïve café."))


@pytest.fixture
def big_data(tmp_path: Path, fake: FakeProvider) -> Iterator[RunningApp]:
    """An app whose data folder holds enough attachment bytes (about 100 MB that do not compress) that a backup
    takes a few seconds: long enough to cancel it or ask for a second one while it runs."""
    blob = os.urandom(2 * 1024 * 1024)
    for n in range(50):
        folder = tmp_path / "attachments" / f"atc_big{n:03d}"
        folder.mkdir(parents=True)
        (folder / "noise.bin").write_bytes(blob)
    running = start_app(
        tmp_path, CHATKIT_DESKTOP_MODEL="openai/fake-local-1", CHATKIT_DESKTOP_API_BASE=fake.openai_base
    )
    yield running
    running.stop()


def thread_file(app: RunningApp, thread_id: str) -> dict[str, Any]:
    """The thread file on disk, and its title (what the export names files after)."""
    return read_thread_file(app.data_dir, thread_id)


def expected_markdown(app: RunningApp, conversation: dict[str, Any]) -> tuple[str, str]:
    """The Markdown the conversation must export to, and its title."""
    thread = thread_file(app, conversation["id"])["thread"]
    title = thread["title"]
    date = thread["created_at"][:10]
    expected = (
        f"# {title}\n\n"
        f"{date} {thread['created_at'][11:16]} UTC\n\n"
        f"## You\n\n{CODE_MESSAGE}\n\n"
        f"[notes ✓.txt](<{safe_filename(title)} files/notes ✓.txt>)\n\n"
        f"## Assistant\n\n{conversation['answer']}\n"
    )
    return expected, title


def finished_backup(app: RunningApp, timeout: float = 60) -> dict[str, Any]:
    """Start a backup and wait for it to be ready; its final state."""
    with app.client() as client:
        started = client.post("/api/backup")
        assert started.status_code == 200, started.text
        deadline = time.monotonic() + timeout
        state: dict[str, Any] = started.json()
        while state["state"] == "running":
            assert time.monotonic() < deadline, "the backup did not finish"
            time.sleep(0.05)
            state = client.get("/api/backup").json()
    return state


def backup_zip(app: RunningApp) -> zipfile.ZipFile:
    """A finished backup, downloaded."""
    assert finished_backup(app)["state"] == "ready"
    with app.client() as client:
        response = client.get("/api/backup/file")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "chatkit-desktop-backup-" in response.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def run_export(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`chatkit-desktop export` on a data folder."""
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "export", *args],
        cwd=ROOT,
        env=app_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )


# ---- one conversation -----------------------------------------------------------------------------------------


def test_a_conversation_with_an_attachment_exports_as_a_zip_of_its_markdown_and_files(
    app: RunningApp, conversation: dict[str, Any]
) -> None:
    expected, title = expected_markdown(app, conversation)
    name = safe_filename(title)
    with app.client() as client:
        response = client.get(f"/api/threads/{conversation['id']}/export", params={"format": "markdown"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == f"attachment; filename*=UTF-8''{quote(name + '.zip', safe='')}"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted([f"{name}.md", f"{name} files/notes ✓.txt"])
    assert archive.read(f"{name}.md").decode("utf-8") == expected
    assert archive.read(f"{name} files/notes ✓.txt") == NOTES


def test_copy_as_markdown_gives_the_same_markdown_as_the_download(
    app: RunningApp, conversation: dict[str, Any]
) -> None:
    expected, _ = expected_markdown(app, conversation)
    with app.client() as client:
        response = client.get(f"/api/threads/{conversation['id']}/markdown")
    assert response.status_code == 200
    assert response.json() == {"markdown": expected}


def test_a_conversation_without_attachments_downloads_as_one_markdown_file(app: RunningApp, plain: str) -> None:
    title = thread_file(app, plain)["thread"]["title"]
    with app.client() as client:
        response = client.get(f"/api/threads/{plain}/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    disposition = f"attachment; filename*=UTF-8''{quote(safe_filename(title) + '.md', safe='')}"
    assert response.headers["content-disposition"] == disposition
    assert response.text.startswith(f"# {title}\n\n")
    assert "## You\n\nJust words: naïve café.\n\n## Assistant\n\n" in response.text


def test_the_json_export_is_the_thread_file_exactly_as_on_disk(app: RunningApp, conversation: dict[str, Any]) -> None:
    with app.client() as client:
        response = client.get(f"/api/threads/{conversation['id']}/export", params={"format": "json"})
    assert response.status_code == 200
    assert response.content == (app.data_dir / "threads" / f"{conversation['id']}.json").read_bytes()
    assert response.headers["content-disposition"].endswith(".json")


def test_exporting_a_missing_conversation_is_a_404_sentence(app: RunningApp) -> None:
    with app.client() as client:
        response = client.get("/api/threads/thr_doesnotexist/export")
    assert response.status_code == 404
    assert response.json()["error"].endswith(".")


def test_every_export_and_backup_route_needs_the_token(app: RunningApp, plain: str) -> None:
    with app.client(headers={"Authorization": ""}) as client:
        for method, path in [
            ("GET", f"/api/threads/{plain}/export"),
            ("GET", f"/api/threads/{plain}/markdown"),
            ("POST", "/api/backup"),
            ("GET", "/api/backup"),
            ("GET", "/api/backup/file"),
            ("DELETE", "/api/backup"),
            ("POST", "/api/data-folder/open"),
        ]:
            assert client.request(method, path).status_code == 401, path


# ---- the full backup --------------------------------------------------------------------------------------------


def test_the_backup_mirrors_the_data_folder_with_hashes_and_never_keys(
    app: RunningApp, conversation: dict[str, Any], plain: str
) -> None:
    app.settings(system_prompt="Be brief.")
    (app.data_dir / "secrets.json").write_text('{"openai": "sk-never-in-a-backup"}', encoding="utf-8")
    archive = backup_zip(app)
    names = set(archive.namelist())
    threads = {f"threads/{p.name}" for p in (app.data_dir / "threads").glob("*.json")}
    attachment = conversation["attachment"]["id"]
    assert threads <= names and f"threads/{plain}.json" in names
    assert f"attachments/{attachment}/meta.json" in names
    assert f"attachments/{attachment}/notes ✓.txt" in names
    assert "settings.json" in names and "manifest.json" in names
    assert not [n for n in names if "secrets" in n or "index.sqlite3" in n or n.startswith(("backups/", "instance"))]
    for name in names:
        assert b"sk-never-in-a-backup" not in archive.read(name)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["app"] == "ChatKit Desktop" and manifest["schema_version"] == 1
    assert manifest["counts"] == {
        "threads": len(threads),
        "attachments": len(list((app.data_dir / "attachments").iterdir())),
    }
    assert set(manifest["files"]) == names - {"manifest.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
        # Unchanged since: the backup holds exactly the files on disk.
        assert (app.data_dir / name).read_bytes() == archive.read(name)
    with app.client() as client:
        assert client.delete("/api/backup").json()["state"] == "idle"
        assert client.get("/api/backup/file").status_code == 404
    assert not list((app.data_dir / "backups").iterdir())


def test_a_backup_unzipped_into_an_empty_folder_restores_every_conversation(
    app: RunningApp, conversation: dict[str, Any], plain: str, tmp_path: Path, fake: FakeProvider
) -> None:
    archive = backup_zip(app)
    restored = tmp_path / "restored"
    archive.extractall(restored)
    again = start_app(restored, CHATKIT_DESKTOP_MODEL="openai/fake-local-1", CHATKIT_DESKTOP_API_BASE=fake.openai_base)
    try:
        for thread_id in (conversation["id"], plain):
            original = (app.data_dir / "threads" / f"{thread_id}.json").read_bytes()
            assert (restored / "threads" / f"{thread_id}.json").read_bytes() == original
        listed = {thread["id"] for thread in again.call("threads.list", limit=100)["data"]}
        assert {conversation["id"], plain} <= listed
        events = again.send("Still there?", thread_id=conversation["id"])
        assert "Still there?" in answer_text(events)
        with again.client() as client:
            download = client.get(f"/api/attachments/{conversation['attachment']['id']}/file")
        assert download.content == NOTES
    finally:
        again.stop()
    with app.client() as client:
        client.delete("/api/backup")


def test_a_cancelled_backup_leaves_no_zip_behind(big_data: RunningApp) -> None:
    with big_data.client() as client:
        started = client.post("/api/backup")
        assert started.json()["state"] == "running"
        assert started.json()["total"] >= 50
        cancelled = client.delete("/api/backup")
        assert cancelled.json()["state"] == "idle"
        time.sleep(1)
        assert client.get("/api/backup").json()["state"] == "idle"
        assert client.get("/api/backup/file").status_code == 404
    # Give the writer time to notice and clean up, then nothing remains of it.
    deadline = time.monotonic() + 30
    while list((big_data.data_dir / "backups").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list((big_data.data_dir / "backups").iterdir()) == []


def test_a_second_backup_while_one_runs_is_refused_with_a_sentence(big_data: RunningApp) -> None:
    with big_data.client() as client:
        assert client.post("/api/backup").status_code == 200
        second = client.post("/api/backup")
        assert second.status_code == 409
        assert second.json()["error"] == "A backup is already being made; wait for it to finish or cancel it."
        client.delete("/api/backup")


def test_a_backup_that_cannot_be_written_fails_with_a_sentence_and_leaves_nothing(
    tmp_path: Path, fake: FakeProvider
) -> None:
    # A file where the backups folder should be: the zip cannot be written there.
    (tmp_path / "backups").write_text("in the way", encoding="utf-8")
    running = start_app(
        tmp_path, CHATKIT_DESKTOP_MODEL="openai/fake-local-1", CHATKIT_DESKTOP_API_BASE=fake.openai_base
    )
    try:
        running.send("Something to back up.")
        state = finished_backup(running)
        with running.client() as client:
            assert client.get("/api/backup/file").status_code == 404
    finally:
        running.stop()
    assert state["state"] == "failed"
    assert state["error"].startswith("Could not write the backup (") and state["error"].endswith(
        "the disk has free space."
    )
    assert (tmp_path / "backups").read_text(encoding="utf-8") == "in the way"
    assert not list(tmp_path.glob("**/*.zip")) and not list(tmp_path.glob("**/*.tmp"))


# ---- the command ------------------------------------------------------------------------------------------------


def test_the_export_command_asks_the_running_app_for_the_backup(
    app: RunningApp, conversation: dict[str, Any], tmp_path: Path
) -> None:
    result = run_export(app.data_dir, "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr
    [written] = tmp_path.glob("chatkit-desktop-backup-*.zip")
    archive = zipfile.ZipFile(written)
    assert f"threads/{conversation['id']}.json" in archive.namelist()
    assert "through the running app" in result.stderr
    # The app's own copy was forgotten once downloaded.
    assert list((app.data_dir / "backups").iterdir()) == []


def test_the_export_command_writes_the_backup_itself_when_no_app_runs(
    app: RunningApp, conversation: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    (folder / "threads").mkdir(parents=True)
    source = app.data_dir / "threads" / f"{conversation['id']}.json"
    (folder / "threads" / source.name).write_bytes(source.read_bytes())
    target = tmp_path / "mine.zip"
    result = run_export(folder, "--output", str(target))
    assert result.returncode == 0, result.stderr
    archive = zipfile.ZipFile(target)
    assert archive.read(f"threads/{source.name}") == source.read_bytes()
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["counts"] == {"threads": 1, "attachments": 0}
    assert "Backing up: 1 of 1 files" in result.stderr


def test_the_export_command_says_in_one_sentence_when_there_is_nothing_to_back_up(tmp_path: Path) -> None:
    result = run_export(tmp_path / "nowhere", "--output", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == f"There is nothing to back up: no conversations in {tmp_path / 'nowhere'}."


def test_the_key_used_by_the_app_fixture_is_never_in_a_backup(app: RunningApp) -> None:
    archive = backup_zip(app)
    for name in archive.namelist():
        assert OPENAI_KEY.encode() not in archive.read(name)
    with app.client() as client:
        client.delete("/api/backup")


def test_the_export_command_refuses_a_folder_that_does_not_exist_in_one_sentence(
    app: RunningApp, tmp_path: Path
) -> None:
    result = run_export(app.data_dir, "--output", str(tmp_path / "Backups"))
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"There is no folder {tmp_path / 'Backups'} to write the backup in; create it first."
    )


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="xdg-open is the opener on Linux")
def test_open_data_folder_runs_the_systems_opener_on_it_or_says_it_could_not(
    tmp_path: Path, fake: FakeProvider
) -> None:
    bin_dir, opened = tmp_path / "bin", tmp_path / "opened.txt"
    bin_dir.mkdir()
    opener = bin_dir / "xdg-open"
    opener.write_text(f'#!/bin/sh\nprintf %s "$1" > "{opened}"\n', encoding="utf-8")
    opener.chmod(0o755)
    data = tmp_path / "data"
    running = start_app(data, PATH=str(bin_dir), CHATKIT_DESKTOP_API_BASE=fake.openai_base)
    try:
        with running.client() as client:
            assert client.post("/api/data-folder/open").json() == {"ok": True}
            deadline = time.monotonic() + 10
            while not opened.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert opened.read_text(encoding="utf-8") == str(data)
            opener.unlink()
            refused = client.post("/api/data-folder/open")
        assert refused.status_code == 500
        assert refused.json() == {"error": f"Could not open a file manager; the data folder is {data}."}
    finally:
        running.stop()

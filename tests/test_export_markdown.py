"""A conversation as Markdown, and file names safe everywhere, in process: `backend.export`'s pure functions over
thread-file data and real files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from backend.export import Attached, attachments_of, backup_sources, render_markdown, safe_filename

THREAD: dict[str, Any] = {"id": "thr_1", "title": "Sorting: a quick look", "created_at": "2026-03-14T09:26:53Z"}


def user(text: str, *, model: str | None = None, attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A user message as the thread file keeps it."""
    return {
        "type": "user_message",
        "id": "msg_u",
        "content": [{"type": "input_text", "text": text}],
        "attachments": attachments or [],
        "inference_options": {"model": model} if model else {},
    }


def assistant(text: str) -> dict[str, Any]:
    """An assistant message as the thread file keeps it."""
    return {"type": "assistant_message", "id": "msg_a", "content": [{"type": "output_text", "text": text}]}


def test_a_conversation_renders_as_title_date_and_turns_with_code_blocks_intact() -> None:
    answer = "Use `sorted`:\n\n```python\nprint(sorted([3, 1, 2]))\n```\n\nThat prints `[1, 2, 3]` — ✓."
    items = [user("How do I sort a list? ünïcode 世界", model="openai/gpt-5-mini"), assistant(answer)]
    assert render_markdown(THREAD, items, []) == (
        "# Sorting: a quick look\n"
        "\n"
        "2026-03-14 09:26 UTC\n"
        "\n"
        "## You\n"
        "\n"
        "How do I sort a list? ünïcode 世界\n"
        "\n"
        "## Assistant (GPT-5 mini)\n"
        "\n"
        "Use `sorted`:\n\n```python\nprint(sorted([3, 1, 2]))\n```\n\nThat prints `[1, 2, 3]` — ✓.\n"
    )


def test_an_assistant_turn_has_no_model_label_when_no_model_was_picked() -> None:
    assert "## Assistant\n\nHi.\n" in render_markdown(THREAD, [user("Hello"), assistant("Hi.")], [])


def test_attachments_are_links_into_the_files_folder_and_same_names_get_numbers(tmp_path: Path) -> None:
    attachments = [{"id": "atc_1", "name": "report.pdf"}, {"id": "atc_2", "name": "report.pdf"}]
    items = [user("Two reports", attachments=attachments), assistant("Read them.")]
    found = attachments_of(items, lambda attachment_id: tmp_path / attachment_id)
    assert found == [
        Attached("atc_1", "report.pdf", tmp_path / "atc_1"),
        Attached("atc_2", "report (2).pdf", tmp_path / "atc_2"),
    ]
    markdown = render_markdown(THREAD, items, found)
    assert "Two reports\n\n[report.pdf](<Sorting_ a quick look files/report.pdf>)\n\n" in markdown
    assert "[report (2).pdf](<Sorting_ a quick look files/report (2).pdf>)\n\n## Assistant" in markdown


def test_a_conversation_without_a_title_is_called_conversation() -> None:
    assert render_markdown({"id": "thr_2", "created_at": "2026-03-14T09:26:53Z"}, [], []).startswith(
        "# Conversation\n\n2026-03-14 09:26 UTC\n"
    )


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Plain title", "Plain title"),
        ('a/b\\c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j"),
        ("  ..dots and spaces..  ", "dots and spaces"),
        ("line\nbreak\ttab", "line break tab"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Ünïcode ✓ 世界", "Ünïcode ✓ 世界"),
        ("", "Conversation"),
        ("...", "Conversation"),
        ("x" * 200, "x" * 80),
    ],
)
def test_a_title_becomes_a_file_name_every_system_accepts(title: str, name: str) -> None:
    assert safe_filename(title) == name


def test_a_backup_holds_threads_attachments_and_settings_but_never_keys_or_the_index(tmp_path: Path) -> None:
    for path in [
        "threads/thr_1.json",
        "threads/.thr_1.json.abc.tmp",
        "threads/corrupt/thr_9.json",
        "attachments/atc_1/meta.json",
        "attachments/atc_1/cat.png",
        "settings.json",
        "secrets.json",
        "index.sqlite3",
        "instance.lock",
        "backups/chatkit-desktop-backup-2026-01-01.zip",
    ]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"x")
    assert [name for name, _ in backup_sources(tmp_path)] == [
        "threads/thr_1.json",
        "attachments/atc_1/cat.png",
        "attachments/atc_1/meta.json",
        "settings.json",
    ]


def test_a_date_without_a_zone_is_this_computers_local_time_shown_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        stamped = {**THREAD, "created_at": "2026-03-14T10:26:53.123456"}  # as ChatKit stamps it, in Paris
        assert render_markdown(stamped, [], []).split("\n")[2] == "2026-03-14 09:26 UTC"
    finally:
        monkeypatch.undo()
        time.tzset()

"""Restoring what this app exported: the conversations of a backup zip (with their attachments, checked against the
manifest's hashes) and a single conversation's `.json`. Thread files keep their ids and bytes, so a restored folder
holds the very files that were backed up; one that is here already is left as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from .fileio import atomic_write_bytes
from .ids import ID_PATTERN
from .import_reading import MAX_FILE_BYTES, Opened
from .import_writing import Outcome, Target
from .threadfile import CorruptThreadFile, NewerUnreadableFile, ThreadFile, parse

NEWER = "it was saved by a newer version of ChatKit Desktop; update the app to import it"
NOT_IN_JSON = "{n} attachment{s} {were} left out: a conversation's .json does not hold {them} (a backup .zip does)."
MISSING = "{n} attachment{s} {were} not in the backup and {were} left out."
_SETTINGS = "settings.json"


def restore_backup(opened: Opened, target: Target) -> Iterator[Outcome]:
    """Each conversation of a backup zip, restored unless it is here already."""
    assert opened.archive is not None
    names = sorted(n for n in opened.archive.namelist() if n.startswith("threads/") and n.count("/") == 1)
    by_attachment: dict[str, list[str]] = {}
    for name in opened.archive.namelist():
        parts = PurePosixPath(name).parts
        if len(parts) == 3 and parts[0] == "attachments" and ID_PATTERN.fullmatch(parts[1]):
            by_attachment.setdefault(parts[1], []).append(name)
    for name in names:
        if not name.endswith(".json"):
            continue
        thread_id = PurePosixPath(name).stem
        raw = opened.read_member(name, MAX_FILE_BYTES)
        yield _restore(raw, thread_id, opened, target, by_attachment)


def restore_thread_file(opened: Opened, target: Target) -> Iterator[Outcome]:
    """A single conversation's `.json`, restored unless it is here already."""
    raw = opened.path.read_bytes()
    try:
        thread_id = str(json.loads(raw)["thread"]["id"])
    except (ValueError, KeyError, TypeError):
        thread_id = ""
    yield _restore(raw, thread_id, opened, target, {})


def restore_settings(opened: Opened, data_dir: Path) -> str | None:
    """The backup's settings, when this folder has none yet (a new computer); a sentence saying what was done."""
    if opened.archive is None or _SETTINGS not in opened.archive.namelist():
        return None
    if (data_dir / _SETTINGS).exists():
        return "Your current settings were kept; the backup's were not applied."
    raw = opened.read_member(_SETTINGS, 1024**2)
    if raw is None or not _matches(opened, _SETTINGS, raw):
        return "The backup's settings could not be read and were not applied."
    atomic_write_bytes(data_dir / _SETTINGS, raw)
    return "The backup's settings were restored."


def _restore(
    raw: bytes | None, thread_id: str, opened: Opened, target: Target, by_attachment: dict[str, list[str]]
) -> Outcome:
    title = _title(raw)
    if raw is None or not ID_PATTERN.fullmatch(thread_id) or not _matches(opened, f"threads/{thread_id}.json", raw):
        return Outcome("failed", title, reason="it is damaged in the backup")
    try:
        tf = parse(raw, thread_id)
    except NewerUnreadableFile:
        return Outcome("failed", title, reason=NEWER)
    except CorruptThreadFile as error:
        return Outcome("failed", title, reason=str(error))
    if tf.read_only:
        return Outcome("failed", title, reason=NEWER)
    messages = sum(1 for item in tf.items if item.get("type") in ("user_message", "assistant_message"))
    if target.store.thread_exists(thread_id):
        return Outcome("present", title, messages)
    wanted = _attachment_ids(tf)
    written: list[str] = []
    left_out: dict[str, int] = {}
    try:
        for attachment_id in wanted:
            if (target.files.root / attachment_id / "meta.json").is_file():
                continue  # here already: the conversation was exported from this folder
            members = by_attachment.get(attachment_id)
            if not members or not _copy_folder(opened, attachment_id, members, target):
                why = MISSING if opened.archive is not None else NOT_IN_JSON
                left_out[why] = left_out.get(why, 0) + 1
                continue
            written.append(attachment_id)
        if not target.store.add_whole(tf):
            target.files.delete_all(written)
            return Outcome("present", title, messages)
    except BaseException:
        target.files.delete_all(written)
        raise
    return Outcome("added", title, messages, attachments=len(written), left_out=left_out)


def _copy_folder(opened: Opened, attachment_id: str, members: list[str], target: Target) -> bool:
    """An attachment's folder as the backup holds it, every file checked against the manifest."""
    contents = []
    for name in members:
        data = opened.read_member(name, 64 * 1024**2)
        if data is None or not _matches(opened, name, data):
            return False
        contents.append((PurePosixPath(name).name, data))
    folder = target.files.root / attachment_id
    # The record last: a folder without one is removed by the sweep if the app stops half-way.
    for file_name, data in sorted(contents, key=lambda entry: entry[0] == "meta.json"):
        atomic_write_bytes(folder / file_name, data)
    return True


def _matches(opened: Opened, name: str, data: bytes) -> bool:
    expected = opened.hashes.get(name)
    return expected is None or hashlib.sha256(data).hexdigest() == expected


def _attachment_ids(tf: ThreadFile) -> list[str]:
    return [
        str(a.get("id"))
        for item in tf.items
        if item.get("type") == "user_message"
        for a in item.get("attachments") or ()
        if ID_PATTERN.fullmatch(str(a.get("id")))
    ]


def _title(raw: bytes | None) -> str:
    try:
        data: Any = json.loads(raw or b"")
        title = data["thread"]["title"]
    except (ValueError, KeyError, TypeError):
        return "Untitled conversation"
    return title.strip() if isinstance(title, str) and title.strip() else "Untitled conversation"

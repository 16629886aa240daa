"""Export: a conversation as Markdown (with its attachments beside it), file names safe on every system, and the
full backup zip of a data folder (written to a temporary file, renamed when complete, with a manifest of hashes).

Pure functions over the data folder's files; the routes (`routes/export.py`) and the `export` command run them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .ids import ID_PATTERN
from .providers import model_label

APP_NAME = "ChatKit Desktop"
BACKUP_SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
BACKUPS = "backups"
UNTITLED = "Conversation"
# What a backup holds, by the data folder's layout: never `secrets.json`, the index (rebuilt from the files), the
# instance lock or earlier backups.
SETTINGS = "settings.json"

_NOT_IN_FILE_NAMES = re.compile(r'[<>:"/\\|?*\[\]#%{}^`]')
_WINDOWS_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)
_MAX_NAME_CHARS = 80


class BackupCancelled(Exception):
    """The backup was cancelled; its temporary file is gone."""


@dataclass(frozen=True)
class Attached:
    """An attachment of the conversation as the export carries it: its name in the files folder, and its bytes'
    place on disk (None when they are missing)."""

    id: str
    name: str
    path: Path | None


def app_version() -> str:
    """This app's version, as the installed package states it."""
    try:
        return metadata.version("chatkit-desktop")
    except metadata.PackageNotFoundError:
        return "unknown"


def safe_filename(title: str, fallback: str = UNTITLED) -> str:
    """`title` as a file name any system accepts and a Markdown link needs no escaping for: no path characters,
    no control characters, no Windows-reserved name, no leading or trailing dots or spaces, at most 80
    characters; `fallback` when nothing is left."""
    text = unicodedata.normalize("NFC", title)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = _NOT_IN_FILE_NAMES.sub("_", text)
    text = " ".join(text.split())[:_MAX_NAME_CHARS].strip(" .")
    if not text:
        return fallback
    return f"_{text}" if _WINDOWS_RESERVED.fullmatch(text) else text


def title_of(thread: dict[str, Any]) -> str:
    """The conversation's title as shown in the list, or a neutral word for one without."""
    title = thread.get("title")
    return title.strip() if isinstance(title, str) and title.strip() else UNTITLED


def files_folder(title: str) -> str:
    """The folder beside `<title>.md` that holds the conversation's attachments."""
    return f"{safe_filename(title)} files"


def attachments_of(items: Iterable[dict[str, Any]], locate: Callable[[str], Path | None]) -> list[Attached]:
    """The attachments the conversation's messages carry, oldest first, each under a name unique in the files
    folder (`report (2).pdf` for a second `report.pdf`); `locate` finds an attachment's bytes by id."""
    found: list[Attached] = []
    taken: set[str] = set()
    for item in items:
        for attachment in item.get("attachments") or () if item.get("type") == "user_message" else ():
            attachment_id = str(attachment.get("id", ""))
            name = _unique(safe_filename(str(attachment.get("name") or ""), "file"), taken)
            found.append(Attached(attachment_id, name, locate(attachment_id)))
    return found


def render_markdown(thread: dict[str, Any], items: Sequence[dict[str, Any]], attached: Sequence[Attached]) -> str:
    """The conversation as Markdown: its title, its date, then each turn under `## You` or `## Assistant (model)`
    with the text as written (code blocks intact) and attachments as links into the files folder."""
    title = title_of(thread)
    folder = files_folder(title)
    names = {a.id: a.name for a in attached}
    lines = [f"# {title}", "", _date_line(thread.get("created_at")), ""]
    model: str | None = None
    for item in items:
        kind = item.get("type")
        if kind == "user_message":
            model = (item.get("inference_options") or {}).get("model") or model
            lines += ["## You", ""]
            quoted = item.get("quoted_text")
            if isinstance(quoted, str) and quoted.strip():
                lines += ["> " + line for line in quoted.strip().split("\n")] + [""]
            text = "".join(str(part.get("text", "")) for part in item.get("content") or ())
            if text.strip():
                lines += [text.strip("\n"), ""]
            for attachment in item.get("attachments") or ():
                name = names.get(str(attachment.get("id")), "file")
                lines += [f"[{_link_text(name)}](<{folder}/{name}>)", ""]
        elif kind == "assistant_message":
            label = f" ({model_label(model)})" if model else ""
            lines += [f"## Assistant{label}", ""]
            text = "".join(str(part.get("text", "")) for part in item.get("content") or ())
            if text.strip():
                lines += [text.strip("\n"), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def conversation_zip(markdown: str, title: str, attached: Sequence[Attached]) -> bytes:
    """`<title>.md` and `<title> files/` with the attachments it links to, as one zip (in memory: a
    conversation's attachments are at most a few hundred MB by the upload limits, usually far less)."""
    base = safe_filename(title)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{base}.md", markdown.encode("utf-8"))
        for attachment in attached:
            if attachment.path is not None:
                archive.write(attachment.path, f"{base} files/{attachment.name}")
    return buffer.getvalue()


def backup_name(now: datetime | None = None) -> str:
    """The backup's file name, dated: `chatkit-desktop-backup-YYYY-MM-DD.zip`."""
    return f"chatkit-desktop-backup-{(now or datetime.now(UTC)).astimezone().strftime('%Y-%m-%d')}.zip"


def backup_sources(data_dir: Path) -> list[tuple[str, Path]]:
    """What a backup holds, as (path in the zip, file on disk): every thread file, every attachment's folder,
    `settings.json`. Temporary files (names starting with a dot) are left out: a write was in progress."""
    sources: list[tuple[str, Path]] = []
    threads = data_dir / "threads"
    for path in _sorted_entries(threads):
        if path.suffix == ".json" and ID_PATTERN.fullmatch(path.stem) and path.is_file():
            sources.append((f"threads/{path.name}", path))
    for folder in _sorted_entries(data_dir / "attachments"):
        if folder.is_dir() and ID_PATTERN.fullmatch(folder.name):
            for path in _sorted_entries(folder):
                if path.is_file():
                    sources.append((f"attachments/{folder.name}/{path.name}", path))
    if (data_dir / SETTINGS).is_file():
        sources.append((SETTINGS, data_dir / SETTINGS))
    return sources


def write_backup(
    data_dir: Path,
    target: Path,
    *,
    progress: Callable[[int, int], None] = lambda done, total: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """Write the data folder's backup zip to `target`, through a temporary file beside it that is renamed only
    when complete; returns the zip's size. `progress(done, total)` follows the files; when `cancelled()` turns
    true the temporary file is removed and BackupCancelled raised. Any failure leaves no file behind."""
    sources = backup_sources(data_dir)
    total = len(sources)
    progress(0, total)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    hashes: dict[str, str] = {}
    try:
        with open(temporary, "wb") as handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
                for done, (name, path) in enumerate(sources, 1):
                    if cancelled():
                        raise BackupCancelled
                    try:
                        data = path.read_bytes()
                    except FileNotFoundError:
                        # Deleted since the folder was listed (a conversation removed meanwhile): not in the backup.
                        progress(done, total)
                        continue
                    archive.writestr(name, data)
                    hashes[name] = hashlib.sha256(data).hexdigest()
                    progress(done, total)
                archive.writestr(MANIFEST, json.dumps(manifest(hashes), indent=1, ensure_ascii=False))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return target.stat().st_size


def manifest(hashes: dict[str, str]) -> dict[str, Any]:
    """What `manifest.json` says of a backup: the app, when, how many conversations and attachments, and each
    file's sha256."""
    attachments = {name.split("/")[1] for name in hashes if name.startswith("attachments/")}
    return {
        "app": APP_NAME,
        "app_version": app_version(),
        "schema_version": BACKUP_SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "counts": {
            "threads": sum(1 for name in hashes if name.startswith("threads/")),
            "attachments": len(attachments),
        },
        "files": hashes,
    }


def remove_leftovers(backups: Path) -> None:
    """Remove temporary files a backup interrupted by a crash left in `backups/`."""
    for path in _sorted_entries(backups):
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                path.unlink()


def _sorted_entries(folder: Path) -> list[Path]:
    try:
        return sorted(path for path in folder.iterdir() if not path.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem} ({number}).{suffix}" if suffix else f"{stem} ({number})"
    taken.add(candidate.casefold())
    return candidate


def _link_text(name: str) -> str:
    # Brackets cannot occur in a safe name; backslashes and asterisks stay literal in the link's text.
    return name.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def _date_line(created_at: Any) -> str:
    try:
        when = datetime.fromisoformat(str(created_at))
    except ValueError:
        return "Date unknown"
    # Without a zone it is this computer's local time, as ChatKit stamps threads (`astimezone` reads it so).
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

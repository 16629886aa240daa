"""Attachments on disk: `<data>/attachments/<id>/` holds the file under a safe name and `meta.json` beside it.

An attachment is born in two steps, as ChatKit's two-phase upload has it: `create` records the name the user
chose (no bytes yet), `upload` receives the bytes, decides what they are (`filetypes`) and writes them. It is
pending until a message that carries it is saved (`claim` records the thread); a pending one is removed after
a day, a claimed one with its thread. Every write is atomic, and a refused upload leaves nothing behind.

The page reaches an attachment's bytes by URLs signed for this launch (`capability`): an `<img>` tag or
ChatKit's frame cannot send the app's token, and must not be handed it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from chatkit.store import NotFoundError
from chatkit.types import (
    Attachment,
    AttachmentUploadDescriptor,
    FileAttachment,
    ImageAttachment,
    ThreadItem,
    UserMessageItem,
)
from pydantic import AnyUrl

from . import filetypes
from .config import AppConfig
from .fileio import atomic_write_bytes
from .ids import check_id, new_id
from .security import capability

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
MAX_COUNT = 10
UNSENT_LIFETIME_S = 24 * 3600
META = "meta.json"
MB_LIMIT = MAX_BYTES // 2**20
SUMMARY = f"You can attach {filetypes.KINDS_SENTENCE}, up to {MB_LIMIT} MB each and {MAX_COUNT} per message."
_TOO_LARGE = "{name} is larger than " + f"{MB_LIMIT} MB, the limit for one file."
_NOT_ON_WINDOWS = re.compile(r'[<>:"|?*]')
# Where a stored image's preview lives, without this launch's port and signature (added when it is shown).
STORED_PREVIEW = "http://127.0.0.1/api/attachments/{id}/preview"


class AttachmentError(Exception):
    """An attachment request refused with a sentence for the user: 400, or 413 when a file is too large."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Meta:
    """What `meta.json` holds. `sha256` is None until the bytes arrive; `thread_id` until a message is sent."""

    id: str
    type: Literal["image", "file"]
    name: str
    mime_type: str
    size: int
    created_at: float
    sha256: str | None = None
    thread_id: str | None = None

    @property
    def uploaded(self) -> bool:
        """Whether the bytes have arrived."""
        return self.sha256 is not None


def limits() -> dict[str, Any]:
    """What the page states and checks before uploading (the server checks again)."""
    return {"max_bytes": MAX_BYTES, "max_count": MAX_COUNT, "accept": filetypes.ACCEPT, "summary": SUMMARY}


def safe_name(name: str) -> str:
    """The user's file name if it is safe to show and store (no path, no control characters), else refuse."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name or name in (".", "..") or len(name.encode("utf-8")) > 200:
        raise AttachmentError("A file name must be between 1 and 200 bytes long.")
    if any(c in name for c in "/\\") or ".." in name or any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        shown = "".join(c if c.isprintable() else "?" for c in name)
        raise AttachmentError(f"“{shown}” is not a usable file name — rename it.")
    return name


class AttachmentFiles:
    """The attachments folder, and the launch's URLs for what is in it."""

    def __init__(self, config: AppConfig) -> None:
        self.root = config.data_dir / "attachments"
        self.config = config

    # ---- URLs --------------------------------------------------------------------------------------

    def url(self, attachment_id: str, what: Literal["upload", "preview"]) -> str:
        """An attachment's route on this launch's server; a preview URL carries its signature."""
        base = f"http://127.0.0.1:{self.config.port}/api/attachments/{attachment_id}/{what}"
        return base if what == "upload" else f"{base}?sig={capability(self.config.token, what, attachment_id)}"

    def to_chatkit(self, meta: Meta, *, upload: bool = False) -> Attachment:
        """The attachment as ChatKit's type; `upload` adds the descriptor for the second phase."""
        descriptor = None
        if upload:
            descriptor = AttachmentUploadDescriptor(
                url=AnyUrl(self.url(meta.id, "upload")),
                method="PUT",
                headers={"Authorization": f"Bearer {capability(self.config.token, 'upload', meta.id)}"},
            )
        common: dict[str, Any] = {
            "id": meta.id,
            "name": meta.name,
            "mime_type": meta.mime_type,
            "upload_descriptor": descriptor,
            "thread_id": meta.thread_id,
            "metadata": {"size": meta.size, "sha256": meta.sha256} if meta.uploaded else None,
        }
        if meta.type == "image":
            return ImageAttachment(**common, preview_url=self.url(meta.id, "preview"))
        return FileAttachment(**common)

    def shown_form(self, item: ThreadItem) -> ThreadItem:
        """A stored item as the page gets it: image previews at this launch's URLs (port and signature change).
        Changes `item`, which must be a fresh copy (the thread file's items are)."""
        if isinstance(item, UserMessageItem):
            for attachment in item.attachments:
                if isinstance(attachment, ImageAttachment):
                    attachment.preview_url = AnyUrl(self.url(attachment.id, "preview"))
        return item

    def stored_form(self, item: ThreadItem) -> ThreadItem:
        """An item as the thread file keeps it: image previews without this launch's port and signature."""
        if not isinstance(item, UserMessageItem) or not item.attachments:
            return item
        attachments = [
            a.model_copy(update={"preview_url": AnyUrl(STORED_PREVIEW.format(id=a.id))})
            if isinstance(a, ImageAttachment)
            else a
            for a in item.attachments
        ]
        return item.model_copy(update={"attachments": attachments})

    # ---- the life of one attachment ------------------------------------------------------------------

    def create(self, name: str, size: int, mime_type: str) -> Meta:
        """Record a file the user chose; its bytes come next, through `upload`."""
        name = safe_name(name)
        _check_size(name, size)
        kind: Literal["image", "file"] = "image" if filetypes.is_image(mime_type) else "file"
        meta = Meta(new_id("attachment"), kind, name, mime_type, size, time.time())
        self._write_meta(meta)
        return meta

    def upload(self, attachment_id: str, data: bytes) -> Meta:
        """Receive the bytes: check what they are and keep them; a refused file leaves nothing on disk."""
        meta = self.load(attachment_id)
        if meta.uploaded:
            raise AttachmentError(f"{meta.name} is already uploaded.")
        try:
            mime = _checked_type(meta.name, data)
            if meta.type == "image" and not filetypes.is_image(mime):
                raise AttachmentError(f"{meta.name} is not a PNG, JPEG, WebP or GIF image, whatever its name says.")
        except AttachmentError:
            self.delete(attachment_id)
            raise
        uploaded = replace(meta, mime_type=mime, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        atomic_write_bytes(self._folder(meta.id) / _stored_name(meta.name), data)
        self._write_meta(uploaded)
        return uploaded

    def add(self, attachment_id: str, name: str, data: bytes) -> Meta:
        """Keep a file that arrives whole, with an id chosen by the caller (an import's, derived from the other
        app's): checked as an upload is, and pending until a saved message claims it. Replaces what a former,
        interrupted attempt left under that id."""
        name = safe_name(name)
        mime = _checked_type(name, data)
        kind: Literal["image", "file"] = "image" if filetypes.is_image(mime) else "file"
        meta = Meta(attachment_id, kind, name, mime, len(data), time.time(), hashlib.sha256(data).hexdigest())
        self.delete(attachment_id)
        atomic_write_bytes(self._folder(attachment_id) / _stored_name(name), data)
        self._write_meta(meta)
        return meta

    def too_large(self, attachment_id: str) -> AttachmentError:
        """The refusal of bytes that went past the limit while arriving; a pending attachment is forgotten."""
        meta = self.load(attachment_id)
        if not meta.uploaded:
            self.delete(attachment_id)
        return AttachmentError(_TOO_LARGE.format(name=meta.name), status=413)

    def load(self, attachment_id: str) -> Meta:
        """An attachment's record; NotFoundError when there is none."""
        path = self._folder(attachment_id) / META
        try:
            return Meta(**json.loads(path.read_bytes()))
        except FileNotFoundError:
            raise NotFoundError(f"attachment {attachment_id} not found") from None
        except (ValueError, TypeError) as error:
            log.warning("unreadable attachment record %s: %s", attachment_id, type(error).__name__)
            raise NotFoundError(f"attachment {attachment_id} not found") from None

    def read(self, meta: Meta) -> bytes:
        """An uploaded attachment's bytes."""
        return self.path(meta).read_bytes()

    def path(self, meta: Meta) -> Path:
        """Where an uploaded attachment's bytes are."""
        return self._folder(meta.id) / _stored_name(meta.name)

    def claim(self, attachment_id: str, thread_id: str) -> None:
        """Record that a saved message in `thread_id` carries the attachment (it is no longer pending)."""
        meta = self.load(attachment_id)
        if meta.thread_id != thread_id:
            self._write_meta(replace(meta, thread_id=thread_id))

    def delete(self, attachment_id: str) -> None:
        """Remove an attachment's folder, if there is one."""
        shutil.rmtree(self._folder(attachment_id), ignore_errors=True)

    def delete_all(self, attachment_ids: Iterable[str]) -> None:
        """Remove several attachments (a deleted thread's)."""
        for attachment_id in attachment_ids:
            self.delete(attachment_id)

    def sweep(self, now: float | None = None) -> int:
        """Remove attachments uploaded but never sent for a day (and folders a crash left without a record)."""
        cutoff = (now or time.time()) - UNSENT_LIFETIME_S
        removed = 0
        with contextlib.suppress(FileNotFoundError), os.scandir(self.root) as entries:
            for entry in entries:
                if not entry.is_dir() or entry.name.startswith("."):
                    continue
                try:
                    meta = self.load(entry.name)
                    stale = meta.thread_id is None and meta.created_at < cutoff
                except NotFoundError:
                    stale = entry.stat().st_mtime < cutoff
                if stale:
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed += 1
        if removed:
            log.info("removed %d attachment(s) that were never sent", removed)
        return removed

    def _folder(self, attachment_id: str) -> Path:
        return self.root / check_id(attachment_id, "attachment id")

    def _write_meta(self, meta: Meta) -> None:
        atomic_write_bytes(self._folder(meta.id) / META, json.dumps(asdict(meta), ensure_ascii=False).encode())


def content_disposition(name: str) -> str:
    """A download header that keeps the user's file name, whatever its characters."""
    return f"attachment; filename*=UTF-8''{quote(name, safe='')}"


def _checked_type(name: str, data: bytes) -> str:
    """What the bytes are, or the sentence refusing them (too large, or not a type the app reads)."""
    _check_size(name, len(data))
    try:
        return filetypes.identify(data, name)
    except filetypes.NotAcceptable as refused:
        raise AttachmentError(f"{name} {refused}.") from None


def _check_size(name: str, size: int) -> None:
    if size <= 0:
        raise AttachmentError(f"{name} is empty.")
    if size > MAX_BYTES:
        raise AttachmentError(_TOO_LARGE.format(name=name), status=413)


def _stored_name(name: str) -> str:
    # The user's name is safe to show; on disk it also must not clash with the record, look hidden, or use a
    # character Windows refuses in a file name.
    stored = _NOT_ON_WINDOWS.sub("_", name).rstrip(". ") or "file"
    return "file-" + stored if stored == META or stored.startswith(".") else stored

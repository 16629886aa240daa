"""Export and backup: a conversation as Markdown (or a zip with its attachments) or as its JSON file, the full
backup written in the background (one at a time), and opening the data folder in the system's file manager."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chatkit.store import NotFoundError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from .. import export
from ..attachments import AttachmentFiles, content_disposition
from ..dependencies import AttachmentsDep, ConfigDep, StoreDep
from ..errors import error_response
from ..security import require_token
from ..store import JsonFileStore

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(require_token)])

_CHECK = "check that the data folder's backups folder is writable and the disk has free space."
BUSY = "A backup is already being made; wait for it to finish or cancel it."


@dataclass
class BackupJob:
    """The one backup of this launch: its state as the page polls it, and the thread writing it."""

    data_dir: Path
    state: Literal["idle", "running", "ready", "failed"] = "idle"
    done: int = 0
    total: int = 0
    error: str | None = None
    size: int | None = None
    path: Path | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def view(self) -> dict[str, Any]:
        """What `GET /api/backup` answers."""
        with self._lock:
            return {"state": self.state, "done": self.done, "total": self.total, "error": self.error, "size": self.size}

    def start(self) -> bool:
        """Start writing a backup in a background thread; False when one is already being written."""
        with self._lock:
            if self.state == "running":
                return False
            self._forget_file()
            backups = self.data_dir / export.BACKUPS
            export.remove_leftovers(backups)
            self.state, self.done, self.error, self.size = "running", 0, None, None
            self.total = len(export.backup_sources(self.data_dir))
            self.path = backups / export.backup_name()
            self._cancel = threading.Event()
            cancel, target = self._cancel, self.path
        threading.Thread(target=self._run, args=(target, cancel), name="backup", daemon=True).start()
        return True

    def cancel(self) -> None:
        """Cancel a running backup (its temporary file goes), or forget a finished one (its file goes)."""
        with self._lock:
            self._cancel.set()
            self._forget_file()
            self.state, self.done, self.total, self.error, self.size = "idle", 0, 0, None, None

    def ready_file(self) -> Path | None:
        """The finished backup's zip, if there is one."""
        with self._lock:
            return self.path if self.state == "ready" and self.path and self.path.is_file() else None

    def _run(self, target: Path, cancel: threading.Event) -> None:
        def progress(done: int, total: int) -> None:
            with self._lock:
                if not cancel.is_set():
                    self.done, self.total = done, total

        try:
            size = export.write_backup(self.data_dir, target, progress=progress, cancelled=cancel.is_set)
        except export.BackupCancelled:
            return
        except Exception as error:
            # Any failure must end the job (never "running" forever); the page and the command show the sentence.
            log.exception("the backup failed")
            reason = getattr(error, "strerror", None) or type(error).__name__
            with self._lock:
                if not cancel.is_set():
                    self.state, self.error = "failed", f"Could not write the backup ({reason}) — {_CHECK}"
            return
        with self._lock:
            if cancel.is_set():
                # Cancelled just as it completed: the finished zip goes too.
                with contextlib.suppress(OSError):
                    target.unlink()
                return
            self.state, self.size = "ready", size

    def _forget_file(self) -> None:
        if self.path is not None and self.state == "ready":
            with contextlib.suppress(OSError):
                self.path.unlink()
        self.path = None


def _job(request: Request) -> BackupJob:
    job: BackupJob = request.app.state.backup
    return job


@router.get("/api/threads/{thread_id}/export")
async def export_thread(
    thread_id: str, store: StoreDep, files: AttachmentsDep, format: Literal["markdown", "json"] = "markdown"
) -> Response:
    """The conversation downloaded as Markdown (a zip with its attachments when it has some), or its JSON file."""
    if format == "json":
        raw = await asyncio.to_thread(store.file_bytes, thread_id)
        title = export.title_of(store.listed(thread_id) or {})
        headers = {"content-disposition": content_disposition(f"{export.safe_filename(title)}.json")}
        return Response(raw, media_type="application/json", headers=headers)
    markdown, title, attached = await asyncio.to_thread(_markdown, store, files, thread_id)
    name = export.safe_filename(title)
    if not attached:
        headers = {"content-disposition": content_disposition(f"{name}.md")}
        return Response(markdown.encode("utf-8"), media_type="text/markdown; charset=utf-8", headers=headers)
    archive = await asyncio.to_thread(export.conversation_zip, markdown, title, attached)
    return Response(
        archive, media_type="application/zip", headers={"content-disposition": content_disposition(f"{name}.zip")}
    )


@router.get("/api/threads/{thread_id}/markdown")
async def thread_markdown(thread_id: str, store: StoreDep, files: AttachmentsDep) -> dict[str, str]:
    """The conversation as Markdown, for "Copy as Markdown"."""
    markdown, _, _ = await asyncio.to_thread(_markdown, store, files, thread_id)
    return {"markdown": markdown}


@router.post("/api/backup")
async def start_backup(request: Request) -> Response:
    """Start writing a full backup in the background; 409 while one is being written."""
    job = _job(request)
    if not await asyncio.to_thread(job.start):
        return error_response(409, BUSY)
    return JSONResponse(job.view())


@router.get("/api/backup")
async def backup_state(request: Request) -> dict[str, Any]:
    """The backup's state and progress."""
    return _job(request).view()


@router.get("/api/backup/file")
async def backup_file(request: Request) -> Response:
    """The finished backup zip."""
    path = _job(request).ready_file()
    if path is None:
        return error_response(404, "No backup is ready; make one first.")
    return FileResponse(
        path, media_type="application/zip", headers={"content-disposition": content_disposition(path.name)}
    )


@router.delete("/api/backup")
async def cancel_backup(request: Request) -> dict[str, Any]:
    """Cancel a running backup, or forget a finished one (its file removed)."""
    job = _job(request)
    await asyncio.to_thread(job.cancel)
    return job.view()


@router.post("/api/data-folder/open")
async def open_data_folder(config: ConfigDep) -> Response:
    """Open the data folder in the system's file manager."""
    folder = str(config.data_dir)
    command = {"win32": ["explorer", folder], "darwin": ["open", folder]}.get(sys.platform, ["xdg-open", folder])
    try:
        # Its own session: a Ctrl-C to `serve` (sent to its process group) must not close the file manager.
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return error_response(500, f"Could not open a file manager; the data folder is {folder}.")
    return JSONResponse({"ok": True})


def _markdown(store: JsonFileStore, files: AttachmentFiles, thread_id: str) -> tuple[str, str, list[export.Attached]]:
    # The thread file's own JSON data (not ChatKit's types): what is exported is what is stored.
    parsed = store.thread_file(thread_id)

    def locate(attachment_id: str) -> Path | None:
        try:
            path = files.path(files.load(attachment_id))
        except (NotFoundError, ValueError):
            return None
        return path if path.is_file() else None

    attached = export.attachments_of(parsed.items, locate)
    return export.render_markdown(parsed.thread, parsed.items, attached), export.title_of(parsed.thread), attached

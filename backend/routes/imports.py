"""`/api/import`: receive a file to import (streamed to the data folder, never held in memory), check it whole, and
import it in the background while the page follows the progress; stop it; read the summary."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ..errors import error_response
from ..import_reading import MAX_FILE_BYTES, ImportRefused, open_import
from ..importing import BUSY, ImportJob
from ..security import BodyTooLarge, require_token

router = APIRouter(dependencies=[Depends(require_token)])

_TOO_LARGE = (
    f"The file is larger than {MAX_FILE_BYTES // 1024**3} GB, the largest that can be imported. For a larger "
    "export, import its conversations.json alone."
)
_NO_ROOM = "Could not receive the file ({reason}); check that the data folder is writable and has free space."


def _job(request: Request) -> ImportJob:
    job: ImportJob = request.app.state.imports
    return job


@router.get("/api/import")
async def import_state(request: Request) -> dict[str, Any]:
    """The import's state, progress and, once done, its summary."""
    return _job(request).view()


@router.post("/api/import")
async def start_import(request: Request, name: str = "") -> Response:
    """Receive the file (raw bytes), check what it is, and start importing it; the state once it has started."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_FILE_BYTES:
        return error_response(413, _TOO_LARGE)
    job = _job(request)
    if not job.claim():
        return error_response(409, BUSY)
    path: Path | None = None
    try:
        path = await _receive(request, job.folder)
        opened = await asyncio.to_thread(open_import, path, name[:200])
    except BodyTooLarge:
        return _refused(job, path, 413, _TOO_LARGE)
    except ImportRefused as refused:
        return _refused(job, path, 400, str(refused))
    except OSError as error:
        return _refused(job, path, 507, _NO_ROOM.format(reason=error.strerror or type(error).__name__))
    except BaseException:
        _discard(job, path)
        raise
    job.start(opened)
    return JSONResponse(job.view())


@router.delete("/api/import")
async def stop_import(request: Request) -> dict[str, Any]:
    """Stop a running import after the conversation being written (those written stay), or clear a finished one."""
    job = _job(request)
    job.stop()
    return job.view()


async def _receive(request: Request, folder: Path) -> Path:
    """The request's body, written to a new file in `folder` as it arrives."""
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder)
    path = folder / f".upload-{uuid.uuid4().hex}.part"
    with open(path, "wb") as handle:
        try:
            async for chunk in request.stream():
                handle.write(chunk)
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
    return path


def _refused(job: ImportJob, path: Path | None, status: int, sentence: str) -> Response:
    _discard(job, path)
    return error_response(status, sentence)


def _discard(job: ImportJob, path: Path | None) -> None:
    job.release()
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _remove_leftovers(folder: Path) -> None:
    # Files of imports a crash interrupted (only one import runs at a time, and this one has not begun).
    for leftover in folder.glob(".upload-*.part"):
        with contextlib.suppress(OSError):
            leftover.unlink()

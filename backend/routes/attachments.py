"""`/api/attachments/…`: the limits the page states, the second phase of an upload, and an attachment's bytes.

The first phase (`attachments.create`) and removal (`attachments.delete`) are ChatKit protocol requests, answered
by `answer` below for `POST /chatkit`. Each route here checks its own credential: the app's token, or the
capability signed for exactly that attachment and purpose (`security.capability`), which is what ChatKit's frame
(for the upload) and an `<img>` tag (for a preview) can present.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from chatkit.store import NotFoundError
from chatkit.types import AttachmentsCreateReq, AttachmentsDeleteReq
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile

from ..attachments import AttachmentError, AttachmentFiles, Meta, content_disposition, limits
from ..dependencies import AttachmentsDep, ConfigDep
from ..security import bearer, capability, refuse_unauthorized, require_token, token_matches

router = APIRouter()

# An attachment shown inline may only be an image, and even then it may run nothing.
_INLINE_HEADERS = {"content-security-policy": "default-src 'none'; sandbox", "cache-control": "private, max-age=3600"}


@router.get("/api/attachments/limits")
async def attachment_limits(request: Request) -> dict[str, object]:
    """Size and count limits, accepted types and a sentence stating them."""
    await require_token(request)
    return limits()


@router.api_route("/api/attachments/{attachment_id}/upload", methods=["PUT", "POST"])
async def upload(attachment_id: str, request: Request, files: AttachmentsDep, config: ConfigDep) -> Response:
    """The bytes of an attachment created by `attachments.create`: raw (PUT), or a form's one file (POST)."""
    _allow(request, config.token, "upload", attachment_id)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        part = next((value for value in form.values() if isinstance(value, UploadFile)), None)
        data = await part.read() if part else b""
    else:
        data = await request.body()
    meta = await asyncio.to_thread(files.upload, attachment_id, data)
    return Response(_serialize(files, meta), media_type="application/json")


@router.get("/api/attachments/{attachment_id}/preview")
async def preview(attachment_id: str, request: Request, files: AttachmentsDep, config: ConfigDep) -> Response:
    """An image attachment's bytes, for `<img src>` (ChatKit's and the built-in face's thumbnails)."""
    _allow(request, config.token, "preview", attachment_id)
    meta = await asyncio.to_thread(files.load, attachment_id)
    if not meta.uploaded or meta.type != "image":
        raise NotFoundError(f"attachment {attachment_id} has no preview")
    return FileResponse(files.path(meta), media_type=meta.mime_type, headers=_INLINE_HEADERS)


@router.get("/api/attachments/{attachment_id}/file")
async def download(attachment_id: str, request: Request, files: AttachmentsDep, config: ConfigDep) -> Response:
    """An attachment's bytes as a download with the user's file name (never shown inline on this origin)."""
    _allow(request, config.token, "file", attachment_id)
    meta = await asyncio.to_thread(files.load, attachment_id)
    if not meta.uploaded:
        raise NotFoundError(f"attachment {attachment_id} has not been uploaded")
    headers = {"content-disposition": content_disposition(meta.name), "content-security-policy": "sandbox"}
    return FileResponse(files.path(meta), media_type=meta.mime_type, headers=headers)


async def answer(files: AttachmentsDep, request: AttachmentsCreateReq | AttachmentsDeleteReq) -> bytes:
    """ChatKit's `attachments.create` (first phase) and `attachments.delete`, as `ChatKitServer` answers them."""
    if isinstance(request, AttachmentsCreateReq):
        params = request.params
        meta = await asyncio.to_thread(files.create, params.name, params.size, params.mime_type)
        return _serialize(files, meta, upload=True)
    attachment_id = request.params.attachment_id
    meta = await asyncio.to_thread(files.load, attachment_id)
    if meta.thread_id is not None:
        raise AttachmentError(f"{meta.name} is part of a sent message; delete the conversation to remove it.")
    await asyncio.to_thread(files.delete, attachment_id)
    return b"{}"


def _allow(request: Request, token: str, purpose: Literal["upload", "preview", "file"], subject: str) -> None:
    """The app's token, or the capability for this purpose on this attachment: as the bearer for an upload (the
    descriptor's header), as `?sig=` for reading (a URL is all an `<img>` has)."""
    presented = bearer(request) if purpose == "upload" else request.query_params.get("sig")
    if token_matches(bearer(request), token) or token_matches(presented, capability(token, purpose, subject)):
        return
    raise refuse_unauthorized(request)


def _serialize(files: AttachmentFiles, meta: Meta, *, upload: bool = False) -> bytes:
    attachment = files.to_chatkit(meta, upload=upload)
    return attachment.model_dump_json(by_alias=True, exclude_none=True, context={"exclude_metadata": True}).encode()

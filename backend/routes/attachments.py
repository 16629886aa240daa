"""`/api/attachments/…`: the limits the page states, the second phase of an upload, and an attachment's bytes.

The first phase (`attachments.create`) and removal (`attachments.delete`) are ChatKit protocol requests, answered
by `answer` below for `POST /chatkit`. The limits and downloads want the app's token; the upload and the preview
take the token or the capability signed for exactly that attachment and purpose (`security.TokenOrCapability`),
which is what ChatKit's frame (for the upload) and an `<img>` tag (for a preview) can present.
"""

from __future__ import annotations

import asyncio

from chatkit.store import NotFoundError
from chatkit.types import AttachmentsCreateReq, AttachmentsDeleteReq
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile

from ..attachments import AttachmentError, AttachmentFiles, Meta, content_disposition, limits
from ..dependencies import AttachmentsDep
from ..security import BodyTooLarge, TokenOrCapability, require_token

# The bytes' routes, each with its own credential (below).
router = APIRouter()
# The limits and downloads are the page's, with its token like any other API route.
token_router = APIRouter(dependencies=[Depends(require_token)])

# An attachment shown inline may only be an image, and even then it may run nothing.
_INLINE_HEADERS = {"content-security-policy": "default-src 'none'; sandbox"}


@token_router.get("/api/attachments/limits")
async def attachment_limits() -> dict[str, object]:
    """Size and count limits, accepted types and a sentence stating them."""
    return limits()


@router.api_route(
    "/api/attachments/{attachment_id}/upload",
    methods=["PUT", "POST"],
    dependencies=[Depends(TokenOrCapability("upload"))],
)
async def upload(attachment_id: str, request: Request, files: AttachmentsDep) -> Response:
    """The bytes of an attachment created by `attachments.create`: raw (PUT), or a form's one file (POST)."""
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form(max_files=1)
            part = next((value for value in form.values() if isinstance(value, UploadFile)), None)
            data = await part.read() if part else b""
        else:
            data = await request.body()
    except BodyTooLarge:
        raise await asyncio.to_thread(files.too_large, attachment_id) from None
    meta = await asyncio.to_thread(files.upload, attachment_id, data)
    return Response(_serialize(files, meta), media_type="application/json")


@router.get("/api/attachments/{attachment_id}/preview", dependencies=[Depends(TokenOrCapability("preview"))])
async def preview(attachment_id: str, files: AttachmentsDep) -> Response:
    """An image attachment's bytes, for `<img src>` (ChatKit's and the built-in face's thumbnails)."""
    meta = await asyncio.to_thread(files.load, attachment_id)
    if not meta.uploaded or meta.type != "image":
        raise NotFoundError(f"attachment {attachment_id} has no preview")
    return FileResponse(files.path(meta), media_type=meta.mime_type, headers=_INLINE_HEADERS)


@token_router.get("/api/attachments/{attachment_id}/file")
async def download(attachment_id: str, files: AttachmentsDep) -> Response:
    """An attachment's bytes as a download with the user's file name (never shown inline on this origin)."""
    meta = await asyncio.to_thread(files.load, attachment_id)
    if not meta.uploaded:
        raise NotFoundError(f"attachment {attachment_id} has not been uploaded")
    headers = {"content-disposition": content_disposition(meta.name), "content-security-policy": "sandbox"}
    return FileResponse(files.path(meta), media_type=meta.mime_type, headers=headers)


async def answer(files: AttachmentFiles, request: AttachmentsCreateReq | AttachmentsDeleteReq) -> bytes:
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


def _serialize(files: AttachmentFiles, meta: Meta, *, upload: bool = False) -> bytes:
    attachment = files.to_chatkit(meta, upload=upload)
    return attachment.model_dump_json(by_alias=True, exclude_none=True, context={"exclude_metadata": True}).encode()

"""`POST /chatkit`: the ChatKit protocol. History reads are answered from the store at once; everything else
goes to the ChatKit server, which waits for the model layer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, AsyncIterator

from chatkit.store import NotFoundError
from chatkit.types import (
    AttachmentsCreateReq,
    AttachmentsDeleteReq,
    ChatKitReq,
    ItemsFeedbackReq,
    ItemsListReq,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadsDeleteReq,
    ThreadsGetByIdReq,
    ThreadsListReq,
    ThreadsRetryAfterItemReq,
    ThreadsUpdateReq,
)
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError

from .. import history
from ..attachments import MAX_COUNT, AttachmentError
from ..dependencies import AttachmentsDep, LoaderDep, StoreDep
from ..errors import error_response, malformed
from ..ids import check_id
from ..security import require_token
from ..store import JsonFileStore
from ..store_errors import ReadOnlyThreadError, StoreWriteError, UnsupportedError
from ..threadfile import NEWER_VERSION_REASON
from . import attachments

router = APIRouter(dependencies=[Depends(require_token)])

_request_adapter: TypeAdapter[ChatKitReq] = TypeAdapter(ChatKitReq)
_WRITES = (ThreadsAddUserMessageReq, ThreadsRetryAfterItemReq, ThreadsUpdateReq, ThreadsDeleteReq, ItemsFeedbackReq)
# What the ChatKit web component sends for chat and attachments; anything else (widgets' actions, tool outputs,
# dictation) is a feature this app does not offer yet and gets a clear 400 instead of a 500.
_SUPPORTED = (
    AttachmentsCreateReq,
    AttachmentsDeleteReq,
    ThreadsCreateReq,
    ThreadsAddUserMessageReq,
    ThreadsListReq,
    ThreadsGetByIdReq,
    ItemsListReq,
    ThreadsUpdateReq,
    ThreadsDeleteReq,
    ThreadsRetryAfterItemReq,
    ItemsFeedbackReq,
)


@router.post("/chatkit")
async def chatkit(request: Request, store: StoreDep, files: AttachmentsDep, loader: LoaderDep) -> Response:
    """One ChatKit request: a JSON answer, or a stream of server-sent events."""
    body = await request.body()
    try:
        parsed = _request_adapter.validate_json(body)
    except ValidationError as error:
        return error_response(400, malformed(error.errors(include_input=False, include_url=False)))
    await asyncio.to_thread(_precheck, store, parsed)
    if isinstance(parsed, history.READS):
        # Conversations show at once, while the model layer may still be loading.
        return Response(content=await history.answer(store, parsed), media_type="application/json")
    if isinstance(parsed, AttachmentsCreateReq | AttachmentsDeleteReq):
        # Files can be attached while the model layer loads too.
        return Response(content=await attachments.answer(files, parsed), media_type="application/json")
    server = await loader.chat_server()
    result = await server.process_parsed(parsed, {})
    # A stream is told from a JSON answer by what it is (an async iterable, as `StreamingResult` is): naming
    # `chatkit.server.StreamingResult` here would import the Agents SDK at start.
    if isinstance(result, AsyncIterable):
        return StreamingResponse(_saving_errors_as_events(result), media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")


@router.api_route("/chatkit/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
async def no_such_chatkit_route(rest: str) -> Response:
    """Anything under `/chatkit/` is the protocol's namespace too: the token first, then a 404."""
    return error_response(404, "There is no such ChatKit route.")


async def _saving_errors_as_events(stream: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """A failed save before the answer starts (the user's message) ends the stream with a sentence, not a cut."""
    try:
        async for chunk in stream:
            yield chunk
    except StoreWriteError as error:
        event = {"type": "error", "code": "custom", "message": error.message, "allow_retry": True}
        yield b"data: " + json.dumps(event).encode() + b"\n\n"


def _precheck(store: JsonFileStore, request: ChatKitReq) -> None:
    """Turn unknown ids into 404s (and unsafe ones into 400s) before a stream starts, not inside it."""
    if not isinstance(request, _SUPPORTED):
        raise UnsupportedError(f"{request.type} is not supported by ChatKit Desktop yet")
    params = request.params
    thread_id = getattr(params, "thread_id", None)
    if attached := getattr(getattr(params, "input", None), "attachments", None):
        _check_attachments(store, attached, thread_id)
    if thread_id is None:
        return
    if not store.thread_exists(thread_id):
        raise NotFoundError(f"thread {thread_id} not found")
    if isinstance(request, _WRITES) and store.is_read_only(thread_id):
        raise ReadOnlyThreadError(NEWER_VERSION_REASON)
    item_ids = [request.params.item_id] if isinstance(request, ThreadsRetryAfterItemReq) else []
    if isinstance(request, ItemsFeedbackReq):
        item_ids = request.params.item_ids
    for item_id in item_ids:
        check_id(item_id, "item id")
    if not item_ids:
        return
    types = store.item_types(thread_id, item_ids)
    if missing := [i for i in item_ids if i not in types]:
        raise NotFoundError(f"item {missing[0]} not found")
    if isinstance(request, ThreadsRetryAfterItemReq) and types[request.params.item_id] != "user_message":
        raise UnsupportedError("only a user message can be retried")


def _check_attachments(store: JsonFileStore, attachment_ids: list[str], thread_id: str | None) -> None:
    """A message may carry only files that were uploaded and not yet sent in another conversation."""
    if len(attachment_ids) > MAX_COUNT:
        raise AttachmentError(f"A message can carry at most {MAX_COUNT} files; send the rest in another message.")
    for attachment_id in attachment_ids:
        try:
            meta = store.attachments.load(attachment_id)
        except NotFoundError:
            raise AttachmentError(
                "An attached file is gone (removed, or never sent for a day); attach it again."
            ) from None
        if not meta.uploaded:
            raise AttachmentError(f"{meta.name} has not finished uploading; wait for it, then send.")
        if meta.thread_id not in (None, thread_id):
            raise AttachmentError(f"{meta.name} belongs to another conversation; attach the file again here.")

"""ChatKit's read requests (list threads, open one, page its items), answered from the store alone.

ChatKit's server module imports the Agents SDK, which takes seconds at start; the user's conversations must
show before that. These answers are the ones `chatkit.server.ChatKitServer` gives, byte for byte (a test
compares them): the same page sizes, the same hidden items left out, the same JSON options.
"""

from __future__ import annotations

from typing import Any

from chatkit.types import (
    HiddenContextItem,
    ItemsListReq,
    Page,
    SDKHiddenContextItem,
    Thread,
    ThreadItem,
    ThreadMetadata,
    ThreadsGetByIdReq,
    ThreadsListReq,
)
from pydantic import BaseModel

from .store import JsonFileStore

# ChatKit's page size when a request names none (`chatkit.server.DEFAULT_PAGE_SIZE`).
DEFAULT_PAGE_SIZE = 20

# What the list shows of a thread; its `metadata` stays private (as in `chatkit.server`'s answer).
_LISTED = ("id", "title", "created_at", "status", "allowed_image_domains")

HistoryRequest = ThreadsListReq | ThreadsGetByIdReq | ItemsListReq
READS = (ThreadsListReq, ThreadsGetByIdReq, ItemsListReq)


async def answer(store: JsonFileStore, request: HistoryRequest) -> bytes:
    """The JSON answer to one read request."""
    match request:
        case ThreadsListReq(params=params):
            limit = params.limit or DEFAULT_PAGE_SIZE
            threads, has_more, after = store.threads_listing(limit, params.after, params.order)
            listed: Page[Thread] = Page(has_more=has_more, after=after, data=[_listed(t) for t in threads])
            return _serialize(listed)
        case ThreadsGetByIdReq(params=params):
            # One after the other: the first reads the file into the cache, the second finds it there.
            thread = await store.load_thread(params.thread_id, None)
            items = await store.load_thread_items(params.thread_id, None, DEFAULT_PAGE_SIZE, "asc", None)
            return _serialize(_public(thread, items))
        case ItemsListReq(params=params):
            items = await store.load_thread_items(
                params.thread_id, params.after, params.limit or DEFAULT_PAGE_SIZE, params.order, None
            )
            items.data = _shown(items.data)
            return _serialize(items)


def _shown(items: list[ThreadItem]) -> list[ThreadItem]:
    # Context the model sees but the user never typed stays out of the conversation view.
    return [item for item in items if not isinstance(item, HiddenContextItem | SDKHiddenContextItem)]


def _listed(thread: dict[str, Any]) -> Thread:
    """A thread of the list, made from the index's JSON data in one step (no items)."""
    return Thread.model_validate({field: thread[field] for field in _LISTED if field in thread} | {"items": {}})


def _public(thread: ThreadMetadata, items: Page[ThreadItem] | None = None) -> Thread:
    """A thread as the page gets it: without its private metadata, with the visible items (if any)."""
    page = items or Page()
    page.data = _shown(page.data)
    return Thread(
        id=thread.id,
        title=thread.title,
        created_at=thread.created_at,
        items=page,
        status=thread.status,
        allowed_image_domains=thread.allowed_image_domains,
    )


def _serialize(value: BaseModel) -> bytes:
    return value.model_dump_json(by_alias=True, exclude_none=True, context={"exclude_metadata": True}).encode()

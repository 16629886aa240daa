"""`GET /api/search` (every conversation's messages and titles) and `GET /api/search/titles` (conversations by
title, for `@` references): what people typed, searched in the index, answered with titles and snippets."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from .. import search_text
from ..dependencies import StoreDep
from ..errors import error_response
from ..security import require_token
from ..store import JsonFileStore

router = APIRouter(dependencies=[Depends(require_token)])

_CURSOR = re.compile(r"[0-9]{1,9}")
TOO_LONG = f"A search can be at most {search_text.MAX_QUERY_CHARS} characters long; shorten it."


@router.get("/api/search")
async def search(
    store: StoreDep,
    q: str = "",
    limit: int = Query(20, ge=1, le=50),
    cursor: str = "",
    after: str = "",
    before: str = "",
) -> Any:
    """One page of conversations matching `q`, best first, each with its best message's snippet."""
    if len(q) > search_text.MAX_QUERY_CHARS:
        return error_response(400, TOO_LONG)
    if cursor and not _CURSOR.fullmatch(cursor):
        return error_response(400, "That page of results is not available any more; search again.")
    bounds = []
    for value, unbounded in ((after, ""), (before, "\uffff")):
        stored = _as_stored(value) if value else unbounded
        if stored is None:
            return error_response(400, f"“{value[:40]}” is not a date; use the form 2026-01-31.")
        bounds.append(stored)
    terms = search_text.parse(q)
    offset = int(cursor or 0)
    hits = []
    if terms:
        hits = await asyncio.to_thread(store.index.search, terms, limit + 1, offset, *bounds)
    # A conversation deleted a moment ago may still be in the index (it catches up in the background).
    results = [_result(store, hit, terms) for hit in hits[:limit] if store.listed(hit.thread_id)]
    more = len(hits) > limit
    return {
        "query": q,
        "results": results,
        "next_cursor": str(offset + limit) if more else None,
        "indexing": store.index.indexing,
    }


@router.get("/api/search/titles")
async def titles(store: StoreDep, q: str = "", limit: int = Query(8, ge=1, le=20)) -> Any:
    """Conversations whose title matches `q` (word prefixes), newest first; the newest ones for an empty `q`."""
    if len(q) > search_text.MAX_QUERY_CHARS:
        return error_response(400, TOO_LONG)
    terms = search_text.parse(q)
    if terms:
        ids = await asyncio.to_thread(store.index.titles, terms, limit)
    else:
        listed, _, _ = store.threads_listing(limit, None, "desc")
        ids = [str(thread["id"]) for thread in listed]
    return {"results": [_titled(store, thread_id) for thread_id in ids if store.listed(thread_id)]}


def _as_stored(value: str) -> str | None:
    """A date (`2026-01-31`) or date and time (`2026-01-31T09:30`, `…Z`, `…+02:00`, a space for the `T`) in the
    form the thread files hold times (this computer's local time, ISO, no zone), to compare with them; None if
    it is not a real date."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment.isoformat()


def _result(store: JsonFileStore, hit: Any, terms: list[search_text.Term]) -> dict[str, Any]:
    return {
        **_titled(store, hit.thread_id),
        "item_id": hit.item_id,
        "role": hit.role,
        "created_at": hit.created_at,
        "snippet": search_text.snippet(hit.text, terms),
        "hits": hit.hits,
    }


def _titled(store: JsonFileStore, thread_id: str) -> dict[str, Any]:
    thread = store.listed(thread_id) or {}
    return {"thread_id": thread_id, "title": thread.get("title") or "", "created_at": thread.get("created_at")}

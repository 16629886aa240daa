"""`GET /api/models`: the models the picker offers, grouped by provider, favourites first; and
`GET /api/threads/{id}/model`: the model a conversation was last answered by, which the picker selects when it
is opened (ChatKit keeps a thread's metadata out of its protocol's answers, so the page asks here)."""

from __future__ import annotations

from typing import Any

from chatkit.store import NotFoundError
from fastapi import APIRouter, Depends

from ..dependencies import KeysDep, ListsDep, LocalDep, SettingsDep, StoreDep
from ..offered import groups, picker
from ..security import require_token

router = APIRouter(dependencies=[Depends(require_token)])


@router.get("/api/models")
async def models(
    settings: SettingsDep, keys: KeysDep, lists: ListsDep, local: LocalDep, refresh: bool = False
) -> dict[str, Any]:
    """The default model, the picker's flat list and every provider's group (`refresh`: ask every provider
    for its list now)."""
    effective = settings.effective()
    offered = await groups(effective, keys, lists, local, refresh=refresh)
    return {
        "default": effective.default_model,
        "models": picker(offered, effective),
        "groups": [group.view(effective) for group in offered],
    }


@router.get("/api/threads/{thread_id}/model")
async def thread_model(thread_id: str, store: StoreDep) -> dict[str, str | None]:
    """`{"model": id}`: the model that answered the conversation's last message (null before any answer)."""
    thread = store.listed(thread_id)
    if thread is None:
        raise NotFoundError(f"thread {thread_id} not found")
    model = (thread.get("metadata") or {}).get("model")
    return {"model": model if isinstance(model, str) else None}

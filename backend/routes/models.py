"""`GET /api/models`: the models the picker offers, grouped by provider, favourites first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ..dependencies import KeysDep, ListsDep, LocalDep, SettingsDep
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

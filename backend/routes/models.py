"""`GET /api/models`: the models the composer offers."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Depends

from ..dependencies import KeysDep, SettingsDep
from ..providers import provider_of
from ..routing import available_models
from ..security import require_token
from ..settings import Settings

router = APIRouter(dependencies=[Depends(require_token)])


@router.get("/api/models")
async def models(settings: SettingsDep, keys: KeysDep) -> dict[str, Any]:
    """The default model, the catalogs of providers with a key, and what a local server lists."""
    effective = settings.effective()
    offered = available_models(effective, keys)
    if effective.api_base:
        offered += await _local_models(effective)
    return {"default": effective.default_model, "models": offered}


async def _local_models(settings: Settings) -> list[dict[str, str | bool]]:
    """Models a reachable OpenAI-compatible server (Ollama, LM Studio, vLLM) lists at `<base>/models`."""
    prefix = provider_of(settings.default_model)
    try:
        async with httpx.AsyncClient(timeout=1.5) as client:
            response = await client.get(f"{settings.api_base}/models")
            response.raise_for_status()
            names = [m["id"] for m in response.json().get("data", []) if isinstance(m.get("id"), str)]
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        return []
    return [
        {"id": f"{prefix}/{name}", "label": name, "default": f"{prefix}/{name}" == settings.default_model}
        for name in names
        if f"{prefix}/{name}" != settings.default_model
    ]

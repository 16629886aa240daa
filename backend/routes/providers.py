"""`/api/providers`: every provider with its address, key (masked) and status; adding, changing and removing a
custom OpenAI-compatible one; a built-in's key and address (a proxy, a gateway); a local server's address; and
"check", which asks the provider for its models with its key and says in one sentence how that went."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..dependencies import KeysDep, ListsDep, LocalDep, SettingsDep
from ..errors import error_response
from ..keys import SecretStore
from ..local_servers import LocalServers, root_of
from ..model_lists import OWN_API, Listed, ListError, ModelLists, fetch
from ..providers import KEYED, LOCAL, PROVIDERS, is_local_url, slug_for
from ..routing import MissingKeyError
from ..security import require_token
from ..settings import CustomProvider, Settings, http_url

router = APIRouter(dependencies=[Depends(require_token)])

_BAD_URL = "The base URL must start with http:// or https:// (for example https://openrouter.ai/api/v1)."


class NewProvider(BaseModel):
    """`POST /api/providers`: an OpenAI-compatible endpoint to add."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=60)
    base_url: str = Field(max_length=500)
    api_key: str | None = Field(None, max_length=500)


class ProviderChange(BaseModel):
    """`PUT /api/providers/{id}`: only the fields sent change; an `api_key` of "" or null forgets the key, a
    `base_url` of "" or null goes back to the provider's own address, a `reasoning_effort` of null to the model's
    own."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=60)
    base_url: str | None = Field(None, max_length=500)
    api_key: str | None = Field(None, max_length=500)
    reasoning_effort: Literal["low", "medium", "high"] | None = None


@router.get("/api/providers")
async def list_providers(settings: SettingsDep, keys: KeysDep, lists: ListsDep, local: LocalDep) -> dict[str, Any]:
    """Built-in providers, local servers, then custom endpoints by name."""
    effective = settings.effective()
    ids = [*KEYED, *LOCAL, *(p.id for p in sorted(effective.providers, key=lambda p: p.name.casefold()))]
    return {"providers": [_view(p, effective, keys, lists, local) for p in ids]}


@router.post("/api/providers", status_code=201)
async def add_provider(new: NewProvider, settings: SettingsDep, keys: KeysDep, lists: ListsDep, local: LocalDep) -> Any:
    """Add a custom endpoint; its id is made from its name."""
    stored = settings.load()
    name = " ".join(new.name.split())
    refused = _check_name(name, stored, None) or _check_url(new.base_url)
    if refused:
        return error_response(400, refused)
    custom = CustomProvider(
        id=slug_for(name, {p.id for p in stored.providers}), name=name, base_url=str(http_url(new.base_url))
    )
    settings.save(stored.model_copy(update={"providers": [*stored.providers, custom]}))
    if new.api_key and new.api_key.strip():
        await asyncio.to_thread(keys.set, custom.id, new.api_key)
    return JSONResponse(_view(custom.id, settings.effective(), keys, lists, local), status_code=201)


@router.put("/api/providers/{provider}")
async def change_provider(
    provider: str, change: ProviderChange, settings: SettingsDep, keys: KeysDep, lists: ListsDep, local: LocalDep
) -> Any:
    """Change a custom endpoint, a built-in's key or address, or a local server's address."""
    stored = settings.load()
    sent = change.model_dump(exclude_unset=True)
    custom = stored.custom(provider)
    info = PROVIDERS.get(provider)
    if custom is None and (info is None or info.kind == "litellm"):
        return error_response(404, "There is no such provider.")
    if "name" in sent and custom is None:
        return error_response(400, f"{info.label if info else provider} is built in; its name cannot change.")
    if "api_key" in sent and info is not None and info.kind == "local":
        return error_response(400, f"{info.label} runs on this computer and takes no key.")
    url = sent.get("base_url")
    refused = (_check_name(" ".join(str(sent["name"]).split()), stored, provider) if "name" in sent else None) or (
        _check_url(url) if url or (custom is not None and "base_url" in sent) else None
    )
    if refused:
        return error_response(400, refused)
    if "reasoning_effort" in sent:
        efforts = {k: v for k, v in stored.reasoning_effort.items() if k != provider}
        effort = sent.pop("reasoning_effort")
        stored = stored.model_copy(update={"reasoning_effort": efforts | ({provider: effort} if effort else {})})
        settings.save(stored)
    if custom is not None:
        changed = custom.model_copy(
            update={k: (" ".join(v.split()) if k == "name" else http_url(v)) for k, v in sent.items() if k != "api_key"}
        )
        providers = [changed if p.id == provider else p for p in stored.providers]
        settings.save(stored.model_copy(update={"providers": providers}))
    elif "base_url" in sent:
        urls = {k: v for k, v in stored.provider_urls.items() if k != provider}
        settings.save(
            stored.model_copy(update={"provider_urls": urls | ({provider: str(http_url(url))} if url else {})})
        )
    if "api_key" in sent:
        await asyncio.to_thread(keys.set, provider, sent["api_key"])
    lists.forget(provider)
    return _view(provider, settings.effective(), keys, lists, local)


@router.delete("/api/providers/{provider}")
async def remove_provider(provider: str, settings: SettingsDep, keys: KeysDep, lists: ListsDep) -> Response:
    """Remove a custom endpoint and forget its key."""
    stored = settings.load()
    if stored.custom(provider) is None:
        info = PROVIDERS.get(provider)
        if info is None:
            return error_response(404, "There is no such provider.")
        return error_response(400, f"{info.label} is built in and cannot be removed.")
    settings.save(stored.model_copy(update={"providers": [p for p in stored.providers if p.id != provider]}))
    await asyncio.to_thread(keys.set, provider, None)
    lists.forget(provider)
    return Response(status_code=204)


@router.post("/api/providers/{provider}/check")
async def check_provider(
    provider: str, settings: SettingsDep, keys: KeysDep, lists: ListsDep, local: LocalDep
) -> dict[str, Any]:
    """Ask the provider for its models, with its key: whether that worked, in a sentence, and how many."""
    effective = settings.effective()
    info = PROVIDERS.get(provider)
    if info is not None and info.kind == "local":
        found = await local.look_at(provider, effective, fresh_s=0)
        if not found.running:
            return {"ok": False, "message": found.not_running(), "models": None}
        return {
            "ok": True,
            "message": f"{found.name} is running at {found.root}; {_count(found.models)}.",
            "models": len(found.models),
        }
    custom = effective.custom(provider)
    if custom is None and provider not in KEYED:
        return {"ok": False, "message": "There is no such provider.", "models": None}
    name = custom.name if custom else PROVIDERS[provider].label
    base = custom.base_url if custom else effective.provider_urls.get(provider)
    key = keys.key_for(provider)
    if custom is None and key is None and base is None:
        return {"ok": False, "message": str(MissingKeyError(provider)), "models": None}
    try:
        models = await fetch(provider, name, base, key)
    except ListError as error:
        return {"ok": False, "message": str(error), "models": None}
    await lists.put(provider, Listed(models, time.time()))
    said = "the key works; " if key else ""
    return {"ok": True, "message": f"{name} answered; {said}{_count(models)}.", "models": len(models)}


def _view(
    provider: str, settings: Settings, keys: SecretStore, lists: ModelLists, local: LocalServers
) -> dict[str, Any]:
    custom = settings.custom(provider)
    info = PROVIDERS.get(provider)
    if custom is None and info is not None and info.kind == "local":
        return _local_view(provider, settings, local)
    listed = lists.get(provider)
    base = custom.base_url if custom else settings.provider_urls.get(provider)
    name = custom.name if custom else PROVIDERS[provider].label
    warning = None
    if base and base.startswith("http://") and not is_local_url(base):
        warning = (
            f"{name} is reached over plain http: the key and your messages travel unencrypted. Use https:// unless "
            "it is on your own network."
        )
    return {
        "id": provider,
        "name": name,
        "kind": "custom" if custom else "builtin",
        "base_url": base,
        "default_base_url": None if custom else OWN_API.get(provider),
        "needs_key": custom is None,
        "key": keys.info(provider).__dict__,
        "status": {
            "reachable": None if listed is None else listed.error is None,
            "models": len(listed.models) if listed and listed.error is None else None,
            "message": listed.error if listed else None,
        },
        "warning": warning,
        "reasoning_effort": settings.reasoning_effort.get(provider),
    }


def _local_view(provider: str, settings: Settings, local: LocalServers) -> dict[str, Any]:
    found = local.last(provider)
    return {
        "id": provider,
        "name": PROVIDERS[provider].label,
        "kind": "local",
        "base_url": settings.provider_urls.get(provider),
        # Where it answers unless an address is set here: its usual one, or Ollama's own OLLAMA_HOST.
        "default_base_url": root_of(provider, settings.model_copy(update={"provider_urls": {}})),
        "needs_key": False,
        "key": None,
        "status": {
            "reachable": found.running if found else None,
            "models": len(found.models) if found and found.running else None,
            "message": found.not_running() if found and not found.running else None,
        },
        "warning": None,
        "reasoning_effort": settings.reasoning_effort.get(provider),
    }


def _check_name(name: str, stored: Settings, own: str | None) -> str | None:
    if not name:
        return "Give the provider a name (for example OpenRouter)."
    taken = {p.name.casefold() for p in stored.providers if p.id != own} | {
        i.label.casefold() for i in PROVIDERS.values()
    }
    if name.casefold() in taken:
        return f"A provider called {name} exists already; pick another name."
    return None


def _check_url(url: str | None) -> str | None:
    try:
        return None if http_url(url) else _BAD_URL
    except ValueError:
        return _BAD_URL


def _count(models: tuple[str, ...]) -> str:
    return "1 model" if len(models) == 1 else f"{len(models):,} models"

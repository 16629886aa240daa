"""`/api/settings` and `/api/keys/check`: what the Settings dialog reads, changes and checks.

Keys come back masked only (`keys.KeyInfo`); a key typed for a check is sent to its own provider and nowhere else.
"""

from __future__ import annotations

import asyncio
import copy
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from .. import providers, proxy
from ..dependencies import KeysDep, LoaderDep, SettingsDep
from ..keys import SecretStore
from ..providers import KeyedProvider
from ..routing import MissingKeyError, check_route, setup_needed
from ..security import require_token
from ..settings import Settings, SettingsFile

router = APIRouter(dependencies=[Depends(require_token)])
# Settings changed through their own routes (`/api/providers`), where they are checked as a whole.
_OWN_ROUTES = ("providers", "provider_urls", "reasoning_effort")


def _optional(field: FieldInfo) -> tuple[Any, FieldInfo]:
    # The same type and bounds as the setting itself, but absent unless sent.
    info = copy.copy(field)
    info.default, info.default_factory = None, None
    annotation: Any = field.annotation  # never None on a model's own fields, which pydantic's type allows
    return annotation | None, info


if TYPE_CHECKING:
    # mypy cannot see fields that create_model adds, nor take its result as a type: this is what
    # `put_settings` reads of the model built below.
    class SettingsUpdate(BaseModel):
        keys: dict[KeyedProvider, str | None] | None = None

else:
    SettingsUpdate = create_model(
        "SettingsUpdate",
        __config__=ConfigDict(extra="forbid"),
        __doc__='`PUT /api/settings`: only the fields present change; a key of "" or null forgets that key.',
        keys=(dict[KeyedProvider, str | None] | None, None),
        **{name: _optional(field) for name, field in Settings.model_fields.items() if name not in _OWN_ROUTES},
    )


class KeyCheck(BaseModel):
    """`POST /api/keys/check`: try a key (the one typed, or else the saved one) with one tiny request."""

    model_config = ConfigDict(extra="forbid")

    provider: KeyedProvider
    key: str | None = Field(None, max_length=500)


@router.get("/api/settings")
async def get_settings(settings: SettingsDep, keys: KeysDep) -> dict[str, Any]:
    """The settings, masked keys and the facts the dialog shows."""
    return _view(settings, keys)


@router.put("/api/settings")
async def put_settings(update: SettingsUpdate, settings: SettingsDep, keys: KeysDep) -> dict[str, Any]:
    """Change the settings and keys sent; answer with the new view."""
    changes = update.model_dump(exclude_unset=True, exclude={"keys"})
    if changes:
        current = settings.load()
        settings.save(Settings.model_validate(current.model_dump() | changes))
        if "proxy" in changes:
            proxy.apply(settings.effective().proxy)
    for provider, key in (update.keys or {}).items():
        await asyncio.to_thread(keys.set, provider, key)
    return _view(settings, keys)


@router.post("/api/keys/check")
async def check_key(check: KeyCheck, settings: SettingsDep, keys: KeysDep, loader: LoaderDep) -> dict[str, Any]:
    """One tiny request to the provider with the key; whether it worked, in a sentence."""
    effective = settings.effective()
    try:
        target = check_route(check.provider, check.key, effective, keys)
    except MissingKeyError as error:
        return {"ok": False, "message": str(error)}
    models = await loader.model_layer()
    ok, message = await models.check_key(target, effective.request_timeout)
    return {"ok": ok, "message": message}


def _view(settings_file: SettingsFile, keys: SecretStore) -> dict[str, Any]:
    settings = settings_file.effective()
    return {
        "settings": settings.model_dump(),
        "setup_needed": setup_needed(settings, keys),
        "overridden": settings_file.overridden(),
        "keys": [info.__dict__ for info in keys.describe()],
        "key_storage": keys.backend,
        "providers": providers.for_page(),
        "setup_provider": providers.setup_provider(settings.default_model),
    }

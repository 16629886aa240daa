"""What the model picker offers: every provider that can answer (a built-in one with a key, a local server that is
running, each custom endpoint) with its models — its own list where it gave one, else the built-in catalog — the
default model always among them, the user's favourites first and hidden models left out of the picker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .keys import SecretStore
from .local_servers import LocalServers, root_of
from .model_lists import ModelLists, catalog_names
from .providers import KEYED, LOCAL, PROVIDERS, model_label, provider_of
from .settings import Settings


@dataclass
class Group:
    """One provider's part of the picker."""

    provider: str
    name: str
    kind: Literal["builtin", "local", "custom", "litellm"]
    available: bool
    message: str | None
    models: list[str]

    def view(self, settings: Settings) -> dict[str, Any]:
        """The group as `GET /api/models` answers it."""
        favourites, hidden = set(settings.favourite_models), set(settings.hidden_models)
        return {
            "provider": self.provider,
            "name": self.name,
            "kind": self.kind,
            "available": self.available,
            "message": self.message,
            "models": [
                {
                    "id": model,
                    "label": label(model),
                    "favourite": model in favourites,
                    "hidden": model in hidden,
                    "default": model == settings.default_model,
                }
                for model in self.models
            ],
        }


def label(model: str) -> str:
    """A model's name in the picker: the catalog's, else its id without the provider."""
    return model_label(model)


def wanted_lists(settings: Settings, keys: SecretStore) -> dict[str, tuple[str, str | None, str | None]]:
    """The providers whose own lists are asked for: built-ins with a key or an address of their own, every custom
    endpoint."""
    wanted: dict[str, tuple[str, str | None, str | None]] = {}
    for provider in KEYED:
        key, base = keys.key_for(provider), settings.provider_urls.get(provider)
        if key or base:
            wanted[provider] = (PROVIDERS[provider].label, base, key)
    for custom in settings.providers:
        wanted[custom.id] = (custom.name, custom.base_url, keys.key_for(custom.id))
    return wanted


async def groups(
    settings: Settings, keys: SecretStore, lists: ModelLists, local: LocalServers, *, refresh: bool = False
) -> list[Group]:
    """Every provider's group, in the order Settings shows providers; local servers looked at if stale."""
    await lists.refresh(wanted_lists(settings, keys), force=refresh)
    found = await local.look(settings, fresh_s=0 if refresh else 5.0)
    offered: list[Group] = []
    for keyed in KEYED:
        has_key = keys.key_for(keyed) is not None or keyed in settings.provider_urls
        listed = lists.get(keyed)
        names = listed.models if listed and listed.models else catalog_names(keyed)
        message = listed.error if listed else None
        offered.append(Group(keyed, PROVIDERS[keyed].label, "builtin", has_key, message, _ids(keyed, names)))
    for server in LOCAL:
        seen = found[server]
        message = None if seen.running else f"Not running at {root_of(server, settings)}."
        offered.append(Group(server, seen.name, "local", seen.running, message, _ids(server, seen.models)))
    for custom in sorted(settings.providers, key=lambda p: p.name.casefold()):
        listed = lists.get(custom.id)
        names = listed.models if listed else ()
        message = listed.error if listed else None
        offered.append(Group(custom.id, custom.name, "custom", True, message, _ids(custom.id, names)))
    _with_default(offered, settings.default_model)
    return offered


def picker(offered: list[Group], settings: Settings) -> list[dict[str, Any]]:
    """The flat list the picker shows: favourites first, then provider by provider; hidden ones left out, and
    the models of providers that cannot answer now."""
    hidden = set(settings.hidden_models)
    shown = {m: g for g in offered if g.available for m in g.models if m not in hidden or m == settings.default_model}
    order = [m for m in settings.favourite_models if m in shown]
    order += [m for g in offered if g.available for m in g.models if m in shown and m not in order]
    favourites = set(settings.favourite_models)
    return [
        {
            "id": model,
            "label": label(model),
            "provider": shown[model].provider,
            "provider_name": shown[model].name,
            "default": model == settings.default_model,
            "favourite": model in favourites,
        }
        for model in order
    ]


def _ids(provider: str, names: tuple[str, ...] | list[str]) -> list[str]:
    return [f"{provider}/{name}" for name in names]


def _with_default(offered: list[Group], default: str) -> None:
    # The default model is always offered, in its provider's group (first), or in a group of its own.
    provider = provider_of(default)
    group = next((g for g in offered if g.provider == provider), None)
    if group is None:
        info = PROVIDERS.get(provider)
        group = Group(provider, info.label if info else provider, "litellm", True, None, [])
        offered.append(group)
    if default not in group.models:
        group.models.insert(0, default)
    group.available = True

"""Which provider a message goes to, with which key and base URL; the models offered in the composer."""

from __future__ import annotations

from dataclasses import dataclass

from .keys import SecretStore
from .providers import PROVIDERS, label_of, model_label, provider_of
from .settings import Settings


class MissingKeyError(Exception):
    """The chosen model's provider needs a key and none is set."""

    def __init__(self, provider: str) -> None:
        info = PROVIDERS.get(provider)
        where = f" (get one at {info.key_url})" if info and info.key_url else ""
        super().__init__(f"No API key for {label_of(provider)} yet. Open Settings and add one{where}.")


@dataclass(frozen=True)
class Route:
    """Everything LiteLLM needs to reach one model."""

    model: str
    provider: str
    api_key: str | None
    api_base: str | None

    @property
    def label(self) -> str:
        """The provider's name as people know it."""
        return label_of(self.provider)


def route(model: str | None, settings: Settings, keys: SecretStore) -> Route:
    """Resolve a model id (or the default) into a Route; raise MissingKeyError when no key is set."""
    model = (model or settings.default_model).strip()
    provider = provider_of(model)
    # The base URL belongs to the default model's provider (an Ollama or LM Studio server, a proxy).
    api_base = settings.api_base if provider == provider_of(settings.default_model) else None
    key = keys.key_for(provider)
    info = PROVIDERS.get(provider)
    if key is None and info is not None and not info.keyless and api_base is None:
        raise MissingKeyError(provider)
    if key is None and (api_base is not None or (info is not None and info.keyless)):
        # Local OpenAI-compatible servers ignore the key, but the client libraries insist on one.
        key = "local"
    return Route(model=model, provider=provider, api_key=key, api_base=api_base)


def check_route(provider: str, key: str | None, settings: Settings, keys: SecretStore) -> Route:
    """Where a "check key" call for `provider` goes: the default model when it is that provider's (with its
    base URL), else the provider's smallest catalog model; `key` (typed, not yet saved) wins over the saved one.
    """
    if provider_of(settings.default_model) == provider:
        model, api_base = settings.default_model, settings.api_base
    else:
        model, api_base = PROVIDERS[provider].catalog[-1][0], None
    key = (key or "").strip() or keys.key_for(provider)
    if key is None:
        raise MissingKeyError(provider)
    return Route(model=model, provider=provider, api_key=key, api_base=api_base)


def setup_needed(settings: Settings, keys: SecretStore) -> bool:
    """Whether the default model cannot answer yet because its provider has no key (first run)."""
    try:
        route(None, settings, keys)
    except MissingKeyError:
        return True
    return False


def available_models(settings: Settings, keys: SecretStore) -> list[dict[str, str | bool]]:
    """The models the composer offers: the default, plus the catalog of every provider that has a key."""
    offered: list[dict[str, str | bool]] = []
    seen: set[str] = set()

    def add(model_id: str, label: str) -> None:
        if model_id not in seen:
            seen.add(model_id)
            offered.append({"id": model_id, "label": label, "default": model_id == settings.default_model})

    add(settings.default_model, model_label(settings.default_model))
    for provider, info in PROVIDERS.items():
        if info.catalog and keys.key_for(provider):
            for model_id, label in info.catalog:
                add(model_id, label)
    return offered

"""Which provider a message goes to, with which key and base URL.

A key goes to its own provider only: a built-in's to its API (or the address the user set for it), a custom
provider's to its base URL; local servers get a placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass

from .keys import SecretStore
from .local_servers import root_of
from .providers import PROVIDERS, is_local_url, label_of, provider_of
from .settings import Settings

# The client libraries insist on a key; a local server or a keyless endpoint ignores it.
PLACEHOLDER_KEY = "local"


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
    """The id LiteLLM is given (`openai/<model>` for a local server or a custom provider)."""
    provider: str
    api_key: str | None
    api_base: str | None
    name: str | None = None
    """The provider's name, when it is not a built-in one (a custom provider's)."""

    @property
    def label(self) -> str:
        """The provider's name as people know it."""
        return self.name or label_of(self.provider)

    @property
    def local(self) -> bool:
        """Whether the model runs on this computer (Ollama, LM Studio, or any server at 127.0.0.1)."""
        info = PROVIDERS.get(self.provider)
        return (info is not None and info.keyless) or is_local_url(self.api_base)


def route(model: str | None, settings: Settings, keys: SecretStore) -> Route:
    """Resolve a model id (or the default) into a Route; raise MissingKeyError when no key is set."""
    model = (model or settings.default_model).strip()
    provider = provider_of(model)
    name = model.split("/", 1)[-1]
    custom = settings.custom(provider)
    if custom is not None:
        return Route(
            f"openai/{name}", provider, keys.key_for(custom.id) or PLACEHOLDER_KEY, custom.base_url, custom.name
        )
    info = PROVIDERS.get(provider)
    if info is not None and info.kind == "local":
        return Route(f"openai/{name}", provider, PLACEHOLDER_KEY, f"{root_of(provider, settings)}/v1")
    api_base = settings.provider_urls.get(provider)
    # With a base URL of its own (a proxy, a gateway, a local server standing in for it), a built-in provider's key
    # goes there: the user pointed that provider at it. Without a key, such a server is taken to want none.
    key = keys.key_for(provider)
    if key is None and info is not None and not info.keyless and api_base is None:
        raise MissingKeyError(provider)
    if key is None and (api_base is not None or (info is not None and info.keyless)):
        key = PLACEHOLDER_KEY
    return Route(model=model, provider=provider, api_key=key, api_base=api_base)


def check_route(provider: str, key: str | None, settings: Settings, keys: SecretStore) -> Route:
    """Where a "check key" call for `provider` goes: the default model when it is that provider's (with its
    base URL), else the provider's smallest catalog model; `key` (typed, not yet saved) wins over the saved one.
    """
    if provider_of(settings.default_model) == provider:
        model = settings.default_model
    else:
        model = PROVIDERS[provider].catalog[-1][0]
    api_base = settings.provider_urls.get(provider)
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

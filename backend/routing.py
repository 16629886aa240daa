"""Which model a message goes to, with which key and base URL; the models offered in the composer."""

from __future__ import annotations

from dataclasses import dataclass

from .keys import ENV_KEYS, SecretStore
from .settings import Settings

PROVIDER_LABELS: dict[str, str] = {
    "gemini": "Gemini",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "ollama": "Ollama",
    "ollama_chat": "Ollama",
    "lm_studio": "LM Studio",
    "hosted_vllm": "vLLM",
}
KEY_URLS: dict[str, str] = {
    "gemini": "https://aistudio.google.com/apikey",
    "openai": "https://platform.openai.com/api-keys",
    "anthropic": "https://console.anthropic.com/settings/keys",
}
# Providers that run on the user's machine and want no key.
KEYLESS = {"ollama", "ollama_chat", "lm_studio", "hosted_vllm"}

# A short, current list per provider; every id is in LiteLLM's bundled model map (a test checks). Each list
# is largest model first, so the last is the cheapest to "check a key" with.
CATALOG: dict[str, list[tuple[str, str]]] = {
    "gemini": [
        ("gemini/gemini-2.5-flash", "Gemini 2.5 Flash"),
        ("gemini/gemini-2.5-pro", "Gemini 2.5 Pro"),
        ("gemini/gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite"),
    ],
    "openai": [
        ("openai/gpt-5-mini", "GPT-5 mini"),
        ("openai/gpt-5", "GPT-5"),
        ("openai/gpt-4.1-mini", "GPT-4.1 mini"),
    ],
    "anthropic": [
        ("anthropic/claude-sonnet-4-5", "Claude Sonnet 4.5"),
        ("anthropic/claude-haiku-4-5", "Claude Haiku 4.5"),
    ],
}


class MissingKeyError(Exception):
    """The chosen model's provider needs a key and none is set."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        label = provider_label(provider)
        where = f" (get one at {KEY_URLS[provider]})" if provider in KEY_URLS else ""
        super().__init__(f"No API key for {label} yet. Open Settings and add one{where}.")


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
        return provider_label(self.provider)


def provider_of(model: str) -> str:
    """LiteLLM's provider prefix of a model id (`gemini/…` → `gemini`); bare ids are OpenAI's."""
    return model.split("/", 1)[0] if "/" in model else "openai"


def provider_label(provider: str) -> str:
    """A provider's display name."""
    return PROVIDER_LABELS.get(provider, provider)


def route(model: str | None, settings: Settings, keys: SecretStore) -> Route:
    """Resolve a model id (or the default) into a Route; raise MissingKeyError when no key is set."""
    model = (model or settings.default_model).strip()
    provider = provider_of(model)
    # The base URL belongs to the default model's provider (an Ollama or LM Studio server, a proxy).
    api_base = settings.api_base if provider == provider_of(settings.default_model) else None
    key = keys.key_for(provider)
    if key is None and provider in ENV_KEYS and api_base is None:
        raise MissingKeyError(provider)
    if key is None and (api_base is not None or provider in KEYLESS):
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
        model, api_base = CATALOG[provider][-1][0], None
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

    add(settings.default_model, label_for(settings.default_model))
    for provider, models in CATALOG.items():
        if keys.key_for(provider):
            for model_id, label in models:
                add(model_id, label)
    return offered


def label_for(model_id: str) -> str:
    """A readable name for a model id: the catalog's, else the id without its provider prefix."""
    for models in CATALOG.values():
        for known, label in models:
            if known == model_id:
                return label
    return model_id.split("/", 1)[-1]

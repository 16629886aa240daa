"""The one table of model providers: who they are, how people know them, where their key comes from, what
they offer. Everything else (routing, keys, the command line's help, the Settings page) reads it from here.

A model id is `<provider>/<model>`. Built-in providers are reached with their key (or through a base URL the user
sets: a proxy, a gateway); local ones (Ollama, LM Studio) are found on this computer and want no key; custom ones
are OpenAI-compatible endpoints the user adds in Settings (`settings.CustomProvider`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

KeyedProvider = Literal["gemini", "openai", "anthropic"]
"""The providers whose key the user enters (or sets in the environment)."""


@dataclass(frozen=True)
class ProviderInfo:
    """One provider, by its LiteLLM prefix."""

    id: str
    label: str
    env_key: str | None = None
    """The environment variable that holds its key; None for servers that want no key."""
    key_url: str | None = None
    """Where a person gets a key."""
    catalog: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """A short, current list of (LiteLLM id, label), largest first: the last is the cheapest to check a key with.
    Every id is in LiteLLM's bundled model map (a test checks)."""
    reads_pdf: bool = False
    """Takes a PDF as a document (LiteLLM maps it to the provider's own format); others get the PDF's text."""
    kind: Literal["builtin", "local", "litellm"] = "builtin"
    """`local`: a server on this computer, found by itself and reached at its OpenAI-compatible `/v1`; `litellm`:
    another LiteLLM prefix, passed through as it is (an id in settings from before custom providers)."""
    default_root: str | None = None
    """Where a local server answers unless the user says otherwise."""

    @property
    def keyless(self) -> bool:
        """Runs on the user's machine and wants no key (Ollama, LM Studio, vLLM)."""
        return self.env_key is None


PROVIDERS: dict[str, ProviderInfo] = {
    info.id: info
    for info in (
        ProviderInfo(
            "gemini",
            "Gemini",
            "GEMINI_API_KEY",
            "https://aistudio.google.com/apikey",
            (
                ("gemini/gemini-2.5-flash", "Gemini 2.5 Flash"),
                ("gemini/gemini-2.5-pro", "Gemini 2.5 Pro"),
                ("gemini/gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite"),
            ),
            reads_pdf=True,
        ),
        ProviderInfo(
            "openai",
            "OpenAI",
            "OPENAI_API_KEY",
            "https://platform.openai.com/api-keys",
            (
                ("openai/gpt-5-mini", "GPT-5 mini"),
                ("openai/gpt-5", "GPT-5"),
                ("openai/gpt-4.1-mini", "GPT-4.1 mini"),
            ),
            reads_pdf=True,
        ),
        ProviderInfo(
            "anthropic",
            "Anthropic",
            "ANTHROPIC_API_KEY",
            "https://console.anthropic.com/settings/keys",
            (
                ("anthropic/claude-sonnet-4-5", "Claude Sonnet 4.5"),
                ("anthropic/claude-haiku-4-5", "Claude Haiku 4.5"),
            ),
            reads_pdf=True,
        ),
        ProviderInfo("ollama", "Ollama", kind="local", default_root="http://127.0.0.1:11434"),
        ProviderInfo("lm_studio", "LM Studio", kind="local", default_root="http://127.0.0.1:1234"),
        ProviderInfo("ollama_chat", "Ollama", kind="litellm"),
        ProviderInfo("hosted_vllm", "vLLM", kind="litellm"),
    )
}
KEYED: tuple[KeyedProvider, ...] = ("gemini", "openai", "anthropic")
"""The providers with a key, in the order Settings shows them."""
FIRST_RUN_PROVIDER: KeyedProvider = "gemini"
"""Whose key the first-run dialog asks for when the default model's provider wants none."""
LOCAL: tuple[str, ...] = tuple(p for p, info in PROVIDERS.items() if info.kind == "local")
"""The servers on this computer that are looked for, in the order Settings shows them."""
CUSTOM_ID = r"^[a-z0-9][a-z0-9-]{0,39}$"
"""What a custom provider's id looks like (made by `slug_for`)."""
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_SLUG = re.compile(r"[^a-z0-9]+")


def provider_of(model: str) -> str:
    """LiteLLM's provider prefix of a model id (`gemini/…` → `gemini`); bare ids are OpenAI's."""
    return model.split("/", 1)[0] if "/" in model else "openai"


def is_local_url(url: str | None) -> bool:
    """Whether `url` is on this computer (127.0.0.1, localhost, ::1): no key goes there, no proxy is used."""
    if not url:
        return False
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host is not None and host.lower() in LOCAL_HOSTS


def slug_for(name: str, taken: set[str]) -> str:
    """A custom provider's id made from its name: lowercase letters, digits and dashes, unique among `taken` and
    never a built-in provider's id."""
    base = _SLUG.sub("-", name.lower()).strip("-")[:30].strip("-") or "custom"
    if not base[0].isalnum():
        base = f"p-{base}"
    candidate, number = base, 1
    while candidate in taken or candidate in PROVIDERS:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def label_of(provider: str) -> str:
    """A provider's display name."""
    info = PROVIDERS.get(provider)
    return info.label if info else provider


def model_label(model_id: str) -> str:
    """A readable name for a model id: the catalog's, else the id without its provider prefix."""
    for info in PROVIDERS.values():
        for known, label in info.catalog:
            if known == model_id:
                return label
    return model_id.split("/", 1)[-1]


def setup_provider(default_model: str) -> KeyedProvider:
    """Whose key the first-run dialog asks for: the default model's provider, if it takes a key."""
    provider = provider_of(default_model)
    return next((p for p in KEYED if p == provider), FIRST_RUN_PROVIDER)


def for_page() -> list[dict[str, str | bool | None]]:
    """The providers with a key, as the Settings page shows them."""
    return [
        {"id": p, "label": PROVIDERS[p].label, "env_key": PROVIDERS[p].env_key, "key_url": PROVIDERS[p].key_url}
        for p in KEYED
    ]

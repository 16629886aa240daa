"""Model servers on this computer, found by themselves: Ollama and LM Studio. Where each one answers (its usual
address, Ollama's own `OLLAMA_HOST`, or the address set in Settings), whether it is running and which models it
has (asked with short timeouts, remembered a few seconds, never through a proxy), and a model's context length
where the server says it.

Detection runs in the background after start and again when the picker asks and the last look is stale, so the
window never waits for a server that is not there.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from .providers import LOCAL, PROVIDERS
from .settings import Settings

PROBE_TIMEOUT_S = 0.5
FRESH_S = 5.0
_SHOW_TIMEOUT_S = 2.0


def root_of(provider: str, settings: Settings) -> str:
    """Where a local server answers: the address set in Settings, Ollama's `OLLAMA_HOST`, else its usual one."""
    configured = settings.provider_urls.get(provider)
    if configured:
        return configured.removesuffix("/v1")
    if provider == "ollama" and os.environ.get("OLLAMA_HOST"):
        return _ollama_host(os.environ["OLLAMA_HOST"])
    return str(PROVIDERS[provider].default_root)


def _ollama_host(value: str) -> str:
    # Ollama reads `host`, `host:port` or a URL; 0.0.0.0 (listen everywhere) is reached on 127.0.0.1.
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = f"http://{value}"
    scheme, rest = value.split("://", 1)
    host, _, port = rest.partition(":")
    host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return f"{scheme}://{host}:{port or '11434'}"


@dataclass(frozen=True)
class Found:
    """What the last look at one local server saw."""

    provider: str
    root: str
    running: bool
    models: tuple[str, ...] = ()
    seen_at: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        """The server's name as people know it."""
        return PROVIDERS[self.provider].label

    def not_running(self) -> str:
        """The sentence for a message to one of its models while it is not running."""
        return f"{self.name} is not running at {self.root} — start it, or pick another model."


class LocalServers:
    """The app's knowledge of the local servers; every look is shared by whoever asks meanwhile."""

    def __init__(self) -> None:
        self._found: dict[str, Found] = {}
        self._looking: dict[str, asyncio.Task[Found]] = {}
        self._windows: dict[tuple[str, str], int | None] = {}

    def last(self, provider: str) -> Found | None:
        """The last look at a server, however old."""
        return self._found.get(provider)

    async def look(self, settings: Settings, *, fresh_s: float = FRESH_S) -> dict[str, Found]:
        """Every local server as seen within `fresh_s` seconds (looked at again, concurrently, where older)."""
        looks = [self._look_one(provider, root_of(provider, settings), fresh_s) for provider in LOCAL]
        return {found.provider: found for found in await asyncio.gather(*looks)}

    async def look_at(self, provider: str, settings: Settings, *, fresh_s: float = FRESH_S) -> Found:
        """One local server as seen within `fresh_s` seconds."""
        return await self._look_one(provider, root_of(provider, settings), fresh_s)

    async def _look_one(self, provider: str, root: str, fresh_s: float) -> Found:
        known = self._found.get(provider)
        if known and known.root == root and time.monotonic() - known.seen_at < fresh_s:
            return known
        task = self._looking.get(provider)
        if task is None or task.done():
            task = asyncio.create_task(_probe(provider, root))
            self._looking[provider] = task
        found = await asyncio.shield(task)
        self._found[provider] = found
        return found

    async def context_window(self, provider: str, model: str, settings: Settings) -> int | None:
        """The context length the server states for `model` (Ollama's `/api/show`, LM Studio's
        `/api/v0/models/{id}`); None when it says none. Remembered per server address and model."""
        root = root_of(provider, settings)
        if (root, model) not in self._windows:
            self._windows[(root, model)] = await _stated_window(provider, root, model)
        return self._windows[(root, model)]


async def _probe(provider: str, root: str) -> Found:
    path = "/api/tags" if provider == "ollama" else "/v1/models"
    try:
        async with _client(PROBE_TIMEOUT_S) as client:
            response = await client.get(f"{root}{path}")
            response.raise_for_status()
            data: Any = response.json()
        if provider == "ollama":
            names = [m.get("name") or m.get("model") for m in data.get("models", [])]
        else:
            names = [m.get("id") for m in data.get("data", [])]
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        return Found(provider, root, running=False)
    return Found(provider, root, running=True, models=tuple(n for n in names if isinstance(n, str) and n))


async def _stated_window(provider: str, root: str, model: str) -> int | None:
    try:
        async with _client(_SHOW_TIMEOUT_S) as client:
            if provider == "ollama":
                response = await client.post(f"{root}/api/show", json={"model": model})
                response.raise_for_status()
                info = response.json().get("model_info") or {}
                lengths = [v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int)]
                return max(lengths) if lengths else None
            response = await client.get(f"{root}/api/v0/models/{model}")
            response.raise_for_status()
            stated = response.json().get("max_context_length")
            return stated if isinstance(stated, int) and stated > 0 else None
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        return None


def _client(timeout: float) -> httpx.AsyncClient:
    # A local server is never reached through a proxy, whatever HTTPS_PROXY says.
    return httpx.AsyncClient(timeout=timeout, trust_env=False)

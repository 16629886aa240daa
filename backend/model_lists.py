"""Each provider's own list of models: asked of its API with its key (OpenAI's, Gemini's and Anthropic's list
endpoints, an OpenAI-compatible `/models`), kept for a day in `<data>/model-lists.json`, filtered to models that
chat, and the built-in catalog when a provider cannot be asked (offline, no list, an answer that is not one).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .fileio import atomic_write_text
from .providers import PROVIDERS

log = logging.getLogger(__name__)

KEEP_S = 24 * 3600
# A failed list is asked again sooner than a good one is refreshed.
RETRY_S = 600
TIMEOUT_S = 8.0
OWN_API = {
    "openai": "https://api.openai.com/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta",
    "anthropic": "https://api.anthropic.com/v1",
}
# Ids of OpenAI's models that do not chat (embeddings, speech, images, moderation, completions-only).
_NOT_CHAT = ("embed", "tts", "whisper", "dall-e", "audio", "realtime", "transcribe", "image", "moderation",
             "davinci", "babbage", "instruct", "search", "computer-use", "sora")  # fmt: skip


class ListError(Exception):
    """A provider's list could not be had; the message is a sentence for the user."""


@dataclass(frozen=True)
class Listed:
    """One provider's list as last fetched: the model names (without the provider's prefix), when, and the
    sentence saying why not when it failed."""

    models: tuple[str, ...]
    fetched_at: float
    error: str | None = None

    def stale(self, now: float) -> bool:
        """Whether it is time to ask again."""
        return now - self.fetched_at > (RETRY_S if self.error else KEEP_S)


async def fetch(provider: str, name: str, base_url: str | None, key: str | None) -> tuple[str, ...]:
    """The chat models `provider` lists, asked at `base_url` (else its own API) with `key`; ListError if not."""
    # OpenAI's own list is filtered by its naming; a server standing in for it (a gateway, a local one) is not.
    kind = provider if provider in OWN_API and not (provider == "openai" and base_url) else "openai-compatible"
    base = (base_url or OWN_API.get(provider, "")).rstrip("/")
    headers: dict[str, str] = {}
    if kind == "gemini" and key:
        headers["x-goog-api-key"] = key
    elif kind == "anthropic" and key:
        headers |= {"x-api-key": key, "anthropic-version": "2023-06-01"}
    elif key:
        headers["authorization"] = f"Bearer {key}"
    url = f"{base}/models" + ("?pageSize=1000" if kind == "gemini" else "?limit=1000" if kind == "anthropic" else "")
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            response = await client.get(url, headers=headers)
    except httpx.TimeoutException:
        raise ListError(f"{name} did not answer within {TIMEOUT_S:g} seconds.") from None
    except httpx.HTTPError:
        raise ListError(f"{name} is not reachable at {base}.") from None
    if response.status_code in (401, 403):
        raise ListError(f"{name} refused the key — check it.")
    if response.status_code >= 400:
        raise ListError(f"{name} answered {response.status_code} when asked for its models at {base}/models.")
    try:
        return chat_models(kind, response.json())
    except (ValueError, AttributeError, TypeError, KeyError):
        raise ListError(f"{name} answered, but not with a list of models — is {base} the right address?") from None


def chat_models(kind: str, data: Any) -> tuple[str, ...]:
    """The models of a list answer (`kind`: `gemini`, `openai`, `anthropic` or `openai-compatible`) that chat."""
    if kind == "gemini":
        names = [
            str(m["name"]).removeprefix("models/")
            for m in data["models"]
            if "generateContent" in (m.get("supportedGenerationMethods") or [])
        ]
        return tuple(sorted(n for n in names if "embedding" not in n and not n.startswith(("aqa", "imagen"))))
    names = [str(m["id"]) for m in data["data"]]
    if kind == "openai":
        names = [n for n in names if n.startswith(("gpt-", "o1", "o3", "o4", "chatgpt-"))]
        names = [n for n in names if not any(word in n for word in _NOT_CHAT)]
    elif kind != "anthropic":
        names = [n for n in names if "embed" not in n.lower()]
    return tuple(sorted(set(names)))


class ModelLists:
    """The lists of every provider, kept in memory and on disk; refreshed in the background when stale."""

    def __init__(self, data_dir: Path) -> None:
        self.file = data_dir / "model-lists.json"
        self._lists: dict[str, Listed] | None = None
        self._tasks: dict[str, asyncio.Task[Listed]] = {}

    def get(self, provider: str) -> Listed | None:
        """The provider's last list, if there is one."""
        return self._load().get(provider)

    async def refresh(
        self, wanted: dict[str, tuple[str, str | None, str | None]], *, force: bool = False, wait_s: float = 1.5
    ) -> None:
        """Ask again every provider of `wanted` ({id: (name, base URL, key)}) whose list is stale (all with
        `force`), waiting at most `wait_s` seconds for the answers; slower ones finish in the background."""
        lists, now = self._load(), time.time()
        tasks = []
        for provider, (name, base, key) in wanted.items():
            known = lists.get(provider)
            if force or known is None or known.stale(now):
                task = self._tasks.get(provider)
                if task is None or task.done():
                    task = asyncio.create_task(self._fetch(provider, name, base, key))
                    self._tasks[provider] = task
                tasks.append(task)
        if tasks:
            await asyncio.wait(tasks, timeout=wait_s)

    async def _fetch(self, provider: str, name: str, base: str | None, key: str | None) -> Listed:
        try:
            listed = Listed(await fetch(provider, name, base, key), time.time())
        except ListError as error:
            known = self._load().get(provider)
            # An earlier good list stays in use (offline for a while); the failure is remembered for the status.
            listed = Listed(known.models if known else (), time.time(), str(error))
        await self.put(provider, listed)
        return listed

    def _load(self) -> dict[str, Listed]:
        if self._lists is None:
            try:
                data = json.loads(self.file.read_text(encoding="utf-8"))
                self._lists = {
                    p: Listed(tuple(str(m) for m in v["models"]), float(v["fetched_at"]), v.get("error"))
                    for p, v in data.items()
                }
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                self._lists = {}
        return self._lists

    def _snapshot(self) -> str:
        lists = self._load()
        data = {p: {"models": list(v.models), "fetched_at": v.fetched_at, "error": v.error} for p, v in lists.items()}
        return json.dumps(data, indent=1)

    def _write(self, snapshot: str) -> None:
        try:
            atomic_write_text(self.file, snapshot)
        except OSError as error:
            log.warning("could not keep the model lists (%s)", error.strerror)

    async def put(self, provider: str, listed: Listed) -> None:
        """Keep a provider's list, in memory and in `model-lists.json` (written off the event loop)."""
        self._load()[provider] = listed
        # The snapshot is taken here, on the event loop, where the lists change; the thread only writes it.
        await asyncio.to_thread(self._write, self._snapshot())

    def forget(self, provider: str) -> None:
        """Drop a provider's list (its address or key changed, or it was removed)."""
        self._load().pop(provider, None)


def catalog_names(provider: str) -> tuple[str, ...]:
    """The built-in catalog's models of a provider, without its prefix."""
    info = PROVIDERS.get(provider)
    return tuple(model.split("/", 1)[1] for model, _ in info.catalog) if info else ()

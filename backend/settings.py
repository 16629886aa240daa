"""Non-secret settings: `settings.json` in the data folder, with environment overrides on top."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from .config import ENV_API_BASE, ENV_MODEL
from .fileio import atomic_write_text
from .providers import CUSTOM_ID, provider_of

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gemini/gemini-2.5-flash"
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer clearly and concisely; use Markdown when it helps."


def http_url(value: str | None) -> str | None:
    """A base URL as stored: trimmed, without a trailing slash, http(s) only; None for nothing."""
    if value is None or not value.strip():
        return None
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")) or len(value) > 500:
        raise ValueError("the base URL must start with http:// or https://")
    return value


class CustomProvider(BaseModel):
    """An OpenAI-compatible endpoint the user added (OpenRouter, Groq, vLLM, a company gateway); its key, if it
    has one, is in the key store under its id."""

    id: str = Field(pattern=CUSTOM_ID)
    name: str = Field(min_length=1, max_length=60)
    base_url: str

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        checked = http_url(value)
        if checked is None:
            raise ValueError("the base URL must start with http:// or https://")
        return checked


class Settings(BaseModel):
    """Everything the user can change except API keys."""

    default_model: str = Field(DEFAULT_MODEL, min_length=1, max_length=200)
    # The base URL of the default model's provider, as earlier versions and CHATKIT_DESKTOP_API_BASE give it: moved
    # into `provider_urls` as soon as it is read.
    api_base: str | None = Field(None, max_length=500)
    providers: list[CustomProvider] = Field(default_factory=list, max_length=100)
    # A built-in provider's address when it is not its own (a proxy, a gateway), or a local server's.
    provider_urls: dict[str, str] = Field(default_factory=dict)
    favourite_models: list[str] = Field(default_factory=list, max_length=1000)
    hidden_models: list[str] = Field(default_factory=list, max_length=5000)
    # How hard models that think (GPT-5, o-series, Gemini 2.5, Claude) think, per provider; unset: their default.
    reasoning_effort: dict[str, Literal["low", "medium", "high"]] = Field(default_factory=dict)
    # For requests to providers when the system sets no proxy (HTTPS_PROXY); never used for this computer.
    proxy: str | None = Field(None, max_length=500)
    system_prompt: str = Field(DEFAULT_SYSTEM_PROMPT, max_length=20_000)
    ui_mode: Literal["chatkit", "builtin"] = "chatkit"
    # Tokens; for local models whose window LiteLLM does not know (Ollama, LM Studio).
    context_window: int | None = Field(None, ge=256, le=10_000_000)
    request_timeout: float = Field(120.0, ge=1, le=3600)
    window: dict[str, int] | None = None

    @field_validator("api_base", "proxy")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return http_url(value)

    @field_validator("provider_urls")
    @classmethod
    def _http_urls(cls, value: dict[str, str]) -> dict[str, str]:
        return {provider: url for provider, url in ((p, http_url(u)) for p, u in value.items()) if url}

    @model_validator(mode="after")
    def _base_url_to_its_provider(self) -> Settings:
        # One base URL for the default model's provider (settings of earlier versions, the environment) is that
        # provider's address from now on: nothing is lost, and other providers keep theirs.
        if self.api_base:
            self.provider_urls = {**self.provider_urls, provider_of(self.default_model): self.api_base}
            self.api_base = None
        return self

    def custom(self, provider: str) -> CustomProvider | None:
        """The custom provider with this id, if there is one."""
        return next((p for p in self.providers if p.id == provider), None)


ENV_OVERRIDES: dict[str, str] = {"default_model": ENV_MODEL, "api_base": ENV_API_BASE}


class SettingsFile:
    """Reads and writes `settings.json`; a broken file is kept aside, never silently overwritten."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Settings:
        """The stored settings (defaults where the file is missing), without environment overrides."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings()
        try:
            return Settings.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            aside = self.path.with_suffix(".json.broken")
            os.replace(self.path, aside)
            log.warning("settings.json could not be read; kept it as %s and started from defaults", aside.name)
            return Settings()

    def save(self, settings: Settings) -> None:
        """Write the settings atomically."""
        atomic_write_text(self.path, settings.model_dump_json(indent=2))

    def effective(self) -> Settings:
        """The stored settings with the environment variables of `ENV_OVERRIDES` applied over them."""
        settings = self.load()
        updates = {field: os.environ[env] for field, env in ENV_OVERRIDES.items() if os.environ.get(env)}
        return Settings.model_validate(settings.model_dump() | updates) if updates else settings

    @staticmethod
    def overridden() -> list[str]:
        """Names of the settings the environment currently overrides (the page shows them as fixed)."""
        return [field for field, env in ENV_OVERRIDES.items() if os.environ.get(env)]

"""Non-secret settings: `settings.json` in the data folder, with environment overrides on top."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from .config import ENV_API_BASE, ENV_MODEL
from .fileio import atomic_write_text

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gemini/gemini-2.5-flash"
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer clearly and concisely; use Markdown when it helps."


class Settings(BaseModel):
    """Everything the user can change except API keys."""

    default_model: str = Field(DEFAULT_MODEL, min_length=1, max_length=200)
    api_base: str | None = Field(None, max_length=500)
    system_prompt: str = Field(DEFAULT_SYSTEM_PROMPT, max_length=20_000)
    ui_mode: Literal["chatkit", "builtin"] = "chatkit"
    # Tokens; for local models whose window LiteLLM does not know (Ollama, LM Studio).
    context_window: int | None = Field(None, ge=256, le=10_000_000)
    request_timeout: float = Field(120.0, ge=1, le=3600)
    window: dict[str, int] | None = None

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("the base URL must start with http:// or https://")
        return value


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

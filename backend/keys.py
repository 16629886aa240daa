"""API keys: the OS keyring when there is one, else `secrets.json` (mode 0600); environment variables win.

A key belongs to one provider: a built-in one (`gemini`, `openai`, `anthropic`) or a custom one, by its id. Keys
leave this module only towards their provider (`key_for`) or masked (`describe`, `info`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .fileio import atomic_write_text
from .providers import CUSTOM_ID, KEYED, PROVIDERS

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

KEYRING_SERVICE = "ChatKit Desktop"
_CUSTOM_ID = re.compile(CUSTOM_ID)


@dataclass(frozen=True)
class KeyInfo:
    """What the page may know about a key: whether it is set, where from, and its last four characters."""

    provider: str
    set: bool
    source: Literal["env", "keyring", "file", "none"]
    masked: str | None


def mask(key: str) -> str:
    """`••••` and the last four characters: enough to recognise a key, useless to steal one."""
    return "••••" + key[-4:] if len(key) >= 12 else "••••"


def _usable_keyring() -> KeyringBackend | None:
    """The OS keyring backend, or None when only a fail/null/plaintext backend exists (headless Linux)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    kind = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring) or "null" in kind or "Plaintext" in kind:
        return None
    backends = getattr(backend, "backends", None)
    if backends is not None and not backends:
        return None
    return backend


class SecretStore:
    """Reads and writes provider keys."""

    def __init__(self, data_dir: Path) -> None:
        self.file = data_dir / "secrets.json"
        self._lock = threading.Lock()
        self._keyring = _usable_keyring()

    @property
    def backend(self) -> Literal["keyring", "file"]:
        """Where keys entered in Settings are kept."""
        return "keyring" if self._keyring is not None else "file"

    def key_for(self, provider: str) -> str | None:
        """The key to send to `provider` (a built-in one, or a custom one by its id), or None."""
        if provider not in KEYED and not _CUSTOM_ID.fullmatch(provider):
            return None
        return self._lookup(provider)[0]

    def describe(self) -> list[KeyInfo]:
        """Masked facts about every built-in provider's key."""
        return [self.info(provider) for provider in KEYED]

    def info(self, provider: str) -> KeyInfo:
        """Masked facts about one provider's key."""
        key, source = self._lookup(provider)
        return KeyInfo(provider, key is not None, source, mask(key) if key else None)

    def set(self, provider: str, key: str | None) -> None:
        """Store (or with None/empty, forget) the key for `provider`."""
        key = (key or "").strip() or None
        if self._keyring is not None:
            try:
                self._set_keyring(self._keyring, provider, key)
                return
            except Exception as error:  # a locked or broken keyring must not lose the key
                log.warning("the OS keyring refused the key (%s); using secrets.json", type(error).__name__)
                self._keyring = None
        with self._lock:
            data = self._read_file()
            if key:
                data[provider] = key
            else:
                data.pop(provider, None)
            atomic_write_text(self.file, json.dumps(data, indent=2), mode=0o600)

    @staticmethod
    def _set_keyring(backend: KeyringBackend, provider: str, key: str | None) -> None:
        if key:
            backend.set_password(KEYRING_SERVICE, provider, key)
            return
        # Deleting a key that is not there is fine (keyring backends raise different errors for it).
        with contextlib.suppress(Exception):
            backend.delete_password(KEYRING_SERVICE, provider)

    def _lookup(self, provider: str) -> tuple[str | None, Literal["env", "keyring", "file", "none"]]:
        info = PROVIDERS.get(provider)
        env = os.environ.get(info.env_key or "") if info else None
        if env:
            return env, "env"
        if self._keyring is not None:
            try:
                stored = self._keyring.get_password(KEYRING_SERVICE, provider)
            except Exception:
                stored = None
            if stored:
                return stored, "keyring"
        with self._lock:
            stored = self._read_file().get(provider)
        return (stored, "file") if stored else (None, "none")

    def _read_file(self) -> dict[str, str]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            log.warning("secrets.json is not valid JSON; keys in it are ignored until it is fixed or removed")
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

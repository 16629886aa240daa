"""A real keyring backend for tests, standing in for the OS keyring (Keychain, Secret Service, …).

The app loads it like any backend through `PYTHON_KEYRING_BACKEND=tests.keyring_backend.FolderKeyring`; it
keeps each secret in a file under `TEST_KEYRING_DIR`, so a test can see what reached the keyring.
"""

from __future__ import annotations

import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FolderKeyring(KeyringBackend):
    """One file per (service, user) in the folder named by TEST_KEYRING_DIR."""

    priority = 1

    def _path(self, service: str, username: str) -> Path:
        return Path(os.environ["TEST_KEYRING_DIR"]) / f"{service}--{username}"

    def get_password(self, service: str, username: str) -> str | None:
        path = self._path(service, username)
        return path.read_text("utf-8") if path.exists() else None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._path(service, username).write_text(password, "utf-8")

    def delete_password(self, service: str, username: str) -> None:
        path = self._path(service, username)
        if not path.exists():
            raise PasswordDeleteError(username)
        path.unlink()

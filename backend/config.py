"""Where the app keeps its data and the per-launch facts every part needs (data folder, token, port)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "ChatKit Desktop"

ENV_DATA_DIR = "CHATKIT_DESKTOP_DATA_DIR"
ENV_TOKEN = "CHATKIT_DESKTOP_TOKEN"
ENV_MODEL = "CHATKIT_DESKTOP_MODEL"
ENV_API_BASE = "CHATKIT_DESKTOP_API_BASE"


def data_dir() -> Path:
    """The folder everything the app writes goes under: `CHATKIT_DESKTOP_DATA_DIR` or the per-user data dir."""
    override = os.environ.get(ENV_DATA_DIR)
    path = Path(override).expanduser() if override else Path(user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def access_token() -> str:
    """The token the page must present: `CHATKIT_DESKTOP_TOKEN`, or a fresh random one for this launch."""
    return os.environ.get(ENV_TOKEN) or secrets.token_urlsafe(32)


@dataclass
class AppConfig:
    """What the backend is started with; the launcher fills it in once the port is bound."""

    data_dir: Path
    token: str
    port: int
    web_dir: Path = field(default_factory=lambda: default_web_dir())

    @property
    def origins(self) -> frozenset[str]:
        """The only origins allowed to talk to the server: its own page's."""
        return frozenset({f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"})

    @property
    def hosts(self) -> frozenset[str]:
        """The only Host headers accepted; anything else is a DNS-rebinding attempt."""
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})


def default_web_dir() -> Path:
    """The bundled `web/` folder, next to the packages in a checkout and in the PyInstaller bundle."""
    return Path(__file__).resolve().parent.parent / "web"

"""What a route may ask for, taken from the app's state: the store, settings, keys, the loader, this launch.

Routes declare them as parameters (`store: StoreDep`), so what each route touches shows in its signature.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .config import AppConfig
from .keys import SecretStore
from .loader import BackgroundLoader
from .settings import SettingsFile
from .store import JsonFileStore


def _store(request: Request) -> JsonFileStore:
    return request.app.state.store


def _settings(request: Request) -> SettingsFile:
    return request.app.state.settings


def _keys(request: Request) -> SecretStore:
    return request.app.state.keys


def _loader(request: Request) -> BackgroundLoader:
    return request.app.state.loader


def _config(request: Request) -> AppConfig:
    return request.app.state.config


StoreDep = Annotated[JsonFileStore, Depends(_store)]
SettingsDep = Annotated[SettingsFile, Depends(_settings)]
KeysDep = Annotated[SecretStore, Depends(_keys)]
LoaderDep = Annotated[BackgroundLoader, Depends(_loader)]
ConfigDep = Annotated[AppConfig, Depends(_config)]
